// The SeaTunnel view of a job: its pipelines and plugin vertices as SeaTunnel plans them, and
// per table the rows and bytes read and written, with SeaTunnel's own rates (over the run)
// beside the rate now (between the page's last two answers). One request: the REST port's
// `/jobs/:id/seatunnel` is SeaTunnel's job-info, so it needs none of SeaTunnel's ports.
import { useMemo } from "preact/hooks";
import type { SeaTunnelJobInfo, SeaTunnelMetrics } from "../api";
import { usePoll } from "../poll";
import { useCounterRates } from "../rates";
import { Freshness, Loaded, Section, Stat } from "../components/common";
import { bytes, count, rate } from "../format";

type PerTable = Record<string, string> | undefined;

const num = (v: string | undefined) => (v === undefined || v === "" ? 0 : Number(v));

/** The counters a live rate is computed of: `<side>:<table>`. */
function countersOf(m: SeaTunnelMetrics | undefined): Map<string, number> | undefined {
  if (!m) return undefined;
  const out = new Map<string, number>();
  for (const [t, v] of Object.entries(m.TableSourceReceivedCount)) out.set(`in:${t}`, num(v));
  for (const [t, v] of Object.entries(m.TableSinkWriteCount)) out.set(`out:${t}`, num(v));
  out.set("in:", num(m.SourceReceivedCount));
  out.set("out:", num(m.SinkWriteCount));
  return out;
}

export function SeaTunnelView({ job }: { job: string }) {
  const info = usePoll<SeaTunnelJobInfo>(`/jobs/${job}/seatunnel`, 2000);
  const counters = useMemo(() => countersOf(info.data?.metrics), [info.data]);
  const now = useCounterRates(counters, info.fetchedAt);
  return (
    <Loaded polled={info}>
      {(st) => {
        const m = st.metrics;
        const vertices = st.jobDag?.vertexInfoMap ?? [];
        const tables = [
          ...new Set([
            ...vertices.flatMap((v) => v.tablePaths),
            ...Object.keys(m?.TableSourceReceivedCount ?? {}),
            ...Object.keys(m?.TableSinkWriteCount ?? {}),
          ]),
        ].sort();
        const cell = (map: PerTable, t: string, f: (n: number) => string) => (map && map[t] !== undefined ? f(num(map[t])) : "–");
        const live = (key: string) => (now.has(key) ? rate(now.get(key) ?? 0) : "–");
        return (
          <>
            <Section title="SeaTunnel job" extra={<Freshness polled={info} />}>
              <div class="stats">
                <Stat label="SeaTunnel job id" value={<span class="mono">{st.jobId}</span>} testid="st-job-id" />
                <Stat label="status" value={st.jobStatus ?? "–"} testid="st-status" />
                <Stat label="rows read" value={count(num(m?.SourceReceivedCount))} testid="st-rows-in" />
                <Stat label="rows written" value={count(num(m?.SinkWriteCount))} testid="st-rows-out" />
                <Stat label="rows/s written now" value={live("out:")} />
                <Stat label="from a savepoint" value={st.isStartWithSavePoint ? "yes" : "no"} />
              </div>
            </Section>
            <Section title="Tables">
              {tables.length === 0 ? (
                <p class="muted">No table path is known for this job.</p>
              ) : (
                <div class="table-wrap">
                  <table data-testid="st-tables">
                    <thead>
                      <tr>
                        <th>Table</th>
                        <th>Rows read</th>
                        <th>Rows/s read (now)</th>
                        <th>Rows/s read (run)</th>
                        <th>Bytes read</th>
                        <th>Rows written</th>
                        <th>Rows/s written (now)</th>
                        <th>Rows/s written (run)</th>
                        <th>Bytes written</th>
                      </tr>
                    </thead>
                    <tbody>
                      {tables.map((t) => (
                        <tr data-table={t}>
                          <td class="mono">{t}</td>
                          <td data-field="in">{cell(m?.TableSourceReceivedCount, t, count)}</td>
                          <td>{live(`in:${t}`)}</td>
                          <td>{cell(m?.TableSourceReceivedQPS, t, rate)}</td>
                          <td>{cell(m?.TableSourceReceivedBytes, t, bytes)}</td>
                          <td data-field="out">{cell(m?.TableSinkWriteCount, t, count)}</td>
                          <td>{live(`out:${t}`)}</td>
                          <td>{cell(m?.TableSinkWriteQPS, t, rate)}</td>
                          <td>{cell(m?.TableSinkWriteBytes, t, bytes)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </Section>
            <Section title="Pipelines">
              {Object.entries(st.jobDag?.pipelineEdges ?? {}).map(([pipeline, edges]) => {
                const ids = new Set(edges.flatMap((e) => [Number(e.inputVertexId), Number(e.targetVertexId)]));
                const members = vertices.filter((v) => ids.has(v.vertexId) || v.vertexName.startsWith(`pipeline-${pipeline} `));
                return (
                  <div class="pipeline" data-pipeline={pipeline}>
                    <h3>pipeline {pipeline}</h3>
                    <table>
                      <thead>
                        <tr>
                          <th>Vertex</th>
                          <th>Type</th>
                          <th>Name</th>
                          <th>Tables</th>
                        </tr>
                      </thead>
                      <tbody>
                        {members.map((v) => (
                          <tr data-st-vertex={v.vertexId}>
                            <td>{v.vertexId}</td>
                            <td>{v.type}</td>
                            <td>{v.vertexName}</td>
                            <td class="mono">{v.tablePaths.join(", ")}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                );
              })}
            </Section>
            {st.jobDag && Object.keys(st.jobDag.envOptions).length > 0 && (
              <Section title="env">
                <table class="kv">
                  <tbody>
                    {Object.entries(st.jobDag.envOptions).map(([k, v]) => (
                      <tr>
                        <th>{k}</th>
                        <td>{v}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </Section>
            )}
          </>
        );
      }}
    </Loaded>
  );
}
