//! Every plugin the `weir` binary ships.

use weir_runtime::PluginRegistry;

/// The runtime's built-in connectors and transforms, the DataFusion `Sql` transform and the
/// `Jdbc` and `Kafka` connectors.
pub fn registry() -> PluginRegistry {
    let mut r = PluginRegistry::builtin();
    weir_sql::register(&mut r);
    weir_jdbc::register(&mut r);
    weir_kafka::register(&mut r);
    weir_objectfile::register(&mut r);
    r
}
