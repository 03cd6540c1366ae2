//! Commands against a running cluster: `weir run -m` (submit and follow), `list`, `cancel`,
//! `info`.

use super::client::RestClient;
use super::progress::human;
use super::run::{EXIT_INVALID, EXIT_JOB_FAILED, EXIT_OK};
use clap::Args;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Where the cluster is.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The cluster's REST address, HOST:PORT (default 127.0.0.1:8081).
    #[arg(short = 'm', long = "jobmanager", default_value = "127.0.0.1:8081")]
    pub jobmanager: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: Target,
    /// Show all jobs, finished ones too.
    #[arg(short, long)]
    pub all: bool,
    /// Show only running jobs.
    #[arg(short, long)]
    pub running: bool,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job id (32 hex digits).
    pub job_id: String,
    #[command(flatten)]
    pub target: Target,
}

/// A client of the target cluster, or the exit code of a bad address (already reported).
pub(super) fn client(target: &Target) -> Result<RestClient, i32> {
    RestClient::new(&target.jobmanager).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INVALID
    })
}

/// What a submitted job starts from (`weir run -s PATH [-n]`).
#[derive(Debug, Default)]
pub struct Restore {
    pub path: Option<String>,
    pub allow_non_restored_state: bool,
}

/// Submits `file` to the cluster and, unless `detached`, follows it to its end.
pub async fn run_remote(
    target: &Target,
    file: &Path,
    parallelism: Option<usize>,
    variables: &[(String, String)],
    restore: &Restore,
    detached: bool,
) -> i32 {
    let c = match client(target) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read job file '{}': {e}", file.display());
            return EXIT_INVALID;
        }
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "job.conf".into());
    let jar = match c.upload(&name, text).await {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let mut body = json!({
        "programArgsList": variables.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
    });
    if let Some(p) = parallelism {
        body["parallelism"] = json!(p);
    }
    if let Some(path) = &restore.path {
        body["savepointPath"] = json!(path);
        body["allowNonRestoredState"] = json!(restore.allow_non_restored_state);
    }
    let submitted = c.post_json(&format!("/jars/{jar}/run"), &body).await;
    let _ = c.delete(&format!("/jars/{jar}")).await;
    let job = match submitted {
        Ok(v) => v["jobid"].as_str().unwrap_or_default().to_string(),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    println!("Job has been submitted with JobID {job}");
    if detached {
        return EXIT_OK;
    }
    follow(&c, &job).await
}

async fn follow(c: &RestClient, job: &str) -> i32 {
    let live = std::io::stderr().is_terminal();
    let started = Instant::now();
    loop {
        let details = match c.get(&format!("/jobs/{job}")).await {
            Ok(d) => d,
            Err(e) => {
                eprintln!("\nerror: {e}");
                return EXIT_JOB_FAILED;
            }
        };
        let state = details["state"].as_str().unwrap_or("UNKNOWN").to_string();
        if live {
            let line = progress_line(&details, started.elapsed());
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        }
        if matches!(state.as_str(), "FINISHED" | "FAILED" | "CANCELED") {
            if live {
                eprint!("\r\x1b[2K");
            }
            eprintln!("{}", dag(&details));
            eprintln!(
                "Job {job} {state} in {:.3}s",
                details["duration"].as_i64().unwrap_or(0) as f64 / 1000.0
            );
            if state == "FINISHED" {
                return EXIT_OK;
            }
            if let Ok(ex) = c.get(&format!("/jobs/{job}/exceptions")).await {
                if let Some(e) = ex["exceptionHistory"]["entries"].get(0) {
                    eprintln!("error: {}", e["stacktrace"].as_str().unwrap_or(""));
                }
            }
            return EXIT_JOB_FAILED;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn progress_line(details: &Value, elapsed: Duration) -> String {
    let parts: Vec<String> = details["vertices"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .enumerate()
                .map(|(i, v)| {
                    format!(
                        "v{}: in {} out {}",
                        i + 1,
                        human(v["metrics"]["read-records"].as_f64().unwrap_or(0.0)),
                        human(v["metrics"]["write-records"].as_f64().unwrap_or(0.0))
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "[{:>6.1}s] {} | {}",
        elapsed.as_secs_f64(),
        details["state"].as_str().unwrap_or(""),
        parts.join(" | ")
    )
}

/// The job's DAG: each vertex with its status, parallelism and rows, and its inputs.
pub fn dag(details: &Value) -> String {
    let mut out = format!(
        "{} '{}' ({})\n",
        details["jid"].as_str().unwrap_or(""),
        details["name"].as_str().unwrap_or(""),
        details["state"].as_str().unwrap_or("")
    );
    let empty = Vec::new();
    let nodes = details["plan"]["nodes"].as_array().unwrap_or(&empty);
    let vertices = details["vertices"].as_array().unwrap_or(&empty);
    for (i, v) in vertices.iter().enumerate() {
        let id = v["id"].as_str().unwrap_or("");
        let inputs: Vec<String> = nodes
            .iter()
            .find(|n| n["id"] == id)
            .and_then(|n| n["inputs"].as_array())
            .map(|ins| {
                ins.iter()
                    .map(|inp| {
                        let from = vertices
                            .iter()
                            .position(|x| x["id"] == inp["id"])
                            .map(|p| p + 1)
                            .unwrap_or(0);
                        format!("v{from} ({})", inp["ship_strategy"].as_str().unwrap_or(""))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "  v{} {} [{}] parallelism {}: rows in {}, rows out {}{}\n",
            i + 1,
            v["name"].as_str().unwrap_or(""),
            v["status"].as_str().unwrap_or(""),
            v["parallelism"],
            v["metrics"]["read-records"],
            v["metrics"]["write-records"],
            if inputs.is_empty() {
                String::new()
            } else {
                format!(" <- {}", inputs.join(", "))
            }
        ));
    }
    out.trim_end().to_string()
}

fn ms_to_local(ms: i64) -> String {
    chrono_like(ms)
}

/// `dd.MM.yyyy HH:mm:ss` in UTC, as the Flink CLI prints job times.
fn chrono_like(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{d:02}.{m:02}.{y} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub async fn list(args: ListArgs) -> i32 {
    let c = match client(&args.target) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let overview = match c.get("/jobs/overview").await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_JOB_FAILED;
        }
    };
    let empty = Vec::new();
    let jobs = overview["jobs"].as_array().unwrap_or(&empty);
    let line = |j: &Value| {
        format!(
            "{} : {} : {} ({})",
            ms_to_local(j["start-time"].as_i64().unwrap_or(0)),
            j["jid"].as_str().unwrap_or(""),
            j["name"].as_str().unwrap_or(""),
            j["state"].as_str().unwrap_or("")
        )
    };
    let terminal = |j: &Value| {
        matches!(
            j["state"].as_str(),
            Some("FINISHED" | "FAILED" | "CANCELED")
        )
    };
    let running: Vec<&Value> = jobs.iter().filter(|j| !terminal(j)).collect();
    if running.is_empty() {
        println!("No running jobs.");
    } else {
        println!("------------------ Running/Restarting Jobs -------------------");
        running.iter().for_each(|j| println!("{}", line(j)));
        println!("--------------------------------------------------------------");
    }
    if args.all && !args.running {
        let done: Vec<&Value> = jobs.iter().filter(|j| terminal(j)).collect();
        if done.is_empty() {
            println!("No terminated jobs.");
        } else {
            println!("---------------------- Terminated Jobs -----------------------");
            done.iter().for_each(|j| println!("{}", line(j)));
            println!("--------------------------------------------------------------");
        }
    }
    EXIT_OK
}

pub async fn cancel(args: JobArgs) -> i32 {
    let c = match client(&args.target) {
        Ok(c) => c,
        Err(code) => return code,
    };
    println!("Cancelling job {}.", args.job_id);
    match c.patch(&format!("/jobs/{}?mode=cancel", args.job_id)).await {
        Ok(_) => {
            println!("Cancelled job {}.", args.job_id);
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_JOB_FAILED
        }
    }
}

pub async fn info(args: JobArgs) -> i32 {
    let c = match client(&args.target) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match c.get(&format!("/jobs/{}", args.job_id)).await {
        Ok(d) => {
            println!("{}", dag(&d));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_JOB_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_like_the_flink_cli() {
        assert_eq!(chrono_like(0), "01.01.1970 00:00:00");
        assert_eq!(chrono_like(1_795_268_558_345), "21.11.2026 13:42:38");
    }
}
