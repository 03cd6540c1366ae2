//! The job objects of SeaTunnel's answers (`/running-jobs`, `/job-info/:id`,
//! `/finished-jobs`): every scalar a string, times as `yyyy-MM-dd HH:mm:ss` in the server's
//! zone, `finishTime` (not the docs' `finishedTime`), `errorMsg` null when there was no error.

use super::dag::job_dag;
use super::job_metrics::job_metrics;
use super::messages::JobInfo;
use super::status;
use std::collections::BTreeMap;
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
pub fn env_options(s: &JobSnapshot) -> BTreeMap<String, String> {
    s.config
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("env.")?.to_string(), v.clone())))
        .collect()
}

/// Whether the job started from a savepoint or checkpoint.
pub fn started_with_savepoint(s: &JobSnapshot) -> bool {
    s.config
        .get(RECOVERY_PATH_KEY)
        .is_some_and(|p| !p.trim().is_empty())
}

/// A job as `/running-jobs` and `/job-info` show a job that has not ended.
pub fn running_job(s: &JobSnapshot, metrics: Option<&JobMetricStore>) -> JobInfo {
    let id = s.job_id.seatunnel_id();
    let env = env_options(s);
    JobInfo {
        job_id: id.to_string(),
        job_name: Some(s.name.clone()),
        job_status: Some(status::of_snapshot(s)),
        create_time: Some(format_time(s.start_time())),
        job_dag: Some(job_dag(id, &env, &s.operators)),
        env_options: Some(env),
        plugin_jars_urls: Some(Vec::new()),
        is_start_with_save_point: Some(started_with_savepoint(s)),
        metrics: Some(job_metrics(metrics)),
        start_time: Some(format_time(s.entered_at(JobStatus::Created))),
        ..Default::default()
    }
}

/// A job as `/finished-jobs` and `/job-info` show an ended one.
pub fn finished_job(s: &JobSnapshot, metrics: Option<&JobMetricStore>) -> JobInfo {
    let id = s.job_id.seatunnel_id();
    let env = env_options(s);
    let error = match s.status {
        JobStatus::Failed => s.exceptions.first().map(|e| e.stacktrace.clone()),
        _ => None,
    };
    JobInfo {
        job_id: id.to_string(),
        job_name: Some(s.name.clone()),
        job_status: Some(status::of_snapshot(s)),
        error_msg: Some(error),
        create_time: Some(format_time(s.start_time())),
        finish_time: Some(format_time(s.end_time())),
        job_dag: Some(job_dag(id, &env, &s.operators)),
        plugin_jars_urls: Some(Vec::new()),
        metrics: Some(job_metrics(metrics)),
        ..Default::default()
    }
}

/// Whichever of the two fits the job.
pub fn job_info(s: &JobSnapshot, metrics: Option<&JobMetricStore>) -> JobInfo {
    if s.status.is_terminal() {
        finished_job(s, metrics)
    } else {
        running_job(s, metrics)
    }
}
