//! Flink's REST API v1, one file per endpoint family. Shapes follow
//! `shared/reference/flink/rest_api_v1.snapshot` and the captured Flink 2.3.0 responses.

pub mod applications;
pub mod body;
pub mod checkpoint_messages;
pub mod checkpoints;
pub mod cluster;
pub mod jar_check;
pub mod jars;
pub mod job_details_render;
pub mod jobmanager;
pub mod jobs;
pub mod messages;
pub mod metrics;
pub mod profiler;
pub mod rescaling;
pub mod savepoint_disposal;
pub mod seatunnel_view;
pub mod taskmanagers;
pub mod vertex_monitoring;
pub mod vertices;
