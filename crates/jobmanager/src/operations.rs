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

/// A finished operation as stored in the job archive, so results outlive the JobManager.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationRecord {
    pub kind: OperationKind,
    pub job: JobId,
    pub id: TriggerId,
    pub result: Result<(u64, String), String>,
    pub completed_at: i64,
}

/// The stored name of a kind: fixed, because archives outlive versions (`OperationKind::name`
/// is wording for messages).
fn kind_name(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::Checkpoint => "checkpoint",
        OperationKind::Savepoint => "savepoint",
        OperationKind::Rescaling => "rescaling",
        OperationKind::Disposal => "disposal",
    }
}

impl OperationRecord {
    /// The archive key: one record per (kind, job, trigger id).
    pub fn key(&self) -> String {
        format!("{}/{}/{}", kind_name(self.kind), self.job, self.id)
    }

    pub fn encode(&self) -> Vec<u8> {
        let result = match &self.result {
            Ok((id, location)) => serde_json::json!({ "ok": [id, location] }),
            Err(e) => serde_json::json!({ "err": e }),
        };
        serde_json::json!({
            "kind": kind_name(self.kind),
            "job": self.job.to_string(),
            "id": self.id.to_string(),
            "result": result,
            "completed_at": self.completed_at,
        })
        .to_string()
        .into_bytes()
    }

    /// Reads a record back; `None` for anything unreadable (skipped, never fatal).
    pub fn decode(bytes: &[u8]) -> Option<OperationRecord> {
        let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let kind = OperationKind::ALL
            .into_iter()
            .find(|k| v["kind"] == kind_name(*k))?;
        let result = match (&v["result"]["ok"], v["result"]["err"].as_str()) {
            (serde_json::Value::Array(ok), _) => {
                Ok((ok.first()?.as_u64()?, ok.get(1)?.as_str()?.to_string()))
            }
            (_, Some(e)) => Err(e.to_string()),
            _ => return None,
        };
        Some(OperationRecord {
            kind,
            job: v["job"].as_str()?.parse().ok()?,
            id: v["id"].as_str()?.parse().ok()?,
            result,
            completed_at: v["completed_at"].as_i64()?,
        })
    }
}

impl OperationStore {
    /// Takes back a finished operation from an earlier run of the JobManager; false if it has
    /// expired meanwhile (the caller forgets it).
    pub fn restore(&mut self, r: OperationRecord, now: i64) -> bool {
        let key = (r.kind, r.job, r.id);
        self.entries.insert(
            key,
            Entry {
                state: OperationState::Done(r.result),
                completed_at: Some(r.completed_at),
            },
        );
        self.expire(now);
        self.entries.contains_key(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_expired_ones_are_not_restored() {
        let ok = OperationRecord {
            kind: OperationKind::Rescaling,
            job: JobId(7),
            id: TriggerId::random(),
            result: Ok((3, "file:/tmp/chk-3".into())),
            completed_at: 1_000,
        };
        let err = OperationRecord {
            kind: OperationKind::Disposal,
            result: Err("nope".into()),
            ..ok.clone()
        };
        for r in [&ok, &err] {
            assert_eq!(OperationRecord::decode(&r.encode()).as_ref(), Some(r));
        }
        assert_ne!(ok.key(), err.key());
        assert_eq!(OperationRecord::decode(b"{\"kind\":1}"), None);
        let mut s = OperationStore::new(Duration::from_millis(500));
        assert!(s.restore(ok.clone(), 1_200));
        assert_eq!(
            s.get(ok.kind, ok.job, ok.id, 1_300),
            Some(OperationState::Done(ok.result.clone()))
        );
        assert!(!s.restore(err, 1_600), "completed 600 ms ago, kept 500");
    }

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
