//! weir's dataflow runtime.
//!
//! A prepared job ([`executor::PreparedJob`]) is deployed as one tokio task per subtask
//! ([`task::Subtask`]): a head (source reader or input channels), chained transforms, and a tail
//! (sink writer or output edges). Data moves as Arrow `RecordBatch`es with SeaTunnel row kinds
//! ([`batch::Batch`]) over channels bounded by rows ([`channel`]), so a slow sink slows its
//! sources; edges route forward, round-robin or by key group ([`partition`]). Checkpoint
//! barriers and watermarks travel on the same channels as data; barriers are aligned at
//! subtasks with several inputs and each operator's state is copied out ([`checkpoint`],
//! [`state`]). Counters per subtask
//! and per operator ([`metrics`]) are plain atomics, bumped once per batch.
//!
//! Plugins follow SeaTunnel's names and options ([`connectors`], [`transforms`]); each declares
//! its options next to its code, and the [`registry::PluginRegistry`] serves them to job
//! validation as the catalog.

pub mod batch;
pub mod blocking;
pub mod channel;
pub mod checkpoint;
pub mod connectors;
pub mod exchange;
pub mod executor;
pub mod injected_failure;
pub mod java_time;
pub mod metrics;
pub mod operator;
pub mod partition;
pub mod registry;
pub mod row_size;
pub mod state;
pub mod task;
pub mod transforms;
pub mod values;

pub use batch::{Batch, RowKind};
pub use executor::{
    ControlHandle, JobOutcome, JobState, PreparedJob, RunningJob, RuntimeConfig, TaskEvent,
};
pub use registry::PluginRegistry;
