//! SeaTunnel's REST API (v1 under `/hazelcast/rest/maps`, v2 on its own port) against a real
//! mini cluster: real jobs submitted, stopped and resumed through it, their DAG, statuses and
//! metrics checked against what the jobs really did, and every literal error message.

use crate::common;
use crate::rest_support;

use rest_support::{client, get, start_cluster, wait_for};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use weir::cluster::MiniCluster;

/// The base URLs of the three APIs of one cluster.
struct Apis {
    v1: String,
    v2: String,
    flink: String,
}

fn apis(cluster: &MiniCluster) -> Apis {
    Apis {
        v1: format!(
            "http://{}/hazelcast/rest/maps",
            cluster.seatunnel_v1.expect("v1 listens")
        ),
        v2: format!("http://{}", cluster.seatunnel_v2.expect("v2 listens")),
        flink: cluster.url(),
    }
}

async fn post(c: &reqwest::Client, url: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = c.post(url).body(body).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post_json(c: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    post(c, url, body.to_string()).await
}

/// `POST {base}/submit-job/upload?jobName=` with `text` as the multipart file `file_name`.
async fn upload(
    c: &reqwest::Client,
    base: &str,
    file_name: &str,
    job_name: &str,
    text: &'static str,
) -> Value {
    let form = reqwest::multipart::Form::new().part(
        "config_file",
        reqwest::multipart::Part::text(text).file_name(file_name.to_string()),
    );
    let r = c
        .post(format!("{base}/submit-job/upload?jobName={job_name}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn fail(message: &str) -> Value {
    json!({"status": "fail", "message": message})
}

/// FakeSource → console, batch: 2 readers × 20 rows of (bigint, int) = 40 rows of 12 bytes.
fn batch_job() -> Value {
    json!({
        "env": {"job.mode": "BATCH", "parallelism": 2},
        "source": [{
            "plugin_name": "FakeSource",
            "plugin_output": "fake",
            "row.num": 20,
            "schema": {"fields": {"a": "bigint", "b": "int"}}
        }],
        "sink": [{"plugin_name": "console"}]
    })
}

/// A streaming FakeSource → LocalFile job that takes about 3 s to produce its 1500 rows.
fn streaming_job(out: &Path) -> String {
    format!(
        r#"
env {{
  job.mode = "STREAMING"
  checkpoint.interval = 200
}}
source {{
  FakeSource {{
    plugin_output = fake
    row.num = 1500
    split.num = 150
    split.read-interval = 20
    seed = 7
    schema = {{ fields {{ id = bigint, name = string }} }}
  }}
}}
sink {{
  LocalFile {{
    plugin_input = fake
    path = "{}"
    file_format_type = csv
  }}
}}
"#,
        out.display()
    )
}

fn time_like(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 19 && s.as_bytes()[4] == b'-' && s.as_bytes()[13] == b':'
}

async fn job_info(c: &reqwest::Client, base: &str, id: &str, status: &str) -> Value {
    wait_for(c, &format!("{base}/job-info/{id}"), |v| {
        v["jobStatus"] == status
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_jobs_answer_alike_on_v1_and_v2_and_flink() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let api = apis(&cluster);
    let c = client();
    let mut ids = Vec::new();
    for base in [&api.v1, &api.v2] {
        let (status, body) = post_json(
            &c,
            &format!("{base}/submit-job?jobName=batch%20test"),
            &batch_job(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["jobName"], "batch test");
        let id = body["jobId"]
            .as_str()
            .expect("jobId is a string")
            .to_string();
        assert!(id.parse::<i64>().unwrap() > 0);

        let info = job_info(&c, base, &id, "FINISHED").await;
        assert_eq!(info["jobId"], id.as_str());
        assert_eq!(info["jobName"], "batch test");
        assert!(info["errorMsg"].is_null());
        assert!(
            time_like(&info["createTime"]) && time_like(&info["finishTime"]),
            "{info}"
        );
        assert_eq!(info["pluginJarsUrls"], json!([]));
        let dag = &info["jobDag"];
        assert_eq!(dag["jobId"], id.as_str());
        assert_eq!(dag["envOptions"]["job.mode"], "BATCH");
        assert_eq!(dag["envOptions"]["parallelism"], "2");
        assert_eq!(
            dag["pipelineEdges"],
            json!({"1": [{"inputVertexId": "1", "targetVertexId": "2"}]})
        );
        assert_eq!(
            dag["vertexInfoMap"],
            json!([
                {"vertexId": 1, "type": "source", "vertexName": "pipeline-1 [Source[0]-FakeSource]", "tablePaths": ["fake"]},
                {"vertexId": 2, "type": "sink", "vertexName": "pipeline-1 [Sink[0]-console-MultiTableSink]", "tablePaths": ["fake"]}
            ])
        );
        // The metrics count what the job did: 40 rows of 8 + 4 bytes, in and out.
        let info = wait_for(&c, &format!("{base}/job-info/{id}"), |v| {
            v["metrics"]["SinkWriteCount"] == "40"
        })
        .await;
        let m = &info["metrics"];
        assert_eq!(m["SourceReceivedCount"], "40", "{m}");
        assert_eq!(m["SourceReceivedBytes"], "480", "{m}");
        assert_eq!(m["SinkWriteBytes"], "480", "{m}");
        assert_eq!(m["TableSourceReceivedCount"], json!({"fake": "40"}));
        assert_eq!(m["TableSinkWriteBytes"], json!({"fake": "480"}));
        // Rates are over the job's run, as SeaTunnel reports them: a finished job that moved
        // rows shows how fast it went, not 0.
        for rate in [
            "SourceReceivedQPS",
            "SinkWriteQPS",
            "SourceReceivedBytesPerSeconds",
            "SinkWriteBytesPerSeconds",
        ] {
            let v: f64 = m[rate].as_str().unwrap().parse().unwrap();
            assert!(v > 0.0, "{rate} of a finished job is {v}: {m}");
        }
        let table_qps: f64 = m["TableSinkWriteQPS"]["fake"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(table_qps > 0.0, "{m}");
        assert_eq!(m.as_object().unwrap().len(), 16);

        // The same job through Flink's API: its id is the SeaTunnel id in 32 hex digits.
        let hex = format!("{:032x}", id.parse::<u128>().unwrap());
        let (status, flink) = get(&c, &format!("{}/jobs/{hex}", api.flink)).await;
        assert_eq!(status, 200);
        assert_eq!(flink["state"], "FINISHED");
        assert_eq!(flink["name"], "batch test");
        ids.push(id);
    }
    for base in [&api.v1, &api.v2] {
        // Oldest end first, as SeaTunnel's clients index into it; the state in any case.
        let (_, finished) = get(&c, &format!("{base}/finished-jobs/finished")).await;
        let listed: Vec<&str> = finished
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|j| j["jobId"].as_str())
            .collect();
        assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(finished[0]["metrics"]["SinkWriteCount"], "40");
        let (_, all) = get(&c, &format!("{base}/finished-jobs?page=2&rows=1")).await;
        assert_eq!(all.as_array().unwrap().len(), 1);
        assert_eq!(all[0]["jobId"], ids[1].as_str());
        let (_, cancelled) = get(&c, &format!("{base}/finished-jobs/CANCELED")).await;
        assert_eq!(cancelled, json!([]));
        let (_, running) = get(&c, &format!("{base}/running-jobs")).await;
        assert_eq!(running, json!([]));
        let (status, overview) = get(&c, &format!("{base}/overview")).await;
        assert_eq!(status, 200);
        assert_eq!(overview["finishedJobs"], "2");
        assert_eq!(overview["runningJobs"], "0");
        assert_eq!(overview["workers"], "1");
        assert_eq!(overview["totalSlot"], "4");
        assert!(overview["projectVersion"].is_string());
        // Unknown and malformed ids.
        assert_eq!(
            get(&c, &format!("{base}/job-info/123")).await,
            (200, json!({"jobId": "123"}))
        );
        assert_eq!(
            get(&c, &format!("{base}/running-job/abc")).await,
            (400, fail("For input string: \"abc\""))
        );
        assert_eq!(
            get(&c, &format!("{base}/job-info/")).await,
            (400, fail("The jobId must not be empty."))
        );
    }
    cluster.stop().await;
}

/// Waits until the committed output has `n` rows.
async fn wait_for_rows(out: &Path, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let lines = if out.exists() {
            common::output_lines(out)
        } else {
            Vec::new()
        };
        if lines.len() >= n {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return common::output_lines(out);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {n} rows after 60 s",
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_job_stops_with_a_savepoint_and_resumes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // The rows the job must commit, from a batch run of the same source.
    let raw = dir.path().join("raw");
    let batch = streaming_job(&raw).replace("\"STREAMING\"", "\"BATCH\"");
    let report = common::run_text(&batch).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let mut want = common::output_lines(&raw);
    want.sort();
    assert_eq!(want.len(), 1500);

    let cluster = start_cluster(&dir.path().join("data"), &[]).await;
    let api = apis(&cluster);
    let c = client();
    let out = dir.path().join("out");
    let job = streaming_job(&out);
    let submit = format!("{}/submit-job?format=hocon&jobId=4242", api.v2);
    let r = c
        .post(&submit)
        .header("Content-Type", "text/plain")
        .body(job.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"jobId": "4242", "jobName": "SeaTunnel_Job"}));

    // Running, on both APIs, with its env as strings.
    for base in [&api.v1, &api.v2] {
        let running = wait_for(&c, &format!("{base}/running-jobs"), |v| {
            v[0]["jobStatus"] == "RUNNING"
        })
        .await;
        let j = &running[0];
        assert_eq!(j["jobId"], "4242");
        assert_eq!(j["envOptions"]["checkpoint.interval"], "200");
        assert_eq!(j["isStartWithSavePoint"], false);
        assert!(time_like(&j["createTime"]));
        assert_eq!(
            j["jobDag"]["vertexInfoMap"][1]["vertexName"],
            "pipeline-1 [Sink[0]-LocalFile-MultiTableSink]"
        );
    }
    // Resubmitting the running id is a no-op.
    let (status, again) = post(&c, &submit, job.clone()).await;
    assert_eq!((status, &again["jobId"]), (200, &json!("4242")));

    // Stop with a savepoint part-way (through v1), see SAVEPOINT_DONE.
    wait_for(&c, &format!("{}/job-info/4242", api.v2), |v| {
        v["metrics"]["SourceReceivedCount"]
            .as_str()
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 200)
    })
    .await;
    let (status, body) = post_json(
        &c,
        &format!("{}/stop-job", api.v1),
        &json!({"jobId": 4242, "isStopWithSavePoint": true}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"jobId": "4242"})));
    let done = wait_for(
        &c,
        &format!("{}/finished-jobs/SAVEPOINT_DONE", api.v2),
        |v| v[0]["jobId"] == "4242",
    )
    .await;
    assert!(time_like(&done[0]["finishTime"]));
    let stopped_at = common::output_lines(&out).len();
    assert!(stopped_at < 1500, "the job ended before it was stopped");

    // The id has history: only a start from its savepoint may reuse it.
    let (status, body) = post(&c, &submit, job.clone()).await;
    assert_eq!(status, 500);
    assert_eq!(
        body["message"],
        "The job id 4242 has already been submitted and is not starting with a savepoint."
    );
    let (status, body) = post(
        &c,
        &format!(
            "{}/submit-job?format=hocon&jobId=4242&isStartWithSavePoint=true",
            api.v1
        ),
        job.clone(),
    )
    .await;
    assert_eq!((status, &body["jobId"]), (200, &json!("4242")), "{body}");
    let info = job_info(&c, &api.v1, "4242", "RUNNING").await;
    assert_eq!(info["isStartWithSavePoint"], true);

    // Every row exactly once across the two runs.
    let mut got = wait_for_rows(&out, 1500).await;
    got.sort();
    assert_eq!(got, want);

    // A plain stop cancels.
    let (status, _) = post_json(
        &c,
        &format!("{}/stop-job", api.v2),
        &json!({"jobId": "4242"}),
    )
    .await;
    assert_eq!(status, 200);
    wait_for(&c, &format!("{}/finished-jobs/CANCELED", api.v1), |v| {
        v[0]["jobId"] == "4242"
    })
    .await;
    let hex = format!("{:032x}", 4242);
    let (_, flink) = get(&c, &format!("{}/jobs/{hex}", api.flink)).await;
    assert_eq!(flink["state"], "CANCELED");

    // An ended job that left no savepoint starts again from nothing when asked to start from
    // its savepoint, as SeaTunnel does (200, and the job runs), and its log says why.
    let batch = batch_job().to_string();
    let once = format!("{}/submit-job?jobId=777", api.v2);
    let (status, _) = post(&c, &once, batch.clone()).await;
    assert_eq!(status, 200);
    job_info(&c, &api.v2, "777", "FINISHED").await;
    let again = format!("{}/submit-job?jobId=777&isStartWithSavePoint=true", api.v2);
    let (status, body) = post(&c, &again, batch).await;
    assert_eq!((status, &body["jobId"]), (200, &json!("777")), "{body}");
    let log_path = dir.path().join("data/log/job-777.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.matches("to FINISHED").count() >= 2 {
            break log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second run never finished: {log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        log.contains("left no savepoint or retained checkpoint"),
        "{log}"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_batches_of_jobs_tags_logs_and_node_figures() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let api = apis(&cluster);
    let c = client();

    // Upload a HOCON file through v1.
    let hocon = "env { job.mode = BATCH }\nsource { FakeSource { row.num = 7, schema = { fields { a = int } } } }\nsink { Console {} }\n";
    let up = upload(&c, &api.v1, "upload.conf", "uploaded", hocon).await;
    assert_eq!(up["jobName"], "uploaded");
    let id = up["jobId"].as_str().unwrap().to_string();
    let info = job_info(&c, &api.v2, &id, "FINISHED").await;
    assert_eq!(
        info["jobDag"]["vertexInfoMap"][0]["tablePaths"],
        json!(["default.default.default"])
    );

    // Two streaming jobs at once, stopped at once (ids answered as numbers).
    let mut stream = batch_job();
    stream["env"] = json!({"job.mode": "STREAMING"});
    stream["source"][0]["row.num"] = json!(1_000_000);
    stream["source"][0]["split.num"] = json!(100_000);
    stream["source"][0]["split.read-interval"] = json!(50);
    let mut first = stream.clone();
    first["params"] = json!({"jobId": "501", "jobName": "first"});
    let mut second = stream.clone();
    second["params"] = json!({"jobId": 502});
    let (status, body) = post_json(
        &c,
        &format!("{}/submit-jobs", api.v2),
        &json!([first, second]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([{"jobId": "501", "jobName": "first"}, {"jobId": "502", "jobName": "SeaTunnel_Job"}])
    );
    let running = wait_for(&c, &format!("{}/running-jobs", api.v1), |v| {
        v.as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(|j| j["jobStatus"] == "RUNNING"))
    })
    .await;
    assert_eq!(running[0]["jobId"], "502", "newest first");
    let (status, overview) = get(&c, &format!("{}/overview", api.v2)).await;
    assert_eq!((status, &overview["runningJobs"]), (200, &json!("2")));

    // Node figures while jobs run.
    let (_, metrics) = get(&c, &format!("{}/system-monitoring-information", api.v2)).await;
    let m = &metrics[0];
    assert_eq!(m["isMaster"], "true");
    assert!(m["port"].as_str().is_some_and(|p| !p.is_empty()));
    assert!(m["processors"].as_str().unwrap().parse::<u32>().unwrap() >= 1);
    assert!(m["physical.memory.total"].as_str().unwrap().ends_with('G'));
    assert!(m["thread.count"].as_str().unwrap().parse::<u32>().unwrap() > 1);
    let (_, dump) = get(&c, &format!("{}/thread-dump", api.v1)).await;
    assert!(dump[0]["threadName"].is_string() && dump[0]["threadId"].is_number());
    let (_, threads) = get(&c, &format!("{}/running-threads", api.v2)).await;
    let names: Vec<&str> = threads
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["threadName"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for url in [
        format!("{}/metrics", api.v2),
        format!("{}/openmetrics", api.v2),
        api.v1.replace("/maps", "/instance/metrics"),
    ] {
        // SeaTunnel's families, with its labels; Flink's names stay on the Flink reporter.
        let text = c.get(&url).send().await.unwrap().text().await.unwrap();
        for family in [
            "cluster_info{cluster=\"seatunnel\",",
            "cluster_time{cluster=\"seatunnel\",",
            "node_state{cluster=\"seatunnel\",address=",
            "job_count{cluster=\"seatunnel\",type=\"running\",} 2.0",
            "job_count{cluster=\"seatunnel\",type=\"scheduled\",} 0.0",
            "job_thread_pool_activeCount{cluster=\"seatunnel\",address=",
            "job_thread_pool_completedTask_total{",
            "job_thread_pool_queueTaskCount{",
            "job_thread_pool_rejection_total{",
            "process_resident_memory_bytes{",
        ] {
            assert!(text.contains(family), "{url} has no {family}:\n{text}");
        }
        assert!(
            !text.contains("flink_"),
            "{url} serves Flink's names:\n{text}"
        );
    }
    let (_, members) = get(&c, &api.v1.replace("/maps", "/cluster")).await;
    assert_eq!(members["members"].as_array().map(Vec::len), Some(1));

    let (status, body) = post_json(
        &c,
        &format!("{}/stop-jobs", api.v1),
        &json!([{"jobId": 501}, {"jobId": "502", "isStopWithSavePoint": false}]),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!([{"jobId": 501}, {"jobId": 502}]))
    );
    wait_for(&c, &format!("{}/finished-jobs/canceled", api.v2), |v| {
        v.as_array().is_some_and(|a| a.len() == 2)
    })
    .await;

    // Tags: v1 takes PUT; the filter matches this node or nothing.
    let r = c
        .put(format!("{}/update-tags", api.v1))
        .body(r#"{"zone": "a", "rack": 3}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "success", "message": "update node tags done."})
    );
    let (_, o) = get(&c, &format!("{}/overview?zone=a&rack=3", api.v2)).await;
    assert_eq!((&o["workers"], &o["totalSlot"]), (&json!("1"), &json!("4")));
    let (_, o) = get(&c, &format!("{}/overview?zone=b", api.v1)).await;
    assert_eq!(
        (&o["workers"], &o["totalSlot"], &o["unassignedSlot"]),
        (&json!("0"), &json!("0"), &json!("0"))
    );
    assert_eq!(o["cancelledJobs"], "2");
    post_json(&c, &format!("{}/update-tags", api.v2), &json!({})).await;
    let (_, o) = get(&c, &format!("{}/overview?zone=a", api.v2)).await;
    assert_eq!(o["workers"], "0");

    // Logs: each job has its own file, listed with links that serve it.
    for base in [&api.v1, &api.v2] {
        let (status, list) = get(&c, &format!("{base}/logs?format=json")).await;
        assert_eq!(status, 200);
        let entry = list
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["logName"] == "job-501.log")
            .unwrap_or_else(|| panic!("no job-501.log in {list}"))
            .clone();
        let link = entry["logLink"].as_str().unwrap();
        assert_eq!(link, format!("{base}/logs/job-501.log"));
        let text = c.get(link).send().await.unwrap().text().await.unwrap();
        assert!(
            text.contains("switched from state RUNNING to CANCELLING"),
            "{text}"
        );
        // What the job's plugins log is there too, as SeaTunnel's Console writer logs it.
        assert!(
            text.contains("INFO  output rowType: a<BIGINT>, b<INT>"),
            "{text}"
        );
        let (_, only) = get(&c, &format!("{base}/logs/501?format=json")).await;
        assert_eq!(only.as_array().unwrap().len(), 1, "{only}");
        let html = c
            .get(format!("{base}/log"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("<title>Seatunnel log</title>")
                && html.contains("href=\"log/job-501.log\"")
        );
        let r = c
            .get(format!("{base}/log/job-501.log"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        for bad in ["nope.log", "..%2F..%2F..%2Fetc%2Fpasswd"] {
            let r = c.get(format!("{base}/log/{bad}")).send().await.unwrap();
            assert_eq!(r.status(), 400, "{bad}");
        }
        let (_, names) = get(&c, &format!("{base}/get-all-log-name")).await;
        assert!(names.as_array().unwrap().contains(&json!("job-502.log")));
    }
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_literal_error_and_the_config_shades() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let api = apis(&cluster);
    let c = client();
    let mut no_source = batch_job();
    no_source["source"] = json!([]);
    let mut no_sink = batch_job();
    no_sink["sink"] = json!([]);
    let mut unknown_plugin = batch_job();
    unknown_plugin["source"][0]["plugin_name"] = json!("NoSuchSource");
    for base in [&api.v1, &api.v2] {
        let u = |p: &str| format!("{base}{p}");
        for path in [
            "/submit-job",
            "/submit-jobs",
            "/stop-job",
            "/stop-jobs",
            "/encrypt-config",
            "/update-tags",
        ] {
            assert_eq!(
                post(&c, &u(path), "").await,
                (400, fail("Request body is empty.")),
                "{path}"
            );
            assert_eq!(
                post(&c, &u(path), "{not json").await,
                (400, fail("Invalid JSON format in request body.")),
                "{path}"
            );
        }
        assert_eq!(
            post_json(&c, &u("/update-tags"), &json!(["a"])).await,
            (400, fail("Invalid JSON format in request body."))
        );
        assert_eq!(
            post_json(
                &c,
                &u("/submit-job?isStartWithSavePoint=true"),
                &batch_job()
            )
            .await,
            (
                400,
                fail("Please provide jobId when start with save point.")
            )
        );
        assert_eq!(
            post_json(&c, &u("/submit-job?dryRun=true"), &batch_job()).await,
            (400, fail("Dry-run is only supported via CLI"))
        );
        assert_eq!(
            post_json(&c, &u("/stop-job"), &json!({"isStopWithSavePoint": true})).await,
            (400, fail("jobId cannot be empty."))
        );
        assert_eq!(
            post_json(&c, &u("/stop-jobs"), &json!([{"jobId": 1}, {}])).await,
            (400, fail("jobId cannot be empty."))
        );
        for path in ["/submit-job", "/encrypt-config"] {
            assert_eq!(
                post_json(&c, &u(path), &no_source).await,
                (
                    400,
                    fail("Miss <Source> config! Please check the config file.")
                )
            );
            assert_eq!(
                post_json(&c, &u(path), &no_sink).await,
                (
                    400,
                    fail("Miss <Sink> config! Please check the config file.")
                )
            );
        }
        // An engine refusal is a 500 that says what is wrong (never "null").
        let (status, body) = post_json(&c, &u("/submit-job"), &unknown_plugin).await;
        assert_eq!(status, 500);
        assert!(
            body["message"].as_str().unwrap().contains("NoSuchSource"),
            "{body}"
        );
        // Stopping a job that does not exist is a no-op; a savepoint of an ended one is not.
        assert_eq!(
            post_json(&c, &u("/stop-job"), &json!({"jobId": 99})).await,
            (200, json!({"jobId": "99"}))
        );
    }
    // v1 parses query strings itself and refuses a key without '='; v2 takes it.
    assert_eq!(
        post_json(&c, &format!("{}/submit-job?jobName", api.v1), &batch_job()).await,
        (400, fail("Invalid Params format in Params."))
    );
    let (status, body) =
        post_json(&c, &format!("{}/submit-job?jobName", api.v2), &batch_job()).await;
    assert_eq!(status, 200, "{body}");
    let finished = body["jobId"].as_str().unwrap().to_string();
    job_info(&c, &api.v2, &finished, "FINISHED").await;
    let (status, body) = post_json(
        &c,
        &format!("{}/stop-job", api.v2),
        &json!({"jobId": finished, "isStopWithSavePoint": true}),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        body["message"],
        format!("The job with id '{finished}' not running, save point failed")
    );
    // v2 answers a wrong method with 405 and an unknown path with 404.
    for (method, path, status) in [
        (reqwest::Method::GET, "/submit-job", 405),
        (reqwest::Method::POST, "/overview", 405),
        (reqwest::Method::GET, "/nope", 404),
    ] {
        let url = format!("{}{path}", api.v2);
        let r = c.request(method, &url).send().await.unwrap();
        assert_eq!(r.status(), status, "{url}");
    }

    // Shades: base64 hides the sensitive options of sources and sinks, and a submit of the
    // encrypted file reveals them again.
    let mut secret = batch_job();
    secret["env"]["shade.identifier"] = json!("base64");
    secret["source"][0]["username"] = json!("seatunnel");
    secret["source"][0]["password"] = json!("seatunnel_password");
    let (status, enc) = post_json(&c, &format!("{}/encrypt-config", api.v1), &secret).await;
    assert_eq!(status, 200);
    assert_eq!(enc["source"][0]["username"], "c2VhdHVubmVs");
    assert_eq!(enc["source"][0]["password"], "c2VhdHVubmVsX3Bhc3N3b3Jk");
    assert_eq!(enc["source"][0]["row.num"], 20);
    assert_eq!(enc["sink"], secret["sink"]);
    let (status, body) = post_json(&c, &format!("{}/submit-job", api.v2), &enc).await;
    assert_eq!(status, 200, "{body}");
    job_info(&c, &api.v2, body["jobId"].as_str().unwrap(), "FINISHED").await;
    // The unencrypted file is not valid under the shade.
    let (status, body) = post_json(&c, &format!("{}/submit-job", api.v2), &secret).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cannot be decrypted"),
        "{body}"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_path_moves_v2_and_the_listeners_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(
        dir.path(),
        &[
            "seatunnel.engine.http.context-path=/seatunnel",
            "seatunnel.engine.rest-v1.enabled=false",
        ],
    )
    .await;
    assert!(cluster.seatunnel_v1.is_none());
    let v2 = format!("http://{}", cluster.seatunnel_v2.unwrap());
    let c = client();
    let (status, body) = get(&c, &format!("{v2}/seatunnel/overview")).await;
    assert_eq!((status, &body["workers"]), (200, &json!("1")));
    assert_eq!(
        c.get(format!("{v2}/overview"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    cluster.stop().await;
    let bad = weir::config::ClusterConfig::load(
        None,
        &["seatunnel.engine.http.context-path=nope".into()],
    );
    assert!(bad.unwrap_err().contains("context-path"));
}

/// A job in SeaTunnel's SQL form: a FakeSource table, a `CREATE TABLE … AS SELECT` transform, a
/// Console sink fed by `INSERT INTO … SELECT`.
const SQL_JOB: &str = r#"/* config
env {
  job.mode = "BATCH"
  parallelism = 1
}
*/
CREATE TABLE fake WITH (
  'connector' = 'FakeSource',
  'type' = 'source',
  'row.num' = '25',
  'int.min' = '0',
  'int.max' = '9',
  'schema' = '{ fields { id = int, name = string } }'
);
CREATE TABLE shout AS SELECT id, upper(name) AS name FROM fake;
CREATE TABLE out WITH ('connector' = 'Console', 'type' = 'sink');
INSERT INTO out SELECT id, name FROM shout WHERE id >= 0;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_job_files_run_when_submitted_and_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let api = apis(&cluster);
    let c = client();

    let (status, body) = post(
        &c,
        &format!("{}/submit-job?format=sql&jobName=sql-submit", api.v2),
        SQL_JOB,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["jobId"].as_str().unwrap().to_string();
    let info = wait_for(&c, &format!("{}/job-info/{id}", api.v2), |v| {
        v["jobStatus"] == "FINISHED" && v["metrics"]["SinkWriteCount"] == "25"
    })
    .await;
    assert_eq!(info["jobName"], "sql-submit");
    assert_eq!(info["metrics"]["SourceReceivedCount"], "25");

    let up = upload(&c, &api.v1, "job.sql", "sql-upload", SQL_JOB).await;
    let id = up["jobId"].as_str().unwrap().to_string();
    wait_for(&c, &format!("{}/job-info/{id}", api.v1), |v| {
        v["jobStatus"] == "FINISHED" && v["metrics"]["SinkWriteCount"] == "25"
    })
    .await;

    // A broken SQL file is refused with what to fix (SeaTunnel's 500 for an engine refusal),
    // and nothing runs.
    let (status, body) = post(
        &c,
        &format!("{}/submit-job?format=sql", api.v2),
        "CREATE TABLE a WITH ('type' = 'source');\nINSERT INTO b SELECT * FROM a;",
    )
    .await;
    assert_eq!(status, 500, "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(msg.contains("has no 'connector' option"), "{body}");
    assert!(msg.contains("the sink table [b] is not found"), "{body}");
    cluster.stop().await;
}
