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

use super::file_output::{Output, SinkCodec};
use super::local_file_source::{unescape_delimiter, FileFormat};
use super::xml::{XmlLayout, XmlWriter};
use crate::batch::Batch;
use crate::operator::{PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext};
use arrow::array::UInt32Array;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use weir_core::{JobId, WeirError, WeirResult};
use weir_pipeline::{JobMode, OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct LocalFileSinkFactory;

impl SinkFactory for LocalFileSinkFactory {
    fn spec(&self) -> PluginSpec {
        use OptionType::*;
        PluginSpec::new(
            "LocalFile",
            PluginKind::Sink,
            vec![
                OptionSpec::required("path", String),
                OptionSpec::optional("file_format_type", String),
                OptionSpec::optional("field_delimiter", String),
                OptionSpec::optional("row_delimiter", String),
                OptionSpec::optional("partition_by", StringList),
                OptionSpec::optional("partition_dir_expression", String),
                OptionSpec::optional("is_partition_field_write_in_file", Bool),
                OptionSpec::optional("have_partition", Bool),
                OptionSpec::optional("sink_columns", StringList),
                OptionSpec::optional("batch_size", Int),
                OptionSpec::optional("enable_header_write", Bool),
                OptionSpec::optional("is_enable_transaction", Bool),
                OptionSpec::optional("custom_filename", Bool),
                OptionSpec::optional("file_name_expression", String),
                OptionSpec::optional("filename_time_format", String),
                OptionSpec::optional("compress_codec", String),
                OptionSpec::optional("encoding", String),
                OptionSpec::optional("xml_root_tag", String),
                OptionSpec::optional("xml_row_tag", String),
                OptionSpec::optional("xml_use_attr_format", Bool),
            ],
        )
        .ignoring(&[
            "tmp_path",
            "schema_save_mode",
            "data_save_mode",
            "save_mode",
            "single_file_mode",
            "create_empty_file_when_no_data",
        ])
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
        let format = FileFormat::parse(&format_name)?;
        let columns: Vec<usize> = match o.str_list("sink_columns").map_err(e)? {
            Some(cols) => cols
                .iter()
                .map(|c| {
                    input.index_of(c).map_err(|_| {
                        WeirError::new(format!("sink_columns: '{c}' is not in the input"))
                    })
                })
                .collect::<WeirResult<_>>()?,
            None => (0..input.fields().len()).collect(),
        };
        let partition_by: Vec<usize> = match o.str_list("partition_by").map_err(e)? {
            Some(cols) => cols
                .iter()
                .map(|c| {
                    input.index_of(c).map_err(|_| {
                        WeirError::new(format!("partition_by: '{c}' is not in the input"))
                    })
                })
                .collect::<WeirResult<_>>()?,
            None => Vec::new(),
        };
        let keep_partition_fields = o
            .bool("is_partition_field_write_in_file")
            .map_err(e)?
            .unwrap_or(false);
        let written: Vec<usize> = columns
            .into_iter()
            .filter(|c| keep_partition_fields || !partition_by.contains(c))
            .collect();
        if format == FileFormat::Csv {
            if let Some(f) = written
                .iter()
                .map(|&c| input.field(c))
                .find(|f| f.data_type().is_nested())
            {
                return Err(WeirError::new(format!(
                    "csv cannot hold column '{}' of a nested type",
                    f.name()
                ))
                .with_hint("write json or parquet, or drop the column with sink_columns"));
            }
        }
        let codec = match (format, o.str("compress_codec").map_err(e)?) {
            // weir's parquet files are snappy-compressed unless the job says otherwise.
            (FileFormat::Parquet, None) => SinkCodec::resolve(format, Some("snappy"))?,
            (_, codec) => SinkCodec::resolve(format, codec.as_deref())?,
        };
        let encoding = match o.str("encoding").map_err(e)? {
            Some(name)
                if matches!(
                    format,
                    FileFormat::Parquet | FileFormat::Orc | FileFormat::Excel
                ) =>
            {
                return Err(WeirError::new(format!(
                    "encoding '{name}' does not apply to {} files (their text is UTF-8)",
                    format.extension()
                )))
            }
            Some(name) => super::file_codec::parse_encoding(&name)?,
            None => encoding_rs::UTF_8,
        };
        let written_schema = Arc::new(
            input
                .project(&written)
                .map_err(|err| WeirError::new(err.to_string()))?,
        );
        if format == FileFormat::Orc {
            super::orc::check_writable(&written_schema)?;
        }
        let xml = if format == FileFormat::Xml {
            let use_attributes = o.bool("xml_use_attr_format").map_err(e)?.ok_or_else(|| {
                WeirError::new("writing xml files needs 'xml_use_attr_format'").with_hint(
                    "say whether values are attributes of the row element (true) or its child elements (false)",
                )
            })?;
            Some(XmlLayout {
                root_tag: o
                    .str("xml_root_tag")
                    .map_err(e)?
                    .unwrap_or_else(|| "RECORDS".into()),
                row_tag: o
                    .str("xml_row_tag")
                    .map_err(e)?
                    .unwrap_or_else(|| "RECORD".into()),
                use_attributes,
            })
        } else {
            None
        };
        let default_delimiter = if format == FileFormat::Csv {
            ","
        } else {
            "\u{1}"
        };
        Ok(Arc::new(PreparedLocalFileSink {
            dir,
            format,
            schema: written_schema,
            xml,
            written,
            partition_by,
            partition_expr: o
                .str("partition_dir_expression")
                .map_err(e)?
                .unwrap_or_else(|| "${k0}=${v0}".into()),
            input,
            field_delimiter: unescape_delimiter(
                &o.str("field_delimiter")
                    .map_err(e)?
                    .unwrap_or_else(|| default_delimiter.into()),
            ),
            row_delimiter: unescape_delimiter(
                &o.str("row_delimiter")
                    .map_err(e)?
                    .unwrap_or_else(|| "\n".into()),
            ),
            header: o.bool("enable_header_write").map_err(e)?.unwrap_or(false),
            rows_per_file: o
                .i64("batch_size")
                .map_err(e)?
                .filter(|n| *n > 0)
                .unwrap_or(1_000_000) as usize,
            job_id: ctx.job_id,
            codec,
            encoding,
            transactional: ctx.mode == JobMode::Streaming
                && o.bool("is_enable_transaction").map_err(e)?.unwrap_or(true),
        }))
    }
}

struct PreparedLocalFileSink {
    dir: PathBuf,
    format: FileFormat,
    input: SchemaRef,
    schema: SchemaRef,
    written: Vec<usize>,
    partition_by: Vec<usize>,
    partition_expr: String,
    field_delimiter: String,
    row_delimiter: String,
    header: bool,
    rows_per_file: usize,
    job_id: JobId,
    codec: SinkCodec,
    encoding: &'static encoding_rs::Encoding,
    transactional: bool,
    xml: Option<XmlLayout>,
}

impl PreparedSink for PreparedLocalFileSink {
    fn create_writer(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            WeirError::new(format!(
                "cannot create output directory '{}': {e}",
                self.dir.display()
            ))
        })?;
        Ok(Box::new(LocalFileWriter {
            prepared: Settings {
                dir: self.dir.clone(),
                format: self.format,
                schema: self.schema.clone(),
                field_delimiter: self.field_delimiter.clone(),
                row_delimiter: self.row_delimiter.clone(),
                header: self.header,
                codec: self.codec,
                encoding: self.encoding,
                xml: self.xml.clone(),
            },
            input: self.input.clone(),
            written: self.written.clone(),
            partition_by: self.partition_by.clone(),
            partition_expr: self.partition_expr.clone(),
            rows_per_file: self.rows_per_file,
            prefix: format!(
                "T_{}_{}_{}",
                self.job_id,
                &uuid::Uuid::new_v4().simple().to_string()[..10],
                subtask.index
            ),
            files_started: 0,
            open: BTreeMap::new(),
            transactional: self.transactional,
            pending: Vec::new(),
            prepared_for: BTreeMap::new(),
        }))
    }
}

/// What every file of a writer shares.
#[derive(Clone)]
struct Settings {
    dir: PathBuf,
    format: FileFormat,
    schema: SchemaRef,
    field_delimiter: String,
    row_delimiter: String,
    header: bool,
    codec: SinkCodec,
    encoding: &'static encoding_rs::Encoding,
    xml: Option<XmlLayout>,
}

impl Settings {
    fn text_output(&self, file: File) -> Output {
        let compression = match self.codec {
            SinkCodec::Text(t) => t,
            _ => super::file_codec::TextCompression::None,
        };
        Output::new(file, self.encoding, compression)
    }
}

enum Encoder {
    Text(BufWriter<Output>),
    Csv(Box<arrow::csv::Writer<BufWriter<Output>>>),
    Json(arrow::json::LineDelimitedWriter<BufWriter<Output>>),
    Parquet(Box<parquet::arrow::ArrowWriter<File>>),
    Orc(Box<super::orc::OrcWriter>),
    Xml(Box<XmlWriter<BufWriter<Output>>>),
    /// Saved whole at close.
    Excel(Box<super::excel::ExcelWriter>),
}

/// One file being written: its in-progress path, final path and encoder.
struct OpenFile {
    tmp: PathBuf,
    target: PathBuf,
    rows: usize,
    encoder: Option<Encoder>,
}

impl OpenFile {
    fn create(s: &Settings, subdir: &str, name: &str) -> WeirResult<OpenFile> {
        let dir = if subdir.is_empty() {
            s.dir.clone()
        } else {
            s.dir.join(subdir)
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| WeirError::new(format!("creating '{}': {e}", dir.display())))?;
        let target = dir.join(name);
        let tmp = dir.join(format!(".{name}.inprogress"));
        let file = File::create(&tmp)
            .map_err(|e| WeirError::new(format!("creating '{}': {e}", tmp.display())))?;
        let encoder = match s.format {
            FileFormat::Text => {
                let mut w = BufWriter::with_capacity(1 << 20, s.text_output(file));
                if s.header {
                    let names: Vec<&str> = s
                        .schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    w.write_all(names.join(&s.field_delimiter).as_bytes())?;
                    w.write_all(s.row_delimiter.as_bytes())?;
                }
                Encoder::Text(w)
            }
            FileFormat::Csv => Encoder::Csv(Box::new(
                arrow::csv::WriterBuilder::new()
                    .with_header(s.header)
                    .with_delimiter(
                        s.field_delimiter
                            .as_bytes()
                            .first()
                            .copied()
                            .unwrap_or(b','),
                    )
                    .build(BufWriter::with_capacity(1 << 20, s.text_output(file))),
            )),
            FileFormat::Json => Encoder::Json(arrow::json::LineDelimitedWriter::new(
                BufWriter::with_capacity(1 << 20, s.text_output(file)),
            )),
            FileFormat::Parquet => {
                let compression = match s.codec {
                    SinkCodec::Parquet(c) => c,
                    _ => parquet::basic::Compression::SNAPPY,
                };
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(compression)
                    .build();
                Encoder::Parquet(Box::new(
                    parquet::arrow::ArrowWriter::try_new(file, s.schema.clone(), Some(props))
                        .map_err(|e| WeirError::new(format!("starting parquet file: {e}")))?,
                ))
            }
            FileFormat::Orc => {
                let compression = match s.codec {
                    SinkCodec::Orc(c) => c,
                    _ => super::orc::OrcCompression::parse("none")?,
                };
                Encoder::Orc(Box::new(super::orc::OrcWriter::new(
                    file,
                    s.schema.clone(),
                    compression,
                )?))
            }
            FileFormat::Xml => {
                let layout = s
                    .xml
                    .clone()
                    .ok_or_else(|| WeirError::new("an xml sink without its row layout"))?;
                Encoder::Xml(Box::new(
                    XmlWriter::new(
                        BufWriter::with_capacity(1 << 20, s.text_output(file)),
                        layout,
                        &s.schema,
                        s.encoding.name(),
                        s.field_delimiter.clone(),
                    )
                    .map_err(|e| WeirError::new(format!("starting '{}': {e}", tmp.display())))?,
                ))
            }
            FileFormat::Excel => {
                drop(file);
                Encoder::Excel(Box::new(super::excel::ExcelWriter::new(
                    &s.schema, s.header,
                )?))
            }
        };
        Ok(OpenFile {
            tmp,
            target,
            rows: 0,
            encoder: Some(encoder),
        })
    }

    fn write(&mut self, s: &Settings, batch: &RecordBatch) -> WeirResult<()> {
        let err = |e: String| WeirError::new(format!("writing '{}': {e}", self.tmp.display()));
        match self.encoder.as_mut() {
            Some(Encoder::Text(w)) => {
                for line in super::text_rows::lines(batch, &s.field_delimiter)
                    .map_err(|e| err(e.to_string()))?
                {
                    w.write_all(line.as_bytes())
                        .and_then(|_| w.write_all(s.row_delimiter.as_bytes()))
                        .map_err(|e| err(e.to_string()))?;
                }
            }
            Some(Encoder::Csv(w)) => w.write(batch).map_err(|e| err(e.to_string()))?,
            Some(Encoder::Json(w)) => w
                .write(&super::json_bytes::encode(batch)?)
                .map_err(|e| err(e.to_string()))?,
            Some(Encoder::Parquet(w)) => w.write(batch).map_err(|e| err(e.to_string()))?,
            Some(Encoder::Orc(w)) => w.write(batch)?,
            Some(Encoder::Xml(w)) => w.write(batch)?,
            Some(Encoder::Excel(w)) => w.write(batch)?,
            None => return Err(err("file already closed".into())),
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    /// Flushes and closes the file, still under its in-progress name.
    fn close(mut self) -> WeirResult<PendingFile> {
        let err = |e: String| WeirError::new(format!("finishing '{}': {e}", self.tmp.display()));
        match self.encoder.take() {
            Some(Encoder::Text(w)) => finish_text(w).map_err(|e| err(e.to_string()))?,
            Some(Encoder::Csv(w)) => finish_text(w.into_inner()).map_err(|e| err(e.to_string()))?,
            Some(Encoder::Json(mut w)) => {
                w.finish().map_err(|e| err(e.to_string()))?;
                finish_text(w.into_inner()).map_err(|e| err(e.to_string()))?
            }
            Some(Encoder::Orc(w)) => w.close()?,
            Some(Encoder::Xml(w)) => {
                let out = w.finish().map_err(|e| err(e.to_string()))?;
                finish_text(out).map_err(|e| err(e.to_string()))?
            }
            Some(Encoder::Parquet(w)) => {
                w.close().map_err(|e| err(e.to_string()))?;
            }
            Some(Encoder::Excel(w)) => w.save(&self.tmp)?,
            None => {}
        }
        Ok(PendingFile {
            tmp: std::mem::take(&mut self.tmp),
            target: std::mem::take(&mut self.target),
        })
    }
}

/// Flushes a text file's buffer and finishes its output (an lzop stream's end mark).
fn finish_text(w: BufWriter<Output>) -> std::io::Result<()> {
    w.into_inner().map_err(|e| e.into_error())?.finish()
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

impl Drop for OpenFile {
    fn drop(&mut self) {
        if self.encoder.is_some() {
            // Never committed: the job was cancelled or failed. Leave nothing half-written.
            self.encoder = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

struct LocalFileWriter {
    prepared: Settings,
    input: SchemaRef,
    written: Vec<usize>,
    partition_by: Vec<usize>,
    partition_expr: String,
    rows_per_file: usize,
    prefix: String,
    files_started: usize,
    open: BTreeMap<String, OpenFile>,
    /// Two-phase commit: files are published only when a checkpoint covering them completes.
    transactional: bool,
    /// Closed files no checkpoint has listed yet.
    pending: Vec<PendingFile>,
    /// Files listed by each checkpoint not yet known complete.
    prepared_for: BTreeMap<u64, Vec<PendingFile>>,
}

impl LocalFileWriter {
    fn write_part(&mut self, subdir: String, batch: RecordBatch) -> WeirResult<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if !self.open.contains_key(&subdir) {
                let name = format!(
                    "{}_{}{}.{}",
                    self.prefix,
                    self.files_started,
                    self.prepared.codec.suffix(),
                    self.prepared.format.extension()
                );
                self.files_started += 1;
                let f = OpenFile::create(&self.prepared, &subdir, &name)?;
                self.open.insert(subdir.clone(), f);
            }
            let Some(file) = self.open.get_mut(&subdir) else {
                break;
            };
            let room = self.rows_per_file - file.rows;
            let take = room.min(batch.num_rows() - offset);
            file.write(&self.prepared, &batch.slice(offset, take))?;
            offset += take;
            if file.rows >= self.rows_per_file {
                if let Some(full) = self.open.remove(&subdir) {
                    let closed = full.close()?;
                    if self.transactional {
                        self.pending.push(closed);
                    } else {
                        closed.publish()?;
                    }
                }
            }
        }
        Ok(())
    }

    fn partition_dir(&self, values: &[String]) -> String {
        let mut dir = self.partition_expr.clone();
        for (i, (&col, v)) in self.partition_by.iter().zip(values).enumerate() {
            dir = dir
                .replace(&format!("${{k{i}}}"), self.input.field(col).name())
                .replace(&format!("${{v{i}}}"), v);
        }
        if self.partition_by.len() > 1 && !self.partition_expr.contains("${k1}") {
            // The default expression names one level; give every partition column its level.
            dir = self
                .partition_by
                .iter()
                .zip(values)
                .map(|(&c, v)| format!("{}={v}", self.input.field(c).name()))
                .collect::<Vec<_>>()
                .join("/");
        }
        dir.replace(['\\', '\0'], "_").replace("..", "__")
    }
}

#[async_trait]
impl SinkWriter for LocalFileWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        let records = batch.records;
        if self.partition_by.is_empty() {
            let projected = records
                .project(&self.written)
                .map_err(|e| WeirError::new(e.to_string()))?;
            return self.write_part(String::new(), projected);
        }
        let opts = FormatOptions::default().with_null("null");
        let fmts = self
            .partition_by
            .iter()
            .map(|&c| ArrayFormatter::try_new(records.column(c).as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WeirError::new(e.to_string()))?;
        let mut groups: BTreeMap<Vec<String>, Vec<u32>> = BTreeMap::new();
        for row in 0..records.num_rows() {
            let key: Vec<String> = fmts.iter().map(|f| f.value(row).to_string()).collect();
            groups.entry(key).or_default().push(row as u32);
        }
        for (values, rows) in groups {
            let idx = UInt32Array::from(rows);
            let cols = self
                .written
                .iter()
                .map(|&c| arrow::compute::take(records.column(c).as_ref(), &idx, None))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| WeirError::new(e.to_string()))?;
            let part = RecordBatch::try_new(self.prepared.schema.clone(), cols)
                .map_err(|e| WeirError::new(e.to_string()))?;
            let dir = self.partition_dir(&values);
            self.write_part(dir, part)?;
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
            writer_prefix: self.prefix.clone(),
            files: self.prepared_for.values().flatten().cloned().collect(),
        };
        let bytes = serde_json::to_vec(&entry)
            .map_err(|e| WeirError::new(format!("listing the pending files: {e}")))?;
        Ok(vec![bytes])
    }

    async fn commit(&mut self, checkpoint_id: u64) -> WeirResult<()> {
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
        for path in files_under(&self.prepared.dir, 3) {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(bare) = name
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(".inprogress"))
            else {
                continue;
            };
            if writers.iter().any(|w| bare.starts_with(&format!("{w}_"))) {
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(())
    }
}

impl LocalFileWriter {
    fn close_open(&mut self) -> WeirResult<()> {
        for (_, f) in std::mem::take(&mut self.open) {
            self.pending.push(f.close()?);
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

    fn writer(dir: &std::path::Path, subtask: usize) -> Box<dyn SinkWriter> {
        let serde_json::Value::Object(map) = serde_json::json!({
            "path": dir.display().to_string(),
            "file_format_type": "json",
        }) else {
            unreachable!()
        };
        let ctx = PrepareContext {
            job_id: JobId(1),
            job_name: "t".into(),
            mode: JobMode::Streaming,
            parallelism: 2,
            input_table: None,
            output_table: None,
            table_paths: Vec::new(),
            catalog_tables: Vec::new(),
            block_table_paths: Vec::new(),
            job_log: Default::default(),
        };
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
