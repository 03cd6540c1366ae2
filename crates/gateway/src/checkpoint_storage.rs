//! Where checkpoints and savepoints live, and the `_metadata` file that makes one restorable.
//!
//! Both roles use it: TaskExecutors write each subtask's state file, the JobMaster writes
//! `_metadata` last (so a directory without it is an incomplete checkpoint, never restored) and
//! reads it back to restore. Files go through `object_store`, so the same code serves a local
//! directory today and an object store later; locations are Flink-style `file:` URIs.

use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name of the file that completes a checkpoint.
pub const METADATA_FILE: &str = "_metadata";

/// A checkpoint location: a directory, written through an object store.
#[derive(Clone)]
pub struct CheckpointLocation {
    store: Arc<LocalFileSystem>,
    dir: PathBuf,
}

impl std::fmt::Debug for CheckpointLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointLocation({})", self.uri())
    }
}

/// Why a storage operation failed, in words for the user.
pub type StorageError = String;

impl CheckpointLocation {
    /// A location from a `file:` URI (`file:///a/b`, `file:/a/b`) or a path; relative paths are
    /// taken from the working directory.
    pub fn parse(location: &str) -> Result<CheckpointLocation, StorageError> {
        let raw = location.trim();
        let path = if let Some(rest) = raw.strip_prefix("file://") {
            rest.to_string()
        } else if let Some(rest) = raw.strip_prefix("file:") {
            rest.to_string()
        } else if raw.contains("://") {
            return Err(format!(
                "'{raw}' uses a file system weir does not support; use a local path or a file: URI"
            ));
        } else {
            raw.to_string()
        };
        if path.is_empty() {
            return Err("the checkpoint location is empty".into());
        }
        let mut dir = PathBuf::from(&path);
        if dir.is_relative() {
            dir = std::env::current_dir()
                .map_err(|e| format!("resolving '{path}': {e}"))?
                .join(dir);
        }
        Ok(CheckpointLocation {
            store: Arc::new(LocalFileSystem::new()),
            dir: normalize(&dir),
        })
    }

    /// A subdirectory.
    pub fn child(&self, name: &str) -> CheckpointLocation {
        CheckpointLocation {
            store: self.store.clone(),
            dir: self.dir.join(name),
        }
    }

    /// The Flink-style URI (`file:/abs/path`).
    pub fn uri(&self) -> String {
        format!("file:{}", self.dir.display())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn key(&self, name: &str) -> Result<StorePath, StorageError> {
        StorePath::from_absolute_path(self.dir.join(name))
            .map_err(|e| format!("bad path '{}/{name}': {e}", self.dir.display()))
    }

    /// Writes one file (the directory is created as needed).
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let key = self.key(name)?;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("creating '{}': {e}", self.dir.display()))?;
        self.store
            .put(&key, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| format!("writing '{}': {e}", key))
    }

    /// Reads one file.
    pub async fn get(&self, name: &str) -> Result<Vec<u8>, StorageError> {
        let key = self.key(name)?;
        let result = self.store.get(&key).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                format!("'{}' does not exist", self.dir.join(name).display())
            }
            other => format!("reading '{}': {other}", self.dir.join(name).display()),
        })?;
        result
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| format!("reading '{}': {e}", self.dir.join(name).display()))
    }

    /// Removes the whole directory.
    pub fn remove(&self) -> Result<(), StorageError> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("removing '{}': {e}", self.dir.display())),
        }
    }

    /// Reads `_metadata`: the location must hold a complete checkpoint or savepoint.
    pub async fn read_metadata(&self) -> Result<CheckpointMetadata, StorageError> {
        let bytes = self.get(METADATA_FILE).await.map_err(|e| {
            format!(
                "{} is not a completed checkpoint or savepoint: {e}",
                self.uri()
            )
        })?;
        let meta: CheckpointMetadata = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the metadata of {} is unreadable: {e}", self.uri()))?;
        if meta.version != CheckpointMetadata::VERSION {
            return Err(format!(
                "the metadata of {} has version {}; this weir reads version {}",
                self.uri(),
                meta.version,
                CheckpointMetadata::VERSION
            ));
        }
        Ok(meta)
    }
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// What `_metadata` records: per vertex of the job, the state file of every subtask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    pub version: u32,
    pub job_id: String,
    pub checkpoint_id: u64,
    pub timestamp: i64,
    pub is_savepoint: bool,
    pub vertices: Vec<VertexStateFiles>,
}

impl CheckpointMetadata {
    pub const VERSION: u32 = 1;
}

/// One vertex's state files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VertexStateFiles {
    /// The vertex name (`Source: FakeSource -> Sql`), matched on restore.
    pub name: String,
    pub max_parallelism: usize,
    /// One per subtask of the parallelism it ran with.
    pub subtasks: Vec<StateFile>,
}

/// One subtask's state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub file: String,
    pub size: u64,
}

/// A checkpoint to start a deployment from.
#[derive(Debug, Clone)]
pub struct RestoreFrom {
    pub location: CheckpointLocation,
    pub metadata: Arc<CheckpointMetadata>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_and_metadata_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let loc = CheckpointLocation::parse(&format!("file://{}", dir.path().display())).unwrap();
        let chk = loc.child("chk-1");
        chk.put("0-0", b"state".to_vec()).await.unwrap();
        assert_eq!(chk.get("0-0").await.unwrap(), b"state");
        let err = chk.read_metadata().await.unwrap_err();
        assert!(err.contains("not a completed checkpoint"), "{err}");
        let meta = CheckpointMetadata {
            version: 1,
            job_id: "j".into(),
            checkpoint_id: 1,
            timestamp: 5,
            is_savepoint: false,
            vertices: vec![],
        };
        chk.put(METADATA_FILE, serde_json::to_vec(&meta).unwrap())
            .await
            .unwrap();
        assert_eq!(chk.read_metadata().await.unwrap(), meta);
        assert!(chk.uri().starts_with("file:/"));
        chk.remove().unwrap();
        assert!(!chk.dir().exists());
        assert!(CheckpointLocation::parse("s3://bucket/x").is_err());
    }
}
