// Every job, newest first: search by name or id, filter by state, a page at a time.
import { useState } from "preact/hooks";
import type { JobOverview } from "../api";
import { usePoll } from "../poll";
import { Freshness, Loaded, Section, State } from "../components/common";
import { duration, time } from "../format";
import { href } from "../router";

const PAGE = 50;

export function JobTable({ jobs, empty }: { jobs: JobOverview[]; empty: string }) {
  if (jobs.length === 0) return <p class="muted">{empty}</p>;
  return (
    <div class="table-wrap">
      <table data-testid="job-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>State</th>
            <th>Started</th>
            <th>Duration</th>
            <th>Tasks</th>
            <th>Job ID</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.jid} data-jid={j.jid}>
              <td>
                <a href={href.job(j.jid)}>{j.name}</a>
              </td>
              <td>
                <State state={j.state} />
              </td>
              <td>{time(j["start-time"])}</td>
              <td>{duration(j.duration)}</td>
              <td>
                {j.tasks.running ?? 0}/{j.tasks.total ?? 0} running
              </td>
              <td class="mono">{j.jid}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function JobsPage() {
  const jobs = usePoll<{ jobs: JobOverview[] }>("/jobs/overview", 2000);
  const [search, setSearch] = useState("");
  const [state, setState] = useState("");
  const [page, setPage] = useState(0);
  return (
    <div class="page">
      <h1>Jobs</h1>
      <Section title="All jobs" extra={<Freshness polled={jobs} />}>
        <div class="filters">
          <input
            type="search"
            placeholder="Search by name or id"
            value={search}
            onInput={(e) => {
              setSearch((e.target as HTMLInputElement).value);
              setPage(0);
            }}
            aria-label="Search jobs"
          />
          <select
            value={state}
            onChange={(e) => {
              setState((e.target as HTMLSelectElement).value);
              setPage(0);
            }}
            aria-label="Filter by state"
          >
            <option value="">every state</option>
            {["CREATED", "RUNNING", "RESTARTING", "FAILING", "CANCELLING", "FINISHED", "CANCELED", "FAILED"].map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </div>
        <Loaded polled={jobs}>
          {(j) => {
            const needle = search.trim().toLowerCase();
            const shown = j.jobs
              .filter((x) => (state === "" || x.state === state) && (needle === "" || x.name.toLowerCase().includes(needle) || x.jid.includes(needle)))
              .sort((a, b) => b["start-time"] - a["start-time"]);
            const pages = Math.max(1, Math.ceil(shown.length / PAGE));
            const at = Math.min(page, pages - 1);
            return (
              <>
                <JobTable jobs={shown.slice(at * PAGE, (at + 1) * PAGE)} empty="No job matches." />
                <div class="pager">
                  <button type="button" class="small" disabled={at === 0} onClick={() => setPage(at - 1)}>
                    previous
                  </button>
                  <span>
                    page {at + 1} of {pages} ({shown.length} jobs)
                  </span>
                  <button type="button" class="small" disabled={at >= pages - 1} onClick={() => setPage(at + 1)}>
                    next
                  </button>
                </div>
              </>
            );
          }}
        </Loaded>
      </Section>
    </div>
  );
}
