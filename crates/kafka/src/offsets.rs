//! Offsets: where a partition starts and ends, the offset for a timestamp (ListOffsets), and a
//! consumer group's committed offsets (OffsetFetch, OffsetCommit). weir keeps a source's true
//! position in its checkpoints; the group's offsets are written on checkpoint completion only
//! so that lag monitors see progress.

use crate::cluster::Cluster;
use crate::wire::{error_name, is_retriable};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, GroupId, ListOffsetsRequest, OffsetCommitRequest,
    OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use weir_core::{WeirError, WeirResult};

/// One partition of one topic.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// ListOffsets' special timestamps.
pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;

pub(crate) fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

const ATTEMPTS: u32 = 20;

pub(crate) async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt.min(10)) + 50)).await;
}

impl Cluster {
    /// For each partition, the offset of the first message at or after `timestamp` (or
    /// [`EARLIEST`]/[`LATEST`]); a timestamp after the last message gives the end offset.
    pub async fn list_offsets(
        &mut self,
        partitions: &[TopicPartition],
        timestamp: i64,
        read_committed: bool,
    ) -> WeirResult<BTreeMap<TopicPartition, i64>> {
        let mut out = BTreeMap::new();
        let mut todo: Vec<TopicPartition> = partitions.to_vec();
        for attempt in 0..ATTEMPTS {
            if todo.is_empty() {
                break;
            }
            let mut by_leader: HashMap<i32, Vec<TopicPartition>> = HashMap::new();
            for tp in todo.drain(..) {
                let leader = self.leader(&tp.topic, tp.partition).await?;
                by_leader.entry(leader).or_default().push(tp);
            }
            for (leader, tps) in by_leader {
                let mut topics: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
                for tp in &tps {
                    topics.entry(&tp.topic).or_default().push(
                        ListOffsetsPartition::default()
                            .with_partition_index(tp.partition)
                            .with_current_leader_epoch(-1)
                            .with_timestamp(timestamp),
                    );
                }
                let req = ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_isolation_level(i8::from(read_committed))
                    .with_topics(
                        topics
                            .into_iter()
                            .map(|(t, ps)| {
                                ListOffsetsTopic::default()
                                    .with_name(topic_name(t))
                                    .with_partitions(ps)
                            })
                            .collect(),
                    );
                let resp = match self.broker(leader).await?.call(&req, 7).await {
                    Ok(r) => r,
                    Err(e) => {
                        self.forget_broker(leader);
                        if attempt + 1 == ATTEMPTS {
                            return Err(e);
                        }
                        todo.extend(tps);
                        continue;
                    }
                };
                for t in resp.topics {
                    for p in t.partitions {
                        let tp = TopicPartition {
                            topic: t.name.0.to_string(),
                            partition: p.partition_index,
                        };
                        match p.error_code {
                            0 => {
                                out.insert(tp, p.offset);
                            }
                            code if is_retriable(code) && attempt + 1 < ATTEMPTS => {
                                self.forget_leaders(&tp.topic);
                                todo.push(tp);
                            }
                            code => {
                                return Err(WeirError::new(format!(
                                    "Kafka cannot list offsets of {tp}: {}",
                                    error_name(code)
                                )))
                            }
                        }
                    }
                }
            }
            if !todo.is_empty() {
                backoff(attempt).await;
            }
        }
        // A timestamp after every message answers -1: the end is where to start.
        let past_end: Vec<TopicPartition> = out
            .iter()
            .filter(|(_, o)| **o < 0)
            .map(|(tp, _)| tp.clone())
            .collect();
        if !past_end.is_empty() && timestamp >= 0 {
            let ends = Box::pin(self.end_offsets(&past_end, read_committed)).await?;
            out.extend(ends);
        }
        Ok(out)
    }

    /// Where each partition ends now: the high watermark (the last stable offset for
    /// `read_committed`). Asked with ListOffsets and confirmed by a one-byte fetch at that
    /// offset, whose answer carries the watermark: some Kafka-compatible brokers (Nisshi)
    /// answer ListOffsets' "latest" with the last batch's start rather than the end.
    pub async fn end_offsets(
        &mut self,
        partitions: &[TopicPartition],
        read_committed: bool,
    ) -> WeirResult<BTreeMap<TopicPartition, i64>> {
        let mut ends = self
            .list_offsets(partitions, LATEST, read_committed)
            .await?;
        let mut by_leader: HashMap<i32, BTreeMap<TopicPartition, i64>> = HashMap::new();
        for (tp, o) in &ends {
            let leader = self.leader(&tp.topic, tp.partition).await?;
            by_leader.entry(leader).or_default().insert(tp.clone(), *o);
        }
        let settings = crate::fetch::FetchSettings {
            read_committed,
            max_wait: Duration::from_millis(10),
            partition_max_bytes: 1,
        };
        for (leader, parts) in by_leader {
            for f in self.fetch(leader, &parts, settings).await? {
                if f.error != 0 {
                    continue;
                }
                let end = if read_committed && f.last_stable_offset >= 0 {
                    f.last_stable_offset
                } else {
                    f.high_watermark
                };
                if let Some(o) = ends.get_mut(&f.tp) {
                    *o = (*o).max(end);
                }
            }
        }
        Ok(ends)
    }

    /// The broker coordinating `key` (a consumer group when `key_type` is 0, a transactional
    /// id when 1).
    pub async fn coordinator(&mut self, key: &str, key_type: i8) -> WeirResult<i32> {
        let req = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(key.to_string()))
            .with_key_type(key_type);
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            let resp = self.any().await?.call(&req, 3).await?;
            match resp.error_code {
                0 => return Ok(resp.node_id.0),
                code if is_retriable(code) => last = error_name(code),
                code => {
                    return Err(WeirError::new(format!(
                        "Kafka cannot find the coordinator of '{key}': {}",
                        error_name(code)
                    )))
                }
            }
            backoff(attempt).await;
        }
        Err(WeirError::new(format!(
            "Kafka found no coordinator for '{key}': {last}"
        )))
    }

    /// `group`'s committed offsets of `partitions` (those without one are left out).
    pub async fn group_offsets(
        &mut self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> WeirResult<BTreeMap<TopicPartition, i64>> {
        let node = self.coordinator(group, 0).await?;
        let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in partitions {
            topics.entry(&tp.topic).or_default().push(tp.partition);
        }
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_topics(Some(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        OffsetFetchRequestTopic::default()
                            .with_name(topic_name(t))
                            .with_partition_indexes(ps)
                    })
                    .collect(),
            ));
        let resp = self.broker(node).await?.call(&req, 7).await?;
        if resp.error_code != 0 {
            return Err(WeirError::new(format!(
                "Kafka cannot read the offsets of consumer group '{group}': {}",
                error_name(resp.error_code)
            )));
        }
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    out.insert(
                        TopicPartition {
                            topic: t.name.0.to_string(),
                            partition: p.partition_index,
                        },
                        p.committed_offset,
                    );
                }
            }
        }
        Ok(out)
    }

    /// Commits `offsets` (the next offset to read) for `group`, as a client outside any group
    /// generation does.
    pub async fn commit_group_offsets(
        &mut self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> WeirResult<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let node = self.coordinator(group, 0).await?;
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for (tp, o) in offsets {
            topics.entry(&tp.topic).or_default().push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(tp.partition)
                    .with_committed_offset(*o)
                    .with_committed_leader_epoch(-1),
            );
        }
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_generation_id_or_member_epoch(-1)
            .with_retention_time_ms(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(topic_name(t))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        let resp = self.broker(node).await?.call(&req, 8).await?;
        for t in resp.topics {
            for p in t.partitions {
                if p.error_code != 0 {
                    return Err(WeirError::new(format!(
                        "Kafka refused the offset of {}-{} for group '{group}': {}",
                        t.name.0.as_str(),
                        p.partition_index,
                        error_name(p.error_code)
                    )));
                }
            }
        }
        Ok(())
    }
}
