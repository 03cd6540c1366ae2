// Submit a job file: paste or upload it, check it (every problem weir finds, at its line),
// set parallelism, variables and a savepoint to start from, run it and land on its page.
// Files go through Flink's /jars API, so what is run stays listed to run again or delete.
import { useMemo, useState } from "preact/hooks";
import type { JarFile } from "../api";
import { curlOf, send } from "../api";
import { usePoll } from "../poll";
import { Command, ErrorBox, Freshness, Loaded, Section } from "../components/common";
import { time } from "../format";
import { href } from "../router";

const EXAMPLE = `env {
  job.mode = "STREAMING"
  parallelism = 2
  checkpoint.interval = 5000
}
source {
  FakeSource {
    plugin_output = "events"
    unbounded = true
    rows.per.second = 1000
    schema = { fields { id = bigint, name = string } }
  }
}
transform {
  Sql {
    plugin_input = "events"
    plugin_output = "counts"
    query = "SELECT name, COUNT(*) AS n FROM events GROUP BY name"
  }
}
sink {
  Blackhole { plugin_input = "counts" }
}
`;

/** One problem of a job file as `POST /jars/:id/check` answers it. */
export interface Problem {
  line?: number;
  block?: string;
  index?: number;
  plugin?: string;
  option?: string;
  message: string;
  hint?: string;
}

interface PlanNode {
  id: string;
  description: string;
  parallelism: number;
}

/** `POST /jars/:id/check`: the problems, or (when there is none) the plan. */
interface Check {
  problems: Problem[];
  message?: string;
  plan?: { nodes: PlanNode[] };
}

/** Where a problem is, as words: `source[1] FakeSorce, option 'row.num'`. */
function whereOf(p: Problem): string {
  const parts: string[] = [];
  if (p.block) parts.push(`${p.block}${p.index !== undefined ? `[${p.index}]` : ""}${p.plugin ? ` ${p.plugin}` : ""}`);
  if (p.option) parts.push(`option '${p.option}'`);
  return parts.join(", ");
}

async function upload(name: string, text: string): Promise<string> {
  const form = new FormData();
  form.append("jarfile", new File([text], name, { type: "application/octet-stream" }));
  const r = await send<{ filename: string }>("POST", "/jars/upload", form);
  return r.filename.split("/").pop() ?? r.filename;
}

function variablesOf(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

export function SubmitPage() {
  const jars = usePoll<{ files: JarFile[] }>("/jars", 5000);
  const [name, setName] = useState("pipeline.conf");
  const [text, setText] = useState(EXAMPLE);
  const [parallelism, setParallelism] = useState("");
  const [variables, setVariables] = useState("");
  const [savepoint, setSavepoint] = useState("");
  const [problems, setProblems] = useState<Problem[] | undefined>(undefined);
  const [plan, setPlan] = useState<PlanNode[] | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const body = () => {
    const b: Record<string, unknown> = {};
    if (parallelism.trim() !== "") b.parallelism = Number(parallelism);
    const vars = variablesOf(variables);
    if (vars.length > 0) b.programArgsList = vars;
    if (savepoint.trim() !== "") b.savepointPath = savepoint.trim();
    return b;
  };

  /** Checks `jar` (an upload): shows its problems or its plan; true when it has none. */
  const checkJar = async (jar: string): Promise<boolean> => {
    const c = await send<Check>("POST", `/jars/${jar}/check`, body());
    setProblems(c.problems);
    setPlan(c.plan?.nodes);
    return c.problems.length === 0;
  };

  /** Runs `work`, showing what failed and keeping the buttons off meanwhile. */
  const busyWith = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  // Checking uploads the text and deletes it again: nothing is left behind.
  const check = () =>
    busyWith(async () => {
      const id = await upload(name, text);
      try {
        await checkJar(id);
      } finally {
        await send("DELETE", `/jars/${id}`).catch(() => undefined);
        jars.refresh();
      }
    });

  // Running checks first, so a file with problems shows them where they are and runs nothing.
  const run = (jar?: string) =>
    busyWith(async () => {
      const id = jar ?? (await upload(name, text));
      jars.refresh();
      if (!(await checkJar(id))) return;
      const r = await send<{ jobid: string }>("POST", `/jars/${id}/run`, body());
      window.location.hash = href.job(r.jobid);
    });

  // Line → what is wrong there, for the gutter's marks and their tooltips.
  const badLines = useMemo(() => {
    const m = new Map<number, string>();
    for (const p of problems ?? []) if (p.line !== undefined) m.set(p.line, [m.get(p.line), p.message].filter(Boolean).join("\n"));
    return m;
  }, [problems]);
  const lines = text.split("\n").length;
  const vars = variablesOf(variables);
  const cli = `weir run ${name}${parallelism ? ` -p ${parallelism}` : ""}${vars.map((v) => ` -i ${v}`).join("")}${savepoint ? ` -s ${savepoint}` : ""} -m ${window.location.host}`;

  return (
    <div class="page">
      <h1>Submit a job</h1>
      <Section title="Job file">
        <div class="filters">
          <label>
            name <input type="text" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} aria-label="File name" />
          </label>
          <label class="file">
            upload{" "}
            <input
              type="file"
              accept=".conf,.hocon,.json,.sql"
              aria-label="Upload a job file"
              onChange={async (e) => {
                const f = (e.target as HTMLInputElement).files?.[0];
                if (!f) return;
                setName(f.name);
                setText(await f.text());
                setProblems(undefined);
              }}
            />
          </label>
        </div>
        <div class="editor">
          <div class="gutter" aria-hidden="true">
            {Array.from({ length: lines }, (_, i) => (
              <div class={badLines.has(i + 1) ? "bad" : ""} data-line={i + 1} title={badLines.get(i + 1)}>
                {i + 1}
              </div>
            ))}
          </div>
          <textarea
            spellcheck={false}
            value={text}
            rows={Math.max(12, lines + 1)}
            aria-label="Job file text"
            onInput={(e) => {
              setText((e.target as HTMLTextAreaElement).value);
              setPlan(undefined);
            }}
          />
        </div>
        <div class="form-row">
          <label>
            parallelism <input type="number" min={1} placeholder="the file's" value={parallelism} onInput={(e) => setParallelism((e.target as HTMLInputElement).value)} aria-label="Parallelism" />
          </label>
          <label>
            variables (NAME=VALUE, one per line)
            <textarea rows={2} value={variables} onInput={(e) => setVariables((e.target as HTMLTextAreaElement).value)} aria-label="Variables" />
          </label>
          <label>
            start from savepoint <input type="text" placeholder="path of a savepoint or checkpoint" value={savepoint} onInput={(e) => setSavepoint((e.target as HTMLInputElement).value)} aria-label="Savepoint path" />
          </label>
        </div>
        <div class="buttons">
          <button type="button" disabled={busy} onClick={() => void check()} data-action="check">
            Check
          </button>
          <button type="button" class="primary" disabled={busy} onClick={() => void run()} data-action="run">
            Run
          </button>
        </div>
        <Command text={cli} />
        <Command text={curlOf("POST", "/jobs", "…the file…").replace(" -H 'Content-Type: application/json' -d '…the file…'", ` --data-binary @${name}`)} />
        {error && <ErrorBox error={error} />}
        {problems && problems.length > 0 && (
          <div class="problems" role="alert" data-testid="problems">
            <h3>
              {problems.length} problem{problems.length === 1 ? "" : "s"}
            </h3>
            <ul>
              {problems.map((p) => (
                <li data-line={p.line ?? ""} data-option={p.option ?? ""}>
                  {p.line !== undefined && <b>line {p.line}: </b>}
                  {whereOf(p) && <span class="where">{whereOf(p)}: </span>}
                  {p.message}
                  {p.hint && <span class="hint"> — {p.hint}</span>}
                </li>
              ))}
            </ul>
          </div>
        )}
        {problems && problems.length === 0 && plan && (
          <div class="ok" data-testid="check-ok">
            No problem found. The job would run as {plan.length} vertices:{" "}
            {plan.map((n) => `${n.description} (×${n.parallelism})`).join(" → ")}
          </div>
        )}
      </Section>
      <Section title="Uploaded files" extra={<Freshness polled={jars} />}>
        <Loaded polled={jars}>
          {(j) =>
            j.files.length === 0 ? (
              <p class="muted">No uploaded file.</p>
            ) : (
              <table data-testid="jar-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Uploaded</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {j.files.map((f) => (
                    <tr data-jar={f.id}>
                      <td>{f.name}</td>
                      <td>{time(f.uploaded)}</td>
                      <td>
                        <button type="button" class="small" disabled={busy} onClick={() => void run(f.id)}>
                          run again
                        </button>{" "}
                        <button
                          type="button"
                          class="small danger"
                          onClick={async () => {
                            await send("DELETE", `/jars/${f.id}`).catch((e: Error) => setError(e.message));
                            jars.refresh();
                          }}
                        >
                          delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Loaded>
      </Section>
    </div>
  );
}
