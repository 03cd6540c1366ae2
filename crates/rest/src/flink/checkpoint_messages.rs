//! Flink's checkpoint statistics messages (`CheckpointingStatistics`, `CheckpointStatistics`,
//! `TaskCheckpointStatisticsWithSubtaskDetails`, `CheckpointConfigInfo`), built from the
//! gateway's `CheckpointStatsSnapshot`. Field names are Flink's snake_case ones, and the
//! `className` discriminators its dashboard and clients switch on are kept.

use super::messages::JacksonDouble;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use weir_gateway::{
    CheckpointConfig, CheckpointStats, CheckpointStatsSnapshot, CheckpointStatus, SavepointFormat,
    StatsSummary, SubtaskCheckpointStats, TaskCheckpointStats,
};

/// `StatsSummaryDto`: min, max and average of every value, and quantiles (NaN without values).
#[derive(Serialize, ToSchema)]
pub struct StatsSummaryDto {
    pub min: i64,
    pub max: i64,
    pub avg: i64,
    pub p50: JacksonDouble,
    pub p90: JacksonDouble,
    pub p95: JacksonDouble,
    pub p99: JacksonDouble,
    pub p999: JacksonDouble,
}

impl StatsSummaryDto {
    pub fn of(s: &StatsSummary) -> Self {
        let q = |i: usize| JacksonDouble(s.quantiles[i]);
        StatsSummaryDto {
            min: s.min,
            max: s.max,
            avg: s.avg,
            p50: q(0),
            p90: q(1),
            p95: q(2),
            p99: q(3),
            p999: q(4),
        }
    }

    /// Of `values`.
    pub fn of_values(values: &[i64]) -> Self {
        Self::of(&StatsSummary::of(values))
    }
}

/// `CheckpointingStatistics` (`/jobs/:jobid/checkpoints`).
#[derive(Serialize, ToSchema)]
pub struct CheckpointingStatistics {
    pub counts: Counts,
    pub summary: Summary,
    pub latest: LatestCheckpoints,
    /// Newest first.
    pub history: Vec<CheckpointStatistics>,
}

/// `CheckpointingStatistics.Counts`.
#[derive(Serialize, ToSchema)]
pub struct Counts {
    pub restored: usize,
    pub total: usize,
    pub in_progress: usize,
    pub completed: usize,
    pub failed: usize,
}

/// `CheckpointingStatistics.Summary` over completed checkpoints.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    pub checkpointed_size: StatsSummaryDto,
    pub state_size: StatsSummaryDto,
    pub end_to_end_duration: StatsSummaryDto,
    pub alignment_buffered: StatsSummaryDto,
    pub processed_data: StatsSummaryDto,
    pub persisted_data: StatsSummaryDto,
}

/// `CheckpointingStatistics.LatestCheckpoints`: each `null` until there is one.
#[derive(Serialize, ToSchema)]
pub struct LatestCheckpoints {
    pub completed: Option<CheckpointStatistics>,
    pub savepoint: Option<CheckpointStatistics>,
    pub failed: Option<CheckpointStatistics>,
    pub restored: Option<RestoredCheckpointStatistics>,
}

/// `CheckpointingStatistics.RestoredCheckpointStatistics`.
#[derive(Serialize, ToSchema)]
pub struct RestoredCheckpointStatistics {
    pub id: u64,
    pub restore_timestamp: i64,
    pub is_savepoint: bool,
    pub external_path: String,
}

/// `CheckpointStatistics`: one checkpoint, with Flink's `className` (`completed`, `failed`,
/// `in_progress`) and the fields of that kind: a completed one's `external_path` and
/// `discarded`, a failed one's `failure_timestamp` and `failure_message`.
#[derive(Serialize, ToSchema)]
pub struct CheckpointStatistics {
    #[serde(rename = "className")]
    pub class_name: &'static str,
    pub id: u64,
    pub status: &'static str,
    pub is_savepoint: bool,
    #[serde(rename = "savepointFormat")]
    pub savepoint_format: Option<&'static str>,
    pub trigger_timestamp: i64,
    pub latest_ack_timestamp: i64,
    pub checkpointed_size: u64,
    pub state_size: u64,
    pub end_to_end_duration: i64,
    pub alignment_buffered: u64,
    pub processed_data: u64,
    pub persisted_data: u64,
    pub num_subtasks: usize,
    pub num_acknowledged_subtasks: usize,
    pub checkpoint_type: &'static str,
    /// Per vertex id (only in `/checkpoints/details/:id`; empty in lists).
    pub tasks: BTreeMap<String, TaskCheckpointStatistics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discarded: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

impl CheckpointStatistics {
    pub fn of(c: &CheckpointStats, with_tasks: bool) -> Self {
        let tasks = if with_tasks {
            c.tasks
                .iter()
                .map(|t| (t.vertex.to_string(), TaskCheckpointStatistics::of(c, t)))
                .collect()
        } else {
            BTreeMap::new()
        };
        let completed = c.status == CheckpointStatus::Completed;
        let failure = match c.status {
            CheckpointStatus::Failed => Some(c.failure.clone().unwrap_or((0, String::new()))),
            _ => None,
        };
        CheckpointStatistics {
            class_name: c.status.class_name(),
            id: c.id,
            status: c.status.name(),
            is_savepoint: c.kind.is_savepoint(),
            savepoint_format: c.kind.format().map(SavepointFormat::name),
            trigger_timestamp: c.trigger_timestamp,
            latest_ack_timestamp: c.latest_ack(),
            checkpointed_size: c.state_size(),
            state_size: c.state_size(),
            end_to_end_duration: c.end_to_end_duration(),
            alignment_buffered: 0,
            processed_data: 0,
            persisted_data: 0,
            num_subtasks: c.num_subtasks(),
            num_acknowledged_subtasks: c.num_acknowledged(),
            checkpoint_type: c.kind.name(),
            tasks,
            external_path: if completed {
                c.external_path.clone()
            } else {
                None
            },
            discarded: completed.then_some(c.discarded),
            failure_timestamp: failure.as_ref().map(|f| f.0),
            failure_message: failure.map(|f| f.1),
        }
    }
}

impl CheckpointingStatistics {
    pub fn of(s: &CheckpointStatsSnapshot) -> Self {
        let zero = || StatsSummaryDto::of_values(&[0]);
        let latest =
            |c: &Option<CheckpointStats>| c.as_ref().map(|c| CheckpointStatistics::of(c, false));
        CheckpointingStatistics {
            counts: Counts {
                restored: s.restored_count,
                total: s.total,
                in_progress: s.in_progress,
                completed: s.completed,
                failed: s.failed,
            },
            summary: Summary {
                checkpointed_size: StatsSummaryDto::of(&s.state_size),
                state_size: StatsSummaryDto::of(&s.state_size),
                end_to_end_duration: StatsSummaryDto::of(&s.end_to_end_duration),
                alignment_buffered: zero(),
                processed_data: zero(),
                persisted_data: zero(),
            },
            latest: LatestCheckpoints {
                completed: latest(&s.latest_completed),
                savepoint: latest(&s.latest_savepoint),
                failed: latest(&s.latest_failed),
                restored: s
                    .latest_restored
                    .as_ref()
                    .map(|r| RestoredCheckpointStatistics {
                        id: r.id,
                        restore_timestamp: r.restore_timestamp,
                        is_savepoint: r.is_savepoint,
                        external_path: r.external_path.clone(),
                    }),
            },
            history: s
                .history
                .iter()
                .map(|c| CheckpointStatistics::of(c, false))
                .collect(),
        }
    }
}

/// `TaskCheckpointStatistics`: one vertex's part of one checkpoint.
#[derive(Serialize, ToSchema)]
pub struct TaskCheckpointStatistics {
    pub id: u64,
    pub status: &'static str,
    pub latest_ack_timestamp: i64,
    pub checkpointed_size: u64,
    pub state_size: u64,
    pub end_to_end_duration: i64,
    pub alignment_buffered: u64,
    pub processed_data: u64,
    pub persisted_data: u64,
    pub num_subtasks: usize,
    pub num_acknowledged_subtasks: usize,
}

impl TaskCheckpointStatistics {
    pub fn of(c: &CheckpointStats, t: &TaskCheckpointStats) -> Self {
        let acked = t.acknowledged();
        let latest = t.latest_ack().unwrap_or(0);
        TaskCheckpointStatistics {
            id: c.id,
            status: if acked == t.subtasks.len() {
                "COMPLETED"
            } else {
                c.status.name()
            },
            latest_ack_timestamp: latest,
            checkpointed_size: t.state_size(),
            state_size: t.state_size(),
            end_to_end_duration: if latest > 0 {
                (latest - c.trigger_timestamp).max(0)
            } else {
                0
            },
            alignment_buffered: 0,
            processed_data: 0,
            persisted_data: 0,
            num_subtasks: t.subtasks.len(),
            num_acknowledged_subtasks: acked,
        }
    }
}

/// `TaskCheckpointStatisticsWithSubtaskDetails`.
#[derive(Serialize, ToSchema)]
pub struct TaskCheckpointStatisticsWithSubtaskDetails {
    #[serde(flatten)]
    pub task: TaskCheckpointStatistics,
    pub summary: TaskCheckpointSummary,
    pub subtasks: Vec<SubtaskCheckpointStatistics>,
}

/// `TaskCheckpointStatisticsWithSubtaskDetails.Summary` over the acknowledged subtasks.
#[derive(Serialize, ToSchema)]
pub struct TaskCheckpointSummary {
    pub checkpointed_size: StatsSummaryDto,
    pub state_size: StatsSummaryDto,
    pub end_to_end_duration: StatsSummaryDto,
    pub checkpoint_duration: CheckpointDuration,
    pub alignment: CheckpointAlignment,
    pub start_delay: StatsSummaryDto,
}

/// Sync and async phase durations.
#[derive(Serialize, ToSchema)]
pub struct CheckpointDuration {
    pub sync: StatsSummaryDto,
    #[serde(rename = "async")]
    pub async_: StatsSummaryDto,
}

/// Alignment figures (weir aligns without buffering, so the data figures are zero).
#[derive(Serialize, ToSchema)]
pub struct CheckpointAlignment {
    pub buffered: StatsSummaryDto,
    pub processed: StatsSummaryDto,
    pub persisted: StatsSummaryDto,
    pub duration: StatsSummaryDto,
}

/// `SubtaskCheckpointStatistics`: `className` `completed` with its figures, or `pending`
/// with none of them.
#[derive(Serialize, ToSchema, Default)]
pub struct SubtaskCheckpointStatistics {
    #[serde(rename = "className")]
    pub class_name: &'static str,
    pub index: usize,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpointed_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<SubtaskCheckpointDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alignment: Option<SubtaskCheckpointAlignment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_delay: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unaligned_checkpoint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<bool>,
}

/// A subtask's sync and async durations.
#[derive(Serialize, ToSchema)]
pub struct SubtaskCheckpointDuration {
    pub sync: i64,
    #[serde(rename = "async")]
    pub async_: i64,
}

/// A subtask's alignment.
#[derive(Serialize, ToSchema)]
pub struct SubtaskCheckpointAlignment {
    pub buffered: u64,
    pub processed: u64,
    pub persisted: u64,
    pub duration: i64,
}

impl SubtaskCheckpointStatistics {
    pub fn of(c: &CheckpointStats, st: &SubtaskCheckpointStats) -> Self {
        match st.ack_timestamp {
            Some(at) => SubtaskCheckpointStatistics {
                class_name: "completed",
                index: st.index,
                status: "completed",
                ack_timestamp: Some(at),
                end_to_end_duration: Some((at - c.trigger_timestamp).max(0)),
                checkpointed_size: Some(st.state_size),
                state_size: Some(st.state_size),
                checkpoint: Some(SubtaskCheckpointDuration {
                    sync: st.sync_ms,
                    async_: st.async_ms,
                }),
                alignment: Some(SubtaskCheckpointAlignment {
                    buffered: 0,
                    processed: 0,
                    persisted: 0,
                    duration: st.alignment_ms,
                }),
                start_delay: Some(st.start_delay_ms),
                unaligned_checkpoint: Some(false),
                aborted: Some(false),
            },
            None => SubtaskCheckpointStatistics {
                class_name: "pending",
                index: st.index,
                status: "pending_or_failed",
                ..Default::default()
            },
        }
    }
}

impl TaskCheckpointStatisticsWithSubtaskDetails {
    pub fn of(c: &CheckpointStats, t: &TaskCheckpointStats) -> Self {
        let acked: Vec<&SubtaskCheckpointStats> = t
            .subtasks
            .iter()
            .filter(|s| s.ack_timestamp.is_some())
            .collect();
        let of = |f: &dyn Fn(&SubtaskCheckpointStats) -> i64| {
            StatsSummaryDto::of_values(&acked.iter().map(|s| f(s)).collect::<Vec<_>>())
        };
        TaskCheckpointStatisticsWithSubtaskDetails {
            task: TaskCheckpointStatistics::of(c, t),
            summary: TaskCheckpointSummary {
                checkpointed_size: of(&|s| s.state_size as i64),
                state_size: of(&|s| s.state_size as i64),
                end_to_end_duration: of(&|s| s.ack_timestamp.unwrap_or(0) - c.trigger_timestamp),
                checkpoint_duration: CheckpointDuration {
                    sync: of(&|s| s.sync_ms),
                    async_: of(&|s| s.async_ms),
                },
                alignment: CheckpointAlignment {
                    buffered: of(&|_| 0),
                    processed: of(&|_| 0),
                    persisted: of(&|_| 0),
                    duration: of(&|s| s.alignment_ms),
                },
                start_delay: of(&|s| s.start_delay_ms),
            },
            subtasks: t
                .subtasks
                .iter()
                .map(|st| SubtaskCheckpointStatistics::of(c, st))
                .collect(),
        }
    }
}

/// `CheckpointConfigInfo` (`/jobs/:jobid/checkpoints/config`).
#[derive(Serialize, ToSchema)]
pub struct CheckpointConfigInfo {
    pub mode: &'static str,
    pub interval: i64,
    pub timeout: i64,
    pub min_pause: i64,
    pub max_concurrent: usize,
    pub externalization: ExternalizedCheckpointInfo,
    pub state_backend: &'static str,
    pub checkpoint_storage: &'static str,
    pub unaligned_checkpoints: bool,
    pub tolerable_failed_checkpoints: usize,
    pub aligned_checkpoint_timeout: i64,
    pub checkpoints_after_tasks_finish: bool,
    pub state_changelog_enabled: bool,
    pub changelog_periodic_materialization_interval: i64,
    pub changelog_storage: &'static str,
}

/// `CheckpointConfigInfo.ExternalizedCheckpointInfo`.
#[derive(Serialize, ToSchema)]
pub struct ExternalizedCheckpointInfo {
    pub enabled: bool,
    pub delete_on_cancellation: bool,
}

impl CheckpointConfigInfo {
    pub fn of(c: &CheckpointConfig) -> Self {
        CheckpointConfigInfo {
            mode: "exactly_once",
            interval: c.interval_ms,
            timeout: c.timeout_ms,
            min_pause: c.min_pause_ms,
            max_concurrent: c.max_concurrent,
            externalization: ExternalizedCheckpointInfo {
                enabled: c.retain_on_cancellation,
                delete_on_cancellation: !c.retain_on_cancellation,
            },
            state_backend: "HashMapStateBackend",
            checkpoint_storage: "FileSystemCheckpointStorage",
            unaligned_checkpoints: false,
            tolerable_failed_checkpoints: c.tolerable_failures,
            aligned_checkpoint_timeout: 0,
            checkpoints_after_tasks_finish: true,
            state_changelog_enabled: false,
            changelog_periodic_materialization_interval: 600_000,
            changelog_storage: "memory",
        }
    }
}
