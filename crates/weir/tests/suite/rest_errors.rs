//! Every error class of Flink's REST API, the traversal attempts Flink once fell to, and
//! finished jobs surviving a restart of the mini cluster.

use crate::rest_support;

use rest_support::*;
use serde_json::Value;

async fn error(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let msgs = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("Flink error body expected, got {body}"));
    (
        status,
        msgs.iter()
            .map(|m| m.as_str().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" | "),
    )
}

const BATCH: &str = r#"
env { job.name = "small" }
source { FakeSource { row.num = 5, schema = { fields { id = int } } } }
sink { Blackhole {} }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_classes_answer_like_flink() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(
        dir.path(),
        &[
            "rest.server.max-content-length=4096",
            "web.access-control-allow-origin=https://dash.example",
            // Fixed slots, so a job that needs more than a TaskManager has fails.
            "taskmanager.numberOfTaskSlots=4",
        ],
    )
    .await;
    let base = cluster.url();
    let c = client();
    let unknown = "d4217d1464b441e1adf5b9238ccb5528";

    // 400: ids, query parameters and bodies that do not parse.
    let (s, m) = error(
        c.get(format!("{base}/jobs/not-a-job-id"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, m.as_str()), (400, "Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value \"not-a-job-id\"."));
    let (s, m) = error(
        c.get(format!("{base}/v1/jobs/{unknown}/vertices/xyz"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(m.contains("(vertexid)"));
    let (s, m) = error(
        c.get(format!(
            "{base}/jobs/{unknown}/exceptions?maxExceptions=abc"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(m.contains("Cannot resolve query parameter (maxExceptions) from value \"abc\""));
    let (s, m) = error(
        c.patch(format!("{base}/jobs/{unknown}?mode=bogus"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(m.contains("(mode)"));
    let (s, m) = error(
        c.patch(format!("{base}/jobs/{unknown}/clientHeartbeat"))
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, m.as_str()),
        (
            400,
            "Request did not match expected format JobClientHeartbeatRequestBody."
        )
    );
    let (s, m) = error(
        c.post(format!("{base}/jobs"))
            .body("source { Nope {} }\nsink { Console {} }")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(m.contains("unknown plugin 'Nope' in source[0]"), "{m}");
    let (s, m) = error(
        c.post(format!("{base}/jobs"))
            .json(&serde_json::json!({"jobGraphFileName": "job.bin"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(m.contains("not Java JobGraphs"), "{m}");

    // 404: unknown job, vertex, subtask, attempt, task manager, file, path, version, method.
    let (s, m) = error(
        c.get(format!("{base}/jobs/{unknown}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, m.as_str()),
        (404, format!("Job {unknown} not found").as_str())
    );
    let job = submit(&c, &base, BATCH).await;
    let details = wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    let v0 = details["vertices"][0]["id"].as_str().unwrap().to_string();
    let (s, m) = error(
        c.get(format!("{base}/jobs/{job}/vertices/{unknown}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, m.as_str()),
        (404, format!("JobVertex {unknown} not found").as_str())
    );
    let (s, m) = error(
        c.get(format!("{base}/jobs/{job}/vertices/{v0}/subtasks/99"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    assert!(m.starts_with("Invalid subtask index"));
    let (s, m) = error(
        c.get(format!(
            "{base}/jobs/{job}/vertices/{v0}/subtasks/0/attempts/7"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((s, m.as_str()), (404, "Invalid attempt num 7"));
    let (s, _) = error(
        c.get(format!("{base}/taskmanagers/no-such-taskmanager"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = error(
        c.get(format!("{base}/jobmanager/logs/missing.log"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    for path in [
        "/nosuch",
        "/v99/overview",
        "/jobs/{job}/nosuchsub",
        "/v1/nosuch",
        "/v1",
        "/v1/jobs/{job}/nosuchsub",
    ] {
        let path = path.replace("{job}", &job);
        let (s, m) = error(c.get(format!("{base}{path}")).send().await.unwrap()).await;
        assert_eq!((s, m), (404, format!("Not found: {path}")));
    }
    let (s, m) = error(c.delete(format!("{base}/jobs/{job}")).send().await.unwrap()).await;
    assert_eq!(
        (s, m),
        (404, format!("Not found: /jobs/{job}")),
        "a wrong method is a 404, as in Flink"
    );
    let (s, m) = error(
        c.delete(format!("{base}/v1/jobs/{job}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, m), (404, format!("Not found: /v1/jobs/{job}")));

    // 409: cancelling a job that already finished.
    let (s, m) = error(
        c.patch(format!("{base}/jobs/{job}?mode=cancel"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 409);
    assert!(m.contains("FINISHED"));
    // 308: the removed stop mode.
    let (s, _) = error(
        c.patch(format!("{base}/jobs/{job}?mode=stop"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 308);

    // 413: a body past rest.server.max-content-length.
    let (s, m) = error(
        c.post(format!("{base}/jobs"))
            .body("#".repeat(10_000))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 413, "{m}");
    assert!(m.contains("rest.server.max-content-length"));

    // The configured CORS origin is on every response, errors too.
    let r = c.get(format!("{base}/overview")).send().await.unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://dash.example"
    );
    let r = c.get(format!("{base}/jobs/nope")).send().await.unwrap();
    assert_eq!(r.status(), 400, "not a job id");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://dash.example",
        "errors carry the CORS header too"
    );

    // A job that can never get its slots fails with a clear exception, in Flink's shape.
    let greedy = submit(&c, &base, "env { parallelism = 9 }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Blackhole {} }").await;
    wait_for(&c, &format!("{base}/jobs/{greedy}/status"), |v| {
        v["status"] == "FAILED"
    })
    .await;
    let ex: Value = c
        .get(format!("{base}/jobs/{greedy}/exceptions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Schemas::load().check("GET", "/jobs/:jobid/exceptions", &ex);
    let text = ex["exceptionHistory"]["entries"][0]["stacktrace"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("needs 9 slots") && text.contains("taskmanager.numberOfTaskSlots"),
        "{text}"
    );
    let result: Value = c
        .get(format!("{base}/jobs/{greedy}/execution-result"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Schemas::load().check("GET", "/jobs/:jobid/execution-result", &result);
    assert_eq!(
        result["job-execution-result"]["application-status"],
        "FAILED"
    );

    // A subtask failing on bad input fails the job; the history names the task and its TaskManager.
    let bad = dir.path().join("bad-input");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("rows.txt"), "1\nnot-a-number\n").unwrap();
    let job_text = format!(
        "source {{ LocalFile {{ path = \"{}\", file_format_type = text, schema = {{ fields {{ id = int }} }} }} }}\nsink {{ Blackhole {{ parallelism = 1 }} }}",
        bad.display()
    );
    let failing = submit(&c, &base, job_text).await;
    wait_for(&c, &format!("{base}/jobs/{failing}/status"), |v| {
        v["status"] == "FAILED"
    })
    .await;
    let ex: Value = c
        .get(format!("{base}/jobs/{failing}/exceptions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Schemas::load().check("GET", "/jobs/:jobid/exceptions", &ex);
    let entry = &ex["exceptionHistory"]["entries"][0];
    assert_eq!(
        entry["taskName"],
        "Source: LocalFile -> Sink: Blackhole (1/1)"
    );
    assert!(entry["taskManagerId"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert!(entry["stacktrace"]
        .as_str()
        .unwrap()
        .contains("column 'id'"));

    // Unknown applications answer 404 with Flink 2.3.0's message (Flink answers 500).
    let (s, m) = error(
        c.get(format!("{base}/applications/{unknown}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    assert!(m.contains(&format!("Could not find Flink application ({unknown})")));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_log_and_upload_directories_is_reachable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "do not serve").unwrap();
    let cluster = start_cluster(&dir.path().join("data"), &[]).await;
    std::fs::write(cluster.dirs.logs.join("weir.log"), "a log line\n").unwrap();
    let base = cluster.url();
    let c = client();
    let tm = c
        .get(format!("{base}/taskmanagers"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["taskmanagers"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for attempt in [
        "..%2f..%2fetc%2fpasswd",
        "..%2f..%2fsecret.txt",
        "..%252f..%252fsecret.txt",
        "%2e%2e%2f%2e%2e%2fsecret.txt",
    ] {
        for path in [
            format!("/jobmanager/logs/{attempt}"),
            format!("/taskmanagers/{tm}/logs/{attempt}"),
        ] {
            let r = c.get(format!("{base}{path}")).send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            assert!(
                !text.contains("do not serve") && !text.contains("root:"),
                "{path} leaked a file"
            );
            assert!(status == 404 || status == 400, "{path} answered {status}");
        }
    }
    let ok = c
        .get(format!("{base}/jobmanager/logs/weir.log"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.text().await.unwrap(), "a log line\n");

    // Upload names are reduced to their last component: nothing lands outside the upload dir.
    let part = reqwest::multipart::Part::text(
        "source { FakeSource { schema = { fields { a = int } } } }\nsink { Console {} }",
    )
    .file_name("../../escape.conf");
    let form = reqwest::multipart::Form::new().part("jarfile", part);
    let r = c
        .post(format!("{base}/jars/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let stored = std::path::PathBuf::from(body["filename"].as_str().unwrap());
    assert_eq!(stored.parent().unwrap(), cluster.dirs.uploads.as_path());
    assert!(stored
        .file_name()
        .unwrap()
        .to_string_lossy()
        .ends_with("_escape.conf"));
    assert!(!dir.path().join("escape.conf").exists());

    // A real jar is refused with an explanation; so is anything that is not a pipeline file.
    for (name, expect) in [
        ("job.jar", "weir runs SeaTunnel pipeline files, not jars"),
        ("notes.txt", "Only pipeline files"),
    ] {
        let part = reqwest::multipart::Part::bytes(b"PK\x03\x04".to_vec()).file_name(name);
        let form = reqwest::multipart::Form::new().part("jarfile", part);
        let (s, m) = error(
            c.post(format!("{base}/jars/upload"))
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 400);
        assert!(m.contains(expect), "{m}");
    }
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let job;
    {
        let cluster = start_cluster(dir.path(), &[]).await;
        let c = client();
        let base = cluster.url();
        let resp: Value = c
            .post(format!("{base}/jobs"))
            .body(BATCH)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        job = resp["jobUrl"]
            .as_str()
            .unwrap()
            .trim_start_matches("/jobs/")
            .to_string();
        wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
            v["status"] == "FINISHED"
        })
        .await;
        // Archiving happens right after the job ends.
        wait_for(&c, &format!("{base}/overview"), |v| v["jobs-finished"] == 1).await;
        cluster.stop().await;
    }
    let cluster = start_cluster(dir.path(), &[]).await;
    let c = client();
    let base = cluster.url();
    let details: Value = c
        .get(format!("{base}/jobs/{job}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(details["state"], "FINISHED");
    assert_eq!(details["name"], "small");
    assert_eq!(
        details["vertices"][0]["metrics"]["write-records"], 0,
        "Blackhole chains into the source: no task output"
    );
    let overview: Value = c
        .get(format!("{base}/jobs/overview"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["jobs"].as_array().unwrap().len(), 1);
    cluster.stop().await;

    // jobstore.max-capacity = 0 keeps nothing.
    let cluster = start_cluster(dir.path(), &["jobstore.max-capacity=0"]).await;
    let r = client()
        .get(format!("{}/jobs/{job}", cluster.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    cluster.stop().await;
}
