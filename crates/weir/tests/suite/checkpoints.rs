//! Checkpoints end to end on an in-process cluster: exactly-once output through a failure and
//! a restart, checkpoint statistics that are current on the very next request, and the
//! checkpoint trigger operations.

use crate::common;
use crate::rest_support;

use rest_support::{client, get, start_cluster, submit, wait_for, Schemas};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

const ROWS_PER_READER: usize = 20_000;

fn pipeline(out: &std::path::Path, fail_after: Option<usize>) -> String {
    let fail = fail_after
        .map(|n| format!("test.fail_once_after_rows = {n}"))
        .unwrap_or_default();
    format!(
        r#"
env {{ job.mode = "STREAMING", checkpoint.interval = 100 }}
source {{
  FakeSource {{
    plugin_output = rows
    parallelism = 2
    row.num = {ROWS_PER_READER}
    batch.size = 100
    rows.per.second = 20000
    seed = 11
    string.length = 24
    {fail}
    schema = {{ fields {{ id = bigint, tag = string }} }}
  }}
}}
sink {{ LocalFile {{ plugin_input = rows, parallelism = 2, path = "{}", file_format_type = csv }} }}
"#,
        out.display()
    )
}

/// Submits the pipeline with checkpoints far apart (only triggered ones happen) and waits until
/// every vertex runs.
async fn start_without_periodic_checkpoints(
    c: &reqwest::Client,
    base: &str,
    out: &std::path::Path,
) -> String {
    let text =
        pipeline(out, None).replace("checkpoint.interval = 100", "checkpoint.interval = 600000");
    let job = submit(c, base, text).await;
    wait_for(c, &format!("{base}/jobs/{job}"), |v| {
        v["vertices"]
            .as_array()
            .is_some_and(|vs| vs.iter().all(|x| x["status"] == "RUNNING"))
    })
    .await;
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_mid_run_restores_the_latest_checkpoint_and_loses_or_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(
        dir.path(),
        &[
            "restart-strategy.type=fixed-delay",
            "restart-strategy.fixed-delay.attempts=3",
            "restart-strategy.fixed-delay.delay=100 ms",
            "metrics.fetcher.update-interval=100",
        ],
    )
    .await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let out = dir.path().join("out");
    let job = submit(&c, &base, pipeline(&out, Some(15_000))).await;

    // The committed output grows to exactly every row, while the job keeps running after its
    // restart.
    let expected = 2 * ROWS_PER_READER;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = if out.exists() {
            common::output_lines(&out).len()
        } else {
            0
        };
        if n >= expected {
            break;
        }
        if std::time::Instant::now() >= deadline {
            let (_, stats) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
            let (_, ex) = get(&c, &format!("{base}/jobs/{job}/exceptions")).await;
            panic!("only {n} of {expected} rows committed; checkpoints {stats}; exceptions {ex}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a duplicate, if any, the time to be committed too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lines = common::output_lines(&out);
    let distinct: HashSet<&String> = lines.iter().collect();
    assert_eq!(lines.len(), expected, "nothing lost, nothing duplicated");
    assert_eq!(distinct.len(), expected, "every row once");

    let (_, status) = get(&c, &format!("{base}/jobs/{job}/status")).await;
    assert_eq!(status["status"], "RUNNING");
    let (_, exceptions) = get(&c, &format!("{base}/jobs/{job}/exceptions")).await;
    let text = exceptions.to_string();
    assert!(text.contains("injected failure"), "{text}");
    let (code, stats) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    assert_eq!(code, 200);
    Schemas::load().check("GET", "/jobs/:jobid/checkpoints", &stats);
    assert!(
        stats["counts"]["completed"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert!(
        stats["counts"]["restored"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    assert!(
        stats["latest"]["restored"]["id"].as_u64().is_some(),
        "{stats}"
    );
    // The job's metric group counts the restart and the checkpoints.
    let metrics = wait_for(
        &c,
        &format!("{base}/jobs/{job}/metrics?get=numRestarts,numberOfCompletedCheckpoints,lastCheckpointExternalPath"),
        |v| {
            let value = |id: &str| {
                v.as_array()
                    .and_then(|a| a.iter().find(|m| m["id"] == id))
                    .and_then(|m| m["value"].as_str())
                    .map(str::to_string)
            };
            value("numRestarts").as_deref() == Some("1")
                && value("numberOfCompletedCheckpoints")
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n >= 2)
                && value("lastCheckpointExternalPath").is_some_and(|p| p.starts_with("file:"))
        },
    )
    .await;
    assert_eq!(metrics.as_array().map(Vec::len), Some(3), "{metrics}");
    c.patch(format!("{base}/jobs/{job}")).send().await.unwrap();
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_checkpoint_is_visible_on_the_next_request_and_triggers_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let out = dir.path().join("out");
    let job = start_without_periodic_checkpoints(&c, &base, &out).await;
    let schemas = Schemas::load();
    let (code, config) = get(&c, &format!("{base}/jobs/{job}/checkpoints/config")).await;
    assert_eq!(code, 200);
    schemas.check("GET", "/jobs/:jobid/checkpoints/config", &config);
    assert_eq!(config["interval"], 600000);

    let trigger = "0123456789abcdef0123456789abcdef";
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = c
            .post(format!("{base}/jobs/{job}/checkpoints"))
            .json(&json!({"triggerId": trigger}))
            .send()
            .await
            .unwrap();
        let code = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(code, 202, "{body}");
        ids.push(body["request-id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids, vec![trigger.to_string(), trigger.to_string()]);
    let status_url = format!("{base}/jobs/{job}/checkpoints/{trigger}");
    let done = wait_for(&c, &status_url, |v| v["status"]["id"] == "COMPLETED").await;
    schemas.check("GET", "/jobs/:jobid/checkpoints/:triggerid", &done);
    let id = done["operation"]["checkpointId"]
        .as_u64()
        .expect("a checkpoint id");
    // The very next request sees it: no cache stands between completion and REST.
    let (_, stats) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    assert_eq!(
        stats["latest"]["completed"]["id"].as_u64(),
        Some(id),
        "{stats}"
    );
    assert_eq!(
        stats["counts"]["completed"], 1,
        "the repeated trigger is the same checkpoint"
    );
    let path = stats["latest"]["completed"]["external_path"]
        .as_str()
        .unwrap();
    let chk_dir = path.trim_start_matches("file:");
    assert!(std::path::Path::new(chk_dir).join("_metadata").exists());

    let (code, details) = get(&c, &format!("{base}/jobs/{job}/checkpoints/details/{id}")).await;
    assert_eq!(code, 200);
    schemas.check(
        "GET",
        "/jobs/:jobid/checkpoints/details/:checkpointid",
        &details,
    );
    assert_eq!(details["num_acknowledged_subtasks"], 2);
    let vertex = details["tasks"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let (code, sub) = get(
        &c,
        &format!("{base}/jobs/{job}/checkpoints/details/{id}/subtasks/{vertex}"),
    )
    .await;
    assert_eq!(code, 200);
    schemas.check(
        "GET",
        "/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid",
        &sub,
    );
    assert_eq!(sub["subtasks"].as_array().unwrap().len(), 2);

    // Unknown trigger ids and checkpoint ids are 404; malformed ones 400.
    let (code, _) = get(
        &c,
        &format!("{base}/jobs/{job}/checkpoints/ffffffffffffffffffffffffffffffff"),
    )
    .await;
    assert_eq!(code, 404);
    let (code, _) = get(&c, &format!("{base}/jobs/{job}/checkpoints/details/999")).await;
    assert_eq!(code, 404);
    let (code, _) = get(
        &c,
        &format!("{base}/jobs/{job}/checkpoints/details/notanumber"),
    )
    .await;
    assert_eq!(code, 400);
    c.patch(format!("{base}/jobs/{job}")).send().await.unwrap();
    wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
        v["status"] == "CANCELED"
    })
    .await;
    // History stays readable after the job ended.
    let (code, after) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    assert_eq!(code, 200);
    assert_eq!(after["latest"]["completed"]["id"].as_u64(), Some(id));
    cluster.stop().await;
}

/// `max-concurrent` is 1: requests made while one is in flight wait for it, as in Flink,
/// instead of being refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_requested_back_to_back_wait_their_turn_and_all_complete() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let out = dir.path().join("out");
    let job = start_without_periodic_checkpoints(&c, &base, &out).await;
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let c = c.clone();
        let url = format!("{base}/jobs/{job}/checkpoints");
        posts.spawn(async move {
            let r = c.post(url).json(&json!({})).send().await.unwrap();
            let code = r.status();
            let body: Value = r.json().await.unwrap();
            assert_eq!(code, 202, "{body}");
            body["request-id"].as_str().unwrap().to_string()
        });
    }
    let triggers = posts.join_all().await;
    let mut ids = HashSet::new();
    for trigger in triggers {
        let url = format!("{base}/jobs/{job}/checkpoints/{trigger}");
        let done = wait_for(&c, &url, |v| v["status"]["id"] == "COMPLETED").await;
        let id = done["operation"]["checkpointId"].as_u64();
        ids.insert(id.unwrap_or_else(|| panic!("the request failed: {done}")));
    }
    assert_eq!(ids.len(), 5, "five checkpoints, one per request: {ids:?}");
    let (_, stats) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    assert_eq!(stats["counts"]["completed"], 5, "{stats}");
    assert_eq!(stats["counts"]["failed"], 0, "{stats}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_jobs_have_no_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let job = submit(
        &c,
        &base,
        "source { FakeSource { schema = { fields { id = bigint } } } }\nsink { Blackhole {} }",
    )
    .await;
    let (code, body) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    assert_eq!(code, 404, "{body}");
    let (code, _) = get(&c, &format!("{base}/jobs/{job}/checkpoints/config")).await;
    assert_eq!(code, 404);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_savepoint_is_written_and_stop_with_savepoint_finishes_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let out = dir.path().join("out");
    let job = start_without_periodic_checkpoints(&c, &base, &out).await;
    // No target directory and no savepoint-dir configured: Flink's 400.
    let r = c
        .post(format!("{base}/jobs/{job}/savepoints"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let target = dir.path().join("savepoints");
    let r = c
        .post(format!("{base}/jobs/{job}/savepoints"))
        .json(&json!({"target-directory": target.display().to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let trigger = r.json::<Value>().await.unwrap()["request-id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = wait_for(
        &c,
        &format!("{base}/jobs/{job}/savepoints/{trigger}"),
        |v| v["status"]["id"] == "COMPLETED",
    )
    .await;
    Schemas::load().check("GET", "/jobs/:jobid/savepoints/:triggerid", &done);
    let location = done["operation"]["location"].as_str().expect("a location");
    let sp = std::path::Path::new(location.trim_start_matches("file:"));
    assert!(
        sp.starts_with(&target) && sp.join("_metadata").exists(),
        "{location}"
    );
    let (_, stats) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    assert_eq!(
        stats["latest"]["savepoint"]["is_savepoint"], true,
        "{stats}"
    );

    let r = c
        .post(format!("{base}/jobs/{job}/stop"))
        .json(&json!({"targetDirectory": target.display().to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let stop = r.json::<Value>().await.unwrap()["request-id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&c, &format!("{base}/jobs/{job}/savepoints/{stop}"), |v| {
        v["status"]["id"] == "COMPLETED" && v["operation"]["location"].is_string()
    })
    .await;
    wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
        v["status"] == "FINISHED"
    })
    .await;
    // Everything read before the stop is committed, and only once.
    let lines = common::output_lines(&out);
    let distinct: HashSet<&String> = lines.iter().collect();
    assert_eq!(lines.len(), distinct.len());
    assert!(!lines.is_empty());

    // Disposal: the first savepoint is deleted; a directory that is no savepoint is refused
    // (the operation fails) and left alone.
    let dispose = |path: String| {
        let c = c.clone();
        let base = base.clone();
        async move {
            let r = c
                .post(format!("{base}/savepoint-disposal"))
                .json(&json!({ "savepoint-path": path }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let trigger: Value = r.json().await.unwrap();
            Schemas::load().check("POST", "/savepoint-disposal", &trigger);
            let id = trigger["request-id"].as_str().unwrap().to_string();
            let done = wait_for(&c, &format!("{base}/savepoint-disposal/{id}"), |v| {
                v["status"]["id"] == "COMPLETED"
            })
            .await;
            Schemas::load().check("GET", "/savepoint-disposal/:triggerid", &done);
            done
        }
    };
    let done = dispose(location.to_string()).await;
    assert_eq!(done["operation"], json!({}), "{done}");
    assert!(!sp.exists(), "the savepoint is gone");
    let not_a_savepoint = dir.path().join("out");
    let done = dispose(not_a_savepoint.display().to_string()).await;
    let cause = done["operation"]["failure-cause"]["stack-trace"].as_str();
    assert!(
        cause.is_some_and(|c| c.contains("is not a savepoint")),
        "{done}"
    );
    assert!(not_a_savepoint.exists(), "nothing deleted");
    let r = c
        .post(format!("{base}/savepoint-disposal"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (code, _) = get(
        &c,
        &format!("{base}/savepoint-disposal/0123456789abcdef0123456789abcdef"),
    )
    .await;
    assert_eq!(code, 404);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_results_survive_a_jobmanager_restart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let target = dir.path().join("savepoints").display().to_string();
    let (job, trigger, location) = {
        let cluster = start_cluster(dir.path(), &[]).await;
        let base = format!("http://{}", cluster.address);
        let c = client();
        let job = start_without_periodic_checkpoints(&c, &base, &out).await;
        let r = c
            .post(format!("{base}/jobs/{job}/savepoints"))
            .json(&json!({ "target-directory": target }))
            .send()
            .await
            .unwrap();
        let trigger = r.json::<Value>().await.unwrap()["request-id"]
            .as_str()
            .unwrap()
            .to_string();
        let done = wait_for(
            &c,
            &format!("{base}/jobs/{job}/savepoints/{trigger}"),
            |v| v["status"]["id"] == "COMPLETED",
        )
        .await;
        let location = done["operation"]["location"].as_str().unwrap().to_string();
        cluster.stop().await;
        (job, trigger, location)
    };
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let (code, status) = get(
        &client(),
        &format!("{base}/jobs/{job}/savepoints/{trigger}"),
    )
    .await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["operation"]["location"], location.as_str());
    cluster.stop().await;
}

/// Flink's FLIP-147: checkpoints and stop-with-savepoint go on when the sources have finished,
/// also after a restart (whose restored sources find nothing left to read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_with_savepoint_works_after_a_restart_once_the_sources_have_finished() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &rest_support::RESTARTING).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let out = dir.path().join("out");
    // Two vertices (the sink runs at another parallelism). The sink fails once at a commit
    // after every row has reached it, so the restart restores sources that had finished.
    let text = pipeline(&out, None).replace(
        "parallelism = 2, path",
        &format!(
            "parallelism = 1, test.fail_once_after_rows = {}, test.fail_at = commit, path",
            2 * ROWS_PER_READER
        ),
    );
    let job = submit(&c, &base, text).await;
    // Every row written and committed: the sources have emitted everything.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while common::output_lines_if_any(&out).len() < 2 * ROWS_PER_READER {
        assert!(
            std::time::Instant::now() < deadline,
            "the rows did not all arrive"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, exceptions) = get(&c, &format!("{base}/jobs/{job}/exceptions")).await;
    assert!(
        exceptions.to_string().contains("on purpose"),
        "a restart happened: {exceptions}"
    );
    // Checkpoints still complete.
    let (_, before) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    let completed = before["counts"]["completed"].as_u64().unwrap_or(0);
    wait_for(&c, &format!("{base}/jobs/{job}/checkpoints"), |v| {
        v["counts"]["completed"].as_u64() > Some(completed)
    })
    .await;
    let target = dir.path().join("savepoints");
    let r = c
        .post(format!("{base}/jobs/{job}/stop"))
        .json(&json!({"targetDirectory": target.display().to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let stop = r.json::<Value>().await.unwrap()["request-id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = wait_for(&c, &format!("{base}/jobs/{job}/savepoints/{stop}"), |v| {
        v["status"]["id"] == "COMPLETED"
    })
    .await;
    assert!(done["operation"]["location"].is_string(), "{done}");
    wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
        v["status"] == "FINISHED"
    })
    .await;
    let lines = common::output_lines(&out);
    let distinct: HashSet<&String> = lines.iter().collect();
    assert_eq!(lines.len(), 2 * ROWS_PER_READER);
    assert_eq!(distinct.len(), lines.len());
    cluster.stop().await;
}
