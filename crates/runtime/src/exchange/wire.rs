//! The bytes of a data connection between two TaskManagers.
//!
//! Every frame is `u32 length (big endian) | u8 kind | payload`, the length counting the kind
//! and the payload. The producer opens the connection with [`Frame::Hello`] naming the channel;
//! the consumer answers [`Frame::Accepted`] with its first credit, or [`Frame::Close`] with why
//! not. Then the producer sends data and control elements in order, and the consumer sends
//! credit back as it hands rows on. Either side ends with [`Frame::Close`] when it stops on
//! purpose (a cancel, its consumer gone), so the other can tell that from a crash, which shows
//! only as a broken connection.
//!
//! Record batches are Arrow IPC stream messages: one IPC stream per connection, the schema
//! written once, and a new stream started when a batch's schema differs from the last one (a
//! multi-table edge carries several).

use super::ChannelId;
use crate::batch::Batch;
use crate::channel::Barrier;
use arrow::array::UInt8Array;
use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow_ipc::reader::StreamDecoder;
use arrow_ipc::writer::StreamWriter;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use weir_core::JobId;

/// What opens a connection, so a stray client is refused at once.
const MAGIC: &[u8; 8] = b"WEIRDATA";
/// The data protocol's version; both ends of a connection must speak the same.
pub const DATA_PROTOCOL_VERSION: u8 = 1;
/// Frames larger than this are refused as corrupt (a batch is a few MiB at most).
const MAX_FRAME: usize = 1 << 30;

const HELLO: u8 = 0;
const ACCEPTED: u8 = 1;
const DATA: u8 = 2;
const BARRIER: u8 = 3;
const WATERMARK: u8 = 4;
const END_OF_INPUT: u8 = 5;
const CREDIT: u8 = 6;
const CLOSE: u8 = 7;

/// Flags of a data frame.
const NEW_STREAM: u8 = 1;
const HAS_KINDS: u8 = 2;

/// One frame on a data connection.
#[derive(Debug)]
pub enum Frame {
    Hello(ChannelId),
    /// The consumer has the channel; the producer may send `credit` rows.
    Accepted {
        credit: u32,
    },
    /// An encoded batch (see [`BatchEncoder`]); `rows` is what it costs in credit.
    Data(EncodedBatch),
    Barrier(Barrier),
    Watermark(i64),
    EndOfInput,
    /// The consumer handed `rows` on: the producer may send that many more.
    Credit(u32),
    /// The sender stops on purpose, and why.
    Close(String),
}

/// A batch as it travels.
#[derive(Debug)]
pub struct EncodedBatch {
    flags: u8,
    kinds: Vec<u8>,
    ipc: Vec<u8>,
}

/// Why a connection failed.
#[derive(Debug)]
pub enum WireError {
    Io(std::io::Error),
    /// The peer sent something that is not this protocol.
    Protocol(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Io(e) => write!(f, "{e}"),
            WireError::Protocol(e) => write!(f, "{e}"),
        }
    }
}

impl From<std::io::Error> for WireError {
    fn from(e: std::io::Error) -> Self {
        WireError::Io(e)
    }
}

impl From<arrow::error::ArrowError> for WireError {
    fn from(e: arrow::error::ArrowError) -> Self {
        WireError::Protocol(format!("a record batch could not be decoded: {e}"))
    }
}

fn protocol(message: impl Into<String>) -> WireError {
    WireError::Protocol(message.into())
}

/// Writes one frame (buffered: the caller flushes).
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &Frame) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(64);
    let mut tail: &[u8] = &[];
    let mut kinds: &[u8] = &[];
    let kind = match frame {
        Frame::Hello(id) => {
            head.extend_from_slice(MAGIC);
            head.push(DATA_PROTOCOL_VERSION);
            head.extend_from_slice(&id.job.0.to_be_bytes());
            for n in [id.attempt, id.edge, id.source, id.target] {
                head.extend_from_slice(&n.to_be_bytes());
            }
            HELLO
        }
        Frame::Accepted { credit } => {
            head.extend_from_slice(&credit.to_be_bytes());
            ACCEPTED
        }
        Frame::Data(b) => {
            head.push(b.flags);
            if b.flags & HAS_KINDS != 0 {
                head.extend_from_slice(&(b.kinds.len() as u32).to_be_bytes());
                kinds = &b.kinds;
            }
            tail = &b.ipc;
            DATA
        }
        Frame::Barrier(b) => {
            head.extend_from_slice(&b.checkpoint_id.to_be_bytes());
            head.extend_from_slice(&b.timestamp_ms.to_be_bytes());
            BARRIER
        }
        Frame::Watermark(w) => {
            head.extend_from_slice(&w.to_be_bytes());
            WATERMARK
        }
        Frame::EndOfInput => END_OF_INPUT,
        Frame::Credit(n) => {
            head.extend_from_slice(&n.to_be_bytes());
            CREDIT
        }
        Frame::Close(reason) => {
            head.extend_from_slice(reason.as_bytes());
            CLOSE
        }
    };
    let len = 1 + head.len() + kinds.len() + tail.len();
    w.write_u32(len as u32).await?;
    w.write_u8(kind).await?;
    w.write_all(&head).await?;
    w.write_all(kinds).await?;
    w.write_all(tail).await
}

/// Reads one frame; `None` at a clean end of the connection between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Frame>, WireError> {
    let len = match r.read_u32().await {
        Ok(n) => n as usize,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if len == 0 || len > MAX_FRAME {
        return Err(protocol(format!("a frame of {len} bytes is not weir data")));
    }
    let kind = r.read_u8().await?;
    let mut body = vec![0u8; len - 1];
    r.read_exact(&mut body).await?;
    let mut p = Payload(&body);
    let frame = match kind {
        HELLO => {
            if p.take(MAGIC.len())? != MAGIC {
                return Err(protocol("the peer does not speak weir's data protocol"));
            }
            let version = p.take(1)?[0];
            if version != DATA_PROTOCOL_VERSION {
                return Err(protocol(format!(
                    "the peer speaks weir data protocol v{version}, this TaskManager v{DATA_PROTOCOL_VERSION}: run the same weir release on every TaskManager"
                )));
            }
            let job = JobId(u128::from_be_bytes(p.array()?));
            Frame::Hello(ChannelId {
                job,
                attempt: p.u32()?,
                edge: p.u32()?,
                source: p.u32()?,
                target: p.u32()?,
            })
        }
        ACCEPTED => Frame::Accepted { credit: p.u32()? },
        DATA => {
            let flags = p.take(1)?[0];
            let kinds = if flags & HAS_KINDS != 0 {
                let n = p.u32()? as usize;
                p.take(n)?.to_vec()
            } else {
                Vec::new()
            };
            let ipc = p.rest().to_vec();
            Frame::Data(EncodedBatch { flags, kinds, ipc })
        }
        BARRIER => Frame::Barrier(Barrier {
            checkpoint_id: u64::from_be_bytes(p.array()?),
            timestamp_ms: i64::from_be_bytes(p.array()?),
        }),
        WATERMARK => Frame::Watermark(i64::from_be_bytes(p.array()?)),
        END_OF_INPUT => Frame::EndOfInput,
        CREDIT => Frame::Credit(p.u32()?),
        CLOSE => Frame::Close(String::from_utf8_lossy(p.rest()).into_owned()),
        other => {
            return Err(protocol(format!(
                "frame kind {other} is unknown: the peer does not speak weir's data protocol"
            )))
        }
    };
    Ok(Some(frame))
}

struct Payload<'a>(&'a [u8]);

impl<'a> Payload<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(protocol("a frame ended early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// Encodes the batches of one connection as one Arrow IPC stream, restarted on a new schema.
#[derive(Default)]
pub struct BatchEncoder {
    stream: Option<(SchemaRef, StreamWriter<Vec<u8>>)>,
}

impl BatchEncoder {
    pub fn encode(&mut self, batch: &Batch) -> Result<EncodedBatch, arrow::error::ArrowError> {
        let schema = batch.records.schema();
        let mut flags = 0;
        let same = matches!(&self.stream, Some((s, _)) if *s == schema);
        if !same {
            self.stream = Some((schema.clone(), StreamWriter::try_new(Vec::new(), &schema)?));
            flags |= NEW_STREAM;
        }
        let Some((_, writer)) = self.stream.as_mut() else {
            return Err(arrow::error::ArrowError::IpcError("no IPC stream".into()));
        };
        writer.write(&batch.records)?;
        let ipc = std::mem::take(writer.get_mut());
        let kinds = match &batch.kinds {
            Some(k) => {
                flags |= HAS_KINDS;
                k.values().to_vec()
            }
            None => Vec::new(),
        };
        Ok(EncodedBatch { flags, kinds, ipc })
    }
}

/// Decodes what a [`BatchEncoder`] wrote.
#[derive(Default)]
pub struct BatchDecoder {
    stream: Option<StreamDecoder>,
}

impl BatchDecoder {
    pub fn decode(&mut self, encoded: EncodedBatch) -> Result<Batch, WireError> {
        if encoded.flags & NEW_STREAM != 0 || self.stream.is_none() {
            self.stream = Some(StreamDecoder::new());
        }
        let Some(decoder) = self.stream.as_mut() else {
            return Err(protocol("no IPC stream"));
        };
        let mut buffer = Buffer::from_vec(encoded.ipc);
        let mut records: Option<RecordBatch> = None;
        while !buffer.is_empty() {
            if let Some(b) = decoder.decode(&mut buffer)? {
                records = Some(b);
            }
        }
        let records = records.ok_or_else(|| protocol("a data frame held no record batch"))?;
        let kinds = if encoded.flags & HAS_KINDS != 0 {
            if encoded.kinds.len() != records.num_rows() {
                return Err(protocol(format!(
                    "a batch of {} rows came with {} row kinds",
                    records.num_rows(),
                    encoded.kinds.len()
                )));
            }
            Some(Arc::new(UInt8Array::from(encoded.kinds)))
        } else {
            None
        };
        Ok(Batch { records, kinds })
    }
}

/// Rows an encoded batch costs in credit: its rows, at most the consumer's whole capacity (a
/// batch larger than the buffer passes alone, as on an in-process channel).
pub fn credit_cost(batch: &Batch, capacity: u32) -> u32 {
    (batch.num_rows() as u64).min(u64::from(capacity)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RowKind;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(n: i64, name: &str) -> Batch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(name, DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("r{i}")),
                )),
            ],
        )
        .map(Batch::inserts)
        .unwrap()
    }

    async fn round_trip(frames: Vec<Frame>) -> Vec<Frame> {
        let mut bytes = Vec::new();
        for f in &frames {
            write_frame(&mut bytes, f).await.unwrap();
        }
        let mut r = bytes.as_slice();
        let mut out = Vec::new();
        while let Some(f) = read_frame(&mut r).await.unwrap() {
            out.push(f);
        }
        out
    }

    #[tokio::test]
    async fn batches_keep_rows_kinds_and_schemas_across_a_schema_change() {
        let mut enc = BatchEncoder::default();
        let a = batch(3, "name");
        let b = Batch::with_kinds(
            batch(2, "name").records,
            vec![RowKind::UpdateBefore, RowKind::Delete],
        );
        let c = batch(4, "other");
        let frames = vec![
            Frame::Data(enc.encode(&a).unwrap()),
            Frame::Data(enc.encode(&b).unwrap()),
            Frame::Barrier(Barrier {
                checkpoint_id: 7,
                timestamp_ms: -3,
            }),
            Frame::Data(enc.encode(&c).unwrap()),
            Frame::Watermark(42),
            Frame::EndOfInput,
        ];
        let mut dec = BatchDecoder::default();
        let mut got = Vec::new();
        for f in round_trip(frames).await {
            match f {
                Frame::Data(e) => got.push(dec.decode(e).unwrap()),
                Frame::Barrier(b) => assert_eq!((b.checkpoint_id, b.timestamp_ms), (7, -3)),
                Frame::Watermark(w) => assert_eq!(w, 42),
                Frame::EndOfInput => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].records, a.records);
        assert_eq!(got[1].kind(1), RowKind::Delete);
        assert_eq!(got[1].records, b.records);
        assert_eq!(got[2].records.schema().field(1).name(), "other");
        assert_eq!(got[2].records, c.records);
    }

    #[tokio::test]
    async fn hello_names_the_channel_and_a_stranger_is_refused() {
        let id = ChannelId {
            job: JobId(0xabc),
            attempt: 2,
            edge: 1,
            source: 3,
            target: 0,
        };
        match round_trip(vec![
            Frame::Hello(id),
            Frame::Credit(9),
            Frame::Close("x".into()),
        ])
        .await
        .as_slice()
        {
            [Frame::Hello(got), Frame::Credit(9), Frame::Close(why)] => {
                assert_eq!(*got, id);
                assert_eq!(why, "x");
            }
            other => panic!("unexpected {other:?}"),
        }
        let mut junk: &[u8] = b"\0\0\0\x0aGET / HTTP";
        let e = read_frame(&mut junk).await.err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("weir")), "refused");
    }
}
