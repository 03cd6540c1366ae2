//! weir's TaskManager: the [`TaskExecutor`], which runs jobs' subtasks (from `weir-runtime`) in
//! its slots, reports every subtask state change to the JobMaster, and answers for its logs,
//! threads and hardware. It implements `TaskExecutorGateway`, so the JobMaster never sees
//! runtime types.

pub mod data_plane;
pub mod task_executor;
pub mod task_metrics;

pub use task_executor::{TaskExecutor, TaskExecutorSettings};
