//! `S3File` source: LocalFile's formats read from the objects under a bucket's prefix.
//!
//! The objects are listed when the job is prepared (skipping `.`- and `_`-prefixed names, as
//! Hadoop does, and applying `file_filter_pattern`); object i goes to subtask i mod
//! parallelism. A reader copies its object to a local file, unpacks archives there, and reads
//! it with the shared [`FileDecoder`]. Its operator state is one entry per object it owns:
//! the key, how many rows it has emitted, and whether it is done. So a restore neither
//! re-reads a finished object nor repeats the rows of a half-read one, and after a change of
//! parallelism the entries, dealt out again, say who reads what.

use crate::location::{s3_options, Bucket, S3Settings};
use async_trait::async_trait;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{Options, PluginKind, PluginSpec};
use weir_runtime::batch::Batch;
use weir_runtime::connectors::file_codec::{self, ArchiveCodec, Part};
use weir_runtime::connectors::local_file_source::{
    file_source_options, partition_pairs, BatchIter, FileDecoder, FileFormat, FILE_SOURCE_IGNORED,
};
use weir_runtime::operator::{
    PrepareContext, PreparedSource, SourceEvent, SourceFactory, SourceReader, SubtaskContext,
};

pub struct S3FileSourceFactory;

impl SourceFactory for S3FileSourceFactory {
    fn spec(&self) -> PluginSpec {
        let mut options = s3_options();
        // `path` is S3's; `file_format_type` is required, as for LocalFile.
        options.extend(file_source_options());
        PluginSpec::new("S3File", PluginKind::Source, options).ignoring(FILE_SOURCE_IGNORED)
    }

    fn prepare(&self, o: &Options, ctx: &PrepareContext) -> WeirResult<Arc<dyn PreparedSource>> {
        let e = WeirError::new;
        let settings = S3Settings::from_options(o)?;
        settings.check_endpoint(&ctx.endpoints)?;
        let format_name = o.str("file_format_type").map_err(e)?.unwrap_or_default();
        if format_name.trim().eq_ignore_ascii_case("binary") {
            return Err(WeirError::new("S3File does not read binary files yet")
                .with_hint("read a row format, or copy the objects down and use LocalFile"));
        }
        let format = FileFormat::parse(&format_name)?;
        let archive = ArchiveCodec::parse(
            &o.str("archive_compress_codec")
                .map_err(e)?
                .unwrap_or_default(),
        )?;
        let filter = match o.str("file_filter_pattern").map_err(e)? {
            Some(p) => Some(
                regex::Regex::new(&p)
                    .map_err(|err| WeirError::new(format!("bad file_filter_pattern: {err}")))?,
            ),
            None => None,
        };
        let store = settings.build()?;
        let files = list_objects(store.clone(), &settings, filter)?;
        let parse_partitions = o
            .bool("parse_partition_from_path")
            .map_err(e)?
            .unwrap_or(true);
        let partition_keys: Vec<String> = match files.first() {
            Some(f) if parse_partitions => partition_pairs(Path::new(""), Path::new(&f.relative))
                .into_iter()
                .map(|(k, _)| k)
                .collect(),
            _ => Vec::new(),
        };
        // Parquet and orc files carry their schema: the first one is copied down to read it.
        let sample_dir = staging_dir();
        let sample = match files.first() {
            Some(f) if format.self_describing() => {
                let local = sample_dir.join("sample");
                let (store, key) = (store.clone(), f.key.clone());
                let target = local.clone();
                weir_runtime::blocking::run_blocking(async move {
                    download(store.as_ref(), &key, &target).await
                })?;
                Some(local)
            }
            _ => None,
        };
        let decoder = FileDecoder::from_options(
            o,
            format,
            archive,
            sample.as_deref(),
            partition_keys,
            &settings.shown(),
        );
        let _ = std::fs::remove_dir_all(&sample_dir);
        Ok(Arc::new(PreparedObjectSource {
            store,
            files: Arc::new(files),
            decoder: Arc::new(decoder?),
            archive,
        }))
    }
}

/// An object to read: its key, and its name under the prefix (partition directories).
#[derive(Debug, Clone)]
struct ObjectFile {
    key: String,
    relative: String,
}

/// The objects under the prefix a source reads, in key order.
fn list_objects(
    store: Arc<dyn Bucket>,
    settings: &S3Settings,
    filter: Option<regex::Regex>,
) -> WeirResult<Vec<ObjectFile>> {
    let root = settings.root();
    let prefix = settings.prefix.clone();
    let listed = weir_runtime::blocking::run_blocking(async move {
        let listed: Result<Vec<_>, _> = store.list(Some(&root)).try_collect().await;
        Ok(listed)
    })?
    .map_err(|e| crate::explain(e, settings))?;
    let mut out: Vec<ObjectFile> = listed
        .into_iter()
        .filter_map(|meta| {
            let key = meta.location.to_string();
            let relative = key
                .strip_prefix(&prefix)
                .map(|r| r.trim_start_matches('/').to_string())
                .unwrap_or_else(|| key.clone());
            let relative = if relative.is_empty() {
                // The prefix names one object.
                key.rsplit('/').next().unwrap_or_default().to_string()
            } else {
                relative
            };
            let hidden = relative
                .split('/')
                .any(|part| part.starts_with('.') || part.starts_with('_'));
            let name = relative.rsplit('/').next().unwrap_or_default();
            let wanted = filter.as_ref().map(|f| f.is_match(name)).unwrap_or(true);
            (!hidden && wanted).then_some(ObjectFile { key, relative })
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

fn staging_dir() -> PathBuf {
    std::env::temp_dir()
        .join("weir-s3file")
        .join(uuid::Uuid::new_v4().simple().to_string())
}

/// Copies an object to a local file.
async fn download(store: &dyn Bucket, key: &str, local: &Path) -> WeirResult<()> {
    let err = |e: String| WeirError::new(format!("copying '{key}' from the bucket: {e}"));
    if let Some(dir) = local.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| err(e.to_string()))?;
    }
    let mut stream = store
        .get(&StorePath::from(key))
        .await
        .map_err(|e| err(e.to_string()))?
        .into_stream();
    let mut file = tokio::fs::File::create(local)
        .await
        .map_err(|e| err(e.to_string()))?;
    while let Some(chunk) = stream.try_next().await.map_err(|e| err(e.to_string()))? {
        file.write_all(&chunk)
            .await
            .map_err(|e| err(e.to_string()))?;
    }
    file.flush().await.map_err(|e| err(e.to_string()))
}

struct PreparedObjectSource {
    store: Arc<dyn Bucket>,
    files: Arc<Vec<ObjectFile>>,
    decoder: Arc<FileDecoder>,
    archive: ArchiveCodec,
}

impl PreparedSource for PreparedObjectSource {
    fn schema(&self) -> arrow::datatypes::SchemaRef {
        self.decoder.output_schema()
    }

    fn create_reader(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SourceReader>> {
        let splits = self
            .files
            .iter()
            .enumerate()
            .filter(|(i, _)| i % subtask.parallelism == subtask.index)
            .map(|(_, f)| Split {
                key: f.key.clone(),
                rows: 0,
                done: false,
            })
            .collect();
        Ok(Box::new(ObjectFileReader {
            store: self.store.clone(),
            files: self.files.clone(),
            decoder: self.decoder.clone(),
            archive: self.archive,
            splits,
            current: None,
            staging: staging_dir(),
        }))
    }
}

/// One object a reader owns, as its operator state records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Split {
    key: String,
    /// Rows emitted from it so far.
    rows: u64,
    done: bool,
}

/// The object being read: which split, its local copy's parts, and the part being read.
struct Reading {
    split: usize,
    partition: Vec<Option<String>>,
    parts: VecDeque<Part>,
    batches: Option<BatchIter>,
    /// Rows a restore already counted, still to be passed over.
    skip: u64,
    local: PathBuf,
}

struct ObjectFileReader {
    store: Arc<dyn Bucket>,
    files: Arc<Vec<ObjectFile>>,
    decoder: Arc<FileDecoder>,
    archive: ArchiveCodec,
    splits: Vec<Split>,
    current: Option<Reading>,
    staging: PathBuf,
}

impl ObjectFileReader {
    /// Copies split `split`'s object down and lists its parts. Takes what it needs by value:
    /// no future may hold the reader (whose decoders are not `Sync`) across the download.
    fn open(&self, split: usize) -> impl std::future::Future<Output = WeirResult<Reading>> {
        let key = self.splits[split].key.clone();
        let known = self.files.iter().find(|f| f.key == key).cloned();
        let relative = known
            .as_ref()
            .map(|f| f.relative.clone())
            .unwrap_or_else(|| key.clone());
        let partition = self.decoder.partition_values(Path::new(&relative));
        let (store, archive, skip) = (self.store.clone(), self.archive, self.splits[split].rows);
        let local = self.staging.join(format!("{split}"));
        async move {
            download(store.as_ref(), &key, &local).await.map_err(|e| {
                if known.is_none() {
                    WeirError::new(format!(
                        "'{key}', which the restored checkpoint was reading, is gone from the bucket: {}",
                        e.message
                    ))
                } else {
                    e
                }
            })?;
            let parts = file_codec::parts(std::slice::from_ref(&local), archive)?;
            Ok(Reading {
                split,
                partition,
                parts: parts.into(),
                batches: None,
                skip,
                local,
            })
        }
    }
}

#[async_trait]
impl SourceReader for ObjectFileReader {
    async fn next(&mut self) -> WeirResult<SourceEvent> {
        loop {
            if self.current.is_none() {
                let Some(next) = self.splits.iter().position(|s| !s.done) else {
                    let _ = tokio::fs::remove_dir_all(&self.staging).await;
                    return Ok(SourceEvent::End);
                };
                let opening = self.open(next);
                self.current = Some(opening.await?);
            }
            let Some(r) = self.current.as_mut() else {
                continue;
            };
            if r.batches.is_none() {
                match r.parts.pop_front() {
                    Some(part) => r.batches = Some(self.decoder.open(&part)?),
                    None => {
                        self.splits[r.split].done = true;
                        let _ = tokio::fs::remove_file(&r.local).await;
                        self.current = None;
                        continue;
                    }
                }
            }
            let Some(batches) = r.batches.as_mut() else {
                continue;
            };
            match batches.next() {
                None => r.batches = None,
                Some(Err(e)) => return Err(e),
                Some(Ok(b)) => {
                    let n = b.num_rows() as u64;
                    if r.skip >= n {
                        r.skip -= n;
                        continue;
                    }
                    let b = b.slice(r.skip as usize, (n - r.skip) as usize);
                    r.skip = 0;
                    let emitted = b.num_rows() as u64;
                    if let Some(b) = self.decoder.finish(b, &r.partition)? {
                        self.splits[r.split].rows += emitted;
                        return Ok(SourceEvent::Batch(Batch::inserts(b)));
                    }
                }
            }
        }
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        self.splits
            .iter()
            .map(|s| {
                serde_json::to_vec(s)
                    .map_err(|e| WeirError::new(format!("saving the read position: {e}")))
            })
            .collect()
    }

    fn restore_state(&mut self, entries: Vec<Vec<u8>>) -> WeirResult<()> {
        self.splits = entries
            .iter()
            .map(|e| {
                serde_json::from_slice(e).map_err(|err| {
                    WeirError::new(format!("the saved read position is unreadable: {err}"))
                })
            })
            .collect::<WeirResult<_>>()?;
        Ok(())
    }
}

impl Drop for ObjectFileReader {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}
