//! A subtask's side of checkpointing: the control messages it takes from its TaskExecutor, the
//! snapshot it hands back, and barrier alignment across several inputs.
//!
//! Alignment is Flink's aligned exactly-once protocol: once barrier *n* arrives on an input,
//! that input is not read again until barrier *n* has arrived on every other input (or they
//! ended), so the snapshot holds exactly the effects of the records before the barrier. The
//! [`BarrierAligner`] is the pure bookkeeping; the subtask's loop acts on what it says.

use crate::channel::Barrier;
use crate::state::SubtaskState;
use std::time::Duration;

/// What a TaskExecutor tells a running subtask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskControl {
    /// Sources: take a snapshot now and send this barrier downstream.
    TriggerCheckpoint(Barrier),
    /// Every subtask: checkpoint `n` is complete; committing sinks publish what it covers.
    CheckpointComplete(u64),
    /// Sources: finish as if the input had ended (Flink's stop with `drain`), after the
    /// checkpoint or savepoint that precedes it.
    EndInput,
}

/// One subtask's part of a checkpoint, as it leaves the data path (the state is already copied
/// out; writing it to storage is someone else's job).
#[derive(Debug, Clone)]
pub struct SnapshotAck {
    pub checkpoint_id: u64,
    pub vertex: usize,
    pub subtask: usize,
    pub state: SubtaskState,
    /// From the first barrier to the last one of an aligned checkpoint.
    pub alignment: Duration,
    /// Time spent copying the state out on the data path.
    pub sync: Duration,
    /// When the subtask received its first barrier (epoch ms).
    pub barrier_received_ms: i64,
}

/// What the subtask must do with an element that arrived on an input during alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alignment {
    /// Keep waiting; the input that delivered the barrier is now blocked.
    Waiting,
    /// Every input has delivered the barrier: snapshot and forward it.
    Aligned(Barrier),
    /// A barrier for a checkpoint older than the one being aligned: drop it.
    Stale,
}

/// Tracks barrier alignment over a subtask's inputs.
#[derive(Debug, Clone)]
pub struct BarrierAligner {
    blocked: Vec<bool>,
    ended: Vec<bool>,
    current: Option<Barrier>,
    last_completed: u64,
}

impl BarrierAligner {
    pub fn new(inputs: usize) -> Self {
        Self {
            blocked: vec![false; inputs],
            ended: vec![false; inputs],
            current: None,
            last_completed: 0,
        }
    }

    /// Whether input `i` must not be read now.
    pub fn is_blocked(&self, i: usize) -> bool {
        self.blocked.get(i).copied().unwrap_or(false) || self.ended.get(i).copied().unwrap_or(true)
    }

    /// Whether a checkpoint is being aligned.
    pub fn aligning(&self) -> bool {
        self.current.is_some()
    }

    /// Input `i` delivered `barrier`.
    pub fn on_barrier(&mut self, i: usize, barrier: Barrier) -> Alignment {
        if barrier.checkpoint_id <= self.last_completed {
            return Alignment::Stale;
        }
        match self.current {
            Some(c) if barrier.checkpoint_id < c.checkpoint_id => return Alignment::Stale,
            // A newer checkpoint overtook the one being aligned (which can then never
            // complete here): abandon it and align the newer one.
            Some(c) if barrier.checkpoint_id > c.checkpoint_id => {
                self.blocked.iter_mut().for_each(|b| *b = false);
                self.current = Some(barrier);
            }
            None => self.current = Some(barrier),
            _ => {}
        }
        if let Some(b) = self.blocked.get_mut(i) {
            *b = true;
        }
        self.check()
    }

    /// Input `i` ended; an ended input no longer holds up alignment.
    pub fn on_end(&mut self, i: usize) -> Alignment {
        if let Some(e) = self.ended.get_mut(i) {
            *e = true;
        }
        if self.current.is_some() {
            self.check()
        } else {
            Alignment::Waiting
        }
    }

    /// Inputs still open.
    pub fn open_inputs(&self) -> usize {
        self.ended.iter().filter(|e| !**e).count()
    }

    fn check(&mut self) -> Alignment {
        let done = self.blocked.iter().zip(&self.ended).all(|(b, e)| *b || *e);
        match (done, self.current) {
            (true, Some(barrier)) => {
                self.blocked.iter_mut().for_each(|b| *b = false);
                self.current = None;
                self.last_completed = barrier.checkpoint_id;
                Alignment::Aligned(barrier)
            }
            _ => Alignment::Waiting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(id: u64) -> Barrier {
        Barrier {
            checkpoint_id: id,
            timestamp_ms: 0,
        }
    }

    #[test]
    fn one_input_aligns_at_once() {
        let mut a = BarrierAligner::new(1);
        assert_eq!(a.on_barrier(0, b(1)), Alignment::Aligned(b(1)));
        assert!(!a.is_blocked(0));
        assert_eq!(a.on_barrier(0, b(1)), Alignment::Stale);
    }

    #[test]
    fn inputs_are_blocked_until_every_one_delivered_the_barrier() {
        let mut a = BarrierAligner::new(3);
        assert_eq!(a.on_barrier(1, b(1)), Alignment::Waiting);
        assert!(a.is_blocked(1) && !a.is_blocked(0));
        assert_eq!(a.on_barrier(0, b(1)), Alignment::Waiting);
        assert_eq!(a.on_barrier(2, b(1)), Alignment::Aligned(b(1)));
        assert!((0..3).all(|i| !a.is_blocked(i)));
    }

    #[test]
    fn ended_inputs_do_not_hold_up_alignment() {
        let mut a = BarrierAligner::new(2);
        assert_eq!(a.on_barrier(0, b(4)), Alignment::Waiting);
        assert_eq!(a.on_end(1), Alignment::Aligned(b(4)));
        assert!(a.is_blocked(1), "an ended input is never read again");
        assert_eq!(a.on_barrier(0, b(5)), Alignment::Aligned(b(5)));
        assert_eq!(a.open_inputs(), 1);
    }

    #[test]
    fn a_newer_barrier_supersedes_an_unfinished_alignment() {
        let mut a = BarrierAligner::new(2);
        assert_eq!(a.on_barrier(0, b(1)), Alignment::Waiting);
        assert_eq!(a.on_barrier(0, b(2)), Alignment::Waiting);
        assert_eq!(a.on_barrier(1, b(1)), Alignment::Stale);
        assert_eq!(a.on_barrier(1, b(2)), Alignment::Aligned(b(2)));
    }
}
