//! `S3File` sink: LocalFile's formats, partitioning and file sizes, written to a bucket.
//!
//! Files are written locally by the shared [`FileRoller`] and leave for the bucket when they
//! close. In streaming jobs (with `is_enable_transaction`, the default) the sink is
//! exactly-once by two-phase commit: at a checkpoint barrier its files are closed and uploaded
//! as the parts of multipart uploads (pre-commit: durable, invisible), and the uploads are
//! completed when the checkpoint completes, which makes each object appear whole and at once.
//! A job restored from the checkpoint completes exactly those uploads and aborts what its
//! writers started after it (see `upload`). In batch jobs a file is uploaded and completed
//! when it is full or the input ends. Names are LocalFile's: `T_<job>_<writer>_<subtask>_<n>`.

use crate::location::{s3_options, Bucket, S3Settings};
use crate::upload::{self, PendingUpload};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use object_store::path::Path as StorePath;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use weir_core::{JobId, WeirError, WeirResult};
use weir_pipeline::{Options, PluginKind, PluginSpec};
use weir_runtime::batch::Batch;
use weir_runtime::connectors::file_rolling::{
    file_sink_options, is_transactional, writer_prefix, ClosedFile, FileLayout, FileRoller,
    Staging, FILE_SINK_IGNORED,
};
use weir_runtime::connectors::table_placeholders;
use weir_runtime::injected_failure::{FailOnce, InjectedFailure};
use weir_runtime::operator::{
    PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext,
};

pub struct S3FileSinkFactory;

impl SinkFactory for S3FileSinkFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "S3File",
            PluginKind::Sink,
            s3_options()
                .into_iter()
                .chain(file_sink_options())
                .collect(),
        )
        .ignoring(FILE_SINK_IGNORED)
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        let e = WeirError::new;
        let mut o = o.clone();
        if let Some(path) = o.str("path").map_err(e)? {
            let filled =
                table_placeholders::fill(&path, ctx.table_paths.first().map(String::as_str))?;
            o.set("path", serde_json::Value::String(filled));
        }
        let settings = S3Settings::from_options(&o)?;
        settings.check_endpoint(&ctx.endpoints)?;
        let format_name = o
            .str("file_format_type")
            .map_err(e)?
            .unwrap_or_else(|| "csv".into());
        if format_name.trim().eq_ignore_ascii_case("binary") {
            return Err(WeirError::new("S3File does not write binary files yet")
                .with_hint("copy files as they are with LocalFile, or write a row format"));
        }
        let layout = FileLayout::from_options(&o, input, &format_name)?;
        let store = settings.build()?;
        crate::check_reachable(store.clone(), &settings)?;
        Ok(Arc::new(PreparedObjectSink {
            store,
            root: settings.root(),
            layout,
            job_id: ctx.job_id,
            fail: InjectedFailure::from_options(&o)?,
            transactional: is_transactional(&o, ctx.mode)?,
        }))
    }
}

struct PreparedObjectSink {
    store: Arc<dyn Bucket>,
    root: StorePath,
    layout: FileLayout,
    job_id: JobId,
    fail: Option<InjectedFailure>,
    transactional: bool,
}

impl PreparedSink for PreparedObjectSink {
    fn create_writer(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        let prefix = writer_prefix(self.job_id, subtask.index);
        let staging_dir = std::env::temp_dir().join("weir-s3file").join(&prefix);
        let dir = staging_dir.clone();
        let staging: Staging = Box::new(move |relative: &str| dir.join(relative));
        Ok(Box::new(ObjectFileWriter {
            target: Target {
                store: self.store.clone(),
                root: self.root.clone(),
                writer: prefix.clone(),
            },
            staging_dir,
            roller: FileRoller::new(self.layout.clone(), prefix, staging),
            fail: FailOnce::new(self.fail, &subtask, "S3File"),
            transactional: self.transactional,
            pending: Vec::new(),
            prepared_for: BTreeMap::new(),
            publishing: tokio::task::JoinSet::new(),
        }))
    }
}

/// One writer's checkpoint state, in one entry so a rescale hands all of it to one subtask:
/// the uploads to complete, and the prefix whose later uploads a restore aborts.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Committable {
    writer_prefix: String,
    uploads: Vec<PendingUpload>,
}

struct ObjectFileWriter {
    target: Target,
    staging_dir: PathBuf,
    roller: FileRoller,
    fail: FailOnce,
    transactional: bool,
    /// Closed files no checkpoint has uploaded yet.
    pending: Vec<ClosedFile>,
    /// Uploads each checkpoint not yet known complete prepared.
    prepared_for: BTreeMap<u64, Vec<PendingUpload>>,
    /// Files being published in the background (batch jobs).
    publishing: tokio::task::JoinSet<WeirResult<()>>,
}

/// Files a batch writer publishes at once while it encodes the next.
const FILES_IN_FLIGHT: usize = 2;

/// The bucket and prefix a writer's files go to; cheap to clone, so no future holds the
/// writer (whose encoders are not `Sync`) across an upload.
#[derive(Clone)]
struct Target {
    store: Arc<dyn Bucket>,
    root: StorePath,
    /// The writer's prefix, which its upload markers carry.
    writer: String,
}

impl Target {
    fn key(&self, file: &ClosedFile) -> String {
        let root = self.root.as_ref();
        if root.is_empty() {
            file.relative.clone()
        } else {
            format!("{root}/{}", file.relative)
        }
    }

    /// Uploads a closed file's parts and lets go of its local copy.
    async fn upload(&self, file: ClosedFile) -> WeirResult<PendingUpload> {
        let key = self.key(&file);
        let up = upload::upload_parts(
            self.store.as_ref(),
            &self.root,
            &self.writer,
            &key,
            &file.local,
        )
        .await?;
        let _ = tokio::fs::remove_file(&file.local).await;
        Ok(up)
    }

    async fn publish(&self, file: ClosedFile) -> WeirResult<()> {
        let up = self.upload(file).await?;
        self.complete(&up).await
    }

    async fn complete(&self, up: &PendingUpload) -> WeirResult<()> {
        upload::complete(self.store.as_ref(), &self.root, up).await
    }
}

impl ObjectFileWriter {
    /// Files the roller closed: held for the next checkpoint, or (without transactions)
    /// published in the background while the next rows are encoded.
    async fn closed(&mut self, files: Vec<ClosedFile>) -> WeirResult<()> {
        for f in files {
            if self.transactional {
                self.pending.push(f);
                continue;
            }
            while self.publishing.len() >= FILES_IN_FLIGHT {
                self.published_one().await?;
            }
            let target = self.target.clone();
            self.publishing
                .spawn(async move { target.publish(f).await });
        }
        Ok(())
    }

    /// Waits for one background publish.
    async fn published_one(&mut self) -> WeirResult<()> {
        match self.publishing.join_next().await {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(e)) => Err(WeirError::new(format!("publishing a file: {e}"))),
        }
    }
}

#[async_trait]
impl SinkWriter for ObjectFileWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        self.fail.on_write(batch.records.num_rows() as u64)?;
        let full = self.roller.write(batch)?;
        self.closed(full).await
    }

    async fn finish(&mut self) -> WeirResult<()> {
        let open = self.roller.close_all()?;
        self.closed(open).await?;
        while !self.publishing.is_empty() {
            self.published_one().await?;
        }
        let target = self.target.clone();
        for (_, ups) in std::mem::take(&mut self.prepared_for) {
            for up in &ups {
                target.complete(up).await?;
            }
        }
        for f in std::mem::take(&mut self.pending) {
            target.publish(f).await?;
        }
        let _ = tokio::fs::remove_dir_all(&self.staging_dir).await;
        Ok(())
    }

    async fn prepare_commit(&mut self, checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        if !self.transactional {
            return Ok(Vec::new());
        }
        let open = self.roller.close_all()?;
        self.pending.extend(open);
        let target = &self.target;
        let ups = futures::future::try_join_all(
            std::mem::take(&mut self.pending)
                .into_iter()
                .map(|f| target.upload(f)),
        )
        .await?;
        self.prepared_for.insert(checkpoint_id, ups);
        let entry = Committable {
            writer_prefix: self.roller.prefix().to_string(),
            uploads: self.prepared_for.values().flatten().cloned().collect(),
        };
        let bytes = serde_json::to_vec(&entry)
            .map_err(|e| WeirError::new(format!("listing the pending uploads: {e}")))?;
        Ok(vec![bytes])
    }

    async fn commit(&mut self, checkpoint_id: u64) -> WeirResult<()> {
        self.fail.on_commit()?;
        let later = self.prepared_for.split_off(&(checkpoint_id + 1));
        let target = self.target.clone();
        for (_, ups) in std::mem::replace(&mut self.prepared_for, later) {
            for up in &ups {
                target.complete(up).await?;
            }
        }
        Ok(())
    }

    async fn restore(&mut self, _checkpoint_id: u64, committables: Vec<Vec<u8>>) -> WeirResult<()> {
        let target = self.target.clone();
        let mut completed = BTreeSet::new();
        let mut writers = Vec::new();
        for entry in committables {
            let entry: Committable = serde_json::from_slice(&entry).map_err(|e| {
                WeirError::new(format!(
                    "a pending upload of the restored checkpoint is unreadable: {e}"
                ))
            })?;
            for up in &entry.uploads {
                target.complete(up).await?;
                completed.insert(up.upload_id.clone());
            }
            writers.push(entry.writer_prefix);
        }
        // What those writers uploaded for checkpoints that never completed is aborted. This
        // writer's own names are new, so nothing it uploads can meet them.
        for prefix in writers {
            let leftovers = upload::marked(target.store.as_ref(), &target.root, &prefix).await?;
            for up in leftovers {
                if !completed.contains(&up.upload_id) {
                    tracing::info!(key = %up.key, "aborting an upload a failed attempt left");
                    upload::abort(target.store.as_ref(), &target.root, &up).await?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for ObjectFileWriter {
    fn drop(&mut self) {
        // Local copies only: what reached the bucket is the checkpoint's business.
        let _ = std::fs::remove_dir_all(&self.staging_dir);
    }
}
