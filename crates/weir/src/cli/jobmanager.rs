//! `weir jobmanager`: the JobManager alone (REST APIs, dispatcher, resource manager) with no
//! slots of its own; TaskManagers started with `weir taskmanager` register with it over gRPC.

use crate::cluster::{ClusterDirs, ClusterRole, MiniCluster, LOG_FILE};
use crate::config::ClusterConfig;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct JobManagerArgs {
    /// A Flink-style YAML configuration file (nested or flat dotted keys).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A configuration option, as key=value (repeatable), e.g. -D jobmanager.rpc.port=6123.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub dynamic: Vec<String>,
    /// Where the job archive, uploads, checkpoints and logs live.
    #[arg(long, default_value = "weir-data")]
    pub data_dir: PathBuf,
}

/// Loads the configuration and decides the directories (before logging starts).
pub fn prepare(args: &JobManagerArgs) -> Result<(ClusterConfig, ClusterDirs), String> {
    super::start::load(args.config.as_deref(), &args.dynamic, &args.data_dir)
}

pub async fn execute(config: ClusterConfig, dirs: ClusterDirs) -> i32 {
    for w in &config.warnings {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    let cluster = match MiniCluster::start_as(config, dirs, ClusterRole::JobManager).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            tracing::error!("{e}");
            return 1;
        }
    };
    let url = cluster.url();
    tracing::info!("weir JobManager started; REST API at {url}");
    println!("weir JobManager is running");
    println!("  REST API (Flink v1):  {url}/v1/overview");
    if let Some(rpc) = &cluster.rpc_address {
        println!("  TaskManagers join:    weir taskmanager --jobmanager {rpc}");
    }
    println!(
        "  logs:                 {}",
        cluster.dirs.logs.join(LOG_FILE).display()
    );
    println!("Stop with Ctrl-C, SIGTERM or `curl -X DELETE {url}/cluster`.");
    super::start::wait_for_stop(&cluster).await;
    println!("stopping...");
    cluster.stop().await;
    0
}
