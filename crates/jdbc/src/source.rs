//! SeaTunnel's `Jdbc` source: a `query` or a `table_path` (with `where_condition`; a
//! `table_list` of them is split into one source per table before this sees it) read in
//! splits of `partition_column` spread over subtasks, `fetch_size` rows at a time. Every
//! split's position (which splits are done, how many rows of the current one were emitted) is
//! operator state, so a restored job continues where its checkpoint was. Splits are read
//! ordered by their partition column, so a resumed split skips exactly the rows it had emitted
//! when that column is a key.

use crate::client::{Client, Connection};
use crate::split::{plan, SplitRange};
use crate::{mysql, pg};
use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};
use weir_runtime::batch::Batch;
use weir_runtime::blocking::run_blocking;
use weir_runtime::operator::{
    PrepareContext, PreparedSource, SourceEvent, SourceFactory, SourceReader, SubtaskContext,
};

pub struct JdbcSourceFactory;

impl SourceFactory for JdbcSourceFactory {
    fn spec(&self) -> PluginSpec {
        use OptionType::*;
        PluginSpec::new(
            "Jdbc",
            PluginKind::Source,
            vec![
                OptionSpec::required("url", String),
                OptionSpec::optional("driver", String),
                OptionSpec::optional("user", String),
                OptionSpec::optional("username", String),
                OptionSpec::optional("password", String),
                OptionSpec::optional("query", String),
                OptionSpec::optional("table_path", String),
                OptionSpec::optional("table_list", List),
                OptionSpec::optional("where_condition", String),
                OptionSpec::optional("partition_column", String),
                OptionSpec::optional("partition_num", Int),
                OptionSpec::optional("partition_lower_bound", Int),
                OptionSpec::optional("partition_upper_bound", Int),
                OptionSpec::optional("split.size", Int),
                OptionSpec::optional("fetch_size", Int),
                OptionSpec::optional("connection_check_timeout_sec", Int),
            ],
        )
        .ignoring(&[
            "split.even-distribution.factor.upper-bound",
            "split.even-distribution.factor.lower-bound",
            "split.sample-sharding.threshold",
            "split.inverse-sampling.rate",
            "use_select_count",
            "skip_analyze",
            "properties",
            "compatible_mode",
        ])
    }

    fn prepare(&self, o: &Options, ctx: &PrepareContext) -> WeirResult<Arc<dyn PreparedSource>> {
        let e = WeirError::new;
        let conn = Connection::from_options(o)?;
        let dialect = conn.url.dialect;
        let query = match (o.str("query").map_err(e)?, o.str("table_path").map_err(e)?) {
            (Some(q), _) if !q.trim().is_empty() => q.trim().trim_end_matches(';').to_string(),
            (_, Some(t)) if !t.trim().is_empty() => {
                format!("SELECT * FROM {}", dialect.quote_path(t.trim()))
            }
            _ => {
                return Err(
                    WeirError::new("the Jdbc source needs 'query' or 'table_path'").with_hint(
                        "query = \"SELECT * FROM my_table\" or table_path = \"db.my_table\"",
                    ),
                )
            }
        };
        let query = match o.str("where_condition").map_err(e)? {
            Some(w) if !w.trim().is_empty() => {
                let w = w.trim();
                let w = w
                    .strip_prefix("where ")
                    .or_else(|| w.strip_prefix("WHERE "))
                    .unwrap_or(w);
                format!("SELECT * FROM ({query}) weir_where WHERE {w}")
            }
            _ => query,
        };
        let partition_column = o.str("partition_column").map_err(e)?;
        let given_bounds = match (
            o.i64("partition_lower_bound").map_err(e)?,
            o.i64("partition_upper_bound").map_err(e)?,
        ) {
            (Some(lo), Some(hi)) => Some((lo, hi)),
            (None, None) => None,
            _ => {
                return Err(WeirError::new(
                    "partition_lower_bound and partition_upper_bound go together",
                ))
            }
        };
        let partition_num = o
            .i64("partition_num")
            .map_err(e)?
            .filter(|n| *n > 0)
            .map(|n| n.min(100_000) as usize)
            .unwrap_or(ctx.parallelism.max(1));
        let fetch_size = o
            .i64("fetch_size")
            .map_err(e)?
            .filter(|n| *n > 0)
            .unwrap_or(8192)
            .min(1_000_000) as usize;

        let probe_conn = conn.clone();
        let probe_query = query.clone();
        let probe_column = partition_column.clone();
        let (columns, splits) = run_blocking(async move {
            // One connection answers both questions.
            let mut client = probe_conn.open().await?;
            let described = Described::probe(&mut client, &probe_query).await?;
            let splits = match &probe_column {
                None => vec![SplitRange::All],
                Some(c) => {
                    let field = described.schema.field_with_name(c).map_err(|_| {
                        WeirError::new(format!(
                            "partition_column '{c}' is not a column of the query"
                        ))
                    })?;
                    let integer = matches!(
                        field.data_type(),
                        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
                    ) || matches!(field.data_type(), DataType::Decimal128(_, 0));
                    if !integer {
                        return Err(WeirError::new(format!(
                            "partition_column '{c}' is {}, not an integer column",
                            field.data_type()
                        ))
                        .with_hint("split by an integer key, or leave partition_column out"));
                    }
                    let bounds = match given_bounds {
                        Some(b) => Some(b),
                        None => {
                            let quoted = probe_conn.url.dialect.quote(c);
                            bounds(&mut client, &probe_query, &quoted).await?
                        }
                    };
                    plan(bounds, partition_num)
                }
            };
            client.close().await;
            Ok((Arc::new(described), splits))
        })?;
        Ok(Arc::new(PreparedJdbc {
            conn,
            query,
            partition_column: partition_column.map(|c| dialect.quote(&c)),
            described: columns,
            splits,
            fetch_size,
        }))
    }
}

/// A query's columns as its database describes them.
#[derive(Debug, Clone)]
pub struct Described {
    pub schema: SchemaRef,
    pub pg: Vec<pg::PgColumn>,
    pub mysql: Vec<mysql::MyColumn>,
}

impl Described {
    async fn probe(client: &mut Client, query: &str) -> WeirResult<Described> {
        Ok(match client {
            Client::Pg(c) => {
                let columns = pg::describe(c, query).await?;
                Described {
                    schema: pg::schema(&columns),
                    pg: columns,
                    mysql: Vec::new(),
                }
            }
            Client::My(c) => {
                let columns = mysql::describe(c, query).await?;
                Described {
                    schema: mysql::schema(&columns),
                    pg: Vec::new(),
                    mysql: columns,
                }
            }
        })
    }
}

/// The smallest and largest value of `column` (quoted) in `query`.
async fn bounds(client: &mut Client, query: &str, column: &str) -> WeirResult<Option<(i64, i64)>> {
    match client {
        Client::Pg(c) => pg::bounds(c, query, column).await,
        Client::My(c) => mysql::bounds(c, query, column).await,
    }
}

struct PreparedJdbc {
    conn: Connection,
    query: String,
    /// Quoted for the database.
    partition_column: Option<String>,
    described: Arc<Described>,
    splits: Vec<SplitRange>,
    fetch_size: usize,
}

impl PreparedSource for PreparedJdbc {
    fn schema(&self) -> SchemaRef {
        self.described.schema.clone()
    }

    fn create_reader(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SourceReader>> {
        let todo = self
            .splits
            .iter()
            .enumerate()
            .filter(|(i, _)| i % subtask.parallelism.max(1) == subtask.index)
            .map(|(_, s)| SplitState {
                range: s.clone(),
                emitted: 0,
            })
            .collect();
        Ok(Box::new(JdbcReader {
            conn: self.conn.clone(),
            query: self.query.clone(),
            partition_column: self.partition_column.clone(),
            described: self.described.clone(),
            fetch_size: self.fetch_size,
            todo,
            reading: None,
            pending: None,
            client: None,
        }))
    }
}

/// One split's position: operator state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SplitState {
    range: SplitRange,
    /// Rows of it already emitted.
    emitted: u64,
}

enum Reading {
    Pg(pg::Cursor),
    My(mysql::Stream),
}

struct JdbcReader {
    conn: Connection,
    query: String,
    partition_column: Option<String>,
    described: Arc<Described>,
    fetch_size: usize,
    /// Splits not finished, the one being read first.
    todo: std::collections::VecDeque<SplitState>,
    reading: Option<Reading>,
    /// Rows of a resumed split read while skipping, not yet emitted.
    pending: Option<arrow::record_batch::RecordBatch>,
    /// The connection, kept across PostgreSQL splits (a MySQL split streams on one of its
    /// own).
    client: Option<Client>,
}

impl JdbcReader {
    fn split_sql(&self, split: &SplitState) -> String {
        let sql = split
            .range
            .sql(&self.query, self.partition_column.as_deref());
        match (&self.partition_column, &split.range) {
            // Ordered, so a resumed split skips exactly the rows it had emitted.
            (Some(c), SplitRange::Between { .. }) => format!("{sql} ORDER BY {c}"),
            _ => sql,
        }
    }

    /// An open connection: the one kept, or a new one.
    async fn client(&mut self) -> WeirResult<Client> {
        match self.client.take() {
            Some(c) if c.is_alive() => Ok(c),
            _ => self.conn.open().await,
        }
    }

    /// The next batch of the current split, skipping what a restored position says was
    /// emitted; `None` when the split is done.
    async fn next_rows(&mut self) -> WeirResult<Option<arrow::record_batch::RecordBatch>> {
        let Some(split) = self.todo.front().cloned() else {
            return Ok(None);
        };
        let sql = self.split_sql(&split);
        let fetch = self.fetch_size;
        let described = self.described.clone();
        if self.reading.is_none() {
            let reading = match self.client().await? {
                Client::Pg(c) => {
                    let cursor = pg::Cursor::open(&c, &sql).await?;
                    self.client = Some(Client::Pg(c));
                    Reading::Pg(cursor)
                }
                Client::My(c) => Reading::My(mysql::Stream::open(c, &sql, fetch)),
            };
            self.reading = Some(reading);
            // A restored split: drop the rows it emitted before the checkpoint.
            let mut skip = split.emitted;
            while skip > 0 {
                let n = (skip as usize).min(fetch);
                match self.fetch(n, &described).await? {
                    Some(b) if b.num_rows() as u64 > skip => {
                        let tail = b.slice(skip as usize, b.num_rows() - skip as usize);
                        self.pending = Some(tail);
                        skip = 0;
                    }
                    Some(b) if b.num_rows() > 0 => skip -= b.num_rows() as u64,
                    _ => break,
                }
            }
        }
        let batch = match self.pending.take() {
            Some(b) => Some(b),
            None => self.fetch(fetch, &described).await?,
        };
        match batch {
            Some(b) if b.num_rows() > 0 => {
                if let Some(s) = self.todo.front_mut() {
                    s.emitted += b.num_rows() as u64;
                }
                Ok(Some(b))
            }
            _ => {
                self.reading = None;
                self.todo.pop_front();
                Ok(Some(arrow::record_batch::RecordBatch::new_empty(
                    described.schema.clone(),
                )))
            }
        }
    }

    async fn fetch(
        &mut self,
        n: usize,
        described: &Described,
    ) -> WeirResult<Option<arrow::record_batch::RecordBatch>> {
        match self.reading.as_mut() {
            None => Ok(None),
            Some(Reading::Pg(cursor)) => {
                let Some(Client::Pg(client)) = self.client.as_ref() else {
                    return Err(WeirError::new("a PostgreSQL split lost its connection"));
                };
                let rows = cursor.fetch(client, n).await?;
                if rows.is_empty() {
                    return Ok(None);
                }
                pg::to_batch(&rows, &described.pg, &described.schema).map(Some)
            }
            // A MySQL split's stream hands over fetch_size rows at a time; skipping counts
            // whole chunks, which is exact because a resumed split skips what it emitted,
            // chunk by chunk.
            Some(Reading::My(stream)) => {
                let _ = n;
                stream.fetch(&described.mysql, &described.schema).await
            }
        }
    }
}

#[async_trait]
impl SourceReader for JdbcReader {
    async fn next(&mut self) -> WeirResult<SourceEvent> {
        loop {
            if self.todo.is_empty() {
                return Ok(SourceEvent::End);
            }
            match self.next_rows().await? {
                Some(b) if b.num_rows() > 0 => return Ok(SourceEvent::Batch(Batch::inserts(b))),
                _ => continue,
            }
        }
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        self.todo
            .iter()
            .map(|s| serde_json::to_vec(s).map_err(|e| WeirError::new(e.to_string())))
            .collect()
    }

    fn restore_state(&mut self, entries: Vec<Vec<u8>>) -> WeirResult<()> {
        self.todo = entries
            .iter()
            .map(|e| {
                serde_json::from_slice::<SplitState>(e)
                    .map_err(|e| WeirError::new(format!("a Jdbc split in the checkpoint: {e}")))
            })
            .collect::<WeirResult<_>>()?;
        self.reading = None;
        self.pending = None;
        Ok(())
    }
}
