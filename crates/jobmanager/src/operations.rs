//! The Dispatcher's store of asynchronous operations (checkpoint, savepoint and stop
//! triggers), keyed by job and trigger id as Flink's `CompletedOperationCache`: a repeated
//! trigger id is the same operation; in-progress operations are kept until they finish, and a
//! result is kept `rest.async.store-duration` after completion (0 = forever).

use std::collections::HashMap;
use std::time::Duration;
use weir_core::{JobId, TriggerId};
pub use weir_gateway::{OperationKind, OperationState};

#[derive(Debug, Clone)]
struct Entry {
    state: OperationState,
    completed_at: Option<i64>,
}

/// The store.
#[derive(Debug, Default)]
pub struct OperationStore {
    entries: HashMap<(OperationKind, JobId, TriggerId), Entry>,
    retention: Option<Duration>,
}

impl OperationStore {
    /// Results kept `retention` after completion; zero keeps them forever.
    pub fn new(retention: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            retention: (!retention.is_zero()).then_some(retention),
        }
    }

    /// Registers a new operation; false if the id is already known (a repeated trigger).
    pub fn begin(&mut self, kind: OperationKind, job: JobId, id: TriggerId, now: i64) -> bool {
        self.expire(now);
        let key = (kind, job, id);
        if self.entries.contains_key(&key) {
            return false;
        }
        self.entries.insert(
            key,
            Entry {
                state: OperationState::InProgress,
                completed_at: None,
            },
        );
        true
    }

    pub fn finish(
        &mut self,
        kind: OperationKind,
        job: JobId,
        id: TriggerId,
        result: Result<(u64, String), String>,
        now: i64,
    ) {
        if let Some(e) = self.entries.get_mut(&(kind, job, id)) {
            e.state = OperationState::Done(result);
            e.completed_at = Some(now);
        }
    }

    /// Forgets an operation that could not even start.
    pub fn forget(&mut self, kind: OperationKind, job: JobId, id: TriggerId) {
        self.entries.remove(&(kind, job, id));
    }

    pub fn get(
        &mut self,
        kind: OperationKind,
        job: JobId,
        id: TriggerId,
        now: i64,
    ) -> Option<OperationState> {
        self.expire(now);
        self.entries.get(&(kind, job, id)).map(|e| e.state.clone())
    }

    fn expire(&mut self, now: i64) {
        if let Some(keep) = self.retention {
            let keep = keep.as_millis() as i64;
            self.entries
                .retain(|_, e| e.completed_at.is_none_or(|t| now - t < keep));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_ids_are_one_operation_and_results_expire_after_completion() {
        let mut s = OperationStore::new(Duration::from_millis(100));
        let (job, id) = (JobId(1), TriggerId(7));
        assert!(s.begin(OperationKind::Savepoint, job, id, 0));
        assert!(!s.begin(OperationKind::Savepoint, job, id, 1));
        assert!(
            s.begin(OperationKind::Checkpoint, job, id, 1),
            "kinds are separate"
        );
        assert_eq!(
            s.get(OperationKind::Savepoint, job, id, 1_000),
            Some(OperationState::InProgress),
            "in-progress operations never expire"
        );
        s.finish(
            OperationKind::Savepoint,
            job,
            id,
            Ok((3, "file:/sp".into())),
            1_000,
        );
        assert!(matches!(
            s.get(OperationKind::Savepoint, job, id, 1_050),
            Some(OperationState::Done(Ok(_)))
        ));
        assert_eq!(s.get(OperationKind::Savepoint, job, id, 1_100), None);
        let mut forever = OperationStore::new(Duration::ZERO);
        forever.begin(OperationKind::Checkpoint, job, id, 0);
        forever.finish(OperationKind::Checkpoint, job, id, Err("x".into()), 0);
        assert!(forever
            .get(OperationKind::Checkpoint, job, id, i64::MAX)
            .is_some());
    }
}
