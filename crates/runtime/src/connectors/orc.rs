//! SeaTunnel's `orc` file format, through orc-rust: the source reads every ORC type (numbers,
//! decimals, strings, binary, dates, timestamps, lists, maps, structs) in stripes of batches,
//! taking a declared `schema`'s type for a column where the file's type converts to it, as
//! SeaTunnel's `OrcReadStrategy` does; the sink writes the types orc-rust can encode (numbers,
//! strings, binary, booleans, dates, timestamps) with zlib, snappy, lz4 or zstd, and refuses
//! the others before a row is written.

use arrow::compute::{can_cast_types, cast};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};

fn builder(path: &Path) -> WeirResult<orc_rust::ArrowReaderBuilder<File>> {
    let file =
        File::open(path).map_err(|e| WeirError::new(format!("opening {}: {e}", path.display())))?;
    Ok(orc_rust::ArrowReaderBuilder::try_new(file)
        .map_err(|e| WeirError::new(format!("{} is not an orc file: {e}", path.display())))?
        .with_timestamp_precision(orc_rust::schema::TimestampPrecision::Microsecond))
}

/// The columns of an ORC file, as weir reads them (timestamps in microseconds, like weir's
/// `timestamp`).
pub fn file_schema(path: &Path) -> WeirResult<SchemaRef> {
    Ok(builder(path)?.schema())
}

/// The schema rows are read in: the file's columns, each with the declared type at its
/// position where the file's type converts to it (SeaTunnel's `getFinalType`), else its own.
pub fn read_schema(file: &SchemaRef, declared: Option<&Schema>) -> SchemaRef {
    let Some(declared) = declared else {
        return file.clone();
    };
    let fields: Vec<Field> = file
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match declared.fields().get(i) {
            Some(d) if d.data_type() != f.data_type() && castable(f.data_type(), d.data_type()) => {
                Field::new(f.name(), d.data_type().clone(), true)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Whether a column of type `from` converts to `to`. Structs convert field by field, which
/// arrow's check does not look into.
fn castable(from: &DataType, to: &DataType) -> bool {
    match (from, to) {
        (DataType::Struct(a), DataType::Struct(b)) => {
            a.len() == b.len()
                && a.iter().zip(b.iter()).all(|(x, y)| {
                    x.data_type() == y.data_type() || castable(x.data_type(), y.data_type())
                })
        }
        _ => can_cast_types(from, to),
    }
}

/// The batches of one ORC file, converted to `schema`; `projection` picks columns by index.
pub fn open(
    path: &Path,
    schema: SchemaRef,
    projection: Option<&[usize]>,
    batch_rows: usize,
) -> WeirResult<Box<dyn Iterator<Item = WeirResult<RecordBatch>> + Send>> {
    let mut b = builder(path)?.with_batch_size(batch_rows);
    let schema = match projection {
        Some(p) => {
            let projected = Arc::new(
                schema
                    .project(p)
                    .map_err(|e| WeirError::new(e.to_string()))?,
            );
            let names: Vec<&str> = projected
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            let mask = orc_rust::projection::ProjectionMask::named_roots(
                b.file_metadata().root_data_type(),
                &names,
            );
            b = b.with_projection(mask);
            projected
        }
        None => schema,
    };
    let shown = path.display().to_string();
    Ok(Box::new(b.build().map(move |batch| {
        let batch = batch.map_err(|e| WeirError::new(format!("reading {shown}: {e}")))?;
        convert(batch, &schema)
            .map_err(|e| WeirError::new(format!("reading {shown}: {}", e.message)))
    })))
}

/// The batch's columns, by name, in `schema`'s order and types (a projection reads the
/// file's columns in the file's order).
fn convert(batch: RecordBatch, schema: &SchemaRef) -> WeirResult<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let c = batch
                .column_by_name(f.name())
                .ok_or_else(|| WeirError::new(format!("the file has no column '{}'", f.name())))?;
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c.as_ref(), f.data_type()).map_err(|e| {
                    WeirError::new(format!(
                        "column '{}' of type {} does not convert to {}: {e}",
                        f.name(),
                        c.data_type(),
                        f.data_type()
                    ))
                })
            }
        })
        .collect::<WeirResult<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| WeirError::new(e.to_string()))
}

/// `compress_codec` of an orc sink, as SeaTunnel names them.
#[derive(Debug, Clone, Copy)]
pub struct OrcCompression(Option<orc_rust::compression::CompressionType>);

impl OrcCompression {
    pub fn parse(codec: &str) -> WeirResult<OrcCompression> {
        use orc_rust::compression::CompressionType::*;
        Ok(OrcCompression(match codec.trim().to_ascii_lowercase().as_str() {
            "" | "none" => None,
            "zlib" => Some(Zlib),
            "snappy" => Some(Snappy),
            "lz4" => Some(Lz4),
            "zstd" => Some(Zstd),
            "lzo" => {
                return Err(WeirError::new(
                    "compress_codec 'lzo' is not supported for orc files: weir reads lzo-compressed orc files but cannot write them",
                )
                .with_hint("use zlib, snappy, lz4, zstd or none"))
            }
            other => {
                return Err(WeirError::new(format!(
                    "compress_codec '{other}' is not supported for orc files"
                ))
                .with_hint("use zlib, snappy, lz4, zstd or none"))
            }
        }))
    }

    /// The suffix SeaTunnel puts before `.orc`.
    pub fn suffix(self) -> &'static str {
        use orc_rust::compression::CompressionType::*;
        match self.0 {
            None => "",
            Some(Zlib) => ".zlib",
            Some(Snappy) => ".snappy",
            Some(Lz4) => ".lz4",
            Some(Zstd) => ".zstd",
            Some(Lzo) => ".lzo",
        }
    }
}

/// Refuses, by name, a column the ORC writer cannot encode: it must not fail mid-file.
pub fn check_writable(schema: &Schema) -> WeirResult<()> {
    for f in schema.fields() {
        let ok = match f.data_type() {
            DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::Date32 => true,
            DataType::Timestamp(_, tz) => matches!(tz.as_deref(), None | Some("UTC")),
            _ => false,
        };
        if !ok {
            return Err(WeirError::new(format!(
                "orc files written by weir cannot hold column '{}' of type {}",
                f.name(),
                f.data_type()
            ))
            .with_hint(
                "weir's orc writer takes numbers, strings, bytes, booleans, dates and timestamps; \
                 write parquet, or cast the column with a Sql transform",
            ));
        }
    }
    Ok(())
}

/// One ORC file being written. orc-rust's writer cannot move between threads, and a sink's
/// writer does, so the ORC writer lives on a thread of its own that takes the batches.
pub struct OrcWriter {
    batches: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    thread: Option<std::thread::JoinHandle<WeirResult<()>>>,
}

impl OrcWriter {
    pub fn new(file: File, schema: SchemaRef, compression: OrcCompression) -> WeirResult<Self> {
        check_writable(&schema)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
        let (started_tx, started_rx) = std::sync::mpsc::channel::<WeirResult<()>>();
        let thread = std::thread::Builder::new()
            .name("weir-orc-writer".into())
            .spawn(move || {
                let mut b = orc_rust::ArrowWriterBuilder::new(file, schema);
                if let Some(c) = compression.0 {
                    b = b.with_compression(c);
                }
                let mut w = match b.try_build() {
                    Ok(w) => {
                        let _ = started_tx.send(Ok(()));
                        w
                    }
                    Err(e) => {
                        let e = WeirError::new(format!("starting an orc file: {e}"));
                        let _ = started_tx.send(Err(e.clone()));
                        return Err(e);
                    }
                };
                for batch in rx {
                    w.write(&batch)
                        .map_err(|e| WeirError::new(format!("writing orc: {e}")))?;
                }
                w.close()
                    .map_err(|e| WeirError::new(format!("finishing an orc file: {e}")))
            })
            .map_err(|e| WeirError::new(format!("starting an orc writer thread: {e}")))?;
        started_rx
            .recv()
            .map_err(|_| WeirError::new("the orc writer thread ended before it started"))??;
        Ok(Self {
            batches: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> WeirResult<()> {
        let sent = self
            .batches
            .as_ref()
            .map(|tx| tx.send(batch.clone()).is_ok())
            .unwrap_or(false);
        if sent {
            return Ok(());
        }
        // The thread stopped taking batches: it failed, and says why when joined.
        Err(self
            .join()
            .err()
            .unwrap_or_else(|| WeirError::new("the orc writer stopped early")))
    }

    fn join(&mut self) -> WeirResult<()> {
        self.batches = None;
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| WeirError::new("the orc writer thread panicked"))?,
            None => Ok(()),
        }
    }

    /// Writes the file's footer; the file is complete when this returns.
    pub fn close(mut self) -> WeirResult<()> {
        self.join()
    }
}

impl Drop for OrcWriter {
    fn drop(&mut self) {
        // Closing the channel ends the thread; an unfinished file is removed by its owner.
        self.batches = None;
    }
}
