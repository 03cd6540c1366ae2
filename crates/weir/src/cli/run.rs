//! `weir run FILE`: validates the job, runs it on a mini cluster in this process (or submits it
//! to one with `-m`), shows progress, and exits 0 on success, 1 when the job fails or is
//! cancelled, 2 when the job file is invalid.

use super::local_run::{self, LocalRun};
use crate::embedded::{self, LoadOptions};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job file: `.conf`/`.hocon` (HOCON) or `.json`.
    pub file: PathBuf,
    /// Default parallelism (overrides `env.parallelism`).
    #[arg(short = 'p', long)]
    pub parallelism: Option<usize>,
    /// A variable for `${NAME}` in the job file, as NAME=VALUE (repeatable).
    #[arg(short = 'i', long = "variable", value_name = "NAME=VALUE")]
    pub variables: Vec<String>,
    /// No progress line, only the summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Submit to the cluster at HOST:PORT instead of running here.
    #[arg(short = 'm', long = "jobmanager")]
    pub jobmanager: Option<String>,
    /// With -m: return once the job is submitted instead of following it.
    #[arg(short, long)]
    pub detached: bool,
    /// Start from this savepoint or retained checkpoint (a directory with `_metadata`).
    #[arg(short = 's', long = "fromSavepoint", value_name = "PATH")]
    pub from_savepoint: Option<String>,
    /// With -s: start even if some saved state belongs to no operator of the job.
    #[arg(short = 'n', long = "allowNonRestoredState")]
    pub allow_non_restored_state: bool,
    /// Without -m: where checkpoints, savepoints and logs of the run live.
    #[arg(long, default_value = "weir-data")]
    pub data_dir: PathBuf,
    /// Without -m: a Flink-style YAML configuration file for the run's cluster.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Without -m: a configuration option, as key=value (repeatable).
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub dynamic: Vec<String>,
}

/// Where a local run's cluster logs (`None` with `-m`, or when its configuration does not
/// load: the run then reports that itself).
pub fn local_log_dir(args: &RunArgs) -> Option<PathBuf> {
    if args.jobmanager.is_some() {
        return None;
    }
    let config = crate::config::ClusterConfig::load(args.config.as_deref(), &args.dynamic).ok()?;
    let logs = crate::cluster::ClusterDirs::under(args.data_dir.clone(), &config).logs;
    std::fs::create_dir_all(&logs).ok()?;
    Some(logs)
}

/// Exit codes of `weir run`.
pub const EXIT_OK: i32 = 0;
pub const EXIT_JOB_FAILED: i32 = 1;
pub const EXIT_INVALID: i32 = 2;

pub async fn execute(args: RunArgs) -> i32 {
    let mut opts = LoadOptions {
        parallelism: args.parallelism,
        use_env: true,
        ..Default::default()
    };
    if args.parallelism == Some(0) {
        eprintln!("error: --parallelism must be at least 1");
        return EXIT_INVALID;
    }
    for pair in &args.variables {
        match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                opts.variables.insert(k.trim().to_string(), v.to_string());
            }
            _ => {
                eprintln!("error: -i expects NAME=VALUE, got '{pair}'");
                return EXIT_INVALID;
            }
        }
    }
    if let Some(jm) = &args.jobmanager {
        let target = super::remote::Target {
            jobmanager: jm.clone(),
        };
        let vars: Vec<(String, String)> = opts.variables.clone().into_iter().collect();
        let restore = super::remote::Restore {
            path: args.from_savepoint.clone(),
            allow_non_restored_state: args.allow_non_restored_state,
        };
        return super::remote::run_remote(
            &target,
            &args.file,
            args.parallelism,
            &vars,
            &restore,
            args.detached,
        )
        .await;
    }
    if args.detached {
        eprintln!("error: -d/--detached needs a cluster to detach from: add -m HOST:PORT");
        return EXIT_INVALID;
    }
    let job = match embedded::load_file(&args.file, &opts) {
        Ok(j) => j,
        Err(errors) => {
            eprint!("error: {}: {errors}", args.file.display());
            return EXIT_INVALID;
        }
    };
    for w in &job.graph.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "Running job {} '{}' ({}, {} vertices)",
        job.job_id,
        job.graph.name,
        job.graph.mode,
        job.graph.vertices.len()
    );
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read job file '{}': {e}", args.file.display());
            return EXIT_INVALID;
        }
    };
    local_run::execute(LocalRun {
        text,
        format: weir_gateway::Format::from_path(&args.file.to_string_lossy()),
        file_name: args.file.display().to_string(),
        job_id: job.job_id,
        mode: job.graph.mode,
        parallelism: args.parallelism,
        variables: opts.variables,
        restore: args.from_savepoint,
        data_dir: args.data_dir,
        config_file: args.config,
        dynamic: args.dynamic,
        live: !args.quiet && std::io::stderr().is_terminal(),
    })
    .await
}
