//! The CheckpointCoordinator's bookkeeping: which checkpoints are pending, which subtasks have
//! acknowledged, when one is complete, failed or subsumed, and the statistics REST serves.
//!
//! Pure: every method takes the time and returns what the JobMaster must do (write the
//! metadata, discard old checkpoints, fail the job), so the protocol is tested without tasks,
//! clocks or files. The JobMaster publishes [`CheckpointCoordinator::snapshot`] after every
//! call, which is what makes a completed checkpoint visible on the very next request.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use weir_core::VertexId;
use weir_gateway::checkpoint_storage::{CheckpointLocation, StateFile, VertexStateFiles};
use weir_gateway::{
    CheckpointAck, CheckpointConfig, CheckpointKind, CheckpointMetadata, CheckpointStats,
    CheckpointStatsSnapshot, CheckpointStatus, RestoredCheckpoint, StatsSummary,
    SubtaskCheckpointStats, TaskCheckpointStats,
};

/// Where checkpoints go when `execution.checkpointing.dir` is not set.
pub const DEFAULT_CHECKPOINT_DIR: &str = "weir-data/checkpoints";

/// How a job checkpoints (`execution.checkpointing.*` and SeaTunnel's `checkpoint.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointSettings {
    /// `None`: no periodic checkpoints (savepoints still work).
    pub interval: Option<Duration>,
    pub timeout: Duration,
    pub min_pause: Duration,
    pub max_concurrent: usize,
    pub tolerable_failures: usize,
    pub num_retained: usize,
    pub retain_on_cancellation: bool,
    /// Base directory; the job's checkpoints go to `<dir>/<job-id>/chk-<n>`. Resolved once, when
    /// the job's settings are, so every location handed out later is already a place.
    pub dir: CheckpointLocation,
    /// Default savepoint directory (`execution.checkpointing.savepoint-dir`).
    pub savepoint_dir: Option<String>,
    /// `web.checkpoints.history`.
    pub history_size: usize,
}

impl Default for CheckpointSettings {
    fn default() -> Self {
        Self {
            interval: None,
            timeout: Duration::from_secs(600),
            min_pause: Duration::ZERO,
            max_concurrent: 1,
            tolerable_failures: 0,
            num_retained: 1,
            retain_on_cancellation: false,
            dir: CheckpointLocation::local(DEFAULT_CHECKPOINT_DIR),
            savepoint_dir: None,
            history_size: 10,
        }
    }
}

/// A vertex as the coordinator needs it.
#[derive(Debug, Clone)]
pub struct VertexInfo {
    pub id: VertexId,
    pub name: String,
    pub parallelism: usize,
    pub max_parallelism: usize,
}

/// Why no checkpoint was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerRefused {
    /// `max-concurrent` checkpoints are already pending (or requests wait for a slot).
    TooManyConcurrent,
    /// The minimum pause since the last completion has not passed.
    MinPause,
    /// [`MAX_QUEUED_REQUESTS`] requested checkpoints already wait for a slot.
    TooManyQueued,
}

/// Who asks for a checkpoint, which decides what happens while others are in flight. Flink's
/// `CheckpointRequestDecider` makes the same split: a busy timer tick is dropped (the next one
/// comes soon), a request someone waits for is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerOrigin {
    /// The interval timer: refused while `max-concurrent` checkpoints are pending, while
    /// requests wait, or before `min-pause` has passed.
    Periodic,
    /// `POST /jobs/:id/checkpoints`, or the JobMaster before a rescale: waits for a free slot
    /// instead of being refused, and ignores the pause. Savepoints never wait.
    Requested,
}

/// What a trigger did.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Checkpoint `id` started; its subtasks are to be told.
    Started {
        id: u64,
        location: CheckpointLocation,
    },
    /// It waits for a slot; [`CheckpointCoordinator::start_queued`] starts it under `ticket`.
    Queued { ticket: u64 },
}

/// A queued request that has just started as checkpoint `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedStart {
    pub ticket: u64,
    pub id: u64,
    pub location: CheckpointLocation,
}

/// Requested checkpoints that may wait at once (Flink's `maxQueuedRequests`).
pub const MAX_QUEUED_REQUESTS: usize = 1000;

struct Pending {
    stats: CheckpointStats,
    location: CheckpointLocation,
    files: Vec<Vec<Option<StateFile>>>,
}

/// A checkpoint all of whose subtasks acknowledged: write this metadata to this location,
/// then call [`CheckpointCoordinator::complete`].
#[derive(Debug, Clone)]
pub struct ReadyToComplete {
    pub checkpoint_id: u64,
    pub location: CheckpointLocation,
    pub metadata: CheckpointMetadata,
}

/// What a failed checkpoint means for the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureOutcome {
    /// More consecutive checkpoint failures than tolerated: the job must fail.
    pub fail_job: bool,
}

/// Where a completed checkpoint is, for restores.
#[derive(Debug, Clone, PartialEq)]
pub struct RetainedCheckpoint {
    pub id: u64,
    pub location: CheckpointLocation,
    pub kind: CheckpointKind,
}

/// The bookkeeping of one job's checkpoints.
pub struct CheckpointCoordinator {
    job_id: String,
    settings: CheckpointSettings,
    vertices: Vec<VertexInfo>,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    history: VecDeque<CheckpointStats>,
    /// Completed checkpoints (not savepoints) still on disk, oldest first.
    retained: VecDeque<RetainedCheckpoint>,
    latest_completed: Option<CheckpointStats>,
    latest_savepoint: Option<CheckpointStats>,
    latest_failed: Option<CheckpointStats>,
    /// The newest completed checkpoint or savepoint: what a restart restores.
    latest_restorable: Option<RetainedCheckpoint>,
    restored: Option<RestoredCheckpoint>,
    restored_count: usize,
    completed: usize,
    failed: usize,
    consecutive_failures: usize,
    sizes: VecDeque<i64>,
    durations: VecDeque<i64>,
    last_completion: Option<i64>,
    /// Tickets of requested checkpoints waiting for a slot, oldest first.
    queued: VecDeque<u64>,
    next_ticket: u64,
}

/// Values kept for the percentiles (Flink keeps a window of this size too).
const SUMMARY_WINDOW: usize = 10_000;

impl CheckpointCoordinator {
    /// After a rescale: the subtasks every later checkpoint expects, per vertex in order.
    pub fn set_parallelism(&mut self, parallelism: &[usize]) {
        for (v, p) in self.vertices.iter_mut().zip(parallelism) {
            v.parallelism = *p;
            v.max_parallelism = v.max_parallelism.max(*p);
        }
    }

    pub fn new(job_id: String, settings: CheckpointSettings, vertices: Vec<VertexInfo>) -> Self {
        Self {
            job_id,
            settings,
            vertices,
            next_id: 1,
            pending: BTreeMap::new(),
            history: VecDeque::new(),
            retained: VecDeque::new(),
            latest_completed: None,
            latest_savepoint: None,
            latest_failed: None,
            latest_restorable: None,
            restored: None,
            restored_count: 0,
            completed: 0,
            failed: 0,
            consecutive_failures: 0,
            sizes: VecDeque::new(),
            durations: VecDeque::new(),
            last_completion: None,
            queued: VecDeque::new(),
            next_ticket: 1,
        }
    }

    pub fn settings(&self) -> &CheckpointSettings {
        &self.settings
    }

    /// The directory of periodic checkpoint `id`.
    pub fn checkpoint_location(&self, id: u64) -> CheckpointLocation {
        self.settings
            .dir
            .child(&self.job_id)
            .child(&format!("chk-{id}"))
    }

    /// The id the next trigger will get.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// The job was started from a checkpoint or savepoint; later ids continue after it.
    pub fn restored_from(
        &mut self,
        id: u64,
        location: &CheckpointLocation,
        is_savepoint: bool,
        now: i64,
    ) {
        self.restored = Some(RestoredCheckpoint {
            id,
            restore_timestamp: now,
            is_savepoint,
            external_path: location.uri(),
        });
        self.restored_count += 1;
        self.next_id = self.next_id.max(id + 1);
    }

    /// Asks for checkpoint or savepoint of `kind` at `location` (`None`: the periodic
    /// location). Savepoints always start; checkpoints follow [`TriggerOrigin`].
    pub fn trigger(
        &mut self,
        kind: CheckpointKind,
        origin: TriggerOrigin,
        location: Option<CheckpointLocation>,
        now: i64,
    ) -> Result<Admission, TriggerRefused> {
        if kind == CheckpointKind::Checkpoint {
            match origin {
                TriggerOrigin::Periodic => {
                    if !self.has_free_slot() || !self.queued.is_empty() {
                        return Err(TriggerRefused::TooManyConcurrent);
                    }
                    if let Some(last) = self.last_completion {
                        if now - last < self.settings.min_pause.as_millis() as i64 {
                            return Err(TriggerRefused::MinPause);
                        }
                    }
                }
                TriggerOrigin::Requested if !self.has_free_slot() || !self.queued.is_empty() => {
                    if self.queued.len() >= MAX_QUEUED_REQUESTS {
                        return Err(TriggerRefused::TooManyQueued);
                    }
                    let ticket = self.next_ticket;
                    self.next_ticket += 1;
                    self.queued.push_back(ticket);
                    return Ok(Admission::Queued { ticket });
                }
                TriggerOrigin::Requested => {}
            }
        }
        let (id, location) = self.start(kind, location, now);
        Ok(Admission::Started { id, location })
    }

    /// Starts the queued requests a freed slot allows; call after a checkpoint settles.
    pub fn start_queued(&mut self, now: i64) -> Vec<QueuedStart> {
        let mut started = Vec::new();
        while self.has_free_slot() {
            let Some(ticket) = self.queued.pop_front() else {
                break;
            };
            let (id, location) = self.start(CheckpointKind::Checkpoint, None, now);
            started.push(QueuedStart {
                ticket,
                id,
                location,
            });
        }
        started
    }

    /// Drops every queued request (the job is restarting or ending); returns their tickets.
    pub fn drop_queued(&mut self) -> Vec<u64> {
        self.queued.drain(..).collect()
    }

    /// Fewer than `max-concurrent` checkpoints (savepoints aside) are pending.
    fn has_free_slot(&self) -> bool {
        let checkpoints = self
            .pending
            .values()
            .filter(|p| !p.stats.kind.is_savepoint())
            .count();
        checkpoints < self.settings.max_concurrent.max(1)
    }

    fn start(
        &mut self,
        kind: CheckpointKind,
        location: Option<CheckpointLocation>,
        now: i64,
    ) -> (u64, CheckpointLocation) {
        let id = self.next_id;
        self.next_id += 1;
        let location = location.unwrap_or_else(|| self.checkpoint_location(id));
        let tasks = self
            .vertices
            .iter()
            .map(|v| TaskCheckpointStats {
                vertex: v.id,
                subtasks: (0..v.parallelism)
                    .map(|index| SubtaskCheckpointStats {
                        index,
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect();
        self.pending.insert(
            id,
            Pending {
                stats: CheckpointStats {
                    id,
                    status: CheckpointStatus::InProgress,
                    kind,
                    trigger_timestamp: now,
                    tasks,
                    external_path: None,
                    discarded: false,
                    failure: None,
                },
                location: location.clone(),
                files: self
                    .vertices
                    .iter()
                    .map(|v| vec![None; v.parallelism])
                    .collect(),
            },
        );
        (id, location)
    }

    /// A subtask acknowledged. Returns the metadata to write once every subtask has.
    pub fn acknowledge(&mut self, ack: &CheckpointAck) -> Option<ReadyToComplete> {
        let p = self.pending.get_mut(&ack.checkpoint_id)?;
        let slot = p
            .stats
            .tasks
            .get_mut(ack.vertex)
            .and_then(|t| t.subtasks.get_mut(ack.subtask))?;
        if slot.ack_timestamp.is_some() {
            return None; // a duplicate
        }
        *slot = SubtaskCheckpointStats {
            index: ack.subtask,
            ack_timestamp: Some(ack.ack_timestamp),
            state_size: ack.state_size,
            sync_ms: ack.sync_ms,
            async_ms: ack.async_ms,
            alignment_ms: ack.alignment_ms,
            start_delay_ms: ack.start_delay_ms,
        };
        p.files[ack.vertex][ack.subtask] = Some(StateFile {
            file: ack.state_file.clone(),
            size: ack.state_size,
        });
        if p.stats.num_acknowledged() < p.stats.num_subtasks() {
            return None;
        }
        let metadata = CheckpointMetadata {
            version: CheckpointMetadata::VERSION,
            job_id: self.job_id.clone(),
            checkpoint_id: ack.checkpoint_id,
            timestamp: p.stats.trigger_timestamp,
            is_savepoint: p.stats.kind.is_savepoint(),
            vertices: self
                .vertices
                .iter()
                .zip(&p.files)
                .map(|(v, files)| VertexStateFiles {
                    name: v.name.clone(),
                    max_parallelism: v.max_parallelism,
                    subtasks: files.iter().flatten().cloned().collect(),
                })
                .collect(),
        };
        Some(ReadyToComplete {
            checkpoint_id: ack.checkpoint_id,
            location: p.location.clone(),
            metadata,
        })
    }

    /// The metadata of `id` is written: it is complete. Returns the locations of checkpoints
    /// it subsumes beyond `num-retained` (to delete).
    pub fn complete(&mut self, id: u64, now: i64) -> Vec<CheckpointLocation> {
        let Some(p) = self.pending.remove(&id) else {
            return Vec::new();
        };
        let mut stats = p.stats;
        stats.status = CheckpointStatus::Completed;
        stats.external_path = Some(p.location.uri());
        self.completed += 1;
        self.consecutive_failures = 0;
        self.last_completion = Some(now);
        push_window(&mut self.sizes, stats.state_size() as i64);
        push_window(&mut self.durations, stats.end_to_end_duration());
        let kind = stats.kind;
        self.latest_restorable = Some(RetainedCheckpoint {
            id,
            location: p.location.clone(),
            kind,
        });
        let mut discard = Vec::new();
        if kind.is_savepoint() {
            self.latest_savepoint = Some(stats.clone());
        } else {
            self.latest_completed = Some(stats.clone());
            self.retained.push_back(RetainedCheckpoint {
                id,
                location: p.location,
                kind,
            });
            while self.retained.len() > self.settings.num_retained.max(1) {
                if let Some(old) = self.retained.pop_front() {
                    for h in self.history.iter_mut().filter(|h| h.id == old.id) {
                        h.discarded = true;
                    }
                    discard.push(old.location);
                }
            }
        }
        self.record(stats);
        discard
    }

    /// Checkpoint `id` failed (declined, timed out, or its files could not be written).
    pub fn fail(&mut self, id: u64, reason: &str, now: i64) -> Option<FailureOutcome> {
        let p = self.pending.remove(&id)?;
        let mut stats = p.stats;
        stats.status = CheckpointStatus::Failed;
        stats.failure = Some((now, reason.to_string()));
        self.failed += 1;
        let periodic = !stats.kind.is_savepoint();
        if periodic {
            self.consecutive_failures += 1;
        }
        self.latest_failed = Some(stats.clone());
        self.record(stats);
        Some(FailureOutcome {
            fail_job: periodic && self.consecutive_failures > self.settings.tolerable_failures,
        })
    }

    /// Fails every pending checkpoint (the job is failing, restarting or ending); these
    /// failures do not count against the tolerable number.
    pub fn abort_all(&mut self, reason: &str, now: i64) -> Vec<u64> {
        let ids: Vec<u64> = self.pending.keys().copied().collect();
        for id in &ids {
            let before = self.consecutive_failures;
            self.fail(*id, reason, now);
            self.consecutive_failures = before;
        }
        ids
    }

    /// Pending checkpoints older than the timeout.
    pub fn expired(&self, now: i64) -> Vec<u64> {
        let timeout = self.settings.timeout.as_millis() as i64;
        self.pending
            .values()
            .filter(|p| now - p.stats.trigger_timestamp > timeout)
            .map(|p| p.stats.id)
            .collect()
    }

    pub fn is_pending(&self, id: u64) -> bool {
        self.pending.contains_key(&id)
    }

    /// What a restart restores: the newest completed checkpoint or savepoint.
    pub fn latest_restorable(&self) -> Option<&RetainedCheckpoint> {
        self.latest_restorable.as_ref()
    }

    /// Locations of retained checkpoints, for cleanup when the job ends.
    pub fn retained_locations(&self) -> Vec<CheckpointLocation> {
        self.retained.iter().map(|c| c.location.clone()).collect()
    }

    fn record(&mut self, stats: CheckpointStats) {
        self.history.retain(|h| h.id != stats.id);
        self.history.push_front(stats);
        while self.history.len() > self.settings.history_size.max(1) {
            self.history.pop_back();
        }
    }

    /// The statistics as REST serves them.
    pub fn snapshot(&self) -> CheckpointStatsSnapshot {
        let mut history: Vec<CheckpointStats> = self
            .pending
            .values()
            .rev()
            .map(|p| p.stats.clone())
            .collect();
        history.extend(self.history.iter().cloned());
        history.sort_by_key(|c| std::cmp::Reverse(c.id));
        history.truncate(self.settings.history_size.max(1));
        let sizes: Vec<i64> = self.sizes.iter().copied().collect();
        let durations: Vec<i64> = self.durations.iter().copied().collect();
        CheckpointStatsSnapshot {
            config: CheckpointConfig {
                interval_ms: self
                    .settings
                    .interval
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(i64::MAX),
                timeout_ms: self.settings.timeout.as_millis() as i64,
                min_pause_ms: self.settings.min_pause.as_millis() as i64,
                max_concurrent: self.settings.max_concurrent,
                tolerable_failures: self.settings.tolerable_failures,
                retain_on_cancellation: self.settings.retain_on_cancellation,
                num_retained: self.settings.num_retained,
                directory: self.settings.dir.uri(),
            },
            restored_count: self.restored_count,
            total: self.completed + self.failed + self.pending.len(),
            in_progress: self.pending.len(),
            completed: self.completed,
            failed: self.failed,
            state_size: StatsSummary::of(&sizes),
            end_to_end_duration: StatsSummary::of(&durations),
            latest_completed: self.latest_completed.clone(),
            latest_savepoint: self.latest_savepoint.clone(),
            latest_failed: self.latest_failed.clone(),
            latest_restored: self.restored.clone(),
            history,
        }
    }
}

fn push_window(window: &mut VecDeque<i64>, value: i64) {
    window.push_back(value);
    if window.len() > SUMMARY_WINDOW {
        window.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_gateway::SavepointFormat;

    fn coordinator(settings: CheckpointSettings) -> CheckpointCoordinator {
        CheckpointCoordinator::new(
            "job".into(),
            settings,
            vec![
                VertexInfo {
                    id: VertexId(1),
                    name: "Source: FakeSource".into(),
                    parallelism: 2,
                    max_parallelism: 128,
                },
                VertexInfo {
                    id: VertexId(2),
                    name: "Sink: Console".into(),
                    parallelism: 1,
                    max_parallelism: 128,
                },
            ],
        )
    }

    fn ack(id: u64, vertex: usize, subtask: usize, at: i64) -> CheckpointAck {
        CheckpointAck {
            checkpoint_id: id,
            vertex,
            subtask,
            state_file: format!("{vertex}-{subtask}"),
            state_size: 10,
            ack_timestamp: at,
            sync_ms: 0,
            async_ms: 1,
            alignment_ms: 0,
            start_delay_ms: 1,
        }
    }

    /// A periodic trigger, as the interval timer makes it; started or refused, never queued.
    fn periodic(
        c: &mut CheckpointCoordinator,
        now: i64,
    ) -> Result<(u64, CheckpointLocation), TriggerRefused> {
        match c.trigger(
            CheckpointKind::Checkpoint,
            TriggerOrigin::Periodic,
            None,
            now,
        )? {
            Admission::Started { id, location } => Ok((id, location)),
            Admission::Queued { .. } => panic!("a periodic trigger was queued"),
        }
    }

    fn complete_all(c: &mut CheckpointCoordinator, id: u64, now: i64) {
        for (v, s) in [(0, 0), (0, 1), (1, 0)] {
            c.acknowledge(&ack(id, v, s, now));
        }
        c.complete(id, now);
    }

    #[test]
    fn a_requested_checkpoint_waits_for_a_slot_instead_of_being_refused() {
        let mut c = coordinator(CheckpointSettings {
            min_pause: Duration::from_millis(100),
            ..CheckpointSettings::default()
        });
        let (first, _) = periodic(&mut c, 0).unwrap();
        let requested = |c: &mut CheckpointCoordinator, now| {
            c.trigger(
                CheckpointKind::Checkpoint,
                TriggerOrigin::Requested,
                None,
                now,
            )
        };
        assert_eq!(requested(&mut c, 1), Ok(Admission::Queued { ticket: 1 }));
        assert_eq!(requested(&mut c, 2), Ok(Admission::Queued { ticket: 2 }));
        assert!(c.start_queued(3).is_empty(), "no slot is free yet");
        complete_all(&mut c, first, 10);
        // Requests go before the timer, and the pause does not hold them back.
        assert_eq!(periodic(&mut c, 11), Err(TriggerRefused::TooManyConcurrent));
        let started = c.start_queued(12);
        assert_eq!(
            started,
            vec![QueuedStart {
                ticket: 1,
                id: 2,
                location: c.checkpoint_location(2),
            }]
        );
        assert_eq!(c.snapshot().in_progress, 1);
        complete_all(&mut c, 2, 20);
        assert_eq!(c.start_queued(21).len(), 1, "then the second request");
        c.fail(3, "declined", 30);
        assert!(c.start_queued(31).is_empty(), "the queue is empty");
        // With nothing pending a request starts at once, pause or not; the timer still pauses.
        assert!(matches!(
            requested(&mut c, 32),
            Ok(Admission::Started { id: 4, .. })
        ));
        complete_all(&mut c, 4, 40);
        assert_eq!(periodic(&mut c, 50), Err(TriggerRefused::MinPause));
        assert_eq!(periodic(&mut c, 140).map(|(id, _)| id), Ok(5));
    }

    #[test]
    fn the_queue_is_bounded_and_dropped_when_the_job_restarts() {
        let mut c = coordinator(CheckpointSettings::default());
        periodic(&mut c, 0).unwrap();
        for _ in 0..MAX_QUEUED_REQUESTS {
            let queued = c.trigger(
                CheckpointKind::Checkpoint,
                TriggerOrigin::Requested,
                None,
                1,
            );
            assert!(matches!(queued, Ok(Admission::Queued { .. })));
        }
        assert_eq!(
            c.trigger(
                CheckpointKind::Checkpoint,
                TriggerOrigin::Requested,
                None,
                2
            ),
            Err(TriggerRefused::TooManyQueued)
        );
        assert_eq!(c.abort_all("the job is restarting", 3), vec![1]);
        let dropped = c.drop_queued();
        assert_eq!(dropped.len(), MAX_QUEUED_REQUESTS);
        assert_eq!(dropped[0], 1);
        assert!(c.start_queued(4).is_empty());
    }

    #[test]
    fn a_checkpoint_completes_when_every_subtask_acknowledged() {
        let mut c = coordinator(CheckpointSettings::default());
        let (id, location) = periodic(&mut c, 1000).unwrap();
        assert_eq!(
            (id, location.uri()),
            (1, "file:weir-data/checkpoints/job/chk-1".to_string())
        );
        assert_eq!(c.snapshot().in_progress, 1);
        assert!(c.acknowledge(&ack(1, 0, 0, 1005)).is_none());
        assert!(
            c.acknowledge(&ack(1, 0, 0, 1006)).is_none(),
            "duplicates count once"
        );
        assert!(c.acknowledge(&ack(1, 0, 1, 1007)).is_none());
        let ready = c
            .acknowledge(&ack(1, 1, 0, 1020))
            .expect("all acknowledged");
        assert_eq!(ready.metadata.vertices[0].subtasks.len(), 2);
        assert!(c.complete(1, 1021).is_empty());
        let s = c.snapshot();
        assert_eq!((s.completed, s.in_progress, s.total), (1, 0, 1));
        let latest = s.latest_completed.unwrap();
        assert_eq!(latest.end_to_end_duration(), 20);
        assert_eq!(latest.state_size(), 30);
        assert_eq!(s.end_to_end_duration.max, 20);
        assert_eq!(c.latest_restorable().unwrap().id, 1);
    }

    #[test]
    fn concurrency_pause_retention_and_failures_follow_the_settings() {
        let mut c = coordinator(CheckpointSettings {
            min_pause: Duration::from_millis(100),
            tolerable_failures: 1,
            ..CheckpointSettings::default()
        });
        periodic(&mut c, 0).unwrap();
        assert_eq!(periodic(&mut c, 1), Err(TriggerRefused::TooManyConcurrent));
        // A savepoint is never refused.
        let sp = c.trigger(
            CheckpointKind::Savepoint(SavepointFormat::Canonical),
            TriggerOrigin::Periodic,
            Some(CheckpointLocation::local("/sp")),
            2,
        );
        assert!(matches!(sp, Ok(Admission::Started { id: 2, .. })));
        for (v, s) in [(0, 0), (0, 1), (1, 0)] {
            c.acknowledge(&ack(1, v, s, 10));
        }
        c.complete(1, 10);
        assert_eq!(periodic(&mut c, 50), Err(TriggerRefused::MinPause));
        let (id3, _) = periodic(&mut c, 200).unwrap();
        for (v, s) in [(0, 0), (0, 1), (1, 0)] {
            c.acknowledge(&ack(id3, v, s, 210));
        }
        // num-retained = 1: checkpoint 1 is subsumed and discarded.
        assert_eq!(
            c.complete(id3, 210),
            vec![CheckpointLocation::local("weir-data/checkpoints/job/chk-1")]
        );
        assert!(c
            .snapshot()
            .history
            .iter()
            .any(|h| h.id == 1 && h.discarded));
        let (id4, _) = periodic(&mut c, 400).unwrap();
        assert_eq!(
            c.fail(id4, "timeout", 500),
            Some(FailureOutcome { fail_job: false })
        );
        let (id5, _) = periodic(&mut c, 600).unwrap();
        assert_eq!(
            c.fail(id5, "declined", 700),
            Some(FailureOutcome { fail_job: true })
        );
        let s = c.snapshot();
        assert_eq!(s.latest_failed.as_ref().map(|f| f.id), Some(id5));
        assert_eq!(s.failed, 2);
        // The pending savepoint is still in progress and newest-first in the history.
        assert_eq!(s.in_progress, 1);
        assert_eq!(s.history[0].id, id5);
    }

    #[test]
    fn expiry_and_restores() {
        let mut c = coordinator(CheckpointSettings {
            timeout: Duration::from_millis(50),
            ..CheckpointSettings::default()
        });
        c.restored_from(41, &CheckpointLocation::local("/sp"), true, 5);
        let (id, _) = periodic(&mut c, 10).unwrap();
        assert_eq!(id, 42, "ids continue after the restored checkpoint");
        assert!(c.expired(30).is_empty());
        assert_eq!(c.expired(61), vec![42]);
        assert_eq!(c.abort_all("job failed", 70), vec![42]);
        let s = c.snapshot();
        assert_eq!(s.restored_count, 1);
        assert_eq!(s.latest_restored.unwrap().id, 41);
    }
}
