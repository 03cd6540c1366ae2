//! How a file's bytes become the text a file source parses, as SeaTunnel's file sources take
//! them: archives (`archive_compress_codec`: zip, tar, tar_gz, gz) opened entry by entry and
//! streamed, and character sets (`encoding`: gbk, iso-8859-1, ...) decoded to UTF-8 as they
//! are read; and, for file sinks, UTF-8 encoded back into the configured character set.
//! Nothing is unpacked to disk or held whole in memory.

use encoding_rs::Encoding;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use weir_core::{WeirError, WeirResult};

/// `archive_compress_codec`: how files are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveCodec {
    None,
    Zip,
    Tar,
    TarGz,
    Gz,
}

impl ArchiveCodec {
    pub fn parse(s: &str) -> WeirResult<ArchiveCodec> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => ArchiveCodec::None,
            "zip" => ArchiveCodec::Zip,
            "tar" => ArchiveCodec::Tar,
            "tar_gz" | "tar.gz" | "tgz" => ArchiveCodec::TarGz,
            "gz" | "gzip" => ArchiveCodec::Gz,
            other => {
                return Err(WeirError::new(format!(
                    "archive_compress_codec '{other}' is not supported"
                ))
                .with_hint("use none, zip, tar, tar_gz or gz"))
            }
        })
    }
}

/// `compress_codec` of a text, csv or json file: SeaTunnel knows `lzo` (lzop files) there;
/// `none` is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCompression {
    None,
    Lzo,
}

impl TextCompression {
    pub fn parse(s: &str) -> WeirResult<TextCompression> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(TextCompression::None),
            "lzo" => Ok(TextCompression::Lzo),
            other => Err(WeirError::new(format!(
                "compress_codec '{other}' does not apply to text, csv and json files"
            ))
            .with_hint(
                "SeaTunnel's text formats take lzo or none; gzip files are archive_compress_codec = gz",
            )),
        }
    }

    /// The suffix SeaTunnel puts before the format's own (`.lzo.txt`).
    pub fn suffix(self) -> &'static str {
        match self {
            TextCompression::None => "",
            TextCompression::Lzo => ".lzo",
        }
    }

    /// The bytes of `raw`, decompressed as they are read.
    pub fn reader(self, raw: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        match self {
            TextCompression::None => raw,
            TextCompression::Lzo => Box::new(super::lzop::LzopReader::new(raw)),
        }
    }
}

/// `encoding`: the character set of text files (UTF-8 by default).
pub fn parse_encoding(s: &str) -> WeirResult<&'static Encoding> {
    Encoding::for_label(s.trim().as_bytes()).ok_or_else(|| {
        WeirError::new(format!("encoding '{s}' is not a known character set"))
            .with_hint("use e.g. utf-8, gbk, gb18030, big5, shift_jis, iso-8859-1 or windows-1252")
    })
}

/// One readable part of the input: a whole file, or one entry of an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub path: PathBuf,
    pub entry: Entry,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Whole,
    /// A gzip stream.
    Gz,
    /// Every regular file of a tar archive, one after the other (gzip-compressed or not).
    Tar {
        gz: bool,
    },
    /// One file of a zip archive: where its data starts, how long it is, whether deflated.
    Zip {
        name: String,
        offset: u64,
        size: u64,
        deflated: bool,
    },
}

impl Part {
    /// How the part is named in errors: the file, and the entry of an archive.
    pub fn shown(&self) -> String {
        match &self.entry {
            Entry::Zip { name, .. } => format!("{}!{name}", self.path.display()),
            _ => self.path.display().to_string(),
        }
    }
}

/// The parts of `files` packed with `codec`.
pub fn parts(files: &[PathBuf], codec: ArchiveCodec) -> WeirResult<Vec<Part>> {
    let mut out = Vec::new();
    for path in files {
        let part = |entry| Part {
            path: path.clone(),
            entry,
        };
        match codec {
            ArchiveCodec::None => out.push(part(Entry::Whole)),
            ArchiveCodec::Gz => out.push(part(Entry::Gz)),
            ArchiveCodec::Tar => out.push(part(Entry::Tar { gz: false })),
            ArchiveCodec::TarGz => out.push(part(Entry::Tar { gz: true })),
            ArchiveCodec::Zip => out.extend(zip_entries(path)?.into_iter().map(part)),
        }
    }
    Ok(out)
}

fn zip_entries(path: &Path) -> WeirResult<Vec<Entry>> {
    let bad = |e: zip::result::ZipError| {
        WeirError::new(format!(
            "{} is not a readable zip archive: {e}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path)
        .map_err(|e| WeirError::new(format!("opening {}: {e}", path.display())))?;
    let mut archive = zip::ZipArchive::new(file).map_err(bad)?;
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let f = archive.by_index_raw(i).map_err(bad)?;
        if !f.is_file() {
            continue;
        }
        let name = f.name().map_err(bad)?.to_string();
        if f.encrypted() {
            return Err(WeirError::new(format!(
                "{}!{name} is encrypted; weir reads only unencrypted zip entries",
                path.display()
            )));
        }
        let deflated = match f.compression() {
            zip::CompressionMethod::Stored => false,
            zip::CompressionMethod::Deflated => true,
            other => {
                return Err(WeirError::new(format!(
                "{}!{name} is compressed with {other}; weir reads stored and deflated zip entries",
                path.display()
            )))
            }
        };
        let offset = f
            .data_start()
            .ok_or_else(|| WeirError::new(format!("{}!{name}: no data offset", path.display())))?;
        entries.push(Entry::Zip {
            name,
            offset,
            size: f.compressed_size(),
            deflated,
        });
    }
    Ok(entries)
}

/// The part's bytes, unpacked as they are read.
pub fn open(part: &Part) -> WeirResult<Box<dyn Read + Send>> {
    let mut file = std::fs::File::open(&part.path)
        .map_err(|e| WeirError::new(format!("opening {}: {e}", part.path.display())))?;
    Ok(match &part.entry {
        Entry::Whole => Box::new(file),
        Entry::Gz => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Entry::Tar { gz: false } => Box::new(TarFiles::new(file)),
        Entry::Tar { gz: true } => Box::new(TarFiles::new(flate2::read::GzDecoder::new(file))),
        Entry::Zip {
            offset,
            size,
            deflated,
            ..
        } => {
            file.seek(SeekFrom::Start(*offset))
                .map_err(|e| WeirError::new(format!("reading {}: {e}", part.shown())))?;
            let data = file.take(*size);
            if *deflated {
                Box::new(flate2::read::DeflateDecoder::new(data))
            } else {
                Box::new(data)
            }
        }
    })
}

/// The regular files of a tar stream, one after the other, each ended by a newline so the last
/// line of one file and the first of the next stay apart.
struct TarFiles<R> {
    inner: R,
    /// Bytes of the current file still to read, then its padding to 512.
    remaining: u64,
    padding: u64,
    /// Whether the file read last ended with a newline.
    ended_with_newline: bool,
    pending_newline: bool,
    done: bool,
}

impl<R: Read> TarFiles<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            remaining: 0,
            padding: 0,
            ended_with_newline: true,
            pending_newline: false,
            done: false,
        }
    }

    fn skip(&mut self, mut n: u64) -> std::io::Result<()> {
        let mut buf = [0u8; 512];
        while n > 0 {
            let want = n.min(512) as usize;
            self.inner.read_exact(&mut buf[..want])?;
            n -= want as u64;
        }
        Ok(())
    }

    /// Moves to the next regular file; false at the end of the archive.
    fn next_file(&mut self) -> std::io::Result<bool> {
        loop {
            let mut header = [0u8; 512];
            match self.inner.read_exact(&mut header) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(e) => return Err(e),
            }
            if header.iter().all(|b| *b == 0) {
                return Ok(false);
            }
            let size = tar_size(&header[124..136]).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "a tar header has a bad size",
                )
            })?;
            let padding = (512 - size % 512) % 512;
            // '0' and NUL are regular files; everything else (directories, links, long-name
            // and pax records) is skipped.
            if matches!(header[156], b'0' | 0) {
                self.remaining = size;
                self.padding = padding;
                return Ok(true);
            }
            self.skip(size + padding)?;
        }
    }
}

/// An octal (or base-256) tar size field.
fn tar_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        return Some(
            field[1..]
                .iter()
                .fold(0u64, |n, b| (n << 8) | u64::from(*b)),
        );
    }
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

impl<R: Read> Read for TarFiles<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() || self.done {
            return Ok(0);
        }
        loop {
            if self.pending_newline {
                self.pending_newline = false;
                self.ended_with_newline = true;
                buf[0] = b'\n';
                return Ok(1);
            }
            if self.remaining > 0 {
                let want = buf.len().min(self.remaining as usize);
                let n = self.inner.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the tar archive ends inside a file",
                    ));
                }
                self.remaining -= n as u64;
                self.ended_with_newline = buf[n - 1] == b'\n';
                return Ok(n);
            }
            if self.padding > 0 {
                let p = self.padding;
                self.padding = 0;
                self.skip(p)?;
            }
            if !self.ended_with_newline {
                self.pending_newline = true;
                continue;
            }
            if !self.next_file()? {
                self.done = true;
                return Ok(0);
            }
        }
    }
}

/// Decodes a byte stream of `encoding` into UTF-8 as it is read.
pub struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    at: usize,
    finished: bool,
}

impl<R: Read> Decoding<R> {
    pub fn new(inner: R, encoding: &'static Encoding) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            input: vec![0; 64 * 1024],
            output: Vec::new(),
            at: 0,
            finished: false,
        }
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.output.len() {
            if self.finished {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            let last = n == 0;
            let mut out =
                String::with_capacity(self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16));
            let (_, _, _) = self
                .decoder
                .decode_to_string(&self.input[..n], &mut out, last);
            self.output = out.into_bytes();
            self.at = 0;
            self.finished = last;
        }
        let n = buf.len().min(self.output.len() - self.at);
        buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Encodes the UTF-8 written to it into another character set (a file sink's `encoding`).
pub struct EncodingWriter<W> {
    inner: W,
    encoder: encoding_rs::Encoder,
    /// The start of a character split across two writes.
    partial: Vec<u8>,
}

impl<W: std::io::Write> EncodingWriter<W> {
    pub fn new(inner: W, encoding: &'static encoding_rs::Encoding) -> Self {
        Self {
            inner,
            encoder: encoding.new_encoder(),
            partial: Vec::new(),
        }
    }

    /// The writer the encoded bytes went to.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: std::io::Write> std::io::Write for EncodingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.partial) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "a file sink was given text that is not UTF-8",
                ))
            }
        };
        let text = std::str::from_utf8(&self.partial[..valid]).unwrap_or_default();
        let mut out = Vec::with_capacity(
            self.encoder
                .max_buffer_length_from_utf8_if_no_unmappables(text.len())
                .unwrap_or(text.len() * 4)
                + 16,
        );
        let mut rest = text;
        loop {
            let (result, read) = self
                .encoder
                .encode_from_utf8_to_vec_without_replacement(rest, &mut out, false);
            rest = &rest[read..];
            match result {
                encoding_rs::EncoderResult::InputEmpty => break,
                encoding_rs::EncoderResult::OutputFull => out.reserve(out.capacity().max(64)),
                // A character the set cannot hold is written as a numeric reference, as
                // Java's writers replace it rather than fail.
                encoding_rs::EncoderResult::Unmappable(c) => {
                    out.extend_from_slice(format!("&#{};", c as u32).as_bytes())
                }
            }
        }
        self.inner.write_all(&out)?;
        self.partial.drain(..valid);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Encodes UTF-8 text into `encoding` for a file sink (UTF-8 passes through).
pub fn encode(text: &[u8], encoding: &'static Encoding) -> Vec<u8> {
    if encoding == encoding_rs::UTF_8 {
        return text.to_vec();
    }
    let text = String::from_utf8_lossy(text);
    let (bytes, _, _) = encoding.encode(&text);
    bytes.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(part: &Part) -> String {
        let mut s = String::new();
        open(part).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    fn tar_with(files: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, body) in files {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            let size = format!("{:011o}\0", body.len());
            h[124..136].copy_from_slice(size.as_bytes());
            h[156] = b'0';
            out.extend_from_slice(&h);
            out.extend_from_slice(body.as_bytes());
            out.extend(std::iter::repeat_n(0u8, (512 - body.len() % 512) % 512));
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    #[test]
    fn archives_unpack_as_they_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("a.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"1,a\n2,b\n").unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let p = parts(std::slice::from_ref(&gz), ArchiveCodec::Gz).unwrap();
        assert_eq!(read_all(&p[0]), "1,a\n2,b\n");

        let tar = dir.path().join("b.tar");
        std::fs::write(&tar, tar_with(&[("x.csv", "1,a\n2,b"), ("y.csv", "3,c\n")])).unwrap();
        let p = parts(std::slice::from_ref(&tar), ArchiveCodec::Tar).unwrap();
        assert_eq!(read_all(&p[0]), "1,a\n2,b\n3,c\n");

        let zip_path = dir.path().join("c.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file("one.txt", deflated).unwrap();
        z.write_all("héllo\nworld\n".repeat(50).as_bytes()).unwrap();
        z.add_directory("sub/", stored).unwrap();
        z.start_file("sub/two.txt", stored).unwrap();
        z.write_all(b"second\n").unwrap();
        z.finish().unwrap();
        let p = parts(&[zip_path], ArchiveCodec::Zip).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(read_all(&p[0]), "héllo\nworld\n".repeat(50));
        assert_eq!(read_all(&p[1]), "second\n");
        assert!(p[1].shown().ends_with("c.zip!sub/two.txt"));
    }

    #[test]
    fn character_sets_decode_to_utf8_and_back() {
        let gbk = parse_encoding("GBK").unwrap();
        let (bytes, _, _) = gbk.encode("名字,城市\n北京,上海\n");
        let mut s = String::new();
        Decoding::new(&bytes[..], gbk)
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "名字,城市\n北京,上海\n");
        assert_eq!(
            encode("北京".as_bytes(), gbk),
            gbk.encode("北京").0.to_vec()
        );
        // Written in pieces that split a character: the same bytes.
        let mut w = EncodingWriter::new(Vec::new(), gbk);
        let text = "北京,上海\n".as_bytes();
        std::io::Write::write_all(&mut w, &text[..4]).unwrap();
        std::io::Write::write_all(&mut w, &text[4..]).unwrap();
        assert_eq!(w.inner, gbk.encode("北京,上海\n").0.to_vec());
        assert!(parse_encoding("klingon").is_err());
        assert!(ArchiveCodec::parse("rar").is_err());
        assert_eq!(TextCompression::parse("LZO").unwrap(), TextCompression::Lzo);
        assert!(TextCompression::parse("snappy").is_err());
    }
}
