//! How a subtask's output reaches downstream subtasks: forward, round-robin, or by key hash
//! through key groups (as Flink: key → key group → subtask), so keyed state can later be
//! redistributed when parallelism changes.

use crate::batch::Batch;
use crate::channel::{ChannelSender, Disconnected, StreamElement};
use arrow::array::UInt32Array;
use arrow::row::{RowConverter, SortField};
use std::hash::{BuildHasher, Hasher};
use weir_core::{WeirError, WeirResult};

/// Default number of key groups (Flink's default max parallelism for small jobs).
pub const DEFAULT_MAX_PARALLELISM: usize = 128;

/// The key group of a key hash.
pub fn key_group(hash: u64, max_parallelism: usize) -> usize {
    (hash % max_parallelism as u64) as usize
}

/// The subtask that owns a key group (Flink's `computeOperatorIndexForKeyGroup`).
pub fn subtask_for_key_group(group: usize, max_parallelism: usize, parallelism: usize) -> usize {
    group * parallelism / max_parallelism
}

/// The key group of a key, given its bytes in Arrow's row format. The edge that routes rows
/// and the keyed operator that stores their state both call this, so they always agree.
pub fn key_group_of_row(row: &[u8], max_parallelism: usize) -> usize {
    let mut h = KEY_HASH.build_hasher();
    h.write(row);
    key_group(h.finish(), max_parallelism)
}

/// Fixed seeds: every subtask (and every process) must agree on where a key goes.
static KEY_HASH: ahash::RandomState =
    ahash::RandomState::with_seeds(0x5eed, 0xc0ffee, 0xfeed, 0xbeef);

/// Computes the target subtask of every row by hashing key columns.
pub struct KeyHasher {
    key_columns: Vec<usize>,
    converter: RowConverter,
    max_parallelism: usize,
}

impl KeyHasher {
    /// Hashes the columns at `key_columns` of batches with `schema`.
    pub fn new(
        schema: &arrow::datatypes::Schema,
        key_columns: Vec<usize>,
        max_parallelism: usize,
    ) -> WeirResult<Self> {
        let fields = key_columns
            .iter()
            .map(|&i| SortField::new(schema.field(i).data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields)
            .map_err(|e| WeirError::new(format!("cannot hash the key columns: {e}")))?;
        Ok(Self {
            key_columns,
            converter,
            max_parallelism,
        })
    }

    /// The downstream subtask of each row.
    pub fn targets(&self, batch: &Batch, parallelism: usize) -> WeirResult<Vec<u32>> {
        if self.key_columns.is_empty() {
            // No key (a global aggregate): one group, the key group of the empty key.
            let group = key_group_of_row(&[], self.max_parallelism);
            let target = subtask_for_key_group(group, self.max_parallelism, parallelism) as u32;
            return Ok(vec![target; batch.num_rows()]);
        }
        let cols: Vec<_> = self
            .key_columns
            .iter()
            .map(|&i| batch.records.column(i).clone())
            .collect();
        let rows = self
            .converter
            .convert_columns(&cols)
            .map_err(|e| WeirError::new(format!("hashing keys: {e}")))?;
        Ok(rows
            .iter()
            .map(|row| {
                let group = key_group_of_row(row.as_ref(), self.max_parallelism);
                subtask_for_key_group(group, self.max_parallelism, parallelism) as u32
            })
            .collect())
    }
}

/// How one output edge routes batches.
pub enum Router {
    /// Exactly one target.
    Forward,
    /// Whole batches round-robin.
    RoundRobin { next: usize },
    /// Rows by key.
    Hash(Box<KeyHasher>),
}

/// One edge's senders, one per downstream subtask this subtask feeds.
pub struct OutputEdge {
    pub router: Router,
    pub targets: Vec<ChannelSender>,
}

impl OutputEdge {
    /// Routes one batch.
    pub async fn emit(&mut self, batch: Batch) -> Result<(), EmitError> {
        match &mut self.router {
            Router::Forward => send(&self.targets[0], StreamElement::Data(batch)).await,
            Router::RoundRobin { next } => {
                let i = *next % self.targets.len();
                *next = next.wrapping_add(1);
                send(&self.targets[i], StreamElement::Data(batch)).await
            }
            // One downstream subtask owns every key group: no need to hash.
            Router::Hash(_) if self.targets.len() == 1 => {
                send(&self.targets[0], StreamElement::Data(batch)).await
            }
            Router::Hash(hasher) => {
                let n = self.targets.len();
                let targets = hasher.targets(&batch, n).map_err(EmitError::Failed)?;
                let mut per_target: Vec<Vec<u32>> = vec![Vec::new(); n];
                for (row, t) in targets.iter().enumerate() {
                    per_target[*t as usize].push(row as u32);
                }
                for (t, rows) in per_target.into_iter().enumerate() {
                    if rows.is_empty() {
                        continue;
                    }
                    let part = batch
                        .take(&UInt32Array::from(rows))
                        .map_err(EmitError::Failed)?;
                    send(&self.targets[t], StreamElement::Data(part)).await?;
                }
                Ok(())
            }
        }
    }

    /// Sends a control element to every target.
    pub async fn broadcast(&self, element: StreamElement) -> Result<(), EmitError> {
        for t in &self.targets {
            send(t, element.clone()).await?;
        }
        Ok(())
    }

    /// Rows currently buffered in this edge's channels.
    pub fn in_flight(&self) -> usize {
        self.targets.iter().map(ChannelSender::in_flight).sum()
    }
}

/// Why an emit did not happen.
#[derive(Debug)]
pub enum EmitError {
    /// The downstream is gone (the job is being torn down).
    Disconnected,
    Failed(WeirError),
}

async fn send(to: &ChannelSender, el: StreamElement) -> Result<(), EmitError> {
    to.send(el)
        .await
        .map_err(|Disconnected| EmitError::Disconnected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::channel;
    use arrow::array::{Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    fn keyed(keys: &[&str]) -> Batch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, false),
            Field::new("v", DataType::Int64, false),
        ]));
        let rb = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(keys.to_vec())),
                Arc::new(Int64Array::from_iter_values(0..keys.len() as i64)),
            ],
        )
        .unwrap();
        Batch::inserts(rb)
    }

    #[tokio::test]
    async fn hash_routing_sends_every_key_to_one_subtask() {
        let b = keyed(&["a", "b", "c", "a", "b", "c", "d", "a"]);
        let hasher = KeyHasher::new(&b.records.schema(), vec![0], DEFAULT_MAX_PARALLELISM).unwrap();
        let (channels, mut receivers): (Vec<_>, Vec<_>) = (0..3).map(|_| channel(100)).unzip();
        let mut edge = OutputEdge {
            router: Router::Hash(Box::new(hasher)),
            targets: channels,
        };
        edge.emit(b.clone()).await.unwrap();
        edge.emit(b).await.unwrap();
        edge.broadcast(StreamElement::EndOfInput).await.unwrap();
        let mut owner: std::collections::HashMap<String, usize> = Default::default();
        let mut total = 0;
        for (i, rx) in receivers.iter_mut().enumerate() {
            while let Some(StreamElement::Data(part)) = rx.recv().await {
                let keys = part
                    .records
                    .column(0)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap();
                for r in 0..keys.len() {
                    let prev = owner.insert(keys.value(r).to_string(), i);
                    assert!(
                        prev.is_none() || prev == Some(i),
                        "key {} on two subtasks",
                        keys.value(r)
                    );
                    total += 1;
                }
            }
        }
        assert_eq!(total, 16);
        assert_eq!(owner.len(), 4);
    }

    #[test]
    fn key_groups_cover_all_subtasks_evenly() {
        let counts = (0..128).fold(vec![0; 4], |mut c, g| {
            c[subtask_for_key_group(g, 128, 4)] += 1;
            c
        });
        assert_eq!(counts, vec![32, 32, 32, 32]);
    }
}
