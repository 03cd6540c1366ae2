//! The job objects of SeaTunnel's answers (`/running-jobs`, `/job-info/:id`,
//! `/finished-jobs`): every scalar a string, times as `yyyy-MM-dd HH:mm:ss` in the server's
//! zone, `finishTime` (not the docs' `finishedTime`), `errorMsg` null when there was no error.

use super::dag::job_dag;
use super::job_metrics::job_metrics;
use super::status;
use serde_json::{json, Map, Value};
use weir_core::JobStatus;
use weir_gateway::metrics::store::JobMetricStore;
use weir_gateway::{JobSnapshot, RECOVERY_PATH_KEY};

/// SeaTunnel's time format, in the server's local zone; "" for a time that never came.
pub fn format_time(epoch_ms: i64) -> String {
    if epoch_ms <= 0 {
        return String::new();
    }
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// The job's `env` block, values as strings (weir keeps it in the job config as `env.<key>`).
pub fn env_options(s: &JobSnapshot) -> Map<String, Value> {
    s.config
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("env.")?.to_string(),
                Value::String(v.clone()),
            ))
        })
        .collect()
}

/// Whether the job started from a savepoint or checkpoint.
pub fn started_with_savepoint(s: &JobSnapshot) -> bool {
    s.config
        .get(RECOVERY_PATH_KEY)
        .is_some_and(|p| !p.trim().is_empty())
}

/// A job as `/running-jobs` and `/job-info` show a job that has not ended.
pub fn running_job(s: &JobSnapshot, metrics: Option<&JobMetricStore>) -> Value {
    let id = s.job_id.seatunnel_id();
    let env = env_options(s);
    json!({
        "jobId": id.to_string(),
        "jobName": s.name,
        "jobStatus": status::of_snapshot(s),
        "envOptions": env,
        "createTime": format_time(s.start_time()),
        "jobDag": job_dag(id, &env, &s.operators),
        "pluginJarsUrls": [],
        "isStartWithSavePoint": started_with_savepoint(s),
        "metrics": job_metrics(metrics),
        "startTime": format_time(s.entered_at(JobStatus::Created)),
    })
}

/// A job as `/finished-jobs` and `/job-info` show an ended one.
pub fn finished_job(s: &JobSnapshot, metrics: Option<&JobMetricStore>) -> Value {
    let id = s.job_id.seatunnel_id();
    let env = env_options(s);
    let error = match s.status {
        JobStatus::Failed => s
            .exceptions
            .first()
            .map(|e| Value::String(e.stacktrace.clone()))
            .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    json!({
        "jobId": id.to_string(),
        "jobName": s.name,
        "jobStatus": status::of_snapshot(s),
        "errorMsg": error,
        "createTime": format_time(s.start_time()),
        "finishTime": format_time(s.end_time()),
        "jobDag": job_dag(id, &env, &s.operators),
        "pluginJarsUrls": [],
        "metrics": job_metrics(metrics),
    })
}

/// Whichever of the two fits the job.
pub fn job_info(s: &JobSnapshot, metrics: Option<&JobMetricStore>) -> Value {
    if s.status.is_terminal() {
        finished_job(s, metrics)
    } else {
        running_job(s, metrics)
    }
}
