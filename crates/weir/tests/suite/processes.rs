//! The cluster over several real processes: `weir jobmanager` and `weir taskmanager`s on
//! loopback, talking over gRPC. Jobs run on the TaskManagers; REST tells the truth about each
//! of them; a killed TaskManager's job restarts on another; a TaskManager that cannot reach
//! the JobManager says why and keeps trying.

use crate::common::output_lines;
use crate::rest_support::{client, submit, wait_for};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `weir` process, killed when dropped.
struct Process {
    child: Child,
    /// The lines it printed to stdout before it was ready.
    banner: Vec<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `weir args…` and reads its stdout until a line contains `ready`. The rest of
    /// its stdout is drained (a closed pipe would fail its next print).
    fn start(args: &[&str], ready: &str) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("weir starts");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, printed) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut banner = Vec::new();
        while let Ok(line) = printed.recv_timeout(Duration::from_secs(30)) {
            let done = line.contains(ready);
            banner.push(line);
            if done {
                return Process { child, banner };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("weir {args:?} was not ready: {banner:?}");
    }

    /// The text after `label` on the banner line that has it.
    fn value(&self, label: &str) -> String {
        self.banner
            .iter()
            .find_map(|l| l.split_once(label).map(|(_, v)| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no '{label}' in {:?}", self.banner))
    }
}

/// A JobManager on free ports; its REST base URL and RPC address.
fn jobmanager(data: &Path, extra: &[&str]) -> (Process, String, String) {
    // The tests' job files read and write beside the data directory.
    let sandbox = format!(
        "weir.sandbox.allowed-paths={}",
        data.parent().unwrap_or(data).display()
    );
    let data = data.display().to_string();
    let mut args = vec![
        "jobmanager",
        "--data-dir",
        &data,
        "-D",
        &sandbox,
        "-D",
        "rest.port=0",
        "-D",
        "jobmanager.rpc.port=0",
        "-D",
        "seatunnel.engine.http.enable-http=false",
        "-D",
        "seatunnel.engine.rest-v1.enabled=false",
        "-D",
        "heartbeat.interval=100ms",
        "-D",
        "heartbeat.timeout=1s",
    ];
    args.extend_from_slice(extra);
    let p = Process::start(&args, "TaskManagers join:");
    let rest = p
        .value("REST API (Flink v1):")
        .trim_end_matches("/v1/overview")
        .to_string();
    let rpc = p.value("weir taskmanager --jobmanager");
    (p, rest, rpc)
}

/// A TaskManager with `slots` slots registering with `rpc`; its resource id.
fn taskmanager(data: &Path, rpc: &str, id: &str, slots: usize) -> Process {
    let data = data.display().to_string();
    let slots = format!("taskmanager.numberOfTaskSlots={slots}");
    let resource = format!("taskmanager.resource-id={id}");
    Process::start(
        &[
            "taskmanager",
            "--jobmanager",
            rpc,
            "--data-dir",
            &data,
            "-D",
            &slots,
            "-D",
            &resource,
        ],
        "JobManager:",
    )
}

async fn task_managers(rest: &str, n: usize) -> Vec<Value> {
    let v = wait_for(&client(), &format!("{rest}/taskmanagers"), |v| {
        v["taskmanagers"].as_array().is_some_and(|a| a.len() == n)
    })
    .await;
    v["taskmanagers"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_on_taskmanager_processes_and_rest_shows_each_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_jm, rest, rpc) = jobmanager(&dir.path().join("jm"), &[]);
    let c = client();

    // No TaskManager yet: none listed, no slots.
    let (_, overview) = crate::rest_support::get(&c, &format!("{rest}/overview")).await;
    assert_eq!(overview["taskmanagers"], 0, "{overview}");

    let _a = taskmanager(&dir.path().join("tm-a"), &rpc, "tm-a", 2);
    let _b = taskmanager(&dir.path().join("tm-b"), &rpc, "tm-b", 3);
    let tms = task_managers(&rest, 2).await;
    let mut ids: Vec<&str> = tms.iter().filter_map(|t| t["id"].as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["tm-a", "tm-b"]);
    let slots = |id: &str| {
        tms.iter()
            .find(|t| t["id"] == id)
            .map(|t| t["slotsNumber"].clone())
    };
    assert_eq!(slots("tm-a"), Some(Value::from(2)));
    assert_eq!(slots("tm-b"), Some(Value::from(3)));
    // The heartbeat shown is the last one the JobManager received (every 100 ms here).
    let beat = |tms: &[Value]| {
        tms.iter()
            .find(|t| t["id"] == "tm-a")
            .map(|t| t["timeSinceLastHeartbeat"].as_i64().unwrap_or(0))
    };
    let first = beat(&tms).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = beat(&task_managers(&rest, 2).await).unwrap_or(0);
    assert!(
        first > 0 && later > first,
        "heartbeats {first} then {later}"
    );
    let (_, overview) = crate::rest_support::get(&c, &format!("{rest}/overview")).await;
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    assert_eq!(overview["slots-total"], 5, "{overview}");

    // A batch job with a rebalance between its vertices runs on one of them, and writes
    // exactly its rows.
    let out = dir.path().join("out");
    let job = submit(
        &c,
        &rest,
        format!(
            "env {{ parallelism = 2 }}\nsource {{ FakeSource {{ row.num = 500, schema = {{ fields {{ id = bigint, name = string }} }} }} }}\nsink {{ LocalFile {{ path = \"{}\", file_format_type = json, parallelism = 1 }} }}\n",
            out.display()
        ),
    )
    .await;
    let done = wait_for(&c, &format!("{rest}/jobs/{job}"), |v| {
        v["state"] == "FINISHED" || v["state"] == "FAILED"
    })
    .await;
    assert_eq!(done["state"], "FINISHED", "{done}");
    assert_eq!(
        output_lines(&out).len(),
        1000,
        "two sources of 500 rows each"
    );

    // Each subtask names the TaskManager that ran it, and the vertex groups by it.
    let vertex = done["vertices"][0]["id"].as_str().unwrap().to_string();
    let (_, subtasks) = crate::rest_support::get(
        &c,
        &format!("{rest}/jobs/{job}/vertices/{vertex}/taskmanagers"),
    )
    .await;
    let ran_on = subtasks["taskmanagers"][0]["taskmanager-id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(ran_on == "tm-a" || ran_on == "tm-b", "{subtasks}");

    // What the TaskManager endpoints serve comes from that TaskManager's process.
    let (status, log) =
        crate::rest_support::get(&c, &format!("{rest}/taskmanagers/{ran_on}/logs")).await;
    assert_eq!(status, 200, "{log}");
    assert!(
        log["logs"].as_array().is_some_and(|l| !l.is_empty()),
        "the TaskManager lists its own log files: {log}"
    );
    let text = c
        .get(format!("{rest}/taskmanagers/{ran_on}/log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(&format!(
            "registered with the JobManager at {rpc} as {ran_on}"
        )),
        "the log is the TaskManager's own: {text}"
    );
    let metrics = wait_for(
        &c,
        &format!("{rest}/taskmanagers/{ran_on}/metrics?get=Status.JVM.Threads.Count"),
        |v| v.as_array().is_some_and(|a| a.len() == 1),
    )
    .await;
    assert!(
        metrics[0]["value"]
            .as_str()
            .is_some_and(|v| v.parse::<u64>().is_ok()),
        "{metrics}"
    );
    let (status, dump) =
        crate::rest_support::get(&c, &format!("{rest}/taskmanagers/{ran_on}/thread-dump")).await;
    assert_eq!(status, 200);
    assert!(
        dump["threadInfos"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{dump}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_taskmanagers_streaming_job_restarts_on_another() {
    let dir = tempfile::tempdir().unwrap();
    // A long heartbeat timeout: the loss must be noticed from the broken connection.
    let (_jm, rest, rpc) = jobmanager(&dir.path().join("jm"), &["-D", "heartbeat.timeout=60s"]);
    let c = client();
    let mut a = taskmanager(&dir.path().join("tm-a"), &rpc, "tm-a", 2);
    let mut b = taskmanager(&dir.path().join("tm-b"), &rpc, "tm-b", 2);
    task_managers(&rest, 2).await;
    let job = submit(
        &c,
        &rest,
        "env { job.mode = STREAMING, checkpoint.interval = 200 }\nsource { FakeSource { unbounded = true, rows.per.second = 200, schema = { fields { id = bigint } } } }\nsink { Blackhole {} }\n",
    )
    .await;
    let running = wait_for(&c, &format!("{rest}/jobs/{job}"), |v| {
        v["state"] == "RUNNING" && v["vertices"][0]["status"] == "RUNNING"
    })
    .await;
    let vertex = running["vertices"][0]["id"].as_str().unwrap().to_string();
    let url = format!("{rest}/jobs/{job}/vertices/{vertex}/taskmanagers");
    let first = wait_for(&c, &url, |v| {
        v["taskmanagers"][0]["taskmanager-id"].is_string()
    })
    .await;
    let first_tm = first["taskmanagers"][0]["taskmanager-id"]
        .as_str()
        .unwrap()
        .to_string();
    // Let a checkpoint complete, then kill that TaskManager's process with SIGKILL.
    wait_for(&c, &format!("{rest}/jobs/{job}/checkpoints"), |v| {
        v["counts"]["completed"].as_u64().is_some_and(|n| n >= 1)
    })
    .await;
    let victim = if first_tm == "tm-a" { &mut a } else { &mut b };
    let _ = victim.child.kill();
    let _ = victim.child.wait();
    // The JobManager notices at once (the TaskManager's connection broke), and the job runs
    // again on the other.
    let other = if first_tm == "tm-a" { "tm-b" } else { "tm-a" };
    wait_for(&c, &url, |v| {
        v["taskmanagers"][0]["taskmanager-id"] == other
    })
    .await;
    wait_for(&c, &format!("{rest}/jobs/{job}"), |v| {
        v["state"] == "RUNNING" && v["vertices"][0]["status"] == "RUNNING"
    })
    .await;
    task_managers(&rest, 1).await;
    let (_, exceptions) =
        crate::rest_support::get(&c, &format!("{rest}/jobs/{job}/exceptions")).await;
    assert!(
        exceptions.to_string().contains(&format!(
            "TaskManager {first_tm}'s connection to the JobManager broke"
        )),
        "the restart's cause names the lost TaskManager: {exceptions}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taskmanager_that_cannot_reach_the_jobmanager_says_why_and_retries() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let tm_dir = dir.path().join("tm");
    let _tm = taskmanager(&tm_dir, &address, "tm-lonely", 1);
    let log = tm_dir.join("log").join("weir.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tries = text.matches("cannot register with the JobManager").count();
        if tries >= 2 {
            assert!(text.contains(&address), "{text}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no retries logged: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_jobmanager_recovers_its_running_job_and_the_output_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    // The restarted JobManager listens where the TaskManager keeps looking for it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rpc_port = format!("jobmanager.rpc.port={port}");
    let jm_dir = dir.path().join("jm");
    let (mut jm, rest, rpc) = jobmanager(&jm_dir, &["-D", &rpc_port]);
    // Two TaskManagers of one slot each, and a job that needs both: after the restart they
    // register one by one, and the job must wait for the second instead of failing at the
    // first for want of slots.
    let _tm1 = taskmanager(&dir.path().join("tm-1"), &rpc, "tm-1", 1);
    let _tm2 = taskmanager(&dir.path().join("tm-2"), &rpc, "tm-2", 1);
    task_managers(&rest, 2).await;
    let c = client();
    let out = dir.path().join("out");
    let job = submit(
        &c,
        &rest,
        format!(
            "env {{ job.mode = STREAMING, checkpoint.interval = 200 }}\nsource {{ FakeSource {{ row.num = 1200, rows.per.second = 200, schema = {{ fields {{ id = bigint, name = string }} }} }} }}\nsink {{ LocalFile {{ path = \"{}\", file_format_type = json, parallelism = 2 }} }}\n",
            out.display()
        ),
    )
    .await;
    wait_for(&c, &format!("{rest}/jobs/{job}/checkpoints"), |v| {
        v["counts"]["completed"].as_u64().is_some_and(|n| n >= 2)
    })
    .await;
    let _ = jm.child.kill();
    let _ = jm.child.wait();
    let before = crate::common::output_lines_if_any(&out).len();
    assert!(
        before < 1200,
        "the JobManager died mid-job ({before} rows were out)"
    );

    // A new JobManager on the same data directory and RPC port: the TaskManagers register
    // again, and the job (same id) resumes from its newest checkpoint.
    let (_jm, rest, _) = jobmanager(&jm_dir, &["-D", &rpc_port]);
    let running = wait_for(&c, &format!("{rest}/jobs/{job}"), |v| {
        v["state"] == "RUNNING"
    })
    .await;
    assert_eq!(running["jid"], job.as_str());
    let (_, checkpoints) =
        crate::rest_support::get(&c, &format!("{rest}/jobs/{job}/checkpoints")).await;
    assert!(
        checkpoints["latest"]["restored"]["external_path"]
            .as_str()
            .is_some_and(|p| p.contains(&format!("{job}/chk-"))),
        "the recovered job restored its newest checkpoint: {checkpoints}"
    );
    // The bounded source idles once its rows are out (a streaming job runs until stopped);
    // every row is committed exactly once.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let lines = loop {
        let lines = crate::common::output_lines_if_any(&out);
        if lines.len() >= 1200 {
            // One more checkpoint: anything duplicated would be committed by now.
            tokio::time::sleep(Duration::from_millis(600)).await;
            break crate::common::output_lines_if_any(&out);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of 1200 rows committed",
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let unique: std::collections::HashSet<&String> = lines.iter().collect();
    assert_eq!(lines.len(), 1200, "every row once, none lost");
    assert_eq!(unique.len(), 1200, "no row twice");
}

/// The streaming GROUP BY of the spread job: 3 readers of deterministic `k, v` rows (50 keys),
/// aggregated by `k` at parallelism 3, the changes written by 3 sink subtasks.
fn spread_group_by(out: &Path) -> String {
    format!(
        r#"
env {{ job.mode = STREAMING, checkpoint.interval = 200, parallelism = 3 }}
source {{ FakeSource {{ plugin_output = rows, row.num = 600, rows.per.second = 300, batch.size = 20, seed = 7, int.min = 0, int.max = 49, schema = {{ fields {{ k = int, v = int }} }} }} }}
transform {{
  Sql {{ plugin_input = rows, plugin_output = agg, query = "select k, count(*) as c from rows group by k" }}
  FilterRowKind {{ plugin_input = agg, plugin_output = changes, exclude_kinds = ["UPDATE_BEFORE"] }}
}}
sink {{ LocalFile {{ plugin_input = changes, path = "{}", file_format_type = csv }} }}
"#,
        out.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_shuffle_spans_three_taskmanagers_and_survives_losing_one_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_jm, rest, rpc) = jobmanager(
        &dir.path().join("jm"),
        &["-D", "cluster.evenly-spread-out-slots=true"],
    );
    let c = client();
    let mut tms: Vec<(String, Process)> = ["tm-a", "tm-b", "tm-c"]
        .iter()
        .map(|id| {
            let p = taskmanager(&dir.path().join(id), &rpc, id, 2);
            (id.to_string(), p)
        })
        .collect();
    let listed = task_managers(&rest, 3).await;
    assert!(
        listed
            .iter()
            .all(|t| t["dataPort"].as_i64().is_some_and(|p| p > 0)),
        "every TaskManager process has a data port: {listed:?}"
    );
    // The TaskManager endpoints match Flink's schemas, each answered for its own process.
    let schemas = crate::rest_support::Schemas::load();
    let (_, all) = crate::rest_support::get(&c, &format!("{rest}/taskmanagers")).await;
    schemas.check("GET", "/taskmanagers", &all);
    for t in &listed {
        let id = t["id"].as_str().unwrap_or_default();
        let (status, one) =
            crate::rest_support::get(&c, &format!("{rest}/taskmanagers/{id}")).await;
        assert_eq!(status, 200, "{one}");
        schemas.check("GET", "/taskmanagers/:taskmanagerid", &one);
        assert_eq!(one["id"], id);
        assert_eq!(one["dataPort"], t["dataPort"], "{one}");
    }
    let out = dir.path().join("out");
    let job = submit(&c, &rest, spread_group_by(&out)).await;
    let running = wait_for(&c, &format!("{rest}/jobs/{job}"), |v| {
        v["state"] == "RUNNING"
            && v["vertices"]
                .as_array()
                .is_some_and(|vs| vs.iter().all(|x| x["status"] == "RUNNING"))
    })
    .await;
    assert_eq!(
        running["vertices"].as_array().map(Vec::len),
        Some(2),
        "{running}"
    );
    assert!(
        running["plan"]
            .to_string()
            .contains(r#""ship_strategy":"HASH""#),
        "the aggregate is fed by a hash edge: {running}"
    );
    // Spread: each TaskManager runs one subtask of each vertex.
    let vertex = running["vertices"][1]["id"].as_str().unwrap().to_string();
    let (_, by_tm) = crate::rest_support::get(
        &c,
        &format!("{rest}/jobs/{job}/vertices/{vertex}/taskmanagers"),
    )
    .await;
    let mut hosts: Vec<&str> = by_tm["taskmanagers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["taskmanager-id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    hosts.sort();
    assert_eq!(hosts, ["tm-a", "tm-b", "tm-c"], "{by_tm}");
    schemas.check(
        "GET",
        "/jobs/:jobid/vertices/:vertexid/taskmanagers",
        &by_tm,
    );

    // A checkpoint, then SIGKILL one TaskManager: the job restarts from it on the other two.
    wait_for(&c, &format!("{rest}/jobs/{job}/checkpoints"), |v| {
        v["counts"]["completed"].as_u64().is_some_and(|n| n >= 1)
    })
    .await;
    let (victim, process) = &mut tms[1];
    let _ = process.child.kill();
    let _ = process.child.wait();
    let victim = victim.clone();
    task_managers(&rest, 2).await;
    wait_for(&c, &format!("{rest}/jobs/{job}"), |v| {
        v["state"] == "RUNNING"
            && v["vertices"]
                .as_array()
                .is_some_and(|vs| vs.iter().all(|x| x["status"] == "RUNNING"))
    })
    .await;
    let (_, by_tm) = crate::rest_support::get(
        &c,
        &format!("{rest}/jobs/{job}/vertices/{vertex}/taskmanagers"),
    )
    .await;
    assert!(
        !by_tm.to_string().contains(&victim),
        "nothing runs on the killed {victim}: {by_tm}"
    );

    // Every key's final count is what the rows hold, and no committed change is repeated
    // (a replay committed twice would repeat a (key, count) pair).
    let expected = {
        let raw = dir.path().join("raw");
        let text = spread_group_by(&raw)
            .replace(
                "job.mode = STREAMING, checkpoint.interval = 200,",
                "job.mode = BATCH,",
            )
            .replace(
                "select k, count(*) as c from rows group by k",
                "select k, v from rows",
            );
        let report = crate::common::run_text(&text).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for line in crate::common::output_lines(&raw) {
            let k = line.split(',').next().unwrap_or_default().to_string();
            *counts.entry(k).or_default() += 1;
        }
        counts
    };
    assert_eq!(expected.values().sum::<u64>(), 1800);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let lines = crate::common::output_lines_if_any(&out);
        let mut last = std::collections::BTreeMap::<String, u64>::new();
        let mut seen = std::collections::HashSet::new();
        for line in &lines {
            let mut f = line.split(',');
            let (k, n) = (f.next().unwrap_or_default(), f.next().unwrap_or_default());
            assert!(seen.insert(line.clone()), "committed twice: {line}");
            let n: u64 = n.trim().parse().unwrap_or(0);
            let e = last.entry(k.to_string()).or_default();
            *e = (*e).max(n);
        }
        if last == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "final counts {last:?} are not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
