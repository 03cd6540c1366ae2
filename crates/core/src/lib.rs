//! Shared vocabulary of every weir crate: ids in Flink's formats, the job and execution status
//! enums with their legal transitions, and the error type that carries a root cause.
//!
//! Nothing here does I/O or knows about Arrow; it is the bottom of the crate table in
//! `ARCHITECTURE.md`, so anything may depend on it.

pub mod error;
pub mod ids;
pub mod logdir;
pub mod process;
pub mod status;
pub mod time;

pub use error::{WeirError, WeirResult};
pub use ids::{JobId, TriggerId, VertexId};
pub use status::{ExecutionState, JobStatus};
pub use time::now_ms;
