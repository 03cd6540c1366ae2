//! What SeaTunnel calls a table's catalog entry beyond its columns: which catalog (source
//! plugin) it comes from, its path, and the keys its source declares (`schema.primaryKey`,
//! `schema.constraintKeys`) and each declared column's comment, default and length. Sinks
//! such as Assert's `catalog_table_rule` check them; they follow the rows from the source
//! through transforms to sinks, as table paths do.

use crate::options::as_string;
use serde_json::Value;

/// A table's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    pub name: String,
    pub columns: Vec<String>,
}

/// A constraint key column's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortType {
    Asc,
    Desc,
}

/// SeaTunnel's `ConstraintKey`: a unique, index or foreign key over columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintKey {
    /// `UNIQUE_KEY`, `INDEX_KEY` or `FOREIGN_KEY`.
    pub kind: String,
    pub name: String,
    pub columns: Vec<(String, SortType)>,
}

/// What a source declares of a column besides its name and type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnExtras {
    pub name: String,
    pub comment: Option<String>,
    pub default_value: Option<String>,
    pub length: Option<i64>,
}

/// One table's catalog entry, as its source declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTable {
    /// The source plugin's name (SeaTunnel's catalog name for the table: `FakeSource`).
    pub catalog_name: String,
    pub table_path: String,
    pub primary_key: Option<PrimaryKey>,
    pub constraint_keys: Vec<ConstraintKey>,
    pub columns: Vec<ColumnExtras>,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(as_string)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(as_string).collect(),
        Some(other) => as_string(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Reads a sort type as SeaTunnel writes it (`ASC` / `DESC`).
pub fn sort_type(v: Option<&Value>) -> Result<SortType, String> {
    match text(v)
        .unwrap_or_else(|| "ASC".into())
        .to_ascii_uppercase()
        .as_str()
    {
        "ASC" => Ok(SortType::Asc),
        "DESC" => Ok(SortType::Desc),
        other => Err(format!("sort type '{other}' is not ASC or DESC")),
    }
}

/// Reads a constraint key kind as SeaTunnel names them.
pub fn constraint_kind(v: Option<&Value>) -> Result<String, String> {
    let kind = text(v).unwrap_or_default().to_ascii_uppercase();
    match kind.as_str() {
        "UNIQUE_KEY" | "INDEX_KEY" | "FOREIGN_KEY" => Ok(kind),
        other => Err(format!(
            "constraint type '{other}' is not UNIQUE_KEY, INDEX_KEY or FOREIGN_KEY"
        )),
    }
}

impl CatalogTable {
    /// The catalog entry a source declares in its `schema` option (SeaTunnel's
    /// `primaryKey { name, columnNames }`, `constraintKeys [{ constraintName, constraintType,
    /// constraintColumns [{ columnName, sortType }] }]` and `columns [{ comment, defaultValue,
    /// columnLength }]`).
    pub fn declared(catalog_name: &str, table_path: &str, schema: Option<&Value>) -> Self {
        let schema = schema.and_then(Value::as_object);
        let get = |k: &str| schema.and_then(|s| s.get(k));
        let primary_key = get("primaryKey")
            .and_then(Value::as_object)
            .map(|pk| PrimaryKey {
                name: text(pk.get("name")).unwrap_or_default(),
                columns: strings(pk.get("columnNames")),
            });
        let constraint_keys = match get("constraintKeys") {
            Some(Value::Array(keys)) => keys
                .iter()
                .filter_map(Value::as_object)
                .map(|k| ConstraintKey {
                    kind: text(k.get("constraintType"))
                        .unwrap_or_default()
                        .to_ascii_uppercase(),
                    name: text(k.get("constraintName")).unwrap_or_default(),
                    columns: match k.get("constraintColumns") {
                        Some(Value::Array(cols)) => cols
                            .iter()
                            .filter_map(Value::as_object)
                            .map(|c| {
                                (
                                    text(c.get("columnName")).unwrap_or_default(),
                                    sort_type(c.get("sortType")).unwrap_or(SortType::Asc),
                                )
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                })
                .collect(),
            _ => Vec::new(),
        };
        let columns = match get("columns") {
            Some(Value::Array(cols)) => cols
                .iter()
                .filter_map(Value::as_object)
                .map(|c| ColumnExtras {
                    name: text(c.get("name")).unwrap_or_default(),
                    comment: text(c.get("comment")),
                    default_value: text(c.get("defaultValue")),
                    length: c.get("columnLength").and_then(crate::options::as_i64),
                })
                .collect(),
            _ => Vec::new(),
        };
        CatalogTable {
            catalog_name: catalog_name.to_string(),
            table_path: table_path.to_string(),
            primary_key,
            constraint_keys,
            columns,
        }
    }

    /// The extras declared for `column`, if any.
    pub fn column(&self, column: &str) -> Option<&ColumnExtras> {
        self.columns.iter().find(|c| c.name == column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_fake_source_schema_declares_keys_and_column_extras() {
        let schema = json!({
            "table": "test.fakeTable",
            "columns": [
                {"name": "id", "type": "bigint", "comment": "the key", "columnLength": 20},
                {"name": "name", "type": "string", "defaultValue": "n/a"}
            ],
            "primaryKey": {"name": "primary key", "columnNames": ["id"]},
            "constraintKeys": [{
                "constraintName": "unique_name",
                "constraintType": "UNIQUE_KEY",
                "constraintColumns": [{"columnName": "id", "sortType": "DESC"}]
            }]
        });
        let t = CatalogTable::declared("FakeSource", "test.fakeTable", Some(&schema));
        assert_eq!(
            t.primary_key,
            Some(PrimaryKey {
                name: "primary key".into(),
                columns: vec!["id".into()]
            })
        );
        assert_eq!(t.constraint_keys[0].kind, "UNIQUE_KEY");
        assert_eq!(
            t.constraint_keys[0].columns,
            vec![("id".into(), SortType::Desc)]
        );
        assert_eq!(t.column("id").and_then(|c| c.length), Some(20));
        assert_eq!(
            t.column("name").and_then(|c| c.default_value.clone()),
            Some("n/a".into())
        );
        let bare = CatalogTable::declared("LocalFile", "default.default.default", None);
        assert!(bare.primary_key.is_none() && bare.constraint_keys.is_empty());
    }
}
