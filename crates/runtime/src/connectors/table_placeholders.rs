//! SeaTunnel's `${database_name}`, `${schema_name}` and `${table_name}` in a sink's options (a
//! LocalFile path, a Jdbc table), filled from the table the sink writes, so a multi-table job
//! writes each table to its own place.

use weir_core::{WeirError, WeirResult};

/// `text` with the placeholders filled from `table` (`db.table`, `db.schema.table` or
/// `table`).
pub fn fill(path: &str, table: Option<&str>) -> WeirResult<String> {
    if !path.contains("${") {
        return Ok(path.to_string());
    }
    let parts: Vec<&str> = table.map(|t| t.split('.').collect()).unwrap_or_default();
    let (database, schema, name) = match parts.as_slice() {
        [d, s, t] => (Some(*d), Some(*s), Some(*t)),
        [d, t] => (Some(*d), None, Some(*t)),
        [t] => (None, None, Some(*t)),
        _ => (None, None, None),
    };
    let mut out = path.to_string();
    for (key, value) in [
        ("database_name", database),
        ("schema_name", schema),
        ("table_name", name),
    ] {
        let placeholder = format!("${{{key}}}");
        if out.contains(&placeholder) {
            let v = value.ok_or_else(|| {
                WeirError::new(format!(
                    "{path} uses {placeholder} but the table '{}' has no such part",
                    table.unwrap_or("")
                ))
                .with_hint("name the source's table database.table (schema.table in FakeSource, table_path in Jdbc)")
            })?;
            // A table name never climbs out of a directory, nor out of a quoted identifier.
            out = out.replace(
                &placeholder,
                &v.replace(['/', '\\', '\0'], "_").replace("..", "__"),
            );
        }
    }
    Ok(out)
}
