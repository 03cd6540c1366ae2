//! Where a JobMaster is in its protocol. The task matches every message against its phase, so
//! a step can only be taken from the phase it belongs to: a deployment result is acted on only
//! while that deployment is awaited, a restart only after the old attempt stopped, and anything
//! late (a deployment that finished after a cancel, slots found after the job ended) is
//! recognised as such and dropped or undone in one place.

use super::RescaleOutcome;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use weir_core::JobStatus;
use weir_gateway::CompletedCheckpoint;

/// The JobMaster's lifecycle.
#[derive(Debug)]
pub enum Phase {
    /// Accepted; the task has not run yet.
    Created,
    /// Waiting for slots for `Attempt`; the handle is the task asking the resource manager.
    Scheduling(JoinHandle<()>, Attempt),
    /// Reading the checkpoint or savepoint the next attempt starts from.
    Restoring(Attempt),
    /// The TaskExecutor is starting attempt `attempt`.
    Deploying { attempt: u32 },
    /// Deployed: the subtasks run and checkpoints may be taken.
    Running,
    /// The old attempt is stopping or the restart delay runs; a new attempt follows.
    Restarting,
    /// Globally terminal. The task lingers only until a stop-with-savepoint's savepoint is
    /// settled.
    Ended(JobStatus),
}

/// Which attempt a restore is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The first deployment (attempt 0), from the job's initial restore point if it has one.
    First,
    /// A new attempt after a failure or a rescale, from the latest completed checkpoint.
    Restart,
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Created => "created",
            Phase::Scheduling(..) => "scheduling",
            Phase::Restoring(_) => "restoring",
            Phase::Deploying { .. } => "deploying",
            Phase::Running => "running",
            Phase::Restarting => "restarting",
            Phase::Ended(_) => "ended",
        }
    }
}

/// A requested checkpoint, from the JobMaster's side: running as checkpoint `id`, or waiting
/// in the coordinator's queue under a ticket until a slot is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestedCheckpoint {
    Started(u64),
    Queued(u64),
}

impl RequestedCheckpoint {
    /// The queued request `ticket` started as checkpoint `id`.
    pub fn started(&mut self, ticket: u64, id: u64) {
        if *self == RequestedCheckpoint::Queued(ticket) {
            *self = RequestedCheckpoint::Started(id);
        }
    }
}

/// A rescale in progress, beside the phase (the job keeps running while its checkpoint is
/// taken).
pub(crate) enum Rescale {
    /// Taking the checkpoint the rescaled job restarts from.
    Checkpointing {
        checkpoint: RequestedCheckpoint,
        parallelism: Vec<usize>,
        /// Slots the job held before, and slots the new shape needs.
        held: usize,
        needed: usize,
        done: oneshot::Sender<RescaleOutcome>,
    },
    /// The old attempt stops and the new one is deployed from `from`.
    Redeploying {
        from: CompletedCheckpoint,
        done: oneshot::Sender<RescaleOutcome>,
    },
}

impl Rescale {
    /// Tells whoever waits how it ended.
    pub fn finish(self, outcome: RescaleOutcome) {
        let done = match self {
            Rescale::Checkpointing { done, .. } | Rescale::Redeploying { done, .. } => done,
        };
        let _ = done.send(outcome);
    }
}
