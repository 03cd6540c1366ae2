//! The seams between weir's roles. `rest` talks to the cluster only through
//! [`RestfulGateway`]; the JobMaster deploys work through [`TaskExecutorGateway`] and hears back
//! through [`JobMasterGateway`]. Each trait has an in-process implementation today; a gRPC one
//! can follow without either side changing.
//!
//! The snapshot types ([`snapshot`]) are what the cluster hands out: plain data, cheap to clone,
//! never a handle on live state, so a reader can never block the data path.

pub mod checkpoint;
pub mod checkpoint_storage;
pub mod error;
pub mod flame_graph;
pub mod job_check;
pub mod job_log;
pub mod live_job;
pub mod placement;
pub mod profiling;
pub mod rescale;
pub mod restful;
pub mod snapshot;
pub mod submission;
pub mod task;

pub use checkpoint::*;
pub use checkpoint_storage::{CheckpointLocation, CheckpointMetadata, RestoreFrom};
pub use error::GatewayError;
pub use flame_graph::{FlameGraphType, ThreadSample, VertexFlameGraph};
pub use job_check::{JobCheck, JobFileProblem, JobFileProblems};
pub use job_log::JobLog;
pub use live_job::LiveJob;
pub use placement::Placement;
pub use profiling::{ProfilingInfo, ProfilingMode, ProfilingService, ProfilingSettings};
pub use rescale::{ParallelismBounds, RescalePlan, ResourceRequirements};
pub use restful::RestfulGateway;
pub use snapshot::*;
pub use submission::{JobCompiler, JobSubmission, RECOVERY_PATH_KEY};
pub use task::{
    JobMasterGateway, SubtaskIo, TaskDeployment, TaskExecutorGateway, TaskManagerEndpoint,
    TaskStateUpdate,
};
/// The metrics types the REST layer reads (the store and its queries).
pub use weir_metrics as metrics;
/// The job file parser, for APIs that inspect a file before submitting it (SeaTunnel's shades).
pub use weir_pipeline as pipeline;
/// The job file formats a submission may use.
pub use weir_pipeline::Format;
