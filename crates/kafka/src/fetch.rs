//! Fetching messages from a partition leader, and what a `read_committed` reader may see of
//! them: batches of aborted transactions and transaction markers are dropped here, by the
//! rule Kafka's own consumer follows (the fetch answer lists each aborted transaction's
//! producer and first offset; its batches are skipped until that producer's abort marker).

use crate::cluster::Cluster;
use crate::offsets::{topic_name, TopicPartition};
use crate::wire::error_name;
use bytes::{Buf, Bytes};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest};
use kafka_protocol::records::{Record, RecordBatchDecoder};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;
use weir_core::{WeirError, WeirResult};

/// A message as a reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// What one partition's fetch gave.
#[derive(Debug)]
pub struct Fetched {
    pub tp: TopicPartition,
    /// 0, or Kafka's error code for this partition.
    pub error: i16,
    pub messages: Vec<Message>,
    /// Where the next fetch starts (past markers and skipped batches too).
    pub next_offset: i64,
    pub high_watermark: i64,
    /// -1 when the broker did not say.
    pub last_stable_offset: i64,
}

/// How to fetch.
#[derive(Debug, Clone, Copy)]
pub struct FetchSettings {
    pub read_committed: bool,
    pub max_wait: Duration,
    pub partition_max_bytes: i32,
}

/// One record batch's records, cut from a fetch answer. Answers may end in a partial batch
/// (the broker cuts at the byte limit); it is left for the next fetch.
fn record_batches(mut records: Bytes) -> WeirResult<Vec<Vec<Record>>> {
    let mut out = Vec::new();
    while records.remaining() >= 12 {
        let len = i32::from_be_bytes([records[8], records[9], records[10], records[11]]);
        let total = 12 + len.max(0) as usize;
        if records.remaining() < total {
            break;
        }
        let mut one = records.split_to(total);
        let set = RecordBatchDecoder::decode(&mut one)
            .map_err(|e| WeirError::new(format!("unreadable Kafka record batch: {e}")))?;
        out.push(set.records);
    }
    Ok(out)
}

/// The messages a reader at `from` may see of `batches`, and the next offset to fetch.
/// Under `read_committed`, `aborted` (producer id, first offset) lists the aborted
/// transactions the answer covers.
pub fn visible(
    batches: Vec<Vec<Record>>,
    from: i64,
    read_committed: bool,
    aborted: &[(i64, i64)],
) -> (Vec<Message>, i64) {
    let mut pending: BTreeSet<(i64, i64)> = aborted.iter().map(|(p, o)| (*o, *p)).collect();
    let mut aborting: HashSet<i64> = HashSet::new();
    let mut out = Vec::new();
    let mut next = from;
    for batch in batches {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            continue;
        };
        next = next.max(last.offset + 1);
        let (control, transactional, producer) =
            (first.control, first.transactional, first.producer_id);
        if read_committed {
            while let Some((o, p)) = pending.first().copied() {
                if o > last.offset {
                    break;
                }
                pending.pop_first();
                aborting.insert(p);
            }
            if control {
                // A marker ends its producer's transaction, aborted or not.
                aborting.remove(&producer);
                continue;
            }
            if transactional && aborting.contains(&producer) {
                continue;
            }
        } else if control {
            continue;
        }
        out.extend(
            batch
                .into_iter()
                .filter(|r| r.offset >= from)
                .map(|r| Message {
                    offset: r.offset,
                    timestamp: r.timestamp,
                    key: r.key,
                    value: r.value,
                }),
        );
    }
    (out, next)
}

/// One partition of a fetch answer, before a reader's view is applied.
#[derive(Debug)]
pub struct RawPartition {
    pub tp: TopicPartition,
    pub error: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    /// (producer id, first offset) of the aborted transactions the answer covers.
    pub aborted: Vec<(i64, i64)>,
    /// Whole record batches, markers included.
    pub batches: Vec<Vec<Record>>,
}

impl Cluster {
    /// One fetch from `leader` of `partitions` (each from its offset), as the log has it:
    /// every whole batch, transaction markers included.
    pub async fn fetch_raw(
        &mut self,
        leader: i32,
        partitions: &BTreeMap<TopicPartition, i64>,
        settings: FetchSettings,
    ) -> WeirResult<Vec<RawPartition>> {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, offset) in partitions {
            topics.entry(&tp.topic).or_default().push(
                FetchPartition::default()
                    .with_partition(tp.partition)
                    .with_current_leader_epoch(-1)
                    .with_fetch_offset(*offset)
                    .with_last_fetched_epoch(-1)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(settings.partition_max_bytes),
            );
        }
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(settings.max_wait.as_millis() as i32)
            .with_min_bytes(1)
            .with_max_bytes(i32::MAX)
            .with_isolation_level(i8::from(settings.read_committed))
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        FetchTopic::default()
                            .with_topic(topic_name(t))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        let conn = self.broker(leader).await?;
        let addr = conn.addr().to_string();
        let resp = match conn.call_waiting(&req, 12, settings.max_wait).await {
            Ok(r) => r,
            Err(e) => {
                self.forget(&addr);
                return Err(e);
            }
        };
        if resp.error_code != 0 {
            return Err(WeirError::new(format!(
                "Kafka broker {addr} refused the fetch: {}",
                error_name(resp.error_code)
            )));
        }
        let mut out = Vec::new();
        for t in resp.responses {
            let topic = t.topic.0.to_string();
            for p in t.partitions {
                let batches = match (p.error_code, p.records) {
                    (0, Some(r)) => record_batches(r)?,
                    _ => Vec::new(),
                };
                out.push(RawPartition {
                    tp: TopicPartition {
                        topic: topic.clone(),
                        partition: p.partition_index,
                    },
                    error: p.error_code,
                    high_watermark: p.high_watermark,
                    last_stable_offset: p.last_stable_offset,
                    aborted: p
                        .aborted_transactions
                        .unwrap_or_default()
                        .iter()
                        .map(|a| (a.producer_id.0, a.first_offset))
                        .collect(),
                    batches,
                });
            }
        }
        Ok(out)
    }

    /// One fetch from `leader` of `partitions` (each from its offset), as a reader with
    /// `settings.read_committed` sees it.
    pub async fn fetch(
        &mut self,
        leader: i32,
        partitions: &BTreeMap<TopicPartition, i64>,
        settings: FetchSettings,
    ) -> WeirResult<Vec<Fetched>> {
        let raw = self.fetch_raw(leader, partitions, settings).await?;
        Ok(raw
            .into_iter()
            .map(|p| {
                let from = partitions.get(&p.tp).copied().unwrap_or(0);
                let (messages, next_offset) = if p.error == 0 {
                    visible(p.batches, from, settings.read_committed, &p.aborted)
                } else {
                    (Vec::new(), from)
                };
                Fetched {
                    tp: p.tp,
                    error: p.error,
                    messages,
                    next_offset,
                    high_watermark: p.high_watermark,
                    last_stable_offset: p.last_stable_offset,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::TimestampType;

    fn rec(offset: i64, producer: i64, transactional: bool, control: bool) -> Record {
        Record {
            transactional,
            control,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: producer,
            producer_epoch: 0,
            timestamp_type: TimestampType::Creation,
            offset,
            sequence: offset as i32,
            timestamp: 0,
            key: None,
            value: Some(Bytes::from(format!("{offset}"))),
            headers: Default::default(),
        }
    }

    fn offsets(m: &[Message]) -> Vec<i64> {
        m.iter().map(|m| m.offset).collect()
    }

    #[test]
    fn read_committed_drops_aborted_batches_and_markers() {
        // Producer 7 writes 0..2 then aborts (marker 2); producer 8 writes 3 and commits (4);
        // producer 7 writes 5 in a new transaction that commits (6).
        let batches = vec![
            vec![rec(0, 7, true, false), rec(1, 7, true, false)],
            vec![rec(2, 7, true, true)],
            vec![rec(3, 8, true, false)],
            vec![rec(4, 8, true, true)],
            vec![rec(5, 7, true, false)],
            vec![rec(6, 7, true, true)],
        ];
        let (m, next) = visible(batches.clone(), 0, true, &[(7, 0)]);
        assert_eq!(offsets(&m), vec![3, 5]);
        assert_eq!(next, 7);
        // Read uncommitted sees every data record, never a marker.
        let (m, _) = visible(batches, 0, false, &[]);
        assert_eq!(offsets(&m), vec![0, 1, 3, 5]);
    }

    #[test]
    fn a_fetch_starting_inside_a_batch_skips_what_was_read() {
        let batches = vec![vec![rec(10, -1, false, false), rec(11, -1, false, false)]];
        let (m, next) = visible(batches, 11, true, &[]);
        assert_eq!(offsets(&m), vec![11]);
        assert_eq!(next, 12);
    }

    #[test]
    fn a_partial_batch_at_the_end_is_left_for_the_next_fetch() {
        let mut buf = bytes::BytesMut::new();
        let records = [rec(0, -1, false, false), rec(1, -1, false, false)];
        kafka_protocol::records::RecordBatchEncoder::encode(
            &mut buf,
            records.iter(),
            &kafka_protocol::records::RecordEncodeOptions {
                version: 2,
                compression: kafka_protocol::records::Compression::None,
            },
        )
        .unwrap();
        let whole = buf.freeze();
        let mut cut = bytes::BytesMut::from(&whole[..]);
        cut.extend_from_slice(&whole[..whole.len() - 3]);
        let batches = record_batches(cut.freeze()).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].len(), 2);
    }
}
