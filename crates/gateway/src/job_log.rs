//! A job's own log file, `job-<id>.log` in the log directory with the id in SeaTunnel's decimal
//! form, as SeaTunnel's routing appender writes one per job: what happened to this job (its
//! status changes, restarts, checkpoints, failures with their causes) without the rest of the
//! cluster's lines. SeaTunnel's `/logs/:jobId` lists it; Flink's `/jobmanager/logs` shows it
//! beside the main log. It lives here because both roles write it: the JobMaster its job's
//! lifecycle, a TaskManager what the job's plugins log (the Console sink's `output rowType:`).

use std::io::Write;
use std::path::{Path, PathBuf};
use weir_core::JobId;

/// Appends lines to one job's log file; a log that cannot be written is skipped (the main log
/// has the same lines), never a reason to fail the job.
#[derive(Debug, Clone)]
pub struct JobLog {
    path: Option<PathBuf>,
}

impl JobLog {
    /// The file name of a job's log.
    pub fn file_name(job: JobId) -> String {
        format!("job-{}.log", job.seatunnel_id())
    }

    /// The log of `job` in `dir`; writes nothing when there is no log directory.
    pub fn new(dir: Option<&Path>, job: JobId) -> Self {
        Self {
            path: dir.map(|d| d.join(Self::file_name(job))),
        }
    }

    /// Logs an informational line (also to the main log).
    pub fn info(&self, message: &str) {
        tracing::info!("{message}");
        self.append("INFO ", message);
    }

    /// Logs a warning (also to the main log).
    pub fn warn(&self, message: &str) {
        tracing::warn!("{message}");
        self.append("WARN ", message);
    }

    fn append(&self, level: &str, message: &str) {
        let Some(path) = &self.path else { return };
        let time = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f");
        let line = format!("{time} {level} {message}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::debug!("writing {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_to_the_jobs_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let job = JobId::from_seatunnel(42).unwrap();
        let log = JobLog::new(Some(dir.path()), job);
        log.info("first");
        log.warn("second");
        let text = std::fs::read_to_string(dir.path().join("job-42.log")).unwrap();
        assert!(text.contains("INFO  first\n"), "{text}");
        assert!(text.contains("WARN  second\n"), "{text}");
        JobLog::new(None, job).info("goes nowhere");
    }
}
