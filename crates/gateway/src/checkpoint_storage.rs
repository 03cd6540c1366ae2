//! Where checkpoints and savepoints live, and the `_metadata` file that makes one restorable.
//!
//! Both roles use it: TaskExecutors write each subtask's state file, the JobMaster writes
//! `_metadata` last (so a directory without it is an incomplete checkpoint, never restored) and
//! reads it back to restore. Files go through `object_store`: a local directory (`file:` URIs
//! or paths) or an S3-compatible bucket (`s3://bucket/prefix`, also `s3a://`, reached as
//! Flink's `s3.*` settings say, installed once per process by [`configure_s3`], as Flink
//! initializes its file systems from the configuration).

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The name of the file that completes a checkpoint.
pub const METADATA_FILE: &str = "_metadata";

/// How to reach S3-compatible storage: Flink's `s3.endpoint`, `s3.access-key`,
/// `s3.secret-key`, `s3.path.style.access` and `s3.region`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Config {
    /// `http(s)://host:port` of an S3-compatible server; AWS when absent.
    pub endpoint: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub path_style: bool,
    pub region: Option<String>,
}

static S3: RwLock<Option<S3Config>> = RwLock::new(None);

/// Installs how this process reaches S3 (a cluster process does it once at start).
pub fn configure_s3(config: S3Config) {
    if let Ok(mut s) = S3.write() {
        *s = Some(config);
    }
}

/// Where a location's files go.
#[derive(Clone)]
enum Backend {
    /// `dir` is an absolute directory.
    Local(Arc<LocalFileSystem>),
    /// `dir` is a key prefix (no leading slash) in `bucket`.
    S3 {
        store: Arc<AmazonS3>,
        bucket: String,
    },
}

/// A checkpoint location: a directory or a key prefix, written through an object store.
#[derive(Clone)]
pub struct CheckpointLocation {
    backend: Backend,
    dir: PathBuf,
}

/// Two locations are the same when they name the same place (the store handles do not count).
impl PartialEq for CheckpointLocation {
    fn eq(&self, other: &Self) -> bool {
        self.uri() == other.uri()
    }
}

impl std::fmt::Display for CheckpointLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.uri())
    }
}

impl std::fmt::Debug for CheckpointLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointLocation({})", self.uri())
    }
}

/// Why a storage operation failed, in words for the user.
pub type StorageError = String;

fn s3_store(bucket: &str) -> Result<Arc<AmazonS3>, StorageError> {
    let config = S3.read().ok().and_then(|c| c.clone()).unwrap_or_default();
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(config.region.clone().unwrap_or_else(|| "us-east-1".into()));
    if let Some(e) = &config.endpoint {
        b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
    }
    if let (Some(k), Some(s)) = (&config.access_key, &config.secret_key) {
        b = b.with_access_key_id(k).with_secret_access_key(s);
    }
    if config.path_style {
        b = b.with_virtual_hosted_style_request(false);
    }
    b.build().map(Arc::new).map_err(|e| {
        format!(
            "reaching bucket '{bucket}': {e} (set s3.endpoint, s3.access-key and s3.secret-key)"
        )
    })
}

impl CheckpointLocation {
    /// A location from a `file:` URI (`file:///a/b`, `file:/a/b`), a path (relative paths are
    /// taken from the working directory) or an `s3://bucket/prefix` URI.
    pub fn parse(location: &str) -> Result<CheckpointLocation, StorageError> {
        let raw = location.trim();
        if let Some(rest) = raw
            .strip_prefix("s3://")
            .or_else(|| raw.strip_prefix("s3a://"))
        {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("'{raw}' names no bucket; write s3://bucket/path"));
            }
            let prefix = prefix.trim_matches('/');
            return Ok(CheckpointLocation {
                backend: Backend::S3 {
                    store: s3_store(bucket)?,
                    bucket: bucket.to_string(),
                },
                dir: normalize(Path::new(prefix)),
            });
        }
        let path = if let Some(rest) = raw.strip_prefix("file://") {
            rest.to_string()
        } else if let Some(rest) = raw.strip_prefix("file:") {
            rest.to_string()
        } else if raw.contains("://") {
            return Err(format!(
                "'{raw}' uses a file system weir does not support; use a local path, a file: URI or an s3:// URI"
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
            backend: Backend::Local(Arc::new(LocalFileSystem::new())),
            dir: normalize(&dir),
        })
    }

    /// A directory on this machine's file system, as given (a relative one stays relative
    /// to the working directory).
    pub fn local(dir: impl Into<PathBuf>) -> CheckpointLocation {
        CheckpointLocation {
            backend: Backend::Local(Arc::new(LocalFileSystem::new())),
            dir: normalize(&dir.into()),
        }
    }

    /// A subdirectory.
    pub fn child(&self, name: &str) -> CheckpointLocation {
        CheckpointLocation {
            backend: self.backend.clone(),
            dir: self.dir.join(name),
        }
    }

    /// The Flink-style URI (`file:/abs/path`, `s3://bucket/prefix`).
    pub fn uri(&self) -> String {
        match &self.backend {
            Backend::Local(_) => format!("file:{}", self.dir.display()),
            Backend::S3 { bucket, .. } => format!("s3://{bucket}/{}", self.dir.display()),
        }
    }

    /// The local directory, for a location on this machine's file system.
    pub fn local_dir(&self) -> Option<&Path> {
        matches!(self.backend, Backend::Local(_)).then_some(self.dir.as_path())
    }

    fn store(&self) -> &dyn ObjectStore {
        match &self.backend {
            Backend::Local(s) => s.as_ref(),
            Backend::S3 { store, .. } => store.as_ref(),
        }
    }

    fn key(&self, name: &str) -> Result<StorePath, StorageError> {
        let path = self.dir.join(name);
        match &self.backend {
            Backend::Local(_) => StorePath::from_absolute_path(&path)
                .map_err(|e| format!("bad path '{}': {e}", path.display())),
            Backend::S3 { .. } => StorePath::parse(path.to_string_lossy().as_ref())
                .map_err(|e| format!("bad key '{}': {e}", path.display())),
        }
    }

    fn shown(&self, name: &str) -> String {
        format!("{}/{name}", self.uri())
    }

    /// Writes one file (the directory is created as needed).
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let key = self.key(name)?;
        if let Backend::Local(_) = self.backend {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| format!("creating '{}': {e}", self.dir.display()))?;
        }
        self.store()
            .put(&key, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| format!("writing '{}': {e}", self.shown(name)))
    }

    /// Reads one file.
    pub async fn get(&self, name: &str) -> Result<Vec<u8>, StorageError> {
        let key = self.key(name)?;
        let result = self.store().get(&key).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                format!("'{}' does not exist", self.shown(name))
            }
            other => format!("reading '{}': {other}", self.shown(name)),
        })?;
        result
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| format!("reading '{}': {e}", self.shown(name)))
    }

    /// Removes the whole directory (every object under the prefix).
    pub async fn remove(&self) -> Result<(), StorageError> {
        match &self.backend {
            Backend::Local(_) => {
                let dir = self.dir.clone();
                let removed = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&dir))
                    .await
                    .map_err(|e| format!("removing '{}': {e}", self.dir.display()))?;
                match removed {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(format!("removing '{}': {e}", self.dir.display())),
                }
            }
            Backend::S3 { store, .. } => {
                use futures::TryStreamExt;
                let prefix = StorePath::parse(self.dir.to_string_lossy().as_ref())
                    .map_err(|e| format!("bad key '{}': {e}", self.dir.display()))?;
                let objects: Vec<_> = store
                    .list(Some(&prefix))
                    .try_collect()
                    .await
                    .map_err(|e| format!("listing '{}': {e}", self.uri()))?;
                for o in objects {
                    store
                        .delete(&o.location)
                        .await
                        .map_err(|e| format!("removing '{}': {e}", o.location))?;
                }
                Ok(())
            }
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
        chk.remove().await.unwrap();
        assert!(!chk.local_dir().unwrap().exists());
        assert!(CheckpointLocation::parse("hdfs://nn/x").is_err());
        let s3 = CheckpointLocation::parse("s3a://bucket/a/../chk/").unwrap();
        assert_eq!(s3.child("chk-1").uri(), "s3://bucket/chk/chk-1");
        assert!(s3.local_dir().is_none());
        assert!(CheckpointLocation::parse("s3:///x").is_err());
    }
}
