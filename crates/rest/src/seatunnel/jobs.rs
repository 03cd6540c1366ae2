//! Reading jobs: `/overview`, `/running-jobs`, `/job-info/:id` (and its old name
//! `/running-job/:id`), `/finished-jobs[/:state]`.

use super::error::{StError, StResult};
use super::messages::{JobInfo, JobInfoList, OverviewInfo};
use super::{job_info, status, Ctx, SEATUNNEL_API_VERSION};
use crate::json::Json;
use axum::extract::{Path, RawQuery, State};
use std::collections::HashMap;
use weir_core::{JobId, JobStatus};
use weir_gateway::JobSnapshot;

/// A SeaTunnel job id from a path or body: Java's `Long.parseLong` rules and message.
pub fn parse_job_id(raw: &str) -> StResult<i64> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| StError::bad_request(format!("For input string: \"{raw}\"")))
}

/// The job with SeaTunnel id `id`, running or ended.
pub async fn find_job(ctx: &Ctx, id: i64) -> Option<JobSnapshot> {
    let gateway = ctx.gateway();
    if let Some(job) = JobId::from_seatunnel(id) {
        if let Ok(s) = gateway.request_job(job).await {
            return Some(s);
        }
    }
    // A 128-bit id a Flink client chose shows folded; find it among the known jobs.
    for o in gateway.request_multiple_job_details().await {
        if o.job_id.seatunnel_id() == id && o.job_id.0 >> 64 != 0 {
            return gateway.request_job(o.job_id).await.ok();
        }
    }
    None
}

/// SeaTunnel's newer `page` (from 1) and `rows` parameters; all rows when `rows` is absent.
/// Applied before jobs are rendered, so a page of a long history costs one page of work.
fn paginate<T>(items: Vec<T>, params: &HashMap<String, String>) -> StResult<Vec<T>> {
    let number = |key: &str| -> StResult<Option<usize>> {
        match params.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse::<usize>().map(Some).map_err(|_| {
                StError::bad_request(format!("'{key}' must be a positive number, got '{v}'."))
            }),
        }
    };
    let Some(rows) = number("rows")? else {
        return Ok(items);
    };
    let page = number("page")?.unwrap_or(1).max(1);
    Ok(items
        .into_iter()
        .skip((page - 1).saturating_mul(rows))
        .take(rows)
        .collect())
}

/// `GET /overview[?tag=value…]`: slots and workers of the nodes whose tags match, job counts
/// of the whole cluster.
pub async fn overview(
    State(ctx): State<Ctx>,
    RawQuery(q): RawQuery,
) -> StResult<Json<OverviewInfo>> {
    let filter = ctx.params(q.as_deref())?;
    let gateway = ctx.gateway();
    // The slots and workers of the TaskManagers whose tags match the query.
    let (mut total, mut free, mut workers) = (0, 0, 0);
    for tm in gateway.request_task_managers().await {
        if filter.iter().all(|(k, v)| tm.tags.get(k) == Some(v)) {
            total += tm.slots_total;
            free += tm.slots_free;
            workers += 1;
        }
    }
    let (mut running, mut pending, mut finished, mut failed, mut cancelled) = (0, 0, 0, 0, 0);
    for o in gateway.request_multiple_job_details().await {
        match o.status {
            JobStatus::Finished => {
                // A job stopped with a savepoint is SAVEPOINT_DONE, not FINISHED.
                let done = gateway.request_job(o.job_id).await;
                if done.is_ok_and(|s| status::of_snapshot(&s) == "FINISHED") {
                    finished += 1;
                }
            }
            JobStatus::Failed => failed += 1,
            JobStatus::Canceled => cancelled += 1,
            JobStatus::Suspended => {}
            s => {
                running += 1;
                if s == JobStatus::Initializing {
                    pending += 1;
                }
            }
        }
    }
    Ok(Json(OverviewInfo {
        project_version: SEATUNNEL_API_VERSION,
        git_commit_abbrev: option_env!("WEIR_GIT_COMMIT").unwrap_or(env!("CARGO_PKG_VERSION")),
        total_slot: total.to_string(),
        unassigned_slot: free.to_string(),
        workers: workers.to_string(),
        running_jobs: running.to_string(),
        finished_jobs: finished.to_string(),
        failed_jobs: failed.to_string(),
        cancelled_jobs: cancelled.to_string(),
        pending_jobs: pending.to_string(),
    }))
}

/// Snapshots of every job, newest first, with the metric store fetched once.
async fn all_jobs(
    ctx: &Ctx,
    keep: impl Fn(JobStatus) -> bool,
) -> (
    Vec<JobSnapshot>,
    std::sync::Arc<weir_gateway::metrics::MetricStore>,
) {
    let gateway = ctx.gateway();
    let mut out = Vec::new();
    for o in gateway.request_multiple_job_details().await {
        if keep(o.status) {
            if let Ok(s) = gateway.request_job(o.job_id).await {
                out.push(s);
            }
        }
    }
    // Newest first; ids break ties, as they are time-ordered too.
    out.sort_by_key(|s| std::cmp::Reverse((s.start_time(), s.job_id)));
    (out, gateway.request_metric_store().await)
}

/// `GET /running-jobs`: every job that has not ended (pending ones too), newest first.
pub async fn running_jobs(
    State(ctx): State<Ctx>,
    RawQuery(q): RawQuery,
) -> StResult<Json<JobInfoList>> {
    let params = ctx.params(q.as_deref())?;
    let (jobs, store) = all_jobs(&ctx, |s| !s.is_terminal()).await;
    let items = paginate(jobs, &params)?
        .iter()
        .map(|s| job_info::running_job(s, store.jobs.get(&s.job_id).map(|j| j.as_ref())))
        .collect();
    Ok(Json(JobInfoList(items)))
}

/// `GET /job-info/:id`: the job, running or ended; `{"jobId": id}` alone for an unknown id.
pub async fn job_info(State(ctx): State<Ctx>, Path(raw): Path<String>) -> StResult<Json<JobInfo>> {
    if raw.trim().is_empty() {
        return job_info_without_id().await;
    }
    let id = parse_job_id(&raw)?;
    let Some(s) = find_job(&ctx, id).await else {
        return Ok(Json(JobInfo {
            job_id: raw,
            ..Default::default()
        }));
    };
    let store = ctx.gateway().request_metric_store().await;
    Ok(Json(job_info::job_info(
        &s,
        store.jobs.get(&s.job_id).map(|j| j.as_ref()),
    )))
}

/// `GET /job-info/` with no id.
pub async fn job_info_without_id() -> StResult<Json<JobInfo>> {
    Err(StError::bad_request("The jobId must not be empty."))
}

/// `GET /finished-jobs`: every ended job, oldest end first (SeaTunnel's order, which its
/// clients index into).
pub async fn finished_jobs(
    State(ctx): State<Ctx>,
    RawQuery(q): RawQuery,
) -> StResult<Json<JobInfoList>> {
    finished(&ctx, None, q.as_deref()).await
}

/// `GET /finished-jobs/:state`: the ended jobs in one SeaTunnel state (any case).
pub async fn finished_jobs_in_state(
    State(ctx): State<Ctx>,
    Path(state): Path<String>,
    RawQuery(q): RawQuery,
) -> StResult<Json<JobInfoList>> {
    finished(&ctx, Some(state), q.as_deref()).await
}

async fn finished(
    ctx: &Ctx,
    state: Option<String>,
    query: Option<&str>,
) -> StResult<Json<JobInfoList>> {
    let params = ctx.params(query)?;
    let state = state
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty());
    if let Some(s) = &state {
        if !status::ALL.contains(&s.as_str()) {
            return Err(StError::bad_request(format!(
                "'{s}' is not a job status; use one of {}.",
                status::ALL.join(", ")
            )));
        }
    }
    let (mut jobs, store) = all_jobs(ctx, |s| s.is_terminal()).await;
    jobs.retain(|s| {
        state
            .as_deref()
            .is_none_or(|st| status::of_snapshot(s) == st)
    });
    jobs.sort_by_key(|s| (s.end_time(), s.job_id));
    let items = paginate(jobs, &params)?
        .iter()
        .map(|s| job_info::finished_job(s, store.jobs.get(&s.job_id).map(|j| j.as_ref())))
        .collect();
    Ok(Json(JobInfoList(items)))
}
