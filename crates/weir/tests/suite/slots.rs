//! Slots: by default the mini cluster's slots are dynamic (SeaTunnel's default), so no job
//! waits for a slot on an idle machine; with `taskmanager.numberOfTaskSlots` set they are a
//! fixed count (Flink's), and a job that finds none free waits.

use crate::rest_support;

use rest_support::{client, get, start_cluster, submit, wait_for};
use std::time::Duration;

fn streaming(parallelism: usize) -> String {
    format!(
        "env {{ job.mode = \"STREAMING\", parallelism = {parallelism} }}\n\
         source {{ FakeSource {{ unbounded = true, rows.per.second = 5, schema = {{ fields {{ id = bigint }} }} }} }}\n\
         sink {{ Blackhole {{}} }}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_every_job_gets_its_slots_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();
    let mut jobs = Vec::new();
    for p in [1, 1, 1, 1, 1, 4] {
        jobs.push(submit(&c, &base, streaming(p)).await);
    }
    for j in &jobs {
        wait_for(&c, &format!("{base}/jobs/{j}"), |v| {
            v["state"] == "RUNNING" && v["status-counts"]["RUNNING"].as_u64().unwrap_or(0) > 0
        })
        .await;
    }
    let (_, overview) = get(&c, &format!("{base}/overview")).await;
    assert_eq!(overview["jobs-running"], 6);
    assert_eq!(overview["slots-total"], 9, "5 x 1 + 4 slots in use");
    assert_eq!(overview["slots-available"], 0);
    let (_, tms) = get(&c, &format!("{base}/taskmanagers")).await;
    assert_eq!(tms["taskmanagers"][0]["slotsNumber"], 9);

    // Cancelling gives the slots back; the base of 4 stays shown.
    for j in &jobs {
        c.patch(format!("{base}/jobs/{j}?mode=cancel"))
            .send()
            .await
            .unwrap();
    }
    for j in &jobs {
        wait_for(&c, &format!("{base}/jobs/{j}/status"), |v| {
            v["status"] == "CANCELED"
        })
        .await;
    }
    wait_for(&c, &format!("{base}/overview"), |o| {
        o["slots-total"] == 4 && o["slots-available"] == 4
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_slot_count_makes_the_next_job_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &["taskmanager.numberOfTaskSlots=2"]).await;
    let base = cluster.url();
    let c = client();
    let first = submit(&c, &base, streaming(2)).await;
    wait_for(&c, &format!("{base}/jobs/{first}/status"), |v| {
        v["status"] == "RUNNING"
    })
    .await;
    let second = submit(&c, &base, streaming(1)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, status) = get(&c, &format!("{base}/jobs/{second}/status")).await;
    assert_ne!(status["status"], "RUNNING", "no slot is free for it");
    c.patch(format!("{base}/jobs/{first}?mode=cancel"))
        .send()
        .await
        .unwrap();
    wait_for(&c, &format!("{base}/jobs/{second}/status"), |v| {
        v["status"] == "RUNNING"
    })
    .await;
}
