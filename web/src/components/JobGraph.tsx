// The job graph left to right (dagre's layered layout): each vertex with its parallelism,
// status and live rows/s, coloured by how busy or backpressured it is; each edge labelled with
// its ship strategy. Clicking a vertex opens it.
import dagre from "@dagrejs/dagre";
import { useMemo } from "preact/hooks";
import type { JobVertex, PlanNode } from "../api";
import type { VertexRates } from "../rates";
import { rate } from "../format";
import { href } from "../router";

const W = 220;
const H = 76;

interface Layout {
  width: number;
  height: number;
  nodes: { id: string; x: number; y: number }[];
  edges: { from: string; to: string; label: string; points: { x: number; y: number }[] }[];
}

function layout(nodes: PlanNode[]): Layout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 70, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: W, height: H });
  for (const n of nodes) for (const i of n.inputs ?? []) if (g.hasNode(i.id)) g.setEdge(i.id, n.id, { label: i.ship_strategy, width: 60, height: 14 });
  dagre.layout(g);
  const graph = g.graph();
  return {
    width: Math.max(W, graph.width ?? W),
    height: Math.max(H, graph.height ?? H),
    nodes: g.nodes().map((id) => {
      const n = g.node(id);
      return { id, x: n.x - W / 2, y: n.y - H / 2 };
    }),
    edges: g.edges().map((e) => {
      const edge = g.edge(e);
      return { from: e.v, to: e.w, label: String((edge as { label?: string }).label ?? ""), points: edge.points ?? [] };
    }),
  };
}

/** The colour of a vertex: backpressure wins over busy; both grow to full at 100 %. */
function fill(r: VertexRates | undefined): string {
  if (!r) return "var(--vertex)";
  if (r.backpressured > 0.1) return `color-mix(in srgb, var(--backpressured) ${Math.round(30 + 70 * r.backpressured)}%, var(--vertex))`;
  return `color-mix(in srgb, var(--busy) ${Math.round(80 * r.busy)}%, var(--vertex))`;
}

export function JobGraph({ job, nodes, vertices, rates }: { job: string; nodes: PlanNode[]; vertices: JobVertex[]; rates: Map<string, VertexRates> }) {
  // The layout depends only on the plan's shape, so live updates never move a vertex.
  const shape = nodes.map((n) => `${n.id}<${(n.inputs ?? []).map((i) => i.id).join(",")}`).join(";");
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const l = useMemo(() => layout(nodes), [shape]);
  const byId = new Map(vertices.map((v) => [v.id, v]));
  return (
    <div class="graph-wrap">
      <svg class="graph" width={l.width} height={l.height} viewBox={`0 0 ${l.width} ${l.height}`} role="img" aria-label="job graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="var(--muted)" />
          </marker>
        </defs>
        {l.edges.map((e) => {
          const d = e.points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x},${p.y}`).join(" ");
          const mid = e.points[Math.floor(e.points.length / 2)] ?? { x: 0, y: 0 };
          return (
            <g class="edge" data-from={e.from} data-to={e.to}>
              <path d={d} marker-end="url(#arrow)" />
              <text x={mid.x} y={mid.y - 4} text-anchor="middle">
                {e.label}
              </text>
            </g>
          );
        })}
        {l.nodes.map((n) => {
          const v = byId.get(n.id);
          const r = rates.get(n.id);
          const name = v?.name ?? n.id;
          return (
            <a href={href.vertex(job, n.id)} class="vertex" data-vertex={n.id}>
              <rect x={n.x} y={n.y} width={W} height={H} rx={6} style={{ fill: fill(r) }} />
              <text x={n.x + 10} y={n.y + 18} class="vertex-name">
                {name.length > 28 ? `${name.slice(0, 27)}…` : name}
                <title>{name}</title>
              </text>
              <text x={n.x + 10} y={n.y + 38}>
                {v?.status ?? ""} · parallelism {v?.parallelism ?? "?"}
              </text>
              <text x={n.x + 10} y={n.y + 58} class="vertex-rate">
                in {r ? rate(r.inPerSecond) : "–"} · out {r ? rate(r.outPerSecond) : "–"}
              </text>
            </a>
          );
        })}
      </svg>
    </div>
  );
}
