//! The JobManager's own metric groups: its process and cluster gauges (Flink's
//! `numRunningJobs`, `taskSlotsTotal`, …) and one job group per job (`uptime`,
//! `runningTime`, `numRestarts`, …), computed from the job's published snapshot when read.

use crate::archive::now_ms;
use crate::job_master::JobMaster;
use std::sync::{Arc, Weak};
use weir_core::JobStatus;
use weir_gateway::{CheckpointStatsSnapshot, JobSnapshot};
use weir_metrics::{GaugeValue, MetricGroup, Scope};

/// Milliseconds the job has been running: up to now while RUNNING, up to its end once it is
/// over (Flink reports -1 then, but its store keeps the last value it fetched).
pub fn uptime(s: &JobSnapshot, now: i64) -> i64 {
    let since = s.entered_at(JobStatus::Running);
    if since == 0 {
        return 0;
    }
    match s.status {
        JobStatus::Running => now - since,
        st if st.is_terminal() => (s.entered_at(st) - since).max(0),
        _ => 0,
    }
}

/// Milliseconds in the current FAILING/RESTARTING spell, 0 otherwise.
pub fn downtime(s: &JobSnapshot, now: i64) -> i64 {
    match s.status {
        JobStatus::Failing | JobStatus::Restarting => now - s.entered_at(s.status),
        _ => 0,
    }
}

/// Milliseconds in `status` if the job is in it now, else 0 (Flink's `<status>Time`).
pub fn time_in(s: &JobSnapshot, status: JobStatus, now: i64) -> i64 {
    if s.status == status {
        (now - s.entered_at(status)).max(0)
    } else {
        0
    }
}

/// A figure computed from a job's snapshot at a time (epoch ms).
type SnapshotReading = fn(&JobSnapshot, i64) -> i64;

/// The job group of a job, registered on the JobManager.
pub fn job_group(master: &Arc<JobMaster>, host: &str) -> MetricGroup {
    let snap = master.published();
    let mut g = MetricGroup::new(Scope::Job {
        job_id: snap.job_id,
        job_name: snap.name.as_str().into(),
        host: host.into(),
    });
    let reader = |f: SnapshotReading| {
        let weak: Weak<JobMaster> = Arc::downgrade(master);
        move || {
            let v = weak
                .upgrade()
                .map(|m| f(&m.published(), now_ms()))
                .unwrap_or(0);
            GaugeValue::Int(v)
        }
    };
    g.gauge("uptime", reader(uptime));
    g.gauge("downtime", reader(downtime));
    let states: [(&str, SnapshotReading); 6] = [
        ("createdTime", |s, n| time_in(s, JobStatus::Created, n)),
        ("initializingTime", |s, n| {
            time_in(s, JobStatus::Initializing, n)
        }),
        ("runningTime", |s, n| time_in(s, JobStatus::Running, n)),
        ("restartingTime", |s, n| {
            time_in(s, JobStatus::Restarting, n)
        }),
        ("cancellingTime", |s, n| {
            time_in(s, JobStatus::Cancelling, n)
        }),
        ("failingTime", |s, n| time_in(s, JobStatus::Failing, n)),
    ];
    for (name, f) in states {
        g.gauge(name, reader(f));
    }
    let weak = Arc::downgrade(master);
    g.gauge("numRestarts", move || {
        GaugeValue::Int(weak.upgrade().map_or(0, |m| i64::from(m.restarts())))
    });
    let weak = Arc::downgrade(master);
    g.gauge("numRescales", move || {
        GaugeValue::Int(weak.upgrade().map_or(0, |m| i64::from(m.rescales())))
    });
    if master.checkpoint_stats().is_some() {
        register_checkpoint_gauges(&mut g, master);
    }
    g
}

/// A figure read from a job's checkpoint statistics.
type StatsReading = fn(&CheckpointStatsSnapshot) -> GaugeValue;

/// Flink's job-level checkpoint gauges, read from the statistics the JobMaster republishes on
/// every checkpoint event (so they are as fresh as `/checkpoints`).
fn register_checkpoint_gauges(g: &mut MetricGroup, master: &Arc<JobMaster>) {
    let gauges: [(&str, StatsReading); 10] = [
        ("totalNumberOfCheckpoints", |s| {
            GaugeValue::Int(s.total as i64)
        }),
        ("numberOfInProgressCheckpoints", |s| {
            GaugeValue::Int(s.in_progress as i64)
        }),
        ("numberOfCompletedCheckpoints", |s| {
            GaugeValue::Int(s.completed as i64)
        }),
        ("numberOfFailedCheckpoints", |s| {
            GaugeValue::Int(s.failed as i64)
        }),
        ("lastCheckpointRestoreTimestamp", |s| {
            GaugeValue::Int(
                s.latest_restored
                    .as_ref()
                    .map_or(-1, |r| r.restore_timestamp),
            )
        }),
        ("lastCompletedCheckpointId", |s| {
            GaugeValue::Int(s.latest_completed.as_ref().map_or(-1, |c| c.id as i64))
        }),
        ("lastCheckpointSize", |s| {
            GaugeValue::Int(
                s.latest_completed
                    .as_ref()
                    .map_or(-1, |c| c.state_size() as i64),
            )
        }),
        ("lastCheckpointFullSize", |s| {
            GaugeValue::Int(
                s.latest_completed
                    .as_ref()
                    .map_or(-1, |c| c.state_size() as i64),
            )
        }),
        ("lastCheckpointDuration", |s| {
            GaugeValue::Int(
                s.latest_completed
                    .as_ref()
                    .map_or(-1, |c| c.end_to_end_duration()),
            )
        }),
        ("lastCheckpointExternalPath", |s| {
            GaugeValue::Text(
                s.latest_completed
                    .as_ref()
                    .and_then(|c| c.external_path.clone())
                    .unwrap_or_else(|| "n/a".into()),
            )
        }),
    ];
    for (name, read) in gauges {
        let weak: Weak<JobMaster> = Arc::downgrade(master);
        g.gauge(name, move || {
            weak.upgrade()
                .and_then(|m| m.checkpoint_stats())
                .map_or(GaugeValue::Int(-1), |s| read(&s))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(status: JobStatus, at: &[(JobStatus, i64)]) -> JobSnapshot {
        let mut timestamps = [0i64; 11];
        for (st, t) in at {
            if let Some(i) = JobStatus::ALL.iter().position(|x| x == st) {
                timestamps[i] = *t;
            }
        }
        JobSnapshot {
            job_id: weir_core::JobId(1),
            name: "j".into(),
            job_type: weir_gateway::JobType::Streaming,
            status,
            timestamps,
            max_parallelism: 128,
            vertices: Vec::new(),
            exceptions: Vec::new(),
            config: Default::default(),
            origin: None,
            taken_at: 0,
            operators: Vec::new(),
            savepoint_stop: Default::default(),
        }
    }

    #[test]
    fn uptime_counts_running_time_and_stops_at_the_end() {
        let running = snap(JobStatus::Running, &[(JobStatus::Running, 1_000)]);
        assert_eq!(uptime(&running, 4_000), 3_000);
        assert_eq!(time_in(&running, JobStatus::Running, 4_000), 3_000);
        assert_eq!(time_in(&running, JobStatus::Failing, 4_000), 0);
        let done = snap(
            JobStatus::Canceled,
            &[(JobStatus::Running, 1_000), (JobStatus::Canceled, 2_500)],
        );
        assert_eq!(uptime(&done, 9_000), 1_500);
        assert_eq!(downtime(&done, 9_000), 0);
        let never = snap(JobStatus::Created, &[]);
        assert_eq!(uptime(&never, 9_000), 0);
    }
}
