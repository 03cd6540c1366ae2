//! Sources and sinks, each in its own file, with SeaTunnel's names and options.

pub mod assert;
pub mod assert_catalog;
pub mod blackhole;
pub mod console;
pub mod excel;
pub mod fake;
pub mod file_codec;
pub mod file_output;
pub mod file_rolling;
pub mod json_bytes;
pub mod local_file_binary;
pub mod local_file_sink;
pub mod local_file_source;
pub mod lzop;
pub mod orc;
pub mod table_placeholders;
pub mod text_nested;
pub mod text_rows;
pub mod xml;

use crate::registry::PluginRegistry;
use std::sync::Arc;

/// Registers every connector of this crate.
pub fn register(r: &mut PluginRegistry) {
    r.add_source(Arc::new(fake::FakeSourceFactory));
    r.add_source(Arc::new(local_file_source::LocalFileSourceFactory));
    r.add_sink(Arc::new(console::ConsoleSinkFactory));
    r.add_sink(Arc::new(local_file_sink::LocalFileSinkFactory));
    r.add_sink(Arc::new(assert::AssertSinkFactory));
    r.add_sink(Arc::new(blackhole::BlackholeSinkFactory));
}
