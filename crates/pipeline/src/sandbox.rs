//! The job sandbox: which local paths a job file may make the cluster read or write.
//!
//! Flink's REST API lets anyone who reaches it read and write files through a job (two CVEs
//! came from that); a `LocalFile` source, a `LocalFile` sink, a savepoint target and a
//! checkpoint directory all name paths the cluster's own user then opens. A [`PathSandbox`]
//! limits them to configured roots, and is asked once, where the path is first known (at
//! submission for job options, at the trigger for a savepoint target), so nothing runs that
//! would be refused later.
//!
//! A path is judged after `.` and `..` are resolved and after the symlinks of its longest
//! existing ancestor are followed, so neither `../../etc` nor a symlink planted under a root
//! leads out. What it cannot see: a symlink created under a root *after* the check (a job's
//! own files are written by the cluster, so that needs another writer on the machine), and
//! anything a plugin reaches without a local path (databases, Kafka, object stores).

use std::path::{Component, Path, PathBuf};

/// Where jobs may read and write local files: under any of its roots, or anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSandbox {
    /// `None`: unrestricted (`weir.sandbox.allowed-paths: '*'`).
    roots: Option<Vec<PathBuf>>,
    /// Places under a root that stay the cluster's own (its job store, archive, uploads,
    /// logs): a job file may not name them even though they sit under the data directory.
    reserved: Vec<PathBuf>,
}

impl Default for PathSandbox {
    /// Unrestricted: what a library user or a unit test gets unless it asks for roots.
    fn default() -> Self {
        Self::unrestricted()
    }
}

impl PathSandbox {
    /// No limit: every path is allowed.
    pub fn unrestricted() -> Self {
        Self {
            roots: None,
            reserved: Vec::new(),
        }
    }

    /// Only paths under `roots` (each made absolute against the working directory, with its
    /// symlinks resolved, so a root given through a symlink still matches).
    pub fn within(roots: impl IntoIterator<Item = PathBuf>) -> Self {
        let mut resolved: Vec<PathBuf> = roots.into_iter().map(|r| resolve(&r)).collect();
        resolved.sort();
        resolved.dedup();
        // A root inside another adds nothing but noise to the refusal that lists them. Sorted,
        // a root's descendants follow it.
        let mut outer: Vec<PathBuf> = Vec::with_capacity(resolved.len());
        for r in resolved {
            if !outer.last().is_some_and(|o| r.starts_with(o)) {
                outer.push(r);
            }
        }
        let resolved = outer;
        Self {
            roots: Some(resolved),
            reserved: Vec::new(),
        }
    }

    /// The same sandbox with `reserved` (each resolved like a root) kept out of it.
    pub fn excluding(mut self, reserved: impl IntoIterator<Item = PathBuf>) -> Self {
        if self.roots.is_some() {
            self.reserved
                .extend(reserved.into_iter().map(|r| resolve(&r)));
        }
        self
    }

    /// The roots, `None` when unrestricted.
    pub fn roots(&self) -> Option<&[PathBuf]> {
        self.roots.as_deref()
    }

    /// The absolute path `path` stands for (`path` itself when unrestricted), if a job may use
    /// it; otherwise a message naming `what` (e.g. "LocalFile's path"), the path, the roots and
    /// the option that adds one.
    pub fn check(&self, path: &Path, what: &str) -> Result<PathBuf, String> {
        let Some(roots) = &self.roots else {
            return Ok(path.to_path_buf());
        };
        let resolved = resolve(path);
        if let Some(own) = self.reserved.iter().find(|r| resolved.starts_with(r)) {
            return Err(format!(
                "{what} '{}' is inside {}, which the cluster keeps for itself: name another place.",
                path.display(),
                own.display()
            ));
        }
        if roots.iter().any(|root| resolved.starts_with(root)) {
            return Ok(resolved);
        }
        let listed: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        Err(format!(
            "{what} '{}' is outside the job sandbox: jobs may read and write only under {}. \
             An operator can allow more roots in weir.sandbox.allowed-paths (or '*' for any path).",
            path.display(),
            if listed.is_empty() {
                "no path at all".to_string()
            } else {
                listed.join(", ")
            }
        ))
    }
}

/// Refuses a path fragment that a job adds below a checked directory (a file name or a
/// partition directory expression) when it could climb out of it: an absolute fragment or a
/// `..` component.
pub fn check_relative_fragment(fragment: &str, what: &str) -> Result<(), String> {
    let path = Path::new(fragment);
    let climbs = path.components().any(|c| {
        matches!(
            c,
            Component::ParentDir | Component::RootDir | Component::Prefix(_)
        )
    });
    if climbs {
        return Err(format!(
            "{what} '{fragment}' may not be absolute or contain '..': it names a place below the \
             sink's path."
        ));
    }
    Ok(())
}

/// `path` made absolute against the working directory, `.` and `..` resolved lexically, then
/// the symlinks of its longest existing ancestor followed.
fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let lexical = normalize(&absolute);
    follow_existing_ancestor(&lexical)
}

/// `.` dropped and `..` applied to what precedes it, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                // `/..` is `/`.
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The longest existing ancestor of `path` canonicalized (symlinks followed), with the rest of
/// `path` appended: a symlink anywhere on the existing part is seen through.
fn follow_existing_ancestor(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            // A `..` cannot remain: `normalize` removed them all before.
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    #[test]
    fn roots_inside_other_roots_are_not_listed_twice() {
        let tmp = temp_root();
        let data = tmp.path().join("data");
        let s = PathSandbox::within([
            data.join("checkpoints"),
            data.clone(),
            data.join("savepoints"),
            tmp.path().join("database"),
        ]);
        let roots = s.roots().unwrap();
        assert_eq!(roots.len(), 2, "{roots:?}");
        assert!(s.check(&data.join("checkpoints/j/chk-1"), "p").is_ok());
        // "database" shares a prefix with "data" as a string, not as a path.
        assert!(s.check(&tmp.path().join("database/x"), "p").is_ok());
        assert!(s.check(&tmp.path().join("elsewhere"), "p").is_err());
    }

    #[test]
    fn unrestricted_allows_any_path() {
        let s = PathSandbox::unrestricted();
        assert!(s.check(Path::new("/etc/passwd"), "path").is_ok());
        assert!(s.roots().is_none());
    }

    #[test]
    fn paths_under_a_root_are_allowed_and_made_absolute() {
        let root = temp_root();
        let s = PathSandbox::within([root.path().to_path_buf()]);
        let inside = root.path().join("out/part-0.csv");
        let real = root.path().canonicalize().unwrap();
        assert_eq!(
            s.check(&inside, "path").unwrap(),
            real.join("out/part-0.csv")
        );
        assert_eq!(s.check(root.path(), "path").unwrap(), real);
        // `.` and `..` that stay inside are fine.
        let wandering = root.path().join("a/./b/../c");
        assert_eq!(s.check(&wandering, "path").unwrap(), real.join("a/c"));
    }

    #[test]
    fn climbing_out_or_a_sibling_with_the_same_prefix_is_refused() {
        let root = temp_root();
        let files = root.path().join("files");
        std::fs::create_dir_all(&files).unwrap();
        let s = PathSandbox::within([files.clone()]);
        let e = s
            .check(&files.join("../../../etc/passwd"), "LocalFile's path")
            .unwrap_err();
        assert!(e.contains("LocalFile's path"), "{e}");
        assert!(e.contains("outside the job sandbox"), "{e}");
        assert!(e.contains("weir.sandbox.allowed-paths"), "{e}");
        // `files2` starts with the root's text but is not under it.
        assert!(s.check(&root.path().join("files2/x"), "path").is_err());
        assert!(s.check(Path::new("/"), "path").is_err());
    }

    #[test]
    fn a_symlink_under_a_root_does_not_lead_out() {
        let root = temp_root();
        let files = root.path().join("files");
        let outside = root.path().join("outside");
        std::fs::create_dir_all(&files).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, files.join("link")).unwrap();
        let s = PathSandbox::within([files.clone()]);
        assert!(s.check(&files.join("link/secret"), "path").is_err());
        assert!(s.check(&files.join("link"), "path").is_err());
        // A root reached through a symlink still matches its real place.
        let alias = root.path().join("alias");
        std::os::unix::fs::symlink(&files, &alias).unwrap();
        let through_alias = PathSandbox::within([alias]);
        assert!(through_alias.check(&files.join("x"), "path").is_ok());
    }

    #[test]
    fn relative_paths_are_judged_from_the_working_directory() {
        let cwd = std::env::current_dir().unwrap();
        let s = PathSandbox::within([cwd.clone()]);
        assert!(s.check(Path::new("some/file.csv"), "path").is_ok());
        assert!(s.check(Path::new("../elsewhere"), "path").is_err() || cwd == Path::new("/"));
    }

    #[test]
    fn the_clusters_own_places_under_a_root_are_refused() {
        let root = temp_root();
        let s = PathSandbox::within([root.path().to_path_buf()]).excluding([
            root.path().join("job-archive.redb"),
            root.path().join("log"),
        ]);
        assert!(s.check(&root.path().join("out/x.csv"), "path").is_ok());
        let e = s
            .check(&root.path().join("log/../log/jobmanager.log"), "path")
            .unwrap_err();
        assert!(e.contains("keeps for itself"), "{e}");
        assert!(s
            .check(&root.path().join("job-archive.redb"), "path")
            .is_err());
        // An unrestricted sandbox keeps nothing back.
        let open = PathSandbox::unrestricted().excluding([root.path().join("log")]);
        assert!(open.check(&root.path().join("log/x"), "path").is_ok());
    }

    #[test]
    fn no_roots_allow_nothing() {
        let s = PathSandbox::within(Vec::new());
        let e = s.check(Path::new("/tmp/x"), "path").unwrap_err();
        assert!(e.contains("no path at all"), "{e}");
    }

    #[test]
    fn fragments_below_a_checked_path_may_not_climb() {
        assert!(check_relative_fragment("part_${transactionId}_0", "file_name_expression").is_ok());
        assert!(check_relative_fragment("k=v/day=1", "partition_dir_expression").is_ok());
        let e = check_relative_fragment("../../etc/cron.d/x", "file_name_expression").unwrap_err();
        assert!(e.contains("file_name_expression"), "{e}");
        assert!(check_relative_fragment("/etc/x", "file_name_expression").is_err());
        assert!(check_relative_fragment("a/../../b", "partition_dir_expression").is_err());
    }
}
