//! Job and execution states with Flink's names, and the one place where legal job status
//! transitions are written down.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The status of a whole job, with Flink's `JobStatus` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Initializing,
    Created,
    Running,
    Failing,
    Failed,
    Cancelling,
    Canceled,
    Finished,
    Restarting,
    Suspended,
    Reconciling,
}

impl JobStatus {
    /// Every status, in Flink's declaration order.
    pub const ALL: [JobStatus; 11] = [
        JobStatus::Initializing,
        JobStatus::Created,
        JobStatus::Running,
        JobStatus::Failing,
        JobStatus::Failed,
        JobStatus::Cancelling,
        JobStatus::Canceled,
        JobStatus::Finished,
        JobStatus::Restarting,
        JobStatus::Suspended,
        JobStatus::Reconciling,
    ];

    /// Globally terminal: the job will never run again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Failed | JobStatus::Canceled | JobStatus::Finished
        )
    }

    /// Whether moving from `self` to `next` is a legal transition.
    pub fn can_become(self, next: JobStatus) -> bool {
        use JobStatus::*;
        if self.is_terminal() {
            return false;
        }
        match (self, next) {
            (Initializing, Created) => true,
            (Created, Running) => true,
            (Running, Finished) => true,
            (Running, Failing) | (Running, Restarting) => true,
            (Restarting, Running) | (Restarting, Failed) | (Restarting, Canceled) => true,
            (Failing, Failed) | (Failing, Restarting) => true,
            (Running | Created | Initializing | Restarting | Failing, Cancelling) => true,
            (Cancelling, Canceled) => true,
            (Created | Initializing, Failed) => true,
            (Running | Created, Suspended) => true,
            (Suspended, Running) | (Reconciling, Running) => true,
            (_, Reconciling) => false,
            _ => false,
        }
    }

    /// Flink's name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Initializing => "INITIALIZING",
            JobStatus::Created => "CREATED",
            JobStatus::Running => "RUNNING",
            JobStatus::Failing => "FAILING",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelling => "CANCELLING",
            JobStatus::Canceled => "CANCELED",
            JobStatus::Finished => "FINISHED",
            JobStatus::Restarting => "RESTARTING",
            JobStatus::Suspended => "SUSPENDED",
            JobStatus::Reconciling => "RECONCILING",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one subtask attempt, with Flink's `ExecutionState` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionState {
    Created,
    Scheduled,
    Deploying,
    Running,
    Finished,
    Canceling,
    Canceled,
    Failed,
    Reconciling,
    Initializing,
}

impl ExecutionState {
    /// Every state, in Flink's declaration order (the order of `status-counts`).
    pub const ALL: [ExecutionState; 10] = [
        ExecutionState::Created,
        ExecutionState::Scheduled,
        ExecutionState::Deploying,
        ExecutionState::Running,
        ExecutionState::Finished,
        ExecutionState::Canceling,
        ExecutionState::Canceled,
        ExecutionState::Failed,
        ExecutionState::Reconciling,
        ExecutionState::Initializing,
    ];

    /// Flink's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Created => "CREATED",
            ExecutionState::Scheduled => "SCHEDULED",
            ExecutionState::Deploying => "DEPLOYING",
            ExecutionState::Running => "RUNNING",
            ExecutionState::Finished => "FINISHED",
            ExecutionState::Canceling => "CANCELING",
            ExecutionState::Canceled => "CANCELED",
            ExecutionState::Failed => "FAILED",
            ExecutionState::Reconciling => "RECONCILING",
            ExecutionState::Initializing => "INITIALIZING",
        }
    }

    /// Whether the attempt has ended for good.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ExecutionState::Finished | ExecutionState::Canceled | ExecutionState::Failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_allow_no_transition() {
        for from in [JobStatus::Failed, JobStatus::Canceled, JobStatus::Finished] {
            for to in JobStatus::ALL {
                assert!(!from.can_become(to), "{from} -> {to} must be illegal");
            }
        }
    }

    #[test]
    fn the_usual_life_cycles_are_legal() {
        use JobStatus::*;
        let paths: &[&[JobStatus]] = &[
            &[Initializing, Created, Running, Finished],
            &[Created, Running, Cancelling, Canceled],
            &[Created, Running, Restarting, Running, Failing, Failed],
        ];
        for path in paths {
            for pair in path.windows(2) {
                assert!(pair[0].can_become(pair[1]), "{} -> {}", pair[0], pair[1]);
            }
        }
        assert!(!Finished.can_become(Running));
        assert!(!Created.can_become(Finished));
    }

    #[test]
    fn names_are_flinks_spellings() {
        assert_eq!(JobStatus::Cancelling.as_str(), "CANCELLING");
        assert_eq!(ExecutionState::Canceling.as_str(), "CANCELING");
        assert_eq!(ExecutionState::ALL.len(), 10);
    }
}
