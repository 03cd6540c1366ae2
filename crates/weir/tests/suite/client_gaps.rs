//! What Flink's own clients read and the schemas cannot tell: each gap the dashboard tripped
//! over (crates/weir/tests/flink_compat.rs drives the dashboard itself), pinned as Flink 2.3.0
//! answers it.

use crate::rest_support;

use rest_support::{client, get, start_cluster, submit, wait_for};
use serde_json::Value;
use std::time::Duration;

const STREAMING: &str = "env { job.mode = \"STREAMING\", parallelism = 2, checkpoint.interval = 500 }\n\
source { FakeSource { unbounded = true, rows.per.second = 50, schema = { fields { id = bigint } } } }\n\
sink { Blackhole {} }";

const DURATION_KEYS: [&str; 5] = [
    "CREATED",
    "SCHEDULED",
    "DEPLOYING",
    "INITIALIZING",
    "RUNNING",
];

fn assert_durations(d: &Value, what: &str) {
    let keys: Vec<&String> = d
        .as_object()
        .unwrap_or_else(|| panic!("{what}: {d}"))
        .keys()
        .collect();
    for k in DURATION_KEYS {
        assert!(keys.iter().any(|x| *x == k), "{what} lacks {k}: {d}");
    }
    assert_eq!(keys.len(), 5, "{what}: {d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_and_vertex_answers_have_what_flinks_dashboard_reads() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();
    let job = submit(&c, &base, STREAMING).await;
    let details = wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["status-counts"]["RUNNING"] == 2
    })
    .await;
    // Flink 2.3.0 leaves `stream-graph` out; the dashboard reads its nodes if it is there.
    assert!(details.get("stream-graph").is_none(), "{details}");
    let vid = details["vertices"][0]["id"].as_str().unwrap().to_string();

    let (_, vertex) = get(&c, &format!("{base}/jobs/{job}/vertices/{vid}")).await;
    for s in vertex["subtasks"].as_array().unwrap() {
        let d = &s["status-duration"];
        assert_durations(d, "subtask status-duration");
        assert!(
            d["INITIALIZING"].as_i64().unwrap() >= 0,
            "the subtask initialized: {d}"
        );
        assert!(d["RUNNING"].as_i64().unwrap() >= 0, "{d}");
    }
    let agg = &vertex["aggregated"]["status-duration"];
    assert_durations(agg, "aggregated status-duration");
    for k in DURATION_KEYS {
        assert!(agg[k]["min"].is_i64(), "aggregated {k} has no min: {agg}");
    }
    let (_, st) = get(&c, &format!("{base}/jobs/{job}/vertices/{vid}/subtasks/0")).await;
    assert_durations(&st["status-duration"], "subtask details");
    let (_, attempt) = get(
        &c,
        &format!("{base}/jobs/{job}/vertices/{vid}/subtasks/0/attempts/0"),
    )
    .await;
    assert_durations(&attempt["status-duration"], "attempt details");
    let (_, tms) = get(
        &c,
        &format!("{base}/jobs/{job}/vertices/{vid}/taskmanagers"),
    )
    .await;
    assert_durations(
        &tms["taskmanagers"][0]["aggregated"]["status-duration"],
        "vertex taskmanagers",
    );

    // The environment and the TaskManager metrics carry entries, as Flink's always do.
    let (_, env) = get(&c, &format!("{base}/jobmanager/environment")).await;
    let cp = env["classpath"].as_array().unwrap();
    // The running binary (here the test's own).
    let exe = std::env::current_exe().unwrap();
    assert_eq!(
        cp[0].as_str(),
        Some(exe.display().to_string().as_str()),
        "{env}"
    );
    let tm_id = tms["taskmanagers"][0]["taskmanager-id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, tm) = get(&c, &format!("{base}/taskmanagers/{tm_id}")).await;
    let gcs = &tm["metrics"]["garbageCollectors"];
    assert_eq!(gcs[0]["name"], "All", "{gcs}");
    assert_eq!(gcs[0]["count"], 0);
}

/// Profiles for a second in WALL mode: every thread is sampled whether it runs or waits, so
/// the graph names the runtime's threads however idle the cluster is (ITIMER counts only
/// threads on CPU, which on an idle cluster may be none of them).
async fn profile(c: &reqwest::Client, url: &str) -> Value {
    let r = c
        .post(url)
        .json(&serde_json::json!({"mode": "WALL", "duration": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let started: Value = r.json().await.unwrap();
    assert_eq!(started["status"], "RUNNING");
    assert_eq!(started["profilingMode"], "WALL");
    assert!(started["finishedTime"].is_null());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, list) = get(c, url).await;
        assert_eq!(status, 200);
        let first = &list["profilingList"][0];
        if first["status"] == "FINISHED" {
            return first.clone();
        }
        assert!(std::time::Instant::now() < deadline, "{list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profilers_run_and_serve_their_flame_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();
    let (_, tms) = get(&c, &format!("{base}/taskmanagers")).await;
    let tm = tms["taskmanagers"][0]["id"].as_str().unwrap().to_string();
    for url in [
        format!("{base}/jobmanager/profiler"),
        format!("{base}/taskmanagers/{tm}/profiler"),
    ] {
        let done = profile(&c, &url).await;
        assert_eq!(done["message"], "Profiling Successful");
        let file = done["outputFile"].as_str().unwrap();
        let r = c.get(format!("{url}/{file}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Folded stacks") && html.contains("tokio"),
            "{html}"
        );
    }
    // Bad requests say what to fix; an unknown file is a 404.
    for (body, want) in [
        (
            serde_json::json!({"mode": "ITIMER", "duration": 0}),
            "`duration` must be set between (0s, 300s].",
        ),
        (
            serde_json::json!({"mode": "ALLOC", "duration": 1}),
            "not supported by weir",
        ),
        (
            serde_json::json!({"mode": "FAST", "duration": 1}),
            "Unknown profiling mode",
        ),
    ] {
        let r = c
            .post(format!("{base}/jobmanager/profiler"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let text = r.text().await.unwrap();
        assert!(text.contains(want), "{text}");
    }
    let (status, _) = get(&c, &format!("{base}/jobmanager/profiler/nope.html")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiling_off_removes_the_routes_and_root_serves_a_page_or_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &["rest.profiling.enabled=false"]).await;
    let base = cluster.url();
    let c = client();
    let (status, _) = get(&c, &format!("{base}/jobmanager/profiler")).await;
    assert_eq!(status, 404, "as in Flink with rest.profiling.enabled off");
    for path in ["/", "/index.html"] {
        let r = c.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let text = r.text().await.unwrap();
        // weir's own dashboard when this build embeds it, else a page saying how to build it.
        if weir_rest::dashboard::is_built() {
            assert!(text.contains("<div id=\"app\">"), "{text}");
        } else {
            assert!(text.contains("scripts/build-web.sh"), "{text}");
            assert!(text.contains("web.dashboard.dir"), "{text}");
        }
    }
    let (status, body) = get(&c, &format!("{base}/no/such/page")).await;
    assert_eq!(status, 404);
    assert_eq!(body["errors"][0], "Not found: /no/such/page");
    cluster.stop().await;

    // With a dashboard directory, its files are served at the root, next to the API.
    let web = dir.path().join("web");
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::write(web.join("index.html"), "<html><body>dash</body></html>").unwrap();
    std::fs::write(web.join("assets/app.js"), "console.log(1)").unwrap();
    let opt = format!("web.dashboard.dir={}", web.display());
    let cluster = start_cluster(&dir.path().join("again"), &[opt.as_str()]).await;
    let base = cluster.url();
    let r = c.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "<html><body>dash</body></html>");
    let r = c.get(format!("{base}/assets/app.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let (status, overview) = get(&c, &format!("{base}/overview")).await;
    assert_eq!((status, overview["taskmanagers"].as_u64()), (200, Some(1)));
    let (status, _) = get(&c, &format!("{base}/assets/../../etc/passwd")).await;
    assert_eq!(status, 404);
    cluster.stop().await;

    // A directory without index.html is refused at start, not served blank.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let opts = vec![
        "rest.port=0".to_string(),
        "metrics.reporter.prom.port=0".to_string(),
        "seatunnel.engine.http.port=0".to_string(),
        "seatunnel.engine.rest-v1.port=0".to_string(),
        format!("web.dashboard.dir={}", empty.display()),
    ];
    let config = weir::config::ClusterConfig::load(None, &opts).unwrap();
    let dirs = weir::cluster::ClusterDirs::under(dir.path().join("third"), &config);
    let err = weir::cluster::MiniCluster::start(config, dirs)
        .await
        .err()
        .unwrap();
    assert!(err.contains("has no index.html"), "{err}");
}
