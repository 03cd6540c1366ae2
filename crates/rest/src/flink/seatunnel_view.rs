//! `GET /jobs/:jobid/seatunnel`, weir's addition on the Flink port: the job as SeaTunnel's
//! `/job-info/:jobId` shows it (its pipelines, plugin vertices and table paths, and the
//! per-table counts and rates), so a client of the Flink port (weir's dashboard) can show the
//! SeaTunnel view without reaching SeaTunnel's own ports, which may be off or elsewhere.

use crate::endpoint;
use crate::endpoint::Endpoint;
use crate::error::RestResult;
use crate::json::Json;
use crate::params;
use crate::seatunnel::job_info::job_info;
use crate::seatunnel::messages::JobInfo;
use crate::state::AppState;
use axum::extract::{Path, State};

pub fn endpoints() -> Vec<Endpoint> {
    vec![endpoint!(GET "/jobs/{jobid}/seatunnel", "Returns the job as SeaTunnel's job-info shows it: pipelines, vertices with their tables, per-table counts and rates (weir).", seatunnel_view)
        .returns::<JobInfo>()]
}

async fn seatunnel_view(
    State(s): State<AppState>,
    Path(job): Path<String>,
) -> RestResult<Json<JobInfo>> {
    let snapshot = s.gateway.request_job(params::job_id(&job)?).await?;
    let store = s.gateway.request_metric_store().await;
    Ok(Json(job_info(
        &snapshot,
        store.jobs.get(&snapshot.job_id).map(|j| j.as_ref()),
    )))
}
