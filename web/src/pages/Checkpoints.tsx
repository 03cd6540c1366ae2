// A job's checkpoints: counts, the latest completed one with its path, history as a chart and a
// table (a row expands to per-vertex detail, a vertex to its subtasks), the configuration, and
// the savepoints.
import { useState } from "preact/hooks";
import type { CheckpointConfig, CheckpointDetails, CheckpointStats, CheckpointVertexDetails, JobVertex } from "../api";
import { usePoll } from "../poll";
import { CopyButton, Freshness, Loaded, Section, Stat, State } from "../components/common";
import { Chart } from "../components/Chart";
import { bytes, duration, time } from "../format";

/** A vertex's subtasks in one checkpoint: when each acknowledged, its sizes and phases. */
function SubtaskDetail({ job, checkpoint, vertex }: { job: string; checkpoint: number; vertex: string }) {
  const d = usePoll<CheckpointVertexDetails>(`/jobs/${job}/checkpoints/details/${checkpoint}/subtasks/${vertex}`, 5000);
  return (
    <Loaded polled={d}>
      {(v) => (
        <table class="nested" data-testid="cp-subtasks">
          <thead>
            <tr>
              <th>Subtask</th>
              <th>Status</th>
              <th>Acknowledged</th>
              <th>State size</th>
              <th>End to end</th>
              <th>Sync</th>
              <th>Async</th>
              <th>Alignment</th>
              <th>Start delay</th>
            </tr>
          </thead>
          <tbody>
            {v.subtasks.map((t) => (
              <tr data-subtask={t.index}>
                <td>{t.index}</td>
                <td>{t.status}</td>
                <td>{t.ack_timestamp ? time(t.ack_timestamp) : "–"}</td>
                <td>{t.state_size !== undefined ? bytes(t.state_size) : "–"}</td>
                <td>{t.end_to_end_duration !== undefined ? duration(t.end_to_end_duration) : "–"}</td>
                <td>{t.checkpoint ? duration(t.checkpoint.sync) : "–"}</td>
                <td>{t.checkpoint ? duration(t.checkpoint.async) : "–"}</td>
                <td>{t.alignment ? duration(t.alignment.duration) : "–"}</td>
                <td>{t.start_delay !== undefined ? duration(t.start_delay) : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Loaded>
  );
}

function Detail({ job, id, vertices }: { job: string; id: number; vertices: JobVertex[] }) {
  const d = usePoll<CheckpointDetails>(`/jobs/${job}/checkpoints/details/${id}`, 5000);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const names = new Map(vertices.map((v) => [v.id, v.name]));
  return (
    <Loaded polled={d}>
      {(c) => (
        <table class="nested">
          <thead>
            <tr>
              <th>Vertex</th>
              <th>Acknowledged</th>
              <th>State size</th>
              <th>End to end</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(c.tasks).map(([vid, t]) => (
              <>
                <tr class="clickable" onClick={() => setOpen(open === vid ? undefined : vid)} data-cp-vertex={vid}>
                  <td>
                    {open === vid ? "▾" : "▸"} {names.get(vid) ?? vid}
                  </td>
                  <td>
                    {t.num_acknowledged_subtasks}/{t.num_subtasks}
                  </td>
                  <td>{bytes(t.state_size)}</td>
                  <td>{duration(t.end_to_end_duration)}</td>
                </tr>
                {open === vid && (
                  <tr>
                    <td colSpan={4}>
                      <SubtaskDetail job={job} checkpoint={id} vertex={vid} />
                    </td>
                  </tr>
                )}
              </>
            ))}
          </tbody>
        </table>
      )}
    </Loaded>
  );
}

export function Checkpoints({ job, vertices }: { job: string; vertices: JobVertex[] }) {
  const stats = usePoll<CheckpointStats>(`/jobs/${job}/checkpoints`, 2000);
  const config = usePoll<CheckpointConfig>(`/jobs/${job}/checkpoints/config`, 30000);
  const [open, setOpen] = useState<number | undefined>(undefined);
  return (
    <>
      <Section title="Checkpoints" extra={<Freshness polled={stats} />}>
        <Loaded polled={stats}>
          {(s) => {
            const history = [...s.history].sort((a, b) => a.id - b.id);
            const latest = s.latest.completed;
            return (
              <>
                <div class="stats">
                  <Stat label="triggered" value={s.counts.total} testid="cp-total" />
                  <Stat label="completed" value={s.counts.completed} testid="cp-completed" />
                  <Stat label="in progress" value={s.counts.in_progress} testid="cp-in-progress" />
                  <Stat label="failed" value={s.counts.failed} testid="cp-failed" />
                  <Stat label="restored" value={s.counts.restored} testid="cp-restored" />
                </div>
                {latest ? (
                  <p class="latest" data-testid="cp-latest">
                    Latest completed: <b>#{latest.id}</b> at {time(latest.latest_ack_timestamp)}, {bytes(latest.state_size)} in {duration(latest.end_to_end_duration)}
                    {latest.external_path && (
                      <>
                        {" "}
                        — <code data-testid="cp-latest-path">{latest.external_path}</code> <CopyButton text={latest.external_path} />
                      </>
                    )}
                  </p>
                ) : (
                  <p class="muted">No checkpoint has completed yet.</p>
                )}
                {s.latest.restored && (
                  <p data-testid="cp-restored-from">
                    Restored from #{s.latest.restored.id} {s.latest.restored.external_path && <code>{s.latest.restored.external_path}</code>} at {time(s.latest.restored.restore_timestamp)}
                  </p>
                )}
                {history.length > 1 && (
                  <div class="two-charts">
                    <div>
                      <h3>State size (bytes)</h3>
                      <Chart x={history.map((h) => h.id)} xIsTime={false} bars series={[{ label: "state size", values: history.map((h) => h.state_size) }]} height={160} testid="cp-size-chart" />
                    </div>
                    <div>
                      <h3>Duration (ms)</h3>
                      <Chart x={history.map((h) => h.id)} xIsTime={false} bars series={[{ label: "end to end", values: history.map((h) => h.end_to_end_duration) }]} height={160} />
                    </div>
                  </div>
                )}
                <div class="table-wrap">
                  <table data-testid="cp-history">
                    <thead>
                      <tr>
                        <th>ID</th>
                        <th>Status</th>
                        <th>Type</th>
                        <th>Triggered</th>
                        <th>Acknowledged</th>
                        <th>State size</th>
                        <th>End to end</th>
                        <th>Path</th>
                      </tr>
                    </thead>
                    <tbody>
                      {[...history].reverse().map((h) => (
                        <>
                          <tr class="clickable" onClick={() => setOpen(open === h.id ? undefined : h.id)} data-checkpoint={h.id}>
                            <td>
                              {open === h.id ? "▾" : "▸"} {h.id}
                            </td>
                            <td>
                              <State state={h.status} />
                            </td>
                            <td>{h.is_savepoint ? "savepoint" : h.checkpoint_type}</td>
                            <td>{time(h.trigger_timestamp)}</td>
                            <td>
                              {h.num_acknowledged_subtasks}/{h.num_subtasks}
                            </td>
                            <td>{bytes(h.state_size)}</td>
                            <td>{duration(h.end_to_end_duration)}</td>
                            <td class="mono">{h.external_path ?? ""}</td>
                          </tr>
                          {open === h.id && (
                            <tr>
                              <td colSpan={8}>
                                <Detail job={job} id={h.id} vertices={vertices} />
                              </td>
                            </tr>
                          )}
                        </>
                      ))}
                    </tbody>
                  </table>
                </div>
                <h3>Savepoints</h3>
                {history.filter((h) => h.is_savepoint).length === 0 ? (
                  <p class="muted">No savepoint of this job in the history.</p>
                ) : (
                  <ul data-testid="savepoints">
                    {history
                      .filter((h) => h.is_savepoint)
                      .map((h) => (
                        <li>
                          #{h.id} <State state={h.status} /> <code>{h.external_path ?? "(no path)"}</code> {h.external_path && <CopyButton text={h.external_path} />}
                        </li>
                      ))}
                  </ul>
                )}
              </>
            );
          }}
        </Loaded>
      </Section>
      <Section title="Checkpoint configuration">
        <Loaded polled={config}>
          {(c) => (
            <table class="kv">
              <tbody>
                <tr><th>mode</th><td>{c.mode}</td></tr>
                <tr><th>interval</th><td>{c.interval > 0 && c.interval < 9e18 ? duration(c.interval) : "off"}</td></tr>
                <tr><th>timeout</th><td>{duration(c.timeout)}</td></tr>
                <tr><th>minimum pause</th><td>{duration(c.min_pause)}</td></tr>
                <tr><th>concurrent checkpoints</th><td>{c.max_concurrent}</td></tr>
                {c.checkpoint_storage && <tr><th>storage</th><td>{c.checkpoint_storage}</td></tr>}
                {c.state_backend && <tr><th>state backend</th><td>{c.state_backend}</td></tr>}
              </tbody>
            </table>
          )}
        </Loaded>
      </Section>
    </>
  );
}
