//! Counters the runtime keeps per subtask and per operator. They are plain atomics bumped once
//! per batch (never per record, never under a lock); the metrics subsystem reads them into
//! Flink's metric groups, and `weir run` reads them for its progress line.

use crate::channel::ChannelGauge;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use weir_metrics::Histogram;

/// False in builds with the `metrics-off` feature: the benchmark's baseline, with every
/// recording on the data path compiled out (`if RECORDING` folds to nothing).
pub const RECORDING: bool = !cfg!(feature = "metrics-off");

/// Records and bytes through one operator or one subtask.
#[derive(Debug, Default)]
pub struct IoCounters {
    pub records_in: AtomicU64,
    pub records_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Bytes of the rows by SeaTunnel's size rules (`row_size`), counted only where rows
    /// enter the job (a source's output) or leave it (a sink's input), as SeaTunnel counts.
    pub row_bytes: AtomicU64,
}

impl IoCounters {
    /// Counts SeaTunnel's byte size of `batch` (sources and sinks only: it costs a pass over
    /// string columns that are not ASCII).
    pub fn add_row_bytes(&self, batch: &arrow::record_batch::RecordBatch) {
        if !RECORDING {
            return;
        }
        self.row_bytes
            .fetch_add(crate::row_size::batch_row_bytes(batch), Ordering::Relaxed);
    }

    /// Counts rows and bytes taken in.
    pub fn add_in(&self, rows: usize, bytes: usize) {
        if !RECORDING {
            return;
        }
        self.records_in.fetch_add(rows as u64, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts rows and bytes given out.
    pub fn add_out(&self, rows: usize, bytes: usize) {
        if !RECORDING {
            return;
        }
        self.records_out.fetch_add(rows as u64, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A consistent-enough copy for display.
    pub fn snapshot(&self) -> IoSnapshot {
        IoSnapshot {
            records_in: self.records_in.load(Ordering::Relaxed),
            records_out: self.records_out.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }
}

/// Plain values read from `IoCounters`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IoSnapshot {
    pub records_in: u64,
    pub records_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl std::ops::AddAssign for IoSnapshot {
    fn add_assign(&mut self, o: IoSnapshot) {
        self.records_in += o.records_in;
        self.records_out += o.records_out;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }
}

/// What a subtask is doing at this instant, for the flame graph's sampler. Stored as one
/// relaxed atomic per change of activity (a few per batch), read by the sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Waiting for input (or, for a source, for its next rows to be due).
    WaitingForInput,
    /// Blocked on a full output channel.
    BackPressured,
    /// Running operator `n` of the chain (0 is the head).
    Operator(usize),
    /// Done: the subtask has ended.
    Ended,
}

impl Activity {
    fn encode(self) -> u32 {
        match self {
            Activity::WaitingForInput => 0,
            Activity::BackPressured => 1,
            Activity::Ended => 2,
            Activity::Operator(n) => 3 + n as u32,
        }
    }

    fn decode(v: u32) -> Activity {
        match v {
            0 => Activity::WaitingForInput,
            1 => Activity::BackPressured,
            2 => Activity::Ended,
            n => Activity::Operator((n - 3) as usize),
        }
    }
}

const NOT_WAITING: u64 = u64::MAX;

/// Flink's value for "no watermark yet" (`Long.MIN_VALUE`).
pub const NO_WATERMARK: i64 = i64::MIN;

/// Everything measured about one subtask.
#[derive(Debug)]
pub struct SubtaskMetrics {
    pub vertex: usize,
    pub subtask: usize,
    /// Records into the chain head / out of the chain tail (Flink's task-level I/O).
    pub task: IoCounters,
    /// One entry per chained operator, head first.
    pub operators: Vec<IoCounters>,
    /// Time spent waiting for room in full output channels, in nanoseconds.
    pub back_pressured_ns: AtomicU64,
    /// Most rows this subtask's output channels ever held at once (backpressure evidence).
    pub max_output_in_flight: AtomicU64,
    /// Time spent waiting for input, in nanoseconds.
    pub idle_ns: AtomicU64,
    /// When the subtask started running.
    pub started: std::time::Instant,
    /// What it is doing right now (see [`Activity`]).
    activity: AtomicU32,
    /// When the current wait for input / for output room began (ns after `started`, or
    /// `NOT_WAITING`), so time gauges count a long wait while it lasts, not in one lump after.
    idle_since: AtomicU64,
    back_pressured_since: AtomicU64,
    /// The smallest watermark over its inputs (`currentInputWatermark`).
    pub input_watermark: AtomicI64,
    /// Fill of its input and output channels.
    pub input_channels: Vec<ChannelGauge>,
    pub output_channels: Vec<ChannelGauge>,
    /// Microseconds from taking a batch in to having handed on everything it produced.
    pub batch_time_us: Arc<Histogram>,
    /// Rows its source has yet to produce, when the source knows (-1 otherwise).
    pub pending_records: AtomicI64,
    /// When its source last emitted rows (ms since the epoch; 0 before the first).
    pub last_emit_ms: AtomicI64,
    /// Rows its sink wrote, and rows it failed to write.
    pub sink_sent: AtomicU64,
    pub sink_errors: AtomicU64,
    /// Records its source read but could not use (malformed, skipped by the job's choice):
    /// FLIP-33's `numRecordsInErrors`.
    pub source_errors: AtomicU64,
    /// Whether the chain is headed by a source (it has no input).
    pub has_source: bool,
    /// When the subtask stopped running (ns after `started`; 0 while it runs).
    ended_ns: AtomicU64,
}

/// How a subtask spent its time so far, in milliseconds.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct TimeSplit {
    pub busy_ms: f64,
    pub idle_ms: u64,
    pub back_pressured_ms: u64,
}

impl SubtaskMetrics {
    /// Busy, idle and back-pressured time since the subtask started (busy is the rest).
    pub fn time_split(&self) -> TimeSplit {
        let total = self.now_ns();
        let ongoing = |since: &AtomicU64| match since.load(Ordering::Relaxed) {
            NOT_WAITING => 0,
            s => total.saturating_sub(s),
        };
        let idle = self.idle_ns.load(Ordering::Relaxed) + ongoing(&self.idle_since);
        let bp =
            self.back_pressured_ns.load(Ordering::Relaxed) + ongoing(&self.back_pressured_since);
        TimeSplit {
            busy_ms: total.saturating_sub(idle + bp) as f64 / 1e6,
            idle_ms: idle / 1_000_000,
            back_pressured_ms: bp / 1_000_000,
        }
    }
}

/// How a subtask is wired, for its metrics.
#[derive(Default)]
pub struct SubtaskWiring {
    pub input_channels: Vec<ChannelGauge>,
    pub output_channels: Vec<ChannelGauge>,
    pub has_source: bool,
    pub pending_records: Option<u64>,
}

impl SubtaskMetrics {
    /// Fresh counters for a subtask with `operators` chained operators.
    pub fn new(vertex: usize, subtask: usize, operators: usize) -> Arc<Self> {
        Self::wired(vertex, subtask, operators, SubtaskWiring::default())
    }

    /// Fresh counters for a subtask wired as described.
    pub fn wired(vertex: usize, subtask: usize, operators: usize, w: SubtaskWiring) -> Arc<Self> {
        Arc::new(Self {
            vertex,
            subtask,
            task: IoCounters::default(),
            operators: (0..operators).map(|_| IoCounters::default()).collect(),
            back_pressured_ns: AtomicU64::new(0),
            max_output_in_flight: AtomicU64::new(0),
            idle_ns: AtomicU64::new(0),
            started: std::time::Instant::now(),
            activity: AtomicU32::new(Activity::WaitingForInput.encode()),
            idle_since: AtomicU64::new(NOT_WAITING),
            back_pressured_since: AtomicU64::new(NOT_WAITING),
            input_watermark: AtomicI64::new(NO_WATERMARK),
            input_channels: w.input_channels,
            output_channels: w.output_channels,
            batch_time_us: Histogram::new(),
            pending_records: AtomicI64::new(w.pending_records.map(|p| p as i64).unwrap_or(-1)),
            last_emit_ms: AtomicI64::new(0),
            sink_sent: AtomicU64::new(0),
            sink_errors: AtomicU64::new(0),
            source_errors: AtomicU64::new(0),
            has_source: w.has_source,
            ended_ns: AtomicU64::new(0),
        })
    }

    /// Records that the subtask stopped running (its run time stops growing).
    pub fn mark_ended(&self) {
        let _ = self.ended_ns.compare_exchange(
            0,
            self.now_ns().max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Seconds the subtask ran: until now, or until it ended.
    pub fn run_seconds(&self) -> f64 {
        let ended = self.ended_ns.load(Ordering::Relaxed);
        let ns = if ended > 0 { ended } else { self.now_ns() };
        ns as f64 / 1e9
    }

    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Marks the start of a wait for input.
    pub fn begin_idle(&self) {
        if !RECORDING {
            return;
        }
        self.idle_since.store(self.now_ns(), Ordering::Relaxed);
    }

    /// Ends a wait for input begun with [`Self::begin_idle`], counting it.
    pub fn end_idle(&self) {
        if !RECORDING {
            return;
        }
        let since = self.idle_since.swap(NOT_WAITING, Ordering::Relaxed);
        if since != NOT_WAITING {
            let waited = self.now_ns().saturating_sub(since);
            self.idle_ns.fetch_add(waited, Ordering::Relaxed);
        }
    }

    /// Marks the start of a wait for room in an output channel.
    pub fn begin_back_pressure(&self) {
        if !RECORDING {
            return;
        }
        self.back_pressured_since
            .store(self.now_ns(), Ordering::Relaxed);
    }

    /// Ends a wait begun with [`Self::begin_back_pressure`]; waits shorter than `min` are
    /// not back-pressure (just the cost of a send) and count as busy.
    pub fn end_back_pressure(&self, min: std::time::Duration) {
        if !RECORDING {
            return;
        }
        let since = self
            .back_pressured_since
            .swap(NOT_WAITING, Ordering::Relaxed);
        if since != NOT_WAITING {
            let waited = self.now_ns().saturating_sub(since);
            if waited > min.as_nanos() as u64 {
                self.back_pressured_ns.fetch_add(waited, Ordering::Relaxed);
            }
        }
    }

    /// Records how long a batch took, from `taken` (None when recording is compiled out).
    pub fn record_batch_time(&self, taken: Option<std::time::Instant>) {
        if let Some(t) = taken {
            self.batch_time_us.record(t.elapsed().as_micros() as u64);
        }
    }

    /// Counts rows a sink wrote, or failed to write.
    pub fn sink_wrote(&self, rows: usize, ok: bool) {
        if !RECORDING {
            return;
        }
        let counter = if ok {
            &self.sink_sent
        } else {
            &self.sink_errors
        };
        counter.fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// Records what the subtask is doing now.
    pub fn set_activity(&self, a: Activity) {
        if !RECORDING {
            return;
        }
        self.activity.store(a.encode(), Ordering::Relaxed);
    }

    /// What the subtask is doing now.
    pub fn activity(&self) -> Activity {
        Activity::decode(self.activity.load(Ordering::Relaxed))
    }

    /// Whether it is blocked on output right now (Flink's `isBackPressured`).
    pub fn is_back_pressured(&self) -> bool {
        self.activity() == Activity::BackPressured
    }

    /// Mean fill over a set of channels (0 when there are none).
    pub fn avg_usage(channels: &[ChannelGauge]) -> f64 {
        if channels.is_empty() {
            0.0
        } else {
            channels.iter().map(ChannelGauge::usage).sum::<f64>() / channels.len() as f64
        }
    }
}

/// The metrics of every subtask of a running job, indexed by vertex then subtask.
#[derive(Debug, Default)]
pub struct JobMetrics {
    pub subtasks: Vec<Vec<Arc<SubtaskMetrics>>>,
}

impl JobMetrics {
    /// I/O of operator `position` of a vertex's chain, summed over its subtasks.
    pub fn operator_io(&self, vertex: usize, position: usize) -> IoSnapshot {
        let mut total = IoSnapshot::default();
        if let Some(subs) = self.subtasks.get(vertex) {
            for s in subs {
                if let Some(op) = s.operators.get(position) {
                    total += op.snapshot();
                }
            }
        }
        total
    }

    /// Task-level I/O of a vertex summed over its subtasks.
    pub fn vertex_io(&self, vertex: usize) -> IoSnapshot {
        let mut total = IoSnapshot::default();
        if let Some(subs) = self.subtasks.get(vertex) {
            for s in subs {
                total += s.task.snapshot();
            }
        }
        total
    }
}
