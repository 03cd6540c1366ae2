//! What every handler can reach: the gateway and the settings.

use crate::settings::RestSettings;
use std::sync::Arc;
use weir_gateway::RestfulGateway;

/// Shared handler state.
pub struct Inner {
    pub gateway: Arc<dyn RestfulGateway>,
    pub settings: RestSettings,
    /// Serialized overview lines of finished jobs.
    pub finished_lines: crate::cache::FinishedLines,
    /// The rendered `/checkpoints` answer of each job's current statistics.
    pub checkpoint_stats: crate::cache::RenderedStats<weir_gateway::CheckpointStatsSnapshot>,
    /// The fixed part of each job's `/jobs/:id`, per published snapshot.
    pub job_details: crate::cache::RenderedStats<
        weir_gateway::JobSnapshot,
        Arc<crate::flink::job_details_render::JobDetailsTemplate>,
    >,
}

/// Cheap to clone into every handler.
pub type AppState = Arc<Inner>;
