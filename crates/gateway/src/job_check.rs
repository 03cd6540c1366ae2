//! What checking a job file found, typed, so a client can mark each problem at its line and
//! option (weir's dashboard does) instead of parsing an error message.

use crate::snapshot::JobSnapshot;

/// One thing wrong with a job file, with where it is and what to do. The gateway's own copy of
/// the pipeline's `Problem`, so the REST layer reads it without the pipeline crate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobFileProblem {
    /// `env`, `source`, `transform`, `sink`, or empty for the file as a whole.
    pub block: String,
    /// Position of the plugin inside its block.
    pub index: Option<usize>,
    /// The plugin name as typed.
    pub plugin: Option<String>,
    /// The option the problem is about.
    pub option: Option<String>,
    /// 1-based line in the file, when the format gives one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl From<&weir_pipeline::problems::Problem> for JobFileProblem {
    fn from(p: &weir_pipeline::problems::Problem) -> Self {
        let l = &p.location;
        Self {
            block: l.block.clone(),
            index: l.index,
            plugin: l.plugin.clone(),
            option: l.option.clone(),
            line: l.line,
            message: p.message.clone(),
            hint: p.hint.clone(),
        }
    }
}

/// Every problem found in a job file, and the same as the one message a failed submission
/// answers (so both say exactly the same thing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFileProblems {
    pub problems: Vec<JobFileProblem>,
    pub message: String,
}

impl From<&weir_pipeline::problems::ConfigErrors> for JobFileProblems {
    fn from(e: &weir_pipeline::problems::ConfigErrors) -> Self {
        Self {
            problems: e.0.iter().map(JobFileProblem::from).collect(),
            message: e.to_string(),
        }
    }
}

impl JobFileProblems {
    /// One problem outside the file's text (a knob of the submission).
    pub fn one(problem: JobFileProblem) -> Self {
        let message = match &problem.hint {
            Some(h) => format!("{}; {h}", problem.message),
            None => problem.message.clone(),
        };
        Self {
            problems: vec![problem],
            message,
        }
    }
}

/// The answer to checking a submission: the job it would run, or why it cannot.
#[derive(Debug, Clone)]
pub enum JobCheck {
    Valid(Box<JobSnapshot>),
    Invalid(JobFileProblems),
}
