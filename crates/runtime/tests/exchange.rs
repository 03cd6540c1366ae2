//! Subtasks of one job split over two TaskManagers' exchanges (two listeners on loopback in
//! this process): rows cross as Arrow IPC, backpressure crosses by credit, and a connection
//! that breaks fails the subtask at the surviving end.

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use weir_core::{ExecutionState, JobId, JobStatus, WeirResult};
use weir_pipeline::{parse_job, Format, JobGraph, Options, PluginKind, PluginSpec, Variables};
use weir_runtime::exchange::wire::{read_frame, write_frame, Frame};
use weir_runtime::exchange::{ChannelId, Exchange, Locality, PeerAddress};
use weir_runtime::executor::Wiring;
use weir_runtime::operator::{
    PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext,
};
use weir_runtime::{Batch, PluginRegistry, PreparedJob, RuntimeConfig};

/// A sink that counts rows, optionally taking `delay` per batch.
struct Counting {
    rows: Arc<AtomicU64>,
    delay: Duration,
}

impl SinkFactory for Counting {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new("Counting", PluginKind::Sink, vec![])
    }

    fn prepare(
        &self,
        _o: &Options,
        _s: SchemaRef,
        _c: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        Ok(Arc::new(Counting {
            rows: self.rows.clone(),
            delay: self.delay,
        }))
    }
}

impl PreparedSink for Counting {
    fn create_writer(&self, _s: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        Ok(Box::new(Counting {
            rows: self.rows.clone(),
            delay: self.delay,
        }))
    }
}

#[async_trait]
impl SinkWriter for Counting {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.rows
            .fetch_add(batch.num_rows() as u64, Ordering::SeqCst);
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        Ok(())
    }
}

fn prepare(job: JobId, text: &str, rows: &Arc<AtomicU64>, delay: Duration) -> PreparedJob {
    let mut registry = PluginRegistry::builtin();
    registry.add_sink(Arc::new(Counting {
        rows: rows.clone(),
        delay,
    }));
    let config = parse_job(text, Format::Hocon, &Variables::default()).unwrap();
    let graph = JobGraph::build(config, &registry).unwrap();
    let config = RuntimeConfig {
        channel_capacity_rows: 1_000,
        ..RuntimeConfig::default()
    };
    PreparedJob::prepare(job, graph, &registry, config).unwrap()
}

async fn exchange() -> Exchange {
    Exchange::bind(
        "127.0.0.1:0".parse().unwrap(),
        tokio::runtime::Handle::current(),
    )
    .await
    .unwrap()
}

fn peer(x: &Exchange) -> PeerAddress {
    PeerAddress(format!("127.0.0.1:{}", x.port()))
}

/// `remote[vertex][subtask]`: `Some(other)` where the subtask runs on the other side.
fn locality(shape: &[Vec<bool>], other: &PeerAddress, here_is_true: bool) -> Locality {
    Locality {
        remote: shape
            .iter()
            .map(|v| {
                v.iter()
                    .map(|&on_a| (on_a != here_is_true).then(|| other.clone()))
                    .collect()
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_edge_split_over_two_task_managers_delivers_every_row() {
    let (a, b) = (exchange().await, exchange().await);
    let job = JobId::random();
    let rows = Arc::new(AtomicU64::new(0));
    let text = r#"
env { job.mode = "BATCH" }
source { FakeSource { plugin_output = s, parallelism = 2, row.num = 5000, batch.size = 100, schema = { fields { id = bigint, name = string } } } }
sink { Counting { plugin_input = s, parallelism = 3 } }
"#;
    let (ja, jb) = (
        prepare(job, text, &rows, Duration::ZERO),
        prepare(job, text, &rows, Duration::ZERO),
    );
    // Slot sharing: slot 0 on A, slots 1 and 2 on B.
    let shape = vec![vec![true, false], vec![true, false, false]];
    let on_a = locality(&shape, &peer(&b), true);
    let on_b = locality(&shape, &peer(&a), false);
    let ra = ja
        .deploy_wired(
            0,
            None,
            Wiring {
                locality: &on_a,
                exchange: Some(&a),
            },
        )
        .unwrap();
    // B deploys later than A: A's connections wait for it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rb = jb
        .deploy_wired(
            0,
            None,
            Wiring {
                locality: &on_b,
                exchange: Some(&b),
            },
        )
        .unwrap();
    let (oa, ob) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(ra.wait(), rb.wait())
    })
    .await
    .expect("both halves end");
    assert_eq!(oa.status, JobStatus::Finished, "{:?}", oa.error);
    assert_eq!(ob.status, JobStatus::Finished, "{:?}", ob.error);
    assert_eq!(rows.load(Ordering::SeqCst), 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_remote_sink_holds_its_source_within_the_credit() {
    let (a, b) = (exchange().await, exchange().await);
    let job = JobId::random();
    let rows = Arc::new(AtomicU64::new(0));
    let text = r#"
env { job.mode = "STREAMING" }
source { FakeSource { plugin_output = s, unbounded = true, batch.size = 100, schema = { fields { id = bigint } } } }
sink { Counting { plugin_input = s, parallelism = 2 } }
"#;
    let (ja, jb) = (
        prepare(job, text, &rows, Duration::from_millis(2)),
        prepare(job, text, &rows, Duration::from_millis(2)),
    );
    // The source on A, the sink's two subtasks on B (a rebalance edge, so not chained).
    let shape = vec![vec![true], vec![false, false]];
    let on_a = locality(&shape, &peer(&b), true);
    let on_b = locality(&shape, &peer(&a), false);
    let wiring = |l, x| Wiring {
        locality: l,
        exchange: Some(x),
    };
    let ra = ja.deploy_wired(0, None, wiring(&on_a, &a)).unwrap();
    let rb = jb.deploy_wired(0, None, wiring(&on_b, &b)).unwrap();
    let source = ra.metrics.subtasks[0][0].clone();
    let (cancel_a, cancel_b) = (ra.cancel_handle(), rb.cancel_handle());
    let waiters = tokio::spawn(async move { tokio::join!(ra.wait(), rb.wait()) });
    // Bound, per channel (two): the source's own channel, a batch the outbound task took out
    // of it and holds until it has credit, the credit on the wire, the sink's channel and a
    // batch in the sink's hands; and a batch in the source's.
    let bound = 2 * (1_000 + 100 + 1_000 + 1_000 + 100) + 100;
    let mut max_ahead = 0;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let consumed = rows.load(Ordering::SeqCst);
        let produced = source.task.records_out.load(Ordering::SeqCst);
        let ahead = produced.saturating_sub(consumed);
        max_ahead = max_ahead.max(ahead);
        assert!(
            ahead <= bound,
            "{ahead} rows ahead of the sink (bound {bound})"
        );
    }
    assert!(
        max_ahead >= 1_000,
        "the buffers should fill up: max ahead {max_ahead}"
    );
    assert!(
        source.is_back_pressured() || source.time_split().back_pressured_ms > 0,
        "the source must see the remote sink's backpressure"
    );
    cancel_a.cancel();
    cancel_b.cancel();
    let (oa, ob) = tokio::time::timeout(Duration::from_secs(10), waiters)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oa.status, JobStatus::Canceled, "{:?}", oa.error);
    assert_eq!(ob.status, JobStatus::Canceled, "{:?}", ob.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_that_vanishes_fails_the_consuming_subtask() {
    let b = exchange().await;
    let job = JobId::random();
    let rows = Arc::new(AtomicU64::new(0));
    let text = r#"
env { job.mode = "STREAMING" }
source { FakeSource { plugin_output = s, unbounded = true, schema = { fields { id = bigint } } } }
sink { Counting { plugin_input = s, parallelism = 2 } }
"#;
    let jb = prepare(job, text, &rows, Duration::ZERO);
    // The source is "on" a TaskManager that this test plays by hand (for channel 0; channel 1
    // never connects).
    let shape = vec![vec![true], vec![false, false]];
    let on_b = locality(&shape, &PeerAddress("127.0.0.1:9".into()), false);
    let rb = jb
        .deploy_wired(
            0,
            None,
            Wiring {
                locality: &on_b,
                exchange: Some(&b),
            },
        )
        .unwrap();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", b.port()))
        .await
        .unwrap();
    let id = ChannelId {
        job,
        attempt: 0,
        edge: 0,
        source: 0,
        target: 0,
    };
    write_frame(&mut stream, &Frame::Hello(id)).await.unwrap();
    stream.flush().await.unwrap();
    match read_frame(&mut stream).await.unwrap() {
        Some(Frame::Accepted { credit }) => assert_eq!(credit, 1_000),
        other => panic!("expected Accepted, got {other:?}"),
    }
    // The process "dies": the connection ends with no Close.
    drop(stream);
    let mut states = Vec::new();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        rb.wait_with(|e| states.push((e.vertex, e.state, e.error.clone()))),
    )
    .await
    .expect("the consumer's half ends");
    assert_eq!(outcome.status, JobStatus::Failed);
    let error = outcome.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("data connection") && error.contains("broke"),
        "{error}"
    );
    assert!(
        states
            .iter()
            .any(|(v, s, _)| *v == 1 && *s == ExecutionState::Failed),
        "the sink subtask is the one that failed: {states:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_vanishes_fails_the_producing_subtask() {
    let a = exchange().await;
    let job = JobId::random();
    let rows = Arc::new(AtomicU64::new(0));
    let text = r#"
env { job.mode = "STREAMING" }
source { FakeSource { plugin_output = s, unbounded = true, schema = { fields { id = bigint } } } }
sink { Counting { plugin_input = s, parallelism = 2 } }
"#;
    let ja = prepare(job, text, &rows, Duration::ZERO);
    // The sink's TaskManager is played by a bare listener that accepts, grants credit, reads
    // a little and drops the connection.
    let fake = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = fake.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = fake.accept().await.unwrap();
        let hello = read_frame(&mut s).await.unwrap();
        assert!(matches!(hello, Some(Frame::Hello(_))));
        write_frame(&mut s, &Frame::Accepted { credit: 1_000 })
            .await
            .unwrap();
        s.flush().await.unwrap();
        let _ = read_frame(&mut s).await;
        drop(s);
    });
    let shape = vec![vec![true], vec![false, false]];
    let on_a = locality(&shape, &PeerAddress(format!("127.0.0.1:{port}")), true);
    let ra = ja
        .deploy_wired(
            0,
            None,
            Wiring {
                locality: &on_a,
                exchange: Some(&a),
            },
        )
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), ra.wait())
        .await
        .expect("the producer's half ends");
    assert_eq!(outcome.status, JobStatus::Failed);
    let error = outcome.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("sending to the subtask") && error.contains("of the next vertex"),
        "{error}"
    );
}
