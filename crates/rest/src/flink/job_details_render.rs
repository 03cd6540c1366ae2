//! `/jobs/:id` without re-serializing the job on every request. Almost all of the answer (ids,
//! names, the plan, state counts, timestamps) changes only when the JobMaster publishes a new
//! snapshot; only the clock (`now`, running durations) and the live I/O counters move between
//! two requests. So each published snapshot is serialized once, through the same
//! [`JobDetailsInfo`] the OpenAPI describes, with sentinel values where the moving numbers go;
//! the sentinels are found and become holes, and a request copies the fixed bytes and writes
//! the current numbers into the holes. The bytes are the same as serializing the whole answer
//! afresh (tested below), at a fraction of the cost. A sentinel cannot occur inside a string
//! (it starts with a quote, which a JSON string escapes); should the sentinels still not be
//! found exactly where they belong, the answer is serialized afresh instead.

use super::messages::{duration, IoMetrics, JobDetailsInfo};
use std::ops::Range;
use weir_gateway::{IoStats, JobSnapshot, LiveJob};

/// Stands for the job's and each vertex's `duration`.
const DURATION: i64 = -4_242_424_242_424_242_421;
/// Stands for `now`.
const NOW: i64 = -4_242_424_242_424_242_422;
/// Stands for a vertex's I/O counters, each number its own hole (the keys and the `-complete`
/// flags around them are fixed).
const IO: IoStats = IoStats {
    read_bytes: 18_424_242_424_242_424_201,
    write_bytes: 18_424_242_424_242_424_202,
    read_records: 18_424_242_424_242_424_203,
    write_records: 18_424_242_424_242_424_204,
    back_pressured_ms: 18_424_242_424_242_424_205,
    idle_ms: 18_424_242_424_242_424_206,
    // Exact in binary, so it survives IoMetrics' rounding to a thousandth unchanged.
    busy_ms: 4_242_424_242.125,
    sink_written_records: 0,
};

/// One number of `IOMetricsInfo`, in the order [`IoMetrics`] serializes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IoField {
    ReadBytes,
    WriteBytes,
    ReadRecords,
    WriteRecords,
    BackPressured,
    Idle,
    Busy,
}

impl IoField {
    const ALL: [IoField; 7] = [
        IoField::ReadBytes,
        IoField::WriteBytes,
        IoField::ReadRecords,
        IoField::WriteRecords,
        IoField::BackPressured,
        IoField::Idle,
        IoField::Busy,
    ];

    /// This field's key and value in `m`, as serialized.
    fn key_and_value(self, m: &IoMetrics) -> (&'static str, Number) {
        match self {
            IoField::ReadBytes => ("read-bytes", Number::U64(m.read_bytes)),
            IoField::WriteBytes => ("write-bytes", Number::U64(m.write_bytes)),
            IoField::ReadRecords => ("read-records", Number::U64(m.read_records)),
            IoField::WriteRecords => ("write-records", Number::U64(m.write_records)),
            IoField::BackPressured => (
                "accumulated-backpressured-time",
                Number::U64(m.back_pressured),
            ),
            IoField::Idle => ("accumulated-idle-time", Number::U64(m.idle)),
            IoField::Busy => ("accumulated-busy-time", Number::F64(m.busy)),
        }
    }
}

/// A number as serde_json writes it.
#[derive(Clone, Copy)]
enum Number {
    I64(i64),
    U64(u64),
    F64(f64),
}

impl Number {
    fn write(self, out: &mut Vec<u8>) {
        // Writing numbers into a Vec cannot fail.
        let _ = match self {
            Number::I64(n) => serde_json::to_writer(out, &n),
            Number::U64(n) => serde_json::to_writer(out, &n),
            Number::F64(n) => serde_json::to_writer(out, &n),
        };
    }
}

/// What a hole is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    JobDuration,
    Now,
    VertexDuration(usize),
    VertexIo(usize, IoField),
}

/// One published snapshot's `/jobs/:id`, ready to be filled in.
pub struct JobDetailsTemplate {
    /// The answer with the sentinels in; `parts` say which ranges of it are kept.
    bytes: Vec<u8>,
    /// Fixed bytes, each followed by a hole (the last by none). `None` when the sentinels
    /// could not be placed: then every request serializes afresh.
    parts: Option<Vec<(Range<usize>, Option<Hole>)>>,
    /// Each vertex's start and end (they change only with the snapshot).
    vertex_times: Vec<(i64, i64)>,
}

impl JobDetailsTemplate {
    /// Serializes `s` once, with holes where the clock and the live counters go.
    pub fn of(s: &JobSnapshot) -> Self {
        let mut body = JobDetailsInfo::of(s, NOW);
        body.duration = DURATION;
        for v in &mut body.vertices {
            v.duration = DURATION;
            v.metrics = IoMetrics::of(&IO);
        }
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let parts = holes(&bytes, s.vertices.len());
        let vertex_times = s
            .vertices
            .iter()
            .map(|v| (v.start_time(), v.end_time()))
            .collect();
        JobDetailsTemplate {
            bytes,
            parts,
            vertex_times,
        }
    }

    /// The answer for `live` (whose snapshot this template was made of) at time `now`.
    pub fn render(&self, live: &LiveJob, now: i64) -> Vec<u8> {
        let Some(parts) = &self.parts else {
            let snapshot = live.clone().into_snapshot();
            return serde_json::to_vec(&JobDetailsInfo::of(&snapshot, now)).unwrap_or_default();
        };
        let metrics: Vec<IoMetrics> = live.vertex_io().iter().map(IoMetrics::of).collect();
        let no_metrics = IoMetrics::of(&IoStats::default());
        let mut out = Vec::with_capacity(self.bytes.len() + 16);
        for (fixed, hole) in parts {
            out.extend_from_slice(&self.bytes[fixed.clone()]);
            let number = match *hole {
                None => continue,
                Some(Hole::JobDuration) => Number::I64(live.snapshot.duration(now)),
                Some(Hole::Now) => Number::I64(now),
                Some(Hole::VertexDuration(i)) => {
                    let (start, end) = self.vertex_times.get(i).copied().unwrap_or((-1, -1));
                    Number::I64(duration(start, end, now))
                }
                Some(Hole::VertexIo(i, field)) => {
                    field.key_and_value(metrics.get(i).unwrap_or(&no_metrics)).1
                }
            };
            number.write(&mut out);
        }
        out
    }
}

/// The fixed ranges and holes of `bytes` (a [`JobDetailsInfo`] of `vertices` vertices with the
/// sentinels in), or `None` unless each sentinel is where it belongs and nowhere else.
fn holes(bytes: &[u8], vertices: usize) -> Option<Vec<(Range<usize>, Option<Hole>)>> {
    let sentinel = IoMetrics::of(&IO);
    // Each hole's key and sentinel value, as serialized: `"key":value`.
    let pattern = |hole: Hole| -> (Vec<u8>, usize) {
        let (key, value) = match hole {
            Hole::JobDuration | Hole::VertexDuration(_) => ("duration", Number::I64(DURATION)),
            Hole::Now => ("now", Number::I64(NOW)),
            Hole::VertexIo(_, field) => field.key_and_value(&sentinel),
        };
        let mut p = format!("\"{key}\":").into_bytes();
        let key_len = p.len();
        value.write(&mut p);
        (p, key_len)
    };
    // The order JobDetailsInfo's fields serialize in.
    let mut expected = vec![Hole::JobDuration, Hole::Now];
    for i in 0..vertices {
        expected.push(Hole::VertexDuration(i));
        expected.extend(IoField::ALL.map(|f| Hole::VertexIo(i, f)));
    }
    let mut parts = Vec::with_capacity(expected.len() + 1);
    let mut from = 0;
    for &hole in &expected {
        let (pattern, key_len) = pattern(hole);
        let at = from + find(&bytes[from..], &pattern)?;
        parts.push((from..at + key_len, Some(hole)));
        from = at + pattern.len();
    }
    parts.push((from..bytes.len(), None));
    // Each sentinel exactly where it belongs and nowhere else, or no template.
    let count = |hole: Hole| {
        let (p, _) = pattern(hole);
        bytes
            .windows(p.len())
            .filter(|w| *w == p.as_slice())
            .count()
    };
    let exact = count(Hole::JobDuration) == 1 + vertices
        && count(Hole::Now) == 1
        && IoField::ALL
            .iter()
            .all(|f| count(Hole::VertexIo(0, *f)) == vertices);
    exact.then_some(parts)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use weir_core::{ExecutionState, JobId, JobStatus, VertexId};
    use weir_gateway::{
        AttemptSnapshot, JobType, PlanInput, SubtaskIo, SubtaskSnapshot, VertexSnapshot,
    };

    fn attempt(state: ExecutionState, started: i64) -> AttemptSnapshot {
        let mut timestamps = [0; 10];
        timestamps[2] = started;
        if state.is_terminal() {
            timestamps[weir_gateway::state_index(state)] = started + 500;
        }
        AttemptSnapshot {
            attempt: 0,
            state,
            timestamps,
            task_manager: Some("tm-1".into()),
            endpoint: Some("127.0.0.1:1".into()),
            io: IoStats {
                write_records: 3,
                ..IoStats::default()
            },
            operator_io: Vec::new(),
            failure: None,
        }
    }

    fn vertex(i: u128, name: &str, states: &[ExecutionState]) -> VertexSnapshot {
        VertexSnapshot {
            id: VertexId(i),
            name: name.into(),
            parallelism: states.len(),
            max_parallelism: 128,
            operators: vec![name.into(), "Sql <b>".into()],
            inputs: if i > 1 {
                vec![PlanInput {
                    vertex: VertexId(i - 1),
                    ship_strategy: "HASH".into(),
                }]
            } else {
                Vec::new()
            },
            subtasks: states
                .iter()
                .enumerate()
                .map(|(index, s)| SubtaskSnapshot {
                    index,
                    current: attempt(*s, 1_000 + index as i64),
                    prior: Vec::new(),
                })
                .collect(),
        }
    }

    fn job(name: &str, status: JobStatus, vertices: Vec<VertexSnapshot>) -> JobSnapshot {
        let mut timestamps = [0; 11];
        timestamps[0] = 900;
        timestamps[2] = 950;
        if status.is_terminal() {
            let i = JobStatus::ALL
                .iter()
                .position(|s| *s == status)
                .unwrap_or(0);
            timestamps[i] = 5_000;
        }
        JobSnapshot {
            job_id: JobId(0xabc),
            name: name.into(),
            job_type: JobType::Streaming,
            status,
            timestamps,
            max_parallelism: 128,
            vertices,
            exceptions: Vec::new(),
            config: Default::default(),
            origin: None,
            taken_at: 0,
            operators: Vec::new(),
            savepoint_stop: Default::default(),
        }
    }

    fn live_io(vertex: usize, subtask: usize, rows: u64, busy: f64) -> SubtaskIo {
        SubtaskIo {
            vertex,
            subtask,
            io: IoStats {
                read_records: rows,
                write_records: rows * 2,
                read_bytes: rows * 17,
                busy_ms: busy,
                ..IoStats::default()
            },
        }
    }

    /// What serializing the whole answer afresh gives.
    fn afresh(live: &LiveJob, now: i64) -> Vec<u8> {
        serde_json::to_vec(&JobDetailsInfo::of(&live.clone().into_snapshot(), now)).unwrap()
    }

    #[test]
    fn filling_the_holes_gives_the_bytes_of_serializing_afresh() {
        use ExecutionState::*;
        let running = job(
            "groupby \"quoted\" ünïcode",
            JobStatus::Running,
            vec![
                vertex(1, "Source: FakeSource", &[Running, Running]),
                vertex(2, "Sql -> Sink: Blackhole", &[Running, Finished, Deploying]),
            ],
        );
        let live = LiveJob {
            snapshot: Arc::new(running),
            io: vec![
                live_io(0, 0, 10, 1.25),
                live_io(0, 1, 12, 0.3333),
                live_io(1, 0, 7, 999.0),
                live_io(1, 1, 99, 0.0),
            ],
            taken_at: 6_000,
        };
        let template = JobDetailsTemplate::of(&live.snapshot);
        assert!(template.parts.is_some(), "every sentinel found");
        for now in [6_000, 6_001, 123_456_789] {
            assert_eq!(
                String::from_utf8(template.render(&live, now)).unwrap(),
                String::from_utf8(afresh(&live, now)).unwrap()
            );
        }
        // The next request's live counters, on the same template.
        let mut later = live.clone();
        later.io = vec![live_io(0, 0, 1_000_000, 5.0)];
        assert_eq!(template.render(&later, 7_000), afresh(&later, 7_000));
    }

    #[test]
    fn a_finished_job_and_a_job_without_vertices_render_the_same_as_afresh() {
        use ExecutionState::*;
        let finished = LiveJob::published(
            Arc::new(job(
                "done",
                JobStatus::Finished,
                vec![vertex(1, "v", &[Finished])],
            )),
            9_000,
        );
        let t = JobDetailsTemplate::of(&finished.snapshot);
        assert_eq!(t.render(&finished, 9_999), afresh(&finished, 9_999));
        let empty = LiveJob::published(Arc::new(job("empty", JobStatus::Created, Vec::new())), 1);
        let t = JobDetailsTemplate::of(&empty.snapshot);
        assert!(t.parts.is_some());
        assert_eq!(t.render(&empty, 2), afresh(&empty, 2));
    }

    #[test]
    fn a_name_that_spells_a_sentinel_cannot_be_taken_for_one() {
        // Quotes inside a JSON string are escaped, so `"duration":…` never occurs in one.
        let name = format!("\"duration\":{DURATION} and \"now\":{NOW}");
        let s = job(
            &name,
            JobStatus::Running,
            vec![vertex(1, &name, &[ExecutionState::Running])],
        );
        let live = LiveJob {
            snapshot: Arc::new(s),
            io: vec![live_io(0, 0, 5, 1.0)],
            taken_at: 1,
        };
        let t = JobDetailsTemplate::of(&live.snapshot);
        assert!(t.parts.is_some());
        assert_eq!(t.render(&live, 2_000), afresh(&live, 2_000));
    }
}
