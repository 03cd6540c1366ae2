//! `weir run FILE`: validates the job, runs it here, shows progress, and exits 0 on success,
//! 1 when the job fails or is cancelled, 2 when the job file is invalid.

use super::progress::{format_progress, format_summary};
use crate::embedded::{self, LoadOptions};
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;
use weir_core::JobStatus;

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
    /// With -m: start from this savepoint or retained checkpoint (a directory with `_metadata`).
    #[arg(short = 's', long = "fromSavepoint", value_name = "PATH")]
    pub from_savepoint: Option<String>,
    /// With -s: start even if some saved state belongs to no operator of the job.
    #[arg(short = 'n', long = "allowNonRestoredState")]
    pub allow_non_restored_state: bool,
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
    if args.from_savepoint.is_some() {
        eprintln!("error: -s/--fromSavepoint restores on a cluster: add -m HOST:PORT");
        return EXIT_INVALID;
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
    let live = !args.quiet && std::io::stderr().is_terminal();
    let report = embedded::run(
        &job,
        Duration::from_millis(250),
        |cancel| {
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("\ncancelling...");
                    cancel.cancel();
                }
            });
        },
        |vertices, elapsed| {
            if live {
                let line = format_progress(vertices, elapsed);
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{line}");
                let _ = err.flush();
            }
        },
    )
    .await;
    if live {
        eprint!("\r\x1b[2K");
    }
    eprintln!("{}", format_summary(&report));
    match report.status {
        JobStatus::Finished => EXIT_OK,
        _ => {
            if let Some(e) = &report.error {
                eprintln!("error: {e}");
                if !e.causes.is_empty() {
                    eprintln!("root cause: {}", e.root_cause());
                }
            }
            EXIT_JOB_FAILED
        }
    }
}
