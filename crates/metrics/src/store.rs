//! The MetricStore: every fetched metric as the string Flink would store, keyed the way
//! Flink's is (JobManager; TaskManager by id; job by id, then vertex, then subtask; and the
//! JobManager operators of a vertex). A store is immutable: the fetcher builds the next one
//! from the previous one and the new dumps, and publishes it whole, so readers never wait
//! for the fetcher or for each other.

use crate::group::{sanitize_operator_name, Scope};
use crate::kinds::{java_double, GaugeValue};
use crate::query_service::{DumpValue, DumpedGroup};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use weir_core::{JobId, VertexId};

/// Metric id → value, for one component.
pub type ComponentMetrics = BTreeMap<String, String>;

/// One subtask's metrics: task metrics by name, operator metrics as `<operator>.<name>`.
#[derive(Debug, Clone, Default)]
pub struct SubtaskMetrics {
    pub attempt: u32,
    pub metrics: ComponentMetrics,
}

/// Metrics of one job.
#[derive(Debug, Clone, Default)]
pub struct JobMetricStore {
    /// Job metrics from the JobManager (`uptime`, `numRestarts`, …).
    pub metrics: Arc<ComponentMetrics>,
    /// Per vertex, per subtask index.
    pub tasks: HashMap<VertexId, Arc<BTreeMap<usize, SubtaskMetrics>>>,
    /// JobManager operator (coordinator) metrics per vertex.
    pub jm_operators: HashMap<VertexId, Arc<ComponentMetrics>>,
}

impl JobMetricStore {
    /// A vertex's metrics as Flink's task store keys them: `<subtask>.<name>`.
    pub fn vertex_metrics(&self, vertex: VertexId) -> ComponentMetrics {
        let mut out = ComponentMetrics::new();
        if let Some(subtasks) = self.tasks.get(&vertex) {
            for (i, s) in subtasks.iter() {
                for (k, v) in &s.metrics {
                    out.insert(format!("{i}.{k}"), v.clone());
                }
            }
        }
        out
    }

    /// One subtask's metrics.
    pub fn subtask(&self, vertex: VertexId, index: usize) -> Option<&SubtaskMetrics> {
        self.tasks.get(&vertex)?.get(&index)
    }
}

/// Everything fetched.
#[derive(Debug, Clone, Default)]
pub struct MetricStore {
    /// When this store was built (ms since the epoch); 0 for the empty store before any fetch.
    pub fetched_at_ms: i64,
    pub jobmanager: Arc<ComponentMetrics>,
    pub taskmanagers: HashMap<String, Arc<ComponentMetrics>>,
    pub jobs: HashMap<JobId, Arc<JobMetricStore>>,
}

/// The string Flink's store keeps for a value, and extra keys for histograms.
fn put(into: &mut ComponentMetrics, name: &str, value: &DumpValue) {
    match value {
        DumpValue::Counter(c) => {
            into.insert(name.to_string(), c.to_string());
        }
        DumpValue::Gauge(g) => {
            into.insert(name.to_string(), GaugeValue::from(g).to_flink_string());
        }
        DumpValue::Meter { rate, .. } => {
            into.insert(name.to_string(), java_double(*rate));
        }
        DumpValue::Histogram(h) => {
            for (suffix, v) in h.stats().flink_fields() {
                into.insert(format!("{name}_{suffix}"), java_double(v));
            }
        }
    }
}

/// What one fetch round brought.
#[derive(Debug, Default)]
pub struct FetchRound {
    /// The JobManager's dump.
    pub jobmanager: Vec<DumpedGroup>,
    /// Each registered TaskManager's dump, by resource id.
    pub taskmanagers: Vec<(String, Vec<DumpedGroup>)>,
    /// Jobs the Dispatcher still knows (running or archived); others are retired.
    pub known_jobs: HashSet<JobId>,
}

impl MetricStore {
    /// The next store: `round`'s values over this store's, dropping TaskManagers that did not
    /// answer and jobs the Dispatcher no longer knows. A job or vertex missing from the round
    /// (it ended, or its task is on a TaskManager that has not been asked yet) keeps its last
    /// values, as Flink's store does.
    pub fn next(&self, round: FetchRound, now_ms: i64) -> MetricStore {
        let mut jm = ComponentMetrics::new();
        let mut jobs: HashMap<JobId, JobMetricStore> = HashMap::new();
        let job_entry = |jobs: &mut HashMap<JobId, JobMetricStore>, id: JobId| {
            jobs.entry(id)
                .or_insert_with(|| {
                    // Start from the previous values so partial rounds do not lose anything.
                    self.jobs
                        .get(&id)
                        .map(|j| j.as_ref().clone())
                        .unwrap_or_default()
                })
                .clone()
        };
        // Job-level and coordinator metrics from the JobManager.
        let mut job_metrics: HashMap<JobId, ComponentMetrics> = HashMap::new();
        let mut jm_ops: HashMap<(JobId, VertexId), ComponentMetrics> = HashMap::new();
        for g in &round.jobmanager {
            match g.scope.as_ref() {
                Scope::Job { job_id, .. } => {
                    let m = job_metrics.entry(*job_id).or_default();
                    for (n, v) in &g.values {
                        put(m, n, v);
                    }
                }
                Scope::JobManagerOperator {
                    job_id,
                    vertex_id,
                    name,
                    ..
                } => {
                    let m = jm_ops.entry((*job_id, *vertex_id)).or_default();
                    let op = sanitize_operator_name(name);
                    for (n, v) in &g.values {
                        put(m, &format!("{op}.{n}"), v);
                    }
                }
                _ => {
                    for (n, v) in &g.values {
                        put(&mut jm, n, v);
                    }
                }
            }
        }
        // Task and operator metrics from the TaskManagers.
        let mut tms: HashMap<String, Arc<ComponentMetrics>> = HashMap::new();
        let mut subtasks: HashMap<(JobId, VertexId), BTreeMap<usize, SubtaskMetrics>> =
            HashMap::new();
        for (tm, dump) in &round.taskmanagers {
            let mut own = ComponentMetrics::new();
            for g in dump {
                match g.scope.as_ref() {
                    Scope::Task(t) | Scope::Operator { task: t, .. } => {
                        let prefix = match g.scope.as_ref() {
                            Scope::Operator { name, .. } => Some(sanitize_operator_name(name)),
                            _ => None,
                        };
                        let per_vertex = subtasks.entry((t.job_id, t.vertex_id)).or_default();
                        let s = per_vertex.entry(t.subtask).or_default();
                        if t.attempt < s.attempt {
                            continue; // a stale attempt's leftovers
                        }
                        if t.attempt > s.attempt {
                            s.metrics.clear();
                            s.attempt = t.attempt;
                        }
                        for (n, v) in &g.values {
                            match &prefix {
                                Some(op) => put(&mut s.metrics, &format!("{op}.{n}"), v),
                                None => put(&mut s.metrics, n, v),
                            }
                        }
                    }
                    _ => {
                        for (n, v) in &g.values {
                            put(&mut own, n, v);
                        }
                    }
                }
            }
            tms.insert(tm.clone(), Arc::new(own));
        }
        for (id, m) in job_metrics {
            let mut j = job_entry(&mut jobs, id);
            j.metrics = Arc::new(m);
            jobs.insert(id, j);
        }
        for ((id, v), m) in jm_ops {
            let mut j = job_entry(&mut jobs, id);
            j.jm_operators.insert(v, Arc::new(m));
            jobs.insert(id, j);
        }
        for ((id, v), mut s) in subtasks {
            let mut j = job_entry(&mut jobs, id);
            // A subtask that ended before this round (its final values came in an earlier
            // one) keeps them, unless the vertex has been redeployed since (a newer attempt).
            let newest = s.values().map(|m| m.attempt).max().unwrap_or(0);
            if let Some(before) = j.tasks.get(&v) {
                for (i, m) in before.iter() {
                    if m.attempt >= newest && !s.contains_key(i) {
                        s.insert(*i, m.clone());
                    }
                }
            }
            j.tasks.insert(v, Arc::new(s));
            jobs.insert(id, j);
        }
        let mut all: HashMap<JobId, Arc<JobMetricStore>> =
            jobs.into_iter().map(|(id, j)| (id, Arc::new(j))).collect();
        for (id, j) in &self.jobs {
            all.entry(*id).or_insert_with(|| j.clone());
        }
        all.retain(|id, _| round.known_jobs.contains(id));
        MetricStore {
            fetched_at_ms: now_ms,
            jobmanager: Arc::new(jm),
            taskmanagers: tms,
            jobs: all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::TaskScope;

    fn task(job: JobId, subtask: usize, attempt: u32) -> Arc<TaskScope> {
        Arc::new(TaskScope {
            job_id: job,
            job_name: "j".into(),
            vertex_id: VertexId(1),
            task_name: "Source: FakeSource".into(),
            subtask,
            attempt,
            tm_id: "tm".into(),
            host: "h".into(),
        })
    }

    fn counter(scope: Scope, name: &str, v: u64) -> DumpedGroup {
        DumpedGroup {
            scope: Arc::new(scope),
            values: vec![(name.into(), DumpValue::Counter(v))],
        }
    }

    #[test]
    fn a_subtask_that_ended_earlier_keeps_its_final_values_until_redeployed() {
        let job = JobId(1);
        let round = |subtask: usize, attempt: u32, v: u64| FetchRound {
            taskmanagers: vec![(
                "tm".into(),
                vec![counter(
                    Scope::Task(task(job, subtask, attempt)),
                    "numRecordsOut",
                    v,
                )],
            )],
            known_jobs: [job].into(),
            ..FetchRound::default()
        };
        // Subtask 0's last values come in one round, subtask 1's in the next.
        let s = MetricStore::default().next(round(0, 0, 20), 1);
        let s = s.next(round(1, 0, 20), 2);
        let v = s.jobs[&job].vertex_metrics(VertexId(1));
        assert_eq!(
            (v["0.numRecordsOut"].as_str(), v["1.numRecordsOut"].as_str()),
            ("20", "20")
        );
        // A redeployment (a newer attempt) drops what the old attempts left.
        let s = s.next(round(1, 1, 3), 3);
        let v = s.jobs[&job].vertex_metrics(VertexId(1));
        assert!(!v.contains_key("0.numRecordsOut"));
        assert_eq!(v["1.numRecordsOut"], "3");
    }

    #[test]
    fn keys_follow_flinks_store() {
        let job = JobId(1);
        let round = FetchRound {
            jobmanager: vec![
                counter(Scope::JobManager { host: "h".into() }, "numRunningJobs", 1),
                counter(
                    Scope::Job {
                        job_id: job,
                        job_name: "j".into(),
                        host: "h".into(),
                    },
                    "numRestarts",
                    0,
                ),
            ],
            taskmanagers: vec![(
                "tm".into(),
                vec![
                    counter(
                        Scope::TaskManager {
                            tm_id: "tm".into(),
                            host: "h".into(),
                        },
                        "Status.JVM.Threads.Count",
                        9,
                    ),
                    counter(Scope::Task(task(job, 1, 0)), "numRecordsOut", 5),
                    counter(
                        Scope::Operator {
                            task: task(job, 1, 0),
                            position: 0,
                            name: "Source: FakeSource".into(),
                        },
                        "numRecordsOut",
                        5,
                    ),
                ],
            )],
            known_jobs: [job].into(),
        };
        let s = MetricStore::default().next(round, 1);
        assert_eq!(s.jobmanager["numRunningJobs"], "1");
        assert_eq!(s.taskmanagers["tm"]["Status.JVM.Threads.Count"], "9");
        let j = &s.jobs[&job];
        assert_eq!(j.metrics["numRestarts"], "0");
        let v = j.vertex_metrics(VertexId(1));
        assert_eq!(v["1.numRecordsOut"], "5");
        assert_eq!(v["1.Source__FakeSource.numRecordsOut"], "5");
        assert_eq!(
            j.subtask(VertexId(1), 1)
                .map(|s| s.metrics["numRecordsOut"].clone()),
            Some("5".into())
        );
    }

    #[test]
    fn ended_jobs_keep_values_until_forgotten_and_gone_tms_vanish() {
        let job = JobId(1);
        let first = FetchRound {
            taskmanagers: vec![(
                "tm".into(),
                vec![counter(Scope::Task(task(job, 0, 0)), "numRecordsOut", 5)],
            )],
            known_jobs: [job].into(),
            ..Default::default()
        };
        let s1 = MetricStore::default().next(first, 1);
        let s2 = s1.next(
            FetchRound {
                known_jobs: [job].into(),
                ..Default::default()
            },
            2,
        );
        assert!(s2.taskmanagers.is_empty());
        assert_eq!(
            s2.jobs[&job].vertex_metrics(VertexId(1))["0.numRecordsOut"],
            "5"
        );
        let s3 = s2.next(FetchRound::default(), 3);
        assert!(s3.jobs.is_empty());
    }

    #[test]
    fn a_newer_attempt_replaces_the_old_one() {
        let job = JobId(1);
        let round = |attempt, v| FetchRound {
            taskmanagers: vec![(
                "tm".into(),
                vec![counter(
                    Scope::Task(task(job, 0, attempt)),
                    "numRecordsOut",
                    v,
                )],
            )],
            known_jobs: [job].into(),
            ..Default::default()
        };
        let s = MetricStore::default()
            .next(round(0, 5), 1)
            .next(round(1, 2), 2);
        assert_eq!(
            s.jobs[&job].vertex_metrics(VertexId(1))["0.numRecordsOut"],
            "2"
        );
    }
}
