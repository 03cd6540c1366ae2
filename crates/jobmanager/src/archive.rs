//! Finished jobs, kept in memory for reads and in a redb file under the data directory so they
//! survive a restart (what Flink only offers through a separate HistoryServer). Bounded by
//! `jobstore.max-capacity` (oldest dropped first) and `jobstore.expiration-time`.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use weir_core::JobId;
use weir_gateway::{JobOverview, JobSnapshot};

const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("finished_jobs");
/// Results of asynchronous operations (savepoints, rescales…), so they survive a restart.
const OPERATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("operations");

/// The store of finished jobs.
pub struct JobArchive {
    /// `None` when in memory only, or after `close`.
    db: std::sync::Mutex<Option<Database>>,
    /// Each finished job with its overview line, computed once: a finished job never changes.
    jobs: RwLock<HashMap<JobId, (Arc<JobSnapshot>, JobOverview)>>,
    /// The overview lines in listing order, rebuilt when a job is archived or evicted: the job
    /// list is the most polled endpoint, and its finished part changes only then.
    listing: RwLock<Arc<[JobOverview]>>,
    max_capacity: usize,
    expiration: Duration,
}

impl JobArchive {
    /// An archive kept only in memory (tests, or no data directory).
    pub fn in_memory(max_capacity: usize, expiration: Duration) -> Self {
        Self {
            db: std::sync::Mutex::new(None),
            jobs: RwLock::new(HashMap::new()),
            listing: RwLock::new(Arc::new([])),
            max_capacity,
            expiration,
        }
    }

    /// Opens (or creates) the archive file and loads what it holds.
    pub fn open(path: &Path, max_capacity: usize, expiration: Duration) -> Result<Self, String> {
        let db = Database::create(path)
            .map_err(|e| format!("cannot open job archive {}: {e}", path.display()))?;
        let mut jobs = HashMap::new();
        {
            let read = db.begin_read().map_err(|e| e.to_string())?;
            if let Ok(table) = read.open_table(JOBS) {
                let iter = table.iter().map_err(|e| e.to_string())?;
                for entry in iter.flatten() {
                    match serde_json::from_slice::<JobSnapshot>(entry.1.value()) {
                        Ok(s) => {
                            let o = JobOverview::of(&s, s.end_time());
                            jobs.insert(s.job_id, (Arc::new(s), o));
                        }
                        Err(e) => tracing::warn!(
                            "skipping an unreadable archived job {}: {e}",
                            entry.0.value()
                        ),
                    }
                }
            }
        }
        let archive = Self {
            db: std::sync::Mutex::new(Some(db)),
            jobs: RwLock::new(jobs),
            listing: RwLock::new(Arc::new([])),
            max_capacity,
            expiration,
        };
        archive.evict(now_ms());
        archive.relist();
        Ok(archive)
    }

    /// Every stored operation record, as `put_operation` wrote it.
    pub fn operations(&self) -> Vec<(String, Vec<u8>)> {
        let guard = self.db.lock();
        let Some(db) = guard.as_ref().ok().and_then(|d| d.as_ref()) else {
            return Vec::new();
        };
        let read = || -> Result<Vec<(String, Vec<u8>)>, String> {
            let tx = db.begin_read().map_err(|e| e.to_string())?;
            let Ok(table) = tx.open_table(OPERATIONS) else {
                return Ok(Vec::new());
            };
            let iter = table.iter().map_err(|e| e.to_string())?;
            Ok(iter
                .flatten()
                .map(|(k, v)| (k.value().to_string(), v.value().to_vec()))
                .collect())
        };
        read().unwrap_or_else(|e| {
            tracing::warn!("cannot read stored operation results: {e}");
            Vec::new()
        })
    }

    /// Stores (or replaces) one operation record.
    pub fn put_operation(&self, key: &str, record: &[u8]) {
        if let Err(e) = self.write(OPERATIONS, |t| t.insert(key, record).map(|_| ())) {
            tracing::error!("cannot store an operation result: {e}");
        }
    }

    /// Forgets an operation record (it expired).
    pub fn remove_operation(&self, key: &str) {
        if let Err(e) = self.write(OPERATIONS, |t| t.remove(key).map(|_| ())) {
            tracing::error!("cannot forget an operation result: {e}");
        }
    }

    /// Changes one table of the file in a transaction; nothing to do when in memory only.
    fn write(
        &self,
        table: TableDefinition<&str, &[u8]>,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> Result<(), redb::StorageError>,
    ) -> Result<(), String> {
        let guard = self.db.lock();
        let Some(db) = guard.as_ref().ok().and_then(|d| d.as_ref()) else {
            return Ok(());
        };
        let tx = db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = tx.open_table(table).map_err(|e| e.to_string())?;
            f(&mut table).map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// Releases the file (and its lock); later changes stay in memory.
    pub fn close(&self) {
        if let Ok(mut db) = self.db.lock() {
            db.take();
        }
    }

    /// Stores a finished job.
    pub fn put(&self, snapshot: JobSnapshot) {
        let stored = serde_json::to_vec(&snapshot)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                let key = snapshot.job_id.to_string();
                self.write(JOBS, |t| {
                    t.insert(key.as_str(), bytes.as_slice()).map(|_| ())
                })
            });
        if let Err(e) = stored {
            tracing::error!("cannot archive job {}: {e}", snapshot.job_id);
        }
        let overview = JobOverview::of(&snapshot, snapshot.end_time());
        if let Ok(mut jobs) = self.jobs.write() {
            jobs.insert(snapshot.job_id, (Arc::new(snapshot), overview));
        }
        self.evict(now_ms());
        self.relist();
    }

    /// A finished job.
    pub fn get(&self, job: JobId) -> Option<Arc<JobSnapshot>> {
        self.jobs.read().ok()?.get(&job).map(|(s, _)| s.clone())
    }

    /// Every finished job.
    pub fn all(&self) -> Vec<Arc<JobSnapshot>> {
        self.jobs
            .read()
            .map(|j| j.values().map(|(s, _)| s.clone()).collect())
            .unwrap_or_default()
    }

    /// The overview line of every finished job, in [`JobOverview::listing_order`].
    pub fn overviews(&self) -> Arc<[JobOverview]> {
        self.listing
            .read()
            .map(|l| l.clone())
            .unwrap_or_else(|_| Arc::new([]))
    }

    fn relist(&self) {
        let mut listing: Vec<JobOverview> = self
            .jobs
            .read()
            .map(|j| j.values().map(|(_, o)| o.clone()).collect())
            .unwrap_or_default();
        listing.sort_by(JobOverview::listing_order);
        if let Ok(mut l) = self.listing.write() {
            *l = listing.into();
        }
    }

    /// Drops expired jobs and the oldest beyond capacity (the listing is the caller's to
    /// rebuild).
    fn evict(&self, now: i64) {
        let doomed: Vec<JobId> = {
            let Ok(jobs) = self.jobs.read() else { return };
            let mut by_end: Vec<(i64, JobId)> = jobs
                .values()
                .map(|(s, _)| (s.end_time(), s.job_id))
                .collect();
            by_end.sort_unstable_by(|a, b| b.cmp(a));
            let ttl = self.expiration.as_millis() as i64;
            by_end
                .iter()
                .enumerate()
                .filter(|(i, (end, _))| *i >= self.max_capacity || (ttl > 0 && now - end > ttl))
                .map(|(_, (_, id))| *id)
                .collect()
        };
        if doomed.is_empty() {
            return;
        }
        if let Ok(mut jobs) = self.jobs.write() {
            for id in &doomed {
                jobs.remove(id);
            }
        }
        let removed = self.write(JOBS, |t| {
            for id in &doomed {
                t.remove(id.to_string().as_str())?;
            }
            Ok(())
        });
        if let Err(e) = removed {
            tracing::error!("cannot evict archived jobs: {e}");
        }
    }
}

pub use weir_core::now_ms;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use weir_core::JobStatus;
    use weir_gateway::JobType;

    fn finished(id: u128, end: i64) -> JobSnapshot {
        let mut timestamps = [0; 11];
        timestamps[0] = end - 10;
        timestamps[7] = end; // FINISHED
        JobSnapshot {
            job_id: JobId(id),
            name: format!("job{id}"),
            job_type: JobType::Batch,
            status: JobStatus::Finished,
            timestamps,
            max_parallelism: -1,
            vertices: vec![],
            exceptions: vec![],
            config: BTreeMap::new(),
            origin: None,
            taken_at: end,
            operators: Vec::new(),
            savepoint_stop: Default::default(),
        }
    }

    #[test]
    fn survives_reopening_and_respects_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("archive.redb");
        let now = now_ms();
        {
            let a = JobArchive::open(&path, 2, Duration::from_secs(3600)).unwrap();
            a.put(finished(1, now - 3000));
            a.put(finished(2, now - 2000));
            a.put(finished(3, now - 1000));
            assert!(
                a.get(JobId(1)).is_none(),
                "the oldest is dropped beyond capacity"
            );
        }
        let a = JobArchive::open(&path, 2, Duration::from_secs(3600)).unwrap();
        assert_eq!(a.all().len(), 2);
        assert_eq!(a.get(JobId(3)).unwrap().name, "job3");
        let listed: Vec<JobId> = a.overviews().iter().map(|o| o.job_id).collect();
        assert_eq!(
            listed,
            vec![JobId(3), JobId(2)],
            "reopened, in listing order"
        );
    }

    #[test]
    fn the_listing_is_newest_first_and_follows_puts_and_evictions() {
        let a = JobArchive::in_memory(3, Duration::from_secs(3600));
        let now = now_ms();
        let listed =
            |a: &JobArchive| -> Vec<u128> { a.overviews().iter().map(|o| o.job_id.0).collect() };
        a.put(finished(5, now - 2000));
        a.put(finished(7, now - 4000));
        a.put(finished(6, now - 2000)); // the same start as 5: by id
        assert_eq!(listed(&a), vec![5, 6, 7]);
        a.put(finished(8, now - 100));
        assert_eq!(
            listed(&a),
            vec![8, 5, 6],
            "the oldest end is evicted from the listing too"
        );
    }

    #[test]
    fn expired_jobs_are_dropped() {
        let a = JobArchive::in_memory(10, Duration::from_secs(1));
        let now = now_ms();
        a.put(finished(1, now - 5000));
        a.put(finished(2, now));
        assert!(a.get(JobId(1)).is_none());
        assert!(a.get(JobId(2)).is_some());
    }
}
