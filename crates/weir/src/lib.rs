//! The `weir` command line and the embedded mini runtime it drives.
//!
//! [`plugins::registry`] is every plugin the binary ships (the runtime's connectors and
//! transforms plus `Sql`); [`embedded`] loads a job file, validates it, and runs it in this
//! process; [`cli`] holds one file per subcommand.

pub mod auth_config;
pub mod cli;
pub mod cluster;
pub mod compiler;
pub mod config;
pub mod distributed;
pub mod embedded;
pub mod plugins;
pub mod sandbox_config;
pub mod tls_config;
