//! What is wrong with a job file: every problem found, each with where it is and what to do.

use std::fmt;

/// Where in the job file a problem is: block, index, plugin, option and line when known.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Location {
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
}

impl Location {
    /// The file as a whole, at a line.
    pub fn file(line: Option<usize>) -> Self {
        Self {
            line,
            ..Self::default()
        }
    }

    /// The `env` block, at an option.
    pub fn env(option: &str) -> Self {
        Self {
            block: "env".into(),
            option: Some(option.into()),
            ..Self::default()
        }
    }

    /// The same location narrowed to one option.
    pub fn with_option(&self, option: &str) -> Self {
        Self {
            option: Some(option.into()),
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.block.is_empty() {
            return match self.line {
                Some(l) => write!(f, "line {l}"),
                None => f.write_str("the job file"),
            };
        }
        f.write_str(&self.block)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        let mut extra = Vec::new();
        if let Some(p) = &self.plugin {
            extra.push(p.clone());
        }
        if let Some(l) = self.line {
            extra.push(format!("line {l}"));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join(", "))?;
        }
        if let Some(o) = &self.option {
            write!(f, ", option '{o}'")?;
        }
        Ok(())
    }
}

/// One thing wrong with a job file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    pub location: Location,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Problem {
    /// A problem without a hint.
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        Self {
            location,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what to do.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.message, self.location)?;
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

/// Every problem found in a job file. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the job file has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, p) in self.0.iter().enumerate() {
            writeln!(f, "  {}. {p}", i + 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The closest candidate to `word` when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                c,
                strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()),
            )
        })
        .filter(|(c, d)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(_, d)| *d)
        .map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_like_a_sentence() {
        let loc = Location {
            block: "source".into(),
            index: Some(0),
            plugin: Some("FakeSorce".into()),
            option: None,
            line: Some(3),
        };
        let p = Problem::new(loc, "unknown plugin 'FakeSorce'").hint("did you mean 'FakeSource'?");
        assert_eq!(
            p.to_string(),
            "unknown plugin 'FakeSorce' in source[0] (FakeSorce, line 3); did you mean 'FakeSource'?"
        );
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let names = ["FakeSource", "LocalFile"];
        assert_eq!(did_you_mean("FakeSorce", names), Some("FakeSource"));
        assert_eq!(did_you_mean("fakesource", names), Some("FakeSource"));
        assert_eq!(did_you_mean("Kafka", names), None);
    }
}
