//! The MetricFetcher: pulls the JobManager's and every TaskManager's metric dumps into the
//! next MetricStore and publishes it whole (an `ArcSwap`), so REST readers never wait for a
//! fetch or for each other. Fetches happen every `metrics.fetcher.update-interval` in the
//! background, and on demand when a request finds the store older than that or a job has
//! ended since (Flink answers from a store up to 10 s old, and `[]` at first).

use arc_swap::ArcSwap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_core::JobId;
use weir_gateway::TaskExecutorGateway;
use weir_metrics::query_service::DumpedGroup;
use weir_metrics::{FetchRound, MetricStore};

/// What one fetch reads from.
pub struct FetchSources {
    pub jobmanager: Vec<DumpedGroup>,
    pub taskmanagers: Vec<Arc<dyn TaskExecutorGateway>>,
    pub known_jobs: HashSet<JobId>,
}

/// Keeps the store fresh.
pub struct MetricFetcher {
    store: ArcSwap<MetricStore>,
    interval: Duration,
    /// Set when a subtask starts or ends, so its groups (or final values) are fetched before
    /// anyone reads them.
    invalidated: AtomicBool,
    /// One fetch at a time; a request that finds a fetch running reads the current store
    /// (or waits for `fetched`). A flag rather than a lock: a fetch awaits every TaskManager.
    fetching: AtomicBool,
    fetched: tokio::sync::Notify,
}

/// Ends a fetch however it ends (a dropped request included), waking those who wait for it.
struct Fetching<'a>(&'a MetricFetcher);

impl Drop for Fetching<'_> {
    fn drop(&mut self) {
        self.0.fetching.store(false, Ordering::Release);
        self.0.fetched.notify_waiters();
    }
}

impl MetricFetcher {
    pub fn new(interval: Duration) -> Self {
        Self {
            store: ArcSwap::from_pointee(MetricStore::default()),
            interval,
            invalidated: AtomicBool::new(true),
            fetching: AtomicBool::new(false),
            fetched: tokio::sync::Notify::new(),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The current store, without fetching.
    pub fn current(&self) -> Arc<MetricStore> {
        self.store.load_full()
    }

    /// Marks the store stale (a subtask started or ended).
    pub fn invalidate(&self) {
        self.invalidated.store(true, Ordering::Release);
    }

    /// Whether a reader should fetch first.
    pub fn needs_fetch(&self, now_ms: i64) -> bool {
        self.invalidated.load(Ordering::Acquire)
            || now_ms - self.store.load().fetched_at_ms >= self.interval.as_millis() as i64
    }

    /// Fetches now. When another fetch is running, waits for it only if the store has never
    /// been filled or was invalidated; otherwise returns at once (the store is at most one
    /// interval old).
    pub async fn fetch(&self, sources: impl FnOnce() -> FetchSources, now_ms: impl Fn() -> i64) {
        // After an invalidation (a subtask started or ended) or before the first fetch, wait
        // for a running fetch: what the reader is after may not be in the store yet.
        let must_wait =
            self.store.load().fetched_at_ms == 0 || self.invalidated.load(Ordering::Acquire);
        let _fetching = loop {
            let done = self.fetched.notified();
            if self
                .fetching
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                break Fetching(self);
            }
            if !must_wait {
                return;
            }
            done.await;
        };
        if !self.needs_fetch(now_ms()) {
            return; // someone else just did it
        }
        self.invalidated.store(false, Ordering::Release);
        let s = sources();
        let mut taskmanagers = Vec::with_capacity(s.taskmanagers.len());
        for t in &s.taskmanagers {
            taskmanagers.push((t.endpoint().resource_id.clone(), t.metric_dump().await));
        }
        let round = FetchRound {
            jobmanager: s.jobmanager,
            taskmanagers,
            known_jobs: s.known_jobs,
        };
        let next = self.store.load().next(round, now_ms().max(1));
        self.store.store(Arc::new(next));
    }
}
