//! One subtask: the head of its chain (a source reader or input channels), the chained
//! transforms, and the tail (a sink writer or output edges), driven by one loop on one tokio
//! task. Cancellation is raced against the whole loop, so a subtask stops at whatever await
//! point it is parked on, including a send into a full channel.

use crate::batch::Batch;
use crate::channel::{ChannelReceiver, StreamElement};
use crate::metrics::SubtaskMetrics;
use crate::operator::{SinkWriter, SourceEvent, SourceReader, Transform};
use crate::partition::{EmitError, OutputEdge};
use futures::stream::{self, SelectAll, StreamExt};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use weir_core::WeirError;
use weir_pipeline::JobMode;

/// Where a subtask's rows come from.
pub enum Head {
    Source {
        reader: Box<dyn SourceReader>,
        /// Rows per second for this reader, when throttled.
        rate_limit: Option<u64>,
    },
    Inputs(Vec<ChannelReceiver>),
}

/// Where a subtask's rows go.
pub enum Tail {
    Sink(Box<dyn SinkWriter>),
    Outputs(Vec<OutputEdge>),
}

/// How a subtask ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubtaskOutcome {
    Finished,
    Canceled,
    Failed(WeirError),
}

/// Everything one subtask runs.
pub struct Subtask {
    /// `Source: FakeSource -> Sink: Console (2/4)`, Flink's task name with subtask position.
    pub name: String,
    pub mode: JobMode,
    pub head: Head,
    pub transforms: Vec<Box<dyn Transform>>,
    pub tail: Tail,
    /// Index of the first transform in `metrics.operators` (1 when a source heads the chain).
    pub transform_offset: usize,
    pub metrics: Arc<SubtaskMetrics>,
}

/// Outcome of processing: a real failure, or the downstream went away (teardown).
enum Stop {
    Failed(WeirError),
    Disconnected,
}

impl From<WeirError> for Stop {
    fn from(e: WeirError) -> Self {
        Stop::Failed(e)
    }
}

impl From<EmitError> for Stop {
    fn from(e: EmitError) -> Self {
        match e {
            EmitError::Disconnected => Stop::Disconnected,
            EmitError::Failed(e) => Stop::Failed(e),
        }
    }
}

impl Subtask {
    /// Runs until the input ends, the subtask fails, or `cancel` fires.
    pub async fn run(mut self, cancel: CancellationToken) -> SubtaskOutcome {
        let name = self.name.clone();
        let result = tokio::select! {
            biased;
            _ = cancel.cancelled() => return SubtaskOutcome::Canceled,
            r = self.drive(&cancel) => r,
        };
        match result {
            Ok(()) => SubtaskOutcome::Finished,
            Err(Stop::Disconnected) if cancel.is_cancelled() => SubtaskOutcome::Canceled,
            Err(Stop::Disconnected) => SubtaskOutcome::Failed(
                WeirError::new("a downstream subtask stopped before this one finished").at(name),
            ),
            Err(Stop::Failed(e)) => SubtaskOutcome::Failed(e.at(name)),
        }
    }

    async fn drive(&mut self, cancel: &CancellationToken) -> Result<(), Stop> {
        let head = std::mem::replace(&mut self.head, Head::Inputs(Vec::new()));
        match head {
            Head::Source {
                mut reader,
                rate_limit,
            } => {
                let started = Instant::now();
                let mut emitted: u64 = 0;
                loop {
                    match reader.next().await? {
                        SourceEvent::Batch(b) => {
                            let rows = b.num_rows();
                            if let Some(source) = self.metrics.operators.first() {
                                source.add_out(rows, b.byte_size());
                            }
                            self.push(b).await?;
                            emitted += rows as u64;
                            if let Some(rate) = rate_limit {
                                throttle(started, emitted, rate).await;
                            }
                        }
                        SourceEvent::Idle(d) => {
                            tokio::time::sleep(d).await;
                            self.metrics
                                .idle_ns
                                .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
                        }
                        SourceEvent::End => break,
                    }
                }
                if self.mode == JobMode::Streaming {
                    // SeaTunnel's streaming sources idle after their data; the job runs on
                    // until it is cancelled.
                    cancel.cancelled().await;
                    return Ok(());
                }
            }
            Head::Inputs(receivers) => {
                let n = receivers.len();
                let mut merged: SelectAll<_> =
                    stream::select_all(receivers.into_iter().map(|rx| {
                        Box::pin(stream::unfold(rx, |mut rx| async move {
                            rx.recv().await.map(|e| (e, rx))
                        }))
                    }));
                let mut ended = 0;
                while ended < n {
                    let waiting = Instant::now();
                    let next = merged.next().await;
                    self.metrics
                        .idle_ns
                        .fetch_add(waiting.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    match next {
                        Some(StreamElement::Data(b)) => {
                            self.metrics.task.add_in(b.num_rows(), b.byte_size());
                            self.push(b).await?;
                        }
                        Some(StreamElement::EndOfInput) => ended += 1,
                        Some(StreamElement::Barrier(_)) | Some(StreamElement::Watermark(_)) => {}
                        None => break,
                    }
                }
            }
        }
        self.finish().await
    }

    /// Runs a batch through the transforms from position `from`, then to the tail.
    async fn push(&mut self, batch: Batch) -> Result<(), Stop> {
        let out = self.transform_from(0, vec![batch])?;
        self.emit(out).await
    }

    fn transform_from(&mut self, from: usize, mut current: Vec<Batch>) -> Result<Vec<Batch>, Stop> {
        let offset = self.transform_offset;
        for (i, t) in self.transforms.iter_mut().enumerate().skip(from) {
            let counters = &self.metrics.operators[i + offset];
            let mut next = Vec::with_capacity(current.len());
            for b in current {
                counters.add_in(b.num_rows(), b.byte_size());
                t.process(b, &mut next)?;
            }
            for b in &next {
                counters.add_out(b.num_rows(), b.byte_size());
            }
            current = next;
        }
        Ok(current)
    }

    async fn emit(&mut self, batches: Vec<Batch>) -> Result<(), Stop> {
        for b in batches {
            if b.num_rows() == 0 {
                continue;
            }
            let (rows, bytes) = (b.num_rows(), b.byte_size());
            match &mut self.tail {
                Tail::Sink(writer) => {
                    // As in Flink, rows a chained sink writes are the sink operator's input,
                    // not task output (task output is what goes to other subtasks).
                    if let Some(sink) = self.metrics.operators.last() {
                        sink.add_in(rows, bytes);
                    }
                    writer.write(b).await?;
                }
                Tail::Outputs(edges) => {
                    self.metrics.task.add_out(rows, bytes);
                    let started = Instant::now();
                    for edge in edges.iter_mut() {
                        // Arrow arrays are reference counted: a fan-out clone is cheap.
                        edge.emit(b.clone()).await?;
                        let in_flight = edge.in_flight() as u64;
                        self.metrics
                            .max_output_in_flight
                            .fetch_max(in_flight, Ordering::Relaxed);
                    }
                    let waited = started.elapsed();
                    if waited > Duration::from_micros(200) {
                        self.metrics
                            .back_pressured_ns
                            .fetch_add(waited.as_nanos() as u64, Ordering::Relaxed);
                    }
                }
            }
        }
        Ok(())
    }

    /// End of input: flush stateful transforms, then the sink or the downstream.
    async fn finish(&mut self) -> Result<(), Stop> {
        for i in 0..self.transforms.len() {
            let mut flushed = Vec::new();
            self.transforms[i].finish(&mut flushed)?;
            if !flushed.is_empty() {
                let rest = self.transform_from(i + 1, flushed)?;
                self.emit(rest).await?;
            }
        }
        match &mut self.tail {
            Tail::Sink(writer) => writer.finish().await?,
            Tail::Outputs(edges) => {
                for e in edges.iter() {
                    e.broadcast(StreamElement::EndOfInput).await?;
                }
            }
        }
        Ok(())
    }
}

/// Sleeps until `emitted` rows fit under `rate` rows per second since `started`.
async fn throttle(started: Instant, emitted: u64, rate: u64) {
    if rate == 0 {
        return;
    }
    let due = Duration::from_secs_f64(emitted as f64 / rate as f64);
    let elapsed = started.elapsed();
    if due > elapsed {
        tokio::time::sleep(due - elapsed).await;
    }
}
