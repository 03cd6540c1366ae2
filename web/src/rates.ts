// Rates from two successive answers: rows/s in and out and the busy and backpressured shares
// of each vertex, from the counters in /jobs/:id (the REST API keeps totals; the page derives
// the rate so it needs no extra request per vertex).
import { useRef } from "preact/hooks";
import type { JobVertex } from "./api";

export interface VertexRates {
  inPerSecond: number;
  outPerSecond: number;
  /** Share of the last interval the subtasks were busy, 0..1. */
  busy: number;
  /** Share of the last interval the subtasks were backpressured, 0..1. */
  backpressured: number;
}

interface Sample {
  at: number;
  vertices: Map<string, JobVertex>;
}

/** Rates per vertex id between the previous answer and `vertices` (fetched at `at`). */
export function useVertexRates(vertices: JobVertex[] | undefined, at: number | undefined): Map<string, VertexRates> {
  const previous = useRef<Sample | undefined>(undefined);
  const current = useRef<{ at: number; rates: Map<string, VertexRates> }>({ at: -1, rates: new Map() });
  if (!vertices || at === undefined || at === current.current.at) return current.current.rates;
  const rates = new Map<string, VertexRates>();
  const before = previous.current;
  if (before && at > before.at) {
    const seconds = (at - before.at) / 1000;
    for (const v of vertices) {
      const p = before.vertices.get(v.id);
      if (!p) continue;
      const d = (f: (x: JobVertex) => number | undefined) => Math.max(0, (f(v) ?? 0) - (f(p) ?? 0));
      const span = seconds * 1000 * Math.max(1, v.parallelism);
      rates.set(v.id, {
        inPerSecond: d((x) => x.metrics["read-records"]) / seconds,
        outPerSecond: d((x) => x.metrics["write-records"]) / seconds,
        busy: Math.min(1, d((x) => x.metrics["accumulated-busy-time"]) / span),
        backpressured: Math.min(1, d((x) => x.metrics["accumulated-backpressured-time"]) / span),
      });
    }
  }
  previous.current = { at, vertices: new Map(vertices.map((v) => [v.id, v])) };
  current.current = { at, rates: before ? rates : current.current.rates };
  return current.current.rates;
}

/** Per second since the previous answer, per name, of counters that only grow (a table's
 * rows); empty until two answers arrived. */
export function useCounterRates(counters: Map<string, number> | undefined, at: number | undefined): Map<string, number> {
  const previous = useRef<{ at: number; counters: Map<string, number> } | undefined>(undefined);
  const current = useRef<{ at: number; rates: Map<string, number> }>({ at: -1, rates: new Map() });
  if (!counters || at === undefined || at === current.current.at) return current.current.rates;
  const before = previous.current;
  const rates = new Map<string, number>();
  if (before && at > before.at) {
    const seconds = (at - before.at) / 1000;
    for (const [name, n] of counters) {
      const p = before.counters.get(name);
      if (p !== undefined) rates.set(name, Math.max(0, n - p) / seconds);
    }
  }
  previous.current = { at, counters };
  current.current = { at, rates };
  return rates;
}
