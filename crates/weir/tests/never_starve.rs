//! A job that keeps every core busy cannot starve the control plane: REST answers, checkpoints
//! complete, a cancel ends the job and the cluster shuts down. Subtasks run on the TaskManager's
//! own lower-priority runtime and give their worker back when their budget is spent.
//! (Latency figures are `bench/starvation.sh`'s; this asserts the behaviour, with wide bounds.)

#[path = "suite/rest_support/mod.rs"]
mod rest_support;

use rest_support::{client, get, start_cluster, submit, wait_for};
use std::time::{Duration, Instant};

/// An unthrottled source at `parallelism`, never waiting for anything.
fn saturating(parallelism: usize, extra_env: &str) -> String {
    format!(
        "env {{ job.mode = \"STREAMING\", parallelism = {parallelism} {extra_env} }}\n\
         source {{ FakeSource {{ unbounded = true, schema = {{ fields {{ id = bigint, name = string }} }} }} }}\n\
         sink {{ Blackhole {{}} }}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_on_every_core_leaves_rest_checkpoints_cancel_and_shutdown_working() {
    // A starved runtime cannot run its own timeouts, so a thread outside it ends the test.
    // Dropping `_finished` when the test returns tells it to stand down.
    let (_finished, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            finished.recv_timeout(Duration::from_secs(120))
        {
            eprintln!("the control plane was starved: the test did not finish in 120 s");
            std::process::exit(1);
        }
    });
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();
    let busy = submit(&c, &base, saturating(cores, "")).await;
    let checkpointed = submit(&c, &base, saturating(1, ", checkpoint.interval = 300")).await;
    for job in [&busy, &checkpointed] {
        wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
            v["status"] == "RUNNING"
        })
        .await;
    }
    // Let the sources spin up, then time REST while they run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::new();
    for _ in 0..40 {
        let t = Instant::now();
        let (status, overview) = get(&c, &format!("{base}/overview")).await;
        latencies.push(t.elapsed());
        assert_eq!(status, 200);
        assert_eq!(overview["jobs-running"], 2);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    println!(
        "/overview under {cores} saturated cores: p50 {:?}, p99 {p99:?}",
        latencies[latencies.len() / 2]
    );
    assert!(p99 < Duration::from_secs(2), "REST is starved: p99 {p99:?}");

    // The fast job still checkpoints: barriers get in between its batches.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, cps) = get(&c, &format!("{base}/jobs/{checkpointed}/checkpoints")).await;
        if cps["counts"]["completed"].as_u64().unwrap_or(0) >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoints of a busy job: {cps}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A cancel ends the job promptly, and the cluster stops with the other one running.
    let asked = Instant::now();
    c.patch(format!("{base}/jobs/{busy}?mode=cancel"))
        .send()
        .await
        .unwrap();
    wait_for(&c, &format!("{base}/jobs/{busy}/status"), |v| {
        v["status"] == "CANCELED"
    })
    .await;
    println!("cancel took {:?}", asked.elapsed());
    assert!(asked.elapsed() < Duration::from_secs(10));
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), cluster.stop())
        .await
        .expect("the cluster shuts down while a job saturates the cores");
    println!("shutdown took {:?}", stopping.elapsed());
}
