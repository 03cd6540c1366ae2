//! The command line as a client of a running cluster: run attached, run detached, list,
//! info, cancel.

use crate::rest_support;

use rest_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_list_info_and_cancel_against_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(&dir.path().join("data"), &[]).await;
    let addr = cluster.address.to_string();
    let batch = dir.path().join("batch.conf");
    std::fs::write(
        &batch,
        "env { job.name = \"cli-batch\" }\nsource { FakeSource { row.num = ${N}, schema = { fields { id = int } } } }\nsink { Blackhole { parallelism = 1 } }\n",
    )
    .unwrap();
    let stream = dir.path().join("stream.conf");
    std::fs::write(
        &stream,
        "env { job.name = \"cli-stream\", job.mode = \"STREAMING\" }\nsource { FakeSource { unbounded = true, rows.per.second = 100, schema = { fields { id = int } } } }\nsink { Blackhole {} }\n",
    )
    .unwrap();

    let addr2 = addr.clone();
    let batch_path = batch.display().to_string();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        weir_cli(&["run", &batch_path, "-m", &addr2, "-p", "2", "-i", "N=21"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Job has been submitted with JobID"),
        "{stdout}"
    );
    assert!(stderr.contains("FINISHED"), "{stderr}");
    assert!(
        stderr.contains("v1 Source: FakeSource [FINISHED] parallelism 2: rows in 0, rows out 42"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "v2 Sink: Blackhole [FINISHED] parallelism 1: rows in 42, rows out 0 <- v1 (REBALANCE)"
        ),
        "{stderr}"
    );

    let addr2 = addr.clone();
    let stream_path = stream.display().to_string();
    let (code, stdout, _) =
        tokio::task::spawn_blocking(move || weir_cli(&["run", &stream_path, "-m", &addr2, "-d"]))
            .await
            .unwrap();
    assert_eq!(code, 0);
    let job = stdout.trim().rsplit(' ').next().unwrap().to_string();
    assert_eq!(job.len(), 32, "{stdout}");
    wait_for(
        &client(),
        &format!("{}/jobs/{job}/status", cluster.url()),
        |v| v["status"] == "RUNNING",
    )
    .await;

    let addr2 = addr.clone();
    let (code, stdout, _) =
        tokio::task::spawn_blocking(move || weir_cli(&["list", "-a", "-m", &addr2]))
            .await
            .unwrap();
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!("{job} : cli-stream (RUNNING)")),
        "{stdout}"
    );
    assert!(stdout.contains(": cli-batch (FINISHED)"), "{stdout}");

    let addr2 = addr.clone();
    let job2 = job.clone();
    let (code, stdout, _) =
        tokio::task::spawn_blocking(move || weir_cli(&["info", &job2, "-m", &addr2]))
            .await
            .unwrap();
    assert_eq!(code, 0);
    assert!(stdout.contains("'cli-stream' (RUNNING)"), "{stdout}");
    assert!(
        stdout.contains("v1 Source: FakeSource -> Sink: Blackhole [RUNNING] parallelism 1"),
        "{stdout}"
    );

    let addr2 = addr.clone();
    let job2 = job.clone();
    let (code, stdout, _) =
        tokio::task::spawn_blocking(move || weir_cli(&["cancel", &job2, "-m", &addr2]))
            .await
            .unwrap();
    assert_eq!(code, 0);
    assert!(stdout.contains(&format!("Cancelled job {job}.")));
    wait_for(
        &client(),
        &format!("{}/jobs/{job}/status", cluster.url()),
        |v| v["status"] == "CANCELED",
    )
    .await;

    // Errors from the cluster come back as non-zero exits with the cluster's message.
    let addr2 = addr.clone();
    let (code, _, stderr) = tokio::task::spawn_blocking(move || {
        weir_cli(&["cancel", "0123456789abcdef0123456789abcdef", "-m", &addr2])
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(stderr.contains("Job could not be found."), "{stderr}");
    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, "source { Nope {} }\nsink { Console {} }").unwrap();
    let addr2 = addr.clone();
    let bad_path = bad.display().to_string();
    let (code, _, stderr) =
        tokio::task::spawn_blocking(move || weir_cli(&["run", &bad_path, "-m", &addr2]))
            .await
            .unwrap();
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown plugin 'Nope'"), "{stderr}");
    cluster.stop().await;
}
