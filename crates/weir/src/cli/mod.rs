//! One module per subcommand.

pub mod client;
pub mod jobmanager;
pub mod local_run;
pub mod progress;
pub mod remote;
pub mod run;
pub mod savepoint;
pub mod start;
pub mod taskmanager;

use clap::{Parser, Subcommand};

/// weir: a job cluster for stream and batch pipelines written in SeaTunnel's job format.
#[derive(Debug, Parser)]
#[command(name = "weir", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a job file (HOCON .conf or JSON) in an embedded runtime until it ends.
    Run(run::RunArgs),
    /// Start a mini cluster: JobManager, TaskManager and the REST API in this process.
    Start(start::StartArgs),
    /// Start a JobManager (REST APIs, dispatcher) whose TaskManagers run in other processes.
    Jobmanager(jobmanager::JobManagerArgs),
    /// Start a TaskManager that registers with a JobManager and runs the subtasks it deploys.
    Taskmanager(taskmanager::TaskManagerArgs),
    /// List the jobs of a cluster.
    List(remote::ListArgs),
    /// Cancel a job on a cluster.
    Cancel(remote::JobArgs),
    /// Show a job's DAG with each vertex's status, parallelism and rows.
    Info(remote::JobArgs),
    /// Take a savepoint of a running job; prints its path.
    Savepoint(savepoint::SavepointArgs),
    /// Stop a streaming job with a savepoint; prints its path (resume with `run -s PATH`).
    Stop(savepoint::StopArgs),
}
