// The job's actions: cancel, savepoint, stop with savepoint, rescale. Each asks to be confirmed,
// shows the curl command that does the same, and follows its asynchronous operation to the end.
import { useEffect, useState } from "preact/hooks";
import type { AsyncOperation } from "../api";
import { ApiError, curlOf, getJson, send } from "../api";
import { Command, CopyButton, ErrorBox } from "./common";

type Kind = "cancel" | "savepoint" | "stop" | "rescale";

interface Pending {
  kind: Kind;
  method: string;
  path: string;
  body?: string;
  /** Where the operation's status is polled, when the call answers a trigger id. */
  status?: (trigger: string) => string;
}

function request(job: string, kind: Kind, target: string, parallelism: number): Pending {
  const dir = target.trim() === "" ? undefined : target.trim();
  switch (kind) {
    case "cancel":
      return { kind, method: "PATCH", path: `/jobs/${job}?mode=cancel` };
    case "savepoint":
      return {
        kind,
        method: "POST",
        path: `/jobs/${job}/savepoints`,
        body: JSON.stringify({ "target-directory": dir ?? null, "cancel-job": false }),
        status: (t) => `/jobs/${job}/savepoints/${t}`,
      };
    case "stop":
      return {
        kind,
        method: "POST",
        path: `/jobs/${job}/stop`,
        body: JSON.stringify({ targetDirectory: dir ?? null, drain: false }),
        status: (t) => `/jobs/${job}/savepoints/${t}`,
      };
    case "rescale":
      return { kind, method: "PATCH", path: `/jobs/${job}/rescaling?parallelism=${parallelism}`, status: (t) => `/jobs/${job}/rescaling/${t}` };
  }
}

const LABEL: Record<Kind, string> = { cancel: "Cancel", savepoint: "Savepoint", stop: "Stop with savepoint", rescale: "Rescale" };

interface Outcome {
  kind: Kind;
  state: "running" | "done" | "failed";
  message: string;
  location?: string;
}

export function JobActions({ job, running, parallelism, onDone }: { job: string; running: boolean; parallelism: number; onDone: () => void }) {
  const [open, setOpen] = useState<Kind | undefined>(undefined);
  const [target, setTarget] = useState("");
  const [newParallelism, setNewParallelism] = useState(parallelism);
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);
  const [trigger, setTrigger] = useState<{ path: string; kind: Kind } | undefined>(undefined);

  // Follow the asynchronous operation until it completes.
  useEffect(() => {
    if (!trigger) return;
    let stopped = false;
    const poll = async () => {
      try {
        const op = await getJson<AsyncOperation>(trigger.path);
        if (stopped) return;
        if (op.status.id === "COMPLETED") {
          const cause = op.operation?.["failure-cause"];
          if (cause) setOutcome({ kind: trigger.kind, state: "failed", message: cause["stack-trace"] ?? cause.class ?? "failed" });
          else setOutcome({ kind: trigger.kind, state: "done", message: `${LABEL[trigger.kind]} completed`, location: op.operation?.location });
          setTrigger(undefined);
          onDone();
          return;
        }
        window.setTimeout(poll, 500);
      } catch (e) {
        if (!stopped) setOutcome({ kind: trigger.kind, state: "failed", message: e instanceof Error ? e.message : String(e) });
      }
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, [trigger]);

  const pending = open ? request(job, open, target, newParallelism) : undefined;
  const confirm = async () => {
    if (!pending) return;
    setOpen(undefined);
    setOutcome({ kind: pending.kind, state: "running", message: `${LABEL[pending.kind]}: requested…` });
    try {
      const answer = await send<{ "request-id"?: string; triggerid?: string }>(pending.method, pending.path, pending.body);
      const id = answer["request-id"] ?? answer.triggerid;
      if (pending.status && id) {
        setOutcome({ kind: pending.kind, state: "running", message: `${LABEL[pending.kind]}: in progress (trigger ${id})` });
        setTrigger({ path: pending.status(id), kind: pending.kind });
      } else {
        setOutcome({ kind: pending.kind, state: "done", message: `${LABEL[pending.kind]}: accepted` });
        onDone();
      }
    } catch (e) {
      setOutcome({ kind: pending.kind, state: "failed", message: e instanceof ApiError ? e.errors.join("\n") : String(e) });
    }
  };

  return (
    <div class="actions">
      <div class="buttons">
        {(["cancel", "savepoint", "stop", "rescale"] as Kind[]).map((k) => (
          <button type="button" disabled={!running} class={k === "cancel" ? "danger" : ""} onClick={() => setOpen(open === k ? undefined : k)} data-action={k}>
            {LABEL[k]}
          </button>
        ))}
      </div>
      {pending && (
        <div class="confirm" role="dialog" aria-label={`${LABEL[pending.kind]} confirmation`}>
          {(pending.kind === "savepoint" || pending.kind === "stop") && (
            <label>
              target directory (empty: the cluster's state.savepoints.dir)
              <input type="text" value={target} onInput={(e) => setTarget((e.target as HTMLInputElement).value)} placeholder="file:///…" />
            </label>
          )}
          {pending.kind === "rescale" && (
            <label>
              new parallelism
              <input type="number" min={1} value={newParallelism} onInput={(e) => setNewParallelism(Math.max(1, Number((e.target as HTMLInputElement).value) || 1))} />
            </label>
          )}
          <p>
            {pending.kind === "cancel" && "Cancel this job? Its state since the last checkpoint is lost."}
            {pending.kind === "savepoint" && "Take a savepoint of this job? The job keeps running."}
            {pending.kind === "stop" && "Take a savepoint and then stop this job?"}
            {pending.kind === "rescale" && `Rescale the job to parallelism ${newParallelism}? It restarts from a fresh snapshot.`}
          </p>
          <Command text={curlOf(pending.method, pending.path, pending.body)} />
          <div class="buttons">
            <button type="button" class="primary" onClick={() => void confirm()} data-confirm={pending.kind}>
              Confirm: {LABEL[pending.kind]}
            </button>
            <button type="button" onClick={() => setOpen(undefined)}>
              Back
            </button>
          </div>
        </div>
      )}
      {outcome && (
        <div class={`outcome outcome-${outcome.state}`} data-testid="operation" data-state={outcome.state}>
          {outcome.state === "failed" ? <ErrorBox error={outcome.message} /> : <span>{outcome.message}</span>}
          {outcome.location && (
            <span>
              {" "}
              at <code data-testid="savepoint-path">{outcome.location}</code> <CopyButton text={outcome.location} />
            </span>
          )}
        </div>
      )}
    </div>
  );
}
