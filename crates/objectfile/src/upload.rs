//! Closed files go to the bucket as multipart uploads: the parts are uploaded when a
//! checkpoint is taken (durable, invisible), and the upload is completed, which makes the
//! object appear whole and at once, when the checkpoint completes.
//!
//! An upload that no checkpoint lists (started for a checkpoint that never completed, then
//! the process died) would linger unseen and cost storage. So each upload leaves a small
//! marker object, `<root>/_weir_uploads/<file name>.json`, before its parts go up; completing
//! or aborting an upload removes its marker, and a restore aborts the uploads whose markers
//! carry a restored writer's prefix but are not in the checkpoint. Readers skip `_`-prefixed
//! names, as Hadoop's do.

use crate::location::Bucket;
use futures::TryStreamExt;
use object_store::multipart::PartId;
use object_store::path::Path as StorePath;
use object_store::{MultipartId, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tokio::io::AsyncReadExt;
use weir_core::{WeirError, WeirResult};
use weir_runtime::connectors::file_rolling::{owned_by, owned_name};

/// Parts of all but the last are this large: S3 wants at least 5 MiB.
const PART_BYTES: usize = 16 << 20;

/// Parts of one upload sent at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Where markers live under a sink's root.
pub const MARKERS: &str = "_weir_uploads";

/// A file uploaded as the parts of a multipart upload not yet completed: what a checkpoint
/// lists for the sink to complete once it completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingUpload {
    /// The prefix of the writer that began it, which its marker's name starts with.
    #[serde(default)]
    pub writer: String,
    pub key: String,
    pub upload_id: String,
    /// The parts' ETags, in order.
    pub parts: Vec<String>,
}

/// The marker of the upload of `key` by `writer`: named after the object, with the writer's
/// prefix in front when the object's name (a custom one) does not start with it.
pub fn marker_of(root: &StorePath, writer: &str, key: &str) -> StorePath {
    let name = key.rsplit('/').next().unwrap_or(key);
    root.clone()
        .join(MARKERS)
        .join(format!("{}.json", owned_name(writer, name)).as_str())
}

fn store_error(what: &str, e: object_store::Error) -> WeirError {
    WeirError::new(format!("{what}: {e}"))
}

/// Uploads the local file `local` as the parts of a new multipart upload of `key`, leaving
/// the upload open.
pub async fn upload_parts(
    store: &dyn Bucket,
    root: &StorePath,
    writer: &str,
    key: &str,
    local: &Path,
) -> WeirResult<PendingUpload> {
    let path = StorePath::from(key);
    let id: MultipartId = store
        .create_multipart(&path)
        .await
        .map_err(|e| store_error(&format!("starting the upload of '{key}'"), e))?;
    let mut up = PendingUpload {
        writer: writer.to_string(),
        key: key.to_string(),
        upload_id: id.clone(),
        parts: Vec::new(),
    };
    let marker = serde_json::to_vec(&up)
        .map_err(|e| WeirError::new(format!("writing an upload marker: {e}")))?;
    store
        .put(&marker_of(root, writer, key), PutPayload::from(marker))
        .await
        .map_err(|e| store_error(&format!("marking the upload of '{key}'"), e))?;
    let file = tokio::fs::File::open(local)
        .await
        .map_err(|e| WeirError::new(format!("reading '{}': {e}", local.display())))?;
    let read_error =
        |e: std::io::Error| WeirError::new(format!("reading '{}': {e}", local.display()));
    // Parts are read in order and uploaded a few at a time; their ETags come back in order.
    let chunks =
        futures::stream::try_unfold((file, 0usize, false), |(mut file, idx, done)| async move {
            if done {
                return Ok(None);
            }
            let mut buf = Vec::with_capacity(PART_BYTES);
            (&mut file)
                .take(PART_BYTES as u64)
                .read_to_end(&mut buf)
                .await?;
            // An empty file is one empty part; otherwise an empty read is the end.
            if buf.is_empty() && idx > 0 {
                return Ok(None);
            }
            let last = buf.len() < PART_BYTES;
            Ok(Some(((idx, buf), (file, idx + 1, last))))
        });
    let (path, id) = (&path, &id);
    up.parts = chunks
        .map_err(read_error)
        .map_ok(|(idx, buf)| async move {
            store
                .put_part(path, id, idx, PutPayload::from(buf))
                .await
                .map(|p| p.content_id)
                .map_err(|e| store_error(&format!("uploading '{key}'"), e))
        })
        .try_buffered(PARTS_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(up)
}

/// Completes an upload: the object appears whole. Completing it again (a restore repeating
/// a commit) finds the object there and succeeds; finding neither means rows are lost.
pub async fn complete(store: &dyn Bucket, root: &StorePath, up: &PendingUpload) -> WeirResult<()> {
    let path = StorePath::from(up.key.as_str());
    let parts = up
        .parts
        .iter()
        .map(|p| PartId {
            content_id: p.clone(),
        })
        .collect();
    if let Err(e) = store.complete_multipart(&path, &up.upload_id, parts).await {
        if store.head(&path).await.is_err() {
            return Err(WeirError::new(format!(
                "committing '{}': the upload is gone and the object is not there, so its rows would be lost: {e}",
                up.key
            ))
            .with_hint("the bucket may abort incomplete uploads sooner than the job's checkpoints complete (a lifecycle rule)"));
        }
    }
    remove_marker(store, root, up).await
}

/// Aborts an upload and removes its marker.
pub async fn abort(store: &dyn Bucket, root: &StorePath, up: &PendingUpload) -> WeirResult<()> {
    let path = StorePath::from(up.key.as_str());
    match store.abort_multipart(&path, &up.upload_id).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => {
            tracing::warn!(key = %up.key, error = %e, "aborting a leftover upload failed");
        }
    }
    remove_marker(store, root, up).await
}

async fn remove_marker(store: &dyn Bucket, root: &StorePath, up: &PendingUpload) -> WeirResult<()> {
    match store.delete(&marker_of(root, &up.writer, &up.key)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(store_error(
            &format!("removing the marker of '{}'", up.key),
            e,
        )),
    }
}

/// The uploads whose markers sit under `root` and were left by the writer with `prefix`.
pub async fn marked(
    store: &dyn Bucket,
    root: &StorePath,
    prefix: &str,
) -> WeirResult<Vec<PendingUpload>> {
    let dir = root.clone().join(MARKERS);
    let metas: Vec<_> = store
        .list(Some(&dir))
        .try_collect()
        .await
        .map_err(|e| store_error("listing upload markers", e))?;
    let mut out = Vec::new();
    for meta in metas {
        let name = meta.location.filename().unwrap_or_default();
        if !owned_by(name, prefix) {
            continue;
        }
        let bytes = store
            .get(&meta.location)
            .await
            .map_err(|e| store_error("reading an upload marker", e))?
            .bytes()
            .await
            .map_err(|e| store_error("reading an upload marker", e))?;
        match serde_json::from_slice::<PendingUpload>(&bytes) {
            Ok(up) => out.push(up),
            Err(e) => {
                tracing::warn!(marker = %meta.location, error = %e, "an unreadable upload marker")
            }
        }
    }
    Ok(out)
}
