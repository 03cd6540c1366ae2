//! `Sql` GROUP BY end to end: keyed state through checkpoints, an injected failure and a
//! restart, with the committed aggregates compared to ones computed from the raw rows.

use crate::common;
use crate::rest_support;

use rest_support::{client, get, start_cluster, submit, wait_for, weir_cli, Schemas};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const ROWS_PER_READER: usize = 20_000;

/// FakeSource rows `k, v` with 50 keys; identical in batch and streaming for the same seed.
fn source(extra: &str) -> String {
    format!(
        r#"
  FakeSource {{
    plugin_output = rows
    parallelism = 2
    row.num = {ROWS_PER_READER}
    batch.size = 100
    seed = 29
    int.min = 0
    int.max = 49
    {extra}
    schema = {{ fields {{ k = int, v = int }} }}
  }}"#
    )
}

/// The streaming GROUP BY job: aggregates keyed by `k` over 2 subtasks; the sink keeps
/// INSERT and UPDATE_AFTER rows, so each key's last line is its current aggregate.
fn streaming_job(out: &Path, source_extra: &str, interval_ms: u64) -> String {
    format!(
        r#"
env {{ job.mode = "STREAMING", checkpoint.interval = {interval_ms} }}
source {{ {} }}
transform {{
  Sql {{
    plugin_input = rows
    plugin_output = agg
    parallelism = 2
    query = "select k, count(*) as c, sum(v) as s, min(v) as lo, max(v) as hi from rows group by k"
  }}
  FilterRowKind {{ plugin_input = agg, plugin_output = changes, exclude_kinds = ["UPDATE_BEFORE"] }}
}}
sink {{ LocalFile {{ plugin_input = changes, path = "{}", file_format_type = csv }} }}
"#,
        source(source_extra),
        out.display()
    )
}

/// Expected `k → (count, sum, min, max)` from the raw rows, written by a batch job.
async fn expected(dir: &Path) -> BTreeMap<i64, (i64, i64, i64, i64)> {
    let raw = dir.join("raw");
    let report = common::run_text(&format!(
        "env {{ job.mode = \"BATCH\" }}\nsource {{ {} }}\nsink {{ LocalFile {{ path = \"{}\", file_format_type = csv }} }}",
        source(""),
        raw.display()
    ))
    .await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let mut agg = BTreeMap::new();
    for line in common::output_lines(&raw) {
        let f: Vec<i64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        let e = agg.entry(f[0]).or_insert((0, 0, i64::MAX, i64::MIN));
        e.0 += 1;
        e.1 += f[1];
        e.2 = e.2.min(f[1]);
        e.3 = e.3.max(f[1]);
    }
    assert_eq!(
        agg.values().map(|a| a.0).sum::<i64>(),
        2 * ROWS_PER_READER as i64
    );
    agg
}

/// Each key's latest aggregate in the committed output: the line with the highest count
/// (counts only grow, so that is the last one emitted).
fn committed(out: &Path) -> BTreeMap<i64, (i64, i64, i64, i64)> {
    let mut latest = BTreeMap::new();
    if !out.exists() {
        return latest;
    }
    for line in common::output_lines(out) {
        let f: Vec<i64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        let row = (f[1], f[2], f[3], f[4]);
        let e = latest.entry(f[0]).or_insert(row);
        if row.0 > e.0 {
            *e = row;
        }
    }
    latest
}

/// Waits until the committed counts add up to every row, then a little longer, so a duplicate
/// would show too.
async fn wait_for_all_rows(out: &Path, what: &str) -> BTreeMap<i64, (i64, i64, i64, i64)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let total: i64 = committed(out).values().map(|a| a.0).sum();
        if total >= 2 * ROWS_PER_READER as i64 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: only {total} rows aggregated after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    committed(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_by_through_a_failure_commits_exact_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let want = expected(dir.path()).await;
    let cluster = start_cluster(dir.path(), &rest_support::RESTARTING).await;
    let base = cluster.url();
    let c = client();
    let out = dir.path().join("out");
    let job = submit(
        &c,
        &base,
        streaming_job(
            &out,
            "rows.per.second = 20000\n    test.fail_once_after_rows = 15000",
            100,
        ),
    )
    .await;
    let got = wait_for_all_rows(&out, "GROUP BY through a failure").await;
    assert_eq!(
        got, want,
        "every aggregate exact: nothing lost, nothing twice"
    );
    let (_, exceptions) = get(&c, &format!("{base}/jobs/{job}/exceptions")).await;
    assert!(
        exceptions.to_string().contains("injected failure"),
        "the failure really happened: {exceptions}"
    );
    let (_, plan) = get(&c, &format!("{base}/jobs/{job}/plan")).await;
    assert!(plan.to_string().contains("HASH"), "keyed edge: {plan}");
    c.patch(format!("{base}/jobs/{job}")).send().await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn a_batch_group_by_emits_each_group_once() {
    let dir = tempfile::tempdir().unwrap();
    let want = expected(dir.path()).await;
    let out = dir.path().join("batch");
    let report = common::run_text(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ {} }}
transform {{ Sql {{ parallelism = 3, query = "select k, count(*) as c, sum(v) as s, min(v) as lo, max(v) as hi from rows group by k" }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = csv }} }}
"#,
        source(""),
        out.display()
    ))
    .await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let lines = common::output_lines(&out);
    assert_eq!(lines.len(), want.len(), "one line per group");
    assert_eq!(committed(&out), want);
}

/// PATCHes `/rescaling` and waits for the operation to complete successfully.
async fn rescale(c: &reqwest::Client, base: &str, job: &str, parallelism: usize) {
    let r = c
        .patch(format!(
            "{base}/jobs/{job}/rescaling?parallelism={parallelism}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let trigger: serde_json::Value = r.json().await.unwrap();
    Schemas::load().check("PATCH", "/jobs/:jobid/rescaling", &trigger);
    let id = trigger["request-id"].as_str().unwrap().to_string();
    let status = wait_for(c, &format!("{base}/jobs/{job}/rescaling/{id}"), |v| {
        v["status"]["id"] == "COMPLETED"
    })
    .await;
    Schemas::load().check("GET", "/jobs/:jobid/rescaling/:triggerid", &status);
    assert_eq!(status["operation"], serde_json::json!({}), "{status}");
    wait_for(c, &format!("{base}/jobs/{job}"), |v| {
        v["vertices"].as_array().is_some_and(|vs| {
            vs[1]["parallelism"] == parallelism && vs.iter().all(|x| x["status"] == "RUNNING")
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescaling_2_to_4_to_1_keeps_every_aggregate_exact() {
    let dir = tempfile::tempdir().unwrap();
    let want = expected(dir.path()).await;
    let cluster = start_cluster(dir.path(), &["taskmanager.numberOfTaskSlots=4"]).await;
    let base = cluster.url();
    let c = client();
    let out = dir.path().join("out");
    let job = submit(
        &c,
        &base,
        // Slow enough (10 s) that both rescales happen while the sources still run.
        streaming_job(&out, "rows.per.second = 2000", 1000),
    )
    .await;
    let overview = wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["vertices"]
            .as_array()
            .is_some_and(|vs| vs.iter().all(|x| x["status"] == "RUNNING"))
    })
    .await;
    let source = overview["vertices"][0]["id"].as_str().unwrap().to_string();
    let keyed = overview["vertices"][1]["id"].as_str().unwrap().to_string();

    let (code, req) = get(&c, &format!("{base}/jobs/{job}/resource-requirements")).await;
    assert_eq!(code, 200);
    assert_eq!(req[&keyed]["parallelism"]["upperBound"], 2, "{req}");

    rescale(&c, &base, &job, 4).await;
    let (_, req) = get(&c, &format!("{base}/jobs/{job}/resource-requirements")).await;
    assert_eq!(req[&keyed]["parallelism"]["upperBound"], 4, "{req}");
    assert_eq!(
        req[&source]["parallelism"]["upperBound"], 2,
        "sources keep theirs"
    );
    rescale(&c, &base, &job, 1).await;

    let got = wait_for_all_rows(&out, "GROUP BY rescaled 2 → 4 → 1").await;
    assert_eq!(got, want, "every aggregate exact across both rescales");
    let (_, stats) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    assert!(
        stats["counts"]["restored"].as_u64().unwrap_or(0) >= 2,
        "{stats}"
    );

    // Bad requests change nothing.
    let r = c
        .patch(format!("{base}/jobs/{job}/rescaling"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = c
        .put(format!("{base}/jobs/{job}/resource-requirements"))
        .json(&serde_json::json!({ source.clone(): {"parallelism": {"lowerBound": 1, "upperBound": 3}} }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("reads a source"), "{text}");
    let r = c
        .patch(format!("{base}/jobs/{job}/rescaling?parallelism=9"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409, "only 4 slots");
    let (code, _) = get(
        &c,
        &format!("{base}/jobs/{job}/rescaling/00000000000000000000000000000000"),
    )
    .await;
    assert_eq!(code, 404);
    c.patch(format!("{base}/jobs/{job}")).send().await.unwrap();
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_with_savepoint_then_resume_continues_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let want = expected(dir.path()).await;
    let cluster = start_cluster(&dir.path().join("data"), &[]).await;
    let base = cluster.url();
    let addr = cluster.address.to_string();
    let c = client();
    let out = dir.path().join("out");
    let file = dir.path().join("agg.conf");
    std::fs::write(&file, streaming_job(&out, "rows.per.second = 4000", 500)).unwrap();
    let file = file.display().to_string();

    let (code, stdout, stderr) = {
        let args = vec![
            "run".into(),
            file.clone(),
            "-m".into(),
            addr.clone(),
            "-d".into(),
        ];
        tokio::task::spawn_blocking(move || weir_cli(&args))
            .await
            .unwrap()
    };
    assert_eq!(code, 0, "{stdout}{stderr}");
    let job = stdout.rsplit("JobID ").next().unwrap().trim().to_string();
    // Let some rows through, then stop with a savepoint.
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["vertices"].as_array().is_some_and(|vs| {
            vs.iter().all(|x| x["status"] == "RUNNING")
                && vs[0]["metrics"]["write-records"].as_u64().unwrap_or(0) > 2000
        })
    })
    .await;
    let savepoints = dir.path().join("savepoints").display().to_string();
    let (code, stdout, stderr) = {
        let args = vec![
            "stop".into(),
            job.clone(),
            "-p".into(),
            savepoints,
            "-m".into(),
            addr.clone(),
        ];
        tokio::task::spawn_blocking(move || weir_cli(&args))
            .await
            .unwrap()
    };
    assert_eq!(code, 0, "{stdout}{stderr}");
    let path = stdout
        .split("Savepoint completed. Path: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no savepoint path in {stdout}"))
        .trim()
        .to_string();
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    let at_stop: i64 = committed(&out).values().map(|a| a.0).sum();
    assert!(
        at_stop > 0 && at_stop < 2 * ROWS_PER_READER as i64,
        "stopped mid-run: {at_stop} rows aggregated"
    );

    let (code, stdout, stderr) = {
        let args = vec![
            "run".into(),
            file,
            "-m".into(),
            addr,
            "-s".into(),
            path.clone(),
            "-d".into(),
        ];
        tokio::task::spawn_blocking(move || weir_cli(&args))
            .await
            .unwrap()
    };
    assert_eq!(code, 0, "{stdout}{stderr}");
    let resumed = stdout.rsplit("JobID ").next().unwrap().trim().to_string();
    let got = wait_for_all_rows(&out, "resumed from a savepoint").await;
    assert_eq!(
        got, want,
        "the resumed job continued exactly where the first stopped"
    );
    let (_, stats) = get(&c, &format!("{base}/jobs/{resumed}/checkpoints")).await;
    assert_eq!(
        stats["latest"]["restored"]["external_path"].as_str(),
        Some(path.as_str()),
        "{stats}"
    );
    c.patch(format!("{base}/jobs/{resumed}"))
        .send()
        .await
        .unwrap();
    cluster.stop().await;
}
