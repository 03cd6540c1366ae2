//! The answering node: `/system-monitoring-information`, `/thread-dump`, `/running-threads`,
//! `/update-tags`, the Prometheus texts `/metrics` and `/openmetrics`, and Hazelcast's
//! `/hazelcast/rest/cluster` (which SeaTunnel's tooling polls for its members).
//!
//! weir has no JVM and no Hazelcast, so SeaTunnel's keys carry the process's honest
//! equivalents: `heap.memory.*` is the resident memory of the process (it has no other heap),
//! `heap.memory.max` the machine's memory, garbage collection counts and Hazelcast's queue
//! sizes are 0 (there is no collector and there are no such queues).

use super::error::{StError, StResult};
use super::messages::{
    HazelcastCluster, HazelcastMember, OrderedStrings, RunningThread, RunningThreads,
    StatusMessage, SystemMonitoringInformation, ThreadDump, ThreadDumpEntry,
};
use super::{host_port, json_body, value_text, Ctx};
use crate::json::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use weir_core::process;

/// `16.0G`, `512.0M`, as Hazelcast formats sizes.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (size, unit) in UNITS {
        if bytes >= size {
            return format!("{:.1}{unit}", bytes as f64 / size as f64);
        }
    }
    bytes.to_string()
}

fn percent(part: f64, whole: f64) -> String {
    if whole <= 0.0 {
        return "0.00%".into();
    }
    format!("{:.2}%", part / whole * 100.0)
}

/// The process's CPU share since the previous request (over all cores).
fn process_load() -> f64 {
    static LAST: Mutex<Option<(Instant, u64)>> = Mutex::new(None);
    let (now, cpu) = (Instant::now(), process::cpu_time_ns());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let Ok(mut last) = LAST.lock() else {
        return 0.0;
    };
    let share = match *last {
        Some((at, before)) if now.duration_since(at).as_millis() > 0 => {
            cpu.saturating_sub(before) as f64 / now.duration_since(at).as_nanos() as f64 / cores
        }
        _ => 0.0,
    };
    *last = Some((now, cpu));
    share.clamp(0.0, 1.0)
}

/// The most threads this process was seen with.
static PEAK_THREADS: AtomicUsize = AtomicUsize::new(0);

/// `host` and `port` of this node as SeaTunnel names a member: its v1 (member) address, else v2.
fn member_address(ctx: &Ctx) -> (String, String) {
    let s = &ctx.node.settings;
    let url = s
        .v1_url
        .clone()
        .or_else(|| s.v2_url.clone())
        .unwrap_or_default();
    let hostport = host_port(&url);
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.to_string()),
        None => (hostport.to_string(), String::new()),
    }
}

/// `GET /system-monitoring-information`: one entry, this node.
pub async fn system_monitoring_information(
    State(ctx): State<Ctx>,
) -> Json<SystemMonitoringInformation> {
    let (host, port) = member_address(&ctx);
    let total = process::total_memory_bytes();
    let rss = process::rss_bytes();
    let threads = process::threads().len();
    let peak = PEAK_THREADS
        .fetch_max(threads, Ordering::Relaxed)
        .max(threads);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = process::load_average();
    let mut m = OrderedStrings::default();
    let mut put = |k: &str, v: String| {
        m.0.push((k.to_string(), v));
    };
    put("isMaster", "true".into());
    put("host", host);
    put("port", port);
    put("processors", cores.to_string());
    put("physical.memory.total", human_bytes(total));
    put(
        "physical.memory.free",
        human_bytes(process::meminfo_bytes("MemAvailable:")),
    );
    put(
        "swap.space.total",
        human_bytes(process::meminfo_bytes("SwapTotal:")),
    );
    put(
        "swap.space.free",
        human_bytes(process::meminfo_bytes("SwapFree:")),
    );
    put("heap.memory.used", human_bytes(rss));
    put("heap.memory.free", human_bytes(total.saturating_sub(rss)));
    put("heap.memory.total", human_bytes(rss));
    put("heap.memory.max", human_bytes(total));
    put("heap.memory.used/total", percent(rss as f64, rss as f64));
    put("heap.memory.used/max", percent(rss as f64, total as f64));
    for gc in ["minor", "major"] {
        put(&format!("{gc}.gc.count"), "0".into());
        put(&format!("{gc}.gc.time"), "0ms".into());
    }
    put("load.process", percent(process_load(), 1.0));
    put("load.system", percent(load.max(0.0), cores as f64));
    put("load.systemAverage", format!("{:.2}", load));
    put("thread.count", threads.to_string());
    put("thread.peakCount", peak.to_string());
    put("cluster.timeDiff", "0".into());
    put("event.q.size", "0".into());
    for q in [
        "async",
        "client",
        "client.query",
        "client.blocking",
        "query",
        "scheduled",
        "io",
        "system",
        "operations",
        "priorityOperation",
        "mapLoad",
        "mapLoadAllKeys",
        "cluster",
        "response",
    ] {
        put(&format!("executor.q.{q}.size"), "0".into());
    }
    for k in [
        "operations.completed.count",
        "operations.running.count",
        "operations.pending.invocations.count",
        "proxy.count",
        "clientEndpoint.count",
        "connection.active.count",
        "client.connection.count",
        "connection.count",
    ] {
        put(k, "0".into());
    }
    put("operations.pending.invocations.percentage", "0.00%".into());
    Json(SystemMonitoringInformation(vec![m]))
}

/// `GET /thread-dump`: this process's threads; the stack is the kernel's wait channel, the
/// one frame Linux shows a process of its own threads without stopping them.
pub async fn thread_dump() -> Json<ThreadDump> {
    Json(ThreadDump(
        process::threads()
            .into_iter()
            .map(|t| ThreadDumpEntry {
                thread_name: t.name,
                thread_id: t.tid,
                thread_state: t.state,
                stack_trace: t.wait_channel,
            })
            .collect(),
    ))
}

/// `GET /running-threads`: thread names, sorted; weir has no class loaders, so `classLoader`
/// names the executable every thread runs.
pub async fn running_threads() -> Json<RunningThreads> {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "weir".into());
    let mut names: Vec<String> = process::threads().into_iter().map(|t| t.name).collect();
    names.sort();
    Json(RunningThreads(
        names
            .into_iter()
            .map(|n| RunningThread {
                thread_name: n,
                class_loader: exe.clone(),
            })
            .collect(),
    ))
}

/// `POST /update-tags`: replaces this node's tags (`{}` clears them).
pub async fn update_tags(State(ctx): State<Ctx>, body: Bytes) -> StResult<Json<StatusMessage>> {
    let Value::Object(tags) = json_body(&body)? else {
        return Err(StError::invalid_json());
    };
    let tags = tags.into_iter().map(|(k, v)| (k, value_text(&v))).collect();
    ctx.gateway().update_worker_tags(tags).await;
    Ok(Json(StatusMessage {
        status: "success",
        message: "update node tags done.",
    }))
}

/// The telemetry text: SeaTunnel's families, gathered now.
async fn prometheus_text(ctx: &Ctx) -> String {
    let gateway = ctx.gateway();
    let (host, port) = member_address(ctx);
    let runtime = tokio::runtime::Handle::current().metrics();
    let facts = super::telemetry::Telemetry {
        cluster: super::telemetry::CLUSTER_NAME.into(),
        address: format!("{host}:{port}"),
        version: super::SEATUNNEL_API_VERSION.into(),
        now_ms: weir_core::now_ms(),
        nodes: gateway.request_task_managers().await.len(),
        job_statuses: gateway
            .request_multiple_job_details()
            .await
            .iter()
            .map(|j| j.status)
            .collect(),
        runtime_workers: runtime.num_workers(),
        runtime_queued: runtime.global_queue_depth(),
        process: super::telemetry::ProcessFigures::read(weir_core::process::start_time_secs()),
    };
    super::telemetry::render(&facts)
}

/// `GET /metrics`: the node's metrics in Prometheus text format 0.0.4.
pub async fn prometheus_metrics(State(ctx): State<Ctx>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus_text(&ctx).await,
    )
}

/// `GET /openmetrics`: the same in OpenMetrics 1.0.0, which ends with `# EOF`.
pub async fn open_metrics(State(ctx): State<Ctx>) -> impl IntoResponse {
    let mut text = prometheus_text(&ctx).await;
    text.push_str("# EOF\n");
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

/// `GET /hazelcast/rest/cluster`: the members, one per TaskManager (SeaTunnel's workers), as
/// Hazelcast answers it; SeaTunnel's tooling waits on the size of `members`.
pub async fn hazelcast_cluster(State(ctx): State<Ctx>) -> Json<HazelcastCluster> {
    let (host, port) = member_address(&ctx);
    let members = ctx
        .gateway()
        .request_task_managers()
        .await
        .iter()
        .enumerate()
        .map(|(i, tm)| HazelcastMember {
            address: format!("[{host}]:{port}"),
            lite_member: false,
            local_member: i == 0,
            uuid: tm.id.clone(),
            member_version: super::SEATUNNEL_API_VERSION,
        })
        .collect();
    Json(HazelcastCluster {
        members,
        connection_count: 0,
        all_connection_count: 0,
    })
}
