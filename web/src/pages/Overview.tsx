// The cluster at a glance: TaskManagers, slots, jobs by state, and the jobs running now.
import type { ClusterOverview, JobOverview, TaskManager } from "../api";
import { usePoll } from "../poll";
import { Freshness, Loaded, Section, Stat } from "../components/common";
import { JobTable } from "./Jobs";

export function OverviewPage() {
  const overview = usePoll<ClusterOverview>("/overview", 2000);
  const jobs = usePoll<{ jobs: JobOverview[] }>("/jobs/overview", 2000);
  const tms = usePoll<{ taskmanagers: TaskManager[] }>("/taskmanagers", 5000);
  const cores = tms.data?.taskmanagers.reduce((n, t) => n + t.hardware.cpuCores, 0);
  return (
    <div class="page">
      <h1>Overview</h1>
      <Section title="Cluster" extra={<Freshness polled={overview} />}>
        <Loaded polled={overview}>
          {(o) => (
            <div class="stats">
              <Stat label="TaskManagers" value={o.taskmanagers} testid="taskmanagers" />
              <Stat label="slots total" value={o["slots-total"]} testid="slots-total" />
              <Stat label="slots free" value={o["slots-available"]} testid="slots-available" />
              <Stat label="CPU cores" value={cores ?? "–"} />
              <Stat label="running" value={o["jobs-running"]} testid="jobs-running" />
              <Stat label="finished" value={o["jobs-finished"]} testid="jobs-finished" />
              <Stat label="cancelled" value={o["jobs-cancelled"]} testid="jobs-cancelled" />
              <Stat label="failed" value={o["jobs-failed"]} testid="jobs-failed" />
              <Stat label="version" value={o["flink-version"]} testid="version" />
            </div>
          )}
        </Loaded>
      </Section>
      <Section title="Running jobs" extra={<Freshness polled={jobs} />}>
        <Loaded polled={jobs}>{(j) => <JobTable jobs={j.jobs.filter((x) => !isTerminal(x.state))} empty="No job is running." />}</Loaded>
      </Section>
      <Section title="Recently ended jobs">
        <Loaded polled={jobs}>
          {(j) => (
            <JobTable
              jobs={j.jobs.filter((x) => isTerminal(x.state)).sort((a, b) => b["end-time"] - a["end-time"]).slice(0, 10)}
              empty="No job has ended yet."
            />
          )}
        </Loaded>
      </Section>
    </div>
  );
}

export function isTerminal(state: string): boolean {
  return state === "FINISHED" || state === "CANCELED" || state === "FAILED";
}
