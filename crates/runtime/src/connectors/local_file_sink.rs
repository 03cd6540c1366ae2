//! `LocalFile` sink: writes `text`, `csv`, `json` (lines), `parquet`, `orc`, `xml` or `excel`
//! files into a directory,
//! optionally in Hive-style partition directories (`partition_by`, `${k0}=${v0}`).
//!
//! Files are written under a hidden in-progress name and renamed into place only when they are
//! committed, so readers never see half-written files and a cancelled or failed job leaves none
//! behind. In batch jobs a file is committed when it reaches `batch_size` rows or the input
//! ends. In streaming jobs (with `is_enable_transaction`, the default) the sink is exactly-once
//! by two-phase commit: at a checkpoint barrier its files are closed and listed in the
//! checkpoint (pre-commit), and they are renamed into place only when that checkpoint completes;
//! a job restored from the checkpoint publishes exactly those files and discards anything
//! written after it.
//!
//! Names follow SeaTunnel: `T_<job>_<writer>_<subtask>_<n><codec>.<ext>` (`<codec>` is
//! `.lzo`, `.zlib`, … for the codecs SeaTunnel marks so), where `<writer>` is ten hex
//! digits drawn for each writer, so two sinks of one job, or two attempts of one sink, never
//! share a name. Publishing never replaces a file: a name already taken fails the job rather
//! than overwrite committed rows.

use super::file_rolling::{
    file_sink_options, is_transactional, owned_by, owned_name, writer_prefix, ClosedFile,
    FileLayout, FileRoller, Staging, FILE_SINK_IGNORED,
};
use crate::batch::Batch;
use crate::injected_failure::{FailOnce, InjectedFailure};
use crate::operator::{PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use weir_core::{JobId, WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct LocalFileSinkFactory;

impl SinkFactory for LocalFileSinkFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "LocalFile",
            PluginKind::Sink,
            std::iter::once(OptionSpec::required("path", OptionType::String))
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
        let dir = PathBuf::from(super::table_placeholders::fill(
            &o.str("path").map_err(e)?.unwrap_or_default(),
            ctx.table_paths.first().map(String::as_str),
        )?);
        if dir.as_os_str().is_empty() {
            return Err(
                WeirError::new("option 'path' is empty").with_hint("name the output directory")
            );
        }
        let dir = ctx
            .sandbox
            .check(&dir, "LocalFile's path")
            .map_err(WeirError::new)?;
        let format_name = o
            .str("file_format_type")
            .map_err(e)?
            .unwrap_or_else(|| "csv".into());
        if format_name.trim().eq_ignore_ascii_case("binary") {
            super::local_file_binary::check_sink(&input, ctx.mode)?;
            return Ok(Arc::new(super::local_file_binary::PreparedBinarySink::new(
                dir,
            )));
        }
        let layout = FileLayout::from_options(o, input, &format_name)?;
        Ok(Arc::new(PreparedLocalFileSink {
            dir,
            layout,
            job_id: ctx.job_id,
            fail: InjectedFailure::from_options(o)?,
            transactional: is_transactional(o, ctx.mode)?,
        }))
    }
}

struct PreparedLocalFileSink {
    dir: PathBuf,
    layout: FileLayout,
    job_id: JobId,
    fail: Option<InjectedFailure>,
    transactional: bool,
}

impl PreparedSink for PreparedLocalFileSink {
    fn create_writer(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            WeirError::new(format!(
                "cannot create output directory '{}': {e}",
                self.dir.display()
            ))
        })?;
        let prefix = writer_prefix(self.job_id, subtask.index);
        let (dir, writer) = (self.dir.clone(), prefix.clone());
        // Open files sit beside their final name, hidden, so publishing is a rename. The
        // hidden name starts with the writer's prefix (a custom name may not), so a restore
        // can tell a dead writer's leftovers.
        let staging: Staging = Box::new(move |relative: &str| {
            let target = dir.join(relative);
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            target.with_file_name(format!(".{}.inprogress", owned_name(&writer, &name)))
        });
        Ok(Box::new(LocalFileWriter {
            dir: self.dir.clone(),
            roller: FileRoller::new(self.layout.clone(), prefix, staging),
            fail: FailOnce::new(self.fail, &subtask, "LocalFile"),
            transactional: self.transactional,
            pending: Vec::new(),
            prepared_for: BTreeMap::new(),
        }))
    }
}

/// A closed file waiting to be published: what a checkpoint lists as this sink's committable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PendingFile {
    pub(super) tmp: PathBuf,
    pub(super) target: PathBuf,
}

/// One entry of this sink's checkpoint state: everything one writer left to do, in one entry,
/// so that when a rescale deals entries out to new subtasks, one of them owns all of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Committable {
    /// The files a writer must publish once the checkpoint completes, and its name prefix: a
    /// writer restored from the checkpoint publishes them, then removes that writer's other
    /// in-progress files (written after the checkpoint, left by a crash).
    Writer {
        writer_prefix: String,
        files: Vec<PendingFile>,
    },
    /// One file, as checkpoints taken before per-writer entries listed them.
    File(PendingFile),
}

impl PendingFile {
    /// Moves the file into place without ever replacing one: the new name is linked to the
    /// written file (which fails if the name is taken) and the in-progress name removed.
    /// Idempotent: a file already published is left alone.
    pub(super) fn publish(&self) -> WeirResult<()> {
        let taken = || {
            WeirError::new(format!(
                "'{}' already exists; weir never replaces a committed file",
                self.target.display()
            ))
            .with_hint("write to an empty directory, or remove the old file first")
        };
        match std::fs::hard_link(&self.tmp, &self.target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Linked before a crash but not yet unlinked: the same file under both names.
                if !same_file(&self.tmp, &self.target) {
                    return Err(taken());
                }
            }
            Err(_) if !self.tmp.exists() && self.target.exists() => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(WeirError::new(format!(
                    "publishing '{}': the written file is gone",
                    self.tmp.display()
                )))
            }
            // A file system without hard links: rename, after checking the name is free.
            Err(_) => {
                if self.target.exists() {
                    return Err(taken());
                }
                return std::fs::rename(&self.tmp, &self.target).map_err(|e| {
                    WeirError::new(format!(
                        "publishing '{}' as '{}': {e}",
                        self.tmp.display(),
                        self.target.display()
                    ))
                });
            }
        }
        match std::fs::remove_file(&self.tmp) {
            // Another subtask restoring the same checkpoint finished this publish first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(WeirError::new(format!(
                "publishing '{}': removing the in-progress name: {e}",
                self.target.display()
            ))),
            Ok(()) => Ok(()),
        }
    }
}

/// Whether two paths name the same file.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

struct LocalFileWriter {
    dir: PathBuf,
    roller: FileRoller,
    fail: FailOnce,
    /// Two-phase commit: files are published only when a checkpoint covering them completes.
    transactional: bool,
    /// Closed files no checkpoint has listed yet.
    pending: Vec<PendingFile>,
    /// Files listed by each checkpoint not yet known complete.
    prepared_for: BTreeMap<u64, Vec<PendingFile>>,
}

impl LocalFileWriter {
    /// A file the roller closed: published now, or held for the next checkpoint.
    fn closed(&mut self, file: ClosedFile) -> WeirResult<()> {
        let pending = PendingFile {
            target: self.dir.join(&file.relative),
            tmp: file.local,
        };
        if self.transactional {
            self.pending.push(pending);
            Ok(())
        } else {
            pending.publish()
        }
    }

    fn close_open(&mut self) -> WeirResult<()> {
        for f in self.roller.close_all()? {
            self.closed(f)?;
        }
        Ok(())
    }
}

#[async_trait]
impl SinkWriter for LocalFileWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        self.fail.on_write(batch.records.num_rows() as u64)?;
        for file in self.roller.write(batch)? {
            self.closed(file)?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        self.close_open()?;
        for (_, files) in std::mem::take(&mut self.prepared_for) {
            files.iter().try_for_each(PendingFile::publish)?;
        }
        std::mem::take(&mut self.pending)
            .iter()
            .try_for_each(PendingFile::publish)
    }

    async fn prepare_commit(&mut self, checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        if !self.transactional {
            return Ok(Vec::new());
        }
        self.close_open()?;
        let files = std::mem::take(&mut self.pending);
        self.prepared_for.insert(checkpoint_id, files);
        // A restore from this checkpoint must publish everything prepared up to it that is not
        // known to be published yet, and may remove what this writer started after it.
        let entry = Committable::Writer {
            writer_prefix: self.roller.prefix().to_string(),
            files: self.prepared_for.values().flatten().cloned().collect(),
        };
        let bytes = serde_json::to_vec(&entry)
            .map_err(|e| WeirError::new(format!("listing the pending files: {e}")))?;
        Ok(vec![bytes])
    }

    async fn commit(&mut self, checkpoint_id: u64) -> WeirResult<()> {
        self.fail.on_commit()?;
        let later = self.prepared_for.split_off(&(checkpoint_id + 1));
        for (_, files) in std::mem::replace(&mut self.prepared_for, later) {
            files.iter().try_for_each(PendingFile::publish)?;
        }
        Ok(())
    }

    async fn restore(&mut self, _checkpoint_id: u64, committables: Vec<Vec<u8>>) -> WeirResult<()> {
        let mut writers = Vec::new();
        for entry in committables {
            let entry: Committable = serde_json::from_slice(&entry).map_err(|e| {
                WeirError::new(format!(
                    "a pending file of the restored checkpoint is unreadable: {e}"
                ))
            })?;
            let files = match entry {
                Committable::File(f) => vec![f],
                Committable::Writer {
                    writer_prefix,
                    files,
                } => {
                    writers.push(writer_prefix);
                    files
                }
            };
            for file in files {
                if !file.tmp.exists() && !file.target.exists() {
                    return Err(WeirError::new(format!(
                        "'{}', written before the restored checkpoint, is gone; its rows would be lost",
                        file.tmp.display()
                    )));
                }
                file.publish()?;
            }
        }
        // What the checkpointed writers started after the checkpoint is discarded. This
        // writer's own names are new, so nothing it writes can meet those files.
        for path in files_under(&self.dir, 3) {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(bare) = name
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(".inprogress"))
            else {
                continue;
            };
            if writers.iter().any(|w| owned_by(bare, w)) {
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(())
    }
}

/// Files under `dir`, `depth` directory levels deep (partition directories).
fn files_under(dir: &std::path::Path, depth: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            if depth > 0 {
                out.extend(files_under(&path, depth - 1));
            }
        } else {
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    fn writer(dir: &std::path::Path, subtask: usize) -> Box<dyn SinkWriter> {
        writer_named(dir, subtask, None)
    }

    fn writer_named(
        dir: &std::path::Path,
        subtask: usize,
        expression: Option<&str>,
    ) -> Box<dyn SinkWriter> {
        let mut options = serde_json::json!({
            "path": dir.display().to_string(),
            "file_format_type": "json",
        });
        if let Some(e) = expression {
            options["custom_filename"] = true.into();
            options["file_name_expression"] = e.into();
        }
        let serde_json::Value::Object(map) = options else {
            unreachable!()
        };
        let ctx = PrepareContext::new(JobId(1), "t", weir_pipeline::JobMode::Streaming, 2);
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
        LocalFileSinkFactory
            .prepare(&Options::new(map), schema, &ctx)
            .unwrap()
            .create_writer(SubtaskContext {
                index: subtask,
                parallelism: 2,
                attempt: 0,
            })
            .unwrap()
    }

    fn rows(n: i64) -> Batch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
        let ids = Int64Array::from((0..n).collect::<Vec<_>>());
        Batch::inserts(RecordBatch::try_new(schema, vec![Arc::new(ids)]).unwrap())
    }

    fn names(dir: &std::path::Path) -> (Vec<String>, Vec<String>) {
        let mut all: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        all.sort();
        all.into_iter().partition(|n| !n.starts_with('.'))
    }

    #[tokio::test]
    async fn a_restored_writer_publishes_the_checkpoint_and_discards_only_its_writers_later_files()
    {
        let dir = tempfile::tempdir().unwrap();
        let mut a = writer(dir.path(), 0);
        a.write(rows(3)).await.unwrap();
        let state = a.prepare_commit(1).await.unwrap();
        assert_eq!(state.len(), 1, "one entry holds the writer's whole state");
        // Written after the checkpoint; then the process dies (no cleanup runs).
        a.write(rows(2)).await.unwrap();
        std::mem::forget(a);
        // Another writer of the job is busy with a file of its own.
        let mut other = writer(dir.path(), 1);
        other.write(rows(4)).await.unwrap();
        let (visible, hidden) = names(dir.path());
        assert!(visible.is_empty());
        // The checkpointed file waits, hidden, for its checkpoint to complete.
        assert_eq!(hidden.len(), 3);

        // The restored subtask (a new writer) takes over the checkpoint's state.
        let mut b = writer(dir.path(), 0);
        b.restore(1, state.clone()).await.unwrap();
        let (visible, hidden) = names(dir.path());
        assert_eq!(visible.len(), 1, "the checkpointed file is published");
        let text = std::fs::read_to_string(dir.path().join(&visible[0])).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert_eq!(
            hidden.len(),
            1,
            "the other writer's file is untouched: {hidden:?}"
        );
        // Restoring the same checkpoint again (another failure) changes nothing.
        let mut c = writer(dir.path(), 0);
        c.restore(1, state).await.unwrap();
        assert_eq!(names(dir.path()).0, visible);
        other.finish().await.unwrap();
        assert_eq!(names(dir.path()).0.len(), 2);
    }

    #[tokio::test]
    async fn a_restore_discards_a_dead_writers_files_under_custom_names_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = writer_named(dir.path(), 0, Some("orders_${uuid}"));
        a.write(rows(3)).await.unwrap();
        let state = a.prepare_commit(1).await.unwrap();
        a.write(rows(2)).await.unwrap();
        std::mem::forget(a);
        let mut b = writer_named(dir.path(), 0, Some("orders_${uuid}"));
        b.restore(1, state).await.unwrap();
        let (visible, hidden) = names(dir.path());
        assert_eq!(visible.len(), 1);
        assert!(visible[0].starts_with("orders_"), "{visible:?}");
        assert!(hidden.is_empty(), "the later file is gone: {hidden:?}");
    }

    #[test]
    fn publishing_never_replaces_a_file_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| PendingFile {
            tmp: dir.path().join(format!(".{name}.inprogress")),
            target: dir.path().join(name),
        };
        let fresh = file("a.json");
        std::fs::write(&fresh.tmp, "new rows\n").unwrap();
        fresh.publish().unwrap();
        assert!(!fresh.tmp.exists());
        assert_eq!(
            std::fs::read_to_string(&fresh.target).unwrap(),
            "new rows\n"
        );
        // Published again (a restore re-publishing a checkpoint's files): nothing changes.
        fresh.publish().unwrap();
        // Linked before a crash, not yet unlinked: finishing the publish is safe.
        let half = file("b.json");
        std::fs::write(&half.tmp, "half\n").unwrap();
        std::fs::hard_link(&half.tmp, &half.target).unwrap();
        half.publish().unwrap();
        assert!(!half.tmp.exists());
        // A different file under the name: refused, and both are kept.
        let clash = file("a.json");
        std::fs::write(&clash.tmp, "other rows\n").unwrap();
        let err = clash.publish().unwrap_err().to_string();
        assert!(err.contains("never replaces a committed file"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&clash.target).unwrap(),
            "new rows\n"
        );
        assert!(clash.tmp.exists());
    }
}
