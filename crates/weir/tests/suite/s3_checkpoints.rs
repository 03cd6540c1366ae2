//! Checkpoints and savepoints on S3 (issue 15, part 4), against a real S3-compatible server
//! (moto, started by the `s3` module): a streaming job checkpoints to `s3://…`, its savepoint lands there, and a
//! job submitted from that savepoint restores from it.

use crate::rest_support;
use crate::s3;

use rest_support::{client, start_cluster, submit, wait_for};
use serde_json::{json, Value};

fn pipeline(out: &std::path::Path) -> String {
    format!(
        r#"
env {{ job.mode = "STREAMING", checkpoint.interval = 200 }}
source {{ FakeSource {{ parallelism = 2, row.num = 100000, batch.size = 100, rows.per.second = 2000, seed = 3,
  schema = {{ fields {{ id = bigint, tag = string }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = csv }} }}
"#,
        out.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_savepoints_live_on_s3_and_a_job_resumes_from_one() {
    let Some(s3) = s3::S3Server::start() else {
        return;
    };
    s3.create_bucket("weir").await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = s3.options();
    opts.push("execution.checkpointing.dir=s3://weir/checkpoints".into());
    opts.push("execution.checkpointing.savepoint-dir=s3a://weir/savepoints".into());
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let cluster = start_cluster(dir.path(), &opts).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let job = submit(&c, &base, pipeline(&dir.path().join("out"))).await;

    let stats = wait_for(&c, &format!("{base}/jobs/{job}/checkpoints"), |v| {
        v["counts"]["completed"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    let path = stats["latest"]["completed"]["external_path"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        path.starts_with(&format!("s3://weir/checkpoints/{job}/chk-")),
        "{stats}"
    );
    let keys = s3.keys("weir", &format!("checkpoints/{job}/")).await;
    assert!(keys.iter().any(|k| k.ends_with("/_metadata")), "{keys:?}");

    // A savepoint into the configured s3a:// directory; the job is cancelled with it.
    let r = c
        .post(format!("{base}/jobs/{job}/savepoints"))
        .json(&json!({"cancel-job": true}))
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
    let savepoint = done["operation"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(savepoint.starts_with("s3://weir/savepoints/"), "{done}");
    let sp_prefix = savepoint.trim_start_matches("s3://weir/");
    assert!(s3
        .keys("weir", sp_prefix)
        .await
        .iter()
        .any(|k| k.ends_with("/_metadata")));

    // A new job from the savepoint on S3.
    let uploaded: Value =
        rest_support::upload(&c, &base, "job.conf", pipeline(&dir.path().join("out2")))
            .await
            .json()
            .await
            .unwrap();
    let jar = uploaded["filename"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let r = c
        .post(format!("{base}/jars/{jar}/run"))
        .json(&json!({"savepointPath": savepoint}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{body}");
    let resumed = body["jobid"].as_str().unwrap_or_default().to_string();
    let stats = wait_for(&c, &format!("{base}/jobs/{resumed}/checkpoints"), |v| {
        v["latest"]["restored"]["external_path"] == savepoint.as_str()
    })
    .await;
    assert_eq!(stats["counts"]["restored"], 1, "{stats}");
}
