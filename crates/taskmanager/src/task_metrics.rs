//! The metric groups of a deployed job's subtasks: Flink's task and operator metrics, read
//! from the runtime's per-subtask atomics (nothing is copied or recorded twice).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use weir_core::{JobId, VertexId};
use weir_metrics::kinds::Meter;
use weir_metrics::{CountFn, GaugeValue, MetricGroup, Scope, TaskScope};
use weir_pipeline::{JobGraph, PluginKind};
use weir_runtime::metrics::{IoCounters, JobMetrics, SubtaskMetrics};

/// Window of the `…TimeMsPerSecond` gauges: short, so backpressure shows within seconds
/// (Flink's time gauges cover its 5 s view update interval).
const TIME_WINDOW_SECS: u64 = 5;

/// A counter of records or bytes in `IoCounters`.
type IoField = fn(&IoCounters) -> &AtomicU64;

/// Flink's record and byte counters, as read from the runtime's.
const IO_FIELDS: [(&str, IoField); 4] = [
    ("numRecordsIn", |c| &c.records_in),
    ("numRecordsOut", |c| &c.records_out),
    ("numBytesIn", |c| &c.bytes_in),
    ("numBytesOut", |c| &c.bytes_out),
];

/// Milliseconds of one kind of time a subtask has spent.
type TimeReading = fn(&SubtaskMetrics) -> u64;

/// Who the groups belong to.
pub struct TaskMetricContext<'a> {
    pub job_id: JobId,
    pub attempt: u32,
    pub tm_id: &'a str,
    pub host: &'a str,
}

fn count(a: impl Fn() -> u64 + Send + Sync + 'static) -> CountFn {
    Arc::new(a)
}

fn load(m: &Arc<SubtaskMetrics>, f: fn(&SubtaskMetrics) -> &AtomicU64) -> CountFn {
    let m = m.clone();
    count(move || f(&m).load(Ordering::Relaxed))
}

fn load_i64(
    m: &Arc<SubtaskMetrics>,
    f: fn(&SubtaskMetrics) -> &AtomicI64,
) -> impl Fn() -> GaugeValue {
    let m = m.clone();
    move || GaugeValue::Int(f(&m).load(Ordering::Relaxed))
}

/// Registers records and bytes in and out, with per-second meters, for one set of counters.
fn io(g: &mut MetricGroup, m: &Arc<SubtaskMetrics>, pick: fn(&SubtaskMetrics) -> &IoCounters) {
    for (name, field) in IO_FIELDS {
        let m = m.clone();
        let c = count(move || field(pick(&m)).load(Ordering::Relaxed));
        g.counter(name, c.clone());
        g.meter(&format!("{name}PerSecond"), c, Meter::DEFAULT_WINDOW_SECS);
    }
}

/// Operator names unique within a chain: a repeated name gets its operator id, as Flink's
/// `Calc[2]` names carry theirs.
fn operator_names(graph: &JobGraph, chain: &[usize]) -> Vec<String> {
    let names: Vec<String> = chain
        .iter()
        .map(|&op| graph.operators[op].display_name())
        .collect();
    names
        .iter()
        .zip(chain)
        .map(|(n, op)| {
            if names.iter().filter(|x| *x == n).count() > 1 {
                format!("{n}[{}]", op + 1)
            } else {
                n.clone()
            }
        })
        .collect()
}

/// The task and operator groups of each subtask of a job: `(vertex, subtask, groups)`.
pub fn job_groups(
    ctx: &TaskMetricContext,
    graph: &JobGraph,
    metrics: &JobMetrics,
) -> Vec<(usize, usize, Vec<MetricGroup>)> {
    let mut out = Vec::new();
    let job_name: Arc<str> = graph.name.as_str().into();
    let table_paths = graph.table_paths();
    for (v, subtasks) in metrics.subtasks.iter().enumerate() {
        let Some(vertex) = graph.vertices.get(v) else {
            continue;
        };
        let names = operator_names(graph, &vertex.chain);
        for m in subtasks {
            let task = Arc::new(TaskScope {
                job_id: ctx.job_id,
                job_name: job_name.clone(),
                vertex_id: VertexId::for_job(ctx.job_id, v),
                task_name: vertex.name.as_str().into(),
                subtask: m.subtask,
                attempt: ctx.attempt,
                tm_id: ctx.tm_id.into(),
                host: ctx.host.into(),
            });
            let mut groups = vec![task_group(task.clone(), m)];
            for (position, name) in names.iter().enumerate() {
                let op = vertex.chain[position];
                let kind = graph.operators[op].plugin.kind;
                let mut g = operator_group(task.clone(), m, position, kind, name);
                seatunnel_metrics(&mut g, m, position, kind, &table_paths[op]);
                groups.push(g);
            }
            out.push((v, m.subtask, groups));
        }
    }
    out
}

fn task_group(task: Arc<TaskScope>, m: &Arc<SubtaskMetrics>) -> MetricGroup {
    let mut g = MetricGroup::new(Scope::Task(task));
    io(&mut g, m, |s| &s.task);
    let times: [(&str, TimeReading); 3] = [
        ("busyTime", |s| s.time_split().busy_ms as u64),
        ("idleTime", |s| s.time_split().idle_ms),
        ("backPressuredTime", |s| s.time_split().back_pressured_ms),
    ];
    for (name, read) in times {
        let m = m.clone();
        let c = count(move || read(&m));
        g.time_meter(&format!("{name}MsPerSecond"), c.clone(), TIME_WINDOW_SECS);
        let accumulated = format!("accumulate{}{}Ms", name[..1].to_uppercase(), &name[1..]);
        g.gauge(&accumulated, move || GaugeValue::Int(c() as i64));
    }
    let bp = m.clone();
    g.gauge("isBackPressured", move || {
        GaugeValue::Bool(bp.is_back_pressured())
    });
    if !m.has_source {
        g.gauge("currentInputWatermark", load_i64(m, |s| &s.input_watermark));
    }
    let input = m.clone();
    g.gauge("Shuffle.Netty.Input.Buffers.inPoolUsage", move || {
        GaugeValue::Float(SubtaskMetrics::avg_usage(&input.input_channels))
    });
    let output = m.clone();
    g.gauge("Shuffle.Netty.Output.Buffers.outPoolUsage", move || {
        GaugeValue::Float(SubtaskMetrics::avg_usage(&output.output_channels))
    });
    g.histogram("batchProcessingTimeUs", m.batch_time_us.clone());
    g
}

/// One counter of the operator at `position` of a subtask's chain.
fn operator_count(m: &Arc<SubtaskMetrics>, position: usize, field: IoField) -> CountFn {
    let m = m.clone();
    count(move || {
        m.operators
            .get(position)
            .map(|o| field(o).load(Ordering::Relaxed))
            .unwrap_or(0)
    })
}

/// SeaTunnel's source and sink metrics (`SourceReceivedCount`, `SinkWriteBytes`, …, each also
/// per table as `<name>#<table path>`), so its REST API and dashboards read the figures its
/// own engine would report: rows whatever their kind, bytes by SeaTunnel's row-size rules.
fn seatunnel_metrics(
    g: &mut MetricGroup,
    m: &Arc<SubtaskMetrics>,
    position: usize,
    kind: PluginKind,
    table_paths: &[String],
) {
    let (prefix, rows): (&str, IoField) = match kind {
        PluginKind::Source => ("SourceReceived", |c| &c.records_out),
        PluginKind::Sink => ("SinkWrite", |c| &c.records_in),
        PluginKind::Transform => return,
    };
    let (rows, bytes) = (
        operator_count(m, position, rows),
        operator_count(m, position, |c| &c.row_bytes),
    );
    // A sink fed by several tables cannot split its rows by table; it reports totals only.
    let table = (table_paths.len() == 1).then(|| table_paths[0].as_str());
    for suffix in ["".to_string()]
        .into_iter()
        .chain(table.map(|t| format!("#{t}")))
    {
        g.counter(&format!("{prefix}Count{suffix}"), rows.clone());
        g.counter(&format!("{prefix}Bytes{suffix}"), bytes.clone());
        // SeaTunnel's rates are over the run (rows / seconds since the subtask started, and
        // until it ended once it has), so a finished job still shows how fast it went.
        for (name, count) in [("QPS", &rows), ("BytesPerSeconds", &bytes)] {
            let (count, run) = (count.clone(), m.clone());
            g.gauge(&format!("{prefix}{name}{suffix}"), move || {
                GaugeValue::Float(per_second(count(), run.run_seconds()))
            });
        }
    }
}

/// `count` per second over `seconds` (0 before any time has passed).
fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

fn operator_group(
    task: Arc<TaskScope>,
    m: &Arc<SubtaskMetrics>,
    position: usize,
    kind: PluginKind,
    name: &str,
) -> MetricGroup {
    let mut g = MetricGroup::new(Scope::Operator {
        task,
        position,
        name: name.into(),
    });
    for (metric, field) in IO_FIELDS {
        let c = operator_count(m, position, field);
        g.counter(metric, c.clone());
        if metric.starts_with("numRecords") {
            g.meter(&format!("{metric}PerSecond"), c, Meter::DEFAULT_WINDOW_SECS);
        }
    }
    let is_source = kind == PluginKind::Source;
    // weir's operators pass watermarks on unchanged, so every operator of a chain sees the
    // task's input watermark; a source has no input and emits none.
    if is_source {
        g.gauge("currentInputWatermark", || GaugeValue::Int(i64::MIN));
        g.gauge("currentOutputWatermark", || GaugeValue::Int(i64::MIN));
        if m.pending_records.load(Ordering::Relaxed) >= 0 {
            g.gauge("pendingRecords", load_i64(m, |s| &s.pending_records));
        }
        let s = m.clone();
        g.counter("numRecordsInErrors", load(m, |s| &s.source_errors));
        g.gauge("sourceIdleTime", move || {
            let last = s.last_emit_ms.load(Ordering::Relaxed);
            if last == 0 {
                GaugeValue::Int(s.started.elapsed().as_millis() as i64)
            } else {
                GaugeValue::Int((weir_core::now_ms() - last).max(0))
            }
        });
    } else {
        g.gauge("currentInputWatermark", load_i64(m, |s| &s.input_watermark));
        g.gauge(
            "currentOutputWatermark",
            load_i64(m, |s| &s.input_watermark),
        );
    }
    if kind == PluginKind::Sink {
        g.counter("numRecordsSend", load(m, |s| &s.sink_sent));
        g.counter("numRecordsOutErrors", load(m, |s| &s.sink_errors));
    }
    g
}
