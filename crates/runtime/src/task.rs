//! One subtask: the head of its chain (a source reader or input channels), the chained
//! transforms, and the tail (a sink writer or output edges), driven by one loop on one tokio
//! task. Cancellation is raced against the whole loop, so a subtask stops at whatever await
//! point it is parked on, including a send into a full channel.

use crate::batch::Batch;
use crate::channel::{Barrier, ChannelReceiver, StreamElement};
use crate::checkpoint::{Alignment, BarrierAligner, SnapshotAck, TaskControl};
use crate::metrics::{Activity, SubtaskMetrics, RECORDING};
use crate::operator::{SinkWriter, SourceEvent, SourceReader, Transform};
use crate::partition::{EmitError, OutputEdge};
use crate::state::{OperatorState, SubtaskState};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
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
    pub vertex: usize,
    pub index: usize,
    pub head: Head,
    pub transforms: Vec<Box<dyn Transform>>,
    pub tail: Tail,
    /// Index of the first transform in `metrics.operators` (1 when a source heads the chain).
    pub transform_offset: usize,
    pub metrics: Arc<SubtaskMetrics>,
    /// Checkpoint triggers and completions from the TaskExecutor.
    pub control: mpsc::UnboundedReceiver<TaskControl>,
    /// Where this subtask's snapshots go.
    pub acks: mpsc::UnboundedSender<SnapshotAck>,
    /// A restored sink's pending committables, published before anything else runs.
    /// With the id of the checkpoint they come from.
    pub restored_committables: Option<(u64, Vec<Vec<u8>>)>,
    /// Called once the subtask has restored what it restores and starts processing: the end of
    /// Flink's INITIALIZING and the start of RUNNING.
    pub on_running: Option<Box<dyn FnOnce() + Send>>,
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

/// What the input loop woke up for.
enum Wake {
    Input(usize, Option<StreamElement>),
    Control(Option<TaskControl>),
}

/// Whether a control message asks the source to end its input.
#[derive(PartialEq, Eq)]
enum AfterControl {
    Continue,
    EndInput,
}

impl Subtask {
    /// Runs until the input ends, the subtask fails, or `cancel` fires.
    pub async fn run(mut self, cancel: CancellationToken) -> SubtaskOutcome {
        let name = self.name.clone();
        let metrics = self.metrics.clone();
        let result = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(Stop::Disconnected),
            r = self.drive(&cancel) => r,
        };
        metrics.set_activity(Activity::Ended);
        metrics.mark_ended();
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
        if let (Some((checkpoint_id, committables)), Tail::Sink(writer)) =
            (self.restored_committables.take(), &mut self.tail)
        {
            writer.restore(checkpoint_id, committables).await?;
        }
        if let Some(running) = self.on_running.take() {
            running();
        }
        let head = std::mem::replace(&mut self.head, Head::Inputs(Vec::new()));
        match head {
            Head::Source {
                mut reader,
                rate_limit,
            } => {
                let started = Instant::now();
                let mut emitted: u64 = 0;
                'read: loop {
                    // Barriers go in between two batches, so a snapshot of the reader's
                    // position covers exactly the rows sent before the barrier.
                    while let Ok(c) = self.control.try_recv() {
                        if self.on_control(c, Some(&mut reader)).await? == AfterControl::EndInput {
                            break 'read;
                        }
                    }
                    self.metrics.set_activity(Activity::Operator(0));
                    let event = reader.next().await?;
                    let skipped = reader.take_skipped();
                    if skipped > 0 {
                        self.metrics
                            .source_errors
                            .fetch_add(skipped, Ordering::Relaxed);
                    }
                    match event {
                        SourceEvent::Batch(b) => {
                            let taken = RECORDING.then(Instant::now);
                            let rows = b.num_rows();
                            if let Some(source) = self.metrics.operators.first() {
                                source.add_out(rows, b.byte_size());
                                source.add_row_bytes(&b.records);
                            }
                            if RECORDING {
                                self.metrics
                                    .last_emit_ms
                                    .store(weir_core::now_ms(), Ordering::Relaxed);
                                if let Some(p) = reader.pending_records() {
                                    self.metrics
                                        .pending_records
                                        .store(p as i64, Ordering::Relaxed);
                                }
                            }
                            self.push(b).await?;
                            self.metrics.record_batch_time(taken);
                            // A chain that never waits is polled once for many batches, so the
                            // cancel is looked at here, not only when the task yields.
                            if cancel.is_cancelled() {
                                return Err(Stop::Disconnected);
                            }
                            emitted += rows as u64;
                            if let Some(wait) =
                                rate_limit.and_then(|r| throttle(started, emitted, r))
                            {
                                // Barriers and cancels are served while the source is held
                                // back: a slow rate must not hold back checkpoints.
                                let until = tokio::time::Instant::now() + wait;
                                let mut control_open = true;
                                loop {
                                    let control = tokio::select! {
                                        _ = tokio::time::sleep_until(until) => break,
                                        c = self.control.recv(), if control_open => c,
                                    };
                                    match control {
                                        Some(c) => {
                                            if self.on_control(c, Some(&mut reader)).await?
                                                == AfterControl::EndInput
                                            {
                                                break 'read;
                                            }
                                        }
                                        None => control_open = false,
                                    }
                                }
                            }
                            // A source whose reader is always ready never waits on its own;
                            // giving the worker back when the task's budget is spent keeps the
                            // cancel, other subtasks and timers served.
                            tokio::task::coop::consume_budget().await;
                        }
                        SourceEvent::Idle(d) => {
                            self.metrics.set_activity(Activity::WaitingForInput);
                            self.metrics.begin_idle();
                            let control = tokio::select! {
                                _ = tokio::time::sleep(d) => None,
                                c = self.control.recv() => c,
                            };
                            self.metrics.end_idle();
                            if let Some(c) = control {
                                if self.on_control(c, Some(&mut reader)).await?
                                    == AfterControl::EndInput
                                {
                                    break 'read;
                                }
                            }
                        }
                        SourceEvent::End => {
                            self.metrics.set_activity(Activity::WaitingForInput);
                            if self.mode != JobMode::Streaming {
                                break 'read;
                            }
                            // SeaTunnel's streaming sources idle after their data; the job runs
                            // on (and keeps checkpointing) until it is cancelled or stopped. The
                            // wait is idle time, as Flink counts it, not busy time.
                            loop {
                                self.metrics.begin_idle();
                                let control = tokio::select! {
                                    _ = cancel.cancelled() => return Ok(()),
                                    c = self.control.recv() => c,
                                };
                                self.metrics.end_idle();
                                match control {
                                    Some(c) => {
                                        if self.on_control(c, Some(&mut reader)).await?
                                            == AfterControl::EndInput
                                        {
                                            break 'read;
                                        }
                                    }
                                    None => {
                                        cancel.cancelled().await;
                                        return Ok(());
                                    }
                                }
                            }
                        }
                    }
                }
                self.metrics.set_activity(Activity::WaitingForInput);
            }
            Head::Inputs(mut receivers) => {
                let n = receivers.len();
                let mut watermarks = Watermarks::new(n);
                let mut aligner = BarrierAligner::new(n);
                let mut first_barrier: Option<(Instant, i64)> = None;
                let mut control_open = true;
                let mut next_input = 0;
                while aligner.open_inputs() > 0 {
                    self.metrics.set_activity(Activity::WaitingForInput);
                    self.metrics.begin_idle();
                    let control = &mut self.control;
                    let wake = std::future::poll_fn(|cx| {
                        if control_open {
                            if let Poll::Ready(c) = control.poll_recv(cx) {
                                return Poll::Ready(Wake::Control(c));
                            }
                        }
                        // Start after the input served last, so no input starves the others.
                        for k in 0..n {
                            let i = (next_input + k) % n;
                            if aligner.is_blocked(i) {
                                continue;
                            }
                            if let Poll::Ready(e) = receivers[i].poll_recv(cx) {
                                next_input = i + 1;
                                return Poll::Ready(Wake::Input(i, e));
                            }
                        }
                        Poll::Pending
                    })
                    .await;
                    self.metrics.end_idle();
                    let taken = RECORDING.then(Instant::now);
                    let aligned = match wake {
                        Wake::Control(None) => {
                            control_open = false;
                            None
                        }
                        Wake::Control(Some(c)) => {
                            self.on_control(c, None).await?;
                            None
                        }
                        Wake::Input(_, Some(StreamElement::Data(b))) => {
                            self.metrics.task.add_in(b.num_rows(), b.byte_size());
                            self.push(b).await?;
                            self.metrics.record_batch_time(taken);
                            if cancel.is_cancelled() {
                                return Err(Stop::Disconnected);
                            }
                            tokio::task::coop::consume_budget().await;
                            None
                        }
                        // An upstream that ends normally says so (EndOfInput); a channel that
                        // closes while the job is cancelled is the cancel reaching this subtask
                        // first through its input: it must not finish (and publish) its output.
                        Wake::Input(_, None) if cancel.is_cancelled() => {
                            return Err(Stop::Disconnected);
                        }
                        Wake::Input(i, Some(StreamElement::EndOfInput)) | Wake::Input(i, None) => {
                            match aligner.on_end(i) {
                                Alignment::Aligned(b) => Some(b),
                                _ => None,
                            }
                        }
                        Wake::Input(i, Some(StreamElement::Watermark(w))) => {
                            if let Some(advanced) = watermarks.update(i, w) {
                                self.metrics
                                    .input_watermark
                                    .store(advanced, Ordering::Relaxed);
                                self.forward(StreamElement::Watermark(advanced)).await?;
                            }
                            None
                        }
                        Wake::Input(i, Some(StreamElement::Barrier(b))) => {
                            match aligner.on_barrier(i, b) {
                                Alignment::Aligned(b) => Some(b),
                                Alignment::Waiting => {
                                    first_barrier
                                        .get_or_insert((Instant::now(), weir_core::now_ms()));
                                    None
                                }
                                Alignment::Stale => None,
                            }
                        }
                    };
                    if let Some(barrier) = aligned {
                        let (since, received) = first_barrier
                            .take()
                            .unwrap_or((Instant::now(), weir_core::now_ms()));
                        self.checkpoint(barrier, None, since.elapsed(), received)
                            .await?;
                    }
                }
            }
        }
        self.finish().await
    }

    /// Acts on a control message. `reader` is the source reader when this subtask has one.
    async fn on_control(
        &mut self,
        control: TaskControl,
        reader: Option<&mut Box<dyn SourceReader>>,
    ) -> Result<AfterControl, Stop> {
        match control {
            TaskControl::TriggerCheckpoint(barrier) => {
                if let Some(reader) = reader {
                    let position = reader.snapshot_state(barrier.checkpoint_id)?;
                    self.checkpoint(barrier, Some(position), Duration::ZERO, weir_core::now_ms())
                        .await?;
                }
            }
            TaskControl::CheckpointComplete(id) => {
                if let Some(reader) = reader {
                    reader.notify_checkpoint_complete(id);
                }
                if let Tail::Sink(writer) = &mut self.tail {
                    writer.commit(id).await?;
                }
            }
            TaskControl::EndInput => {
                if reader.is_some() {
                    return Ok(AfterControl::EndInput);
                }
            }
        }
        Ok(AfterControl::Continue)
    }

    /// Takes this subtask's part of checkpoint `barrier`: copies the state of every chained
    /// operator out, passes the barrier on (or pre-commits the sink), and hands the snapshot
    /// over for writing. The data path continues as soon as the copy is taken.
    async fn checkpoint(
        &mut self,
        barrier: Barrier,
        source_position: Option<Vec<Vec<u8>>>,
        alignment: Duration,
        barrier_received_ms: i64,
    ) -> Result<(), Stop> {
        let started = Instant::now();
        let mut operators = Vec::with_capacity(self.metrics.operators.len());
        if let Some(position) = source_position {
            operators.push(OperatorState::list(position));
        }
        for t in self.transforms.iter_mut() {
            operators.push(t.snapshot_state()?);
        }
        match &mut self.tail {
            Tail::Sink(writer) => {
                operators.push(OperatorState::list(
                    writer.prepare_commit(barrier.checkpoint_id).await?,
                ));
            }
            Tail::Outputs(_) => self.forward(StreamElement::Barrier(barrier)).await?,
        }
        let ack = SnapshotAck {
            checkpoint_id: barrier.checkpoint_id,
            vertex: self.vertex,
            subtask: self.index,
            state: SubtaskState { operators },
            alignment,
            sync: started.elapsed(),
            barrier_received_ms,
        };
        // The receiver is gone only while the job is torn down; nothing waits for the ack then.
        let _ = self.acks.send(ack);
        Ok(())
    }

    /// Runs a batch through the transforms from position `from`, then to the tail.
    async fn push(&mut self, batch: Batch) -> Result<(), Stop> {
        let out = self.transform_from(0, vec![batch])?;
        self.emit(out).await
    }

    fn transform_from(&mut self, from: usize, mut current: Vec<Batch>) -> Result<Vec<Batch>, Stop> {
        let offset = self.transform_offset;
        for (i, t) in self.transforms.iter_mut().enumerate().skip(from) {
            self.metrics.set_activity(Activity::Operator(i + offset));
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
                        sink.add_row_bytes(&b.records);
                    }
                    self.metrics
                        .set_activity(Activity::Operator(self.metrics.operators.len() - 1));
                    let written = writer.write(b).await;
                    self.metrics.sink_wrote(rows, written.is_ok());
                    written?;
                }
                Tail::Outputs(edges) => {
                    self.metrics.task.add_out(rows, bytes);
                    self.metrics.set_activity(Activity::BackPressured);
                    self.metrics.begin_back_pressure();
                    let mut sent = Ok(());
                    for edge in edges.iter_mut() {
                        // Arrow arrays are reference counted: a fan-out clone is cheap.
                        sent = edge.emit(b.clone()).await;
                        if sent.is_err() {
                            break;
                        }
                        if RECORDING {
                            let in_flight = edge.in_flight() as u64;
                            self.metrics
                                .max_output_in_flight
                                .fetch_max(in_flight, Ordering::Relaxed);
                        }
                    }
                    self.metrics.end_back_pressure(Duration::from_micros(200));
                    sent?;
                }
            }
        }
        Ok(())
    }

    /// Sends a control element to every downstream subtask (a sink has none).
    async fn forward(&mut self, element: StreamElement) -> Result<(), Stop> {
        if let Tail::Outputs(edges) = &self.tail {
            for e in edges.iter() {
                e.broadcast(element.clone()).await?;
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

/// The last watermark of each input; the subtask's watermark is their minimum, and it only
/// moves forward.
struct Watermarks {
    per_input: Vec<i64>,
    current: i64,
}

impl Watermarks {
    fn new(inputs: usize) -> Self {
        Self {
            per_input: vec![crate::metrics::NO_WATERMARK; inputs],
            current: crate::metrics::NO_WATERMARK,
        }
    }

    /// Takes input `i`'s watermark; returns the new combined watermark if it advanced.
    fn update(&mut self, i: usize, w: i64) -> Option<i64> {
        let slot = self.per_input.get_mut(i)?;
        *slot = (*slot).max(w);
        let min = self.per_input.iter().copied().min()?;
        (min > self.current).then(|| {
            self.current = min;
            min
        })
    }
}

/// Sleeps until `emitted` rows fit under `rate` rows per second since `started`.
/// How long a source that has emitted `emitted` rows since `started` must wait to keep to
/// `rate` rows per second, if at all.
fn throttle(started: Instant, emitted: u64, rate: u64) -> Option<Duration> {
    if rate == 0 {
        return None;
    }
    let due = Duration::from_secs_f64(emitted as f64 / rate as f64);
    due.checked_sub(started.elapsed()).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::Watermarks;

    #[test]
    fn the_watermark_is_the_minimum_over_inputs_and_never_goes_back() {
        let mut w = Watermarks::new(2);
        assert_eq!(w.update(0, 10), None);
        assert_eq!(w.update(1, 5), Some(5));
        assert_eq!(w.update(1, 20), Some(10));
        assert_eq!(w.update(0, 8), None);
        assert_eq!(w.update(0, 30), Some(20));
    }
}
