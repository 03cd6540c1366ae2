//! `weir savepoint JOBID [DIR]` and `weir stop JOBID`: Flink's CLI commands of the same names,
//! over the REST API (`POST /jobs/:id/savepoints`, `POST /jobs/:id/stop`, then the trigger's
//! status until it completes). Both print the savepoint's path, which `weir run -s` resumes
//! from.

use super::remote::Target;
use super::run::{EXIT_JOB_FAILED, EXIT_OK};
use clap::Args;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct SavepointArgs {
    /// The job id (32 hex digits).
    pub job_id: String,
    /// Where to write the savepoint (default: the cluster's execution.checkpointing.savepoint-dir).
    pub target_directory: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// The job id (32 hex digits).
    pub job_id: String,
    /// Where to write the savepoint (default: the cluster's execution.checkpointing.savepoint-dir).
    #[arg(short = 'p', long = "savepointPath")]
    pub savepoint_path: Option<String>,
    /// Let the job drain (emit MAX_WATERMARK) before it stops.
    #[arg(short = 'd', long)]
    pub drain: bool,
    #[command(flatten)]
    pub target: Target,
}

/// How long a savepoint may take before the command gives up waiting (the operation goes on).
const WAIT: Duration = Duration::from_secs(600);

pub async fn savepoint(args: SavepointArgs) -> i32 {
    let mut body = json!({ "cancel-job": false });
    if let Some(dir) = &args.target_directory {
        body["target-directory"] = json!(dir);
    }
    println!("Triggering savepoint for job {}.", args.job_id);
    trigger_and_wait(&args.target, &args.job_id, "savepoints", body).await
}

pub async fn stop(args: StopArgs) -> i32 {
    let mut body = json!({ "drain": args.drain });
    if let Some(dir) = &args.savepoint_path {
        body["targetDirectory"] = json!(dir);
    }
    println!("Suspending job {} with a CANONICAL savepoint.", args.job_id);
    trigger_and_wait(&args.target, &args.job_id, "stop", body).await
}

async fn trigger_and_wait(target: &Target, job: &str, action: &str, body: Value) -> i32 {
    let c = match super::remote::client(target) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let trigger = match c.post_json(&format!("/jobs/{job}/{action}"), &body).await {
        Ok(v) => v["request-id"].as_str().unwrap_or_default().to_string(),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_JOB_FAILED;
        }
    };
    let started = Instant::now();
    loop {
        let status = match c.get(&format!("/jobs/{job}/savepoints/{trigger}")).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_JOB_FAILED;
            }
        };
        if status["status"]["id"] == "COMPLETED" {
            let op = &status["operation"];
            if let Some(path) = op["location"].as_str() {
                println!("Savepoint completed. Path: {path}");
                return EXIT_OK;
            }
            let cause = op["failure-cause"]["stack-trace"]
                .as_str()
                .unwrap_or("unknown failure");
            eprintln!("error: the savepoint failed: {cause}");
            return EXIT_JOB_FAILED;
        }
        if started.elapsed() > WAIT {
            eprintln!(
                "error: the savepoint did not complete within {} s; it goes on (trigger {trigger})",
                WAIT.as_secs()
            );
            return EXIT_JOB_FAILED;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
