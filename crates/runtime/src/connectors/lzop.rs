//! `compress_codec = "lzo"` of text, csv and json files: the lzop container around LZO1X
//! blocks, as SeaTunnel reads and writes it (aircompressor's `LzopCodec`) and as the `lzop`
//! command does. Streamed block by block in both directions, never whole in memory.

use std::io::{self, Read, Write};

const MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
const F_ADLER32_D: u32 = 0x0000_0001;
const F_ADLER32_C: u32 = 0x0000_0002;
const F_H_EXTRA_FIELD: u32 = 0x0000_0040;
const F_CRC32_D: u32 = 0x0000_0100;
const F_CRC32_C: u32 = 0x0000_0200;
const F_H_FILTER: u32 = 0x0000_0800;
const F_H_CRC32: u32 = 0x0000_1000;
/// Flags that say only where the file was made (operating system, character set, stdin/out).
const F_ENVIRONMENT: u32 = 0xff00_0000 | 0x00f0_0000 | 0x0000_000c;
/// lzop's largest block; a header that claims more is not an lzop file.
const MAX_BLOCK: usize = 64 * 1024 * 1024;
/// The block size written: lzop's and aircompressor's.
const BLOCK: usize = 256 * 1024;

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_u16(r: &mut impl Read) -> io::Result<u16> {
    let mut b = [0u8; 2];
    r.read_exact(&mut b)?;
    Ok(u16::from_be_bytes(b))
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

fn adler32(data: &[u8]) -> u32 {
    let mut a = adler2::Adler32::new();
    a.write_slice(data);
    a.checksum()
}

/// Reads the header into `seen` as well, for its checksum.
struct Recording<'a, R> {
    inner: &'a mut R,
    seen: Vec<u8>,
}

impl<R: Read> Read for Recording<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Which checksums every block carries.
#[derive(Debug, Clone, Copy)]
struct BlockChecks {
    adler_d: bool,
    crc_d: bool,
    adler_c: bool,
    crc_c: bool,
}

/// The decompressed bytes of an lzop stream.
pub struct LzopReader<R> {
    inner: R,
    checks: Option<BlockChecks>,
    block: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: Read> LzopReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            checks: None,
            block: Vec::new(),
            at: 0,
            done: false,
        }
    }

    fn read_header(&mut self) -> io::Result<BlockChecks> {
        let mut magic = [0u8; 9];
        self.inner.read_exact(&mut magic).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                invalid("not an lzop file (too short)")
            } else {
                e
            }
        })?;
        if magic != MAGIC {
            return Err(invalid("not an lzop file (no lzop magic)"));
        }
        let mut h = Recording {
            inner: &mut self.inner,
            seen: Vec::with_capacity(32),
        };
        let version = read_u16(&mut h)?;
        let _lib_version = read_u16(&mut h)?;
        if version >= 0x0940 {
            let needed = read_u16(&mut h)?;
            if needed > 0x1040 {
                return Err(invalid(format!(
                    "lzop format version {needed:#06x} is newer than weir reads"
                )));
            }
        }
        let method = read_u8(&mut h)?;
        if !matches!(method, 1..=3) {
            return Err(invalid(format!(
                "lzop method {method} is not LZO1X; weir reads LZO1X files"
            )));
        }
        if version >= 0x0940 {
            let _level = read_u8(&mut h)?;
        }
        let flags = read_u32(&mut h)?;
        if flags & F_H_FILTER != 0 {
            return Err(invalid("lzop files made with a filter are not supported"));
        }
        let known = F_ADLER32_D | F_ADLER32_C | F_CRC32_D | F_CRC32_C | F_H_CRC32 | F_H_EXTRA_FIELD;
        if flags & !(known | F_ENVIRONMENT) != 0 {
            return Err(invalid(format!("unsupported lzop flags {flags:#010x}")));
        }
        let _mode = read_u32(&mut h)?;
        let _mtime = read_u32(&mut h)?;
        if version >= 0x0940 {
            let _mtime_high = read_u32(&mut h)?;
        }
        let name_len = read_u8(&mut h)? as usize;
        let mut name = vec![0u8; name_len];
        h.read_exact(&mut name)?;
        let seen = std::mem::take(&mut h.seen);
        let expected = if flags & F_H_CRC32 != 0 {
            crc32fast::hash(&seen)
        } else {
            adler32(&seen)
        };
        if read_u32(&mut self.inner)? != expected {
            return Err(invalid("the lzop header's checksum does not match"));
        }
        if flags & F_H_EXTRA_FIELD != 0 {
            let len = read_u32(&mut self.inner)? as u64;
            io::copy(&mut (&mut self.inner).take(len + 4), &mut io::sink())?;
        }
        Ok(BlockChecks {
            adler_d: flags & F_ADLER32_D != 0,
            crc_d: flags & F_CRC32_D != 0,
            adler_c: flags & F_ADLER32_C != 0,
            crc_c: flags & F_CRC32_C != 0,
        })
    }

    /// Reads the next block into `self.block`; false at the end of the stream.
    fn next_block(&mut self, checks: BlockChecks) -> io::Result<bool> {
        let len = read_u32(&mut self.inner)? as usize;
        if len == 0 {
            return Ok(false);
        }
        if len > MAX_BLOCK {
            return Err(invalid(format!("an lzop block claims {len} bytes")));
        }
        let compressed_len = read_u32(&mut self.inner)? as usize;
        if compressed_len > len {
            return Err(invalid("an lzop block is larger compressed than not"));
        }
        let sum_d_adler = if checks.adler_d {
            Some(read_u32(&mut self.inner)?)
        } else {
            None
        };
        let sum_d_crc = if checks.crc_d {
            Some(read_u32(&mut self.inner)?)
        } else {
            None
        };
        let stored = compressed_len == len;
        if !stored {
            if checks.adler_c {
                read_u32(&mut self.inner)?;
            }
            if checks.crc_c {
                read_u32(&mut self.inner)?;
            }
        }
        let mut data = vec![0u8; compressed_len];
        self.inner.read_exact(&mut data)?;
        self.block = if stored {
            data
        } else {
            lzokay_native::decompress_all(&data, Some(len))
                .map_err(|e| invalid(format!("a corrupt lzo block: {e:?}")))?
        };
        if self.block.len() != len {
            return Err(invalid("an lzo block decompressed to the wrong size"));
        }
        if sum_d_adler.is_some_and(|s| s != adler32(&self.block))
            || sum_d_crc.is_some_and(|s| s != crc32fast::hash(&self.block))
        {
            return Err(invalid("an lzo block's checksum does not match its data"));
        }
        self.at = 0;
        Ok(true)
    }
}

impl<R: Read> Read for LzopReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let checks = match self.checks {
            Some(c) => c,
            None => {
                let c = self.read_header()?;
                self.checks = Some(c);
                c
            }
        };
        while self.at == self.block.len() {
            if self.done || !self.next_block(checks)? {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Compresses what is written to it into an lzop stream; `finish` writes the last block and
/// the end mark, without which readers report a truncated file.
pub struct LzopWriter<W> {
    inner: W,
    pending: Vec<u8>,
    header_written: bool,
}

impl<W: Write> LzopWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::with_capacity(BLOCK),
            header_written: false,
        }
    }

    fn write_header(&mut self) -> io::Result<()> {
        let mut h = Vec::with_capacity(32);
        h.extend_from_slice(&0x1010u16.to_be_bytes()); // lzop version
        h.extend_from_slice(&0x2050u16.to_be_bytes()); // LZO library version
        h.extend_from_slice(&0x0940u16.to_be_bytes()); // version needed to extract
        h.push(1); // LZO1X
        h.push(5); // level
        h.extend_from_slice(&F_ADLER32_D.to_be_bytes());
        h.extend_from_slice(&0o100644u32.to_be_bytes()); // a regular file, rw-r--r--
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        h.extend_from_slice(&(now as u32).to_be_bytes());
        h.extend_from_slice(&((now >> 32) as u32).to_be_bytes());
        h.push(0); // no file name
        self.inner.write_all(&MAGIC)?;
        self.inner.write_all(&h)?;
        self.inner.write_all(&adler32(&h).to_be_bytes())?;
        self.header_written = true;
        Ok(())
    }

    fn write_block(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.write_header()?;
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let compressed = lzokay_native::compress(&self.pending)
            .map_err(|e| io::Error::other(format!("lzo compression failed: {e:?}")))?;
        let len = self.pending.len() as u32;
        self.inner.write_all(&len.to_be_bytes())?;
        let stored = compressed.len() >= self.pending.len();
        let body: &[u8] = if stored { &self.pending } else { &compressed };
        self.inner.write_all(&(body.len() as u32).to_be_bytes())?;
        self.inner
            .write_all(&adler32(&self.pending).to_be_bytes())?;
        self.inner.write_all(body)?;
        self.pending.clear();
        Ok(())
    }

    /// Writes what is buffered and the end mark; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.write_block()?;
        self.inner.write_all(&0u32.to_be_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for LzopWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BLOCK - self.pending.len();
        let n = buf.len().min(room);
        self.pending.extend_from_slice(&buf[..n]);
        if self.pending.len() == BLOCK {
            self.write_block()?;
        }
        Ok(n)
    }

    /// Flushes only what is already compressed: a block is cut at `BLOCK` bytes or at
    /// `finish`, so flushing often does not shrink the blocks.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &[u8]) -> Vec<u8> {
        let mut w = LzopWriter::new(Vec::new());
        for piece in text.chunks(70_001) {
            w.write_all(piece).unwrap();
        }
        let file = w.finish().unwrap();
        let mut out = Vec::new();
        LzopReader::new(&file[..]).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn text_survives_lzop_in_blocks() {
        let text: Vec<u8> = (0..40_000)
            .flat_map(|i| format!("{i},name_{i},{}\n", i % 7).into_bytes())
            .collect();
        assert!(text.len() > 2 * BLOCK);
        assert_eq!(round_trip(&text), text);
        assert_eq!(round_trip(b""), b"");
        // Incompressible bytes are stored as they are.
        let noise: Vec<u8> = (0..BLOCK as u32 + 10)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(round_trip(&noise), noise);
    }

    #[test]
    fn damage_is_an_error_not_wrong_text() {
        let mut w = LzopWriter::new(Vec::new());
        w.write_all(&b"hello lzo world\n".repeat(1000)).unwrap();
        let mut file = w.finish().unwrap();
        let mut sink = Vec::new();
        assert!(LzopReader::new(&b"plain text"[..])
            .read_to_end(&mut sink)
            .unwrap_err()
            .to_string()
            .contains("not an lzop file"));
        let last = file.len() - 10;
        file[last] ^= 0xff;
        assert!(LzopReader::new(&file[..]).read_to_end(&mut sink).is_err());
        // Cut short: the end mark is missing.
        let mut w = LzopWriter::new(Vec::new());
        w.write_all(b"a,b\n").unwrap();
        let file = w.finish().unwrap();
        let cut = &file[..file.len() - 4];
        assert!(LzopReader::new(cut).read_to_end(&mut sink).is_err());
    }
}
