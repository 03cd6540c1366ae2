//! Counters the runtime keeps per subtask and per operator. They are plain atomics bumped once
//! per batch (never per record, never under a lock); the metrics subsystem reads them into
//! Flink's metric groups, and `weir run` reads them for its progress line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Records and bytes through one operator or one subtask.
#[derive(Debug, Default)]
pub struct IoCounters {
    pub records_in: AtomicU64,
    pub records_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
}

impl IoCounters {
    /// Counts rows and bytes taken in.
    pub fn add_in(&self, rows: usize, bytes: usize) {
        self.records_in.fetch_add(rows as u64, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts rows and bytes given out.
    pub fn add_out(&self, rows: usize, bytes: usize) {
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
        let total = self.started.elapsed().as_nanos() as u64;
        let idle = self.idle_ns.load(Ordering::Relaxed);
        let bp = self.back_pressured_ns.load(Ordering::Relaxed);
        TimeSplit {
            busy_ms: total.saturating_sub(idle + bp) as f64 / 1e6,
            idle_ms: idle / 1_000_000,
            back_pressured_ms: bp / 1_000_000,
        }
    }
}

impl SubtaskMetrics {
    /// Fresh counters for a subtask with `operators` chained operators.
    pub fn new(vertex: usize, subtask: usize, operators: usize) -> Arc<Self> {
        Arc::new(Self {
            vertex,
            subtask,
            task: IoCounters::default(),
            operators: (0..operators).map(|_| IoCounters::default()).collect(),
            back_pressured_ns: AtomicU64::new(0),
            max_output_in_flight: AtomicU64::new(0),
            idle_ns: AtomicU64::new(0),
            started: std::time::Instant::now(),
        })
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
