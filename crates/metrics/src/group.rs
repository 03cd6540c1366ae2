//! Metric groups: a scope (which JobManager, TaskManager, job, task or operator a metric
//! belongs to, with Flink's scope variables) and the metrics registered in it. A group is
//! built once when its component starts and never changes afterwards, so reading it needs
//! no lock.

use crate::kinds::{CountFn, GaugeFn, GaugeValue, Histogram, Meter, Metric};
use std::sync::Arc;
use weir_core::{JobId, VertexId};

/// The identity of a running task attempt, shared by its task and operator groups.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskScope {
    pub job_id: JobId,
    pub job_name: Arc<str>,
    pub vertex_id: VertexId,
    pub task_name: Arc<str>,
    pub subtask: usize,
    pub attempt: u32,
    pub tm_id: Arc<str>,
    pub host: Arc<str>,
}

/// Where a metric belongs: Flink's scopes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    JobManager {
        host: Arc<str>,
    },
    TaskManager {
        tm_id: Arc<str>,
        host: Arc<str>,
    },
    /// A job, on the JobManager.
    Job {
        job_id: JobId,
        job_name: Arc<str>,
        host: Arc<str>,
    },
    Task(Arc<TaskScope>),
    Operator {
        task: Arc<TaskScope>,
        /// Position in the task's chain (weir's stand-in for Flink's operator id).
        position: usize,
        name: Arc<str>,
    },
    /// An operator coordinator on the JobManager (`jm-operator-metrics`).
    JobManagerOperator {
        job_id: JobId,
        job_name: Arc<str>,
        vertex_id: VertexId,
        name: Arc<str>,
        host: Arc<str>,
    },
}

impl Scope {
    /// The job this scope is part of, if any.
    pub fn job(&self) -> Option<JobId> {
        match self {
            Scope::JobManager { .. } | Scope::TaskManager { .. } => None,
            Scope::Job { job_id, .. } | Scope::JobManagerOperator { job_id, .. } => Some(*job_id),
            Scope::Task(t) | Scope::Operator { task: t, .. } => Some(t.job_id),
        }
    }

    /// Flink's logical scope, which names Prometheus metrics (`taskmanager_job_task`).
    pub fn logical(&self) -> &'static str {
        match self {
            Scope::JobManager { .. } => "jobmanager",
            Scope::TaskManager { .. } => "taskmanager",
            Scope::Job { .. } => "jobmanager_job",
            Scope::Task(_) => "taskmanager_job_task",
            Scope::Operator { .. } => "taskmanager_job_task_operator",
            Scope::JobManagerOperator { .. } => "jobmanager_job_operator",
        }
    }

    /// Flink's scope variables (`<job_id>`, `<subtask_index>`, …) as Prometheus labels.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        let task_labels = |t: &TaskScope| {
            vec![
                ("host", t.host.to_string()),
                ("tm_id", t.tm_id.to_string()),
                ("job_id", t.job_id.to_string()),
                ("job_name", t.job_name.to_string()),
                ("task_id", t.vertex_id.to_string()),
                ("task_name", t.task_name.to_string()),
                ("subtask_index", t.subtask.to_string()),
                ("task_attempt_num", t.attempt.to_string()),
                ("task_attempt_id", attempt_id(t)),
            ]
        };
        match self {
            Scope::JobManager { host } => vec![("host", host.to_string())],
            Scope::TaskManager { tm_id, host } => {
                vec![("host", host.to_string()), ("tm_id", tm_id.to_string())]
            }
            Scope::Job {
                job_id,
                job_name,
                host,
            } => vec![
                ("host", host.to_string()),
                ("job_id", job_id.to_string()),
                ("job_name", job_name.to_string()),
            ],
            Scope::Task(t) => task_labels(t),
            Scope::Operator {
                task,
                position,
                name,
            } => {
                let mut l = task_labels(task);
                l.push(("operator_id", operator_id(task.vertex_id, *position)));
                l.push(("operator_name", name.to_string()));
                l
            }
            Scope::JobManagerOperator {
                job_id,
                job_name,
                vertex_id,
                name,
                host,
            } => vec![
                ("host", host.to_string()),
                ("job_id", job_id.to_string()),
                ("job_name", job_name.to_string()),
                ("task_id", vertex_id.to_string()),
                ("operator_name", name.to_string()),
            ],
        }
    }
}

/// A 32-hex id for an attempt, as Flink's ExecutionAttemptID prints (derived, so it is stable).
fn attempt_id(t: &TaskScope) -> String {
    let mix = (t.subtask as u128) << 64 | t.attempt as u128;
    format!("{:032x}", t.vertex_id.0 ^ mix.rotate_left(17))
}

/// A 32-hex operator id: the chain head shares its vertex's id, as in Flink.
pub fn operator_id(vertex: VertexId, position: usize) -> String {
    format!("{:032x}", vertex.0 ^ (position as u128).rotate_left(96))
}

/// Flink's scope-name filter for operator names in metric ids: characters that would break
/// the dotted metric path become `_` (`Source: FakeSource` → `Source__FakeSource`).
pub fn sanitize_operator_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if matches!(c, ' ' | ':' | '.' | ',' | '"' | '\'' | '*' | '?') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A scope and its metrics.
#[derive(Debug, Clone)]
pub struct MetricGroup {
    pub scope: Arc<Scope>,
    pub metrics: Vec<(Arc<str>, Metric)>,
}

impl MetricGroup {
    pub fn new(scope: Scope) -> Self {
        Self {
            scope: Arc::new(scope),
            metrics: Vec::new(),
        }
    }

    /// Adds a counter read from `count`.
    pub fn counter(&mut self, name: &str, count: CountFn) -> &mut Self {
        self.metrics.push((name.into(), Metric::Counter(count)));
        self
    }

    /// Adds a gauge.
    pub fn gauge(
        &mut self,
        name: &str,
        f: impl Fn() -> GaugeValue + Send + Sync + 'static,
    ) -> &mut Self {
        let f: GaugeFn = Arc::new(f);
        self.metrics.push((name.into(), Metric::Gauge(f)));
        self
    }

    /// Adds a per-second meter over `count` with the given window.
    pub fn meter(&mut self, name: &str, count: CountFn, window_secs: u64) -> &mut Self {
        self.metrics
            .push((name.into(), Metric::Meter(Meter::new(count, window_secs))));
        self
    }

    /// Adds a meter of time spent per second (`…TimeMsPerSecond`), capped at 1000.
    pub fn time_meter(&mut self, name: &str, millis: CountFn, window_secs: u64) -> &mut Self {
        self.metrics.push((
            name.into(),
            Metric::Meter(Meter::capped(millis, window_secs, 1000.0)),
        ));
        self
    }

    /// Adds a histogram.
    pub fn histogram(&mut self, name: &str, h: Arc<Histogram>) -> &mut Self {
        self.metrics.push((name.into(), Metric::Histogram(h)));
        self
    }

    /// Takes a sample for every meter (called on the query service's tick).
    pub fn tick(&self) {
        for (_, m) in &self.metrics {
            if let Metric::Meter(m) = m {
                m.tick();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_are_sanitised_as_flink_does() {
        assert_eq!(sanitize_operator_name("Source: src[1]"), "Source__src[1]");
        assert_eq!(sanitize_operator_name("Calc[2]"), "Calc[2]");
    }

    #[test]
    fn operator_ids_differ_by_position_and_head_is_vertex_id() {
        let v = VertexId(0xabc);
        assert_eq!(operator_id(v, 0), v.to_string());
        assert_ne!(operator_id(v, 1), operator_id(v, 2));
    }
}
