// The TaskManagers: slots and resources of each, and one TaskManager's metrics, logs, stdout
// and thread dump.
import { useState } from "preact/hooks";
import type { LogFile, TaskManager } from "../api";
import { usePoll } from "../poll";
import { Freshness, Loaded, Section } from "../components/common";
import { LogView } from "../components/LogView";
import { MetricCharts } from "./Vertex";
import { bytes, duration } from "../format";
import { href } from "../router";

export function TaskManagersPage() {
  const tms = usePoll<{ taskmanagers: TaskManager[] }>("/taskmanagers", 2000);
  return (
    <div class="page">
      <h1>TaskManagers</h1>
      <Section title="Registered" extra={<Freshness polled={tms} />}>
        <Loaded polled={tms}>
          {(t) => (
            <div class="table-wrap">
              <table data-testid="tm-table">
                <thead>
                  <tr>
                    <th>ID</th>
                    <th>Address</th>
                    <th>Slots</th>
                    <th>Free slots</th>
                    <th>CPU cores</th>
                    <th>Memory</th>
                    <th>Last heartbeat</th>
                  </tr>
                </thead>
                <tbody>
                  {t.taskmanagers.map((m) => (
                    <tr data-tm={m.id}>
                      <td>
                        <a href={href.taskmanager(m.id)}>{m.id}</a>
                      </td>
                      <td>{m.path}</td>
                      <td data-field="slots">{m.slotsNumber}</td>
                      <td data-field="free-slots">{m.freeSlots}</td>
                      <td>{m.hardware.cpuCores}</td>
                      <td>{bytes(m.hardware.physicalMemory)}</td>
                      <td>{m.timeSinceLastHeartbeat > 0 ? `${duration(Date.now() - m.timeSinceLastHeartbeat)} ago` : "–"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Loaded>
      </Section>
    </div>
  );
}

type ProcessTab = "metrics" | "logs" | "stdout" | "threads";

/** Metrics, logs, stdout and thread dump of one process (a TaskManager or the JobManager). */
export function ProcessViews({ base, name }: { base: string; name: string }) {
  const [tab, setTab] = useState<ProcessTab>("metrics");
  const logs = usePoll<{ logs: LogFile[] }>(`${base}/logs`, 10000);
  const [log, setLog] = useState<string | undefined>(undefined);
  return (
    <>
      <nav class="tabs">
        {(["metrics", "logs", "stdout", "threads"] as ProcessTab[]).map((t) => (
          <button type="button" class={t === tab ? "tab active" : "tab"} onClick={() => setTab(t)}>
            {t === "threads" ? "thread dump" : t}
          </button>
        ))}
      </nav>
      {tab === "metrics" && <MetricCharts base={`${base}/metrics`} />}
      {tab === "logs" && (
        <Section title={`${name} log`}>
          <Loaded polled={logs}>
            {(l) => (
              <select aria-label="Log file" value={log ?? ""} onChange={(e) => setLog((e.target as HTMLSelectElement).value || undefined)}>
                <option value="">the main log</option>
                {l.logs.map((f) => (
                  <option value={f.name}>
                    {f.name} ({bytes(f.size)})
                  </option>
                ))}
              </select>
            )}
          </Loaded>
          <LogView path={log ? `${base}/logs/${encodeURIComponent(log)}` : `${base}/log`} testid="log" />
        </Section>
      )}
      {tab === "stdout" && (
        <Section title={`${name} stdout`}>
          <LogView path={`${base}/stdout`} testid="stdout" />
        </Section>
      )}
      {tab === "threads" && <ThreadDump path={`${base}/thread-dump`} />}
    </>
  );
}

function ThreadDump({ path }: { path: string }) {
  const d = usePoll<{ threadInfos: { threadName: string; stringifiedThreadInfo: string }[] }>(path, 10000);
  return (
    <Section title="Thread dump" extra={<Freshness polled={d} />}>
      <Loaded polled={d}>
        {(t) => (
          <pre class="log" data-testid="thread-dump">
            {t.threadInfos.map((i) => i.stringifiedThreadInfo).join("\n")}
          </pre>
        )}
      </Loaded>
    </Section>
  );
}

export function TaskManagerPage({ id }: { id: string }) {
  const tm = usePoll<TaskManager & { totalResource?: Record<string, number>; memoryConfiguration?: Record<string, number> }>(`/taskmanagers/${encodeURIComponent(id)}`, 3000);
  return (
    <div class="page">
      <p>
        <a href="#/taskmanagers">← TaskManagers</a>
      </p>
      <h1 class="mono">{id}</h1>
      <Section title="Resources" extra={<Freshness polled={tm} />}>
        <Loaded polled={tm}>
          {(m) => (
            <table class="kv" data-testid="tm-resources">
              <tbody>
                <tr><th>address</th><td>{m.path}</td></tr>
                <tr><th>data port</th><td>{m.dataPort}</td></tr>
                <tr><th>slots</th><td>{m.slotsNumber} ({m.freeSlots} free)</td></tr>
                <tr><th>CPU cores</th><td>{m.hardware.cpuCores}</td></tr>
                <tr><th>physical memory</th><td>{bytes(m.hardware.physicalMemory)}</td></tr>
                <tr><th>free memory</th><td>{bytes(m.hardware.freeMemory)}</td></tr>
                {Object.entries(m.memoryConfiguration ?? {}).map(([k, v]) => (
                  <tr><th>{k}</th><td>{bytes(v)}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </Loaded>
      </Section>
      <ProcessViews base={`/taskmanagers/${encodeURIComponent(id)}`} name="TaskManager" />
    </div>
  );
}

