//! Job files in SeaTunnel's format (HOCON or JSON) and the `JobGraph` they become.
//!
//! The path is: text → [`vars::substitute`] (`${VAR}`) → [`config::parse_job`] (HOCON via the
//! `hocon-parser` crate with SeaTunnel's flat dotted keys, or JSON) → [`graph::JobGraph::build`]
//! (plugins checked against a [`catalog::Catalog`], tables linked, cycles rejected, operators
//! chained into vertices; a multi-table source becomes one pipeline per table, see
//! [`multi_table`]). Every stage collects all the problems it finds and reports them
//! together, each with its block, index, option and line.

pub mod catalog;
pub mod catalog_table;
pub mod config;
pub mod endpoint_allowlist;
pub mod graph;
pub mod hocon_input;
pub mod multi_table;
pub mod options;
pub mod problems;
pub mod sandbox;
pub mod sql_input;
pub mod types;
pub mod vars;

pub use catalog::{Catalog, KeyBy, OptionSpec, OptionType, PluginSpec};
pub use config::{parse_job, Format, JobConfig, JobMode, PluginConfig, PluginKind, Variables};
pub use graph::{JobEdge, JobGraph, JobVertex, OperatorNode, Partitioning};
pub use options::Options;
pub use problems::{ConfigErrors, Location, Problem};
