// weir's dashboard: the shell (navigation, theme) and the page the hash names.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { useRoute } from "./router";
import { OverviewPage } from "./pages/Overview";
import { JobsPage } from "./pages/Jobs";
import { JobPage } from "./pages/Job";
import { VertexPage } from "./pages/Vertex";
import { TaskManagersPage, TaskManagerPage } from "./pages/TaskManagers";
import { JobManagerPage } from "./pages/JobManager";
import { SubmitPage } from "./pages/Submit";

type Theme = "light" | "dark";

function initialTheme(): Theme {
  const saved = localStorage.getItem("weir-theme");
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function App() {
  const route = useRoute();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("weir-theme", theme);
  }, [theme]);
  const nav = [
    { href: "#/overview", label: "Overview", on: route.page === "overview" },
    { href: "#/jobs", label: "Jobs", on: route.page === "jobs" || route.page === "job" || route.page === "vertex" },
    { href: "#/taskmanagers", label: "TaskManagers", on: route.page === "taskmanagers" || route.page === "taskmanager" },
    { href: "#/jobmanager", label: "JobManager", on: route.page === "jobmanager" },
    { href: "#/submit", label: "Submit", on: route.page === "submit" },
  ];
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/overview">
          weir
        </a>
        <nav class="main-nav">
          {nav.map((n) => (
            <a href={n.href} class={n.on ? "active" : ""}>
              {n.label}
            </a>
          ))}
        </nav>
        <button class="small theme" type="button" onClick={() => setTheme(theme === "dark" ? "light" : "dark")} title="Switch theme">
          {theme === "dark" ? "light" : "dark"}
        </button>
      </header>
      <main>
        {route.page === "overview" && <OverviewPage />}
        {route.page === "jobs" && <JobsPage />}
        {route.page === "job" && <JobPage id={route.id} tab={route.tab} />}
        {route.page === "vertex" && <VertexPage job={route.job} vertex={route.vertex} />}
        {route.page === "taskmanagers" && <TaskManagersPage />}
        {route.page === "taskmanager" && <TaskManagerPage id={route.id} />}
        {route.page === "jobmanager" && <JobManagerPage />}
        {route.page === "submit" && <SubmitPage />}
        {route.page === "missing" && <p class="error">There is no page at #{route.path}.</p>}
      </main>
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
