// Hash routes (#/jobs/ID), so the JobManager serves one index.html and a reload stays on the page.
import { useEffect, useState } from "preact/hooks";

/** The tabs of a job's page. */
export const JOB_TABS = ["overview", "seatunnel", "exceptions", "checkpoints", "configuration"] as const;
export type JobTab = (typeof JOB_TABS)[number];

export type Route =
  | { page: "overview" }
  | { page: "jobs" }
  | { page: "job"; id: string; tab: JobTab }
  | { page: "vertex"; job: string; vertex: string }
  | { page: "taskmanagers" }
  | { page: "taskmanager"; id: string }
  | { page: "jobmanager" }
  | { page: "submit" }
  | { page: "missing"; path: string };

/** The route a hash names. */
export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [a, b, c, d] = parts;
  if (parts.length === 0 || a === "overview") return { page: "overview" };
  if (a === "jobs" && b === undefined) return { page: "jobs" };
  if (a === "jobs" && c === "vertices" && d) return { page: "vertex", job: b, vertex: d };
  if (a === "jobs" && b) {
    const tab = c ?? "overview";
    if ((JOB_TABS as readonly string[]).includes(tab)) return { page: "job", id: b, tab: tab as JobTab };
  }
  if (a === "taskmanagers" && b === undefined) return { page: "taskmanagers" };
  if (a === "taskmanagers" && b) return { page: "taskmanager", id: b };
  if (a === "jobmanager") return { page: "jobmanager" };
  if (a === "submit") return { page: "submit" };
  return { page: "missing", path: parts.join("/") };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parse(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parse(window.location.hash));
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

export const href = {
  job: (id: string, tab = "overview") => `#/jobs/${id}/${tab}`,
  vertex: (job: string, vertex: string) => `#/jobs/${job}/vertices/${vertex}`,
  taskmanager: (id: string) => `#/taskmanagers/${encodeURIComponent(id)}`,
};
