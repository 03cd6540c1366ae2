//! weir's HTTP servers, over the `RestfulGateway` only (this crate never sees runtime or
//! JobManager types): Flink's REST API v1 (`flink`), answered both under `/v1` and on bare
//! paths, and SeaTunnel's REST API (`seatunnel`), v1 under `/hazelcast/rest/maps` and v2, each
//! on its own listener.
//!
//! Each Flink endpoint is declared once, in its family's file (`flink/jobs.rs`, `flink/vertices.rs`,
//! …), as an [`endpoint::Endpoint`]: method, path, summary and handler together. The router and
//! the OpenAPI document are both built from those declarations.

pub mod auth;
pub mod body_fault;
pub mod browser_guard;
pub mod cache;
pub mod compress;
pub mod dashboard;
pub mod endpoint;
pub mod error;
pub mod flink;
pub mod flink_front;
pub mod json;
pub mod openapi;
pub mod params;
pub mod pieces;
pub mod prometheus;
pub mod seatunnel;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod state;
pub mod tls;
pub mod web_content;

pub use server::{flink_router, serve};
pub use settings::RestSettings;
pub use state::AppState;
