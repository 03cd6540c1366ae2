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
}

/// Cheap to clone into every handler.
pub type AppState = Arc<Inner>;
