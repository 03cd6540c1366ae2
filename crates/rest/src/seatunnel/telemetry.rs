//! SeaTunnel's telemetry texts (`/metrics` and `/openmetrics` on v2, Hazelcast's
//! `/hazelcast/rest/instance/metrics` and `…/openmetrics` on v1): SeaTunnel's own families, with
//! its names, labels (`cluster` on every sample) and number format, so its Grafana dashboards and
//! alert rules work against weir. Flink's metric names stay on the Flink Prometheus reporter.
//!
//! What weir reports under SeaTunnel's names:
//! - `cluster_info`, `cluster_time`, `node_count`, `node_state`: this cluster, its time (epoch
//!   ms, as Hazelcast's cluster time), its members (the TaskManagers) and this node being up.
//! - `job_count{type}`: the jobs the JobManager knows, by SeaTunnel's status (all eight types,
//!   0 included).
//! - `job_thread_pool_*`: SeaTunnel runs each job's coordinator on a cached thread pool; weir
//!   runs each job's JobMaster as a task of its control-plane runtime. So `poolSize`,
//!   `corePoolSize` and `maximumPoolSize` are that runtime's worker threads, `activeCount` the
//!   jobs whose JobMaster is live, `queueTaskCount` the runtime's queued tasks, `task_total` and
//!   `completedTask_total` the jobs it knows and those that ended, and `rejection_total` 0 (weir
//!   turns no job away for want of threads).
//! - `process_*`: this process's CPU time, memory and file descriptors (SeaTunnel's JVM
//!   exporter reports the same standard names; the `jvm_*` ones have no counterpart in weir).

use super::status;
use weir_core::JobStatus;
use weir_gateway::metrics::kinds::java_double;
use weir_gateway::SavepointStop;

/// The `cluster` label: Hazelcast's cluster name in SeaTunnel's shipped configuration.
pub const CLUSTER_NAME: &str = "seatunnel";

/// SeaTunnel's job count types, in its order.
const JOB_TYPES: [&str; 8] = [
    "canceled",
    "cancelling",
    "created",
    "failed",
    "failing",
    "finished",
    "running",
    "scheduled",
];

/// The `job_count` type of a job, from its SeaTunnel status.
fn job_type(s: JobStatus) -> Option<&'static str> {
    Some(match status::of(s, SavepointStop::None) {
        "CANCELED" => "canceled",
        "CANCELING" => "cancelling",
        "PENDING" | "CREATED" | "INITIALIZING" => "created",
        "FAILED" => "failed",
        "FAILING" => "failing",
        "FINISHED" | "SAVEPOINT_DONE" => "finished",
        "RUNNING" | "DOING_SAVEPOINT" => "running",
        "SCHEDULED" => "scheduled",
        _ => return None,
    })
}

/// What the texts are made from, gathered once per scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    /// The `cluster` label (Hazelcast's cluster name; SeaTunnel's default is `seatunnel`).
    pub cluster: String,
    /// This node's `host:port`.
    pub address: String,
    /// The version shown as `hazelcastVersion`.
    pub version: String,
    pub now_ms: i64,
    pub nodes: usize,
    pub job_statuses: Vec<JobStatus>,
    pub runtime_workers: usize,
    pub runtime_queued: usize,
    pub process: ProcessFigures,
}

/// This process's standard `process_*` figures.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProcessFigures {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    pub max_fds: u64,
    pub start_time_seconds: f64,
}

impl ProcessFigures {
    /// This process, now.
    pub fn read(start_time_seconds: f64) -> Self {
        use weir_core::process;
        Self {
            cpu_seconds: process::cpu_time_ns() as f64 / 1e9,
            resident_bytes: process::rss_bytes(),
            virtual_bytes: process::virtual_bytes(),
            open_fds: process::open_fds(),
            max_fds: process::max_fds(),
            start_time_seconds,
        }
    }
}

/// One family in Prometheus' text format as SeaTunnel's simpleclient writes it (labels end with
/// a comma, numbers are Java doubles).
struct Family<'a> {
    out: &'a mut String,
    cluster: &'a str,
}

impl Family<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        self.out
            .push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let mut text = format!("cluster=\"{}\",", escape(self.cluster));
        for (k, v) in labels {
            text.push_str(&format!("{k}=\"{}\",", escape(v)));
        }
        self.out
            .push_str(&format!("{name}{{{text}}} {}\n", java_double(value)));
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text of `t`.
pub fn render(t: &Telemetry) -> String {
    let mut out = String::new();
    let mut f = Family {
        out: &mut out,
        cluster: &t.cluster,
    };
    let version = t.version.as_str();
    f.header("cluster_info", "gauge", "Cluster info");
    f.sample(
        "cluster_info",
        &[("hazelcastVersion", version), ("master", &t.address)],
        1.0,
    );
    f.header("cluster_time", "gauge", "Cluster start time");
    f.sample(
        "cluster_time",
        &[("hazelcastVersion", version)],
        t.now_ms as f64,
    );
    f.header("node_count", "gauge", "Cluster node total count");
    f.sample("node_count", &[], t.nodes as f64);
    f.header("node_state", "gauge", "Whether is up of seatunnel node");
    f.sample("node_state", &[("address", &t.address)], 1.0);

    f.header("job_count", "gauge", "All job counts of seatunnel cluster");
    for ty in JOB_TYPES {
        let n = t
            .job_statuses
            .iter()
            .filter(|s| job_type(**s) == Some(ty))
            .count();
        f.sample("job_count", &[("type", ty)], n as f64);
    }

    let help = |what: &str| {
        format!("The {what} of seatunnel coordinator job's executor cached thread pool")
    };
    let live = t.job_statuses.iter().filter(|s| !s.is_terminal()).count();
    let ended = t.job_statuses.len() - live;
    let address = [("address", t.address.as_str())];
    for (name, value) in [
        ("activeCount", live as f64),
        ("corePoolSize", t.runtime_workers as f64),
        ("maximumPoolSize", t.runtime_workers as f64),
        ("poolSize", t.runtime_workers as f64),
        ("queueTaskCount", t.runtime_queued as f64),
    ] {
        let family = format!("job_thread_pool_{name}");
        f.header(&family, "gauge", &help(name));
        f.sample(&family, &address, value);
    }
    for (name, what, value) in [
        ("completedTask", "completedTask", ended as f64),
        ("task", "taskCount", t.job_statuses.len() as f64),
        ("rejection", "rejectionCount", 0.0),
    ] {
        let family = format!("job_thread_pool_{name}");
        f.header(&family, "counter", &help(what));
        f.sample(&format!("{family}_total"), &address, value);
    }

    let p = &t.process;
    for (name, kind, help, value) in [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            p.cpu_seconds,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            p.start_time_seconds,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            p.open_fds as f64,
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            p.max_fds as f64,
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            p.virtual_bytes as f64,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            p.resident_bytes as f64,
        ),
    ] {
        f.header(name, kind, help);
        f.sample(name, &[], value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_seatunnels_names_labels_and_numbers() {
        let t = Telemetry {
            cluster: "seatunnel".into(),
            address: "127.0.0.1:5801".into(),
            version: "2.3.12".into(),
            now_ms: 1_796_119_577_174,
            nodes: 1,
            job_statuses: vec![
                JobStatus::Running,
                JobStatus::Running,
                JobStatus::Finished,
                JobStatus::Canceled,
                JobStatus::Initializing,
            ],
            runtime_workers: 2,
            runtime_queued: 0,
            process: ProcessFigures::default(),
        };
        let text = render(&t);
        for line in [
            "cluster_info{cluster=\"seatunnel\",hazelcastVersion=\"2.3.12\",master=\"127.0.0.1:5801\",} 1.0",
            "cluster_time{cluster=\"seatunnel\",hazelcastVersion=\"2.3.12\",} 1.796119577174E12",
            "node_state{cluster=\"seatunnel\",address=\"127.0.0.1:5801\",} 1.0",
            "job_count{cluster=\"seatunnel\",type=\"running\",} 2.0",
            "job_count{cluster=\"seatunnel\",type=\"finished\",} 1.0",
            "job_count{cluster=\"seatunnel\",type=\"canceled\",} 1.0",
            "job_count{cluster=\"seatunnel\",type=\"created\",} 1.0",
            "job_count{cluster=\"seatunnel\",type=\"failing\",} 0.0",
            "job_thread_pool_activeCount{cluster=\"seatunnel\",address=\"127.0.0.1:5801\",} 3.0",
            "job_thread_pool_completedTask_total{cluster=\"seatunnel\",address=\"127.0.0.1:5801\",} 2.0",
            "job_thread_pool_task_total{cluster=\"seatunnel\",address=\"127.0.0.1:5801\",} 5.0",
            "job_thread_pool_rejection_total{cluster=\"seatunnel\",address=\"127.0.0.1:5801\",} 0.0",
            "# TYPE job_thread_pool_completedTask counter",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert_eq!(text.matches("job_count{").count(), 8);
    }
}
