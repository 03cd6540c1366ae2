//! A job as submitted: the file text plus the knobs a client may set.

use crate::error::GatewayError;
use crate::job_check::JobFileProblems;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use weir_core::JobId;
use weir_pipeline::{Format, JobGraph};

/// The configuration key that names the checkpoint or savepoint a job starts from (Flink's
/// `execution.state-recovery.path`, what `savepointPath`, `weir run -s` and SeaTunnel's
/// `isStartWithSavePoint` set); a job's snapshot config carries it when the job restored one.
pub const RECOVERY_PATH_KEY: &str = "execution.state-recovery.path";

/// Everything needed to turn a pipeline file into a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSubmission {
    /// The job file's text.
    pub text: String,
    /// HOCON or JSON.
    #[serde(with = "format_serde")]
    pub format: Format,
    /// Overrides `env.parallelism`.
    pub parallelism: Option<usize>,
    /// Values for `${NAME}` (Flink's `programArgsList` as `NAME=VALUE`).
    pub variables: HashMap<String, String>,
    /// A caller-chosen job id.
    pub job_id: Option<JobId>,
    /// Extra configuration for this job (Flink's `flinkConfiguration`).
    pub config: BTreeMap<String, String>,
    /// Where the file came from (an uploaded artifact's id), for display.
    pub origin: Option<String>,
    /// Run `job_id` again from its latest savepoint or retained checkpoint (SeaTunnel's
    /// `isStartWithSavePoint`): an ended job of that id is replaced by the new run; an id
    /// never seen starts with empty state, as nothing of it exists to restore.
    #[serde(default)]
    pub resume_previous: bool,
}

impl JobSubmission {
    /// A submission of `text` with no options.
    pub fn new(text: impl Into<String>, format: Format) -> Self {
        Self {
            text: text.into(),
            format,
            parallelism: None,
            variables: HashMap::new(),
            job_id: None,
            config: BTreeMap::new(),
            origin: None,
            resume_previous: false,
        }
    }
}

mod format_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use weir_pipeline::Format;

    pub fn serialize<S: Serializer>(f: &Format, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(f.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Format, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Format::parse(&s).unwrap_or(Format::Hocon))
    }
}

/// Turns a submission into a validated `JobGraph`, reporting every problem of the file. It
/// lives behind a trait because checking a job fully (schemas, SQL plans) needs the runtime's
/// plugins, which the JobManager does not link.
pub trait JobCompiler: Send + Sync {
    /// The graph the submission compiles to, or every problem found in it, typed.
    fn check(&self, submission: &JobSubmission) -> Result<JobGraph, JobFileProblems>;

    /// [`JobCompiler::check`] for a submission: the problems as one 400 message.
    fn compile(&self, submission: &JobSubmission) -> Result<JobGraph, GatewayError> {
        self.check(submission)
            .map_err(|p| GatewayError::BadRequest(p.message))
    }
}
