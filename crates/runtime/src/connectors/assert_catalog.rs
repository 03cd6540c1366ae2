//! The Assert sink's table checks, as SeaTunnel's `AssertCatalogTableRule` and
//! `AssertTableRule` make them: `catalog_table_rule` compares the table the sink receives
//! (catalog name and path, primary key, constraint keys, columns) with the expected one, and
//! `table-names` compares the set of tables the sink writes with a list. Both are about the
//! job's shape, not its rows, so weir checks them when the job is prepared: a mismatch is
//! refused before anything runs.

use arrow::datatypes::SchemaRef;
use serde_json::Value;
use std::collections::BTreeSet;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::catalog_table::{constraint_kind, sort_type, CatalogTable, ConstraintKey};
use weir_pipeline::options::{as_i64, as_string};
use weir_pipeline::types::{parse_type_value, seatunnel_type_name};

fn fail(msg: String) -> WeirError {
    WeirError::new(format!("assertion failed: {msg}"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(as_string).collect(),
        Some(other) => as_string(other).into_iter().collect(),
        None => Vec::new(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `rules.table-names`: the tables the sink writes must be exactly these.
pub fn check_table_names(
    rules: &serde_json::Map<String, Value>,
    written: &[String],
) -> WeirResult<()> {
    let Some(list) = rules.get("table-names") else {
        return Ok(());
    };
    let want: BTreeSet<String> = strings(Some(list)).into_iter().collect();
    let have: BTreeSet<String> = written.iter().cloned().collect();
    if !want.is_empty() && want != have {
        return Err(fail(format!(
            "table names: [{}] is not equal to [{}]",
            have.into_iter().collect::<Vec<_>>().join(", "),
            want.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(())
}

/// `catalog_table_rule` of the rule set at `at`, against the table the sink receives.
pub fn check_catalog_rule(
    at: &str,
    rule: &Value,
    input: &SchemaRef,
    table: Option<&CatalogTable>,
) -> WeirResult<()> {
    let rule = rule
        .as_object()
        .ok_or_else(|| WeirError::new(format!("'{at}.catalog_table_rule' must be an object")))?;
    let table = table.ok_or_else(|| fail("the sink receives no table to check".into()))?;
    if let Some(id) = rule.get("table_identifier_rule") {
        let catalog = id
            .get("catalog_name")
            .and_then(as_string)
            .unwrap_or_default();
        let path = id.get("table").and_then(as_string).unwrap_or_default();
        if catalog != table.catalog_name || path != table.table_path {
            return Err(fail(format!(
                "tableIdentifier: {}.{} is not equal to {catalog}.{path}",
                table.catalog_name, table.table_path
            )));
        }
    }
    if let Some(pk) = rule.get("primary_key_rule") {
        let have = table
            .primary_key
            .as_ref()
            .ok_or_else(|| fail("primaryKey is null".into()))?;
        if let Some(name) = pk.get("primary_key_name").and_then(as_string) {
            if name != have.name {
                return Err(fail(format!(
                    "primaryKey: {} is not equal to {name}",
                    have.name
                )));
            }
        }
        let columns = strings(pk.get("primary_key_columns"));
        if !columns.is_empty() && sorted(columns.clone()) != sorted(have.columns.clone()) {
            return Err(fail(format!(
                "primaryKey columns: [{}] is not equal to [{}]",
                have.columns.join(", "),
                columns.join(", ")
            )));
        }
    }
    if let Some(keys) = rule.get("constraint_key_rule") {
        let want = constraint_keys(at, keys)?;
        if table.constraint_keys.is_empty() {
            return Err(fail("constraintKeys is null".into()));
        }
        if !want.is_empty() && !same_multiset(&want, &table.constraint_keys) {
            return Err(fail(format!(
                "constraintKeys: {:?} is not equal to {:?}",
                table.constraint_keys, want
            )));
        }
    }
    if let Some(columns) = rule.get("column_rule") {
        let list = columns.as_array().ok_or_else(|| {
            WeirError::new(format!(
                "'{at}.catalog_table_rule.column_rule' must be a list"
            ))
        })?;
        let want = list
            .iter()
            .enumerate()
            .map(|(i, c)| expected_column(&format!("{at}.catalog_table_rule.column_rule[{i}]"), c))
            .collect::<WeirResult<Vec<_>>>()?;
        let have: Vec<Column> = input
            .fields()
            .iter()
            .map(|f| {
                let extras = table.column(f.name());
                Column {
                    name: f.name().clone(),
                    type_name: seatunnel_type_name(f.data_type()),
                    nullable: f.is_nullable(),
                    length: extras.and_then(|e| e.length).unwrap_or(0),
                    default_value: extras.and_then(|e| e.default_value.clone()),
                    comment: extras.and_then(|e| e.comment.clone()),
                }
            })
            .collect();
        if !want.is_empty() && !same_multiset(&want, &have) {
            return Err(fail(format!("columns: {have:?} is not equal to {want:?}")));
        }
    }
    Ok(())
}

/// A column as SeaTunnel's `PhysicalColumn` compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    type_name: String,
    nullable: bool,
    length: i64,
    default_value: Option<String>,
    comment: Option<String>,
}

fn expected_column(at: &str, c: &Value) -> WeirResult<Column> {
    let name = c
        .get("name")
        .and_then(as_string)
        .ok_or_else(|| WeirError::new(format!("{at} needs a 'name'")))?;
    let ty = c
        .get("type")
        .ok_or_else(|| WeirError::new(format!("{at} needs a 'type'")))?;
    let dt = parse_type_value(ty).map_err(|e| WeirError::new(format!("{at}.type: {}", e.0)))?;
    Ok(Column {
        name,
        type_name: seatunnel_type_name(&dt),
        nullable: match c.get("nullable") {
            Some(Value::Bool(b)) => *b,
            Some(v) => as_string(v).is_none_or(|s| !s.eq_ignore_ascii_case("false")),
            None => true,
        },
        length: c.get("columnLength").and_then(as_i64).unwrap_or(0),
        default_value: c.get("defaultValue").and_then(as_string),
        comment: c.get("comment").and_then(as_string),
    })
}

fn constraint_keys(at: &str, keys: &Value) -> WeirResult<Vec<ConstraintKey>> {
    let list = keys.as_array().ok_or_else(|| {
        WeirError::new(format!(
            "'{at}.catalog_table_rule.constraint_key_rule' must be a list"
        ))
    })?;
    list.iter()
        .enumerate()
        .map(|(i, k)| {
            let at = format!("{at}.catalog_table_rule.constraint_key_rule[{i}]");
            let bad = |e: String| WeirError::new(format!("{at}: {e}"));
            let columns = match k.get("constraint_key_columns") {
                Some(Value::Array(cols)) => cols
                    .iter()
                    .map(|c| {
                        Ok((
                            c.get("constraint_key_column_name")
                                .and_then(as_string)
                                .unwrap_or_default(),
                            sort_type(c.get("constraint_key_sort_type")).map_err(bad)?,
                        ))
                    })
                    .collect::<WeirResult<Vec<_>>>()?,
                _ => Vec::new(),
            };
            Ok(ConstraintKey {
                kind: constraint_kind(k.get("constraint_key_type")).map_err(bad)?,
                name: k
                    .get("constraint_key_name")
                    .and_then(as_string)
                    .unwrap_or_default(),
                columns,
            })
        })
        .collect()
}

/// Equal as collections with repeats, in any order (Commons' `isEqualCollection`).
fn same_multiset<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter()
        .all(|x| match (0..b.len()).find(|&j| !used[j] && b[j] == *x) {
            Some(j) => {
                used[j] = true;
                true
            }
            None => false,
        })
}
