// Small pieces every page uses: state badges, the age of what is shown, errors, the command
// that does the same as a button, and tables.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { Polled } from "../poll";
import { useNow } from "../poll";
import { duration } from "../format";

export function State({ state }: { state: string }) {
  return <span class={`state state-${state.toLowerCase()}`}>{state}</span>;
}

/** How old the numbers are, and whether the JobManager answered the last poll. */
export function Freshness({ polled }: { polled: Polled<unknown> }) {
  const now = useNow(500);
  if (polled.fetchedAt === undefined) {
    return <span class="age">{polled.error ? `not reachable: ${polled.error.message}` : "loading…"}</span>;
  }
  const age = now - polled.fetchedAt;
  return (
    <span class={polled.error ? "age stale" : "age"} data-testid="age" title={new Date(polled.fetchedAt).toISOString()}>
      {polled.error ? `not updated: ${polled.error.message}; shown as of ${duration(age)} ago` : `updated ${duration(age)} ago`}
    </span>
  );
}

export function ErrorBox({ error }: { error: Error | string }) {
  const text = typeof error === "string" ? error : error.message;
  return (
    <pre class="error" role="alert">
      {text}
    </pre>
  );
}

/** Waits for a polled answer: the error or a placeholder until the first one arrives. */
export function Loaded<T>({ polled, children }: { polled: Polled<T>; children: (data: T) => ComponentChildren }) {
  if (polled.data === undefined) {
    return polled.error ? <ErrorBox error={polled.error} /> : <p class="muted">Loading…</p>;
  }
  return <>{children(polled.data)}</>;
}

export function CopyButton({ text, label = "copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      class="small"
      type="button"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setDone(true);
          window.setTimeout(() => setDone(false), 1500);
        });
      }}
    >
      {done ? "copied" : label}
    </button>
  );
}

/** The shell command that does what a button does. */
export function Command({ text }: { text: string }) {
  return (
    <div class="command">
      <code>{text}</code>
      <CopyButton text={text} />
    </div>
  );
}

export function Section({ title, children, extra }: { title: string; children: ComponentChildren; extra?: ComponentChildren }) {
  return (
    <section class="card">
      <header>
        <h2>{title}</h2>
        {extra}
      </header>
      {children}
    </section>
  );
}

export function Stat({ label, value, testid }: { label: string; value: ComponentChildren; testid?: string }) {
  return (
    <div class="stat">
      <div class="stat-value" data-testid={testid}>
        {value}
      </div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

export function Tabs({ tabs, current }: { tabs: { href: string; label: string; key: string }[]; current: string }) {
  return (
    <nav class="tabs">
      {tabs.map((t) => (
        <a href={t.href} class={t.key === current ? "active" : ""}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}
