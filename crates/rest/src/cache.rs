//! Serialized JSON of things that can no longer change. A finished job's overview line is fixed
//! forever, so `/jobs/overview` writes it once and copies the bytes afterwards; running jobs are
//! always serialized fresh. Nothing here can serve a stale number.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use weir_core::JobId;

/// Finished jobs' serialized overview lines.
#[derive(Default)]
pub struct FinishedLines {
    lines: RwLock<HashMap<JobId, Arc<[u8]>>>,
}

impl FinishedLines {
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
}
