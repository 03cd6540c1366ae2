//! Serving files from one directory and nothing else. Every name from a request is reduced to
//! its last path component and must resolve inside the directory (Flink's CVE-2020-17519 was a
//! log handler that did not do this).

use std::path::{Path, PathBuf};

/// A directory files may be served from.
#[derive(Debug, Clone)]
pub struct ServedDir {
    root: PathBuf,
}

/// A file of a served directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFile {
    pub name: String,
    pub size: u64,
    /// Modification time, epoch ms.
    pub mtime: i64,
}

/// The last path component of `name`, or `None` when nothing usable is left.
pub fn last_component(name: &str) -> Option<&str> {
    let base = name.rsplit(['/', '\\']).next()?;
    (!base.is_empty() && base != "." && base != ".." && !base.contains('\0')).then_some(base)
}

impl ServedDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The regular files in the directory (not its subdirectories), by name.
    pub fn list(&self) -> Vec<ServedFile> {
        let mut out: Vec<ServedFile> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                if !meta.is_file() {
                    return None;
                }
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                Some(ServedFile {
                    name: e.file_name().to_string_lossy().into_owned(),
                    size: meta.len(),
                    mtime,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The path of file `name` if it exists inside the directory.
    pub fn resolve(&self, name: &str) -> Option<PathBuf> {
        let base = last_component(name)?;
        let candidate = self.root.join(base);
        let root = self.root.canonicalize().ok()?;
        let real = candidate.canonicalize().ok()?;
        (real.starts_with(&root) && real.is_file()).then_some(real)
    }

    /// A role's file by the name a client asked for: `log` and `stdout` name the role's main
    /// log and stdout files (empty until written), anything else a file of the directory.
    pub fn read_role_file(
        &self,
        name: &str,
        log_file: &str,
        stdout_file: &str,
        limit: u64,
    ) -> Option<Vec<u8>> {
        let file = match name {
            "log" => log_file,
            "stdout" => stdout_file,
            other => other,
        };
        if (name == "log" || name == "stdout") && self.resolve(file).is_none() {
            return Some(Vec::new());
        }
        self.read_tail(file, limit)
    }

    /// Reads file `name`, at most `limit` bytes from its end (logs can be large).
    pub fn read_tail(&self, name: &str, limit: u64) -> Option<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.resolve(name)?;
        let mut f = std::fs::File::open(path).ok()?;
        let len = f.metadata().ok()?.len();
        if len > limit {
            f.seek(SeekFrom::Start(len - limit)).ok()?;
        }
        let mut buf = Vec::with_capacity(len.min(limit) as usize);
        f.read_to_end(&mut buf).ok()?;
        Some(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reduced_to_their_last_component() {
        assert_eq!(last_component("../../etc/passwd"), Some("passwd"));
        assert_eq!(last_component("a\\..\\b.log"), Some("b.log"));
        assert_eq!(last_component(".."), None);
        assert_eq!(last_component("logs/"), None);
    }

    #[test]
    fn nothing_outside_the_directory_is_served() {
        let outer = tempfile_dir();
        let served = outer.join("logs");
        std::fs::create_dir_all(&served).unwrap();
        std::fs::write(served.join("weir.log"), "hello").unwrap();
        std::fs::write(outer.join("secret"), "no").unwrap();
        let d = ServedDir::new(&served);
        assert_eq!(d.read_tail("weir.log", 100).unwrap(), b"hello");
        assert_eq!(d.read_tail("weir.log", 2).unwrap(), b"lo");
        assert!(d.resolve("../secret").is_none());
        assert!(d.resolve("..%2fsecret").is_none());
        assert_eq!(d.list().len(), 1);
        let _ = std::fs::remove_dir_all(outer);
    }

    fn tempfile_dir() -> PathBuf {
        let p = std::env::temp_dir().join(format!("weir-logdir-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}
