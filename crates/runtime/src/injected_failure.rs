//! Failures a test asks a sink to inject, so exactly-once can be shown through a crash at a
//! chosen point: `test.fail_once_after_rows = N` fails a subtask's first attempt once it has
//! taken N rows, on a write (`test.fail_at = write`, the default: once a checkpoint has
//! completed, so with rows of the next one in flight) or when a completed checkpoint is to be committed
//! (`test.fail_at = commit`: between pre-commit and commit). Like FakeSource's option of the
//! same name, it exists for tests; a restarted attempt never fails again.

use crate::operator::SubtaskContext;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options};

/// The options, for a sink's spec.
pub fn options() -> Vec<OptionSpec> {
    vec![
        OptionSpec::optional("test.fail_once_after_rows", OptionType::Int),
        OptionSpec::optional("test.fail_at", OptionType::String),
    ]
}

/// What a job asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InjectedFailure {
    after_rows: u64,
    at_commit: bool,
}

impl InjectedFailure {
    pub fn from_options(o: &Options) -> WeirResult<Option<InjectedFailure>> {
        let Some(n) = o.i64("test.fail_once_after_rows").map_err(WeirError::new)? else {
            return Ok(None);
        };
        let at_commit = match o.str("test.fail_at").map_err(WeirError::new)?.as_deref() {
            None | Some("write") => false,
            Some("commit") => true,
            Some(other) => {
                return Err(WeirError::new(format!(
                    "test.fail_at is write or commit, not '{other}'"
                )))
            }
        };
        Ok(Some(InjectedFailure {
            after_rows: n.max(0) as u64,
            at_commit,
        }))
    }
}

/// One writer's side: counts rows and fails once where it was asked to.
#[derive(Debug)]
pub struct FailOnce {
    failure: Option<InjectedFailure>,
    taken: u64,
    /// Whether a checkpoint has completed: a write failure waits for one, so a restore
    /// always has a checkpoint to go back to.
    committed: bool,
    plugin: &'static str,
}

impl FailOnce {
    /// For `subtask`: only a first attempt fails.
    pub fn new(
        failure: Option<InjectedFailure>,
        subtask: &SubtaskContext,
        plugin: &'static str,
    ) -> FailOnce {
        FailOnce {
            failure: failure.filter(|_| subtask.attempt == 0),
            taken: 0,
            committed: false,
            plugin,
        }
    }

    /// Before `rows` more rows are written.
    pub fn on_write(&mut self, rows: u64) -> WeirResult<()> {
        if let Some(f) = self.failure.filter(|f| !f.at_commit) {
            if self.committed && self.taken + rows > f.after_rows {
                self.failure = None;
                return Err(WeirError::new(format!(
                    "test.fail_once_after_rows: failing the {} sink on purpose",
                    self.plugin
                )));
            }
        }
        self.taken += rows;
        Ok(())
    }

    /// Before a completed checkpoint is committed.
    pub fn on_commit(&mut self) -> WeirResult<()> {
        if let Some(f) = self.failure.filter(|f| f.at_commit) {
            if self.taken >= f.after_rows {
                self.failure = None;
                return Err(WeirError::new(format!(
                    "test.fail_once_after_rows: failing the {} sink between pre-commit and commit on purpose",
                    self.plugin
                )));
            }
        }
        self.committed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(at: &str, attempt: u32) -> FailOnce {
        let serde_json::Value::Object(m) =
            serde_json::json!({"test.fail_once_after_rows": 10, "test.fail_at": at})
        else {
            unreachable!()
        };
        let f = InjectedFailure::from_options(&Options::new(m)).unwrap();
        let subtask = SubtaskContext {
            index: 0,
            parallelism: 1,
            attempt,
        };
        FailOnce::new(f, &subtask, "Test")
    }

    #[test]
    fn a_first_attempt_fails_once_where_asked_and_a_restart_never() {
        let mut w = failing("write", 0);
        assert!(w.on_write(10).is_ok());
        assert!(
            w.on_commit().is_ok(),
            "a write failure never fires on commit"
        );
        assert!(w.on_write(1).is_err());
        assert!(w.on_write(100).is_ok(), "once");
        let mut c = failing("commit", 0);
        assert!(c.on_write(100).is_ok());
        assert!(c.on_commit().is_err());
        assert!(c.on_commit().is_ok());
        let mut restarted = failing("commit", 1);
        assert!(restarted.on_write(100).is_ok());
        assert!(restarted.on_commit().is_ok());
    }
}
