//! SeaTunnel's `Jdbc` connector for PostgreSQL and MySQL/MariaDB. It lives in a crate of its
//! own, like `Sql`, so the database clients are linked only where the binary's plugins are.
//!
//! - `url`: the JDBC URL and the dialect it names.
//! - `client`: the connection settings, one open connection to either database, and the
//!   bridge from the synchronous prepare step to async I/O.
//! - `split`: how a query is divided among subtasks (pure, no I/O).
//! - `pg`, `mysql`: each database's connection, type mapping and streaming reads.
//! - `source`: the `Jdbc` source plugin.
//! - `sink`, `write_pg`, `write_mysql`, `ddl`, `values`: the `Jdbc` sink plugin, how each
//!   database is written, the SQL it generates, and values as statement parameters.
//! - `save_mode`: what a fresh job does to the sink's table first (SeaTunnel's save modes).
//! - `cdc`: the `Postgres-CDC` source (snapshot, then logical replication).
//! - `two_phase`: the exactly-once sink's prepared transactions, and how a restore resolves
//!   them.

pub mod cdc;
pub mod client;
pub mod ddl;
pub mod mysql;
pub mod pg;
pub mod save_mode;
pub mod sink;
pub mod source;
pub mod split;
pub mod two_phase;
pub mod url;
pub mod values;
mod write_mysql;
mod write_pg;

use std::sync::Arc;
use weir_runtime::PluginRegistry;

/// Registers the `Jdbc` source and sink and the `Postgres-CDC` source.
pub fn register(r: &mut PluginRegistry) {
    r.add_source(Arc::new(source::JdbcSourceFactory));
    r.add_source(Arc::new(cdc::PostgresCdcFactory));
    r.add_sink(Arc::new(sink::JdbcSinkFactory));
}
