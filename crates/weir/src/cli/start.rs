//! `weir start`: the mini cluster in this process until Ctrl-C, SIGTERM or `DELETE /cluster`.

use crate::cluster::{ClusterDirs, MiniCluster, LOG_FILE, STDOUT_FILE};
use crate::config::ClusterConfig;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use weir_gateway::{Format, JobSubmission, RestfulGateway};

/// The streaming pipeline `--example` submits: generated orders, filtered and projected by SQL,
/// printed to the TaskManager's stdout.
pub const EXAMPLE_PIPELINE: &str = include_str!("../../../../examples/streaming_example.conf");

#[derive(Debug, Args)]
pub struct StartArgs {
    /// A Flink-style YAML configuration file (nested or flat dotted keys).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A configuration option, as key=value (repeatable), e.g. -D rest.port=8082.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub dynamic: Vec<String>,
    /// Also submit a streaming example pipeline and print where to look.
    #[arg(long)]
    pub example: bool,
    /// Where the job archive, uploads and logs live.
    #[arg(long, default_value = "weir-data")]
    pub data_dir: PathBuf,
}

/// Loads the configuration and decides the directories (before logging starts).
pub fn prepare(args: &StartArgs) -> Result<(ClusterConfig, ClusterDirs), String> {
    load(args.config.as_deref(), &args.dynamic, &args.data_dir)
}

/// The configuration (file plus `-D`) and the directories under `data_dir`, with the log
/// directory created: what every long-running role does before logging starts.
pub(crate) fn load(
    file: Option<&std::path::Path>,
    dynamic: &[String],
    data_dir: &std::path::Path,
) -> Result<(ClusterConfig, ClusterDirs), String> {
    let config = ClusterConfig::load(file, dynamic)?;
    let dirs = ClusterDirs::under(data_dir.to_path_buf(), &config);
    std::fs::create_dir_all(&dirs.logs)
        .map_err(|e| format!("cannot create log directory {}: {e}", dirs.logs.display()))?;
    Ok((config, dirs))
}

/// Sends Console rows to the process's stdout file in its log directory (served by
/// `/taskmanagers/:id/stdout`); if it cannot be opened they go to the terminal.
pub(crate) fn redirect_console(dirs: &ClusterDirs) {
    let stdout = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dirs.logs.join(STDOUT_FILE));
    match stdout {
        Ok(f) => weir_runtime::connectors::console::redirect_output(Box::new(f)),
        Err(e) => eprintln!(
            "warning: cannot open {}: {e}; Console rows go to stdout",
            STDOUT_FILE
        ),
    }
}

pub async fn execute(args: StartArgs, config: ClusterConfig, dirs: ClusterDirs) -> i32 {
    for w in &config.warnings {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    redirect_console(&dirs);
    let cluster = match MiniCluster::start(config, dirs).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            tracing::error!("{e}");
            return 1;
        }
    };
    let url = cluster.url();
    tracing::info!("weir mini cluster started; REST API at {url}");
    println!("weir mini cluster is running");
    println!("  REST API (Flink v1):  {url}/v1/overview");
    println!("  jobs:                 {url}/jobs/overview");
    if let Some(a) = cluster.seatunnel_v2 {
        println!(
            "  SeaTunnel REST v2:    {}://{a}/running-jobs",
            cluster.scheme
        );
    }
    if let Some(a) = cluster.seatunnel_v1 {
        println!(
            "  SeaTunnel REST v1:    {}://{a}/hazelcast/rest/maps/running-jobs",
            cluster.scheme
        );
    }
    println!(
        "  logs:                 {}",
        cluster.dirs.logs.join(LOG_FILE).display()
    );
    if args.example {
        let gateway: Arc<dyn RestfulGateway> = cluster.dispatcher.clone();
        let mut sub = JobSubmission::new(EXAMPLE_PIPELINE, Format::Hocon);
        sub.origin = Some("streaming_example.conf".into());
        match gateway.submit_job(sub).await {
            Ok(id) => {
                println!("  example job:          {url}/jobs/{id}");
                if let Some(a) = cluster.seatunnel_v2 {
                    println!(
                        "  (SeaTunnel's view):   {}://{a}/job-info/{}",
                        cluster.scheme,
                        id.seatunnel_id()
                    );
                }
                println!(
                    "  its printed rows:     {url}/taskmanagers  ->  /taskmanagers/<id>/stdout"
                );
            }
            Err(e) => eprintln!("error: the example job was rejected: {e}"),
        }
    }
    println!("Stop with Ctrl-C, SIGTERM or `curl -X DELETE {url}/cluster`.");
    wait_for_stop(&cluster).await;
    println!("stopping...");
    tracing::info!("stopping the mini cluster");
    cluster.stop().await;
    0
}

/// Waits for Ctrl-C, SIGTERM or `DELETE /cluster`.
pub(crate) async fn wait_for_stop(cluster: &MiniCluster) {
    tokio::select! {
        _ = stop_signal() => {}
        _ = cluster.shutdown_requested() => {}
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
