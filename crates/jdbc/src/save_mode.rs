//! SeaTunnel's save modes for the `Jdbc` sink: what happens to the target table once, when a job
//! starts fresh (never on a restart or a restore, which continue what was written).
//! `schema_save_mode` says what to do with the table itself, `data_save_mode` with the rows
//! already in it. Deciding is pure ([`plan`]); [`apply`] runs the plan on a connection.

use crate::client::Client;
use crate::pg;
use crate::url::Dialect;
use arrow::datatypes::Schema;
use mysql_async::prelude::Queryable;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::Options;

/// `schema_save_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaSaveMode {
    /// Drop the table if it exists, then create it from the input's columns.
    Recreate,
    /// Create the table from the input's columns if it does not exist (SeaTunnel's default).
    CreateWhenMissing,
    /// Fail the job if the table does not exist.
    ErrorWhenMissing,
    /// Do nothing to the table.
    Ignore,
}

/// `data_save_mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSaveMode {
    /// Keep the rows (SeaTunnel's default).
    Append,
    /// Empty the table.
    Drop,
    /// Fail the job if the table has rows.
    ErrorWhenExists,
    /// Run the job's `custom_sql`.
    Custom(String),
}

/// The save modes a job file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveModes {
    pub schema: SchemaSaveMode,
    pub data: DataSaveMode,
}

impl SaveModes {
    /// Reads `schema_save_mode`, `data_save_mode` and `custom_sql`.
    pub fn from_options(o: &Options) -> WeirResult<SaveModes> {
        let e = WeirError::new;
        let schema = match o
            .str("schema_save_mode")
            .map_err(e)?
            .unwrap_or_else(|| "CREATE_SCHEMA_WHEN_NOT_EXIST".into())
            .to_ascii_uppercase()
            .as_str()
        {
            "RECREATE_SCHEMA" => SchemaSaveMode::Recreate,
            "CREATE_SCHEMA_WHEN_NOT_EXIST" => SchemaSaveMode::CreateWhenMissing,
            "ERROR_WHEN_SCHEMA_NOT_EXIST" => SchemaSaveMode::ErrorWhenMissing,
            "IGNORE" => SchemaSaveMode::Ignore,
            other => {
                return Err(WeirError::new(format!("unknown schema_save_mode {other}")).with_hint(
                    "use RECREATE_SCHEMA, CREATE_SCHEMA_WHEN_NOT_EXIST, ERROR_WHEN_SCHEMA_NOT_EXIST or IGNORE",
                ))
            }
        };
        let data = match o
            .str("data_save_mode")
            .map_err(e)?
            .unwrap_or_else(|| "APPEND_DATA".into())
            .to_ascii_uppercase()
            .as_str()
        {
            "APPEND_DATA" => DataSaveMode::Append,
            "DROP_DATA" => DataSaveMode::Drop,
            "ERROR_WHEN_DATA_EXISTS" => DataSaveMode::ErrorWhenExists,
            "CUSTOM_PROCESSING" => DataSaveMode::Custom(
                o.str("custom_sql")
                    .map_err(e)?
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| {
                        WeirError::new("data_save_mode CUSTOM_PROCESSING needs 'custom_sql'")
                            .with_hint("custom_sql = \"DELETE FROM t WHERE day = CURRENT_DATE\"")
                    })?,
            ),
            other => {
                return Err(
                    WeirError::new(format!("unknown data_save_mode {other}")).with_hint(
                        "use APPEND_DATA, DROP_DATA, ERROR_WHEN_DATA_EXISTS or CUSTOM_PROCESSING",
                    ),
                )
            }
        };
        Ok(SaveModes { schema, data })
    }

    /// Whether these modes need to know the table (they do, except the defaults and custom SQL).
    pub fn need_table(&self) -> bool {
        self.schema == SchemaSaveMode::Recreate
            || matches!(
                self.data,
                DataSaveMode::Drop | DataSaveMode::ErrorWhenExists
            )
    }
}

/// One step of a job's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    DropTable,
    CreateTable,
    Truncate,
    /// Fail if the table has a row.
    RequireEmpty,
    Custom(String),
}

/// What to do at a fresh start, given whether the table exists (`None`: the sink has no table
/// of its own, it writes with the job's `query`). The error completes "table <name> …".
pub fn plan(modes: &SaveModes, exists: Option<bool>) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let will_exist = match (modes.schema, exists) {
        (_, None) => false,
        (SchemaSaveMode::Recreate, Some(e)) => {
            if e {
                steps.push(Step::DropTable);
            }
            steps.push(Step::CreateTable);
            true
        }
        (SchemaSaveMode::CreateWhenMissing, Some(e)) => {
            if !e {
                steps.push(Step::CreateTable);
            }
            true
        }
        (SchemaSaveMode::ErrorWhenMissing, Some(false)) => {
            return Err("does not exist (schema_save_mode = ERROR_WHEN_SCHEMA_NOT_EXIST)".into())
        }
        (SchemaSaveMode::ErrorWhenMissing | SchemaSaveMode::Ignore, Some(e)) => e,
    };
    let fresh = steps.contains(&Step::CreateTable);
    match &modes.data {
        DataSaveMode::Append => {}
        DataSaveMode::Drop if will_exist && !fresh => steps.push(Step::Truncate),
        DataSaveMode::ErrorWhenExists if will_exist && !fresh => steps.push(Step::RequireEmpty),
        DataSaveMode::Drop | DataSaveMode::ErrorWhenExists => {}
        DataSaveMode::Custom(sql) => steps.push(Step::Custom(sql.clone())),
    }
    Ok(steps)
}

/// The target of the steps: the quoted table, its columns and keys.
pub struct Target<'a> {
    pub table: &'a str,
    pub schema: &'a Schema,
    pub keys: &'a [String],
}

/// Runs `steps` on `client`, each in its own statement.
pub async fn apply(
    client: &mut Client,
    dialect: Dialect,
    target: Option<&Target<'_>>,
    steps: &[Step],
) -> WeirResult<()> {
    for step in steps {
        let table = target.map(|t| t.table).unwrap_or_default();
        let sql = match (step, target) {
            (Step::DropTable, Some(t)) => format!("DROP TABLE IF EXISTS {}", t.table),
            (Step::CreateTable, Some(t)) => {
                crate::ddl::create_table(dialect, t.table, t.schema, t.keys)?
            }
            (Step::Truncate, Some(t)) => format!("TRUNCATE TABLE {}", t.table),
            (Step::RequireEmpty, Some(t)) => {
                if has_rows(client, t.table).await? {
                    return Err(WeirError::new(format!(
                        "table {} has rows (data_save_mode = ERROR_WHEN_DATA_EXISTS)",
                        t.table
                    ))
                    .with_hint("empty it, or use data_save_mode = APPEND_DATA or DROP_DATA"));
                }
                continue;
            }
            (Step::Custom(sql), _) => sql.clone(),
            (_, None) => continue,
        };
        let done = match client {
            Client::Pg(c) => c
                .batch_execute(&sql)
                .await
                .map_err(|e| pg::describe_error(&e)),
            Client::My(c) => c.query_drop(sql.as_str()).await.map_err(|e| e.to_string()),
        };
        done.map_err(|e| {
            let what = match step {
                Step::DropTable => format!("dropping {table} (schema_save_mode = RECREATE_SCHEMA)"),
                Step::CreateTable => format!("creating {table}"),
                Step::Truncate => format!("emptying {table} (data_save_mode = DROP_DATA)"),
                Step::RequireEmpty => format!("reading {table}"),
                Step::Custom(_) => "running custom_sql (data_save_mode = CUSTOM_PROCESSING)".into(),
            };
            WeirError::new(format!("{what}: {e}"))
        })?;
    }
    Ok(())
}

async fn has_rows(client: &mut Client, table: &str) -> WeirResult<bool> {
    let sql = format!("SELECT 1 FROM {table} LIMIT 1");
    match client {
        Client::Pg(c) => c
            .query_opt(sql.as_str(), &[])
            .await
            .map(|r| r.is_some())
            .map_err(|e| WeirError::new(format!("reading {table}: {}", pg::describe_error(&e)))),
        Client::My(c) => c
            .query_first::<mysql_async::Row, _>(sql)
            .await
            .map(|r| r.is_some())
            .map_err(|e| WeirError::new(format!("reading {table}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes(schema: SchemaSaveMode, data: DataSaveMode) -> SaveModes {
        SaveModes { schema, data }
    }

    #[test]
    fn a_missing_table_is_created_and_a_present_one_kept() {
        let m = modes(SchemaSaveMode::CreateWhenMissing, DataSaveMode::Append);
        assert_eq!(plan(&m, Some(false)), Ok(vec![Step::CreateTable]));
        assert_eq!(plan(&m, Some(true)), Ok(vec![]));
    }

    #[test]
    fn recreate_drops_only_what_exists_and_leaves_nothing_to_empty() {
        let m = modes(SchemaSaveMode::Recreate, DataSaveMode::Drop);
        assert_eq!(
            plan(&m, Some(true)),
            Ok(vec![Step::DropTable, Step::CreateTable])
        );
        assert_eq!(plan(&m, Some(false)), Ok(vec![Step::CreateTable]));
    }

    #[test]
    fn data_modes_act_on_a_table_that_was_already_there() {
        let drop = modes(SchemaSaveMode::CreateWhenMissing, DataSaveMode::Drop);
        assert_eq!(plan(&drop, Some(true)), Ok(vec![Step::Truncate]));
        assert_eq!(plan(&drop, Some(false)), Ok(vec![Step::CreateTable]));
        let strict = modes(SchemaSaveMode::Ignore, DataSaveMode::ErrorWhenExists);
        assert_eq!(plan(&strict, Some(true)), Ok(vec![Step::RequireEmpty]));
        assert_eq!(plan(&strict, Some(false)), Ok(vec![]));
    }

    #[test]
    fn a_missing_table_fails_when_it_must_exist() {
        let m = modes(SchemaSaveMode::ErrorWhenMissing, DataSaveMode::Append);
        assert!(plan(&m, Some(false))
            .unwrap_err()
            .contains("ERROR_WHEN_SCHEMA_NOT_EXIST"));
    }

    #[test]
    fn custom_sql_runs_even_without_a_table() {
        let m = modes(
            SchemaSaveMode::CreateWhenMissing,
            DataSaveMode::Custom("DELETE FROM t".into()),
        );
        assert_eq!(
            plan(&m, None),
            Ok(vec![Step::Custom("DELETE FROM t".into())])
        );
        assert_eq!(
            plan(&m, Some(false)),
            Ok(vec![
                Step::CreateTable,
                Step::Custom("DELETE FROM t".into())
            ])
        );
    }
}
