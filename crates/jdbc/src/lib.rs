//! SeaTunnel's `Jdbc` connector for PostgreSQL and MySQL/MariaDB. It lives in a crate of its
//! own, like `Sql`, so the database clients are linked only where the binary's plugins are.
//!
//! - `url`: the JDBC URL and the dialect it names.
//! - `split`: how a query is divided among subtasks (pure, no I/O).
//! - `pg`, `mysql`: each database's connection, type mapping and streaming reads.
//! - `source`: the `Jdbc` source plugin.

pub mod mysql;
pub mod pg;
pub mod source;
pub mod split;
pub mod url;

use std::sync::Arc;
use weir_runtime::PluginRegistry;

/// Registers the `Jdbc` source.
pub fn register(r: &mut PluginRegistry) {
    r.add_source(Arc::new(source::JdbcSourceFactory));
}
