//! The error type shared by the engine: a message plus the chain of causes, so a failed job can
//! report both what went wrong and its root cause.

use std::fmt;

/// An engine error with its cause chain kept as text, cheap to clone into job snapshots.
#[derive(Clone, PartialEq, Eq)]
pub struct WeirError {
    /// What failed, in words a user can act on.
    pub message: String,
    /// Where it failed (e.g. `Sink: Console (2/4)`), when known.
    pub location: Option<String>,
    /// Causes from the outermost to the root cause.
    pub causes: Vec<String>,
    /// What the user can do about it, when there is something to say.
    pub hint: Option<String>,
}

/// Result alias for engine code.
pub type WeirResult<T> = Result<T, WeirError>;

impl WeirError {
    /// An error with a message and no cause.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: None,
            causes: Vec::new(),
            hint: None,
        }
    }

    /// Adds advice on what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Wraps `self` as the cause of a new error with `message`.
    pub fn context(self, message: impl Into<String>) -> Self {
        let mut causes = vec![self.message];
        causes.extend(self.causes);
        Self {
            message: message.into(),
            location: self.location,
            causes,
            hint: self.hint,
        }
    }

    /// Records where the error happened, unless a deeper frame already did.
    pub fn at(mut self, location: impl Into<String>) -> Self {
        if self.location.is_none() {
            self.location = Some(location.into());
        }
        self
    }

    /// The innermost cause, or the message itself when there is none.
    pub fn root_cause(&self) -> &str {
        self.causes.last().unwrap_or(&self.message)
    }
}

impl fmt::Display for WeirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        for cause in &self.causes {
            write!(f, "\n  caused by: {cause}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for WeirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for WeirError {}

impl From<std::io::Error> for WeirError {
    fn from(e: std::io::Error) -> Self {
        WeirError::new(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_root_cause() {
        let e = WeirError::new("disk full")
            .context("writing part file")
            .context("sink failed")
            .at("Sink: LocalFile (1/2)");
        assert_eq!(e.root_cause(), "disk full");
        assert_eq!(e.message, "sink failed");
        let text = e.to_string();
        assert!(text.starts_with("Sink: LocalFile (1/2): sink failed"));
        assert!(text.contains("caused by: disk full"));
    }
}
