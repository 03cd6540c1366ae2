//! The profiler behind Flink's `/jobmanager/profiler` and `/taskmanagers/:id/profiler`
//! (FLIP-375). Flink runs async-profiler inside its JVM; weir samples its own threads from
//! `/proc` on a thread of its own (so a saturated runtime cannot starve it) and writes a
//! self-contained HTML flame graph. Each role (the JobManager, every TaskManager) owns one
//! [`ProfilingService`]; the REST layer reaches it through the gateways.
//!
//! What a sample sees: each thread's name, whether it is on a CPU, and the kernel function it
//! waits in. That answers "which threads burn the time and what do the others wait on"; it has
//! no user-space stacks, and there is no allocation or lock profiling (those modes are refused
//! with a message saying so, rather than answered with an empty graph).

use crate::error::GatewayError;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir_core::process::{threads, ThreadEntry};

/// The name of the thread that samples (left out of its own samples).
const SAMPLER_THREAD: &str = "weir-profiler";

/// Flink's profiling modes (`ProfilingInfo.ProfilingMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProfilingMode {
    /// On-CPU samples (Flink needs perf_events for it; weir's sampler is the same as ITIMER).
    Cpu,
    /// On-CPU samples by a timer.
    Itimer,
    /// Every thread at every sample, running or waiting.
    Wall,
    /// Heap allocations: not something weir's sampler can see.
    Alloc,
    /// Lock contention: not something weir's sampler can see.
    Lock,
}

impl ProfilingMode {
    /// Parses Flink's names, case-insensitively.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_uppercase().as_str() {
            "CPU" => Some(Self::Cpu),
            "ITIMER" => Some(Self::Itimer),
            "WALL" => Some(Self::Wall),
            "ALLOC" => Some(Self::Alloc),
            "LOCK" => Some(Self::Lock),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "CPU",
            Self::Itimer => "ITIMER",
            Self::Wall => "WALL",
            Self::Alloc => "ALLOC",
            Self::Lock => "LOCK",
        }
    }

    /// Whether a thread in this state is counted by this mode.
    fn counts(self, t: &ThreadEntry) -> bool {
        match self {
            Self::Wall => true,
            _ => t.state_letter == 'R',
        }
    }
}

/// Where a profiling run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProfilingStatus {
    Running,
    Finished,
    Failed,
}

/// One profiling run, in Flink's `ProfilingInfo` shape (both `mode` and `profilingMode` are
/// sent, as Flink 2.3.0 does).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ProfilingInfo {
    pub status: ProfilingStatus,
    pub mode: ProfilingMode,
    #[serde(rename = "triggerTime")]
    pub trigger_time: i64,
    #[serde(rename = "finishedTime")]
    pub finished_time: Option<i64>,
    /// Seconds asked for.
    pub duration: u64,
    pub message: Option<String>,
    #[serde(rename = "outputFile")]
    pub output_file: Option<String>,
    #[serde(rename = "profilingMode")]
    pub profiling_mode: ProfilingMode,
}

/// Flink's `rest.profiling.*` options.
#[derive(Debug, Clone)]
pub struct ProfilingSettings {
    /// Where result files are written (`rest.profiling.dir`).
    pub dir: PathBuf,
    /// The longest run one may ask for (`rest.profiling.max-duration`, 300 s).
    pub max_duration: Duration,
    /// How many runs (and their files) are kept (`rest.profiling.history-size`, 10).
    pub history_size: usize,
    /// Time between two samples.
    pub interval: Duration,
}

impl Default for ProfilingSettings {
    fn default() -> Self {
        Self {
            dir: std::env::temp_dir().join("weir-profiler"),
            max_duration: Duration::from_secs(300),
            history_size: 10,
            interval: Duration::from_millis(10),
        }
    }
}

/// One role's profiler: at most one run at a time, a bounded history of results.
pub struct ProfilingService {
    /// Names result files (`JobManager`, a TaskManager's resource id).
    owner: String,
    settings: ProfilingSettings,
    /// Newest first. Held only to push, update or copy, never across a sample or a write.
    history: Arc<Mutex<VecDeque<ProfilingInfo>>>,
}

impl ProfilingService {
    pub fn new(owner: impl Into<String>, settings: ProfilingSettings) -> Self {
        Self {
            owner: owner.into(),
            settings,
            history: Arc::default(),
        }
    }

    /// Starts a run of `duration_s` seconds; answers at once with the RUNNING entry.
    pub fn request(
        &self,
        duration_s: i64,
        mode: ProfilingMode,
        now: i64,
    ) -> Result<ProfilingInfo, GatewayError> {
        let max = self.settings.max_duration.as_secs();
        if duration_s <= 0 || duration_s as u64 > max {
            return Err(GatewayError::BadRequest(format!(
                "`duration` must be set between (0s, {max}s]."
            )));
        }
        if matches!(mode, ProfilingMode::Alloc | ProfilingMode::Lock) {
            return Err(GatewayError::BadRequest(format!(
                "Profiling mode {} is not supported by weir: its profiler samples threads \
                 (on CPU or waiting), not allocations or locks. Use ITIMER, CPU or WALL.",
                mode.as_str()
            )));
        }
        let info = ProfilingInfo {
            status: ProfilingStatus::Running,
            mode,
            trigger_time: now,
            finished_time: None,
            duration: duration_s as u64,
            message: None,
            output_file: None,
            profiling_mode: mode,
        };
        {
            let mut h = self.lock();
            if let Some(running) = h.iter().find(|i| i.status == ProfilingStatus::Running) {
                let ends = running.trigger_time + (running.duration as i64) * 1000;
                return Err(GatewayError::Conflict(format!(
                    "{} is still under profiling, which will end in {} s; try again then.",
                    self.owner,
                    ((ends - now) / 1000).max(1)
                )));
            }
            h.push_front(info.clone());
        }
        let file = format!(
            "{}_{}_{}.html",
            file_safe(&self.owner),
            mode.as_str(),
            file_timestamp(now)
        );
        let run = Run {
            owner: self.owner.clone(),
            mode,
            duration: Duration::from_secs(duration_s as u64),
            interval: self.settings.interval,
            dir: self.settings.dir.clone(),
            file,
            trigger_time: now,
            history: self.history.clone(),
            history_size: self.settings.history_size.max(1),
        };
        let spawned = std::thread::Builder::new()
            .name(SAMPLER_THREAD.into())
            .spawn(move || run.execute());
        if let Err(e) = spawned {
            let message = format!("cannot start the profiler thread: {e}");
            finish(
                &self.history,
                now,
                Err(message.clone()),
                weir_core::now_ms(),
            );
            return Err(GatewayError::Internal(message));
        }
        Ok(info)
    }

    /// Every kept run, newest first.
    pub fn list(&self) -> Vec<ProfilingInfo> {
        self.lock().iter().cloned().collect()
    }

    /// A finished run's result file; `name` must be one the list names.
    pub fn file(&self, name: &str) -> Result<Vec<u8>, GatewayError> {
        let known = self
            .lock()
            .iter()
            .any(|i| i.output_file.as_deref() == Some(name));
        if !known {
            return Err(GatewayError::NotFound(format!(
                "No profiling result named {name}."
            )));
        }
        std::fs::read(self.settings.dir.join(name)).map_err(|e| {
            GatewayError::NotFound(format!("Profiling result {name} cannot be read: {e}"))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<ProfilingInfo>> {
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One run, executed on its own thread.
struct Run {
    owner: String,
    mode: ProfilingMode,
    duration: Duration,
    interval: Duration,
    dir: PathBuf,
    file: String,
    trigger_time: i64,
    history: Arc<Mutex<VecDeque<ProfilingInfo>>>,
    history_size: usize,
}

impl Run {
    fn execute(self) {
        let started = Instant::now();
        let mut folded = Folded::default();
        while started.elapsed() < self.duration {
            folded.add_sample(&self.owner, self.mode, &threads());
            std::thread::sleep(self.interval);
        }
        let html = render_html(
            &format!("{} {} profile", self.owner, self.mode.as_str()),
            &folded,
        );
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|_| std::fs::write(self.dir.join(&self.file), html))
            .map(|_| self.file.clone())
            .map_err(|e| format!("cannot write {}: {e}", self.dir.join(&self.file).display()));
        finish(
            &self.history,
            self.trigger_time,
            written,
            weir_core::now_ms(),
        );
        self.drop_old_runs();
    }

    /// Keeps `history_size` runs, deleting the files of older ones (Flink's rolling deletion).
    fn drop_old_runs(&self) {
        let dropped: Vec<ProfilingInfo> = {
            let mut h = self.history.lock().unwrap_or_else(|p| p.into_inner());
            let keep = self.history_size.min(h.len());
            h.drain(keep..).collect()
        };
        for info in dropped {
            if let Some(f) = info.output_file {
                let _ = std::fs::remove_file(self.dir.join(f));
            }
        }
    }
}

/// Marks the run triggered at `trigger_time` finished (with its file) or failed.
fn finish(
    history: &Mutex<VecDeque<ProfilingInfo>>,
    trigger_time: i64,
    outcome: Result<String, String>,
    now: i64,
) {
    let mut h = history.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(info) = h
        .iter_mut()
        .find(|i| i.trigger_time == trigger_time && i.status == ProfilingStatus::Running)
    {
        info.finished_time = Some(now);
        match outcome {
            Ok(file) => {
                info.status = ProfilingStatus::Finished;
                info.message = Some("Profiling Successful".into());
                info.output_file = Some(file);
            }
            Err(e) => {
                info.status = ProfilingStatus::Failed;
                info.message = Some(e);
            }
        }
    }
}

/// Samples folded by stack (outermost frame first), as flame graph tools count them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Folded {
    pub stacks: BTreeMap<Vec<String>, u64>,
    pub samples: u64,
}

impl Folded {
    /// Adds one sampling round: a stack per counted thread (role, thread name, what it does).
    pub fn add_sample(&mut self, owner: &str, mode: ProfilingMode, threads: &[ThreadEntry]) {
        self.samples += 1;
        // The sampler itself is always on a CPU while it samples; it is not what was asked about.
        let sampled = threads
            .iter()
            .filter(|t| t.name != SAMPLER_THREAD && mode.counts(t));
        for t in sampled {
            let name = if t.name.is_empty() {
                format!("thread-{}", t.tid)
            } else {
                t.name.clone()
            };
            let leaf = match t.state_letter {
                'R' => "[on CPU]".to_string(),
                'D' => format!("[in I/O: {}]", non_empty(&t.wait_channel, "disk")),
                _ => format!("[waiting: {}]", non_empty(&t.wait_channel, "sleep")),
            };
            *self
                .stacks
                .entry(vec![owner.to_string(), name, leaf])
                .or_default() += 1;
        }
    }

    /// Brendan Gregg's folded format, one `a;b;c count` line per stack.
    pub fn to_folded_text(&self) -> String {
        let mut out = String::new();
        for (stack, n) in &self.stacks {
            let _ = writeln!(out, "{} {n}", stack.join(";"));
        }
        out
    }
}

fn non_empty<'a>(s: &'a str, or: &'a str) -> &'a str {
    if s.is_empty() {
        or
    } else {
        s
    }
}

/// A node of the rendered graph.
#[derive(Default)]
struct Node {
    value: u64,
    children: BTreeMap<String, Node>,
}

/// A self-contained HTML flame graph (icicle layout: callers above callees) of `folded`, with
/// the folded stacks under it for other tools.
pub fn render_html(title: &str, folded: &Folded) -> String {
    let mut root = Node::default();
    for (stack, n) in &folded.stacks {
        root.value += n;
        let mut node = &mut root;
        for frame in stack {
            node = node.children.entry(frame.clone()).or_default();
            node.value += n;
        }
    }
    let mut boxes = String::new();
    let mut depth_max = 0;
    if root.value > 0 {
        layout(&root, 0.0, 100.0, 0, root.value, &mut boxes, &mut depth_max);
    }
    let height = (depth_max + 1) * 20 + 10;
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font: 12px sans-serif; margin: 10px; }}
#graph {{ position: relative; height: {height}px; }}
.f {{ position: absolute; height: 18px; overflow: hidden; white-space: nowrap; box-sizing: border-box;
      border: 1px solid #fff; padding: 1px 3px; background: #e8743b; color: #000; }}
.f.idle {{ background: #8fb3de; }}
pre {{ background: #f6f6f6; padding: 8px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{samples} sampling rounds; each box is a frame, its width the share of thread samples that
passed through it (hover for counts). Frames: role, thread, what the thread was doing.</p>
<div id="graph">{boxes}</div>
<h2>Folded stacks</h2>
<pre>{folded_text}</pre>
</body>
</html>
"#,
        title = escape(title),
        samples = folded.samples,
        folded_text = escape(&folded.to_folded_text()),
    )
}

fn layout(
    node: &Node,
    left: f64,
    width: f64,
    depth: usize,
    total: u64,
    out: &mut String,
    depth_max: &mut usize,
) {
    let mut x = left;
    for (name, child) in &node.children {
        let w = width * child.value as f64 / node.value.max(1) as f64;
        let idle = if name.starts_with("[waiting") {
            " idle"
        } else {
            ""
        };
        let pct = 100.0 * child.value as f64 / total as f64;
        let _ = write!(
            out,
            r#"<div class="f{idle}" style="left:{x:.4}%;width:{w:.4}%;top:{top}px" title="{t} ({n} samples, {pct:.1}%)">{t}</div>"#,
            top = depth * 20,
            t = escape(name),
            n = child.value,
        );
        *depth_max = (*depth_max).max(depth);
        layout(child, x, w, depth + 1, total, out, depth_max);
        x += w;
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A resource id as a file name: anything but letters, digits, `.`, `-` and `_` becomes `_`
/// (a TaskManager id holds a `:`).
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `2026-11-21_11_49_44` (UTC) for epoch milliseconds, as Flink names result files.
fn file_timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}_{:02}_{:02}_{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(name: &str, letter: char, wchan: &str) -> ThreadEntry {
        ThreadEntry {
            tid: 1,
            name: name.into(),
            state: String::new(),
            wait_channel: wchan.into(),
            state_letter: letter,
        }
    }

    #[test]
    fn file_names_follow_flinks_pattern() {
        // 2026-11-21T11:49:44Z
        assert_eq!(file_timestamp(1_795_261_784_969), "2026-11-21_11_49_44");
        assert_eq!(file_timestamp(0), "1970-01-01_00_00_00");
        assert_eq!(
            file_safe("127.0.0.1:36461-db4930"),
            "127.0.0.1_36461-db4930"
        );
    }

    #[test]
    fn cpu_modes_count_running_threads_and_wall_counts_all() {
        let ts = [
            thread("weir-subtask", 'R', ""),
            thread("tokio-rt", 'S', "ep_poll"),
            thread("writer", 'D', ""),
        ];
        let mut cpu = Folded::default();
        cpu.add_sample("JobManager", ProfilingMode::Itimer, &ts);
        assert_eq!(cpu.to_folded_text(), "JobManager;weir-subtask;[on CPU] 1\n");
        let mut wall = Folded::default();
        wall.add_sample("JobManager", ProfilingMode::Wall, &ts);
        wall.add_sample("JobManager", ProfilingMode::Wall, &ts);
        assert_eq!(wall.samples, 2);
        assert_eq!(
            wall.stacks[&vec![
                "JobManager".to_string(),
                "tokio-rt".into(),
                "[waiting: ep_poll]".into()
            ]],
            2
        );
        assert!(wall.to_folded_text().contains("writer;[in I/O: disk] 2"));
        let html = render_html("t <1>", &wall);
        assert!(html.contains("t &lt;1&gt;"));
        assert!(html.contains("tokio-rt"));
    }

    #[test]
    fn a_run_finishes_with_a_readable_file_and_refuses_overlaps_and_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let svc = ProfilingService::new(
            "127.0.0.1:1-tm",
            ProfilingSettings {
                dir: dir.path().to_path_buf(),
                max_duration: Duration::from_secs(5),
                history_size: 1,
                interval: Duration::from_millis(5),
            },
        );
        assert!(matches!(
            svc.request(0, ProfilingMode::Itimer, 1),
            Err(GatewayError::BadRequest(_))
        ));
        assert!(matches!(
            svc.request(6, ProfilingMode::Itimer, 1),
            Err(GatewayError::BadRequest(_))
        ));
        assert!(matches!(
            svc.request(1, ProfilingMode::Alloc, 1),
            Err(GatewayError::BadRequest(_))
        ));
        let now = weir_core::now_ms();
        let first = svc.request(1, ProfilingMode::Wall, now).unwrap();
        assert_eq!(first.status, ProfilingStatus::Running);
        assert!(matches!(
            svc.request(1, ProfilingMode::Wall, now + 1),
            Err(GatewayError::Conflict(_))
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        let done = loop {
            let l = svc.list();
            if l[0].status != ProfilingStatus::Running {
                break l[0].clone();
            }
            assert!(Instant::now() < deadline, "the run never finished");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(done.status, ProfilingStatus::Finished);
        assert_eq!(done.message.as_deref(), Some("Profiling Successful"));
        let file = done.output_file.clone().unwrap();
        assert!(file.starts_with("127.0.0.1_1-tm_WALL_"), "{file}");
        let html = String::from_utf8(svc.file(&file).unwrap()).unwrap();
        assert!(
            html.contains("[waiting"),
            "wall clock samples see waiting threads"
        );
        assert!(
            !html.contains(SAMPLER_THREAD),
            "the sampler leaves itself out"
        );
        assert!(matches!(
            svc.file("../etc/passwd"),
            Err(GatewayError::NotFound(_))
        ));

        // A second run pushes the first out of a history of one, file and all.
        std::thread::sleep(Duration::from_millis(1100));
        let second = svc
            .request(1, ProfilingMode::Itimer, weir_core::now_ms())
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while svc
            .list()
            .iter()
            .any(|i| i.status == ProfilingStatus::Running)
        {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        }
        let list = svc.list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].trigger_time, second.trigger_time);
        // The old file goes once the new run is recorded, a moment later on a busy machine.
        let deadline = Instant::now() + Duration::from_secs(10);
        while dir.path().join(&file).exists() {
            assert!(Instant::now() < deadline, "the old file is deleted");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
