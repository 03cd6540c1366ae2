//! SeaTunnel's `binary` file format: files copied byte for byte. The source reads each file in
//! 1 KiB pieces as rows `(data BYTES, relativePath STRING, partIndex BIGINT)`; the sink writes
//! the pieces of each relative path, in order, into a file of that path under its directory.
//! Nothing is parsed, so any file (images, archives, anything) goes through unchanged.
//!
//! The sink publishes its files when its input ends, each appearing whole and never replacing
//! a file already there; binary copies run as BATCH jobs (a file split across checkpoints has
//! no exactly-once meaning without resumable writes, so a streaming job is refused).

use super::file_codec::{self, Entry, Part};
use super::local_file_sink::PendingFile;
use crate::batch::Batch;
use crate::operator::SubtaskContext;
use crate::operator::{PreparedSink, PreparedSource, SinkWriter, SourceEvent, SourceReader};
use arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::JobMode;

/// How much of a file one row holds (SeaTunnel's 1024).
pub const PIECE_BYTES: usize = 1024;

/// Pieces per batch: 256 KiB.
const PIECES_PER_BATCH: usize = 256;

/// SeaTunnel's fixed row type of binary files.
pub fn binary_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("data", DataType::Binary, true),
        Field::new("relativePath", DataType::Utf8, true),
        Field::new("partIndex", DataType::Int64, true),
    ]))
}

/// Reads `parts` (files under `root`, or archive entries) as pieces.
pub struct PreparedBinarySource {
    root: PathBuf,
    parts: Vec<Part>,
}

impl PreparedBinarySource {
    pub fn new(root: PathBuf, parts: Vec<Part>) -> Self {
        Self { root, parts }
    }
}

impl PreparedSource for PreparedBinarySource {
    fn schema(&self) -> SchemaRef {
        binary_schema()
    }

    fn create_reader(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SourceReader>> {
        let parts = self
            .parts
            .iter()
            .enumerate()
            .filter(|(i, _)| i % subtask.parallelism.max(1) == subtask.index)
            .map(|(_, p)| p.clone())
            .collect();
        Ok(Box::new(BinaryReader {
            root: self.root.clone(),
            parts,
            next: 0,
            current: None,
        }))
    }
}

struct BinaryReader {
    root: PathBuf,
    parts: Vec<Part>,
    next: usize,
    /// The file being read, its relative path and the next piece's index.
    current: Option<(Box<dyn Read + Send>, String, i64)>,
}

/// The path a part is copied to: relative to the source's directory (its own name when the
/// source is one file; the entry's name inside an archive).
fn relative_path(root: &Path, part: &Part) -> String {
    if let Entry::Zip { name, .. } = &part.entry {
        return name.clone();
    }
    match part.path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => part
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

#[async_trait]
impl SourceReader for BinaryReader {
    async fn next(&mut self) -> WeirResult<SourceEvent> {
        let mut data = BinaryBuilder::new();
        let mut paths: Vec<String> = Vec::new();
        let mut indexes: Vec<i64> = Vec::new();
        while paths.len() < PIECES_PER_BATCH {
            if self.current.is_none() {
                let Some(part) = self.parts.get(self.next).cloned() else {
                    break;
                };
                self.next += 1;
                let rel = relative_path(&self.root, &part);
                self.current = Some((file_codec::open(&part)?, rel, 0));
            }
            let Some((reader, rel, index)) = self.current.as_mut() else {
                break;
            };
            let mut piece = vec![0u8; PIECE_BYTES];
            let mut filled = 0;
            while filled < PIECE_BYTES {
                let n = reader
                    .read(&mut piece[filled..])
                    .map_err(|e| WeirError::new(format!("reading {rel}: {e}")))?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled > 0 {
                data.append_value(&piece[..filled]);
                paths.push(rel.clone());
                indexes.push(*index);
                *index += 1;
            }
            if filled < PIECE_BYTES {
                self.current = None;
            }
        }
        if paths.is_empty() {
            return Ok(SourceEvent::End);
        }
        let batch = RecordBatch::try_new(
            binary_schema(),
            vec![
                Arc::new(data.finish()) as ArrayRef,
                Arc::new(StringArray::from(paths)),
                Arc::new(Int64Array::from(indexes)),
            ],
        )
        .map_err(|e| WeirError::new(format!("building binary pieces: {e}")))?;
        Ok(SourceEvent::Batch(Batch::inserts(batch)))
    }
}

/// Checks that a binary sink gets binary pieces and runs in a batch job.
pub fn check_sink(input: &SchemaRef, mode: JobMode) -> WeirResult<()> {
    let want = binary_schema();
    let same = input.fields().len() == want.fields().len()
        && input
            .fields()
            .iter()
            .zip(want.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
    if !same {
        return Err(WeirError::new(
            "the binary format writes what a binary source reads (data, relativePath, partIndex)",
        )
        .with_hint(
            "read the files with file_format_type = \"binary\" and keep the rows unchanged",
        ));
    }
    if mode == JobMode::Streaming {
        return Err(WeirError::new("binary files are copied by BATCH jobs")
            .with_hint("set job.mode = \"BATCH\""));
    }
    Ok(())
}

/// Writes the binary pieces of a sink under `dir`.
pub struct PreparedBinarySink {
    dir: PathBuf,
}

impl PreparedBinarySink {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

impl PreparedSink for PreparedBinarySink {
    fn create_writer(&self, _subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            WeirError::new(format!(
                "cannot create output directory '{}': {e}",
                self.dir.display()
            ))
        })?;
        Ok(Box::new(BinaryWriter {
            dir: self.dir.clone(),
            open: HashMap::new(),
        }))
    }
}

/// One file being written: its handle, where it goes, the last piece written.
struct OpenBinary {
    file: std::io::BufWriter<std::fs::File>,
    pending: PendingFile,
    last: i64,
}

struct BinaryWriter {
    dir: PathBuf,
    open: HashMap<String, OpenBinary>,
}

/// A relative path that stays inside the sink's directory.
fn safe_relative(rel: &str) -> WeirResult<PathBuf> {
    let p = Path::new(rel);
    let ok = !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(p.to_path_buf())
    } else {
        Err(WeirError::new(format!(
            "relativePath '{rel}' would leave the sink's directory"
        )))
    }
}

impl BinaryWriter {
    fn file_for(&mut self, rel: &str) -> WeirResult<&mut OpenBinary> {
        if !self.open.contains_key(rel) {
            let target = self.dir.join(safe_relative(rel)?);
            let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
            std::fs::create_dir_all(&parent)
                .map_err(|e| WeirError::new(format!("creating '{}': {e}", parent.display())))?;
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = parent.join(format!(".{name}.inprogress"));
            let file = std::fs::File::create(&tmp)
                .map_err(|e| WeirError::new(format!("creating '{}': {e}", tmp.display())))?;
            self.open.insert(
                rel.to_string(),
                OpenBinary {
                    file: std::io::BufWriter::new(file),
                    pending: PendingFile { tmp, target },
                    last: -1,
                },
            );
        }
        self.open
            .get_mut(rel)
            .ok_or_else(|| WeirError::new("a binary file vanished while written"))
    }
}

#[async_trait]
impl SinkWriter for BinaryWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        let records = &batch.records;
        let data = records.column(0).as_binary::<i32>();
        let paths = records.column(1).as_string::<i32>();
        let indexes = records
            .column(2)
            .as_primitive::<arrow::datatypes::Int64Type>();
        for row in 0..records.num_rows() {
            if paths.is_null(row) || indexes.is_null(row) {
                return Err(WeirError::new(
                    "a binary piece has no relativePath or partIndex",
                ));
            }
            let (rel, index) = (paths.value(row), indexes.value(row));
            let open = self.file_for(rel)?;
            if index != open.last + 1 {
                return Err(WeirError::new(format!(
                    "pieces of '{rel}' arrived out of order: last was {}, got {index}",
                    open.last
                ))
                .with_hint("give the binary sink the source's parallelism, so each file stays with one subtask"));
            }
            open.last = index;
            if !data.is_null(row) {
                open.file
                    .write_all(data.value(row))
                    .map_err(|e| WeirError::new(format!("writing '{rel}': {e}")))?;
            }
        }
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        for (rel, mut open) in std::mem::take(&mut self.open) {
            open.file
                .flush()
                .map_err(|e| WeirError::new(format!("writing '{rel}': {e}")))?;
            drop(open.file);
            open.pending.publish()?;
        }
        Ok(())
    }
}

impl Drop for BinaryWriter {
    fn drop(&mut self) {
        // Never finished: the job was cancelled or failed. Leave nothing half-written.
        for (_, open) in self.open.drain() {
            let _ = std::fs::remove_file(&open.pending.tmp);
        }
    }
}
