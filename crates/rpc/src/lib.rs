//! weir's control plane between processes: a JobManager and its TaskManagers talk over gRPC
//! (tonic; `proto/weir.proto`, compiled by protox at build time).
//!
//! Each side keeps the gateway trait it already has. On the JobManager, a registered
//! TaskManager is a [`RemoteTaskExecutor`], a `TaskExecutorGateway` whose calls go over the
//! network; on the TaskManager, the JobManager is a [`RemoteJobMaster`], a `JobMasterGateway`.
//! The servers ([`serve_task_manager`], [`JobManagerService`]) put the local gateways behind
//! the services. Neither the JobMaster nor the TaskExecutor knows whether the other is in
//! this process or on another machine.

mod codec;
mod job_manager;
mod task_manager;

pub use job_manager::{
    register_with, JobManagerService, RegistrationRefused, RemoteJobMaster, TaskManagerOffer,
    TaskManagerRegistry,
};
pub use task_manager::{serve_task_manager, RemoteTaskExecutor};

/// The generated protobuf types and service stubs.
pub mod proto {
    tonic::include_proto!("weir.rpc.v1");
}

/// The version of this protocol. A JobManager refuses a TaskManager that speaks another one,
/// saying which versions met.
pub const PROTOCOL_VERSION: u32 = 2;

/// The weir release this binary is.
pub const WEIR_VERSION: &str = env!("CARGO_PKG_VERSION");
