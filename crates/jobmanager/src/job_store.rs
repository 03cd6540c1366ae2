//! What a JobManager keeps so that a restart (or a `kill -9`) does not lose running jobs: the
//! submission of every job that has not ended. Where each job resumes from is not stored here:
//! it is the newest completed checkpoint in the job's own checkpoint directory, found when the
//! job is recovered (see [`latest_checkpoint`]), so a checkpoint never waits on this store.
//!
//! The store is a trait so that a shared one with leader election (etcd, as Flink uses
//! ZooKeeper or Kubernetes) can take the place of the embedded [`FileJobStore`].

use std::path::{Path, PathBuf};
use weir_core::JobId;
use weir_gateway::checkpoint_storage::METADATA_FILE;
use weir_gateway::{CheckpointLocation, JobSubmission};

/// The submitted jobs that have not ended yet.
pub trait JobStore: Send + Sync {
    /// Records a job that was accepted (its id is set in `submission`).
    fn put(&self, job: JobId, submission: &JobSubmission) -> Result<(), String>;

    /// Forgets a job that ended for good.
    fn remove(&self, job: JobId);

    /// Every recorded job, to recover after a restart. Entries that cannot be read are
    /// reported (and left alone) rather than dropped silently.
    fn jobs(&self) -> Vec<(JobId, Result<JobSubmission, String>)>;
}

/// One JSON file per job under a directory (`<data-dir>/jobs`), written whole and renamed
/// into place, so a crash leaves either the old file or the new one.
pub struct FileJobStore {
    dir: PathBuf,
}

impl FileJobStore {
    pub fn open(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the job store {}: {e}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn file(&self, job: JobId) -> PathBuf {
        self.dir.join(format!("{job}.json"))
    }
}

impl JobStore for FileJobStore {
    fn put(&self, job: JobId, submission: &JobSubmission) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(submission)
            .map_err(|e| format!("encoding job {job} for the job store: {e}"))?;
        let tmp = self.dir.join(format!(".{job}.json.tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, self.file(job)))
            .map_err(|e| {
                format!(
                    "writing job {job} to the job store {}: {e}",
                    self.dir.display()
                )
            })
    }

    fn remove(&self, job: JobId) {
        let file = self.file(job);
        if let Err(e) = std::fs::remove_file(&file) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("removing {} from the job store: {e}", file.display());
            }
        }
    }

    fn jobs(&self) -> Vec<(JobId, Result<JobSubmission, String>)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(id) = name.strip_suffix(".json").and_then(|s| s.parse().ok()) else {
                continue;
            };
            let read = std::fs::read(entry.path())
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
                .map_err(|e| format!("{}: {e}", entry.path().display()));
            out.push((id, read));
        }
        out.sort_by_key(|(id, _)| *id);
        out
    }
}

/// The newest completed checkpoint of `job` under the checkpoint directory `dir`
/// (`<dir>/<job>/chk-<n>` with its `_metadata` written), for a job on this machine's file
/// system. `None` when it has none (it starts from its initial restore point or from scratch).
pub fn latest_checkpoint(dir: &CheckpointLocation, job: JobId) -> Option<CheckpointLocation> {
    let job_dir = dir.child(&job.to_string());
    let local = job_dir.local_dir()?.to_path_buf();
    let newest = std::fs::read_dir(&local)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let n: u64 = name.strip_prefix("chk-")?.parse().ok()?;
            e.path().join(METADATA_FILE).is_file().then_some(n)
        })
        .max()?;
    Some(job_dir.child(&format!("chk-{newest}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_pipeline::Format;

    #[test]
    fn jobs_survive_in_the_store_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileJobStore::open(&dir.path().join("jobs")).unwrap();
        let mut s = JobSubmission::new("source { FakeSource {} }", Format::Hocon);
        s.job_id = Some(JobId(9));
        store.put(JobId(9), &s).unwrap();
        std::fs::write(
            dir.path().join("jobs").join(format!("{}.json", JobId(8))),
            "{",
        )
        .unwrap();
        let again = FileJobStore::open(&dir.path().join("jobs")).unwrap();
        let jobs = again.jobs();
        assert_eq!(jobs.len(), 2);
        assert!(jobs[0].1.as_ref().is_err_and(|e| e.contains(".json")));
        assert_eq!(jobs[1].1.as_ref().unwrap().text, s.text);
        again.remove(JobId(9));
        again.remove(JobId(9));
        assert_eq!(again.jobs().len(), 1);
    }

    #[test]
    fn the_latest_checkpoint_is_the_newest_with_its_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let base = CheckpointLocation::local(dir.path());
        let job = JobId(5);
        assert_eq!(latest_checkpoint(&base, job), None);
        for (n, complete) in [(3, true), (12, true), (13, false)] {
            let d = dir.path().join(job.to_string()).join(format!("chk-{n}"));
            std::fs::create_dir_all(&d).unwrap();
            if complete {
                std::fs::write(d.join(METADATA_FILE), "{}").unwrap();
            }
        }
        assert_eq!(
            latest_checkpoint(&base, job),
            Some(base.child(&job.to_string()).child("chk-12"))
        );
    }
}
