//! Where a `Postgres-CDC` reader is, as its checkpoints record it, and how a reader starts from
//! that record (a pure decision, tested here).

use serde::{Deserialize, Serialize};
use weir_core::{WeirError, WeirResult};

/// The reader's position: operator state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Position {
    /// Reading the table. The exported snapshot it reads in dies with the session, so a
    /// restore here reads the table again in a new one (its rows may then arrive twice; a
    /// keyed sink ends exact).
    Snapshot,
    /// Every change of the transactions committed up to `lsn` (a commit's end) has been
    /// emitted, and the first `skip` changes of the next one.
    Stream { lsn: u64, skip: u64 },
}

impl Position {
    pub fn encode(&self) -> WeirResult<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| WeirError::new(format!("encoding the Postgres-CDC position: {e}")))
    }

    pub fn decode(bytes: &[u8]) -> WeirResult<Position> {
        serde_json::from_slice(bytes).map_err(|e| {
            WeirError::new(format!(
                "the restored checkpoint holds a Postgres-CDC position weir cannot read: {e}"
            ))
        })
    }
}

/// How a reader begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Create the slot; one already there belongs to someone else (or an earlier job) and is
    /// an error, never silently taken over.
    CreateSlot,
    /// Drop this job's slot if an earlier attempt left it, and create it anew: nothing the
    /// earlier attempt read was checkpointed past the snapshot.
    RecreateSlot,
    /// Stream from the slot at `lsn`, dropping the first `skip` changes.
    Resume { lsn: u64, skip: u64 },
}

/// The start for a reader restored from `restored` (`None`: no checkpoint) in attempt
/// `attempt` of the job.
pub fn start(restored: Option<Position>, attempt: u32) -> Start {
    match (restored, attempt) {
        (None, 0) => Start::CreateSlot,
        (None, _) | (Some(Position::Snapshot), _) => Start::RecreateSlot,
        (Some(Position::Stream { lsn, skip }), _) => Start::Resume { lsn, skip },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_start_creates_and_a_restart_without_a_stream_position_recreates() {
        assert_eq!(start(None, 0), Start::CreateSlot);
        assert_eq!(start(None, 2), Start::RecreateSlot);
        assert_eq!(start(Some(Position::Snapshot), 1), Start::RecreateSlot);
        assert_eq!(start(Some(Position::Snapshot), 0), Start::RecreateSlot);
    }

    #[test]
    fn a_stream_position_resumes_there_even_in_a_new_job() {
        let p = Position::Stream { lsn: 99, skip: 3 };
        assert_eq!(start(Some(p), 0), Start::Resume { lsn: 99, skip: 3 });
        assert_eq!(Position::decode(&p.encode().unwrap()).unwrap(), p);
        assert!(Position::decode(b"{}").is_err());
    }
}
