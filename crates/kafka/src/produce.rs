//! Producing record batches to partition leaders. A batch is encoded once per partition per
//! flush; a transactional or idempotent producer stamps it with its producer id, epoch and
//! the partition's next sequence number, so a retried request is written once.

use crate::cluster::Cluster;
use crate::offsets::{topic_name, TopicPartition};
use crate::wire::{error_name, is_retriable};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TransactionalId};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use std::collections::{BTreeMap, HashMap};
use weir_core::{WeirError, WeirResult};

/// Who is producing: a plain producer, or one with a producer id (transactional when it has
/// a transactional id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerId {
    pub id: i64,
    pub epoch: i16,
    pub transactional_id: Option<String>,
}

/// One message to write.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub timestamp: i64,
}

/// Encodes `messages` as one record batch.
pub fn encode_batch(
    messages: &[Outgoing],
    producer: Option<&ProducerId>,
    base_sequence: i32,
    compression: Compression,
) -> WeirResult<Bytes> {
    let records: Vec<Record> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| Record {
            transactional: producer.is_some_and(|p| p.transactional_id.is_some()),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: producer.map_or(-1, |p| p.id),
            producer_epoch: producer.map_or(-1, |p| p.epoch),
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The record batch keeps only its first sequence; the encoder puts records in one
            // batch only while their sequences count up with their offsets. Producers without
            // an id start at -1, Kafka's "no sequence".
            sequence: if producer.is_some() {
                base_sequence
            } else {
                -1
            }
            .wrapping_add(i as i32),
            timestamp: m.timestamp,
            key: m.key.clone(),
            value: m.value.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| WeirError::new(format!("encoding a Kafka record batch: {e}")))?;
    Ok(buf.freeze())
}

impl Cluster {
    /// Writes one encoded batch per partition, each to its leader, and waits for every
    /// answer. `acks` is 1 or -1 (all in-sync replicas). A partition whose leader moved is
    /// retried with the same bytes (the sequence numbers make that safe for producers with
    /// an id).
    pub async fn produce(
        &mut self,
        batches: BTreeMap<TopicPartition, Bytes>,
        transactional_id: Option<&str>,
        acks: i16,
    ) -> WeirResult<()> {
        let mut todo = batches;
        for attempt in 0..20u32 {
            if todo.is_empty() {
                return Ok(());
            }
            let mut by_leader: HashMap<i32, Vec<(TopicPartition, Bytes)>> = HashMap::new();
            for (tp, b) in std::mem::take(&mut todo) {
                let leader = self.leader(&tp.topic, tp.partition).await?;
                by_leader.entry(leader).or_default().push((tp, b));
            }
            for (leader, parts) in by_leader {
                let mut topics: BTreeMap<String, Vec<PartitionProduceData>> = BTreeMap::new();
                for (tp, b) in &parts {
                    topics.entry(tp.topic.clone()).or_default().push(
                        PartitionProduceData::default()
                            .with_index(tp.partition)
                            .with_records(Some(b.clone())),
                    );
                }
                let req = ProduceRequest::default()
                    .with_transactional_id(
                        transactional_id
                            .map(|t| TransactionalId(StrBytes::from_string(t.to_string()))),
                    )
                    .with_acks(acks)
                    .with_timeout_ms(self.config().timeout.as_millis() as i32)
                    .with_topic_data(
                        topics
                            .into_iter()
                            .map(|(t, ps)| {
                                TopicProduceData::default()
                                    .with_name(topic_name(&t))
                                    .with_partition_data(ps)
                            })
                            .collect(),
                    );
                let conn = self.broker(leader).await?;
                let addr = conn.addr().to_string();
                let resp = match conn.call(&req, 9).await {
                    Ok(r) => r,
                    Err(e) => {
                        self.forget(&addr);
                        if attempt >= 5 {
                            return Err(e);
                        }
                        todo.extend(parts);
                        continue;
                    }
                };
                let mut sent: HashMap<TopicPartition, Bytes> = parts.into_iter().collect();
                for t in resp.responses {
                    for p in t.partition_responses {
                        let tp = TopicPartition {
                            topic: t.name.0.to_string(),
                            partition: p.index,
                        };
                        let bytes = sent.remove(&tp);
                        match p.error_code {
                            0 | 46 => {} // 46: DUPLICATE_SEQUENCE_NUMBER, written before
                            code if is_retriable(code) => {
                                self.forget_leaders(&tp.topic);
                                if let Some(b) = bytes {
                                    todo.insert(tp, b);
                                }
                            }
                            code => {
                                let detail = p
                                    .error_message
                                    .map(|m| format!(" ({})", m.as_str()))
                                    .unwrap_or_default();
                                return Err(WeirError::new(format!(
                                    "Kafka refused the write to {tp}: {}{detail}",
                                    error_name(code)
                                )));
                            }
                        }
                    }
                }
                if !sent.is_empty() {
                    return Err(WeirError::new(format!(
                        "Kafka broker {addr} did not answer for {}",
                        sent.keys()
                            .map(|t| t.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
            if !todo.is_empty() {
                crate::offsets::backoff(attempt).await;
            }
        }
        Err(WeirError::new(format!(
            "Kafka kept refusing writes to {}",
            todo.keys()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}
