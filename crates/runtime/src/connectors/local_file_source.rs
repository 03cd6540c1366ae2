//! `LocalFile` source: reads `text`, `csv`, `json` (one object per line), `parquet`, `orc`,
//! `xml` and `excel` files from a file or a directory. Each file is a split; file i goes to subtask i mod parallelism.

use super::file_codec::{self, ArchiveCodec, Part, TextCompression};
use super::xml::{XmlLayout, XmlRows};
use crate::batch::Batch;
use crate::operator::{
    PrepareContext, PreparedSource, SourceEvent, SourceFactory, SourceReader, SubtaskContext,
};
use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::types::parse_schema;
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

const BATCH_ROWS: usize = 8192;

/// The file formats weir reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Text,
    Csv,
    Json,
    Parquet,
    /// xlsx workbooks, one sheet read or written (see `excel`).
    Excel,
    /// ORC files (see `orc`).
    Orc,
    /// Rows as XML elements (see `xml`).
    Xml,
}

impl FileFormat {
    /// Reads SeaTunnel's `file_format_type`.
    pub fn parse(s: &str) -> WeirResult<FileFormat> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(FileFormat::Text),
            "csv" => Ok(FileFormat::Csv),
            "json" => Ok(FileFormat::Json),
            "parquet" => Ok(FileFormat::Parquet),
            "excel" => Ok(FileFormat::Excel),
            "orc" => Ok(FileFormat::Orc),
            "xml" => Ok(FileFormat::Xml),
            other => Err(WeirError::new(format!(
                "unknown file_format_type '{other}'; use text, csv, json, parquet, orc, xml, excel or binary"
            ))),
        }
    }

    /// File name extension SeaTunnel uses.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Text => "txt",
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
            FileFormat::Parquet => "parquet",
            FileFormat::Excel => "xlsx",
            FileFormat::Orc => "orc",
            FileFormat::Xml => "xml",
        }
    }

    /// Whether files of this format say their own columns and compression.
    pub fn self_describing(self) -> bool {
        matches!(self, FileFormat::Parquet | FileFormat::Orc)
    }
}

/// The `schema` option, when it declares columns: a multi-table entry may give only
/// `schema = { table = ... }`, which for parquet and orc files names the table and leaves the
/// columns to the files.
fn declared_schema(o: &Options) -> WeirResult<Option<SchemaRef>> {
    match o.get("schema") {
        Some(s) if s.get("fields").is_some() || s.get("columns").is_some() => {
            Ok(Some(Arc::new(parse_schema(s).map_err(|t| {
                WeirError::new(format!("bad schema: {}", t.0))
            })?)))
        }
        _ => Ok(None),
    }
}

/// Unescapes delimiters written as `\t`, `\001`, `\u0001`.
pub fn unescape_delimiter(s: &str) -> String {
    match s {
        "\\t" => "\t".into(),
        "\\n" => "\n".into(),
        "\\001" | "\\u0001" => "\u{1}".into(),
        _ => s.to_string(),
    }
}

/// The options of every file source but where it reads (`path`, or a bucket and a path).
pub fn file_source_options() -> Vec<OptionSpec> {
    use OptionType::*;
    vec![
        OptionSpec::required("file_format_type", String),
        OptionSpec::optional("schema", Object),
        OptionSpec::optional("field_delimiter", String),
        OptionSpec::optional("delimiter", String),
        OptionSpec::optional("skip_header_row_number", Int),
        OptionSpec::optional("read_columns", StringList),
        OptionSpec::optional("file_filter_pattern", String),
        OptionSpec::optional("compress_codec", String),
        OptionSpec::optional("archive_compress_codec", String),
        OptionSpec::optional("encoding", String),
        OptionSpec::optional("parse_partition_from_path", Bool),
        OptionSpec::optional("sheet_name", String),
        OptionSpec::optional("xml_row_tag", String),
        OptionSpec::optional("xml_use_attr_format", Bool),
    ]
}

/// SeaTunnel options every file source accepts and weir has no use for.
pub const FILE_SOURCE_IGNORED: &[&str] = &["date_format", "datetime_format", "time_format"];

pub struct LocalFileSourceFactory;

impl SourceFactory for LocalFileSourceFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "LocalFile",
            PluginKind::Source,
            std::iter::once(OptionSpec::required("path", OptionType::String))
                .chain(file_source_options())
                .collect(),
        )
        .ignoring(FILE_SOURCE_IGNORED)
    }

    fn prepare(&self, o: &Options, ctx: &PrepareContext) -> WeirResult<Arc<dyn PreparedSource>> {
        let e = WeirError::new;
        let path = PathBuf::from(o.str("path").map_err(e)?.unwrap_or_default());
        let path = ctx
            .sandbox
            .check(&path, "LocalFile's path")
            .map_err(WeirError::new)?;
        let format_name = o.str("file_format_type").map_err(e)?.unwrap_or_default();
        let filter = match o.str("file_filter_pattern").map_err(e)? {
            Some(p) => Some(
                regex::Regex::new(&p)
                    .map_err(|err| WeirError::new(format!("bad file_filter_pattern: {err}")))?,
            ),
            None => None,
        };
        let files = list_files(&path, filter.as_ref())?;
        let archive = ArchiveCodec::parse(
            &o.str("archive_compress_codec")
                .map_err(e)?
                .unwrap_or_default(),
        )?;
        if format_name.trim().eq_ignore_ascii_case("binary") {
            // Files as they are: no schema, no parsing, archives still unpacked.
            let parts = file_codec::parts(&files, archive)?;
            let root = if path.is_file() {
                path.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                path
            };
            return Ok(Arc::new(
                super::local_file_binary::PreparedBinarySource::new(root, parts),
            ));
        }
        let format = FileFormat::parse(&format_name)?;
        // Hive-style directories (`.../name=ann/hobby=coding/file`) are columns of every row
        // below them, as SeaTunnel reads them: strings, after the file's own columns.
        let parse_partitions = o
            .bool("parse_partition_from_path")
            .map_err(e)?
            .unwrap_or(true);
        let partition_keys: Vec<String> = match files.first() {
            Some(f) if parse_partitions => partition_pairs(&path, f)
                .into_iter()
                .map(|(k, _)| k)
                .collect(),
            _ => Vec::new(),
        };
        let decoder = FileDecoder::from_options(
            o,
            format,
            archive,
            files.first().map(PathBuf::as_path),
            partition_keys,
            &path.display().to_string(),
        )?;
        let parts: Vec<FilePart> = file_codec::parts(&files, archive)?
            .into_iter()
            .map(|part| {
                let relative = part.path.strip_prefix(&path).unwrap_or(&part.path);
                FilePart {
                    partition: Arc::new(decoder.partition_values(relative)),
                    part,
                }
            })
            .collect();
        Ok(Arc::new(PreparedLocalFile {
            parts,
            decoder: Arc::new(decoder),
        }))
    }
}

/// The `key=value` directories between `root` and `file`, outermost first.
pub fn partition_pairs(root: &Path, file: &Path) -> Vec<(String, String)> {
    let Ok(relative) = file.strip_prefix(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<_> = relative.components().collect();
    dirs.pop(); // the file itself
    dirs.iter()
        .filter_map(|c| c.as_os_str().to_str())
        .filter_map(|d| d.split_once('='))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A part to read and the partition values of the directory it is in.
#[derive(Clone)]
struct FilePart {
    part: Part,
    partition: Arc<Vec<Option<String>>>,
}

fn list_files(path: &Path, filter: Option<&regex::Regex>) -> WeirResult<Vec<PathBuf>> {
    let meta = std::fs::metadata(path)
        .map_err(|err| WeirError::new(format!("cannot read path '{}': {err}", path.display())))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|err| WeirError::new(format!("cannot list '{}': {err}", dir.display())))?;
        for entry in entries.flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name.starts_with('_') {
                continue; // hidden and in-progress files
            }
            if p.is_dir() {
                stack.push(p);
            } else if filter.map(|f| f.is_match(&name)).unwrap_or(true) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

struct PreparedLocalFile {
    /// Files, or entries of archives, dealt out to the readers.
    parts: Vec<FilePart>,
    decoder: Arc<FileDecoder>,
}

impl PreparedSource for PreparedLocalFile {
    fn schema(&self) -> SchemaRef {
        self.decoder.output_schema()
    }

    fn create_reader(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SourceReader>> {
        let files = self
            .parts
            .iter()
            .enumerate()
            .filter(|(i, _)| i % subtask.parallelism == subtask.index)
            .map(|(_, f)| f.clone())
            .collect();
        Ok(Box::new(LocalFileReader {
            decoder: self.decoder.clone(),
            files,
            next_file: 0,
            current: None,
        }))
    }
}

/// Batches read from one part of a file.
pub type BatchIter = Box<dyn Iterator<Item = WeirResult<RecordBatch>> + Send>;

/// How a file source turns files into rows: their format and its options, the schema and
/// partition columns, the projection. Shared by every file source (`LocalFile` here,
/// `S3File` in `weir-objectfile`, which reads local copies of its objects).
pub struct FileDecoder {
    compression: TextCompression,
    /// How an xml source's rows are laid out.
    xml: Option<XmlLayout>,
    encoding: &'static encoding_rs::Encoding,
    format: FileFormat,
    /// The columns in the files; `schema` adds the partition columns after them.
    file_schema: SchemaRef,
    schema: SchemaRef,
    partition_keys: Vec<String>,
    projection: Option<Vec<usize>>,
    delimiter: String,
    skip_lines: usize,
    /// The sheet an excel source reads (the first when unset).
    sheet_name: Option<String>,
}

impl FileDecoder {
    /// Reads a file source's options (LocalFile's, less `path` and `file_filter_pattern`) for
    /// files of `format` packed with `archive`. `sample` is a local copy of the first file,
    /// which parquet and orc schemas come from; `partition_keys` are the `key=value`
    /// directories above it (after `parse_partition_from_path`), which become string columns
    /// after the file's own; `shown_root` names the input in errors.
    pub fn from_options(
        o: &Options,
        format: FileFormat,
        archive: ArchiveCodec,
        sample: Option<&Path>,
        partition_keys: Vec<String>,
        shown_root: &str,
    ) -> WeirResult<FileDecoder> {
        let e = WeirError::new;
        let encoding = match o.str("encoding").map_err(e)? {
            Some(name) => file_codec::parse_encoding(&name)?,
            None => encoding_rs::UTF_8,
        };
        let compression = match o.str("compress_codec").map_err(e)? {
            // Parquet and orc files say how their pages and stripes are compressed.
            Some(_) if format.self_describing() => TextCompression::None,
            Some(codec) if matches!(format, FileFormat::Excel | FileFormat::Xml) => {
                if TextCompression::parse(&codec)? != TextCompression::None {
                    return Err(WeirError::new(format!(
                        "compress_codec '{codec}' does not apply to {} files",
                        format.extension()
                    ))
                    .with_hint(
                        "remove compress_codec; zipped files are archive_compress_codec = zip",
                    ));
                }
                TextCompression::None
            }
            Some(codec) => TextCompression::parse(&codec)?,
            None => TextCompression::None,
        };
        if matches!(
            format,
            FileFormat::Parquet | FileFormat::Orc | FileFormat::Excel
        ) && (archive != ArchiveCodec::None || encoding != encoding_rs::UTF_8)
        {
            return Err(WeirError::new(format!(
                "{} files are read as they are: archive_compress_codec and encoding do not apply",
                format.extension()
            ))
            .with_hint("remove archive_compress_codec and encoding, or unpack the files first"));
        }
        let declared = declared_schema(o)?;
        let schema: SchemaRef = match (format, declared) {
            (FileFormat::Orc, declared) => {
                let first = sample
                    .ok_or_else(|| WeirError::new(format!("no orc file under {shown_root}")))?;
                super::orc::read_schema(&super::orc::file_schema(first)?, declared.as_deref())
            }
            (FileFormat::Parquet, _) => {
                let first = sample
                    .ok_or_else(|| WeirError::new(format!("no parquet file under {shown_root}")))?;
                let f = File::open(first)
                    .map_err(|err| WeirError::new(format!("opening {}: {err}", first.display())))?;
                let builder =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                        .map_err(|err| {
                            WeirError::new(format!(
                                "{} is not a parquet file: {err}",
                                first.display()
                            ))
                        })?;
                builder.schema().clone()
            }
            (_, Some(s)) => s,
            (FileFormat::Text, None) => Arc::new(Schema::new(vec![Field::new(
                "content",
                DataType::Utf8,
                true,
            )])),
            (f, None) => {
                return Err(WeirError::new(format!(
                    "reading {} files needs a schema",
                    f.extension()
                ))
                .with_hint("add schema { fields { name = type, ... } }"))
            }
        };
        let partition_keys: Vec<String> = partition_keys
            .into_iter()
            .filter(|k| schema.index_of(k).is_err())
            .collect();
        let file_schema = schema;
        let schema: SchemaRef = if partition_keys.is_empty() {
            file_schema.clone()
        } else {
            let mut fields: Vec<Field> = file_schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.extend(
                partition_keys
                    .iter()
                    .map(|k| Field::new(k, DataType::Utf8, true)),
            );
            Arc::new(Schema::new(fields))
        };
        let projection = match o.str_list("read_columns").map_err(e)? {
            Some(cols) => Some(
                cols.iter()
                    .map(|c| {
                        schema.index_of(c).map_err(|_| {
                            WeirError::new(format!("read_columns: '{c}' is not in the schema"))
                        })
                    })
                    .collect::<WeirResult<Vec<_>>>()?,
            ),
            None => None,
        };
        let delimiter = o
            .first_key(&["field_delimiter", "delimiter"])
            .and_then(|k| o.str(k).ok().flatten())
            .map(|d| unescape_delimiter(&d))
            .unwrap_or_else(|| {
                if format == FileFormat::Csv {
                    ",".into()
                } else {
                    "\u{1}".into()
                }
            });
        let xml = if format == FileFormat::Xml {
            match (
                o.str("xml_row_tag").map_err(e)?,
                o.bool("xml_use_attr_format").map_err(e)?,
            ) {
                (Some(row_tag), Some(use_attributes)) if !row_tag.trim().is_empty() => {
                    Some(XmlLayout {
                        root_tag: String::new(),
                        row_tag,
                        use_attributes,
                    })
                }
                _ => {
                    return Err(WeirError::new(
                        "reading xml files needs 'xml_row_tag' and 'xml_use_attr_format'",
                    )
                    .with_hint(
                        "name the row element (xml_row_tag = \"RECORD\") and say whether values are its attributes (xml_use_attr_format = true) or child elements (false)",
                    ))
                }
            }
        } else {
            None
        };
        Ok(FileDecoder {
            compression,
            xml,
            encoding,
            format,
            file_schema,
            schema,
            partition_keys,
            projection,
            delimiter,
            sheet_name: o.str("sheet_name").map_err(e)?,
            skip_lines: o
                .i64("skip_header_row_number")
                .map_err(e)?
                .unwrap_or(0)
                .max(0) as usize,
        })
    }

    /// The schema of the rows [`FileDecoder::finish`] returns.
    pub fn output_schema(&self) -> SchemaRef {
        match &self.projection {
            Some(p) => Arc::new(
                self.schema
                    .project(p)
                    .unwrap_or_else(|_| self.schema.as_ref().clone()),
            ),
            None => self.schema.clone(),
        }
    }

    /// The partition columns a file's directories fill, in order.
    pub fn partition_keys(&self) -> &[String] {
        &self.partition_keys
    }

    /// The values of [`FileDecoder::partition_keys`] for a file `relative` to the input root.
    pub fn partition_values(&self, relative: &Path) -> Vec<Option<String>> {
        let found = partition_pairs(Path::new(""), relative);
        self.partition_keys
            .iter()
            .map(|k| found.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.clone()))
            .collect()
    }

    /// A batch as read from a file, with its partition values added and the projection
    /// applied; `None` when it has no rows.
    pub fn finish(
        &self,
        batch: RecordBatch,
        partition: &[Option<String>],
    ) -> WeirResult<Option<RecordBatch>> {
        let b = with_partition_columns(batch, &self.schema, partition)?;
        let projected_by_reader = self.format.self_describing() && self.schema == self.file_schema;
        let b = match &self.projection {
            Some(p) if !projected_by_reader => {
                b.project(p).map_err(|e| WeirError::new(e.to_string()))?
            }
            _ => b,
        };
        Ok((b.num_rows() > 0).then_some(b))
    }
}

struct LocalFileReader {
    decoder: Arc<FileDecoder>,
    files: Vec<FilePart>,
    next_file: usize,
    current: Option<(FilePart, BatchIter)>,
}

impl FileDecoder {
    fn open_parquet(&self, path: &Path) -> WeirResult<BatchIter> {
        let file = File::open(path)
            .map_err(|e| WeirError::new(format!("opening {}: {e}", path.display())))?;
        let shown = path.display().to_string();
        let wrap =
            move |e: arrow::error::ArrowError| WeirError::new(format!("reading {shown}: {e}"));
        let mut builder =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| WeirError::new(format!("reading {}: {e}", path.display())))?
                .with_batch_size(BATCH_ROWS);
        // With partition columns the projection is applied after they are added.
        if let (Some(p), true) = (&self.projection, self.schema == self.file_schema) {
            let mask =
                parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), p.iter().copied());
            builder = builder.with_projection(mask);
        }
        let r = builder
            .build()
            .map_err(|e| WeirError::new(format!("reading {}: {e}", path.display())))?;
        Ok(Box::new(r.map(move |b| b.map_err(&wrap))))
    }

    /// Reads one part of a local file.
    pub fn open(&self, part: &Part) -> WeirResult<BatchIter> {
        let path = part.path.as_path();
        if self.format == FileFormat::Parquet {
            return self.open_parquet(path);
        }
        if self.format == FileFormat::Excel {
            let batches = super::excel::read_sheet(
                path,
                self.sheet_name.as_deref(),
                self.skip_lines,
                &self.file_schema,
                BATCH_ROWS,
            )?;
            return Ok(Box::new(batches.into_iter().map(Ok)));
        }
        if self.format == FileFormat::Orc {
            let projection = self
                .projection
                .as_deref()
                .filter(|_| self.schema == self.file_schema);
            return super::orc::open(path, self.file_schema.clone(), projection, BATCH_ROWS);
        }
        let raw = self.compression.reader(file_codec::open(part)?);
        let decoded: Box<dyn Read + Send> = if self.encoding == encoding_rs::UTF_8 {
            raw
        } else {
            Box::new(file_codec::Decoding::new(raw, self.encoding))
        };
        let mut reader = BufReader::with_capacity(1 << 20, decoded);
        {
            let mut line = String::new();
            for _ in 0..self.skip_lines {
                line.clear();
                if reader
                    .read_line(&mut line)
                    .map_err(|e| WeirError::new(e.to_string()))?
                    == 0
                {
                    break;
                }
            }
        }
        let shown = part.shown();
        let wrap =
            move |e: arrow::error::ArrowError| WeirError::new(format!("reading {shown}: {e}"));
        Ok(match self.format {
            FileFormat::Parquet | FileFormat::Excel | FileFormat::Orc => {
                unreachable!("parquet, orc and excel files are opened above")
            }
            FileFormat::Xml => {
                let layout = self
                    .xml
                    .clone()
                    .ok_or_else(|| WeirError::new("an xml source without its row layout"))?;
                let schema = self.file_schema.clone();
                let delimiter = self.delimiter.clone();
                let mut rows = XmlRows::new(reader, layout, schema.clone(), part.shown());
                Box::new(std::iter::from_fn(move || {
                    match rows.next_rows(BATCH_ROWS) {
                        Ok(r) if r.is_empty() => None,
                        Ok(r) => Some(super::xml::typed_batch(&r, &schema, &delimiter)),
                        Err(e) => Some(Err(e)),
                    }
                }))
            }
            FileFormat::Json => {
                // Bytes are base64 strings in SeaTunnel's json files.
                let schema = self.file_schema.clone();
                let r = arrow::json::ReaderBuilder::new(super::json_bytes::read_schema(&schema))
                    .with_batch_size(BATCH_ROWS)
                    .build(reader)
                    .map_err(&wrap)?;
                let shown = part.shown();
                Box::new(r.map(move |b| {
                    b.map_err(&wrap).and_then(|b| {
                        super::json_bytes::decode(b, &schema)
                            .map_err(|e| WeirError::new(format!("reading {shown}: {}", e.message)))
                    })
                }))
            }
            FileFormat::Csv if self.delimiter.len() == 1 => {
                let text_schema = utf8_schema(&self.file_schema);
                let r = arrow::csv::ReaderBuilder::new(text_schema)
                    .with_header(false)
                    .with_delimiter(self.delimiter.as_bytes()[0])
                    .with_batch_size(BATCH_ROWS)
                    .build(reader)
                    .map_err(&wrap)?;
                let schema = self.file_schema.clone();
                Box::new(r.map(move |b| b.map_err(&wrap).and_then(|b| cast_columns(&b, &schema))))
            }
            FileFormat::Text | FileFormat::Csv => {
                let schema = self.file_schema.clone();
                let delimiter = self.delimiter.clone();
                let mut lines = reader.lines();
                let shown = part.shown();
                Box::new(std::iter::from_fn(move || {
                    let mut rows: Vec<String> = Vec::with_capacity(BATCH_ROWS);
                    for line in lines.by_ref() {
                        match line {
                            Ok(l) => rows.push(l),
                            Err(e) => {
                                return Some(Err(WeirError::new(format!("reading {shown}: {e}"))))
                            }
                        }
                        if rows.len() == BATCH_ROWS {
                            break;
                        }
                    }
                    if rows.is_empty() {
                        return None;
                    }
                    Some(split_lines(&rows, &delimiter, &schema))
                }))
            }
        })
    }
}

fn utf8_schema(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

/// Splits delimited lines into columns and converts them to the declared types.
pub fn split_lines(
    rows: &[String],
    delimiter: &str,
    schema: &SchemaRef,
) -> WeirResult<RecordBatch> {
    let n = schema.fields().len();
    if n == 1 && schema.field(0).data_type() == &DataType::Utf8 {
        let col: ArrayRef = Arc::new(StringArray::from_iter_values(rows.iter()));
        return RecordBatch::try_new(schema.clone(), vec![col])
            .map_err(|e| WeirError::new(e.to_string()));
    }
    let mut columns: Vec<Vec<Option<&str>>> = vec![Vec::with_capacity(rows.len()); n];
    for row in rows {
        let mut parts = row.split(delimiter);
        for col in columns.iter_mut() {
            col.push(parts.next().filter(|s| !s.is_empty()));
        }
    }
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
        .collect();
    let text = RecordBatch::try_new(utf8_schema(schema), arrays)
        .map_err(|e| WeirError::new(e.to_string()))?;
    cast_columns(&text, schema)
}

fn cast_columns(text: &RecordBatch, schema: &SchemaRef) -> WeirResult<RecordBatch> {
    let opts = CastOptions {
        safe: false,
        ..Default::default()
    };
    let columns = text
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(col, f)| {
            if f.data_type() == &DataType::Utf8 {
                return Ok(col.clone());
            }
            if super::text_nested::is_nested(f.data_type()) {
                // Lists, maps and rows in a line, split by SeaTunnel's separators.
                let text = col.as_string::<i32>();
                let values: Vec<serde_json::Value> = (0..text.len())
                    .map(|i| {
                        if text.is_null(i) {
                            serde_json::Value::Null
                        } else {
                            super::text_nested::parse(text.value(i), f.data_type(), 0)
                        }
                    })
                    .collect();
                return crate::values::values_to_array(f.data_type(), &values).map_err(|e| {
                    WeirError::new(format!(
                        "column '{}' holds a value that is not {}: {e}",
                        f.name(),
                        f.data_type()
                    ))
                });
            }
            cast_with_options(col.as_ref(), f.data_type(), &opts).map_err(|e| {
                WeirError::new(format!(
                    "column '{}' holds a value that is not {}: {e}",
                    f.name(),
                    f.data_type()
                ))
            })
        })
        .collect::<WeirResult<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| WeirError::new(e.to_string()))
}

#[async_trait]
impl SourceReader for LocalFileReader {
    async fn next(&mut self) -> WeirResult<SourceEvent> {
        loop {
            if self.current.is_none() {
                let Some(part) = self.files.get(self.next_file).cloned() else {
                    return Ok(SourceEvent::End);
                };
                self.next_file += 1;
                let iter = self.decoder.open(&part.part)?;
                self.current = Some((part, iter));
            }
            let Some((part, iter)) = self.current.as_mut() else {
                continue;
            };
            match iter.next() {
                Some(Ok(b)) => {
                    if let Some(b) = self.decoder.finish(b, &part.partition)? {
                        return Ok(SourceEvent::Batch(Batch::inserts(b)));
                    }
                }
                Some(Err(e)) => return Err(e),
                None => self.current = None,
            }
        }
    }
}

/// The file's columns followed by its directory's partition values, one per row.
fn with_partition_columns(
    batch: RecordBatch,
    schema: &SchemaRef,
    values: &[Option<String>],
) -> WeirResult<RecordBatch> {
    if values.is_empty() {
        return Ok(batch);
    }
    let rows = batch.num_rows();
    let mut columns = batch.columns().to_vec();
    for v in values {
        columns.push(Arc::new(StringArray::from(vec![v.clone(); rows])) as ArrayRef);
    }
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| WeirError::new(format!("adding the partition columns: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int32Array};

    #[test]
    fn text_lines_split_and_cast() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("age", DataType::Int32, true),
        ]));
        let b = split_lines(&["a\t1".into(), "b\t".into()], "\t", &schema).unwrap();
        let ages = b.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(ages.value(0), 1);
        assert!(ages.is_null(1));
        let e = split_lines(&["a\tx".into()], "\t", &schema).unwrap_err();
        assert!(e.message.contains("column 'age'"), "{}", e.message);
    }

    #[test]
    fn unknown_formats_say_so() {
        assert!(FileFormat::parse("avro")
            .unwrap_err()
            .message
            .contains("unknown file_format_type 'avro'"));
        assert_eq!(FileFormat::parse("JSON").unwrap(), FileFormat::Json);
    }
}
