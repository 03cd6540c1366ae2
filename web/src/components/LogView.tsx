// A log that follows new lines: polled as text, scrolled to the end while the reader is there.
import { useEffect, useRef, useState } from "preact/hooks";
import { getText } from "../api";

export function LogView({ path, testid }: { path: string; testid?: string }) {
  const [text, setText] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const run = async () => {
      try {
        const t = await getText(path);
        if (stopped) return;
        const el = box.current;
        const atEnd = !el || el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        setText(t);
        setError(undefined);
        if (atEnd) window.requestAnimationFrame(() => box.current && (box.current.scrollTop = box.current.scrollHeight));
      } catch (e) {
        if (!stopped) setError(e instanceof Error ? e.message : String(e));
      }
      if (!stopped) timer = window.setTimeout(run, 2000);
    };
    void run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [path]);
  return (
    <>
      {error && <p class="age stale">{error}</p>}
      <pre class="log" ref={box} data-testid={testid}>
        {text === undefined ? "Loading…" : text === "" ? "(empty)" : text}
      </pre>
    </>
  );
}
