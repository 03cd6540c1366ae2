//! The job sandbox (issue 16): a job file may read and write local files only under the data
//! directory and the roots in `weir.sandbox.allowed-paths`, never the cluster's own places
//! there; savepoint targets, restore paths and disposals are held to the same roots. Everything
//! else is refused at submission (or at the trigger) with a 400 that says what to change.
//! `S3File` may reach only the cluster's own object store and `weir.sandbox.allowed-endpoints`.

use crate::rest_support::{client, start_cluster, submit, wait_for};
use serde_json::Value;

async fn post(c: &reqwest::Client, url: &str, body: String) -> (u16, String) {
    let r = c.post(url).body(body).send().await.expect("request");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// How many jobs `/jobs` lists.
async fn job_count(c: &reqwest::Client, base: &str) -> usize {
    let v: Value = c
        .get(format!("{base}/jobs"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    v["jobs"].as_array().map_or(0, Vec::len)
}

fn copy_job(from: &std::path::Path, to: &std::path::Path, sink_extra: &str) -> String {
    format!(
        r#"env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "csv", schema = {{ fields {{ id = bigint }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "csv" {sink_extra} }} }}"#,
        from.display(),
        to.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_read_and_write_only_inside_the_sandbox() {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    // Only the data directory: the default of a cluster.
    let cluster = start_cluster(data.path(), &["weir.sandbox.allowed-paths="]).await;
    let base = cluster.url();
    let c = client();
    let input = data.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("a.csv"), "1\n2\n3\n").unwrap();

    // Under the data directory: runs and writes.
    let out = data.path().join("out");
    let job = submit(&c, &base, copy_job(&input, &out, "")).await;
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    let written: usize = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap().lines().count())
        .sum();
    assert_eq!(written, 3);

    // Writing outside, reading outside, climbing out with `..`, or into the cluster's own
    // places: refused at submission, and nothing is written.
    let jobs_before = job_count(&c, &base).await;
    let refused = [
        (
            copy_job(&input, &outside.path().join("o"), ""),
            "LocalFile's path",
        ),
        (
            copy_job(std::path::Path::new("/etc/passwd"), &out, ""),
            "'/etc/passwd' is outside the job sandbox",
        ),
        (
            copy_job(&input, &data.path().join("out/../../x"), ""),
            "outside the job sandbox",
        ),
        (
            copy_job(&input, &data.path().join("log"), ""),
            "keeps for itself",
        ),
        (
            copy_job(
                &input,
                &out,
                r#", custom_filename = true, file_name_expression = "../../x_${transactionId}""#,
            ),
            "file_name_expression",
        ),
    ];
    for (job_file, says) in refused {
        let (status, body) = post(&c, &format!("{base}/jobs"), job_file).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(says), "{says}: {body}");
        assert!(
            body.contains("weir.sandbox.allowed-paths") || !says.contains("outside"),
            "{body}"
        );
    }
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing written outside"
    );
    let jobs_after = job_count(&c, &base).await;
    assert_eq!(jobs_before, jobs_after, "no refused job was created");

    // Savepoints: a target outside is refused at the trigger, as is disposing of a path outside.
    let streaming = r#"env { job.mode = "STREAMING", checkpoint.interval = 200 }
source { FakeSource { unbounded = true, rows.per.second = 100, schema = { fields { id = bigint } } } }
sink { Blackhole {} }"#;
    let job = submit(&c, &base, streaming).await;
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "RUNNING"
    })
    .await;
    let (status, body) = post(
        &c,
        &format!("{base}/jobs/{job}/savepoints"),
        serde_json::json!({"target-directory": outside.path(), "cancel-job": false}).to_string(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("The savepoint's target directory"), "{body}");
    let (status, body) = post(
        &c,
        &format!("{base}/savepoint-disposal"),
        serde_json::json!({"savepoint-path": "/etc"}).to_string(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("outside the job sandbox"), "{body}");
    // A target under the data directory is taken.
    let (status, body) = post(
        &c,
        &format!("{base}/jobs/{job}/savepoints"),
        serde_json::json!({"target-directory": data.path().join("my-savepoints"), "cancel-job": true})
            .to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "CANCELED"
    })
    .await;
    assert!(std::fs::read_dir(data.path().join("my-savepoints"))
        .unwrap()
        .next()
        .is_some());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_allows_more_roots_or_any_path() {
    let data = tempfile::tempdir().unwrap();
    let exchange = tempfile::tempdir().unwrap();
    let input = exchange.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("a.csv"), "7\n").unwrap();
    let allowed = format!("weir.sandbox.allowed-paths={}", exchange.path().display());
    let cluster = start_cluster(data.path(), &[allowed.as_str()]).await;
    let base = cluster.url();
    let c = client();
    let out = exchange.path().join("out");
    let job = submit(&c, &base, copy_job(&input, &out, "")).await;
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    assert!(std::fs::read_dir(&out).unwrap().next().is_some());
    // Still nothing beyond the listed roots.
    let (status, body) = post(
        &c,
        &format!("{base}/jobs"),
        copy_job(&input, std::path::Path::new("/tmp/weir-sandbox-escape"), ""),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(!std::path::Path::new("/tmp/weir-sandbox-escape").exists());
    drop(cluster);

    // `*`: Flink's behaviour, any path.
    let data = tempfile::tempdir().unwrap();
    let anywhere = tempfile::tempdir().unwrap();
    let cluster = start_cluster(data.path(), &["weir.sandbox.allowed-paths=*"]).await;
    let base = cluster.url();
    let out = anywhere.path().join("out");
    let job = submit(&c, &base, copy_job(&input, &out, "")).await;
    wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    assert!(std::fs::read_dir(&out).unwrap().next().is_some());
}

fn s3_job(endpoint: &str) -> String {
    format!(
        r#"env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ row.num = 3, schema = {{ fields {{ id = bigint }} }} }} }}
sink {{ S3File {{ bucket = "s3a://out", path = "/x", fs.s3a.endpoint = "{endpoint}", access_key = "a", secret_key = "b", file_format_type = "csv" }} }}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_stores_are_reached_only_at_allowed_endpoints() {
    let data = tempfile::tempdir().unwrap();
    // A port nothing listens on: the cluster's own object store, down for this test.
    let own = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let own_url = format!("http://127.0.0.1:{}", own.local_addr().unwrap().port());
    drop(own);
    let s3 = format!("s3.endpoint={own_url}");
    let cluster = start_cluster(
        data.path(),
        &["weir.sandbox.allowed-endpoints=minio.internal:9000", &s3],
    )
    .await;
    let base = cluster.url();
    let c = client();
    let jobs_before = job_count(&c, &base).await;
    for endpoint in [
        "http://169.254.169.254",
        "127.0.0.1:6379",
        "http://minio.internal:9000@10.0.0.1",
        "https://minio.internal:9001",
    ] {
        let (status, body) = post(&c, &format!("{base}/jobs"), s3_job(endpoint)).await;
        assert_eq!(status, 400, "{endpoint}: {body}");
        assert!(
            body.contains("S3File's fs.s3a.endpoint")
                && body.contains("weir.sandbox.allowed-endpoints")
                && body.contains("minio.internal:9000"),
            "{endpoint}: {body}"
        );
    }
    assert_eq!(
        jobs_before,
        job_count(&c, &base).await,
        "nothing was created"
    );
    // The cluster's own `s3.endpoint` passes the sandbox: this job is refused only because
    // nothing answers there.
    let (status, body) = post(&c, &format!("{base}/jobs"), s3_job(&own_url)).await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.contains("weir.sandbox"), "{body}");
    assert!(body.contains("fs.s3a.endpoint"), "{body}");
    cluster.stop().await;
}
