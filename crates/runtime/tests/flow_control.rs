//! Backpressure and cancellation, counted rather than timed.

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_core::{JobId, JobStatus, WeirResult};
use weir_pipeline::{parse_job, Format, JobGraph, Options, PluginKind, PluginSpec, Variables};
use weir_runtime::operator::{
    PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext,
};
use weir_runtime::{Batch, PluginRegistry, PreparedJob, RuntimeConfig};

/// A sink that takes 2 ms per batch and counts the rows it has accepted.
struct SlowSink(Arc<AtomicU64>);

impl SinkFactory for SlowSink {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new("Slow", PluginKind::Sink, vec![])
    }

    fn prepare(
        &self,
        _o: &Options,
        _s: SchemaRef,
        _c: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        Ok(Arc::new(SlowSink(self.0.clone())))
    }
}

impl PreparedSink for SlowSink {
    fn create_writer(&self, _s: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        Ok(Box::new(SlowSink(self.0.clone())))
    }
}

#[async_trait]
impl SinkWriter for SlowSink {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.0.fetch_add(batch.num_rows() as u64, Ordering::SeqCst);
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        Ok(())
    }
}

fn prepare(text: &str, registry: &PluginRegistry, capacity: usize) -> PreparedJob {
    let config = parse_job(text, Format::Hocon, &Variables::default()).unwrap();
    let graph = JobGraph::build(config, registry).unwrap();
    PreparedJob::prepare(
        JobId::random(),
        graph,
        registry,
        RuntimeConfig {
            channel_capacity_rows: capacity,
            ..RuntimeConfig::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sink_holds_the_source_within_the_channel_bounds() {
    let accepted = Arc::new(AtomicU64::new(0));
    let mut registry = PluginRegistry::builtin();
    registry.add_sink(Arc::new(SlowSink(accepted.clone())));
    // Source parallelism 1, sink parallelism 2: a rebalance edge with two channels.
    let job = prepare(
        r#"
env { job.mode = "STREAMING" }
source { FakeSource { plugin_output = s, unbounded = true, batch.size = 100, schema = { fields { id = bigint } } } }
sink { Slow { plugin_input = s, parallelism = 2 } }
"#,
        &registry,
        1_000,
    );
    assert_eq!(job.graph.edges.len(), 1);
    let running = job.deploy(0, None).unwrap();
    let metrics = running.metrics.clone();
    let cancel = running.cancel_handle();
    let handle = tokio::spawn(running.wait());
    // Bound: both channels full, one batch in each sink's hands, one batch waiting in the source.
    let bound = 2 * 1_000 + 2 * 100 + 100;
    let mut max_ahead = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Read the sink first: the source count can only be higher by the time we read it,
        // and the counted slack covers batches in transit.
        let consumed = accepted.load(Ordering::SeqCst);
        let produced = metrics.subtasks[0][0]
            .task
            .records_out
            .load(Ordering::SeqCst);
        let ahead = produced.saturating_sub(consumed);
        max_ahead = max_ahead.max(ahead);
        assert!(
            ahead <= bound,
            "source ran {ahead} rows ahead of the sink (bound {bound})"
        );
    }
    let produced = metrics.subtasks[0][0]
        .task
        .records_out
        .load(Ordering::SeqCst);
    assert!(
        produced > 2_000,
        "the source should fill the channels, produced {produced}"
    );
    assert!(
        max_ahead >= 1_000,
        "the channels should fill up; max ahead {max_ahead}"
    );
    let in_flight = metrics.subtasks[0][0]
        .max_output_in_flight
        .load(Ordering::SeqCst);
    assert!(
        in_flight <= 2_000,
        "channels held {in_flight} rows, capacity 2000"
    );
    cancel.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, JobStatus::Canceled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_streaming_job_stops_every_subtask_and_leaves_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let registry = PluginRegistry::builtin();
    let job = prepare(
        &format!(
            r#"
env {{ job.mode = "STREAMING", parallelism = 2 }}
source {{ FakeSource {{ plugin_output = s, unbounded = true, rows.per.second = 5000, schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{ LocalFile {{ plugin_input = s, path = "{}", file_format_type = "json", parallelism = 3 }} }}
"#,
            dir.path().display()
        ),
        &registry,
        1_000,
    );
    let running = job.deploy(0, None).unwrap();
    let metrics = running.metrics.clone();
    let cancel = running.cancel_handle();
    let mut states = Vec::new();
    let waiter = tokio::spawn(async move {
        let mut seen = Vec::new();
        let outcome = running
            .wait_with(|e| seen.push((e.vertex, e.subtask, e.state)))
            .await;
        (outcome, seen)
    });
    // Wait until rows reach the sinks, then cancel.
    for _ in 0..200 {
        if metrics.vertex_io(1).records_in > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        metrics.vertex_io(1).records_in > 0,
        "rows should flow before the cancel"
    );
    cancel.cancel();
    let (outcome, seen) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    states.extend(seen);
    assert_eq!(outcome.status, JobStatus::Canceled);
    assert!(outcome.error.is_none());
    // Every one of the 5 subtasks reported RUNNING and then CANCELED.
    let canceled = states
        .iter()
        .filter(|(_, _, s)| *s == weir_core::ExecutionState::Canceled)
        .count();
    assert_eq!(canceled, 5, "{states:?}");
    // wait() joined every task and the subtasks were dropped: only the job's metrics table
    // still holds each subtask's counters.
    for sub in metrics.subtasks.iter().flatten() {
        assert_eq!(
            Arc::strong_count(sub),
            1,
            "subtask {}/{} still alive",
            sub.vertex,
            sub.subtask
        );
    }
    // In-progress files of the cancelled sinks were removed.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn batch_jobs_end_on_their_own_when_inputs_are_exhausted() {
    let registry = PluginRegistry::builtin();
    let job = prepare(
        r#"
env { parallelism = 3 }
source { FakeSource { plugin_output = s, row.num = 1000, split.num = 4, batch.size = 64, schema = { fields { id = bigint } } } }
sink { Blackhole { plugin_input = s, parallelism = 2 } }
"#,
        &registry,
        100,
    );
    let running = job.deploy(0, None).unwrap();
    let metrics = running.metrics.clone();
    let outcome = tokio::time::timeout(Duration::from_secs(10), running.wait())
        .await
        .unwrap();
    assert_eq!(outcome.status, JobStatus::Finished);
    assert_eq!(metrics.vertex_io(0).records_out, 3_000);
    assert_eq!(metrics.vertex_io(1).records_in, 3_000);
}

/// Runs a streaming job for about `ms` milliseconds, then returns (rows produced, seconds).
async fn produce_for(text: &str, ms: u64) -> (u64, f64) {
    let registry = PluginRegistry::builtin();
    let job = prepare(text, &registry, 10_000);
    let started = std::time::Instant::now();
    let running = job.deploy(0, None).unwrap();
    let metrics = running.metrics.clone();
    let cancel = running.cancel_handle();
    let waiter = tokio::spawn(running.wait());
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let produced = metrics.operator_io(0, 0).records_out;
    let secs = started.elapsed().as_secs_f64();
    cancel.cancel();
    let outcome = waiter.await.unwrap();
    assert_eq!(outcome.status, JobStatus::Canceled);
    (produced, secs)
}

#[tokio::test]
async fn read_limit_and_rows_per_second_cap_each_reader() {
    // Upper bounds only: a slow machine produces fewer rows, never more.
    let (rows, secs) = produce_for(
        r#"
env { job.mode = "STREAMING", read_limit.rows_per_second = 2000 }
source { FakeSource { unbounded = true, batch.size = 100, schema = { fields { id = bigint } } } }
sink { Blackhole {} }
"#,
        300,
    )
    .await;
    assert!(rows > 0);
    assert!(
        rows as f64 <= 2000.0 * secs + 100.0,
        "{rows} rows in {secs:.3}s exceeds 2000 rows/s"
    );

    let (rows, secs) = produce_for(
        r#"
env { job.mode = "STREAMING", parallelism = 2 }
source { FakeSource { unbounded = true, rows.per.second = 1000, schema = { fields { id = bigint } } } }
sink { Blackhole {} }
"#,
        300,
    )
    .await;
    assert!(rows > 0);
    // Two readers at 1000 rows/s each, emitting batches of rate/10 rows.
    assert!(
        rows as f64 <= 2.0 * (1000.0 * secs + 100.0),
        "{rows} rows in {secs:.3}s exceeds 2 x 1000 rows/s"
    );
}

/// A sink whose first write blocks its thread (as a connector stuck in a blocking call does):
/// no await point, so no cancel can reach it until the call returns. The flag says when a
/// write has become stuck.
struct StuckSink(Duration, bool, Arc<std::sync::atomic::AtomicBool>);

impl SinkFactory for StuckSink {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new("Stuck", PluginKind::Sink, vec![])
    }

    fn prepare(
        &self,
        _o: &Options,
        _s: SchemaRef,
        _c: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        Ok(Arc::new(StuckSink(self.0, true, self.2.clone())))
    }
}

impl PreparedSink for StuckSink {
    fn create_writer(&self, _s: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        Ok(Box::new(StuckSink(self.0, true, self.2.clone())))
    }
}

#[async_trait]
impl SinkWriter for StuckSink {
    async fn write(&mut self, _batch: Batch) -> WeirResult<()> {
        if std::mem::take(&mut self.1) {
            self.2.store(true, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(self.0);
        }
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subtask_that_ignores_the_cancel_is_torn_down_after_the_cancellation_timeout() {
    let stuck_for = Duration::from_secs(4);
    let mut registry = PluginRegistry::builtin();
    let stuck = Arc::new(std::sync::atomic::AtomicBool::new(false));
    registry.add_sink(Arc::new(StuckSink(stuck_for, true, stuck.clone())));
    let config = parse_job(
        r#"
env { job.mode = "STREAMING" }
source { FakeSource { plugin_output = s, unbounded = true, batch.size = 10, schema = { fields { id = bigint } } } }
sink { Stuck { plugin_input = s } }
"#,
        Format::Hocon,
        &Variables::default(),
    )
    .unwrap();
    let graph = JobGraph::build(config, &registry).unwrap();
    let subtasks = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let said = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = said.clone();
    let job = PreparedJob::prepare(
        JobId::random(),
        graph,
        &registry,
        RuntimeConfig {
            cancellation_timeout: Duration::from_millis(200),
            // Subtasks on a runtime of their own, as TaskManagers run them: on the test's
            // runtime the stuck subtask's worker could hold the waiter in its LIFO slot
            // (tokio does not steal from it), and no timeout would fire until the sink
            // returned.
            subtask_runtime: Some(subtasks.handle().clone()),
            job_log: weir_runtime::operator::JobLogHandle::new(move |l| {
                if let Ok(mut v) = log.lock() {
                    v.push(l.to_string());
                }
            }),
            ..RuntimeConfig::default()
        },
    )
    .unwrap();
    let running = job.deploy(0, None).unwrap();
    let cancel = running.cancel_handle();
    let waiter = tokio::spawn(async move {
        let mut seen = Vec::new();
        let outcome = running.wait_with(|e| seen.push(e.state)).await;
        (outcome, seen)
    });
    // The sink has taken its first batch and is stuck in it (however slow the machine is).
    let entered = std::time::Instant::now();
    while !stuck.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            entered.elapsed() < Duration::from_secs(30),
            "the sink never got a batch"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cancelled_at = std::time::Instant::now();
    cancel.cancel();
    let (outcome, seen) = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    let took = cancelled_at.elapsed();
    assert!(
        took < stuck_for,
        "the job should end at the cancellation timeout, not when the sink returns ({took:?})"
    );
    assert_eq!(outcome.status, JobStatus::Canceled);
    assert!(
        outcome.torn_down,
        "the stuck sink should be torn down (after {took:?}; states {seen:?}; log {:?}; error {:?})",
        said.lock().map(|v| v.join(" | ")).unwrap_or_default(),
        outcome.error
    );
    let canceled = seen
        .iter()
        .filter(|s| **s == weir_core::ExecutionState::Canceled)
        .count();
    // Source and sink are chained into one subtask.
    assert_eq!(canceled, 1, "the subtask ends CANCELED: {seen:?}");
    // The stuck thread is still asleep; let it finish on its own.
    subtasks.shutdown_background();
    let said = said.lock().unwrap().join("\n");
    assert!(
        said.contains("did not stop within task.cancellation.timeout (200 ms)"),
        "the job log should say why: {said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_source_idling_after_its_data_counts_idle_time_not_busy_time() {
    let job = prepare(
        r#"
env { job.mode = "STREAMING" }
source { FakeSource { row.num = 10, schema = { fields { id = bigint } } } }
sink { Blackhole {} }
"#,
        &PluginRegistry::builtin(),
        1_000,
    );
    let running = job.deploy(0, None).unwrap();
    let metrics = running.metrics.clone();
    let cancel = running.cancel_handle();
    let handle = tokio::spawn(running.wait());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let split = metrics.subtasks[0][0].time_split();
    cancel.cancel();
    let _ = handle.await;
    assert!(
        split.idle_ms >= 400 && split.busy_ms < 200.0,
        "after its 10 rows the source only waits: {split:?}"
    );
}
