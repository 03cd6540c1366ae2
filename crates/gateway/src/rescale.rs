//! Rescaling a running job: the per-vertex parallelism a caller asks for (Flink's
//! `JobResourceRequirements`), and the operation that applies it.

use std::collections::BTreeMap;
use weir_core::VertexId;

/// The parallelism a vertex may run with (Flink's `JobVertexResourceRequirements.Parallelism`).
/// weir runs a vertex at its upper bound; the lower bound is checked, not used for scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParallelismBounds {
    pub lower_bound: usize,
    pub upper_bound: usize,
}

/// The bounds of every vertex of a job, by vertex id.
pub type ResourceRequirements = BTreeMap<VertexId, ParallelismBounds>;

/// What a rescale changes: the new parallelism of some vertices (others keep theirs).
pub type RescalePlan = BTreeMap<VertexId, usize>;
