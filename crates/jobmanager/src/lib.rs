//! weir's JobManager.
//!
//! The [`dispatcher::Dispatcher`] accepts jobs (validated by a `JobCompiler`), starts one
//! [`job_master::JobMaster`] per job, and keeps finished jobs in the [`archive::JobArchive`].
//! Each JobMaster owns its [`execution_graph::ExecutionGraph`] (pure bookkeeping of job, vertex,
//! subtask and attempt states), gets slots from the [`resource_manager::ResourceManager`] and
//! deploys through the `TaskExecutorGateway`. The Dispatcher is the cluster's `RestfulGateway`
//! and the TaskExecutors' `JobMasterGateway`. Its [`metric_fetcher::MetricFetcher`] keeps the
//! MetricStore the metrics endpoints read.

pub mod archive;
pub mod checkpoint_coordinator;
pub mod dispatcher;
pub mod execution_graph;
pub mod job_master;
pub mod job_metrics;
pub mod job_settings;
pub mod job_store;
pub mod metric_fetcher;
pub mod operations;
pub mod resource_manager;
pub mod restart_strategy;

pub use dispatcher::{Dispatcher, DispatcherSettings, FlameGraphSettings};
