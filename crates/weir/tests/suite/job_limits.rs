//! What a job file or a failing disk can do to the cluster: nothing lasting. A job file cannot
//! read the server's environment or other files, an allocation bomb fails its job and not the
//! process, and checkpoints that cannot be written restart the job (Flink's
//! `tolerable-failed-checkpoints`, then the restart strategy) until they can be again.

use crate::rest_support;

use rest_support::{client, get, start_cluster, submit, wait_for};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_files_cannot_read_the_server_and_bombs_fail_only_their_job() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();
    for (file, want) in [
        (
            "env { job.name = ${?HOME} }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Blackhole {} }",
            "would read the server's environment",
        ),
        (
            "include \"/etc/passwd\"\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Blackhole {} }",
            "HOCON include is not supported",
        ),
    ] {
        refused(c.post(format!("{base}/jobs")).body(file), want).await;
    }
    // Nested arrays that would ask for terabytes: the job is refused, the cluster serves on.
    refused(
        c.post(format!("{base}/jobs")).body("source { FakeSource { row.num = 1, array.size = 1024, schema = { fields { a = \"array<array<array<array<int>>>>\" } } } }\nsink { Blackhole {} }"),
        "lower 'array.size' (1024)",
    )
    .await;
    // Within every bound alone, 64 GiB a batch together: batches shrink and the job finishes.
    let job = submit(
        &c,
        &base,
        "source { FakeSource { row.num = 2000, batch.size = 1048576, string.length = 65536, schema = { fields { s = string } } } }\nsink { Blackhole {} }",
    )
    .await;
    wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
        v["status"] == "FINISHED"
    })
    .await;
    let (status, _) = get(&c, &format!("{base}/overview")).await;
    assert_eq!(status, 200);

    // Names are bounded with a clear 400, not stored whole or failed on by the file system.
    let long = "x".repeat(2000);
    refused(
        c.post(format!("{base}/jobs")).body(format!("env {{ job.name = \"{long}\" }}\nsource {{ FakeSource {{ schema = {{ fields {{ a = int }} }} }} }}\nsink {{ Blackhole {{}} }}")),
        "more than the 1024 a job name may have",
    )
    .await;
    let form = reqwest::multipart::Form::new().part(
        "jarfile",
        reqwest::multipart::Part::text("sink { Blackhole {} }")
            .file_name(format!("{}.conf", "n".repeat(300))),
    );
    refused(
        c.post(format!("{base}/jars/upload")).multipart(form),
        "a name of at most 200 bytes",
    )
    .await;
}

/// Sends `request` and expects a 400 whose body says `want`.
async fn refused(request: reqwest::RequestBuilder, want: &str) {
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains(want), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_checkpoints_restart_the_job_which_recovers_when_they_can_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("cp");
    let cp_opt = format!("execution.checkpointing.dir={}", checkpoints.display());
    let cluster = start_cluster(
        &dir.path().join("data"),
        &[
            cp_opt.as_str(),
            "restart-strategy.type=fixed-delay",
            "restart-strategy.fixed-delay.attempts=50",
            "restart-strategy.fixed-delay.delay=100 ms",
        ],
    )
    .await;
    let base = cluster.url();
    let c = client();
    let job = submit(
        &c,
        &base,
        "env { job.mode = \"STREAMING\", checkpoint.interval = 200 }\n\
         source { FakeSource { unbounded = true, rows.per.second = 200, schema = { fields { id = bigint } } } }\n\
         sink { Blackhole {} }",
    )
    .await;
    let cps = wait_for(&c, &format!("{base}/jobs/{job}/checkpoints"), |v| {
        v["counts"]["completed"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    let latest = cps["latest"]["completed"]["id"].as_u64().unwrap();
    // The next checkpoints cannot be written: a file stands where each one's directory goes.
    let job_dir = checkpoints.join(&job);
    let blocked = (latest + 1)..=(latest + 8);
    for id in blocked.clone() {
        std::fs::write(job_dir.join(format!("chk-{id}")), b"in the way").unwrap();
    }
    // The job restarts (from its last good checkpoint) and, past the blocked ids, checkpoints
    // again and runs on.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, cps) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
        let (_, status) = get(&c, &format!("{base}/jobs/{job}/status")).await;
        let newest = cps["latest"]["completed"]["id"].as_u64().unwrap_or(0);
        if newest > *blocked.end() && status["status"] == "RUNNING" {
            break;
        }
        assert_ne!(status["status"], "FAILED", "{cps}");
        assert!(Instant::now() < deadline, "never recovered: {status} {cps}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, m) = get(&c, &format!("{base}/jobs/{job}/metrics?get=numRestarts")).await;
    let restarts: u64 = m[0]["value"].as_str().unwrap().parse().unwrap();
    assert!(restarts >= 1, "{m}");
    let (_, ex) = get(&c, &format!("{base}/jobs/{job}/exceptions")).await;
    let text = ex.to_string();
    assert!(
        text.contains("Exceeded checkpoint tolerable failure threshold"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_and_stalled_bodies_are_closed_after_their_timeouts() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let address = base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /overview HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // And one that sends its headers and stalls in the middle of its body.
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    stalled
        .write_all(
            b"POST /jars/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; \
              boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n",
        )
        .await
        .unwrap();
    // The server goes on answering others meanwhile.
    let (status, _) = get(&client(), &format!("{base}/overview")).await;
    assert_eq!(status, 200);
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the half-sent request was held open for 20 s");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(15),
        "closed after {waited:?}"
    );
    let mut answer = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the stalled body was held open for 30 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("request body"),
        "a stalled body gets 408 with a reason: {answer}"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_may_allow_named_environment_variables() {
    std::env::set_var("WEIR_TEST_ALLOWED_NAME", "from-the-operator");
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(
        dir.path(),
        &["weir.job-file.env-allowlist=WEIR_TEST_ALLOWED_NAME, OTHER"],
    )
    .await;
    let base = cluster.url();
    let c = client();
    let job = submit(
        &c,
        &base,
        "env { job.name = ${?WEIR_TEST_ALLOWED_NAME} }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Blackhole {} }",
    )
    .await;
    let (_, details) = get(&c, &format!("{base}/jobs/{job}")).await;
    assert_eq!(details["name"], "from-the-operator");
    refused(
        c.post(format!("{base}/jobs")).body("env { job.name = ${?HOME} }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Blackhole {} }"),
        "weir.job-file.env-allowlist",
    )
    .await;
    cluster.stop().await;
}
