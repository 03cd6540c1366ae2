//! Where a job's subtasks run: which TaskManager holds each of the job's slots.
//!
//! Subtask `i` of every vertex runs in the job's slot `i` (Flink's default slot sharing), so a
//! job holds as many slots as its largest parallelism, a forward edge stays inside one slot, and
//! only edges that redistribute (hash, rebalance) cross TaskManagers. The JobMaster decides the
//! placement once per attempt; every TaskExecutor of the attempt gets the same one and runs the
//! subtasks whose slot it holds.

use crate::task::TaskManagerEndpoint;
use serde::{Deserialize, Serialize};

/// The TaskManagers of one attempt and the slot each holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The TaskManagers holding the job's slots; the one with slot 0 first.
    pub task_managers: Vec<TaskManagerEndpoint>,
    /// For each slot of the job, the index in `task_managers` of the one holding it.
    pub slots: Vec<usize>,
}

impl Placement {
    /// Slots handed out as `(TaskManager, how many)`, in that order: the first TaskManager
    /// holds slots `0..n0`, the next the following ones.
    pub fn new(grants: &[(TaskManagerEndpoint, usize)]) -> Self {
        let mut task_managers = Vec::with_capacity(grants.len());
        let mut slots = Vec::new();
        for (endpoint, count) in grants.iter().filter(|(_, n)| *n > 0) {
            slots.extend(std::iter::repeat_n(task_managers.len(), *count));
            task_managers.push(endpoint.clone());
        }
        Self {
            task_managers,
            slots,
        }
    }

    /// Every subtask on one TaskManager.
    pub fn single(endpoint: TaskManagerEndpoint, slots: usize) -> Self {
        Self::new(&[(endpoint, slots.max(1))])
    }

    /// The TaskManager that runs subtask `subtask` (of any vertex).
    pub fn task_manager_of(&self, subtask: usize) -> Option<&TaskManagerEndpoint> {
        self.task_managers.get(*self.slots.get(subtask)?)
    }

    /// Whether `resource_id` holds slot 0: the TaskManager that runs a job's once-per-job
    /// setup (a sink's save mode) before the others start.
    pub fn is_first(&self, resource_id: &str) -> bool {
        self.task_managers
            .first()
            .is_some_and(|t| t.resource_id == resource_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tm(id: &str) -> TaskManagerEndpoint {
        TaskManagerEndpoint {
            resource_id: id.into(),
            host: "h".into(),
            data_port: Some(1),
        }
    }

    #[test]
    fn slots_are_numbered_across_task_managers_in_grant_order() {
        let p = Placement::new(&[(tm("a"), 1), (tm("b"), 0), (tm("c"), 2)]);
        assert_eq!(p.task_managers.len(), 2, "a grant of no slots is no member");
        let ids: Vec<_> = (0..4)
            .map(|i| p.task_manager_of(i).map(|t| t.resource_id.as_str()))
            .collect();
        assert_eq!(ids, [Some("a"), Some("c"), Some("c"), None]);
        assert!(p.is_first("a") && !p.is_first("c"));
        assert_eq!(Placement::single(tm("a"), 0).slots, [0]);
    }
}
