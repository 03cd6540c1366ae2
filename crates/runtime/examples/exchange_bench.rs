//! The data exchange between TaskManagers, measured alone on loopback, next to an in-process
//! channel and next to a plain TCP copy of the same bytes (the limit).
//!
//!   cargo run --release -p weir-runtime --example exchange_bench [batches] [rows per batch]
//!
//! Prints: one hop's latency (a one-row batch from the producer's channel to the consumer's,
//! p50/p99 over 5 000 hops) and throughput (batches of `k int, v int` rows) for the exchange,
//! an in-process channel, and a raw loopback TCP stream carrying the same encoded bytes.

use arrow::array::Int32Array;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use weir_core::JobId;
use weir_runtime::channel::{channel, ChannelReceiver, ChannelSender, StreamElement};
use weir_runtime::exchange::wire::{write_frame, BatchEncoder, Frame};
use weir_runtime::exchange::{ChannelId, Exchange, JobLink, PeerAddress};
use weir_runtime::Batch;

const CAPACITY: usize = 32 * 1024;

fn batch(rows: usize, offset: i32) -> Batch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int32, false),
        Field::new("v", DataType::Int32, false),
    ]));
    let k = Int32Array::from_iter_values((0..rows as i32).map(|i| (i + offset) % 1000));
    let v = Int32Array::from_iter_values((0..rows as i32).map(|i| i ^ offset));
    Batch::inserts(RecordBatch::try_new(schema, vec![Arc::new(k), Arc::new(v)]).expect("batch"))
}

/// A producer's sender and a consumer's receiver joined through two exchanges on loopback.
async fn remote_pair(
    a: &Exchange,
    b: &Exchange,
    failures: &mpsc::UnboundedSender<weir_runtime::exchange::NetworkFailure>,
    cancel: &CancellationToken,
    edge: u32,
) -> (ChannelSender, ChannelReceiver) {
    let link = |vertex| JobLink {
        cancel: cancel.clone(),
        failures: failures.clone(),
        vertex,
        subtask: 0,
    };
    let id = ChannelId {
        job: JobId(1),
        attempt: 0,
        edge,
        source: 0,
        target: 0,
    };
    let (ptx, prx) = channel(CAPACITY);
    let (ctx, crx) = channel(CAPACITY);
    b.expect(id, ctx, CAPACITY, link(1));
    a.send(
        id,
        PeerAddress(format!("127.0.0.1:{}", b.port())),
        prx,
        link(0),
    );
    (ptx, crx)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn hops(tx: &ChannelSender, rx: &mut ChannelReceiver, n: usize) -> (Duration, Duration) {
    let one = batch(1, 0);
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        tx.send(StreamElement::Data(one.clone()))
            .await
            .expect("send");
        match rx.recv().await {
            Some(StreamElement::Data(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
        took.push(t0.elapsed());
    }
    took.sort();
    (percentile(&took, 0.5), percentile(&took, 0.99))
}

/// Rows per second through `tx` → `rx`, with the producer on its own task.
async fn throughput(
    tx: ChannelSender,
    mut rx: ChannelReceiver,
    batches: usize,
    rows: usize,
) -> f64 {
    let data: Vec<Batch> = (0..16).map(|i| batch(rows, i * 7)).collect();
    let t0 = Instant::now();
    let producer = tokio::spawn(async move {
        for i in 0..batches {
            tx.send(StreamElement::Data(data[i % data.len()].clone()))
                .await
                .expect("send");
        }
        tx.send(StreamElement::EndOfInput).await.expect("end");
    });
    let mut got = 0usize;
    while let Some(e) = rx.recv().await {
        match e {
            StreamElement::Data(b) => got += b.num_rows(),
            StreamElement::EndOfInput => break,
            _ => {}
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    producer.await.expect("producer");
    assert_eq!(got, batches * rows);
    got as f64 / secs
}

/// The encoded bytes of `batches` batches, and the rows per second a plain loopback TCP stream
/// moves them at (write all, read all, no framing logic, no decoding).
async fn raw_tcp(batches: usize, rows: usize) -> (usize, f64) {
    let mut enc = BatchEncoder::default();
    let mut frames = Vec::new();
    for i in 0..16 {
        let e = enc.encode(&batch(rows, i * 7)).expect("encode");
        let mut bytes = Vec::new();
        write_frame(&mut bytes, &Frame::Data(e))
            .await
            .expect("frame");
        frames.push(bytes);
    }
    let total: usize = (0..batches).map(|i| frames[i % frames.len()].len()).sum();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let reader = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 256 * 1024];
        let mut n = 0;
        while n < total {
            let r = s.read(&mut buf).await.expect("read");
            if r == 0 {
                break;
            }
            n += r;
        }
        n
    });
    let t0 = Instant::now();
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.set_nodelay(true).expect("nodelay");
    for i in 0..batches {
        s.write_all(&frames[i % frames.len()]).await.expect("write");
    }
    s.flush().await.expect("flush");
    let n = reader.await.expect("reader");
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(n, total);
    (total, (batches * rows) as f64 / secs)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let batches = args.first().copied().unwrap_or(4_000);
    let rows = args.get(1).copied().unwrap_or(8_192);
    let rt = tokio::runtime::Handle::current();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
    let a = Exchange::bind(any, rt.clone()).await.expect("bind a");
    let b = Exchange::bind(any, rt).await.expect("bind b");
    let (failures, _keep) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();

    let (tx, mut rx) = remote_pair(&a, &b, &failures, &cancel, 0).await;
    hops(&tx, &mut rx, 500).await; // warm-up
    let (net50, net99) = hops(&tx, &mut rx, 5_000).await;
    let (ltx, mut lrx) = channel(CAPACITY);
    let (loc50, loc99) = hops(&ltx, &mut lrx, 5_000).await;
    println!("one hop, a 1-row batch (5000 hops):");
    println!(
        "  exchange over loopback  p50 {:>8.1} µs  p99 {:>8.1} µs",
        us(net50),
        us(net99)
    );
    println!(
        "  in-process channel      p50 {:>8.1} µs  p99 {:>8.1} µs",
        us(loc50),
        us(loc99)
    );

    let (tx, rx) = remote_pair(&a, &b, &failures, &cancel, 1).await;
    let net = throughput(tx, rx, batches, rows).await;
    let (ltx, lrx) = channel(CAPACITY);
    let local = throughput(ltx, lrx, batches, rows).await;
    let (bytes, raw) = raw_tcp(batches, rows).await;
    let mb = |rps: f64| rps * bytes as f64 / (batches * rows) as f64 / 1e6;
    println!(
        "throughput, {batches} batches of {rows} rows (k int, v int), {:.0} MB encoded:",
        bytes as f64 / 1e6
    );
    println!(
        "  exchange over loopback  {:>7.1} M rows/s  {:>7.0} MB/s",
        net / 1e6,
        mb(net)
    );
    println!(
        "  in-process channel      {:>7.1} M rows/s  (no copy: batches are shared)",
        local / 1e6
    );
    println!(
        "  raw loopback TCP copy   {:>7.1} M rows/s  {:>7.0} MB/s  (the limit)",
        raw / 1e6,
        mb(raw)
    );
    println!("  exchange / raw TCP      {:>7.0} %", 100.0 * net / raw);
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
