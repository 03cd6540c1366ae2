//! Every plugin the `weir` binary ships.

use weir_runtime::PluginRegistry;

/// The runtime's built-in connectors and transforms plus the DataFusion `Sql` transform.
pub fn registry() -> PluginRegistry {
    let mut r = PluginRegistry::builtin();
    weir_sql::register(&mut r);
    r
}
