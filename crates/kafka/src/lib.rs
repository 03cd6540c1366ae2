//! SeaTunnel's `Kafka` connector: a source and a sink speaking the Kafka protocol directly
//! (messages and record batches from the `kafka-protocol` crate), so that the exactly-once
//! sink can commit a transaction a crashed attempt had pre-committed — the step client
//! libraries do not offer.
//!
//! - `wire`: one connection to one broker (framing, correlation, API versions).
//! - `cluster`: brokers, connections and partition leaders as one reader or writer sees them.
//! - `offsets`, `fetch`, `produce`, `txn`, `admin`: the protocol's calls, grouped by job.
//! - `settings`: the connector's options read into typed settings.
//! - `format`: messages as rows and rows as messages (json, text, canal_json, debezium_json).
//! - `source`, `sink`: the plugins; `exactly_once`: the sink's transactions and their restore.

pub mod admin;
pub mod cluster;
pub mod exactly_once;
pub mod fetch;
pub mod format;
pub mod offsets;
pub mod produce;
pub mod settings;
pub mod sink;
pub mod source;
pub mod txn;
pub mod wire;

use std::sync::Arc;
use weir_runtime::PluginRegistry;

/// Registers the `Kafka` source and sink.
pub fn register(r: &mut PluginRegistry) {
    r.add_source(Arc::new(source::KafkaSourceFactory));
    r.add_sink(Arc::new(sink::KafkaSinkFactory));
}
