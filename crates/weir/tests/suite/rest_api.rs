//! Flink's REST API v1 against a real in-process cluster: every endpoint, bare and under `/v1`,
//! validated against the snapshot's schemas and checked against what the jobs really did.

use crate::rest_support;

use rest_support::*;
use serde_json::Value;

fn batch_job(out: &std::path::Path) -> String {
    format!(
        r#"
env {{ job.name = "batch-to-files", job.mode = "BATCH", parallelism = 2 }}
source {{ FakeSource {{ plugin_output = "gen", row.num = 50, seed = 3, schema = {{ fields {{ id = bigint, name = string }} }} }} }}
transform {{ Sql {{ plugin_input = "gen", plugin_output = "up", query = "select id, upper(name) as name from gen" }} }}
sink {{ LocalFile {{ plugin_input = "up", path = "{}", file_format_type = "json", parallelism = 1 }} }}
"#,
        out.display()
    )
}

const STREAMING_JOB: &str = r#"
env { job.name = "endless", job.mode = "STREAMING", parallelism = 2 }
source { FakeSource { plugin_output = "s", unbounded = true, rows.per.second = 2000, schema = { fields { id = bigint } } } }
sink { Blackhole { plugin_input = "s", parallelism = 1 } }
"#;

/// GETs `path` bare and under /v1; both must be 200 and match the schema of `template`.
async fn get_both(
    c: &reqwest::Client,
    base: &str,
    schemas: &Schemas,
    path: &str,
    template: &str,
) -> Value {
    let mut last = Value::Null;
    for prefix in ["", "/v1"] {
        let resp = c
            .get(format!("{base}{prefix}{path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "GET {prefix}{path}");
        assert_eq!(
            resp.headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            None,
            "no CORS header unless an origin is configured: {prefix}{path}"
        );
        let body: Value = resp.json().await.expect("JSON body");
        schemas.check("GET", template, &body);
        last = body;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_in_flinks_shapes_with_real_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cluster = start_cluster(&dir.path().join("data"), &[]).await;
    let base = cluster.url();
    let c = client();
    let schemas = Schemas::load();

    // Upload the batch pipeline as an artifact, look at its plan, run it.
    let resp = upload(&c, &base, "batch.conf", batch_job(&out)).await;
    assert_eq!(resp.status(), 200);
    let up: Value = resp.json().await.unwrap();
    assert_eq!(up["status"], "success");
    let jars = get_both(&c, &base, &schemas, "/jars", "/jars").await;
    let jar_id = jars["files"][0]["id"].as_str().unwrap().to_string();
    assert!(jar_id.ends_with("_batch.conf"));
    let plan: Value = c
        .post(format!("{base}/jars/{jar_id}/plan"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    schemas.check("POST", "/jars/:jarid/plan", &plan);
    assert_eq!(plan["plan"]["nodes"].as_array().unwrap().len(), 2);
    let run: Value = c
        .post(format!("{base}/jars/{jar_id}/run"))
        .json(&serde_json::json!({"parallelism": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    schemas.check("POST", "/jars/:jarid/run", &run);
    let batch = run["jobid"].as_str().unwrap().to_string();

    // The streaming job is submitted as a HOCON body to POST /jobs.
    let resp = c
        .post(format!("{base}/jobs"))
        .body(STREAMING_JOB)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let submitted: Value = resp.json().await.unwrap();
    schemas.check("POST", "/jobs", &submitted);
    let stream = submitted["jobUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches("/jobs/")
        .to_string();

    wait_for(&c, &format!("{base}/jobs/{batch}/status"), |v| {
        v["status"] == "FINISHED"
    })
    .await;
    wait_for(&c, &format!("{base}/jobs/{stream}"), |v| {
        v["vertices"][0]["metrics"]["write-records"]
            .as_u64()
            .unwrap_or(0)
            > 0
    })
    .await;

    // Cluster-level endpoints.
    let cfg = get_both(&c, &base, &schemas, "/config", "/config").await;
    assert_eq!(cfg["features"]["web-submit"], true);
    let overview = get_both(&c, &base, &schemas, "/overview", "/overview").await;
    assert_eq!(overview["taskmanagers"], 1);
    assert_eq!(overview["jobs-running"], 1);
    assert_eq!(overview["jobs-finished"], 1);
    assert_eq!(overview["slots-total"], 4);
    assert_eq!(
        overview["slots-available"], 2,
        "the streaming job holds 2 slots"
    );
    let jobs = get_both(&c, &base, &schemas, "/jobs", "/jobs").await;
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 2);
    let jo = get_both(&c, &base, &schemas, "/jobs/overview", "/jobs/overview").await;
    let names: Vec<&str> = jo["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"batch-to-files") && names.contains(&"endless"));

    // The batch job: two vertices, real record counts.
    let details = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}"),
        "/jobs/:jobid",
    )
    .await;
    assert_eq!(details["state"], "FINISHED");
    assert_eq!(details["job-type"], "BATCH");
    let vertices = details["vertices"].as_array().unwrap();
    assert_eq!(vertices.len(), 2);
    assert_eq!(vertices[0]["name"], "Source: FakeSource -> Sql");
    assert_eq!(vertices[0]["parallelism"], 2);
    assert_eq!(vertices[1]["name"], "Sink: LocalFile");
    assert_eq!(vertices[1]["parallelism"], 1);
    assert_eq!(
        vertices[0]["metrics"]["write-records"], 100,
        "2 readers x row.num 50"
    );
    assert_eq!(vertices[1]["metrics"]["read-records"], 100);
    assert_eq!(details["status-counts"]["FINISHED"], 3);
    assert!(details["end-time"].as_i64().unwrap() >= details["start-time"].as_i64().unwrap());
    let written: usize = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap().lines().count())
        .sum();
    assert_eq!(written, 100);
    let v0 = vertices[0]["id"].as_str().unwrap().to_string();
    let v1 = vertices[1]["id"].as_str().unwrap().to_string();

    let plan = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/plan"),
        "/jobs/:jobid/plan",
    )
    .await;
    let sink_node = &plan["plan"]["nodes"][0];
    assert_eq!(sink_node["id"], v1.as_str());
    assert_eq!(sink_node["inputs"][0]["id"], v0.as_str());
    assert_eq!(sink_node["inputs"][0]["ship_strategy"], "REBALANCE");
    let status = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/status"),
        "/jobs/:jobid/status",
    )
    .await;
    assert_eq!(status["status"], "FINISHED");
    let config = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/config"),
        "/jobs/:jobid/config",
    )
    .await;
    assert_eq!(config["execution-config"]["job-parallelism"], 2);
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/exceptions"),
        "/jobs/:jobid/exceptions",
    )
    .await;
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/exceptions?maxExceptions=1"),
        "/jobs/:jobid/exceptions",
    )
    .await;
    let result = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/execution-result"),
        "/jobs/:jobid/execution-result",
    )
    .await;
    assert_eq!(result["status"]["id"], "COMPLETED");
    assert_eq!(
        result["job-execution-result"]["application-status"],
        "SUCCEEDED"
    );
    let running = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{stream}/execution-result"),
        "/jobs/:jobid/execution-result",
    )
    .await;
    assert_eq!(running["status"]["id"], "IN_PROGRESS");
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/accumulators"),
        "/jobs/:jobid/accumulators",
    )
    .await;
    let jm_cfg = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/jobmanager/config"),
        "/jobs/:jobid/jobmanager/config",
    )
    .await;
    assert!(jm_cfg
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["key"] == "taskmanager.numberOfTaskSlots" && e["value"] == "4"));
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/jobmanager/environment"),
        "/jobs/:jobid/jobmanager/environment",
    )
    .await;
    let url = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/jobmanager/log-url"),
        "/jobs/:jobid/jobmanager/log-url",
    )
    .await;
    assert!(url["url"]
        .as_str()
        .unwrap()
        .ends_with("/#/job-manager/logs"));

    // Vertices, subtasks, attempts.
    let vd = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/vertices/{v0}"),
        "/jobs/:jobid/vertices/:vertexid",
    )
    .await;
    assert_eq!(vd["subtasks"].as_array().unwrap().len(), 2);
    let per_subtask: u64 = vd["subtasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metrics"]["write-records"].as_u64().unwrap())
        .sum();
    assert_eq!(per_subtask, 100);
    assert_eq!(vd["aggregated"]["metrics"]["write-records"]["sum"], 100);
    let st = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/vertices/{v0}/subtasks/1"),
        "/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex",
    )
    .await;
    assert_eq!(st["subtask"], 1);
    assert_eq!(st["status"], "FINISHED");
    assert_eq!(st["metrics"]["write-records"], 50);
    let tm_id = st["taskmanager-id"].as_str().unwrap().to_string();
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/vertices/{v0}/subtasks/1/attempts/0"),
        "/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/attempts/:attempt",
    )
    .await;
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/vertices/{v0}/subtasks/1/attempts/0/accumulators"),
        "/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/attempts/:attempt/accumulators",
    )
    .await;
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/vertices/{v0}/accumulators"),
        "/jobs/:jobid/vertices/:vertexid/accumulators",
    )
    .await;
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/vertices/{v0}/subtasks/accumulators"),
        "/jobs/:jobid/vertices/:vertexid/subtasks/accumulators",
    )
    .await;
    let times = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/vertices/{v1}/subtasktimes"),
        "/jobs/:jobid/vertices/:vertexid/subtasktimes",
    )
    .await;
    assert!(
        times["subtasks"][0]["timestamps"]["FINISHED"]
            .as_i64()
            .unwrap()
            > 0
    );
    let vtm = get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/vertices/{v1}/taskmanagers"),
        "/jobs/:jobid/vertices/:vertexid/taskmanagers",
    )
    .await;
    assert_eq!(vtm["taskmanagers"][0]["taskmanager-id"], tm_id.as_str());
    assert_eq!(vtm["taskmanagers"][0]["metrics"]["read-records"], 100);
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/jobs/{batch}/taskmanagers/{tm_id}/log-url"),
        "/jobs/:jobid/taskmanagers/:taskmanagerid/log-url",
    )
    .await;

    // Task managers and the job manager.
    let tms = get_both(&c, &base, &schemas, "/taskmanagers", "/taskmanagers").await;
    assert_eq!(tms["taskmanagers"][0]["id"], tm_id.as_str());
    assert_eq!(tms["taskmanagers"][0]["slotsNumber"], 4);
    let tm = get_both(
        &c,
        &base,
        &schemas,
        &format!("/taskmanagers/{tm_id}"),
        "/taskmanagers/:taskmanagerid",
    )
    .await;
    assert!(tm["hardware"]["cpuCores"].as_u64().unwrap() >= 1);
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/taskmanagers/{tm_id}/logs"),
        "/taskmanagers/:taskmanagerid/logs",
    )
    .await;
    let dump = get_both(
        &c,
        &base,
        &schemas,
        &format!("/taskmanagers/{tm_id}/thread-dump"),
        "/taskmanagers/:taskmanagerid/thread-dump",
    )
    .await;
    assert!(!dump["threadInfos"].as_array().unwrap().is_empty());
    get_both(
        &c,
        &base,
        &schemas,
        "/jobmanager/config",
        "/jobmanager/config",
    )
    .await;
    get_both(
        &c,
        &base,
        &schemas,
        "/jobmanager/environment",
        "/jobmanager/environment",
    )
    .await;
    let logs = get_both(&c, &base, &schemas, "/jobmanager/logs", "/jobmanager/logs").await;
    // The cluster's log and stdout (when the binary writes them) and each job's own log.
    let names: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("job-")), "{names:?}");
    assert!(
        names.iter().all(|n| ["weir.log", "weir.out"].contains(n)
            || (n.starts_with("job-") && n.ends_with(".log"))),
        "{names:?}"
    );
    get_both(
        &c,
        &base,
        &schemas,
        "/jobmanager/thread-dump",
        "/jobmanager/thread-dump",
    )
    .await;
    for path in [
        "/jobmanager/log",
        "/jobmanager/stdout",
        &format!("/taskmanagers/{tm_id}/log"),
        &format!("/taskmanagers/{tm_id}/stdout"),
    ] {
        for prefix in ["", "/v1"] {
            let r = c.get(format!("{base}{prefix}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert!(r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"));
        }
    }

    // Applications and data sets.
    let apps = get_both(
        &c,
        &base,
        &schemas,
        "/applications/overview",
        "/applications/overview",
    )
    .await;
    assert_eq!(apps["applications"].as_array().unwrap().len(), 2);
    let app = get_both(
        &c,
        &base,
        &schemas,
        &format!("/applications/{batch}"),
        "/applications/:applicationid",
    )
    .await;
    assert_eq!(app["status"], "FINISHED");
    assert_eq!(app["jobs"][0]["jid"], batch.as_str());
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/applications/{batch}/exceptions"),
        "/applications/:applicationid/exceptions",
    )
    .await;
    get_both(
        &c,
        &base,
        &schemas,
        &format!("/applications/{batch}/jobmanager/config"),
        "/applications/:applicationid/jobmanager/config",
    )
    .await;
    let ds = get_both(&c, &base, &schemas, "/datasets", "/datasets").await;
    assert_eq!(ds["dataSets"].as_array().unwrap().len(), 0);
    let trig: Value = c
        .delete(format!("{base}/datasets/{batch}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let trig_id = trig["request-id"].as_str().unwrap();
    let st = get_both(
        &c,
        &base,
        &schemas,
        &format!("/datasets/delete/{trig_id}"),
        "/datasets/delete/:triggerid",
    )
    .await;
    assert!(st["operation"]["failure-cause"].is_object());

    // Heartbeat, cancel (PATCH), and the dashboard's yarn-cancel.
    let r = c
        .patch(format!("{base}/jobs/{stream}/clientHeartbeat"))
        .json(&serde_json::json!({"expiredTimestamp": 4102444800000i64}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = c
        .patch(format!("{base}/v1/jobs/{stream}?mode=cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_for(&c, &format!("{base}/jobs/{stream}/status"), |v| {
        v["status"] == "CANCELED"
    })
    .await;
    let again = c
        .get(format!("{base}/jobs/{stream}/yarn-cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        202,
        "cancelling a cancelled job is accepted, as Flink"
    );
    let refused = c
        .patch(format!("{base}/jobs/{batch}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409, "a finished job cannot be cancelled");

    // Application cancel, on a fresh streaming job.
    let third = submit(&c, &base, STREAMING_JOB).await;
    wait_for(&c, &format!("{base}/jobs/{third}/status"), |v| {
        v["status"] == "RUNNING"
    })
    .await;
    assert_eq!(
        c.post(format!("{base}/applications/{third}/cancel"))
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    wait_for(&c, &format!("{base}/jobs/{third}/status"), |v| {
        v["status"] == "CANCELED"
    })
    .await;

    // Delete the artifact; the OpenAPI document lists what is served.
    assert_eq!(
        c.delete(format!("{base}/jars/{jar_id}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let jars: Value = c
        .get(format!("{base}/jars"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(jars["files"].as_array().unwrap().is_empty());
    let api: Value = c
        .get(format!("{base}/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(api["paths"]["/v1/jobs/{jobid}"]["get"].is_object());
    assert!(api["paths"]["/v1/jobs/{jobid}"]["patch"].is_object());
    cluster.stop().await;
}
