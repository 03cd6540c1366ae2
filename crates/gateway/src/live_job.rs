//! A job as it is this moment without copying it: the snapshot the JobMaster last published
//! (shared, immutable) and the live I/O counters of its running subtasks beside it. A reader
//! that needs only per-vertex sums (`/jobs/:id`, polled every second by every open dashboard)
//! gets them without cloning the whole snapshot (configuration, exception history, every
//! subtask's attempts) on each request; one that needs a plain [`JobSnapshot`] asks for
//! [`LiveJob::into_snapshot`].

use crate::snapshot::{IoStats, JobSnapshot};
use crate::task::SubtaskIo;
use std::sync::Arc;

/// A published snapshot and the live I/O that overlays it.
#[derive(Debug, Clone)]
pub struct LiveJob {
    /// The snapshot as published: the same `Arc` until the job's state next changes, so a
    /// reader can keep what it derived from it.
    pub snapshot: Arc<JobSnapshot>,
    /// Live counters of subtasks, read from their TaskExecutors just now. Only running
    /// attempts take them: a finished attempt's own final counters stand.
    pub io: Vec<SubtaskIo>,
    /// When the live counters were read (epoch ms).
    pub taken_at: i64,
}

impl LiveJob {
    /// A job with no live counters (archived, or not running anywhere).
    pub fn published(snapshot: Arc<JobSnapshot>, taken_at: i64) -> Self {
        LiveJob {
            snapshot,
            io: Vec::new(),
            taken_at,
        }
    }

    /// The I/O of each subtask's current attempt, live where it is running: vertex by vertex,
    /// subtask by subtask.
    fn subtask_io(&self) -> Vec<Vec<IoStats>> {
        let mut io: Vec<Vec<IoStats>> = self
            .snapshot
            .vertices
            .iter()
            .map(|v| v.subtasks.iter().map(|s| s.current.io).collect())
            .collect();
        for live in &self.io {
            let running = self
                .snapshot
                .vertices
                .get(live.vertex)
                .and_then(|v| v.subtasks.get(live.subtask))
                .is_some_and(|s| !s.current.state.is_terminal());
            if running {
                io[live.vertex][live.subtask] = live.io;
            }
        }
        io
    }

    /// Each vertex's summed I/O over its current attempts, live where they run.
    pub fn vertex_io(&self) -> Vec<IoStats> {
        self.subtask_io()
            .into_iter()
            .map(|subtasks| subtasks.into_iter().sum())
            .collect()
    }

    /// The snapshot with the live counters written into it (a copy).
    pub fn into_snapshot(self) -> JobSnapshot {
        let io = self.subtask_io();
        let mut s = Arc::unwrap_or_clone(self.snapshot);
        s.taken_at = self.taken_at;
        for (v, vertex_io) in s.vertices.iter_mut().zip(io) {
            for (subtask, io) in v.subtasks.iter_mut().zip(vertex_io) {
                subtask.current.io = io;
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{AttemptSnapshot, JobType, SubtaskSnapshot, VertexSnapshot};
    use weir_core::{ExecutionState, JobId, JobStatus, VertexId};

    fn attempt(state: ExecutionState, rows: u64) -> AttemptSnapshot {
        AttemptSnapshot {
            attempt: 0,
            state,
            timestamps: [0; 10],
            task_manager: None,
            endpoint: None,
            io: IoStats {
                write_records: rows,
                ..IoStats::default()
            },
            operator_io: Vec::new(),
            failure: None,
        }
    }

    fn job(states: &[ExecutionState]) -> JobSnapshot {
        JobSnapshot {
            job_id: JobId(7),
            name: "j".into(),
            job_type: JobType::Streaming,
            status: JobStatus::Running,
            timestamps: [0; 11],
            max_parallelism: 128,
            vertices: vec![VertexSnapshot {
                id: VertexId(1),
                name: "v".into(),
                parallelism: states.len(),
                max_parallelism: 128,
                operators: Vec::new(),
                inputs: Vec::new(),
                subtasks: states
                    .iter()
                    .enumerate()
                    .map(|(index, s)| SubtaskSnapshot {
                        index,
                        current: attempt(*s, 10),
                        prior: Vec::new(),
                    })
                    .collect(),
            }],
            exceptions: Vec::new(),
            config: Default::default(),
            origin: None,
            taken_at: 0,
            operators: Vec::new(),
            savepoint_stop: Default::default(),
        }
    }

    fn live(vertex: usize, subtask: usize, rows: u64) -> SubtaskIo {
        SubtaskIo {
            vertex,
            subtask,
            io: IoStats {
                write_records: rows,
                ..IoStats::default()
            },
        }
    }

    #[test]
    fn running_attempts_take_live_counters_and_finished_ones_keep_their_own() {
        use ExecutionState::*;
        let l = LiveJob {
            snapshot: Arc::new(job(&[Running, Finished, Running])),
            // The finished subtask's stale live entry, and one for a subtask that is not there.
            io: vec![
                live(0, 0, 500),
                live(0, 1, 999),
                live(0, 2, 70),
                live(3, 0, 1),
            ],
            taken_at: 42,
        };
        assert_eq!(l.vertex_io()[0].write_records, 500 + 10 + 70);
        let s = l.clone().into_snapshot();
        let rows: Vec<u64> = s.vertices[0]
            .subtasks
            .iter()
            .map(|t| t.current.io.write_records)
            .collect();
        assert_eq!(rows, [500, 10, 70]);
        assert_eq!(s.taken_at, 42);
        // The sums of the copy and of the shared snapshot agree.
        assert_eq!(s.vertices[0].io(), l.vertex_io()[0]);
    }

    #[test]
    fn a_job_without_live_counters_is_its_snapshot() {
        let s = job(&[ExecutionState::Finished]);
        let l = LiveJob::published(Arc::new(s.clone()), s.taken_at);
        assert_eq!(l.vertex_io()[0].write_records, 10);
        assert_eq!(l.into_snapshot(), s);
    }
}
