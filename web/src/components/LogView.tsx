// A log that follows new lines: polled as text, scrolled to the end while the reader is there.
import { useEffect, useRef } from "preact/hooks";
import { getText } from "../api";
import { usePoll } from "../poll";

export function LogView({ path, testid }: { path: string; testid?: string }) {
  const log = usePoll<string>(path, 2000, getText);
  const box = useRef<HTMLPreElement>(null);
  // Whether the reader was at the end before this answer was drawn: then follow it.
  const atEnd = useRef(true);
  const el = box.current;
  if (el) atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  useEffect(() => {
    if (atEnd.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [log.fetchedAt]);
  return (
    <>
      {log.error && <p class="age stale">{log.error.message}</p>}
      <pre class="log" ref={box} data-testid={testid}>
        {log.data === undefined ? "Loading…" : log.data === "" ? "(empty)" : log.data}
      </pre>
    </>
  );
}
