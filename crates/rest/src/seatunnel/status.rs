//! SeaTunnel's job statuses, mapped from weir's in one place. weir's status machine is Flink's;
//! SeaTunnel's has a few states of its own, which weir derives from the snapshot:
//!
//! | weir (Flink) | SeaTunnel |
//! |---|---|
//! | INITIALIZING | PENDING (accepted, waiting for slots) |
//! | CREATED | SCHEDULED (slots found, subtasks being deployed) |
//! | RUNNING, RECONCILING | RUNNING, or DOING_SAVEPOINT while a stop-with-savepoint runs |
//! | RESTARTING | SCHEDULED (the job is being redeployed) |
//! | FAILING / FAILED | FAILING / FAILED |
//! | CANCELLING / CANCELED | CANCELING / CANCELED |
//! | FINISHED | FINISHED, or SAVEPOINT_DONE when a stop-with-savepoint ended it (DOING_SAVEPOINT until its savepoint is written) |
//! | SUSPENDED | UNKNOWABLE (the JobManager lost it) |

use weir_core::JobStatus;
use weir_gateway::{JobSnapshot, SavepointStop};

/// Every SeaTunnel status, in its lifecycle order (the names `/finished-jobs/:state` accepts).
pub const ALL: [&str; 13] = [
    "INITIALIZING",
    "CREATED",
    "PENDING",
    "SCHEDULED",
    "RUNNING",
    "FAILING",
    "FAILED",
    "DOING_SAVEPOINT",
    "SAVEPOINT_DONE",
    "CANCELING",
    "CANCELED",
    "FINISHED",
    "UNKNOWABLE",
];

/// The SeaTunnel status of a job.
pub fn of(status: JobStatus, savepoint_stop: SavepointStop) -> &'static str {
    let stopping = !matches!(savepoint_stop, SavepointStop::None);
    match status {
        JobStatus::Initializing => "PENDING",
        JobStatus::Created | JobStatus::Restarting => "SCHEDULED",
        JobStatus::Running | JobStatus::Reconciling if stopping => "DOING_SAVEPOINT",
        JobStatus::Running | JobStatus::Reconciling => "RUNNING",
        JobStatus::Failing => "FAILING",
        JobStatus::Failed => "FAILED",
        JobStatus::Cancelling => "CANCELING",
        JobStatus::Canceled => "CANCELED",
        // The sources end right after the savepoint's barrier, so the job may finish while the
        // savepoint's metadata is still being written: it is done when the savepoint is.
        JobStatus::Finished if savepoint_stop == SavepointStop::Done => "SAVEPOINT_DONE",
        JobStatus::Finished if stopping => "DOING_SAVEPOINT",
        JobStatus::Finished => "FINISHED",
        JobStatus::Suspended => "UNKNOWABLE",
    }
}

/// The SeaTunnel status of a snapshot.
pub fn of_snapshot(s: &JobSnapshot) -> &'static str {
    of(s.status, s.savepoint_stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savepoint_stops_have_their_own_states() {
        let stopping = SavepointStop::InProgress { checkpoint_id: 3 };
        assert_eq!(of(JobStatus::Running, SavepointStop::None), "RUNNING");
        assert_eq!(of(JobStatus::Running, stopping), "DOING_SAVEPOINT");
        assert_eq!(
            of(JobStatus::Finished, SavepointStop::Done),
            "SAVEPOINT_DONE"
        );
        assert_eq!(of(JobStatus::Finished, SavepointStop::None), "FINISHED");
        assert_eq!(of(JobStatus::Canceled, stopping), "CANCELED");
        assert_eq!(of(JobStatus::Finished, stopping), "DOING_SAVEPOINT");
        assert_eq!(of(JobStatus::Initializing, SavepointStop::None), "PENDING");
        for s in JobStatus::ALL {
            assert!(ALL.contains(&of(s, SavepointStop::None)));
        }
    }
}
