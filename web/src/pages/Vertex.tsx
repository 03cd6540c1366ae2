// One vertex: its subtasks, live charts of any of its metrics (several at once), backpressure,
// watermarks and the flame graph.
import { useEffect, useState } from "preact/hooks";
import type { Backpressure, FlameNode, MetricValue, VertexDetails } from "../api";
import { usePoll } from "../poll";
import { Freshness, Loaded, Section, State } from "../components/common";
import { Chart } from "../components/Chart";
import { bytes, count, duration } from "../format";
import { href } from "../router";

export function VertexPage({ job, vertex }: { job: string; vertex: string }) {
  const v = usePoll<VertexDetails>(`/jobs/${job}/vertices/${vertex}`, 2000);
  return (
    <div class="page">
      <p>
        <a href={href.job(job)}>← job</a>
      </p>
      <Loaded polled={v}>
        {(d) => (
          <>
            <h1 data-testid="vertex-name">{d.name}</h1>
            <p class="meta">
              parallelism {d.parallelism} (max {d.maxParallelism}) <Freshness polled={v} />
            </p>
            <Section title="Subtasks">
              <div class="table-wrap">
                <table data-testid="subtask-table">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>Status</th>
                      <th>Attempt</th>
                      <th>TaskManager</th>
                      <th>Rows in</th>
                      <th>Rows out</th>
                      <th>Bytes in</th>
                      <th>Bytes out</th>
                      <th>Duration</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.subtasks.map((s) => (
                      <tr data-subtask={s.subtask}>
                        <td>{s.subtask}</td>
                        <td>
                          <State state={s.status} />
                        </td>
                        <td>{s.attempt}</td>
                        <td>
                          <a href={href.taskmanager(s["taskmanager-id"])}>{s.endpoint}</a>
                        </td>
                        <td>{count(s.metrics["read-records"])}</td>
                        <td>{count(s.metrics["write-records"])}</td>
                        <td>{bytes(s.metrics["read-bytes"])}</td>
                        <td>{bytes(s.metrics["write-bytes"])}</td>
                        <td>{duration(s.duration)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Section>
          </>
        )}
      </Loaded>
      <MetricCharts base={`/jobs/${job}/vertices/${vertex}/metrics`} />
      <BackpressureView job={job} vertex={vertex} />
      <Watermarks job={job} vertex={vertex} />
      <FlameGraph job={job} vertex={vertex} />
    </div>
  );
}

const HISTORY = 120;

/** Charts of the metrics picked from `base`'s list, sampled every second while shown. */
export function MetricCharts({ base }: { base: string }) {
  const list = usePoll<MetricValue[]>(base, 10000);
  const [picked, setPicked] = useState<string[]>([]);
  const [samples, setSamples] = useState<{ x: number[]; values: Record<string, (number | null)[]> }>({ x: [], values: {} });
  const query = picked.length === 0 ? null : `${base}?get=${picked.map(encodeURIComponent).join(",")}`;
  const sampled = usePoll<MetricValue[]>(query, 1000);
  useEffect(() => setSamples({ x: [], values: {} }), [query]);
  // Each new answer is one more point per metric; a missed poll leaves a gap in time.
  useEffect(() => {
    const got = sampled.data;
    const at = sampled.fetchedAt;
    if (!got || at === undefined) return;
    const byId = new Map(got.map((m) => [m.id, m.value === undefined ? null : Number(m.value)]));
    setSamples((s) => {
      const values: Record<string, (number | null)[]> = {};
      for (const id of picked) values[id] = [...(s.values[id] ?? new Array(s.x.length).fill(null)), byId.get(id) ?? null].slice(-HISTORY);
      return { x: [...s.x, at / 1000].slice(-HISTORY), values };
    });
  }, [sampled.fetchedAt]);
  return (
    <Section title="Metrics" extra={<Freshness polled={list} />}>
      <Loaded polled={list}>
        {(metrics) => (
          <>
            <select
              aria-label="Add a metric"
              value=""
              onChange={(e) => {
                const id = (e.target as HTMLSelectElement).value;
                if (id && !picked.includes(id)) setPicked([...picked, id]);
              }}
            >
              <option value="">add a metric… ({metrics.length})</option>
              {metrics
                .map((m) => m.id)
                .sort()
                .map((id) => (
                  <option value={id}>{id}</option>
                ))}
            </select>
            {picked.map((id) => (
              <span class="chip">
                {id}{" "}
                <button type="button" class="small" onClick={() => setPicked(picked.filter((p) => p !== id))} aria-label={`remove ${id}`}>
                  ×
                </button>
              </span>
            ))}
            {picked.length > 0 && samples.x.length > 0 && (
              <Chart x={samples.x} series={picked.map((id) => ({ label: id, values: samples.values[id] ?? [] }))} testid="metric-chart" />
            )}
          </>
        )}
      </Loaded>
    </Section>
  );
}

function BackpressureView({ job, vertex }: { job: string; vertex: string }) {
  const bp = usePoll<Backpressure>(`/jobs/${job}/vertices/${vertex}/backpressure`, 3000);
  return (
    <Section title="Backpressure" extra={<Freshness polled={bp} />}>
      <Loaded polled={bp}>
        {(b) =>
          !b.subtasks ? (
            <p class="muted">Sampling… ({b.status})</p>
          ) : (
            <table data-testid="backpressure">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Level</th>
                  <th>Backpressured</th>
                  <th>Idle</th>
                  <th>Busy</th>
                </tr>
              </thead>
              <tbody>
                {b.subtasks.map((s) => (
                  <tr>
                    <td>{s.subtask}</td>
                    <td>
                      <State state={s.backpressureLevel} />
                    </td>
                    <td>{Math.round(s.ratio * 100)} %</td>
                    <td>{Math.round(s.idleRatio * 100)} %</td>
                    <td>{Math.round(s.busyRatio * 100)} %</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </Section>
  );
}

function Watermarks({ job, vertex }: { job: string; vertex: string }) {
  const w = usePoll<MetricValue[]>(`/jobs/${job}/vertices/${vertex}/watermarks`, 3000);
  return (
    <Section title="Watermarks">
      <Loaded polled={w}>
        {(marks) =>
          marks.length === 0 ? (
            <p class="muted">This vertex reports no watermark.</p>
          ) : (
            <table>
              <tbody>
                {marks.map((m) => (
                  <tr>
                    <th>{m.id}</th>
                    <td>{m.value && Number(m.value) > -9e15 ? new Date(Number(m.value)).toISOString() : "none yet"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </Section>
  );
}

interface FlameAnswer {
  endTimestamp?: number;
  data?: FlameNode;
}

function FlameGraph({ job, vertex }: { job: string; vertex: string }) {
  const [type, setType] = useState<"on_cpu" | "off_cpu" | "full">("on_cpu");
  const f = usePoll<FlameAnswer>(`/jobs/${job}/vertices/${vertex}/flamegraph?type=${type}`, 5000);
  return (
    <Section
      title="Flame graph"
      extra={
        <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value as typeof type)} aria-label="Flame graph type">
          <option value="on_cpu">on-CPU</option>
          <option value="off_cpu">off-CPU</option>
          <option value="full">full</option>
        </select>
      }
    >
      <Loaded polled={f}>
        {(a) =>
          !a.data ? (
            <p class="muted">Sampling… the first samples arrive in a few seconds.</p>
          ) : a.data.value > 0 ? (
            <Flame root={a.data} />
          ) : (
            // Samples were taken and none matched: say so, rather than "sampling" for ever.
            <p class="muted" data-testid="flame-none">
              No {type === "on_cpu" ? "on-CPU" : type === "off_cpu" ? "off-CPU" : ""} samples in the last round: the subtasks were{" "}
              {type === "on_cpu" ? "idle (waiting for input or for room downstream)" : "busy the whole time"}. The full graph shows every sample.
            </p>
          )
        }
      </Loaded>
    </Section>
  );
}

/** An icicle of the sampled stacks: each frame as wide as its share of the samples. */
function Flame({ root }: { root: FlameNode }) {
  const rows: { name: string; x: number; w: number; depth: number; value: number }[] = [];
  const walk = (n: FlameNode, x: number, w: number, depth: number) => {
    if (w < 0.002 || depth > 40) return;
    rows.push({ name: n.name, x, w, depth, value: n.value });
    let at = x;
    for (const c of n.children ?? []) {
      const cw = (c.value / Math.max(1, n.value)) * w;
      walk(c, at, cw, depth + 1);
      at += cw;
    }
  };
  walk(root, 0, 1, 0);
  const depth = rows.reduce((d, r) => Math.max(d, r.depth), 0) + 1;
  return (
    <svg class="flame" viewBox={`0 0 1000 ${depth * 18}`} width="100%" height={depth * 18} data-testid="flame">
      {rows.map((r) => (
        <g>
          <rect x={r.x * 1000} y={r.depth * 18} width={Math.max(0.5, r.w * 1000 - 0.5)} height={17} style={{ fill: `hsl(${(r.name.length * 37) % 60 + 10}, 80%, 60%)` }} />
          {r.w * 1000 > 40 && (
            <text x={r.x * 1000 + 3} y={r.depth * 18 + 13}>
              {r.name.slice(0, Math.floor((r.w * 1000) / 7))}
            </text>
          )}
          <title>
            {r.name} ({r.value} samples)
          </title>
        </g>
      ))}
    </svg>
  );
}
