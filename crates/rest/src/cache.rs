//! Serialized JSON of things that can no longer change. A finished job's overview line is fixed
//! forever, so `/jobs/overview` writes it once and copies the bytes afterwards; running jobs are
//! always serialized fresh. A checkpoint statistics snapshot never changes either (the JobMaster
//! publishes a new one on every checkpoint event), so its rendering is kept until the next one
//! replaces it. Nothing here can serve a stale number.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use weir_core::JobId;
use weir_gateway::JobOverview;

/// A rendering of each job's current snapshot of some kind (`/checkpoints` statistics, the
/// stable part of `/jobs/:id`), keyed by the snapshot itself: a dashboard polling hard costs
/// one rendering per snapshot the JobMaster publishes, not one per request, and a new snapshot
/// is rendered on its first request.
pub struct RenderedStats<T, R = Arc<[u8]>> {
    rendered: RwLock<HashMap<JobId, Rendered<T, R>>>,
}

/// A snapshot (held weakly, to recognise it) and its rendering.
type Rendered<T, R> = (Weak<T>, R);

impl<T, R> Default for RenderedStats<T, R> {
    fn default() -> Self {
        Self {
            rendered: RwLock::new(HashMap::new()),
        }
    }
}

impl<T, R: Clone> RenderedStats<T, R> {
    /// The rendering of `snapshot`, made by `render` unless this very snapshot was rendered.
    pub fn get(&self, job: JobId, snapshot: &Arc<T>, render: impl FnOnce() -> R) -> R {
        if let Ok(r) = self.rendered.read() {
            if let Some((seen, rendering)) = r.get(&job) {
                if seen.upgrade().is_some_and(|s| Arc::ptr_eq(&s, snapshot)) {
                    return rendering.clone();
                }
            }
        }
        let rendering = render();
        if let Ok(mut r) = self.rendered.write() {
            // Snapshots nobody holds any more belong to replaced or forgotten jobs.
            r.retain(|_, (seen, _)| seen.strong_count() > 0);
            r.insert(job, (Arc::downgrade(snapshot), rendering.clone()));
        }
        rendering
    }
}

/// Finished jobs' serialized overview lines, one by one and as the joined block of the last
/// listing (reused as long as the same finished jobs are listed).
#[derive(Default)]
pub struct FinishedLines {
    lines: RwLock<HashMap<JobId, Arc<[u8]>>>,
    block: RwLock<(Vec<JobId>, Arc<[u8]>)>,
    /// The block of the last listing, by what it was made of: the archive's listing (held
    /// weakly, to recognise it) and each running job with whether it had ended.
    by_listing: RwLock<Option<ListingKey>>,
}

/// What a listing's block was made of, and the block.
type ListingKey = (Weak<[JobOverview]>, Vec<(JobId, bool)>, Arc<[u8]>);

impl FinishedLines {
    /// The block for a listing of the archive's `finished` lines and these `running` jobs
    /// (with whether each has ended): the last one when both are the same as last time (the
    /// very same archive listing, by pointer), else what `make` builds. The job list is
    /// polled hard and its finished part changes only when a job is archived or evicted, so
    /// this skips even listing the finished jobs' ids.
    pub fn for_listing(
        &self,
        finished: &Arc<[JobOverview]>,
        running: &[(JobId, bool)],
        make: impl FnOnce() -> Arc<[u8]>,
    ) -> Arc<[u8]> {
        if let Ok(last) = self.by_listing.read() {
            if let Some((seen, key, block)) = last.as_ref() {
                let same = seen.upgrade().is_some_and(|s| Arc::ptr_eq(&s, finished));
                if same && key.as_slice() == running {
                    return block.clone();
                }
            }
        }
        let block = make();
        if let Ok(mut last) = self.by_listing.write() {
            *last = Some((Arc::downgrade(finished), running.to_vec(), block.clone()));
        }
        block
    }

    /// The comma-joined lines of `jobs` (finished, in listing order); `line` serializes one job
    /// the first time it is seen.
    pub fn block(&self, jobs: &[JobId], mut line: impl FnMut(usize) -> Vec<u8>) -> Arc<[u8]> {
        if let Ok(b) = self.block.read() {
            if b.0 == jobs {
                return b.1.clone();
            }
        }
        let mut joined = Vec::new();
        for (i, id) in jobs.iter().enumerate() {
            if i > 0 {
                joined.push(b',');
            }
            joined.extend_from_slice(&self.get_or_make(*id, || line(i)));
        }
        let joined: Arc<[u8]> = joined.into();
        if let Ok(mut b) = self.block.write() {
            *b = (jobs.to_vec(), joined.clone());
        }
        self.retain_listed(jobs);
        joined
    }

    /// The cached line of a finished job, or the one `make` serializes (then cached).
    pub fn get_or_make(&self, job: JobId, make: impl FnOnce() -> Vec<u8>) -> Arc<[u8]> {
        if let Some(l) = self.lines.read().ok().and_then(|m| m.get(&job).cloned()) {
            return l;
        }
        let line: Arc<[u8]> = make().into();
        if let Ok(mut m) = self.lines.write() {
            m.insert(job, line.clone());
        }
        line
    }

    /// Forgets jobs no longer listed (evicted from the archive), once the cache holds twice as
    /// many as are listed.
    pub fn retain_listed(&self, listed: &[JobId]) {
        let too_big = self
            .lines
            .read()
            .map(|m| m.len() > 2 * listed.len() + 16)
            .unwrap_or(false);
        if too_big {
            if let Ok(mut m) = self.lines.write() {
                let keep: std::collections::HashSet<&JobId> = listed.iter().collect();
                m.retain(|k, _| keep.contains(k));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_rendered_once_and_a_new_one_at_once() {
        let cache: RenderedStats<i32> = RenderedStats::default();
        let first = Arc::new(1);
        let mut renders = 0;
        for _ in 0..3 {
            cache.get(JobId(1), &first, || {
                renders += 1;
                b"1".to_vec().into()
            });
        }
        assert_eq!(renders, 1);
        let second = Arc::new(2);
        let bytes = cache.get(JobId(1), &second, || b"2".to_vec().into());
        assert_eq!(
            &*bytes, b"2",
            "a new snapshot is never served the old rendering"
        );
    }

    #[test]
    fn lines_are_made_once_and_pruned() {
        let c = FinishedLines::default();
        let mut made = 0;
        for _ in 0..3 {
            c.get_or_make(JobId(1), || {
                made += 1;
                b"x".to_vec()
            });
        }
        assert_eq!(made, 1);
        for i in 2..40 {
            c.get_or_make(JobId(i), Vec::new);
        }
        c.retain_listed(&[JobId(1)]);
        assert_eq!(c.lines.read().unwrap().len(), 1);
    }

    #[test]
    fn a_listing_block_is_kept_while_the_archive_listing_and_running_jobs_are_the_same() {
        let c = FinishedLines::default();
        let archived: Arc<[JobOverview]> = Arc::new([]);
        let block = |text: &'static str| move || Arc::<[u8]>::from(text.as_bytes());
        let running = [(JobId(1), false)];
        assert_eq!(&*c.for_listing(&archived, &running, block("a")), b"a");
        assert_eq!(
            &*c.for_listing(&archived, &running, || unreachable!("kept")),
            b"a"
        );
        // A running job ended, or another listing of the archive: made again.
        assert_eq!(
            &*c.for_listing(&archived, &[(JobId(1), true)], block("b")),
            b"b"
        );
        let relisted: Arc<[JobOverview]> = Arc::new([]);
        assert_eq!(
            &*c.for_listing(&relisted, &[(JobId(1), true)], block("c")),
            b"c"
        );
    }

    #[test]
    fn the_block_is_rebuilt_only_when_the_listed_jobs_change() {
        let c = FinishedLines::default();
        let mut made = 0;
        let ids = [JobId(1), JobId(2)];
        let b = c.block(&ids, |i| {
            made += 1;
            format!("j{i}").into_bytes()
        });
        assert_eq!(&*b, b"j0,j1");
        let again = c.block(&ids, |_| unreachable!("cached"));
        assert_eq!(&*again, b"j0,j1");
        let more = c.block(&[JobId(1), JobId(2), JobId(3)], |i| {
            format!("j{i}").into_bytes()
        });
        assert_eq!(&*more, b"j0,j1,j2");
        assert_eq!(made, 2);
    }
}
