//! The MetricQueryService: one per process role (JobManager, TaskManager). Components
//! register their metric groups here; the JobManager's MetricFetcher asks for a dump of all
//! of them, and the Prometheus exporter renders one. A once-a-second tick samples the
//! meters. Registration takes a short lock; dumping copies the group list and then reads the
//! metrics without holding it, so a dump never waits on the data path and vice versa.

use crate::group::{MetricGroup, Scope};
use crate::kinds::{GaugeValue, HistogramStats, Metric};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use weir_core::JobId;

/// What a set of groups was registered for, so they can be removed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKey {
    /// The process itself (JobManager or TaskManager status metrics).
    Process,
    /// A job's groups (on the JobManager: its job group).
    Job(JobId),
    /// One subtask's task and operator groups on a TaskManager.
    Task {
        job: JobId,
        vertex: usize,
        subtask: usize,
    },
}

/// A metric's value at dump time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DumpValue {
    Counter(u64),
    Gauge(DumpGauge),
    Meter { rate: f64, count: u64 },
    Histogram(DumpHistogram),
}

/// A gauge value in a dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DumpGauge {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl From<GaugeValue> for DumpGauge {
    fn from(v: GaugeValue) -> Self {
        match v {
            GaugeValue::Int(v) => DumpGauge::Int(v),
            GaugeValue::Float(v) => DumpGauge::Float(v),
            GaugeValue::Bool(v) => DumpGauge::Bool(v),
            GaugeValue::Text(v) => DumpGauge::Text(v),
        }
    }
}

impl From<&DumpGauge> for GaugeValue {
    fn from(v: &DumpGauge) -> Self {
        match v {
            DumpGauge::Int(v) => GaugeValue::Int(*v),
            DumpGauge::Float(v) => GaugeValue::Float(*v),
            DumpGauge::Bool(v) => GaugeValue::Bool(*v),
            DumpGauge::Text(v) => GaugeValue::Text(v.clone()),
        }
    }
}

/// Histogram statistics in a dump.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DumpHistogram {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub stddev: f64,
    pub quantiles: [f64; 7],
}

impl From<HistogramStats> for DumpHistogram {
    fn from(s: HistogramStats) -> Self {
        Self {
            count: s.count,
            min: s.min,
            max: s.max,
            mean: s.mean,
            stddev: s.stddev,
            quantiles: [s.p50, s.p75, s.p90, s.p95, s.p98, s.p99, s.p999],
        }
    }
}

impl DumpHistogram {
    /// Quantile levels of `quantiles`, in order.
    pub const LEVELS: [f64; 7] = [0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.999];

    /// Back to the statistics (for Flink's store fields).
    pub fn stats(&self) -> HistogramStats {
        let q = self.quantiles;
        HistogramStats {
            count: self.count,
            min: self.min,
            max: self.max,
            mean: self.mean,
            stddev: self.stddev,
            p50: q[0],
            p75: q[1],
            p90: q[2],
            p95: q[3],
            p98: q[4],
            p99: q[5],
            p999: q[6],
        }
    }
}

/// The values of one group at dump time. Names are shared with the registration, so a dump
/// allocates only its vectors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DumpedGroup {
    pub scope: Arc<Scope>,
    pub values: Vec<(Arc<str>, DumpValue)>,
}

/// Metrics that go stale the moment a task ends (Flink drops them for terminal attempts).
const TRANSIENT: &[&str] = &[
    "busyTimeMsPerSecond",
    "idleTimeMsPerSecond",
    "backPressuredTimeMsPerSecond",
    "isBackPressured",
];

/// Reads one group's metrics.
pub fn dump_group(g: &MetricGroup) -> DumpedGroup {
    let values = g
        .metrics
        .iter()
        .map(|(name, m)| {
            let v = match m {
                Metric::Counter(c) => DumpValue::Counter(c()),
                Metric::Gauge(f) => DumpValue::Gauge(f().into()),
                Metric::Meter(m) => DumpValue::Meter {
                    rate: m.rate(),
                    count: m.count(),
                },
                Metric::Histogram(h) => DumpValue::Histogram(h.stats().into()),
            };
            (name.clone(), v)
        })
        .collect();
    DumpedGroup {
        scope: g.scope.clone(),
        values,
    }
}

/// A process role's registry of metric groups.
#[derive(Default)]
pub struct MetricQueryService {
    groups: Mutex<HashMap<GroupKey, Arc<Vec<MetricGroup>>>>,
    /// Last values of groups removed since the fetcher's previous dump, so a job that ends
    /// between two fetches still leaves its final counts in the store.
    retired: Mutex<Vec<DumpedGroup>>,
}

impl MetricQueryService {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Registers groups under `key`, replacing what was there.
    pub fn register(&self, key: GroupKey, groups: Vec<MetricGroup>) {
        if let Ok(mut g) = self.groups.lock() {
            g.insert(key, Arc::new(groups));
        }
    }

    /// Removes the groups under `key`, keeping their final values (without the per-second
    /// time metrics, which mean nothing once a task is over) for the next fetch.
    pub fn unregister(&self, key: GroupKey) {
        let removed = self.groups.lock().ok().and_then(|mut g| g.remove(&key));
        let Some(groups) = removed else { return };
        let mut last: Vec<DumpedGroup> = groups.iter().map(dump_group).collect();
        for g in &mut last {
            g.values.retain(|(n, _)| !TRANSIENT.contains(&n.as_ref()));
        }
        if let Ok(mut r) = self.retired.lock() {
            r.extend(last);
        }
    }

    fn registered(&self) -> Vec<Arc<Vec<MetricGroup>>> {
        self.groups
            .lock()
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every registered group's current values (what Prometheus scrapes).
    pub fn dump(&self) -> Vec<DumpedGroup> {
        self.registered()
            .iter()
            .flat_map(|gs| gs.iter().map(dump_group))
            .collect()
    }

    /// What the MetricFetcher takes: the current values plus the final values of groups
    /// removed since its last call (handed over once).
    pub fn dump_for_fetcher(&self) -> Vec<DumpedGroup> {
        let mut out = self
            .retired
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        out.extend(self.dump());
        out
    }

    /// Samples every meter.
    pub fn tick(&self) {
        for gs in self.registered() {
            for g in gs.iter() {
                g.tick();
            }
        }
    }

    /// Ticks every `interval` on the current tokio runtime until the service is dropped.
    pub fn spawn_ticker(self: &Arc<Self>, interval: Duration) {
        let weak: Weak<Self> = Arc::downgrade(self);
        let Ok(rt) = tokio_handle() else { return };
        rt.spawn(async move {
            let mut every = tokio::time::interval(interval);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(s) = weak.upgrade() else { break };
                s.tick();
            }
        });
    }
}

fn tokio_handle() -> Result<tokio::runtime::Handle, tokio::runtime::TryCurrentError> {
    tokio::runtime::Handle::try_current()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Counter;

    fn group(job: JobId, c: &Counter) -> MetricGroup {
        let mut g = MetricGroup::new(Scope::Job {
            job_id: job,
            job_name: "j".into(),
            host: "h".into(),
        });
        g.counter("numRestarts", c.reader());
        g.gauge("busyTimeMsPerSecond", || GaugeValue::Float(1.0));
        g
    }

    #[test]
    fn removed_groups_leave_their_final_values_once() {
        let qs = MetricQueryService::new();
        let job = JobId(7);
        let c = Counter::new();
        qs.register(GroupKey::Job(job), vec![group(job, &c)]);
        c.add(3);
        assert_eq!(qs.dump().len(), 1);
        qs.unregister(GroupKey::Job(job));
        c.add(1);
        assert!(qs.dump().is_empty());
        let first = qs.dump_for_fetcher();
        assert_eq!(first.len(), 1);
        assert_eq!(
            first[0].values,
            vec![("numRestarts".into(), DumpValue::Counter(3))]
        );
        assert!(qs.dump_for_fetcher().is_empty());
    }
}
