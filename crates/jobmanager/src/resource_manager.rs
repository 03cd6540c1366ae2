//! The resource manager: registered TaskExecutors and their slots. A job holds as many slots as
//! its largest vertex parallelism, as Flink's default slot sharing does. They are on one
//! TaskExecutor when one has room (its subtasks then exchange data in-process), or spread over
//! several, packed or evenly (`cluster.evenly-spread-out-slots`); which is decided by
//! [`plan_slots`].
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
    /// The TaskExecutors together could never hold the job.
    NeverEnough { needed: usize, total: usize },
    /// No TaskExecutor has every tag of the job's `tag_filter` (SeaTunnel's
    /// `NoEnoughResourceException`); the tags each one has.
    NoMatchingTags {
        filter: BTreeMap<String, String>,
        workers: Vec<BTreeMap<String, String>>,
    },
}

/// Whether the set of TaskExecutors can still change. A mini cluster has its one TaskExecutor
/// for good, so a job too large for it can be refused at once; a JobManager's TaskManagers
/// come, go and come back (after a JobManager restart, one by one), so a shortfall may be
/// cured by one that has not registered yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Membership {
    #[default]
    Fixed,
    Elastic,
}

impl Membership {
    /// Whether another TaskExecutor may still register, so that a shortfall of slots or tags
    /// is worth waiting out.
    pub fn can_grow(self) -> bool {
        self == Membership::Elastic
    }
}

/// Whether a worker's tags satisfy a job's filter: every key present with the same value.
pub fn tags_match(filter: &BTreeMap<String, String>, tags: &BTreeMap<String, String>) -> bool {
    filter.iter().all(|(k, v)| tags.get(k) == Some(v))
}

/// How slots are taken when several TaskExecutors have room (`cluster.evenly-spread-out-slots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlotStrategy {
    /// The first registered one with room for the whole job; failing that, TaskExecutors fill
    /// up one after another.
    #[default]
    Pack,
    /// Slot by slot from the one with the most free slots: a job spreads over the
    /// TaskExecutors.
    Spread,
}

/// What [`plan_slots`] knows of one TaskExecutor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// Its tags match the job's filter.
    pub eligible: bool,
    /// Dynamic slots: it takes any number.
    pub dynamic: bool,
    pub free: usize,
}

/// Which TaskExecutors give how many of `needed` slots: `(index, count)` pairs, the one that
/// gets slot 0 first, or `None` when the slots are not free now. Fixed-slot TaskExecutors come
/// first; a dynamic one takes the whole job when they have no room.
pub fn plan_slots(
    offers: &[Offer],
    needed: usize,
    strategy: SlotStrategy,
) -> Option<Vec<(usize, usize)>> {
    let fixed: Vec<(usize, usize)> = offers
        .iter()
        .enumerate()
        .filter(|(_, o)| o.eligible && !o.dynamic)
        .map(|(i, o)| (i, o.free))
        .collect();
    let free: usize = fixed.iter().map(|(_, f)| f).sum();
    let planned = if free < needed {
        None
    } else {
        match strategy {
            SlotStrategy::Pack => match fixed.iter().find(|(_, f)| *f >= needed) {
                Some((i, _)) => Some(vec![(*i, needed)]),
                None => {
                    let mut left = needed;
                    let mut plan = Vec::new();
                    for (i, f) in &fixed {
                        let take = (*f).min(left);
                        if take > 0 {
                            plan.push((*i, take));
                            left -= take;
                        }
                    }
                    Some(plan)
                }
            },
            SlotStrategy::Spread => {
                let mut left: Vec<usize> = fixed.iter().map(|(_, f)| *f).collect();
                let mut taken = vec![0usize; fixed.len()];
                for _ in 0..needed {
                    // The most free slots; the first registered among equals.
                    let k = (0..left.len()).rev().max_by_key(|k| left[*k])?;
                    left[k] -= 1;
                    taken[k] += 1;
                }
                Some(
                    fixed
                        .iter()
                        .zip(taken)
                        .filter(|(_, n)| *n > 0)
                        .map(|((i, _), n)| (*i, n))
                        .collect(),
                )
            }
        }
    };
    planned.or_else(|| {
        offers
            .iter()
            .enumerate()
            .filter(|(_, o)| o.eligible && o.dynamic)
            .rev()
            .max_by_key(|(_, o)| o.free)
            .map(|(i, _)| vec![(i, needed)])
    })
}

/// Slots on one TaskExecutor, given to a job.
#[derive(Clone)]
pub struct Grant {
    pub executor: Arc<dyn TaskExecutorGateway>,
    pub slots: usize,
}

/// Slots of every TaskExecutor.
#[derive(Default)]
pub struct ResourceManager {
    executors: Mutex<Vec<Registered>>,
    released: Notify,
    strategy: SlotStrategy,
    membership: Membership,
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

    /// The same, with TaskExecutors that may still register (`Membership::Elastic`).
    pub fn with_membership(mut self, membership: Membership) -> Self {
        self.membership = membership;
        self
    }

    /// Whether TaskExecutors may still register.
    pub fn membership(&self) -> Membership {
        self.membership
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

    /// Takes `needed` slots on TaskExecutors whose tags match `filter`, if they are free now;
    /// the grant with the job's slot 0 first.
    pub fn try_allocate(
        &self,
        job: JobId,
        needed: usize,
        filter: &BTreeMap<String, String>,
    ) -> Result<Option<Vec<Grant>>, SlotError> {
        let Ok(mut executors) = self.executors.lock() else {
            return Ok(None);
        };
        let offers: Vec<Offer> = executors
            .iter()
            .map(|e| Offer {
                eligible: tags_match(filter, &e.tags),
                dynamic: matches!(e.policy, SlotPolicy::Dynamic { .. }),
                free: e.free(),
            })
            .collect();
        if !executors.is_empty() && !offers.iter().any(|o| o.eligible) {
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
        let total = executors
            .iter()
            .zip(&offers)
            .filter(|(_, o)| o.eligible)
            .map(|(e, _)| e.capacity())
            .fold(0usize, usize::saturating_add);
        if needed > total {
            return Err(SlotError::NeverEnough { needed, total });
        }
        let Some(plan) = plan_slots(&offers, needed, self.strategy) else {
            return Ok(None);
        };
        Ok(Some(
            plan.into_iter()
                .map(|(i, n)| {
                    let e = &mut executors[i];
                    e.allocations.insert(job, n);
                    Grant {
                        executor: e.gateway.clone(),
                        slots: n,
                    }
                })
                .collect(),
        ))
    }

    /// Changes how many slots a job holds on the TaskExecutor it runs on (a rescale), if that
    /// TaskExecutor has them; otherwise says how many it could give. A job spread over several
    /// TaskExecutors is not resized in place.
    pub fn resize(&self, job: JobId, needed: usize) -> Result<(), String> {
        let Ok(mut executors) = self.executors.lock() else {
            return Err("the resource manager is unavailable".into());
        };
        let holders = executors
            .iter()
            .filter(|e| e.allocations.contains_key(&job))
            .count();
        if holders > 1 {
            return Err(format!(
                "job {job} runs on {holders} TaskManagers; rescaling a job spread over several TaskManagers is not supported yet (cancel it and resubmit it from a savepoint with the new parallelism)"
            ));
        }
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
        async fn task_io(&self, _: JobId) -> Option<Vec<SubtaskIo>> {
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

    /// Where a job's slots went: `tm-N×count`, slot 0's first.
    fn place(rm: &ResourceManager, job: u128, needed: usize) -> Option<String> {
        rm.try_allocate(JobId(job), needed, &BTreeMap::new())
            .unwrap()
            .map(|grants| {
                grants
                    .iter()
                    .map(|g| format!("{}x{}", g.executor.endpoint().resource_id, g.slots))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
    }

    #[test]
    fn pack_fills_one_task_manager_before_the_next_and_spread_takes_slots_evenly() {
        let pack = with(SlotStrategy::Pack, &[4, 4]);
        assert_eq!(place(&pack, 1, 2).as_deref(), Some("tm-0x2"));
        assert_eq!(place(&pack, 2, 2).as_deref(), Some("tm-0x2"));
        assert_eq!(place(&pack, 3, 2).as_deref(), Some("tm-1x2"));
        // No one has 3 free any more: the job takes what is left, in order.
        let pack = with(SlotStrategy::Pack, &[2, 2]);
        assert_eq!(place(&pack, 1, 1).as_deref(), Some("tm-0x1"));
        assert_eq!(place(&pack, 2, 3).as_deref(), Some("tm-0x1 tm-1x2"));
        assert_eq!(place(&pack, 3, 1), None, "every slot is taken: it waits");
        let spread = with(SlotStrategy::Spread, &[4, 4]);
        assert_eq!(place(&spread, 1, 2).as_deref(), Some("tm-0x1 tm-1x1"));
        assert_eq!(place(&spread, 2, 3).as_deref(), Some("tm-0x2 tm-1x1"));
        assert_eq!(place(&spread, 3, 1).as_deref(), Some("tm-1x1"));
        // 2 free in all: a job of 3 waits.
        assert_eq!(place(&spread, 4, 3), None);
    }

    #[test]
    fn a_dynamic_task_manager_takes_what_the_fixed_ones_cannot() {
        let offers = [
            Offer {
                eligible: true,
                dynamic: false,
                free: 1,
            },
            Offer {
                eligible: true,
                dynamic: true,
                free: 0,
            },
        ];
        assert_eq!(
            plan_slots(&offers, 1, SlotStrategy::Pack),
            Some(vec![(0, 1)])
        );
        assert_eq!(
            plan_slots(&offers, 5, SlotStrategy::Spread),
            Some(vec![(1, 5)])
        );
        let ineligible = [Offer {
            eligible: false,
            ..offers[0]
        }];
        assert_eq!(plan_slots(&ineligible, 1, SlotStrategy::Pack), None);
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
                total: 2
            })
        );
    }

    #[test]
    fn a_shortfall_is_final_only_when_no_taskmanager_can_join() {
        assert!(!Membership::Fixed.can_grow());
        assert!(Membership::Elastic.can_grow());
        assert_eq!(ResourceManager::new().membership(), Membership::Fixed);
        assert_eq!(
            ResourceManager::new()
                .with_membership(Membership::Elastic)
                .membership(),
            Membership::Elastic
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
