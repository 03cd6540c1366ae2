//! The resource manager: registered TaskExecutors and their slots. A job gets all its slots on
//! one TaskExecutor (its subtasks exchange data through in-process channels), holding as many
//! slots as its largest vertex parallelism, as Flink's default slot sharing does.
//!
//! A TaskExecutor offers a fixed number of slots (Flink's `taskmanager.numberOfTaskSlots`) or
//! dynamic ones (SeaTunnel's default `dynamic-slot`): those grow with demand, so a job never
//! waits for a slot on an idle machine.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use weir_core::JobId;
use weir_gateway::{AllocatedSlot, TaskExecutorGateway, TaskManagerInfo};

/// How many slots a TaskExecutor offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotPolicy {
    /// Exactly this many; a job that finds none free waits for one.
    Fixed(usize),
    /// At least this many, and as many more as jobs ask for.
    Dynamic { base: usize },
}

struct Registered {
    gateway: Arc<dyn TaskExecutorGateway>,
    policy: SlotPolicy,
    /// Its tags (SeaTunnel's member attributes), replaced by `/update-tags`.
    tags: BTreeMap<String, String>,
    /// Slots held per job.
    allocations: HashMap<JobId, usize>,
    registered_at: i64,
    /// Its last heartbeat (epoch ms), for one in another process.
    last_heartbeat: Option<i64>,
}

impl Registered {
    fn used(&self) -> usize {
        self.allocations.values().sum()
    }

    /// Slots shown as the TaskExecutor's total: a dynamic one has its base, or what is in use
    /// when that is more.
    fn total(&self) -> usize {
        match self.policy {
            SlotPolicy::Fixed(n) => n,
            SlotPolicy::Dynamic { base } => base.max(self.used()),
        }
    }

    fn free(&self) -> usize {
        self.total().saturating_sub(self.used())
    }

    /// Whether `needed` more slots can be had now.
    fn can_take(&self, needed: usize) -> bool {
        match self.policy {
            SlotPolicy::Fixed(_) => self.free() >= needed,
            SlotPolicy::Dynamic { .. } => true,
        }
    }

    /// The most slots one job could ever hold here.
    fn capacity(&self) -> usize {
        match self.policy {
            SlotPolicy::Fixed(n) => n,
            SlotPolicy::Dynamic { .. } => usize::MAX,
        }
    }
}

/// Why slots could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotError {
    /// No TaskExecutor could ever hold the job.
    NeverEnough { needed: usize, largest: usize },
    /// No TaskExecutor has every tag of the job's `tag_filter` (SeaTunnel's
    /// `NoEnoughResourceException`); the tags each one has.
    NoMatchingTags {
        filter: BTreeMap<String, String>,
        workers: Vec<BTreeMap<String, String>>,
    },
}

/// Whether a worker's tags satisfy a job's filter: every key present with the same value.
pub fn tags_match(filter: &BTreeMap<String, String>, tags: &BTreeMap<String, String>) -> bool {
    filter.iter().all(|(k, v)| tags.get(k) == Some(v))
}

/// Which TaskExecutor a job goes to when several have room (`cluster.evenly-spread-out-slots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlotStrategy {
    /// The first registered one with room: TaskExecutors fill up one after another.
    #[default]
    Pack,
    /// The one with the most free slots: jobs spread over the TaskExecutors.
    Spread,
}

/// Slots of every TaskExecutor.
#[derive(Default)]
pub struct ResourceManager {
    executors: Mutex<Vec<Registered>>,
    released: Notify,
    strategy: SlotStrategy,
}

impl ResourceManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// A resource manager that places jobs by `strategy`.
    pub fn with_strategy(strategy: SlotStrategy) -> Self {
        Self {
            strategy,
            ..Self::default()
        }
    }

    /// A heartbeat of the TaskExecutor `resource_id` arrived at `now` (epoch ms).
    pub fn heartbeat(&self, resource_id: &str, now: i64) {
        if let Ok(mut executors) = self.executors.lock() {
            for e in executors
                .iter_mut()
                .filter(|e| e.gateway.endpoint().resource_id == resource_id)
            {
                e.last_heartbeat = Some(now);
            }
        }
    }

    /// Registers a TaskExecutor offering slots by `policy`, with its tags.
    pub fn register(
        &self,
        gateway: Arc<dyn TaskExecutorGateway>,
        policy: SlotPolicy,
        tags: BTreeMap<String, String>,
        now: i64,
    ) {
        if let Ok(mut e) = self.executors.lock() {
            e.push(Registered {
                gateway,
                policy,
                tags,
                allocations: HashMap::new(),
                registered_at: now,
                last_heartbeat: None,
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
        e.retain(|r| r.gateway.endpoint().resource_id != resource_id);
        before != e.len()
    }

    /// Takes `needed` slots on one TaskExecutor whose tags match `filter`, if one has them free
    /// now.
    pub fn try_allocate(
        &self,
        job: JobId,
        needed: usize,
        filter: &BTreeMap<String, String>,
    ) -> Result<Option<Arc<dyn TaskExecutorGateway>>, SlotError> {
        let Ok(mut executors) = self.executors.lock() else {
            return Ok(None);
        };
        let eligible: Vec<bool> = executors
            .iter()
            .map(|e| tags_match(filter, &e.tags))
            .collect();
        if !executors.is_empty() && !eligible.iter().any(|e| *e) {
            return Err(SlotError::NoMatchingTags {
                filter: filter.clone(),
                workers: executors.iter().map(|e| e.tags.clone()).collect(),
            });
        }
        if executors.is_empty() {
            // None registered yet (a JobManager whose TaskManagers are still starting, or are
            // reconnecting after its restart): wait for one, as Flink waits for slots.
            return Ok(None);
        }
        let largest = executors
            .iter()
            .zip(&eligible)
            .filter(|(_, ok)| **ok)
            .map(|(e, _)| e.capacity())
            .max()
            .unwrap_or(0);
        if needed > largest {
            return Err(SlotError::NeverEnough { needed, largest });
        }
        // A fixed TaskExecutor with room first (by the strategy), then the dynamic one with
        // the most room.
        let with_room = executors.iter().enumerate().filter(|(i, e)| {
            eligible[*i] && matches!(e.policy, SlotPolicy::Fixed(_)) && e.can_take(needed)
        });
        let fixed = match self.strategy {
            SlotStrategy::Pack => with_room.map(|(i, _)| i).next(),
            // The most free slots; the first registered among equals.
            SlotStrategy::Spread => with_room
                .rev()
                .max_by_key(|(_, e)| e.free())
                .map(|(i, _)| i),
        };
        let dynamic = || {
            executors
                .iter()
                .enumerate()
                .filter(|(i, e)| eligible[*i] && matches!(e.policy, SlotPolicy::Dynamic { .. }))
                .max_by_key(|(_, e)| e.free())
                .map(|(i, _)| i)
        };
        let chosen = fixed.or_else(dynamic).map(|i| &mut executors[i]);
        match chosen {
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
        if matches!(e.policy, SlotPolicy::Fixed(_)) && needed > available {
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
                    e.iter().map(Registered::total).sum(),
                    e.iter().map(Registered::free).sum(),
                )
            })
            .unwrap_or((0, 0))
    }

    /// Replaces the tags of every TaskExecutor (SeaTunnel's `/update-tags`); jobs scheduled
    /// after see the new ones.
    pub fn set_tags(&self, tags: &BTreeMap<String, String>) {
        if let Ok(mut executors) = self.executors.lock() {
            for e in executors.iter_mut() {
                e.tags = tags.clone();
            }
        }
    }

    /// Every TaskExecutor as it describes itself, with slot use and tags filled in.
    pub async fn task_managers(&self) -> Vec<TaskManagerInfo> {
        // What the resource manager knows is copied out first: describing asks each
        // TaskExecutor, which must not happen under the lock.
        let known: Vec<(Arc<dyn TaskExecutorGateway>, TaskManagerInfo, Option<i64>)> =
            match self.executors.lock() {
                Ok(executors) => executors
                    .iter()
                    .map(|r| {
                        let slots = TaskManagerInfo {
                            slots_total: r.total(),
                            slots_free: r.free(),
                            last_heartbeat: r.registered_at,
                            tags: r.tags.clone(),
                            allocated: r
                                .allocations
                                .iter()
                                .flat_map(|(job, n)| {
                                    (0..*n).map(move |_| AllocatedSlot {
                                        job_id: *job,
                                        assigned_tasks: 1,
                                    })
                                })
                                .collect(),
                            ..TaskManagerInfo::default()
                        };
                        (r.gateway.clone(), slots, r.last_heartbeat)
                    })
                    .collect(),
                Err(_) => return Vec::new(),
            };
        let mut out = Vec::with_capacity(known.len());
        for (gateway, slots, heartbeat) in known {
            let mut info = gateway.describe().await;
            info.slots_total = slots.slots_total;
            info.slots_free = slots.slots_free;
            // A remote one's is the last heartbeat the JobManager had (its own clock would
            // say "now" even when it stopped beating); one in this process answers for
            // itself, or its registration does.
            match heartbeat {
                Some(at) => info.last_heartbeat = at,
                None if info.last_heartbeat == 0 => info.last_heartbeat = slots.last_heartbeat,
                None => {}
            }
            info.allocated = slots.allocated;
            info.tags = slots.tags;
            out.push(info);
        }
        out
    }

    /// A TaskExecutor by resource id.
    pub fn executor(&self, id: &str) -> Option<Arc<dyn TaskExecutorGateway>> {
        self.executors
            .lock()
            .ok()?
            .iter()
            .find(|r| r.gateway.endpoint().resource_id == id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use weir_gateway::*;

    struct Idle(TaskManagerEndpoint);

    #[async_trait]
    impl TaskExecutorGateway for Idle {
        fn endpoint(&self) -> &TaskManagerEndpoint {
            &self.0
        }
        async fn deploy(&self, _: TaskDeployment) -> Result<(), GatewayError> {
            Ok(())
        }
        async fn cancel(&self, _: JobId) -> Result<(), GatewayError> {
            Ok(())
        }
        async fn trigger_checkpoint(
            &self,
            _: JobId,
            _: CheckpointTrigger,
        ) -> Result<(), GatewayError> {
            Ok(())
        }
        async fn notify_checkpoint_complete(&self, _: JobId, _: u64) {}
        async fn task_io(&self, _: JobId) -> Option<Vec<Vec<IoStats>>> {
            None
        }
        async fn thread_dump(&self) -> Vec<ThreadInfo> {
            Vec::new()
        }
        async fn request_profiling(
            &self,
            _: i64,
            _: ProfilingMode,
        ) -> Result<ProfilingInfo, GatewayError> {
            Err(GatewayError::not_yet("profiling"))
        }
        async fn profiling_list(&self) -> Vec<ProfilingInfo> {
            Vec::new()
        }
        async fn profiling_file(&self, n: &str) -> Result<Vec<u8>, GatewayError> {
            Err(GatewayError::NotFound(n.into()))
        }
        async fn describe(&self) -> TaskManagerInfo {
            TaskManagerInfo {
                id: self.0.resource_id.clone(),
                ..TaskManagerInfo::default()
            }
        }
        async fn list_logs(&self) -> Vec<LogFile> {
            Vec::new()
        }
        async fn read_log(&self, n: &str) -> Result<Vec<u8>, GatewayError> {
            Err(GatewayError::NotFound(n.into()))
        }
        async fn metric_dump(&self) -> Vec<weir_metrics::DumpedGroup> {
            Vec::new()
        }
        async fn sample_tasks(&self, _: JobId, _: usize) -> Vec<ThreadSample> {
            Vec::new()
        }
    }

    fn with(strategy: SlotStrategy, slots: &[usize]) -> ResourceManager {
        let rm = ResourceManager::with_strategy(strategy);
        for (i, n) in slots.iter().enumerate() {
            let endpoint = TaskManagerEndpoint {
                resource_id: format!("tm-{i}"),
                host: "h".into(),
                data_port: None,
            };
            rm.register(
                Arc::new(Idle(endpoint)),
                SlotPolicy::Fixed(*n),
                BTreeMap::new(),
                1,
            );
        }
        rm
    }

    fn place(rm: &ResourceManager, job: u128, needed: usize) -> Option<String> {
        rm.try_allocate(JobId(job), needed, &BTreeMap::new())
            .unwrap()
            .map(|e| e.endpoint().resource_id.clone())
    }

    #[test]
    fn pack_fills_one_task_manager_before_the_next_and_spread_takes_the_emptiest() {
        let pack = with(SlotStrategy::Pack, &[4, 4]);
        assert_eq!(place(&pack, 1, 2).as_deref(), Some("tm-0"));
        assert_eq!(place(&pack, 2, 2).as_deref(), Some("tm-0"));
        assert_eq!(place(&pack, 3, 2).as_deref(), Some("tm-1"));
        let spread = with(SlotStrategy::Spread, &[4, 4]);
        assert_eq!(place(&spread, 1, 2).as_deref(), Some("tm-0"));
        assert_eq!(place(&spread, 2, 2).as_deref(), Some("tm-1"));
        assert_eq!(place(&spread, 3, 1).as_deref(), Some("tm-0"));
        // Neither has 3 free now (2 and 1 left): the job waits.
        assert_eq!(place(&spread, 4, 3), None);
    }

    #[test]
    fn with_no_task_manager_a_job_waits_and_one_too_large_is_refused() {
        let none = ResourceManager::new();
        assert_eq!(place(&none, 1, 2), None);
        let small = with(SlotStrategy::Pack, &[2]);
        assert_eq!(
            small.try_allocate(JobId(1), 3, &BTreeMap::new()).err(),
            Some(SlotError::NeverEnough {
                needed: 3,
                largest: 2
            })
        );
    }

    #[tokio::test]
    async fn a_remote_task_managers_heartbeat_is_what_rest_shows() {
        let rm = with(SlotStrategy::Pack, &[2]);
        assert_eq!(
            rm.task_managers().await[0].last_heartbeat,
            1,
            "its registration, before any heartbeat"
        );
        rm.heartbeat("tm-0", 1234);
        assert_eq!(rm.task_managers().await[0].last_heartbeat, 1234);
    }
}
