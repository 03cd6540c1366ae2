//! The half of a file sink that turns rows into files, shared by every file sink (`LocalFile`
//! here, `S3File` in `weir-objectfile`): LocalFile's options ([`FileLayout`]), one open file
//! per partition directory, a new file every `batch_size` rows ([`FileRoller`]). Where a
//! closed file goes (renamed into place, uploaded) is the sink's own business.

use super::file_output::{Output, SinkCodec};
use super::local_file_source::{unescape_delimiter, FileFormat};
use super::xml::{XmlLayout, XmlWriter};
use crate::batch::Batch;
use arrow::array::UInt32Array;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use weir_core::{JobId, WeirError, WeirResult};
use weir_pipeline::{JobMode, OptionSpec, OptionType, Options};

/// A new writer's prefix, the shape of SeaTunnel's transaction ids: `T_<job>_<10 hex>_<subtask>`.
/// The hex part is drawn for each writer, so two sinks of a job, or two attempts of one,
/// never share a prefix, and so never a file name.
pub fn writer_prefix(job: JobId, subtask: usize) -> String {
    format!(
        "T_{job}_{}_{subtask}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Whether a file sink commits with checkpoints (two-phase): in streaming jobs, unless
/// `is_enable_transaction = false`.
pub fn is_transactional(o: &Options, mode: JobMode) -> WeirResult<bool> {
    Ok(mode == JobMode::Streaming
        && o.bool("is_enable_transaction")
            .map_err(WeirError::new)?
            .unwrap_or(true))
}

/// `name` as it is kept where a restore looks for a dead writer's leftovers (LocalFile's
/// hidden in-progress files, S3File's upload markers): starting with the writer's prefix,
/// which a custom file name may not.
pub fn owned_name(writer: &str, name: &str) -> String {
    if owned_by(name, writer) {
        name.to_string()
    } else {
        format!("{writer}.{name}")
    }
}

/// Whether `name`, as [`owned_name`] keeps it, is `writer`'s.
pub fn owned_by(name: &str, writer: &str) -> bool {
    name.strip_prefix(writer)
        .is_some_and(|rest| rest.starts_with('_') || rest.starts_with('.'))
}

/// The options of every file sink but where it writes (`path`, or a bucket and a path).
pub fn file_sink_options() -> Vec<OptionSpec> {
    use OptionType::*;
    let mut options = crate::injected_failure::options();
    options.extend([
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
    ]);
    options
}

/// SeaTunnel options every file sink accepts and weir has no use for.
pub const FILE_SINK_IGNORED: &[&str] = &[
    "tmp_path",
    "schema_save_mode",
    "data_save_mode",
    "save_mode",
    "single_file_mode",
    "create_empty_file_when_no_data",
];

/// The options every file sink shares (LocalFile's, less `path`): the format, the columns
/// written, partitioning and when a file is full. Read once, when the sink is prepared.
#[derive(Clone)]
pub struct FileLayout {
    format: FileFormat,
    input: SchemaRef,
    /// The columns in a file, and which of `input` they are.
    schema: SchemaRef,
    written: Vec<usize>,
    partition_by: Vec<usize>,
    partition_expr: String,
    field_delimiter: String,
    row_delimiter: String,
    header: bool,
    rows_per_file: usize,
    codec: SinkCodec,
    encoding: &'static encoding_rs::Encoding,
    xml: Option<XmlLayout>,
    naming: FileNaming,
}

/// How a writer's files are named: `<writer prefix>_<n><suffix>`, or with `custom_filename`
/// SeaTunnel's `file_name_expression` (`${transactionId}`, `${uuid}`, `${now}` formatted by
/// `filename_time_format`) in place of the prefix.
#[derive(Clone, Debug, PartialEq)]
pub enum FileNaming {
    Default,
    Expression {
        expression: String,
        time_format: String,
    },
}

impl FileNaming {
    /// Reads `custom_filename`, `file_name_expression` and `filename_time_format`.
    pub fn from_options(o: &Options) -> WeirResult<FileNaming> {
        let e = WeirError::new;
        if !o.bool("custom_filename").map_err(e)?.unwrap_or(false) {
            return Ok(FileNaming::Default);
        }
        let expression = o
            .str("file_name_expression")
            .map_err(e)?
            .unwrap_or_else(|| "${transactionId}".into());
        weir_pipeline::sandbox::check_relative_fragment(&expression, "file_name_expression")
            .map_err(WeirError::new)?;
        // A name that repeats would land on a file another writer, or an earlier attempt,
        // has already published.
        if !expression.contains("${transactionId}") && !expression.contains("${uuid}") {
            return Err(WeirError::new(format!(
                "file_name_expression '{expression}' names every writer's files alike"
            ))
            .with_hint("put ${transactionId} or ${uuid} in it, e.g. \"${transactionId}_${now}\""));
        }
        let time_format = o
            .str("filename_time_format")
            .map_err(e)?
            .unwrap_or_else(|| "yyyy.MM.dd".into());
        crate::java_time::format(&chrono::Local::now().naive_local(), &time_format).map_err(
            |err| WeirError::new(format!("filename_time_format '{time_format}': {err}")),
        )?;
        Ok(FileNaming::Expression {
            expression,
            time_format,
        })
    }

    /// What the writer with `prefix` names its files before `_<n><suffix>`, at `now`.
    pub fn stem(&self, prefix: &str, now: &chrono::NaiveDateTime) -> String {
        match self {
            FileNaming::Default => prefix.to_string(),
            FileNaming::Expression {
                expression,
                time_format,
            } => {
                let date = crate::java_time::format(now, time_format).unwrap_or_default();
                expression
                    .replace("${transactionId}", prefix)
                    .replace("${uuid}", &uuid::Uuid::new_v4().to_string())
                    .replace("${now}", &date)
                    .replace(&format!("${{{time_format}}}"), &date)
                    .replace(['/', '\\', '\0'], "_")
            }
        }
    }
}

impl FileLayout {
    /// Reads a file sink's options for rows of `input`; `format_name` is `file_format_type`.
    pub fn from_options(
        o: &Options,
        input: SchemaRef,
        format_name: &str,
    ) -> WeirResult<FileLayout> {
        let e = WeirError::new;
        let format = FileFormat::parse(format_name)?;
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
        Ok(FileLayout {
            format,
            schema: written_schema,
            xml,
            written,
            partition_by,
            partition_expr: {
                let expr = o
                    .str("partition_dir_expression")
                    .map_err(e)?
                    .unwrap_or_else(|| "${k0}=${v0}".into());
                weir_pipeline::sandbox::check_relative_fragment(&expr, "partition_dir_expression")
                    .map_err(WeirError::new)?;
                expr
            },
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
            codec,
            encoding,
            naming: FileNaming::from_options(o)?,
        })
    }

    /// The format's file name ending with its codec's mark (`.lzo.txt`, `.parquet`, …).
    pub fn suffix(&self) -> String {
        format!("{}.{}", self.codec.suffix(), self.format.extension())
    }
}

/// A file closed by a [`FileRoller`]: the local file holding it, and its name under the sink's
/// root (`<partition dirs>/<name>`, `/`-separated).
#[derive(Debug)]
pub struct ClosedFile {
    pub local: PathBuf,
    pub relative: String,
}

/// Where a roller writes the file `relative` (under the sink's root) while it is open.
pub type Staging = Box<dyn Fn(&str) -> PathBuf + Send + Sync>;

/// Writes one subtask's rows into files named `<prefix>_<n><suffix>`: one open file per
/// partition directory, closed when it holds `batch_size` rows or when the sink asks.
pub struct FileRoller {
    layout: FileLayout,
    prefix: String,
    files_started: usize,
    open: BTreeMap<String, OpenFile>,
    staging: Staging,
}

impl FileRoller {
    pub fn new(layout: FileLayout, prefix: String, staging: Staging) -> FileRoller {
        FileRoller {
            layout,
            prefix,
            files_started: 0,
            open: BTreeMap::new(),
            staging,
        }
    }

    /// What every file of this roller starts with: a restore uses it to tell this writer's
    /// leftovers from other writers' files.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Writes `batch`; the files that became full on the way.
    pub fn write(&mut self, batch: Batch) -> WeirResult<Vec<ClosedFile>> {
        let mut closed = Vec::new();
        let records = batch.records;
        if self.layout.partition_by.is_empty() {
            let projected = records
                .project(&self.layout.written)
                .map_err(|e| WeirError::new(e.to_string()))?;
            self.write_part(String::new(), projected, &mut closed)?;
            return Ok(closed);
        }
        let opts = FormatOptions::default().with_null("null");
        let fmts = self
            .layout
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
                .layout
                .written
                .iter()
                .map(|&c| arrow::compute::take(records.column(c).as_ref(), &idx, None))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| WeirError::new(e.to_string()))?;
            let part = RecordBatch::try_new(self.layout.schema.clone(), cols)
                .map_err(|e| WeirError::new(e.to_string()))?;
            let dir = self.partition_dir(&values);
            self.write_part(dir, part, &mut closed)?;
        }
        Ok(closed)
    }

    /// Closes every open file.
    pub fn close_all(&mut self) -> WeirResult<Vec<ClosedFile>> {
        std::mem::take(&mut self.open)
            .into_values()
            .map(OpenFile::close)
            .collect()
    }
    fn write_part(
        &mut self,
        subdir: String,
        batch: RecordBatch,
        closed: &mut Vec<ClosedFile>,
    ) -> WeirResult<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if !self.open.contains_key(&subdir) {
                let stem = self
                    .layout
                    .naming
                    .stem(&self.prefix, &chrono::Local::now().naive_local());
                let name = format!("{stem}_{}{}", self.files_started, self.layout.suffix());
                self.files_started += 1;
                let relative = if subdir.is_empty() {
                    name
                } else {
                    format!("{subdir}/{name}")
                };
                let local = (self.staging)(&relative);
                let f = OpenFile::create(&self.layout, local, relative)?;
                self.open.insert(subdir.clone(), f);
            }
            let Some(file) = self.open.get_mut(&subdir) else {
                break;
            };
            let room = self.layout.rows_per_file - file.rows;
            let take = room.min(batch.num_rows() - offset);
            file.write(&self.layout, &batch.slice(offset, take))?;
            offset += take;
            if file.rows >= self.layout.rows_per_file {
                if let Some(full) = self.open.remove(&subdir) {
                    closed.push(full.close()?);
                }
            }
        }
        Ok(())
    }

    fn partition_dir(&self, values: &[String]) -> String {
        let mut dir = self.layout.partition_expr.clone();
        for (i, (&col, v)) in self.layout.partition_by.iter().zip(values).enumerate() {
            dir = dir
                .replace(&format!("${{k{i}}}"), self.layout.input.field(col).name())
                .replace(&format!("${{v{i}}}"), v);
        }
        if self.layout.partition_by.len() > 1 && !self.layout.partition_expr.contains("${k1}") {
            // The default expression names one level; give every partition column its level.
            dir = self
                .layout
                .partition_by
                .iter()
                .zip(values)
                .map(|(&c, v)| format!("{}={v}", self.layout.input.field(c).name()))
                .collect::<Vec<_>>()
                .join("/");
        }
        // A value may not climb out of the sink's root, nor name an absolute place.
        dir.replace(['\\', '\0'], "_")
            .replace("..", "__")
            .trim_start_matches('/')
            .to_string()
    }
}

/// One file being written: where it is written, its name under the sink's root, its encoder.
struct OpenFile {
    tmp: PathBuf,
    relative: String,
    rows: usize,
    encoder: Option<Encoder>,
}

impl OpenFile {
    fn create(s: &FileLayout, tmp: PathBuf, relative: String) -> WeirResult<OpenFile> {
        if let Some(dir) = tmp.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| WeirError::new(format!("creating '{}': {e}", dir.display())))?;
        }
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
            relative,
            rows: 0,
            encoder: Some(encoder),
        })
    }

    fn write(&mut self, s: &FileLayout, batch: &RecordBatch) -> WeirResult<()> {
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

    /// Flushes and closes the file, still where it was written.
    fn close(mut self) -> WeirResult<ClosedFile> {
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
        Ok(ClosedFile {
            local: std::mem::take(&mut self.tmp),
            relative: std::mem::take(&mut self.relative),
        })
    }
}

/// Flushes a text file's buffer and finishes its output (an lzop stream's end mark).
fn finish_text(w: BufWriter<Output>) -> std::io::Result<()> {
    w.into_inner().map_err(|e| e.into_error())?.finish()
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if self.encoder.is_some() {
            // Never closed: the job was cancelled or failed. Leave nothing half-written.
            self.encoder = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl FileLayout {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn naming(v: serde_json::Value) -> WeirResult<FileNaming> {
        let serde_json::Value::Object(m) = v else {
            unreachable!()
        };
        FileNaming::from_options(&Options::new(m))
    }

    #[test]
    fn a_name_a_restore_looks_for_always_says_its_writer() {
        assert_eq!(owned_name("T_1_ab_0", "T_1_ab_0_3.json"), "T_1_ab_0_3.json");
        assert_eq!(
            owned_name("T_1_ab_0", "orders_7.json"),
            "T_1_ab_0.orders_7.json"
        );
        // A custom name that merely begins like the prefix is not taken for the writer's.
        assert_eq!(
            owned_name("T_1_ab_0", "T_1_ab_0x_1.json"),
            "T_1_ab_0.T_1_ab_0x_1.json"
        );
        assert!(owned_by(
            &owned_name("T_1_ab_0", "T_1_ab_0x_1.json"),
            "T_1_ab_0"
        ));
        assert!(!owned_by("T_1_ab_01_0.json", "T_1_ab_0"));
    }

    #[test]
    fn seatunnel_file_name_expressions_name_files_and_never_alike() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .and_then(|d| d.and_hms_opt(10, 30, 0))
            .unwrap();
        let default = naming(serde_json::json!({"file_name_expression": "x"})).unwrap();
        assert_eq!(default, FileNaming::Default, "only with custom_filename");
        assert_eq!(default.stem("T_1_ab_0", &now), "T_1_ab_0");
        let custom = naming(serde_json::json!({
            "custom_filename": true,
            "file_name_expression": "${transactionId}_${now}",
            "filename_time_format": "yyyyMMdd",
        }))
        .unwrap();
        assert_eq!(custom.stem("T_1_ab_0", &now), "T_1_ab_0_20261202");
        let by_default = naming(serde_json::json!({"custom_filename": true})).unwrap();
        assert_eq!(by_default.stem("T_1_ab_0", &now), "T_1_ab_0");
        let uuid = naming(serde_json::json!({
            "custom_filename": true, "file_name_expression": "day_${yyyy.MM.dd}_${uuid}",
        }))
        .unwrap();
        let a = uuid.stem("T", &now);
        assert!(a.starts_with("day_2026.12.02_") && a.len() > 20, "{a}");
        assert_ne!(a, uuid.stem("T", &now));
        let clash = naming(serde_json::json!({
            "custom_filename": true, "file_name_expression": "${now}",
        }))
        .unwrap_err()
        .to_string();
        assert!(
            clash.contains("names every writer's files alike"),
            "{clash}"
        );
    }
}
