//! Kafka transactions spoken directly: InitProducerId, AddPartitionsToTxn and EndTxn, sent to
//! the transaction coordinator.
//!
//! Speaking them directly is what lets a restored job commit a transaction that a crashed
//! attempt had pre-committed. Kafka commits a transaction for whoever presents its
//! transactional id with the producer id and epoch that opened it. Client libraries keep
//! those to themselves and, on start, fence (abort) whatever the id had open. The
//! exactly-once sink therefore records the id, producer id and epoch in the checkpoint, and a
//! restore sends EndTxn(commit) with them: the same call the live path makes when the
//! checkpoint completes.

use crate::cluster::Cluster;
use crate::offsets::{backoff, topic_name, TopicPartition};
use crate::produce::ProducerId;
use crate::wire::{error_name, is_retriable};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, ProducerId as WireProducerId,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use weir_core::{WeirError, WeirResult};

const ATTEMPTS: u32 = 40;

/// Errors that mean "the coordinator is busy or moved; ask again".
fn coordinator_busy(code: i16) -> bool {
    // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
    // CONCURRENT_TRANSACTIONS
    matches!(code, 14 | 15 | 16 | 51) || is_retriable(code)
}

fn txn_id(s: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(s.to_string()))
}

impl Cluster {
    /// Registers `transactional_id` and returns its producer id and a new epoch. Whatever
    /// transaction the id had open is aborted by this (Kafka fences the older epoch). An id
    /// never used before answers epoch 0.
    pub async fn init_producer_id(
        &mut self,
        transactional_id: &str,
        transaction_timeout_ms: i32,
    ) -> WeirResult<ProducerId> {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(txn_id(transactional_id)))
            .with_transaction_timeout_ms(transaction_timeout_ms)
            .with_producer_id(WireProducerId(-1))
            .with_producer_epoch(-1);
        let mut last = 0;
        for attempt in 0..ATTEMPTS {
            let node = self.coordinator(transactional_id, 1).await?;
            let resp = self.broker(node).await?.call(&req, 4).await?;
            match resp.error_code {
                0 => {
                    return Ok(ProducerId {
                        id: resp.producer_id.0,
                        epoch: resp.producer_epoch,
                        transactional_id: Some(transactional_id.to_string()),
                    })
                }
                code if coordinator_busy(code) => last = code,
                code => return Err(WeirError::new(format!(
                    "Kafka refused transactional id '{transactional_id}': {}",
                    error_name(code)
                ))
                .with_hint(
                    "transactions need a broker with transaction.state.log replication it can meet",
                )),
            }
            backoff(attempt).await;
        }
        Err(WeirError::new(format!(
            "Kafka's transaction coordinator stayed busy for '{transactional_id}': {}",
            error_name(last)
        )))
    }

    /// Adds partitions to `producer`'s open transaction (needed before the first write to each).
    pub async fn add_partitions_to_txn(
        &mut self,
        producer: &ProducerId,
        partitions: &[TopicPartition],
    ) -> WeirResult<()> {
        let id = producer
            .transactional_id
            .as_deref()
            .ok_or_else(|| WeirError::new("not a transactional producer"))?;
        let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in partitions {
            topics.entry(&tp.topic).or_default().push(tp.partition);
        }
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txn_id(id))
            .with_v3_and_below_producer_id(WireProducerId(producer.id))
            .with_v3_and_below_producer_epoch(producer.epoch)
            .with_v3_and_below_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        AddPartitionsToTxnTopic::default()
                            .with_name(topic_name(t))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        for attempt in 0..ATTEMPTS {
            let node = self.coordinator(id, 1).await?;
            let resp = self.broker(node).await?.call(&req, 3).await?;
            let mut worst = resp.error_code;
            for t in &resp.results_by_topic_v3_and_below {
                for p in &t.results_by_partition {
                    if p.partition_error_code != 0 && worst == 0 {
                        worst = p.partition_error_code;
                    }
                }
            }
            match worst {
                0 => return Ok(()),
                code if coordinator_busy(code) && attempt + 1 < ATTEMPTS => {}
                code => {
                    return Err(WeirError::new(format!(
                        "Kafka refused to add partitions to transaction '{id}': {}",
                        error_name(code)
                    )))
                }
            }
            backoff(attempt).await;
        }
        Err(WeirError::new(format!(
            "Kafka's transaction coordinator stayed busy for '{id}'"
        )))
    }

    /// Commits (or aborts) `producer`'s transaction. Committing one that is already committed
    /// succeeds, so a restore may repeat it.
    pub async fn end_txn(&mut self, producer: &ProducerId, commit: bool) -> WeirResult<()> {
        let id = producer
            .transactional_id
            .as_deref()
            .ok_or_else(|| WeirError::new("not a transactional producer"))?;
        let req = EndTxnRequest::default()
            .with_transactional_id(txn_id(id))
            .with_producer_id(WireProducerId(producer.id))
            .with_producer_epoch(producer.epoch)
            .with_committed(commit);
        for attempt in 0..ATTEMPTS {
            let node = self.coordinator(id, 1).await?;
            let resp = match self.broker(node).await?.call(&req, 3).await {
                Ok(r) => r,
                Err(e) if attempt + 1 < ATTEMPTS => {
                    self.forget_broker(node);
                    tracing::warn!(transaction = id, error = %e.message, "EndTxn failed; retrying");
                    backoff(attempt).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match resp.error_code {
                0 => return Ok(()),
                code if coordinator_busy(code) => {}
                code => {
                    let what = if commit { "commit" } else { "abort" };
                    return Err(WeirError::new(format!(
                        "Kafka refused to {what} transaction '{id}' (producer {}, epoch {}): {}",
                        producer.id,
                        producer.epoch,
                        error_name(code)
                    )));
                }
            }
            backoff(attempt).await;
        }
        Err(WeirError::new(format!(
            "Kafka's transaction coordinator stayed busy ending '{id}'"
        )))
    }
}
