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

/// A rescale in progress, beside the phase (the job keeps running while its checkpoint is
/// taken).
pub(crate) enum Rescale {
    /// Taking the checkpoint the rescaled job restarts from.
    Checkpointing {
        checkpoint_id: u64,
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
