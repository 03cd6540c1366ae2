//! The resource manager: registered TaskExecutors and their slots. A job gets all its slots on
//! one TaskExecutor (its subtasks exchange data through in-process channels), holding as many
//! slots as its largest vertex parallelism, as Flink's default slot sharing does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use weir_core::JobId;
use weir_gateway::{AllocatedSlot, TaskExecutorGateway, TaskManagerInfo};

struct Registered {
    gateway: Arc<dyn TaskExecutorGateway>,
    slots: usize,
    /// Slots held per job.
    allocations: HashMap<JobId, usize>,
    registered_at: i64,
}

impl Registered {
    fn free(&self) -> usize {
        self.slots.saturating_sub(self.allocations.values().sum())
    }
}

/// Why slots could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotError {
    /// No TaskExecutor could ever hold the job.
    NeverEnough { needed: usize, largest: usize },
}

/// Slots of every TaskExecutor.
#[derive(Default)]
pub struct ResourceManager {
    executors: Mutex<Vec<Registered>>,
    released: Notify,
}

impl ResourceManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a TaskExecutor offering `slots` slots.
    pub fn register(&self, gateway: Arc<dyn TaskExecutorGateway>, slots: usize, now: i64) {
        if let Ok(mut e) = self.executors.lock() {
            e.push(Registered {
                gateway,
                slots,
                allocations: HashMap::new(),
                registered_at: now,
            });
        }
        self.released.notify_waiters();
    }

    /// Forgets a TaskExecutor that left (its metrics leave the store on the next fetch).
    /// Returns whether it was registered.
    pub fn unregister(&self, resource_id: &str) -> bool {
        let Ok(mut e) = self.executors.lock() else {
            return false;
        };
        let before = e.len();
        e.retain(|r| r.gateway.resource_id() != resource_id);
        before != e.len()
    }

    /// Takes `needed` slots on one TaskExecutor, if one has them free now.
    pub fn try_allocate(
        &self,
        job: JobId,
        needed: usize,
    ) -> Result<Option<Arc<dyn TaskExecutorGateway>>, SlotError> {
        let Ok(mut executors) = self.executors.lock() else {
            return Ok(None);
        };
        let largest = executors.iter().map(|e| e.slots).max().unwrap_or(0);
        if needed > largest {
            return Err(SlotError::NeverEnough { needed, largest });
        }
        match executors.iter_mut().find(|e| e.free() >= needed) {
            Some(e) => {
                e.allocations.insert(job, needed);
                Ok(Some(e.gateway.clone()))
            }
            None => Ok(None),
        }
    }

    /// Changes how many slots a job holds on the TaskExecutor it runs on (a rescale), if that
    /// TaskExecutor has them; otherwise says how many it could give.
    pub fn resize(&self, job: JobId, needed: usize) -> Result<(), String> {
        let Ok(mut executors) = self.executors.lock() else {
            return Err("the resource manager is unavailable".into());
        };
        let Some(e) = executors
            .iter_mut()
            .find(|e| e.allocations.contains_key(&job))
        else {
            return Err(format!("job {job} holds no slots"));
        };
        let held = e.allocations.get(&job).copied().unwrap_or(0);
        let available = e.free() + held;
        if needed > available {
            return Err(format!(
                "the new parallelism needs {needed} slots but the TaskManager running the job has {available} for it; lower the parallelism or raise taskmanager.numberOfTaskSlots"
            ));
        }
        e.allocations.insert(job, needed);
        drop(executors);
        self.released.notify_waiters();
        Ok(())
    }

    /// Waits until some slot is released (or a TaskExecutor registers).
    pub async fn wait_for_release(&self) {
        self.released.notified().await;
    }

    /// Frees a job's slots.
    pub fn release(&self, job: JobId) {
        if let Ok(mut executors) = self.executors.lock() {
            for e in executors.iter_mut() {
                e.allocations.remove(&job);
            }
        }
        self.released.notify_waiters();
    }

    /// (total, free) slots.
    pub fn slot_counts(&self) -> (usize, usize) {
        self.executors
            .lock()
            .map(|e| {
                (
                    e.iter().map(|r| r.slots).sum(),
                    e.iter().map(Registered::free).sum(),
                )
            })
            .unwrap_or((0, 0))
    }

    /// Every TaskExecutor, with slot use filled in.
    pub fn task_managers(&self) -> Vec<TaskManagerInfo> {
        let Ok(executors) = self.executors.lock() else {
            return Vec::new();
        };
        executors
            .iter()
            .map(|r| {
                let mut info = r.gateway.describe();
                info.slots_total = r.slots;
                info.slots_free = r.free();
                if info.last_heartbeat == 0 {
                    info.last_heartbeat = r.registered_at;
                }
                info.allocated = r
                    .allocations
                    .iter()
                    .flat_map(|(job, n)| {
                        (0..*n).map(move |_| AllocatedSlot {
                            job_id: *job,
                            assigned_tasks: 1,
                        })
                    })
                    .collect();
                info
            })
            .collect()
    }

    /// A TaskExecutor by resource id.
    pub fn executor(&self, id: &str) -> Option<Arc<dyn TaskExecutorGateway>> {
        self.executors
            .lock()
            .ok()?
            .iter()
            .find(|r| r.gateway.resource_id() == id)
            .map(|r| r.gateway.clone())
    }

    /// Every TaskExecutor.
    pub fn executors(&self) -> Vec<Arc<dyn TaskExecutorGateway>> {
        self.executors
            .lock()
            .map(|e| e.iter().map(|r| r.gateway.clone()).collect())
            .unwrap_or_default()
    }
}
