// Live data without flicker: each poll keeps its last good answer on screen while the next one
// is in flight, and when the JobManager is away (restarting, unreachable) the page keeps what
// it had and says how old it is, then picks up again by itself.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, getJson } from "./api";

/** How a poll reads its path: JSON by default, or text (logs). */
export type Reader<T> = (path: string, signal: AbortSignal) => Promise<T>;

export interface Polled<T> {
  data: T | undefined;
  /** When `data` was fetched (ms since the epoch). */
  fetchedAt: number | undefined;
  /** The last poll's failure, cleared by the next success. */
  error: ApiError | Error | undefined;
  /** Fetch now instead of waiting for the next tick (after an action). */
  refresh: () => void;
}

/** Polls `path` every `intervalMs` (paused while the tab is hidden); `null` polls nothing. */
export function usePoll<T>(path: string | null, intervalMs = 2000, read: Reader<T> = getJson): Polled<T> {
  const [state, setState] = useState<Omit<Polled<T>, "refresh">>({ data: undefined, fetchedAt: undefined, error: undefined });
  const tick = useRef<() => void>(() => {});
  useEffect(() => {
    setState({ data: undefined, fetchedAt: undefined, error: undefined });
    if (path === null) return;
    let stopped = false;
    let timer: number | undefined;
    let inFlight: AbortController | undefined;
    const run = async () => {
      window.clearTimeout(timer);
      if (stopped) return;
      if (document.hidden) {
        timer = window.setTimeout(run, intervalMs);
        return;
      }
      inFlight?.abort();
      inFlight = new AbortController();
      try {
        const data = await read(path, inFlight.signal);
        if (!stopped) setState({ data, fetchedAt: Date.now(), error: undefined });
      } catch (e) {
        if (stopped || (e instanceof DOMException && e.name === "AbortError")) return;
        setState((s) => ({ ...s, error: e instanceof Error ? e : new Error(String(e)) }));
      }
      if (!stopped) timer = window.setTimeout(run, intervalMs);
    };
    tick.current = run;
    const visible = () => {
      if (!document.hidden) void run();
    };
    document.addEventListener("visibilitychange", visible);
    void run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      inFlight?.abort();
      document.removeEventListener("visibilitychange", visible);
    };
  }, [path, intervalMs]);
  return { ...state, refresh: () => tick.current() };
}

/** The current time, re-rendered every `everyMs`: for ages and running durations. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(t);
  }, [everyMs]);
  return now;
}
