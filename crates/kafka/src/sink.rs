//! SeaTunnel's `Kafka` sink: rows as messages in the job's `format`, routed to a topic (fixed
//! or `${column}`), to a partition (`partition`, `assign_partitions`, the key's murmur2 hash
//! as Kafka's own producer does, or round-robin), with the delivery guarantee `semantics`
//! asks for. `EXACTLY_ONCE` lives in [`crate::exactly_once`].

use crate::cluster::Cluster;
use crate::exactly_once::{SinkState, Transactions};
use crate::format;
use crate::offsets::TopicPartition;
use crate::produce::{encode_batch, Outgoing};
use crate::settings::{Semantics, SinkSettings, TopicRoute};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};
use weir_runtime::batch::Batch;
use weir_runtime::blocking::run_blocking;
use weir_runtime::connectors::table_placeholders;
use weir_runtime::injected_failure::{FailOnce, InjectedFailure};
use weir_runtime::operator::{
    PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext,
};

/// Kafka's default partitioner hash (`Utils.murmur2`), so keyed rows land where a Java
/// producer would put them.
pub fn murmur2(data: &[u8]) -> i32 {
    let m: i32 = 0x5bd1_e995;
    let r = 24;
    let len = data.len() as i32;
    let mut h: i32 = 0x9747_b28c_u32 as i32 ^ len;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(m);
        k ^= ((k as u32) >> r) as i32;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m);
        h ^= k;
    }
    match tail.len() {
        3 => {
            h ^= (tail[2] as i32) << 16;
            h ^= (tail[1] as i32) << 8;
            h ^= tail[0] as i32;
            h = h.wrapping_mul(m);
        }
        2 => {
            h ^= (tail[1] as i32) << 8;
            h ^= tail[0] as i32;
            h = h.wrapping_mul(m);
        }
        1 => {
            h ^= tail[0] as i32;
            h = h.wrapping_mul(m);
        }
        _ => {}
    }
    h ^= ((h as u32) >> 13) as i32;
    h = h.wrapping_mul(m);
    h ^= ((h as u32) >> 15) as i32;
    h
}

pub struct KafkaSinkFactory;

impl SinkFactory for KafkaSinkFactory {
    fn spec(&self) -> PluginSpec {
        use OptionType::*;
        PluginSpec::new(
            "Kafka",
            PluginKind::Sink,
            vec![
                OptionSpec::required("bootstrap.servers", String),
                OptionSpec::required("topic", String),
                OptionSpec::optional("format", String),
                OptionSpec::optional("field_delimiter", String),
                OptionSpec::optional("partition_key_fields", StringList),
                OptionSpec::optional("partition", Int),
                OptionSpec::optional("assign_partitions", StringList),
                OptionSpec::optional("semantics", String),
                OptionSpec::optional("transaction_prefix", String),
                OptionSpec::optional("kafka.config", Object),
            ]
            .into_iter()
            .chain(weir_runtime::injected_failure::options())
            .collect(),
        )
        .ignoring(&[
            "kafka.request.timeout.ms",
            "protobuf_message_name",
            "protobuf_schema",
        ])
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        let topic = o
            .str("topic")
            .map_err(WeirError::new)?
            .ok_or_else(|| WeirError::new("the Kafka sink needs 'topic'"))?;
        let topic = table_placeholders::fill(&topic, ctx.table_paths.first().map(|s| s.as_str()))?;
        let settings = SinkSettings::parse(o, &topic)?;
        for f in &settings.key_fields {
            if input.index_of(f).is_err() {
                return Err(WeirError::new(format!(
                    "Kafka sink: partition_key_fields names '{f}', which the input does not have"
                )));
            }
        }
        if let TopicRoute::Column(c) = &settings.topic {
            if input.index_of(c).is_err() {
                return Err(WeirError::new(format!(
                    "Kafka sink: topic '${{{c}}}' names a column the input does not have"
                )));
            }
        }
        let check = settings.clone();
        run_blocking(async move {
            let mut c = Cluster::connect(check.client.clone()).await?;
            if let TopicRoute::Fixed(t) = &check.topic {
                if !c
                    .metadata(Some(std::slice::from_ref(t)))
                    .await?
                    .contains_key(t)
                {
                    return Err(WeirError::new(format!("topic '{t}' does not exist"))
                        .with_hint("create the topic, or check the option 'topic'"));
                }
            }
            Ok(())
        })
        .map_err(|e| WeirError::new(format!("Kafka sink: {}", e.message)))?;
        let prefix = settings.transaction_prefix.clone().unwrap_or_else(|| {
            let identity = serde_json::to_string(o.as_map()).unwrap_or_default();
            format!(
                "weir-{}-{:08x}",
                ctx.job_id,
                weir_core::ids::fnv1a(identity.as_bytes())
            )
        });
        let fail = InjectedFailure::from_options(o)?;
        Ok(Arc::new(PreparedKafkaSink {
            settings,
            prefix,
            fail,
        }))
    }
}

struct PreparedKafkaSink {
    settings: SinkSettings,
    prefix: String,
    fail: Option<InjectedFailure>,
}

#[async_trait]
impl PreparedSink for PreparedKafkaSink {
    fn create_writer(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        let txns = (self.settings.semantics == Semantics::ExactlyOnce).then(|| {
            Transactions::new(
                self.prefix.clone(),
                subtask,
                self.settings.transaction_timeout_ms,
            )
        });
        Ok(Box::new(KafkaWriter {
            settings: self.settings.clone(),
            cluster: None,
            partitions: HashMap::new(),
            buffers: BTreeMap::new(),
            buffered: 0,
            round_robin: subtask.index,
            txns,
            fail: FailOnce::new(self.fail, &subtask, "Kafka"),
            broken: None,
        }))
    }
}

struct KafkaWriter {
    settings: SinkSettings,
    cluster: Option<Cluster>,
    /// Partition count per topic, and when it was asked.
    partitions: HashMap<String, (i32, Instant)>,
    buffers: BTreeMap<TopicPartition, Vec<Outgoing>>,
    buffered: usize,
    round_robin: usize,
    txns: Option<Transactions>,
    fail: FailOnce,
    /// Set when a write failed: what was buffered is gone, so nothing may continue until the
    /// task restarts from its checkpoint.
    broken: Option<String>,
}

impl KafkaWriter {
    fn check(&self) -> WeirResult<()> {
        match &self.broken {
            Some(e) => Err(WeirError::new(format!(
                "Kafka sink: an earlier write failed: {e}"
            ))),
            None => Ok(()),
        }
    }

    /// Runs `flush`, marking the writer broken if it fails.
    async fn flush_or_break(&mut self) -> WeirResult<()> {
        self.check()?;
        let r = self.flush().await;
        if let Err(e) = &r {
            self.broken = Some(e.message.clone());
        }
        r
    }

    async fn cluster(&mut self) -> WeirResult<&mut Cluster> {
        if self.cluster.is_none() {
            self.cluster = Some(Cluster::connect(self.settings.client.clone()).await?);
        }
        self.cluster
            .as_mut()
            .ok_or_else(|| WeirError::new("Kafka connection vanished"))
    }

    async fn partition_count(&mut self, topic: &str) -> WeirResult<i32> {
        if let Some((n, at)) = self.partitions.get(topic) {
            if at.elapsed() < Duration::from_secs(30) {
                return Ok(*n);
            }
        }
        let meta = self
            .cluster()
            .await?
            .metadata(Some(&[topic.to_string()]))
            .await?;
        let n = meta
            .get(topic)
            .map(|t| t.partitions.len() as i32)
            .filter(|n| *n > 0)
            .ok_or_else(|| WeirError::new(format!("Kafka sink: topic '{topic}' does not exist")))?;
        self.partitions
            .insert(topic.to_string(), (n, Instant::now()));
        Ok(n)
    }

    fn choose_partition(&mut self, n: i32, key: Option<&Bytes>, value: &Bytes) -> i32 {
        if let Some(p) = self.settings.partition {
            return p;
        }
        if !self.settings.assign_partitions.is_empty() {
            let text = String::from_utf8_lossy(value);
            let assigned = &self.settings.assign_partitions;
            if let Some(i) = assigned.iter().position(|a| text.contains(a.as_str())) {
                return i as i32;
            }
            let rest = (n - assigned.len() as i32).max(1);
            return (murmur2(value) & 0x7fff_ffff) % rest + (assigned.len() as i32).min(n - 1);
        }
        match key {
            Some(k) => (murmur2(k) & 0x7fff_ffff) % n,
            None => {
                self.round_robin = self.round_robin.wrapping_add(1);
                (self.round_robin % n as usize) as i32
            }
        }
    }

    async fn route(&mut self, batch: &Batch) -> WeirResult<()> {
        let want_objects = !self.settings.key_fields.is_empty()
            || matches!(self.settings.topic, TopicRoute::Column(_));
        let encoded = format::encode(&self.settings.format, batch, want_objects)?;
        let now = weir_core::now_ms();
        for (i, value) in encoded.values.into_iter().enumerate() {
            let object = encoded.objects.as_ref().and_then(|o| o.get(i));
            let topic = match (&self.settings.topic, object) {
                (TopicRoute::Fixed(t), _) => t.clone(),
                (TopicRoute::Column(c), Some(o)) => match o.get(c) {
                    Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
                    other => {
                        return Err(WeirError::new(format!(
                            "Kafka sink: a row's topic column '{c}' holds {}, not a topic name",
                            other
                                .map(|v| v.to_string())
                                .unwrap_or_else(|| "nothing".into())
                        )))
                    }
                },
                (TopicRoute::Column(_), None) => {
                    return Err(WeirError::new(
                        "Kafka sink: rows were not encoded as objects",
                    ))
                }
            };
            let key = match object {
                Some(o) if !self.settings.key_fields.is_empty() => {
                    let k: serde_json::Map<String, serde_json::Value> = self
                        .settings
                        .key_fields
                        .iter()
                        .map(|f| (f.clone(), o.get(f).cloned().unwrap_or_default()))
                        .collect();
                    Some(Bytes::from(
                        serde_json::to_vec(&k).map_err(|e| WeirError::new(e.to_string()))?,
                    ))
                }
                _ => None,
            };
            let n = self.partition_count(&topic).await?;
            let partition = self.choose_partition(n, key.as_ref(), &value);
            if partition >= n {
                return Err(WeirError::new(format!(
                    "Kafka sink: partition {partition} does not exist; topic '{topic}' has {n}"
                )));
            }
            self.buffered += value.len() + key.as_ref().map_or(0, |k| k.len()) + 16;
            self.buffers
                .entry(TopicPartition { topic, partition })
                .or_default()
                .push(Outgoing {
                    key,
                    value: Some(value),
                    timestamp: now,
                });
        }
        Ok(())
    }

    /// Sends everything buffered and waits until Kafka has it.
    async fn flush(&mut self) -> WeirResult<()> {
        if self.buffers.is_empty() {
            return Ok(());
        }
        let buffers = std::mem::take(&mut self.buffers);
        self.buffered = 0;
        let compression = self.settings.compression;
        let acks = self.settings.acks;
        let rows: u64 = buffers.values().map(|v| v.len() as u64).sum();
        self.fail.on_write(rows)?;
        let cluster = match self.cluster.take() {
            Some(c) => c,
            None => Cluster::connect(self.settings.client.clone()).await?,
        };
        let mut cluster = cluster;
        let result = match self.txns.as_mut() {
            Some(t) => t.write(&mut cluster, buffers, compression).await,
            None => {
                let mut batches = BTreeMap::new();
                for (tp, msgs) in buffers {
                    batches.insert(tp, encode_batch(&msgs, None, 0, compression)?);
                }
                cluster.produce(batches, None, acks).await
            }
        };
        self.cluster = Some(cluster);
        result
    }
}

#[async_trait]
impl SinkWriter for KafkaWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        self.check()?;
        self.route(&batch).await?;
        // Exactly-once rows are invisible until the commit anyway: send in big batches.
        // Otherwise every incoming batch goes out at once, for latency.
        self.check()?;
        if self.txns.is_none() || self.buffered >= self.settings.batch_bytes {
            self.flush_or_break().await?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        self.flush_or_break().await?;
        if let Some(t) = self.txns.as_mut() {
            let mut c = match self.cluster.take() {
                Some(c) => c,
                None => Cluster::connect(self.settings.client.clone()).await?,
            };
            let r = t.commit_all(&mut c).await;
            self.cluster = Some(c);
            r?;
        }
        Ok(())
    }

    async fn prepare_commit(&mut self, checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        if self.settings.semantics == Semantics::None && self.buffered < self.settings.batch_bytes {
            return Ok(Vec::new());
        }
        self.flush_or_break().await?;
        match self.txns.as_mut() {
            Some(t) => {
                let state = t.pre_commit(checkpoint_id);
                Ok(vec![
                    serde_json::to_vec(&state).map_err(|e| WeirError::new(e.to_string()))?
                ])
            }
            None => Ok(Vec::new()),
        }
    }

    async fn commit(&mut self, checkpoint_id: u64) -> WeirResult<()> {
        self.fail.on_commit()?;
        let Some(t) = self.txns.as_mut() else {
            return Ok(());
        };
        let mut c = match self.cluster.take() {
            Some(c) => c,
            None => Cluster::connect(self.settings.client.clone()).await?,
        };
        let r = t.commit(&mut c, checkpoint_id).await;
        self.cluster = Some(c);
        r
    }

    async fn restore(&mut self, checkpoint_id: u64, committables: Vec<Vec<u8>>) -> WeirResult<()> {
        let Some(t) = self.txns.as_mut() else {
            return Ok(());
        };
        let states = committables
            .iter()
            .map(|c| {
                serde_json::from_slice::<SinkState>(c).map_err(|e| {
                    WeirError::new(format!("unreadable Kafka sink checkpoint entry: {e}"))
                })
            })
            .collect::<WeirResult<Vec<_>>>()?;
        let mut c = Cluster::connect(self.settings.client.clone()).await?;
        let r = t.restore(&mut c, checkpoint_id, states).await;
        self.cluster = Some(c);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_partitioner() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }
}
