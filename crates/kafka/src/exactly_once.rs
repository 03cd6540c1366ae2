//! The exactly-once Kafka sink's transactions, tied to checkpoints.
//!
//! Each writer opens a Kafka transaction, writes the rows between two checkpoints into it,
//! and at the barrier pre-commits it: everything is flushed and acknowledged, and the
//! transaction's identity (transactional id, producer id, epoch) goes into the checkpoint.
//! When the checkpoint completes the writer commits it with EndTxn. A new transaction takes
//! the next rows meanwhile, under the next id.
//!
//! Ids are `<prefix>-<subtask>-<attempt>-<k>`, with `k` counting up from 0 in each attempt,
//! so the ids an attempt used are exactly those below its counter. Every checkpoint entry
//! carries the writer's pending (pre-committed, uncommitted) transactions and its counter. On
//! a restore from checkpoint C a writer:
//! 1. commits every pending transaction of the entries it got: their rows are counted in C
//!    (EndTxn with the recorded producer id and epoch; committing one twice is harmless);
//! 2. aborts whatever those attempts opened after C (ids from the recorded counter on, and
//!    every id of the attempts since, which never completed a checkpoint): InitProducerId on
//!    an id fences it, which aborts its open transaction; the first id that answers epoch 0
//!    was never used, so the search stops there.
//!
//! [`plan_restore`] says which ids to commit and where to look for leftovers (pure, tested).

use crate::cluster::Cluster;
use crate::offsets::TopicPartition;
use crate::produce::{encode_batch, Outgoing, ProducerId};
use kafka_protocol::records::Compression;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use weir_core::{WeirError, WeirResult};
use weir_runtime::operator::SubtaskContext;

/// A pre-committed transaction, as the checkpoint records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTxn {
    pub transactional_id: String,
    pub producer_id: i64,
    pub epoch: i16,
    /// The checkpoint whose barrier pre-committed it.
    pub checkpoint: u64,
}

/// One writer's entry in a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkState {
    pub prefix: String,
    pub subtask: usize,
    pub attempt: u32,
    /// The next `k` this writer would have used.
    pub next: u64,
    pub pending: Vec<PendingTxn>,
}

/// Where to look for a dead attempt's leftover transactions: ids of `(subtask, attempt)` from
/// `k` on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Leftovers {
    pub prefix: String,
    pub subtask: usize,
    pub attempt: u32,
    pub from: u64,
}

/// What a restore does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePlan {
    pub commit: Vec<PendingTxn>,
    pub abort: Vec<Leftovers>,
    /// Where this writer's own counter starts.
    pub next: u64,
}

/// The id of transaction `k` of `subtask` in `attempt`.
pub fn transactional_id(prefix: &str, subtask: usize, attempt: u32, k: u64) -> String {
    format!("{prefix}-{subtask}-{attempt}-{k}")
}

/// Plans a restore of `me` from `states` (the entries this writer got).
pub fn plan_restore(me: SubtaskContext, states: &[SinkState]) -> RestorePlan {
    let mut commit = Vec::new();
    let mut abort = BTreeSet::new();
    let mut next = 0;
    for s in states {
        commit.extend(s.pending.iter().cloned());
        if s.attempt == me.attempt && s.subtask == me.index {
            // Our own ids (a savepoint restored into a new job under the same prefix): carry
            // on past them; reusing an id would fence whatever it had open anyway.
            next = next.max(s.next);
            continue;
        }
        abort.insert(Leftovers {
            prefix: s.prefix.clone(),
            subtask: s.subtask,
            attempt: s.attempt,
            from: s.next,
        });
        // Attempts between the checkpoint's and ours completed no checkpoint: all their ids.
        for a in s.attempt + 1..me.attempt {
            abort.insert(Leftovers {
                prefix: s.prefix.clone(),
                subtask: s.subtask,
                attempt: a,
                from: 0,
            });
        }
    }
    commit.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
    commit.dedup();
    RestorePlan {
        commit,
        abort: abort.into_iter().collect(),
        next,
    }
}

/// The transaction being written.
struct OpenTxn {
    producer: ProducerId,
    partitions: BTreeSet<TopicPartition>,
    sequences: HashMap<TopicPartition, i32>,
}

/// One writer's transactions.
pub struct Transactions {
    prefix: String,
    me: SubtaskContext,
    timeout_ms: i32,
    next: u64,
    open: Option<OpenTxn>,
    /// Pre-committed, waiting for their checkpoint to complete.
    pending: Vec<PendingTxn>,
}

impl Transactions {
    pub fn new(prefix: String, me: SubtaskContext, timeout_ms: i32) -> Transactions {
        Transactions {
            prefix,
            me,
            timeout_ms,
            next: 0,
            open: None,
            pending: Vec::new(),
        }
    }

    /// Writes `buffers` inside the open transaction (opening one first).
    pub async fn write(
        &mut self,
        c: &mut Cluster,
        buffers: BTreeMap<TopicPartition, Vec<Outgoing>>,
        compression: Compression,
    ) -> WeirResult<()> {
        if self.open.is_none() {
            let id = transactional_id(&self.prefix, self.me.index, self.me.attempt, self.next);
            self.next += 1;
            let producer = c.init_producer_id(&id, self.timeout_ms).await?;
            self.open = Some(OpenTxn {
                producer,
                partitions: BTreeSet::new(),
                sequences: HashMap::new(),
            });
        }
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| WeirError::new("no open Kafka transaction"))?;
        let new: Vec<TopicPartition> = buffers
            .keys()
            .filter(|tp| !open.partitions.contains(*tp))
            .cloned()
            .collect();
        if !new.is_empty() {
            c.add_partitions_to_txn(&open.producer, &new).await?;
            open.partitions.extend(new);
        }
        let mut batches = BTreeMap::new();
        for (tp, msgs) in buffers {
            let seq = open.sequences.entry(tp.clone()).or_insert(0);
            batches.insert(
                tp,
                encode_batch(&msgs, Some(&open.producer), *seq, compression)?,
            );
            *seq = seq.wrapping_add(msgs.len() as i32);
        }
        c.produce(batches, open.producer.transactional_id.as_deref(), -1)
            .await
    }

    /// The barrier of `checkpoint`: the open transaction (everything already flushed) becomes
    /// pending, and the entry for the checkpoint lists every pending one.
    pub fn pre_commit(&mut self, checkpoint: u64) -> SinkState {
        if let Some(open) = self.open.take_if(|o| !o.partitions.is_empty()) {
            self.pending.push(PendingTxn {
                transactional_id: open.producer.transactional_id.clone().unwrap_or_default(),
                producer_id: open.producer.id,
                epoch: open.producer.epoch,
                checkpoint,
            });
        }
        SinkState {
            prefix: self.prefix.clone(),
            subtask: self.me.index,
            attempt: self.me.attempt,
            next: self.next,
            pending: self.pending.clone(),
        }
    }

    /// Checkpoint `checkpoint` completed: commit what was pre-committed up to it.
    pub async fn commit(&mut self, c: &mut Cluster, checkpoint: u64) -> WeirResult<()> {
        while let Some(i) = self.pending.iter().position(|p| p.checkpoint <= checkpoint) {
            let p = self.pending[i].clone();
            c.end_txn(&producer_of(&p), true).await?;
            self.pending.remove(i);
        }
        Ok(())
    }

    /// End of input: commit everything, the open transaction too.
    pub async fn commit_all(&mut self, c: &mut Cluster) -> WeirResult<()> {
        self.pre_commit(u64::MAX);
        self.commit(c, u64::MAX).await
    }

    /// Restore from a checkpoint (see the module comment).
    pub async fn restore(
        &mut self,
        c: &mut Cluster,
        checkpoint: u64,
        states: Vec<SinkState>,
    ) -> WeirResult<()> {
        let plan = plan_restore(self.me, &states);
        for p in &plan.commit {
            if let Err(e) = c.end_txn(&producer_of(p), true).await {
                // The coordinator aborts a transaction left longer than its timeout; its rows
                // are gone and nothing can bring them back. Say so loudly and go on.
                tracing::error!(
                    transaction = %p.transactional_id,
                    checkpoint,
                    error = %e.message,
                    "a Kafka transaction of the restored checkpoint could not be committed (was the job down longer than transaction.timeout.ms?)"
                );
            }
        }
        for l in &plan.abort {
            let mut k = l.from;
            loop {
                let id = transactional_id(&l.prefix, l.subtask, l.attempt, k);
                let p = c.init_producer_id(&id, self.timeout_ms).await?;
                if p.epoch == 0 {
                    break; // never used: nothing after it was either
                }
                tracing::info!(transaction = %id, "aborted a transaction a failed attempt left open");
                k += 1;
            }
        }
        self.next = self.next.max(plan.next);
        Ok(())
    }
}

fn producer_of(p: &PendingTxn) -> ProducerId {
    ProducerId {
        id: p.producer_id,
        epoch: p.epoch,
        transactional_id: Some(p.transactional_id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(index: usize, attempt: u32) -> SubtaskContext {
        SubtaskContext {
            index,
            parallelism: 2,
            attempt,
        }
    }

    fn pending(id: &str, cp: u64) -> PendingTxn {
        PendingTxn {
            transactional_id: id.into(),
            producer_id: 1,
            epoch: 3,
            checkpoint: cp,
        }
    }

    fn state(subtask: usize, attempt: u32, next: u64, p: Vec<PendingTxn>) -> SinkState {
        SinkState {
            prefix: "p".into(),
            subtask,
            attempt,
            next,
            pending: p,
        }
    }

    #[test]
    fn a_restore_commits_what_the_checkpoint_pre_committed_and_aborts_the_rest() {
        // Attempt 0 wrote ids 0..=4; 3 and 4 were pre-committed for checkpoints 6 and 7
        // (7 is the restored one); attempt 1 died before any checkpoint; we are attempt 2.
        let s = state(0, 0, 5, vec![pending("p-0-0-3", 6), pending("p-0-0-4", 7)]);
        let plan = plan_restore(me(0, 2), &[s]);
        assert_eq!(plan.commit.len(), 2);
        assert_eq!(
            plan.abort,
            vec![
                Leftovers {
                    prefix: "p".into(),
                    subtask: 0,
                    attempt: 0,
                    from: 5
                },
                Leftovers {
                    prefix: "p".into(),
                    subtask: 0,
                    attempt: 1,
                    from: 0
                },
            ]
        );
        assert_eq!(plan.next, 0);
    }

    #[test]
    fn after_a_rescale_whoever_gets_an_entry_resolves_it() {
        let a = state(0, 0, 2, vec![pending("p-0-0-1", 4)]);
        let b = state(1, 0, 7, vec![]);
        let plan = plan_restore(me(0, 1), &[a, b]);
        assert_eq!(plan.commit, vec![pending("p-0-0-1", 4)]);
        assert_eq!(plan.abort.len(), 2);
        assert!(plan.abort.iter().any(|l| l.subtask == 1 && l.from == 7));
    }

    #[test]
    fn a_savepoint_into_a_new_job_under_the_same_prefix_continues_the_counter() {
        let s = state(1, 0, 9, vec![]);
        let plan = plan_restore(me(1, 0), &[s]);
        assert!(plan.abort.is_empty());
        assert_eq!(plan.next, 9);
    }

    #[test]
    fn ids_say_prefix_subtask_attempt_and_count() {
        assert_eq!(transactional_id("weir-x", 3, 1, 12), "weir-x-3-1-12");
    }
}
