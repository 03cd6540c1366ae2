//! weir's integration tests, in one binary: a test binary links all of weir, so one binary
//! instead of one per file saves minutes of linking and gigabytes of disk on a clean build.
//! Each module is one area (`cargo test -p weir --test suite kafka::` runs one). The servers
//! they talk to are started by the helper modules: `db` (PostgreSQL, MariaDB), `kafka_broker`,
//! `s3` (moto); `rest_support` starts in-process clusters, `common` runs jobs embedded.
//! `never_starve` stays a binary of its own: it saturates every core and must not share them.

mod common;
mod db;
mod kafka_broker;
mod page_driver;
mod rest_support;
mod s3;

mod assert_rules;
mod broken_files;
mod browsers;
mod checkpoints;
mod cli;
mod cli_cluster;
mod client_gaps;
mod dashboard;
mod dashboard_api;
mod file_codecs;
mod file_formats;
mod flink_compat;
mod fuzz_job_files;
mod group_by;
mod jdbc;
mod jdbc_exactly_once;
mod job_limits;
mod job_sandbox;
mod kafka;
mod metrics;
mod multi_table;
mod openapi_fuzz;
mod pipelines;
mod postgres_cdc;
mod processes;
mod rest_api;
mod rest_auth;
mod rest_errors;
mod rest_tls;
mod s3_checkpoints;
mod s3_files;
mod seatunnel_api;
mod slots;
mod sql_functions;
mod tag_filter;
