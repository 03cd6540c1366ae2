// One job: state and timeline, the graph with live rates, its vertices, and tabs for its
// tables (the SeaTunnel view), exceptions, checkpoints and configuration; the actions sit in
// the header.
import type { JobDetails, JobExceptions } from "../api";
import { usePoll } from "../poll";
import { Freshness, Loaded, Section, State, Tabs } from "../components/common";
import { JobGraph } from "../components/JobGraph";
import { JobActions } from "../components/Actions";
import { Checkpoints } from "./Checkpoints";
import { useVertexRates } from "../rates";
import { bytes, count, duration, rate, time } from "../format";
import { href } from "../router";
import type { JobTab } from "../router";
import { SeaTunnelView } from "./SeaTunnelView";
import { isTerminal } from "./Overview";

export function JobPage({ id, tab }: { id: string; tab: JobTab }) {
  const details = usePoll<JobDetails>(`/jobs/${id}`, 1000);
  // Rates are over the time between two answers as the page got them: `now` in the answer is
  // when its snapshot was taken, which a cached snapshot keeps.
  const rates = useVertexRates(details.data?.vertices, details.fetchedAt);
  return (
    <div class="page">
      <Loaded polled={details}>
        {(j) => (
          <>
            <div class="job-head">
              <div>
                <h1 data-testid="job-name">{j.name}</h1>
                <div class="meta">
                  <State state={j.state} /> <span class="mono">{j.jid}</span> · {j["job-type"]} · started {time(j["start-time"])} · {duration(j.duration)}
                  {j["end-time"] > 0 && <> · ended {time(j["end-time"])}</>} <Freshness polled={details} />
                </div>
              </div>
              <JobActions
                job={j.jid}
                running={!isTerminal(j.state)}
                parallelism={Math.max(1, ...j.vertices.map((v) => v.parallelism))}
                onDone={details.refresh}
              />
            </div>
            <Tabs
              current={tab}
              tabs={[
                { key: "overview", label: "Overview", href: href.job(j.jid, "overview") },
                { key: "seatunnel", label: "Tables", href: href.job(j.jid, "seatunnel") },
                { key: "exceptions", label: "Exceptions", href: href.job(j.jid, "exceptions") },
                { key: "checkpoints", label: "Checkpoints", href: href.job(j.jid, "checkpoints") },
                { key: "configuration", label: "Configuration", href: href.job(j.jid, "configuration") },
              ]}
            />
            {tab === "overview" && (
              <>
                <Section title="Job graph">
                  <JobGraph job={j.jid} nodes={j.plan.nodes} vertices={j.vertices} rates={rates} />
                  <p class="legend">
                    <span class="swatch busy" /> busy <span class="swatch backpressured" /> backpressured · edges say how records are shipped
                  </p>
                </Section>
                <Section title="Vertices">
                  <div class="table-wrap">
                    <table data-testid="vertex-table">
                      <thead>
                        <tr>
                          <th>Name</th>
                          <th>Status</th>
                          <th>Parallelism</th>
                          <th>Rows in</th>
                          <th>Rows out</th>
                          <th>Bytes in</th>
                          <th>Bytes out</th>
                          <th>Rows/s out</th>
                          <th>Busy</th>
                          <th>Backpressured</th>
                          <th>Duration</th>
                          <th>Subtasks</th>
                        </tr>
                      </thead>
                      <tbody>
                        {j.vertices.map((v) => {
                          const r = rates.get(v.id);
                          return (
                            <tr data-vertex={v.id}>
                              <td>
                                <a href={href.vertex(j.jid, v.id)}>{v.name}</a>
                              </td>
                              <td>
                                <State state={v.status} />
                              </td>
                              <td>{v.parallelism}</td>
                              <td data-field="read-records">{count(v.metrics["read-records"])}</td>
                              <td data-field="write-records">{count(v.metrics["write-records"])}</td>
                              <td>{bytes(v.metrics["read-bytes"])}</td>
                              <td>{bytes(v.metrics["write-bytes"])}</td>
                              <td>{r ? rate(r.outPerSecond) : "–"}</td>
                              <td>{r ? `${Math.round(r.busy * 100)} %` : "–"}</td>
                              <td>{r ? `${Math.round(r.backpressured * 100)} %` : "–"}</td>
                              <td>{duration(v.duration)}</td>
                              <td>
                                {Object.entries(v.tasks)
                                  .filter(([, n]) => n > 0)
                                  .map(([s, n]) => `${n} ${s.toLowerCase()}`)
                                  .join(", ")}
                              </td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  </div>
                </Section>
                <Section title="Timeline">
                  <table class="kv">
                    <tbody>
                      {Object.entries(j.timestamps)
                        .filter(([, t]) => t > 0)
                        .sort((a, b) => a[1] - b[1])
                        .map(([s, t]) => (
                          <tr>
                            <th>{s}</th>
                            <td>{time(t)}</td>
                          </tr>
                        ))}
                    </tbody>
                  </table>
                </Section>
              </>
            )}
            {tab === "seatunnel" && <SeaTunnelView job={j.jid} />}
            {tab === "exceptions" && <Exceptions job={j.jid} />}
            {tab === "checkpoints" && <Checkpoints job={j.jid} vertices={j.vertices} />}
            {tab === "configuration" && <Configuration job={j.jid} />}
          </>
        )}
      </Loaded>
    </div>
  );
}

function Exceptions({ job }: { job: string }) {
  const ex = usePoll<JobExceptions>(`/jobs/${job}/exceptions`, 3000);
  return (
    <Section title="Exceptions" extra={<Freshness polled={ex} />}>
      <Loaded polled={ex}>
        {(e) =>
          e.exceptionHistory.entries.length === 0 ? (
            <p class="muted">No exception.</p>
          ) : (
            <>
              <h3>Root cause</h3>
              <pre class="stack" data-testid="root-exception">
                {e.exceptionHistory.entries[0].stacktrace}
              </pre>
              <h3>History</h3>
              {e.exceptionHistory.entries.map((x) => (
                <details>
                  <summary>
                    {time(x.timestamp)} · {x.exceptionName} {x.taskName && <>in {x.taskName}</>} {x.endpoint && <>on {x.endpoint}</>}
                  </summary>
                  <pre class="stack">{x.stacktrace}</pre>
                </details>
              ))}
              {e.exceptionHistory.truncated && <p class="muted">Older exceptions were dropped.</p>}
            </>
          )
        }
      </Loaded>
    </Section>
  );
}

interface JobConfigAnswer {
  jid: string;
  name: string;
  "execution-config"?: { "job-parallelism"?: number; "execution-mode"?: string; "user-config"?: Record<string, string>; [k: string]: unknown };
}

function Configuration({ job }: { job: string }) {
  const c = usePoll<JobConfigAnswer>(`/jobs/${job}/config`, 30000);
  return (
    <Section title="Configuration">
      <Loaded polled={c}>
        {(cfg) => {
          const exec = cfg["execution-config"] ?? {};
          const user = (exec["user-config"] ?? {}) as Record<string, string>;
          return (
            <table class="kv" data-testid="job-config">
              <tbody>
                {Object.entries(exec)
                  .filter(([k]) => k !== "user-config")
                  .map(([k, v]) => (
                    <tr>
                      <th>{k}</th>
                      <td>{String(v)}</td>
                    </tr>
                  ))}
                {Object.entries(user).map(([k, v]) => (
                  <tr>
                    <th>{k}</th>
                    <td>{String(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Loaded>
    </Section>
  );
}
