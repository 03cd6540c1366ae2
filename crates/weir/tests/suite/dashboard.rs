//! weir's own dashboard (`web/`, embedded in the binary) in headless Chromium against a mini
//! cluster with real jobs: `web/e2e/dashboard.mjs` visits every page, checks what it shows
//! against the REST API at the same moment, and runs the user's path from the UI (a mistake at
//! its line, run, savepoint, stop with savepoint, resume). Screenshots go to
//! `target/test-artefacts/dashboard/`.

use crate::page_driver::{self, compat_job, repo};
use crate::rest_support::{client, get, start_cluster, submit, wait_for, wait_for_checkpoints};
use serde_json::json;
use std::path::PathBuf;

/// Whether the browser, the driver's packages and the embedded dashboard are all here; with
/// `WEIR_REQUIRE_DASHBOARD=1` (the test command) a missing one fails the test.
fn tools_present() -> bool {
    let mut missing = Vec::new();
    if !repo().join("web/node_modules/playwright-core").is_dir() {
        missing.push("web/node_modules (scripts/build-web.sh)".to_string());
    }
    if !PathBuf::from("/usr/bin/chromium").exists() {
        missing.push("/usr/bin/chromium".to_string());
    }
    if !weir_rest::dashboard::is_built() {
        missing
            .push("the dashboard in this build (scripts/build-web.sh, then rebuild)".to_string());
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("dashboard test tools missing: {}", missing.join(", "));
    assert!(
        std::env::var("WEIR_REQUIRE_DASHBOARD").as_deref() != Ok("1"),
        "{msg}"
    );
    eprintln!("skipped: {msg}");
    false
}

/// A batch job that fails: the Assert sink's row rule cannot hold.
const FAILING: &str = r#"env { job.name = "dashboard-failing", job.mode = "BATCH" }
source { FakeSource { plugin_output = rows, row.num = 20, schema = { fields { id = bigint } } } }
sink { Assert { plugin_input = rows, rules = { row_rules = [{ rule_type = MAX_ROW, rule_value = 5 }] } } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weirs_dashboard_shows_what_the_api_says_and_runs_a_job_from_submit_to_resume() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let savepoints = format!(
        "state.savepoints.dir=file://{}",
        dir.path().join("savepoints").display()
    );
    let checkpoints = format!(
        "state.checkpoints.dir=file://{}",
        dir.path().join("checkpoints").display()
    );
    let cluster = start_cluster(
        &dir.path().join("data"),
        &[
            savepoints.as_str(),
            checkpoints.as_str(),
            "taskmanager.numberOfTaskSlots=6",
        ],
    )
    .await;
    let base = cluster.url();
    let c = client();
    let groupby = submit(&c, &base, compat_job("streaming_groupby.conf")).await;
    let batch = submit(&c, &base, compat_job("batch.conf")).await;
    let failed = submit(&c, &base, FAILING).await;
    let cancelled = submit(&c, &base, compat_job("to_cancel.conf")).await;
    wait_for(&c, &format!("{base}/jobs/{batch}/status"), |v| {
        v["status"] == "FINISHED"
    })
    .await;
    wait_for(&c, &format!("{base}/jobs/{failed}/status"), |v| {
        v["status"] == "FAILED"
    })
    .await;
    wait_for(&c, &format!("{base}/jobs/{cancelled}/status"), |v| {
        v["status"] == "RUNNING"
    })
    .await;
    c.patch(format!("{base}/jobs/{cancelled}?mode=cancel"))
        .send()
        .await
        .unwrap();
    wait_for(&c, &format!("{base}/jobs/{cancelled}/status"), |v| {
        v["status"] == "CANCELED"
    })
    .await;
    wait_for_checkpoints(&c, &base, &groupby, 3).await;

    let artefacts = repo().join("target/test-artefacts/dashboard");
    let _ = std::fs::remove_dir_all(&artefacts);
    let jobs =
        json!({ "groupby": groupby, "batch": batch, "failed": failed, "cancelled": cancelled })
            .to_string();
    let script = repo().join("web/e2e/dashboard.mjs");
    let args = vec![base.clone(), artefacts.display().to_string(), jobs];
    let report = page_driver::run(script, args, &artefacts, "the dashboard").await;
    let visited = report["visited"].as_array().unwrap();
    assert!(visited.len() >= 25, "only {} pages visited", visited.len());
    for page in [
        "overview",
        "job-overview",
        "vertex",
        "submit-mistake",
        "phone-job",
    ] {
        assert!(
            artefacts.join(format!("{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
    // What the UI did happened for real: the job it stopped left the savepoint it showed on
    // disk, and the job it resumed restored twice: from that savepoint (the driver saw the path
    // in the API), then from the snapshot its rescale took.
    let stopped = report["stopped"].as_str().unwrap();
    let resumed = report["jobs"]["resumed"].as_str().unwrap();
    let (_, cps) = get(&c, &format!("{base}/jobs/{resumed}/checkpoints")).await;
    assert!(
        cps["counts"]["restored"].as_u64().unwrap_or(0) >= 2,
        "the resumed and rescaled job restored fewer than twice: {cps}"
    );
    let (_, job) = get(&c, &format!("{base}/jobs/{resumed}")).await;
    let vertices = job["vertices"].as_array().unwrap();
    assert!(vertices[1..].iter().all(|v| v["parallelism"] == 2), "{job}");
    let local = stopped.trim_start_matches("file:");
    assert!(
        std::path::Path::new(local).exists(),
        "savepoint {local} is not on disk"
    );
    cluster.stop().await;
}

/// A free TCP port on loopback (bound, then released for the process that will take it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_keeps_its_numbers_marked_stale_while_the_jobmanager_is_down_and_catches_up_after(
) {
    if !tools_present() {
        return;
    }
    // Real `weir jobmanager` and `weir taskmanager` processes, which the driver starts, kills
    // and restarts on these ports: the restarted JobManager must be where the page and the
    // TaskManager keep looking.
    let dir = tempfile::tempdir().unwrap();
    let artefacts = repo().join("target/test-artefacts/dashboard-restart");
    let _ = std::fs::remove_dir_all(&artefacts);
    let args = vec![
        env!("CARGO_BIN_EXE_weir").to_string(),
        dir.path().display().to_string(),
        free_port().to_string(),
        free_port().to_string(),
        artefacts.display().to_string(),
    ];
    let script = repo().join("web/e2e/restart.mjs");
    let report = page_driver::run(script, args, &artefacts, "the dashboard across a restart").await;
    let visited: Vec<&str> = report["visited"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(
        visited,
        [
            "before-restart",
            "jobmanager-down",
            "jobmanager-back",
            "checkpoints-after-restart"
        ]
    );
    assert!(artefacts.join("jobmanager-down.png").exists());
}
