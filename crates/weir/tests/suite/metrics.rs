//! The metrics endpoints, backpressure, watermarks, flame graphs and the Prometheus reporter,
//! against a real mini cluster running real pipelines.

use crate::rest_support;

use rest_support::{client, get, start_cluster, submit, wait_for, Schemas};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use weir_gateway::TaskExecutorGateway;

/// Every metric answer is a top-level array of objects with a string `id` and, when present,
/// a string `value`.
fn assert_metric_list(v: &Value) -> &Vec<Value> {
    let list = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    for e in list {
        assert!(e["id"].is_string(), "{e}");
        assert!(e.get("value").is_none_or(Value::is_string), "{e}");
    }
    list
}

fn value_of(list: &Value, id: &str) -> Option<String> {
    list.as_array()?
        .iter()
        .find(|e| e["id"] == id)
        .and_then(|e| e["value"].as_str())
        .map(String::from)
}

fn agg(list: &Value, id: &str, field: &str) -> Option<f64> {
    list.as_array()?
        .iter()
        .find(|e| e["id"] == id)
        .and_then(|e| e[field].as_f64())
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// `(source vertex id, sink vertex id)` of a two-vertex job.
async fn vertices(c: &reqwest::Client, base: &str, job: &str) -> (String, String) {
    let (_, details) = get(c, &format!("{base}/jobs/{job}")).await;
    let v = details["vertices"].as_array().expect("vertices");
    assert_eq!(v.len(), 2, "{details}");
    let id = |i: usize| v[i]["id"].as_str().expect("id").to_string();
    (id(0), id(1))
}

const TWO_VERTEX_BATCH: &str = r#"
env { parallelism = 2 }
source { FakeSource { row.num = 500, schema = { fields { id = bigint, name = string } } } }
sink { Blackhole { parallelism = 1 } }
"#;

#[tokio::test]
async fn metrics_endpoints_answer_with_flinks_shapes_and_the_rows_really_processed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();
    let schemas = Schemas::load();
    let job = submit(&c, &base, TWO_VERTEX_BATCH).await;
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    let (src, sink) = vertices(&c, &base, &job).await;
    let jv = format!("{base}/jobs/{job}/vertices");

    // Two readers of 500 rows each: the sum over subtasks is every row produced.
    let (status, out) = get(
        &c,
        &format!(
            "{jv}/{src}/subtasks/metrics?get=numRecordsOut,numRecordsIn&agg=sum,min,max,avg,skew"
        ),
    )
    .await;
    assert_eq!(status, 200);
    schemas.check(
        "GET",
        "/jobs/:jobid/vertices/:vertexid/subtasks/metrics",
        &out,
    );
    assert_eq!(agg(&out, "numRecordsOut", "sum"), Some(1000.0), "{out}");
    assert_eq!(agg(&out, "numRecordsOut", "min"), Some(500.0));
    assert_eq!(agg(&out, "numRecordsOut", "skew"), Some(0.0));
    assert_eq!(agg(&out, "numRecordsIn", "max"), Some(0.0));
    let (_, only_sum) = get(
        &c,
        &format!("{jv}/{src}/subtasks/metrics?get=numRecordsOut&agg=sum&subtasks=1-1"),
    )
    .await;
    assert_eq!(
        only_sum.to_string(),
        r#"[{"id":"numRecordsOut","sum":500.0}]"#
    );
    let (_, sink_in) = get(&c, &format!("{jv}/{sink}/subtasks/metrics?get=numRecordsIn,Sink__Blackhole.numRecordsSend,Sink__Blackhole.numRecordsOutErrors&agg=sum")).await;
    assert_eq!(
        agg(&sink_in, "numRecordsIn", "sum"),
        Some(1000.0),
        "{sink_in}"
    );
    assert_eq!(
        agg(&sink_in, "Sink__Blackhole.numRecordsSend", "sum"),
        Some(1000.0)
    );
    assert_eq!(
        agg(&sink_in, "Sink__Blackhole.numRecordsOutErrors", "sum"),
        Some(0.0)
    );
    // Flink's quirk: one id without values empties the whole aggregate.
    let (_, quirk) = get(
        &c,
        &format!("{jv}/{src}/subtasks/metrics?get=numRecordsOut,no.such"),
    )
    .await;
    assert_eq!(quirk, Value::Array(vec![]));

    // Vertex store: `<subtask>.<name>` and `<subtask>.<operator>.<name>`.
    let (_, listed) = get(&c, &format!("{jv}/{src}/metrics")).await;
    assert_metric_list(&listed);
    let listed_ids = ids(&listed);
    for id in [
        "0.numRecordsOut",
        "1.Source__FakeSource.numRecordsOut",
        "0.Source__FakeSource.pendingRecords",
        "0.batchProcessingTimeUs_p99",
        "0.Shuffle.Netty.Output.Buffers.outPoolUsage",
    ] {
        assert!(
            listed_ids.iter().any(|i| i == id),
            "{id} missing from {listed}"
        );
    }
    // Per-second time metrics mean nothing once a subtask has ended (Flink drops them too).
    assert!(!listed_ids
        .iter()
        .any(|i| i.ends_with("busyTimeMsPerSecond")));
    let (_, got) = get(&c, &format!("{jv}/{src}/metrics?get=0.numRecordsOut,1.Source__FakeSource.numRecordsOut,0.Source__FakeSource.pendingRecords,nope")).await;
    assert_eq!(assert_metric_list(&got).len(), 3, "{got}");
    assert_eq!(value_of(&got, "0.numRecordsOut").as_deref(), Some("500"));
    assert_eq!(
        value_of(&got, "0.Source__FakeSource.pendingRecords").as_deref(),
        Some("0")
    );
    let (_, one) = get(
        &c,
        &format!("{jv}/{src}/subtasks/1/metrics?get=numRecordsOut,numBytesOut"),
    )
    .await;
    assert_eq!(value_of(&one, "numRecordsOut").as_deref(), Some("500"));
    assert!(
        value_of(&one, "numBytesOut")
            .and_then(|b| b.parse::<u64>().ok())
            .unwrap_or(0)
            > 500 * 8
    );

    // Job metrics from the JobManager, kept after the job ended.
    let (_, jm) = get(&c, &format!("{base}/jobs/{job}/metrics")).await;
    assert_metric_list(&jm);
    let jm_ids = ids(&jm);
    for id in [
        "uptime",
        "downtime",
        "numRestarts",
        "runningTime",
        "createdTime",
    ] {
        assert!(jm_ids.iter().any(|i| i == id), "{id} missing from {jm}");
    }
    let (_, jm) = get(
        &c,
        &format!("{base}/jobs/{job}/metrics?get=numRestarts,uptime"),
    )
    .await;
    assert_eq!(value_of(&jm, "numRestarts").as_deref(), Some("0"));
    assert!(value_of(&jm, "uptime")
        .and_then(|u| u.parse::<i64>().ok())
        .is_some_and(|u| u >= 0));
    let (_, jobs) = get(
        &c,
        &format!("{base}/jobs/metrics?get=numRestarts&agg=sum&jobs={job}"),
    )
    .await;
    assert_eq!(agg(&jobs, "numRestarts", "sum"), Some(0.0), "{jobs}");

    // JobManager and TaskManager metrics.
    let (_, jm) = get(&c, &format!("{base}/jobmanager/metrics?get=numRegisteredTaskManagers,taskSlotsTotal,taskSlotsAvailable,numRunningJobs,Status.JVM.Memory.Heap.Used")).await;
    assert_eq!(
        value_of(&jm, "numRegisteredTaskManagers").as_deref(),
        Some("1")
    );
    assert_eq!(value_of(&jm, "taskSlotsTotal").as_deref(), Some("4"));
    assert_eq!(value_of(&jm, "numRunningJobs").as_deref(), Some("0"));
    assert!(
        value_of(&jm, "Status.JVM.Memory.Heap.Used")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            > 0
    );
    let (_, tms) = get(&c, &format!("{base}/taskmanagers")).await;
    let tm = tms["taskmanagers"][0]["id"]
        .as_str()
        .expect("tm id")
        .to_string();
    let (_, tm_metrics) = get(
        &c,
        &format!(
            "{base}/taskmanagers/{tm}/metrics?get=Status.JVM.Threads.Count,Status.JVM.CPU.Time"
        ),
    )
    .await;
    assert_eq!(assert_metric_list(&tm_metrics).len(), 2, "{tm_metrics}");
    let (_, all_tms) = get(
        &c,
        &format!(
            "{base}/taskmanagers/metrics?get=Status.JVM.Threads.Count&agg=max&taskmanagers={tm}"
        ),
    )
    .await;
    assert!(
        agg(&all_tms, "Status.JVM.Threads.Count", "max").unwrap_or(0.0) >= 1.0,
        "{all_tms}"
    );
    let (_, details) = get(&c, &format!("{base}/taskmanagers/{tm}")).await;
    schemas.check("GET", "/taskmanagers/:taskmanagerid", &details);
    assert!(
        details["metrics"]["heapUsed"].as_u64().unwrap_or(0) > 0,
        "{details}"
    );

    // Flink's answers for what does not exist: an empty list, 200.
    for url in [
        format!("{base}/taskmanagers/no-such-taskmanager/metrics?get=Status.JVM.CPU.Load"),
        format!("{base}/jobs/{job}/metrics?get=no.such.metric"),
        format!("{base}/jobs/00000000000000000000000000000001/metrics"),
        format!("{jv}/{src}/jm-operator-metrics"),
        format!("{jv}/{src}/subtasks/7/metrics"),
    ] {
        assert_eq!(get(&c, &url).await, (200, Value::Array(vec![])), "{url}");
    }
    // And its 400s for parameters that do not parse.
    let (status, bad) = get(&c, &format!("{jv}/{src}/subtasks/metrics?agg=bogus")).await;
    assert_eq!(status, 400);
    assert!(
        bad["errors"][0]
            .as_str()
            .unwrap_or("")
            .contains(r#"Cannot resolve query parameter (agg) from value "bogus""#),
        "{bad}"
    );
    assert_eq!(
        get(&c, &format!("{base}/jobs/metrics?jobs=xyz")).await.0,
        400
    );

    // Watermarks: per subtask of a vertex with inputs; a source has none.
    let (_, wm) = get(&c, &format!("{jv}/{sink}/watermarks")).await;
    assert_eq!(
        wm.to_string(),
        r#"[{"id":"0.currentInputWatermark","value":"-9223372036854775808"}]"#
    );
    assert_eq!(
        get(&c, &format!("{jv}/{src}/watermarks")).await.1,
        Value::Array(vec![])
    );

    // Backpressure of an ended vertex: Flink's shape, all ok.
    let (_, bp) = get(&c, &format!("{jv}/{src}/backpressure")).await;
    schemas.check("GET", "/jobs/:jobid/vertices/:vertexid/backpressure", &bp);
    assert_eq!(bp["status"], "ok");
    assert_eq!(bp["subtasks"].as_array().map(Vec::len), Some(2));
    cluster.stop().await;
}

#[tokio::test]
async fn a_slow_sink_shows_as_backpressure_and_a_free_flowing_job_as_ok() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = start_cluster(dir.path(), &["metrics.fetcher.update-interval=100"]).await;
    let base = cluster.url();
    let c = client();
    let schemas = Schemas::load();
    let slow = submit(
        &c,
        &base,
        r#"
env { job.mode = "STREAMING", parallelism = 2 }
source { FakeSource { unbounded = true, schema = { fields { id = bigint } } } }
sink { Console { parallelism = 1, log.print.data = false, log.print.delay.ms = 1 } }
"#,
    )
    .await;
    let free = submit(&c, &base, r#"
env { job.mode = "STREAMING", parallelism = 2 }
source { FakeSource { unbounded = true, rows.per.second = 200, schema = { fields { id = bigint } } } }
sink { Blackhole { parallelism = 1 } }
"#).await;
    let (src, sink) = vertices(&c, &base, &slow).await;
    // Every source subtask ends up blocked on the one slow sink; right after the start one may
    // still be busy generating, so wait for all of them rather than for the first.
    let bp = wait_for(
        &c,
        &format!("{base}/jobs/{slow}/vertices/{src}/backpressure"),
        |v| {
            v["subtasks"].as_array().is_some_and(|s| {
                s.len() == 2 && s.iter().all(|s| s["ratio"].as_f64().unwrap_or(0.0) > 0.5)
            })
        },
    )
    .await;
    schemas.check("GET", "/jobs/:jobid/vertices/:vertexid/backpressure", &bp);
    assert_eq!(bp["backpressureLevel"], "high", "{bp}");
    let busy = wait_for(
        &c,
        &format!("{base}/jobs/{slow}/vertices/{sink}/backpressure"),
        |v| v["subtasks"][0]["busyRatio"].as_f64().unwrap_or(0.0) > 0.5,
    )
    .await;
    assert_eq!(busy["backpressureLevel"], "ok", "{busy}");
    // The flame graph shows the source blocked on output and the sink busy writing.
    let (status, fg) = get(
        &c,
        &format!("{base}/jobs/{slow}/vertices/{src}/flamegraph?type=OFF_CPU"),
    )
    .await;
    assert_eq!(status, 200);
    schemas.check("GET", "/jobs/:jobid/vertices/:vertexid/flamegraph", &fg);
    assert!(fg.to_string().contains("blockedOnOutput"), "{fg}");
    let (_, fg) = get(
        &c,
        &format!("{base}/jobs/{slow}/vertices/{sink}/flamegraph?type=ON_CPU&subtaskindex=0"),
    )
    .await;
    assert!(fg.to_string().contains("Sink: Console.process"), "{fg}");
    assert!(fg["data"]["value"].as_u64().unwrap_or(0) > 0, "{fg}");
    let (status, _) = get(
        &c,
        &format!("{base}/jobs/{slow}/vertices/{sink}/flamegraph?type=BOGUS"),
    )
    .await;
    assert_eq!(status, 400);
    let (src_free, _) = vertices(&c, &base, &free).await;
    let ok = wait_for(
        &c,
        &format!("{base}/jobs/{free}/vertices/{src_free}/backpressure"),
        |v| v["status"] == "ok",
    )
    .await;
    assert_eq!(ok["backpressureLevel"], "ok", "{ok}");
    let (_, is_bp) = get(&c, &format!("{base}/jobs/{slow}/vertices/{src}/subtasks/metrics?get=isBackPressured,backPressuredTimeMsPerSecond&agg=max")).await;
    assert!(
        agg(&is_bp, "backPressuredTimeMsPerSecond", "max").unwrap_or(0.0) > 500.0,
        "{is_bp}"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_first_read_is_never_empty_and_reads_follow_the_counters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = start_cluster(dir.path(), &["metrics.fetcher.update-interval=200"]).await;
    let base = cluster.url();
    let c = client();
    let job = submit(&c, &base, r#"
env { job.mode = "STREAMING" }
source { FakeSource { unbounded = true, rows.per.second = 2000, schema = { fields { id = bigint } } } }
sink { Blackhole {} }
"#).await;
    let details = wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["vertices"][0]["status"] == "RUNNING"
    })
    .await;
    let v = details["vertices"][0]["id"]
        .as_str()
        .expect("vertex")
        .to_string();
    let url = format!(
        "{base}/jobs/{job}/vertices/{v}/subtasks/0/metrics?get=Source__FakeSource.numRecordsOut"
    );
    let read = |v: Value| {
        value_of(&v, "Source__FakeSource.numRecordsOut").and_then(|n| n.parse::<u64>().ok())
    };
    let (_, first) = get(&c, &url).await;
    let a = read(first.clone()).unwrap_or_else(|| panic!("first read is empty: {first}"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = read(get(&c, &url).await.1).expect("second read");
    assert!(
        b > a,
        "the count did not move between reads 500 ms apart: {a} then {b}"
    );
    // The rows the source reports match the sink's input within one fetch interval's worth.
    let (_, both) = get(&c, &format!("{base}/jobs/{job}/vertices/{v}/subtasks/0/metrics?get=Source__FakeSource.numRecordsOut,Sink__Blackhole.numRecordsIn")).await;
    let out = value_of(&both, "Source__FakeSource.numRecordsOut")
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(-1);
    let sunk = value_of(&both, "Sink__Blackhole.numRecordsIn")
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(-1);
    assert!((out - sunk).abs() <= 400, "{both}");
    cluster.stop().await;
}

#[tokio::test]
async fn metrics_of_forgotten_jobs_and_departed_taskmanagers_disappear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = start_cluster(
        dir.path(),
        &[
            "jobstore.max-capacity=1",
            "metrics.fetcher.update-interval=100",
        ],
    )
    .await;
    let base = cluster.url();
    let c = client();
    let batch = "source { FakeSource { row.num = 10, schema = { fields { id = bigint } } } }\nsink { Blackhole {} }";
    let first = submit(&c, &base, batch).await;
    wait_for(&c, &format!("{base}/jobs/{first}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    let (_, m) = get(&c, &format!("{base}/jobs/{first}/metrics?get=numRestarts")).await;
    assert_eq!(value_of(&m, "numRestarts").as_deref(), Some("0"));
    let second = submit(&c, &base, batch).await;
    wait_for(&c, &format!("{base}/jobs/{second}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    // The archive holds one job: the first is forgotten, and so are its metrics.
    wait_for(&c, &format!("{base}/jobs/{first}/metrics"), |v| {
        v == &Value::Array(vec![])
    })
    .await;
    assert_eq!(get(&c, &format!("{base}/jobs/{first}")).await.0, 404);

    // A second TaskManager joins, then leaves.
    let extra = weir_taskmanager::TaskExecutor::new(
        weir_taskmanager::TaskExecutorSettings {
            host: "other".into(),
            ..Default::default()
        },
        weir::plugins::registry(),
    );
    let id = extra.endpoint().resource_id.clone();
    let rm = cluster.dispatcher.resource_manager().clone();
    rm.register(
        extra.clone() as Arc<dyn TaskExecutorGateway>,
        weir_jobmanager::resource_manager::SlotPolicy::Fixed(2),
        Default::default(),
        0,
    );
    let url = format!("{base}/taskmanagers/{id}/metrics?get=Status.JVM.Threads.Count");
    wait_for(&c, &url, |v| v.as_array().is_some_and(|a| a.len() == 1)).await;
    let (_, both) = get(
        &c,
        &format!("{base}/jobmanager/metrics?get=numRegisteredTaskManagers"),
    )
    .await;
    assert_eq!(
        value_of(&both, "numRegisteredTaskManagers").as_deref(),
        Some("2")
    );
    assert!(rm.unregister(&id));
    wait_for(&c, &url, |v| v == &Value::Array(vec![])).await;
    cluster.stop().await;
}

/// Lint findings Flink's own metric names draw from promtool (they are kept so Flink
/// dashboards work); anything else, or a parse error, fails the test.
const FLINK_NAMING_LINTS: &[&str] = &[
    "should be written in 'snake_case' not 'camelCase'",
    "should not contain abbreviated units",
    "non-histogram and non-summary metrics should not have \"_count\" suffix",
    "non-counter metrics should not have \"_total\" suffix",
];

#[tokio::test]
async fn prometheus_scrapes_use_flinks_names_and_labels_and_pass_promtool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();
    let prom = cluster.prometheus.expect("Prometheus reporter listening");
    let job = submit(&c, &base, r#"
env { job.mode = "STREAMING", parallelism = 2 }
source { FakeSource { unbounded = true, rows.per.second = 1000, schema = { fields { id = bigint } } } }
sink { Blackhole { parallelism = 1 } }
"#).await;
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["vertices"][1]["status"] == "RUNNING"
    })
    .await;
    let text = c
        .get(format!("http://{prom}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    for needle in [
        "# TYPE flink_taskmanager_job_task_numRecordsOut gauge",
        "# TYPE flink_taskmanager_job_task_batchProcessingTimeUs summary",
        "flink_jobmanager_numRunningJobs{host=\"127.0.0.1\"} 1.0",
        "flink_jobmanager_Status_JVM_Memory_Heap_Used{",
        "flink_jobmanager_job_uptime{",
    ] {
        assert!(text.contains(needle), "{needle} missing from the scrape");
    }
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("flink_taskmanager_job_task_operator_numRecordsOut{")
                && l.contains("subtask_index=\"1\"")
                && l.contains("Source: FakeSource")
        })
        .unwrap_or_else(|| panic!("no source operator series in\n{text}"));
    for label in [
        format!("job_id=\"{job}\""),
        "task_name=\"Source: FakeSource\"".into(),
        "operator_name=\"Source: FakeSource\"".into(),
        "tm_id=".into(),
    ] {
        assert!(line.contains(&label), "{label} missing from {line}");
    }

    let promtool = std::process::Command::new("promtool")
        .arg("--version")
        .output();
    if promtool.is_err() {
        assert!(
            std::env::var_os("WEIR_REQUIRE_PROMTOOL").is_none(),
            "promtool is required (scripts/test.sh installs it)"
        );
        eprintln!("promtool not installed; scripts/test.sh installs it");
        cluster.stop().await;
        return;
    }
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("promtool output");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "promtool failed:\n{report}"
    );
    for finding in report.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            FLINK_NAMING_LINTS.iter().any(|l| finding.contains(l)),
            "promtool: {finding}"
        );
    }
    cluster.stop().await;
}
