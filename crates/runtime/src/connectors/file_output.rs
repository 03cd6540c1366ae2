//! How a file sink's bytes reach its file: the `compress_codec` each format takes, resolved
//! once (`SinkCodec`), and for the text formats the chain from UTF-8 text to the file, through
//! the `encoding` character set and an lzop stream (`Output`), which must be finished so the
//! stream's end mark is written.

use super::file_codec::{EncodingWriter, TextCompression};
use super::local_file_source::FileFormat;
use super::lzop::LzopWriter;
use super::orc::OrcCompression;
use std::fs::File;
use std::io::{self, Write};
use weir_core::{WeirError, WeirResult};

/// `compress_codec` of a file sink, as the format takes it.
#[derive(Debug, Clone, Copy)]
pub enum SinkCodec {
    /// Text, csv, json and xml: plain or lzop.
    Text(TextCompression),
    Parquet(parquet::basic::Compression),
    Orc(OrcCompression),
    /// Excel workbooks are zip files already.
    None,
}

impl SinkCodec {
    /// The codec `codec` (SeaTunnel's name, `none` when unset) means for `format`.
    pub fn resolve(format: FileFormat, codec: Option<&str>) -> WeirResult<SinkCodec> {
        let codec = codec.unwrap_or("none");
        let none = matches!(codec.trim().to_ascii_lowercase().as_str(), "" | "none");
        Ok(match format {
            FileFormat::Text | FileFormat::Csv | FileFormat::Json => {
                SinkCodec::Text(TextCompression::parse(codec)?)
            }
            FileFormat::Parquet => SinkCodec::Parquet(parquet_compression(codec)?),
            FileFormat::Orc => SinkCodec::Orc(OrcCompression::parse(codec)?),
            FileFormat::Xml | FileFormat::Excel if none => match format {
                FileFormat::Xml => SinkCodec::Text(TextCompression::None),
                _ => SinkCodec::None,
            },
            FileFormat::Xml | FileFormat::Excel => {
                return Err(WeirError::new(format!(
                    "compress_codec '{codec}' does not apply to {} files",
                    format.extension()
                ))
                .with_hint("remove compress_codec"))
            }
        })
    }

    /// What SeaTunnel puts between a file's name and its format's extension (`.lzo`, `.zlib`).
    pub fn suffix(self) -> &'static str {
        match self {
            SinkCodec::Text(t) => t.suffix(),
            SinkCodec::Orc(o) => o.suffix(),
            SinkCodec::Parquet(_) | SinkCodec::None => "",
        }
    }
}

/// `compress_codec` of a parquet sink, as SeaTunnel names them.
fn parquet_compression(codec: &str) -> WeirResult<parquet::basic::Compression> {
    use parquet::basic::{Compression, GzipLevel, ZstdLevel};
    Ok(match codec.trim().to_ascii_lowercase().as_str() {
        "" | "none" => Compression::UNCOMPRESSED,
        "snappy" => Compression::SNAPPY,
        "gzip" => Compression::GZIP(GzipLevel::default()),
        "zstd" => Compression::ZSTD(ZstdLevel::default()),
        "lz4" => Compression::LZ4_RAW,
        other => {
            return Err(WeirError::new(format!(
                "compress_codec '{other}' is not supported for parquet files"
            ))
            .with_hint("use none, snappy, gzip, zstd or lz4"))
        }
    })
}

/// The file, or an lzop stream into it.
enum Compressed {
    Plain(File),
    Lzo(LzopWriter<File>),
}

impl Write for Compressed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressed::Plain(f) => f.write(buf),
            Compressed::Lzo(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressed::Plain(f) => f.flush(),
            Compressed::Lzo(w) => w.flush(),
        }
    }
}

impl Compressed {
    fn finish(self) -> io::Result<()> {
        match self {
            Compressed::Plain(mut f) => f.flush(),
            Compressed::Lzo(w) => w.finish().map(drop),
        }
    }
}

/// Where a text file's UTF-8 goes: through its character set and compression into the file.
pub struct Output(OutputInner);

enum OutputInner {
    Utf8(Compressed),
    Encoded(EncodingWriter<Compressed>),
}

impl Output {
    pub fn new(
        file: File,
        encoding: &'static encoding_rs::Encoding,
        compression: TextCompression,
    ) -> Output {
        let compressed = match compression {
            TextCompression::None => Compressed::Plain(file),
            TextCompression::Lzo => Compressed::Lzo(LzopWriter::new(file)),
        };
        Output(if encoding == encoding_rs::UTF_8 {
            OutputInner::Utf8(compressed)
        } else {
            OutputInner::Encoded(EncodingWriter::new(compressed, encoding))
        })
    }

    /// Writes what is still held (an lzop stream's last block and end mark).
    pub fn finish(self) -> io::Result<()> {
        match self.0 {
            OutputInner::Utf8(c) => c.finish(),
            OutputInner::Encoded(mut e) => {
                e.flush()?;
                e.into_inner().finish()
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.0 {
            OutputInner::Utf8(c) => c.write(buf),
            OutputInner::Encoded(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            OutputInner::Utf8(c) => c.flush(),
            OutputInner::Encoded(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn each_format_takes_its_own_codecs() {
        assert_eq!(
            SinkCodec::resolve(FileFormat::Text, Some("lzo"))
                .unwrap()
                .suffix(),
            ".lzo"
        );
        assert_eq!(
            SinkCodec::resolve(FileFormat::Orc, Some("zlib"))
                .unwrap()
                .suffix(),
            ".zlib"
        );
        assert!(SinkCodec::resolve(FileFormat::Json, Some("gzip")).is_err());
        assert!(SinkCodec::resolve(FileFormat::Parquet, Some("lzo")).is_err());
        assert!(SinkCodec::resolve(FileFormat::Xml, Some("lzo")).is_err());
        assert!(SinkCodec::resolve(FileFormat::Excel, None).is_ok());
    }

    #[test]
    fn gbk_text_is_compressed_after_it_is_encoded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lzo.txt");
        let mut out = Output::new(
            File::create(&path).unwrap(),
            encoding_rs::GBK,
            TextCompression::Lzo,
        );
        out.write_all("北京,上海\n".as_bytes()).unwrap();
        out.finish().unwrap();
        let mut bytes = Vec::new();
        super::super::lzop::LzopReader::new(File::open(&path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(bytes, encoding_rs::GBK.encode("北京,上海\n").0.to_vec());
    }
}
