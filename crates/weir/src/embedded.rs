//! Runs a job file in this process: load, validate, prepare, deploy, wait.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};
use weir_core::{JobId, JobStatus, WeirError};
use weir_pipeline::{parse_job, ConfigErrors, Format, JobGraph, Problem, Variables};
use weir_runtime::executor::CancelHandle;
use weir_runtime::metrics::{IoSnapshot, JobMetrics};
use weir_runtime::{PreparedJob, RuntimeConfig};

/// How to load a job.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Overrides `env.parallelism` (`-p`).
    pub parallelism: Option<usize>,
    /// `-i key=value` variables.
    pub variables: HashMap<String, String>,
    /// Consult the process environment for `${VAR}` after `variables`.
    pub use_env: bool,
}

/// Reads and validates a job file, preparing every operator.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<PreparedJob, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![Problem::new(
            weir_pipeline::Location::file(None),
            format!("cannot read job file '{}': {e}", path.display()),
        )])
    })?;
    load_text(&text, Format::from_path(&path.to_string_lossy()), opts)
}

/// Validates job text and prepares every operator.
pub fn load_text(
    text: &str,
    format: Format,
    opts: &LoadOptions,
) -> Result<PreparedJob, ConfigErrors> {
    let vars = Variables {
        values: opts.variables.clone(),
        use_env: opts.use_env,
        allowed_env: Vec::new(),
    };
    let mut config = parse_job(text, format, &vars)?;
    if let Some(p) = opts.parallelism {
        if p > weir_pipeline::config::MAX_PARALLELISM {
            return Err(ConfigErrors(vec![Problem::new(
                weir_pipeline::Location::file(None),
                format!(
                    "parallelism {p} is above the maximum of {}",
                    weir_pipeline::config::MAX_PARALLELISM
                ),
            )]));
        }
        config.env.parallelism = p.max(1);
    }
    let registry = crate::plugins::registry();
    let graph = JobGraph::build(config, &registry)?;
    PreparedJob::prepare(JobId::random(), graph, &registry, RuntimeConfig::default())
}

/// Rows through one vertex.
#[derive(Debug, Clone)]
pub struct VertexReport {
    pub name: String,
    pub parallelism: usize,
    pub io: IoSnapshot,
    /// Each chained operator's name and I/O, head first.
    pub operators: Vec<(String, IoSnapshot)>,
    /// Rows the vertex's sink wrote, when its chain ends in a sink.
    pub written: Option<u64>,
}

impl VertexReport {
    /// Rows that left this vertex: to other subtasks, or written by its sink.
    pub fn rows_out(&self) -> u64 {
        self.io.records_out + self.written.unwrap_or(0)
    }
}

/// How a job run went.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub job_id: JobId,
    pub status: JobStatus,
    pub error: Option<WeirError>,
    pub vertices: Vec<VertexReport>,
    pub elapsed: Duration,
}

/// Per-vertex rows of a running or finished job.
pub fn vertex_reports(job: &PreparedJob, metrics: &JobMetrics) -> Vec<VertexReport> {
    job.graph
        .vertices
        .iter()
        .map(|v| VertexReport {
            name: v.name.clone(),
            parallelism: v.parallelism,
            io: metrics.vertex_io(v.index),
            written: v
                .chain
                .last()
                .filter(|&&op| {
                    job.graph.operators[op].plugin.kind == weir_pipeline::PluginKind::Sink
                })
                .map(|_| metrics.operator_io(v.index, v.chain.len() - 1).records_in),
            operators: v
                .chain
                .iter()
                .enumerate()
                .map(|(pos, &op)| {
                    (
                        job.graph.operators[op].display_name(),
                        metrics.operator_io(v.index, pos),
                    )
                })
                .collect(),
        })
        .collect()
}

/// Deploys `job`, calls `on_tick` every `tick` while it runs, and reports how it ended.
/// `on_start` receives a handle that cancels the job.
pub async fn run(
    job: &PreparedJob,
    tick: Duration,
    on_start: impl FnOnce(CancelHandle),
    mut on_tick: impl FnMut(&[VertexReport], Duration),
) -> JobReport {
    let started = Instant::now();
    let running = match job.start_fresh().await.and_then(|()| job.deploy(0, None)) {
        Ok(r) => r,
        Err(e) => {
            return JobReport {
                job_id: job.job_id,
                status: JobStatus::Failed,
                error: Some(e),
                vertices: Vec::new(),
                elapsed: started.elapsed(),
            }
        }
    };
    on_start(running.cancel_handle());
    let metrics = running.metrics.clone();
    let wait = running.wait();
    tokio::pin!(wait);
    let mut ticker = tokio::time::interval(tick);
    ticker.tick().await;
    let outcome = loop {
        tokio::select! {
            o = &mut wait => break o,
            _ = ticker.tick() => on_tick(&vertex_reports(job, &metrics), started.elapsed()),
        }
    };
    // No restarts here: the job's end is final.
    job.end(outcome.status).await;
    JobReport {
        job_id: job.job_id,
        status: outcome.status,
        error: outcome.error,
        vertices: vertex_reports(job, &metrics),
        elapsed: started.elapsed(),
    }
}
