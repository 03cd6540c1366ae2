//! `weir taskmanager --jobmanager HOST:PORT`: a TaskManager process. It offers
//! `taskmanager.numberOfTaskSlots` slots to the JobManager, runs the subtasks deployed to it,
//! and answers the JobManager's calls (metrics, logs, thread dumps, checkpoints) over gRPC.

use crate::cluster::{ClusterDirs, LOG_FILE};
use crate::config::ClusterConfig;
use crate::distributed::TaskManagerProcess;
use clap::Args;
use std::path::PathBuf;
use weir_gateway::TaskExecutorGateway;

#[derive(Debug, Args)]
pub struct TaskManagerArgs {
    /// The JobManager's RPC address (default: jobmanager.rpc.address:jobmanager.rpc.port).
    #[arg(long, value_name = "HOST:PORT")]
    pub jobmanager: Option<String>,
    /// A Flink-style YAML configuration file (nested or flat dotted keys).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A configuration option, as key=value (repeatable), e.g. -D taskmanager.numberOfTaskSlots=8.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub dynamic: Vec<String>,
    /// Where this TaskManager's logs and stdout go.
    #[arg(long, default_value = "weir-data/taskmanager")]
    pub data_dir: PathBuf,
}

/// Loads the configuration and decides the directories (before logging starts).
pub fn prepare(args: &TaskManagerArgs) -> Result<(ClusterConfig, ClusterDirs), String> {
    super::start::load(args.config.as_deref(), &args.dynamic, &args.data_dir)
}

pub async fn execute(args: TaskManagerArgs, config: ClusterConfig, dirs: ClusterDirs) -> i32 {
    for w in &config.warnings {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    let jobmanager = args.jobmanager.unwrap_or_else(|| {
        format!(
            "{}:{}",
            config.get("jobmanager.rpc.address"),
            config.get("jobmanager.rpc.port")
        )
    });
    super::start::redirect_console(&dirs);
    let mut tm = match TaskManagerProcess::start(&config, &dirs, &jobmanager).await {
        Ok(tm) => tm,
        Err(e) => {
            eprintln!("error: {e}");
            tracing::error!("{e}");
            return 1;
        }
    };
    let id = tm.executor.endpoint().resource_id.clone();
    println!("weir TaskManager {id} is running");
    println!("  serving on:           {}", tm.rpc_address);
    println!("  JobManager:           {jobmanager}");
    println!(
        "  logs:                 {}",
        dirs.logs.join(LOG_FILE).display()
    );
    let code = tokio::select! {
        _ = super::start::stop_signal() => 0,
        why = tm.refused() => {
            eprintln!("error: the JobManager at {jobmanager} refused this TaskManager: {why}");
            tracing::error!("the JobManager at {jobmanager} refused this TaskManager: {why}");
            1
        }
    };
    tm.stop().await;
    code
}
