// Submit a job file: paste or upload it, check it (every problem weir finds, at its line),
// set parallelism, variables and a savepoint to start from, run it and land on its page.
// Files go through Flink's /jars API, so what is run stays listed to run again or delete.
import { useMemo, useState } from "preact/hooks";
import type { JarFile } from "../api";
import { ApiError, curlOf, send } from "../api";
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

/** One problem as weir reports it, with the line it names when it names one. */
export interface Problem {
  text: string;
  line?: number;
}

/** The problems in an error answer: weir lists them numbered, each naming its line. */
export function problemsOf(errors: string[]): Problem[] {
  const out: Problem[] = [];
  for (const e of errors) {
    const items = e.split("\n").map((l) => l.trim()).filter((l) => /^\d+\.\s/.test(l));
    const texts = items.length > 0 ? items.map((l) => l.replace(/^\d+\.\s+/, "")) : [e];
    for (const text of texts) {
      const m = /\bline (\d+)/.exec(text);
      out.push({ text, line: m ? Number(m[1]) : undefined });
    }
  }
  return out;
}

interface Plan {
  plan: { nodes: { id: string; description: string; parallelism: number }[] };
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
  const [plan, setPlan] = useState<Plan["plan"] | undefined>(undefined);
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

  const check = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const id = await upload(name, text);
      try {
        const p = await send<Plan>("POST", `/jars/${id}/plan`, body());
        setPlan(p.plan);
        setProblems([]);
      } catch (e) {
        setPlan(undefined);
        if (e instanceof ApiError && e.status === 400) setProblems(problemsOf(e.errors));
        else throw e;
      } finally {
        await send("DELETE", `/jars/${id}`).catch(() => undefined);
        jars.refresh();
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const run = async (jar?: string) => {
    setBusy(true);
    setError(undefined);
    try {
      const id = jar ?? (await upload(name, text));
      jars.refresh();
      try {
        const r = await send<{ jobid: string }>("POST", `/jars/${id}/run`, body());
        window.location.hash = href.job(r.jobid);
      } catch (e) {
        if (e instanceof ApiError && e.status === 400) {
          setProblems(problemsOf(e.errors));
          setPlan(undefined);
        } else throw e;
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const badLines = useMemo(() => new Set((problems ?? []).map((p) => p.line).filter((l): l is number => l !== undefined)), [problems]);
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
              <div class={badLines.has(i + 1) ? "bad" : ""} data-line={i + 1}>
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
                <li data-line={p.line ?? ""}>
                  {p.line !== undefined && <b>line {p.line}: </b>}
                  {p.text}
                </li>
              ))}
            </ul>
          </div>
        )}
        {problems && problems.length === 0 && plan && (
          <div class="ok" data-testid="check-ok">
            No problem found. The job would run as {plan.nodes.length} vertices:{" "}
            {plan.nodes.map((n) => `${n.description} (×${n.parallelism})`).join(" → ")}
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
