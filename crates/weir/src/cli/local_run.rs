//! `weir run FILE` without `-m`: the job runs on a mini cluster inside this process, so it gets
//! exactly what a cluster gives it (checkpoints on `checkpoint.interval`, two-phase commits,
//! the restart strategy, savepoints, `-s` restores) and the command keeps `weir run`'s live
//! progress line and summary.
//!
//! Ctrl-C (or SIGTERM) stops a streaming job with a savepoint, so every row read so far is
//! committed, and prints the path to resume from; a second Ctrl-C, or a batch job, cancels.
//! While the job runs, the cluster's REST API answers on a free local port (Flink's CLI and
//! dashboard work against it).

use super::progress::{format_progress, format_summary};
use super::run::{EXIT_JOB_FAILED, EXIT_OK};
use crate::cluster::{ClusterDirs, MiniCluster};
use crate::config::ClusterConfig;
use crate::embedded::{JobReport, VertexReport};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::{JobId, JobStatus, WeirError};
use weir_gateway::{
    Format, JobSnapshot, JobSubmission, OperationKind, OperationState, RestfulGateway,
    SavepointFormat, SavepointRequest,
};
use weir_pipeline::JobMode;
use weir_runtime::metrics::IoSnapshot;

/// What `weir run` hands to the local cluster.
pub struct LocalRun {
    pub text: String,
    pub format: Format,
    pub file_name: String,
    pub job_id: JobId,
    pub mode: JobMode,
    pub parallelism: Option<usize>,
    pub variables: HashMap<String, String>,
    /// `-s`: a savepoint or retained checkpoint to start from.
    pub restore: Option<String>,
    /// `--data-dir`: checkpoints, savepoints and logs.
    pub data_dir: PathBuf,
    /// `--config` and `-D`: the cluster's configuration.
    pub config_file: Option<PathBuf>,
    pub dynamic: Vec<String>,
    pub live: bool,
}

/// The local cluster's configuration: the user's, with what a one-job cluster in a command
/// needs unless the user said otherwise.
fn local_config(run: &LocalRun) -> Result<ClusterConfig, String> {
    let mut config = ClusterConfig::load(run.config_file.as_deref(), &run.dynamic)?;
    // A free port each time: several `weir run`s (and a `weir start`) side by side.
    config.set_default("rest.port", "0");
    config.set_default("seatunnel.engine.http.enable-http", "false");
    config.set_default("seatunnel.engine.rest-v1.enabled", "false");
    config.set_default("metrics.reporters", "");
    config.set_default(
        "execution.checkpointing.savepoint-dir",
        run.data_dir.join("savepoints").display().to_string(),
    );
    // The job file is the user's own, run in the user's own process: it may read the
    // environment, as `weir run` always let it (a cluster allows no variable by default).
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| !k.contains(','))
        .collect();
    config.set_default("weir.job-file.env-allowlist", names.join(","));
    // Nor does it need a sandbox: it reads and writes what its user may, as the user.
    config.set_default(crate::sandbox_config::ALLOWED_PATHS, "*");
    config.set_default(crate::sandbox_config::ALLOWED_ENDPOINTS, "*");
    Ok(config)
}

/// Runs the job on a local mini cluster to its end; the exit code of `weir run`.
pub async fn execute(run: LocalRun) -> i32 {
    let config = match local_config(&run) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return super::run::EXIT_INVALID;
        }
    };
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
    // The archive is the cluster's memory of finished jobs: a one-job cluster keeps it only for
    // its own life, and a `weir start` on the same data directory keeps its own.
    let scratch = run.data_dir.join("runs").join(run.job_id.to_string());
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        eprintln!("error: cannot create {}: {e}", scratch.display());
        return EXIT_JOB_FAILED;
    }
    let mut dirs = ClusterDirs::under(run.data_dir.clone(), &config);
    dirs.archive = scratch.join("job-archive.redb");
    let code = match MiniCluster::start(config, dirs).await {
        Ok(cluster) => {
            let code = follow(&run, &cluster).await;
            cluster.stop().await;
            code
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_JOB_FAILED
        }
    };
    let _ = std::fs::remove_dir_all(&scratch);
    // Only when no other run is using it.
    let _ = std::fs::remove_dir(run.data_dir.join("runs"));
    code
}

async fn follow(run: &LocalRun, cluster: &MiniCluster) -> i32 {
    let gateway: Arc<dyn RestfulGateway> = cluster.dispatcher.clone();
    let started = Instant::now();
    let mut submission = JobSubmission::new(run.text.clone(), run.format);
    submission.parallelism = run.parallelism;
    submission.variables = run.variables.clone();
    submission.job_id = Some(run.job_id);
    submission.origin = Some(run.file_name.clone());
    if let Some(path) = &run.restore {
        submission
            .config
            .insert(weir_gateway::RECOVERY_PATH_KEY.into(), path.clone());
    }
    let job = match gateway.submit_job(submission).await {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_JOB_FAILED;
        }
    };
    eprintln!(
        "REST API at {} while the job runs (weir savepoint {job} -m {})",
        cluster.url(),
        cluster.address
    );
    let mut stop = StopRequests::new();
    // The job's state is read often (in process, it costs microseconds) so the command ends
    // as soon as the job does; the progress line is redrawn every 250 ms.
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let mut polls: u64 = 0;
    let mut stopping: Option<weir_core::TriggerId> = None;
    let snapshot = loop {
        tokio::select! {
            _ = ticker.tick() => {}
            n = stop.next() => {
                match (n, run.mode, stopping) {
                    (1, JobMode::Streaming, None) => {
                        clear_line(run.live);
                        eprintln!("stopping with a savepoint (Ctrl-C again to cancel)...");
                        stopping = stop_with_savepoint(gateway.as_ref(), job).await;
                        if stopping.is_none() {
                            let _ = gateway.cancel_job(job).await;
                        }
                    }
                    _ => {
                        clear_line(run.live);
                        eprintln!("cancelling...");
                        let _ = gateway.cancel_job(job).await;
                    }
                }
            }
        }
        let snapshot = match gateway.request_job(job).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("\nerror: {e}");
                return EXIT_JOB_FAILED;
            }
        };
        if snapshot.status.is_terminal() {
            break snapshot;
        }
        polls += 1;
        if run.live && polls % 12 == 1 {
            let line = format_progress(&vertex_reports(&snapshot), started.elapsed());
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        }
    };
    clear_line(run.live);
    if let Some(trigger) = stopping {
        report_savepoint(gateway.as_ref(), job, trigger, &run.file_name).await;
    }
    let report = JobReport {
        job_id: job,
        status: snapshot.status,
        error: snapshot
            .exceptions
            .first()
            .map(|e| WeirError::new(e.stacktrace.clone())),
        vertices: vertex_reports(&snapshot),
        // The job's own run, as the cluster timed it (not the command's start-up and polling).
        elapsed: Duration::from_millis(snapshot.duration(weir_core::now_ms()).max(0) as u64),
    };
    eprintln!("{}", format_summary(&report));
    match (report.status, stopping) {
        (JobStatus::Finished, _) => EXIT_OK,
        _ => {
            if let Some(e) = &report.error {
                eprintln!("error: {e}");
            }
            EXIT_JOB_FAILED
        }
    }
}

fn clear_line(live: bool) {
    if live {
        eprint!("\r\x1b[2K");
    }
}

/// Stop with a savepoint into the cluster's savepoint directory; `None` if it cannot start.
async fn stop_with_savepoint(
    gateway: &dyn RestfulGateway,
    job: JobId,
) -> Option<weir_core::TriggerId> {
    let request = SavepointRequest {
        target_directory: None,
        format: SavepointFormat::Canonical,
        cancel_job: false,
        stop: true,
        trigger_id: None,
    };
    match gateway.trigger_savepoint(job, request).await {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("error: the job cannot stop with a savepoint ({e}); cancelling it");
            None
        }
    }
}

/// Prints where the stop's savepoint is and how to resume from it.
async fn report_savepoint(
    gateway: &dyn RestfulGateway,
    job: JobId,
    trigger: weir_core::TriggerId,
    file: &str,
) {
    // The job's end and its savepoint's result are published apart: ask until the
    // operation settles, as Flink's CLI polls a trigger, within a bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let state = loop {
        let state = gateway
            .request_operation(job, OperationKind::Savepoint, trigger)
            .await;
        match state {
            Ok(OperationState::InProgress) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => break other,
        }
    };
    match state {
        Ok(OperationState::Done(Ok((_, path)))) => {
            eprintln!("Savepoint completed. Path: {path}");
            eprintln!("Resume with: weir run -s {path} {file}");
        }
        Ok(OperationState::Done(Err(why))) => eprintln!("error: the savepoint failed: {why}"),
        Ok(OperationState::InProgress) => {
            eprintln!("error: the job ended before its savepoint completed")
        }
        Err(e) => eprintln!("error: {e}"),
    }
}

/// Per-vertex rows as `weir run` shows them, from the cluster's view of the job.
fn vertex_reports(snapshot: &JobSnapshot) -> Vec<VertexReport> {
    snapshot
        .vertices
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let io = v.io();
            let ends_in_sink = snapshot
                .operators
                .iter()
                .any(|o| o.vertex == index && o.kind == "sink");
            VertexReport {
                name: v.name.clone(),
                parallelism: v.parallelism,
                io: IoSnapshot {
                    records_in: io.read_records,
                    records_out: io.write_records,
                    bytes_in: io.read_bytes,
                    bytes_out: io.write_bytes,
                },
                operators: v
                    .operators
                    .iter()
                    .zip(v.operator_io())
                    .map(|(name, o)| {
                        (
                            name.clone(),
                            IoSnapshot {
                                records_in: o.records_in,
                                records_out: o.records_out,
                                bytes_in: o.bytes_in,
                                bytes_out: o.bytes_out,
                            },
                        )
                    })
                    .collect(),
                written: ends_in_sink.then_some(io.sink_written_records),
            }
        })
        .collect()
}

/// Counts Ctrl-C and SIGTERM: the first asks for a graceful stop, the next for a cancel. The
/// signal streams are registered once, up front, so a signal that arrives while the command is
/// busy elsewhere waits for it instead of being lost.
struct StopRequests {
    count: usize,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl StopRequests {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Self {
                count: 0,
                interrupt: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self { count: 0 }
    }

    /// Waits for the next request; how many there have been.
    async fn next(&mut self) -> usize {
        #[cfg(unix)]
        {
            async fn on(s: &mut Option<tokio::signal::unix::Signal>) {
                match s.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = on(&mut self.interrupt) => {}
                _ = on(&mut self.term) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        self.count += 1;
        self.count
    }
}
