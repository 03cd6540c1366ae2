//! SeaTunnel's `Kafka` source. Partitions are the splits: each belongs to one subtask (by the
//! rule Flink's Kafka source uses), and each subtask's next offsets are its operator state, so
//! a restore resumes exactly at the checkpoint. Offsets are committed to the consumer group
//! only when a checkpoint completes, for lag monitors; the group is never where a restore
//! starts.
//!
//! After a restore a subtask reads the partitions whose offsets it was handed (a change of
//! parallelism deals them out anew). Partitions that appear later (a topic grows, or a new
//! topic matches the pattern) are taken by their owning subtask from the earliest offset.

use crate::cluster::Cluster;
use crate::fetch::{FetchSettings, Message};
use crate::format;
use crate::offsets::{TopicPartition, EARLIEST};
use crate::settings::{SourceSettings, StartMode, Topics};
use crate::wire::error_name;
use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};
use weir_runtime::batch::Batch;
use weir_runtime::blocking::run_blocking;
use weir_runtime::operator::{
    PrepareContext, PreparedSource, SourceEvent, SourceFactory, SourceReader, SubtaskContext,
};

/// Java's `String.hashCode`, so partitions land on the subtasks Flink would put them on.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The subtask that owns `tp` among `parallelism` (Flink's `KafkaSourceEnumerator`).
pub fn owner(tp: &TopicPartition, parallelism: usize) -> usize {
    let n = parallelism.max(1) as i64;
    let start = ((java_hash(&tp.topic) as i64 * 31) & 0x7FFF_FFFF) % n;
    ((start + tp.partition as i64) % n) as usize
}

/// One saved position: the next offset of one partition, and how many partitions each topic
/// had when it was taken (so a restored subtask knows which partitions are new).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Position {
    topic: String,
    partition: i32,
    offset: i64,
    #[serde(default)]
    topic_partitions: BTreeMap<String, i32>,
}

pub struct KafkaSourceFactory;

impl SourceFactory for KafkaSourceFactory {
    fn spec(&self) -> PluginSpec {
        use OptionType::*;
        PluginSpec::new(
            "Kafka",
            PluginKind::Source,
            vec![
                OptionSpec::required("bootstrap.servers", String),
                OptionSpec::required("topic", String),
                OptionSpec::optional("pattern", Bool),
                OptionSpec::optional("consumer.group", String),
                OptionSpec::optional("commit_on_checkpoint", Bool),
                OptionSpec::optional("start_mode", String),
                OptionSpec::optional("start_mode.offsets", Object),
                OptionSpec::optional("start_mode.timestamp", Int),
                OptionSpec::optional("partition-discovery.interval-millis", Int),
                OptionSpec::optional("format", String),
                OptionSpec::optional("field_delimiter", String),
                OptionSpec::optional("format_error_handle_way", String),
                OptionSpec::optional("schema", Object),
                OptionSpec::optional("kafka.config", Object),
            ],
        )
        .ignoring(&[
            "poll.timeout",
            "start_mode.end_timestamp",
            "is_native",
            "key.pattern",
        ])
    }

    fn prepare(&self, o: &Options, ctx: &PrepareContext) -> WeirResult<Arc<dyn PreparedSource>> {
        let settings = SourceSettings::parse(o)?;
        let schema = match o.get("schema") {
            Some(s) => Arc::new(
                weir_pipeline::types::parse_schema(s)
                    .map_err(|t| WeirError::new(format!("bad schema: {}", t.0)))?,
            ),
            // SeaTunnel's default: the whole message as one `content` column.
            None => Arc::new(Schema::new(vec![Field::new(
                "content",
                DataType::Utf8,
                true,
            )])),
        };
        let raw = o.get("schema").is_none();
        // Reach the brokers now, so a wrong address or a missing topic fails the submit.
        let check = settings.clone();
        let topics = run_blocking(async move {
            let mut c = Cluster::connect(check.client.clone()).await?;
            matching_topics(&mut c, &check.topics).await
        })
        .map_err(|e| WeirError::new(format!("Kafka source: {}", e.message)))?;
        if let Topics::Names(names) = &settings.topics {
            let missing: Vec<&String> = names.iter().filter(|n| !topics.contains_key(*n)).collect();
            if !missing.is_empty() {
                return Err(WeirError::new(format!(
                    "Kafka source: topic {} does not exist on {}",
                    missing
                        .iter()
                        .map(|m| format!("'{m}'"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    settings.client.bootstrap.join(",")
                ))
                .with_hint("create the topic, or check the option 'topic'"));
            }
        }
        Ok(Arc::new(PreparedKafkaSource {
            settings,
            schema,
            raw,
            bounded: ctx.mode == weir_pipeline::JobMode::Batch,
        }))
    }
}

/// Topics the selector matches, with their partition counts.
async fn matching_topics(c: &mut Cluster, topics: &Topics) -> WeirResult<BTreeMap<String, i32>> {
    let meta = match topics {
        Topics::Names(n) => c.metadata(Some(n)).await?,
        Topics::Pattern(_) => c.metadata(None).await?,
    };
    Ok(meta
        .into_iter()
        .filter(|(t, _)| topics.matches(t))
        .map(|(t, info)| (t, info.partitions.len() as i32))
        .collect())
}

struct PreparedKafkaSource {
    settings: SourceSettings,
    schema: SchemaRef,
    /// No schema given: each message is one `content` string.
    raw: bool,
    /// A batch job reads up to the end offsets the partitions had when it started.
    bounded: bool,
}

#[async_trait]
impl PreparedSource for PreparedKafkaSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn create_reader(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SourceReader>> {
        Ok(Box::new(KafkaReader {
            settings: self.settings.clone(),
            schema: self.schema.clone(),
            raw: self.raw,
            bounded: self.bounded,
            ends: BTreeMap::new(),
            subtask,
            cluster: None,
            offsets: BTreeMap::new(),
            restored: None,
            known: BTreeMap::new(),
            next_discovery: Instant::now(),
            started: false,
            skipped: 0,
            committed: BTreeMap::new(),
            pending_commits: BTreeMap::new(),
        }))
    }
}

struct KafkaReader {
    settings: SourceSettings,
    schema: SchemaRef,
    raw: bool,
    bounded: bool,
    /// Bounded: where each partition's input ends.
    ends: BTreeMap<TopicPartition, i64>,
    subtask: SubtaskContext,
    cluster: Option<Cluster>,
    /// The partitions this subtask reads and the next offset of each.
    offsets: BTreeMap<TopicPartition, i64>,
    /// After a restore: the saved partition counts (None for a fresh start).
    restored: Option<BTreeMap<String, i32>>,
    /// Partitions of each matching topic seen so far.
    known: BTreeMap<String, i32>,
    next_discovery: Instant,
    started: bool,
    skipped: u64,
    /// Offsets committed to the group, and those of checkpoints not yet complete.
    committed: BTreeMap<TopicPartition, i64>,
    pending_commits: BTreeMap<u64, BTreeMap<TopicPartition, i64>>,
}

impl KafkaReader {
    async fn cluster(&mut self) -> WeirResult<&mut Cluster> {
        if self.cluster.is_none() {
            self.cluster = Some(Cluster::connect(self.settings.client.clone()).await?);
        }
        self.cluster
            .as_mut()
            .ok_or_else(|| WeirError::new("Kafka connection vanished"))
    }

    /// Partitions of matching topics this subtask should start reading now, and from where.
    async fn discover(&mut self) -> WeirResult<()> {
        let topics = self.settings.topics.clone();
        let counts = matching_topics(self.cluster().await?, &topics).await?;
        let first = !self.started;
        let mut fresh: Vec<TopicPartition> = Vec::new();
        let mut grown: Vec<TopicPartition> = Vec::new();
        for (topic, n) in &counts {
            let seen = self.known.get(topic).copied();
            for p in 0..*n {
                let tp = TopicPartition {
                    topic: topic.clone(),
                    partition: p,
                };
                if self.offsets.contains_key(&tp)
                    || owner(&tp, self.subtask.parallelism) != self.subtask.index
                {
                    continue;
                }
                if seen.is_some_and(|s| p < s) {
                    continue; // known and not ours
                }
                match (&self.restored, first) {
                    // A fresh start: the start mode decides.
                    (None, true) => fresh.push(tp),
                    // Restored: what the checkpoint knew is read by whoever got its offset;
                    // what it did not know is new.
                    (Some(saved), true) => {
                        if saved.get(topic).is_some_and(|s| p >= *s)
                            || (!saved.is_empty() && !saved.contains_key(topic))
                        {
                            grown.push(tp);
                        }
                    }
                    (_, false) => grown.push(tp),
                }
            }
        }
        self.known = counts;
        let read_committed = self.settings.read_committed;
        if !fresh.is_empty() {
            let start = self.settings.start.clone();
            let group = self.settings.group.clone();
            let c = self.cluster().await?;
            let found = match &start {
                StartMode::Earliest => c.list_offsets(&fresh, EARLIEST, read_committed).await?,
                StartMode::Latest => c.end_offsets(&fresh, read_committed).await?,
                StartMode::Timestamp(ts) => c.list_offsets(&fresh, *ts, read_committed).await?,
                StartMode::Specific(m) => {
                    let rest: Vec<TopicPartition> = fresh
                        .iter()
                        .filter(|tp| !m.contains_key(tp))
                        .cloned()
                        .collect();
                    let mut out = c.list_offsets(&rest, EARLIEST, read_committed).await?;
                    for tp in &fresh {
                        if let Some(o) = m.get(tp) {
                            out.insert(tp.clone(), *o);
                        }
                    }
                    out
                }
                StartMode::GroupOffsets => {
                    let mut out = c.group_offsets(&group, &fresh).await?;
                    let rest: Vec<TopicPartition> = fresh
                        .iter()
                        .filter(|tp| !out.contains_key(tp))
                        .cloned()
                        .collect();
                    // Kafka's auto.offset.reset default for partitions the group never read.
                    out.extend(c.list_offsets(&rest, EARLIEST, read_committed).await?);
                    out
                }
            };
            self.offsets.extend(found);
        }
        if !grown.is_empty() {
            let c = self.cluster().await?;
            let found = c.list_offsets(&grown, EARLIEST, read_committed).await?;
            for (tp, o) in found {
                tracing::info!(partition = %tp, offset = o, "Kafka source reads a new partition");
                self.offsets.insert(tp, o);
            }
        }
        if self.bounded && !self.started {
            let parts: Vec<TopicPartition> = self.offsets.keys().cloned().collect();
            let c = self.cluster().await?;
            self.ends = c.end_offsets(&parts, read_committed).await?;
        }
        self.started = true;
        if let Some(every) = self.settings.discovery.filter(|_| !self.bounded) {
            self.next_discovery = Instant::now() + every;
        }
        Ok(())
    }

    fn rows(&mut self, messages: Vec<Message>) -> WeirResult<Batch> {
        if self.raw {
            let col: ArrayRef = Arc::new(StringArray::from_iter(messages.iter().map(|m| {
                m.value
                    .as_ref()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })));
            let records = RecordBatch::try_new(self.schema.clone(), vec![col])
                .map_err(|e| WeirError::new(e.to_string()))?;
            return Ok(Batch::inserts(records));
        }
        let values: Vec<_> = messages.into_iter().map(|m| m.value).collect();
        let (batch, skipped) =
            format::decode(&self.settings.format, &self.schema, &values, self.settings.on_error)
                .map_err(|e| {
                    WeirError::new(format!(
                        "Kafka source: a message cannot be read as {:?}: {} (format_error_handle_way = skip skips such messages)",
                        self.settings.format, e.message
                    ))
                })?;
        self.skipped += skipped as u64;
        Ok(batch)
    }

    async fn poll(&mut self) -> WeirResult<Vec<Message>> {
        let settings = FetchSettings {
            read_committed: self.settings.read_committed,
            max_wait: self.settings.max_wait,
            partition_max_bytes: self.settings.partition_max_bytes,
        };
        let mut by_leader: BTreeMap<i32, BTreeMap<TopicPartition, i64>> = BTreeMap::new();
        let wanted: Vec<(TopicPartition, i64)> = self
            .offsets
            .iter()
            .filter(|(t, o)| !self.bounded || self.ends.get(*t).is_some_and(|e| **o < *e))
            .map(|(t, o)| (t.clone(), *o))
            .collect();
        for (tp, o) in wanted {
            let leader = self
                .cluster()
                .await?
                .leader(&tp.topic, tp.partition)
                .await?;
            by_leader.entry(leader).or_default().insert(tp, o);
        }
        let mut out = Vec::new();
        for (leader, parts) in by_leader {
            let fetched = self
                .cluster()
                .await?
                .fetch(leader, &parts, settings)
                .await?;
            for f in fetched {
                match f.error {
                    0 => {
                        let end = self.ends.get(&f.tp).copied().filter(|_| self.bounded);
                        out.extend(
                            f.messages
                                .into_iter()
                                .filter(|m| end.is_none_or(|e| m.offset < e)),
                        );
                        self.offsets.insert(f.tp, f.next_offset);
                    }
                    // NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH, …
                    code if crate::wire::is_retriable(code) => {
                        self.cluster().await?.forget_leaders(&f.tp.topic);
                    }
                    // OFFSET_OUT_OF_RANGE: the data was deleted by retention.
                    1 => {
                        let c = self.cluster().await?;
                        let start = c
                            .list_offsets(std::slice::from_ref(&f.tp), EARLIEST, false)
                            .await?;
                        let at = start.get(&f.tp).copied().unwrap_or(0);
                        tracing::warn!(partition = %f.tp, from = at, "Kafka offset out of range; reading from the earliest offset");
                        self.offsets.insert(f.tp, at);
                    }
                    code => {
                        return Err(WeirError::new(format!(
                            "Kafka source: fetching {} failed: {}",
                            f.tp,
                            error_name(code)
                        )))
                    }
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl SourceReader for KafkaReader {
    async fn next(&mut self) -> WeirResult<SourceEvent> {
        if !self.started
            || self.settings.discovery.is_some() && Instant::now() >= self.next_discovery
        {
            self.discover().await?;
        }
        if self.bounded
            && self
                .offsets
                .iter()
                .all(|(tp, o)| self.ends.get(tp).is_none_or(|e| o >= e))
        {
            return Ok(SourceEvent::End);
        }
        if self.offsets.is_empty() {
            return Ok(SourceEvent::Idle(Duration::from_millis(200)));
        }
        let messages = match self.poll().await {
            Ok(m) => m,
            Err(e) => {
                // The broker may be restarting: drop the connections and try again later;
                // a fetch changes nothing, so retrying it is safe.
                tracing::warn!(error = %e.message, "Kafka fetch failed; retrying");
                self.cluster = None;
                return Ok(SourceEvent::Idle(Duration::from_millis(500)));
            }
        };
        if messages.is_empty() {
            return Ok(SourceEvent::Idle(Duration::from_millis(10)));
        }
        Ok(SourceEvent::Batch(self.rows(messages)?))
    }

    fn take_skipped(&mut self) -> u64 {
        std::mem::take(&mut self.skipped)
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        if !self.started {
            return Err(WeirError::new(
                "the Kafka source has not asked for its start offsets yet",
            ));
        }
        let counts = match &self.restored {
            Some(saved) if self.known.is_empty() => saved.clone(),
            _ => self.known.clone(),
        };
        if self.settings.commit_on_checkpoint {
            self.pending_commits
                .insert(checkpoint_id, self.offsets.clone());
        }
        self.offsets
            .iter()
            .map(|(tp, o)| {
                serde_json::to_vec(&Position {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    offset: *o,
                    topic_partitions: counts.clone(),
                })
                .map_err(|e| WeirError::new(e.to_string()))
            })
            .collect()
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        let done: Vec<u64> = self
            .pending_commits
            .range(..=checkpoint_id)
            .map(|(k, _)| *k)
            .collect();
        let mut latest = None;
        for k in done {
            latest = self.pending_commits.remove(&k);
        }
        let Some(offsets) = latest else { return };
        let changed: BTreeMap<TopicPartition, i64> = offsets
            .into_iter()
            .filter(|(tp, o)| self.committed.get(tp) != Some(o))
            .collect();
        if changed.is_empty() {
            return;
        }
        // The group's offsets are for monitoring: committed in the background, never waited on.
        let client = self.settings.client.clone();
        let group = self.settings.group.clone();
        self.committed.extend(changed.clone());
        tokio::spawn(async move {
            let r = async {
                let mut c = Cluster::connect(client).await?;
                c.commit_group_offsets(&group, &changed).await
            }
            .await;
            if let Err(e) = r {
                tracing::warn!(group = %group, error = %e.message, "committing Kafka offsets failed");
            }
        });
    }

    fn restore_state(&mut self, entries: Vec<Vec<u8>>) -> WeirResult<()> {
        let mut counts = BTreeMap::new();
        for e in entries {
            let p: Position = serde_json::from_slice(&e)
                .map_err(|err| WeirError::new(format!("unreadable Kafka source state: {err}")))?;
            for (t, n) in &p.topic_partitions {
                let c = counts.entry(t.clone()).or_insert(*n);
                *c = (*c).max(*n);
            }
            self.offsets.insert(
                TopicPartition {
                    topic: p.topic,
                    partition: p.partition,
                },
                p.offset,
            );
        }
        // Partitions the checkpoint knew count as known (someone has their offsets).
        self.known = counts.clone();
        self.restored = Some(counts);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_spread_over_subtasks_as_flink_spreads_them() {
        assert_eq!(java_hash("topic"), 110_546_223);
        let tp = |p| TopicPartition {
            topic: "orders".into(),
            partition: p,
        };
        let owners: Vec<usize> = (0..4).map(|p| owner(&tp(p), 2)).collect();
        assert_eq!(owners.iter().filter(|o| **o == 0).count(), 2);
        assert_ne!(owners[0], owners[1]);
        assert_eq!(owner(&tp(5), 1), 0);
    }

    #[test]
    fn positions_round_trip() {
        let p = Position {
            topic: "t".into(),
            partition: 3,
            offset: 42,
            topic_partitions: [("t".to_string(), 4)].into_iter().collect(),
        };
        let back: Position = serde_json::from_slice(&serde_json::to_vec(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
