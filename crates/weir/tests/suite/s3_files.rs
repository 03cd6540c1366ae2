//! SeaTunnel's S3File sink and source against a real S3-compatible server (moto, started by
//! the `s3` module): every row format written to a bucket and read back to the exact rows,
//! partition directories, the two-phase commit's restore (completing what a checkpoint
//! listed, aborting what came after it), Kafka → S3File and Kafka → LocalFile exactly-once
//! through injected failures, and bad buckets refused with what to fix.

use crate::common;
use crate::kafka_broker;
use crate::rest_support;
use crate::s3;

use common::{output_lines, run_text};
use rest_support::{client, get, start_cluster, submit};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use weir_core::JobStatus;

const FIELDS: &str = "id = bigint, name = string, score = double, ok = boolean";

fn write_job(server: &s3::S3Server, bucket: &str, format: &str, reference: &str) -> String {
    format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{
  FakeSource {{ plugin_output = fake, row.num = 300, schema = {{ fields {{ {FIELDS} }} }} }}
}}
sink {{
  LocalFile {{ plugin_input = fake, path = "{reference}", file_format_type = json }}
  S3File {{
    plugin_input = fake
    {}
    file_format_type = {format}
    xml_use_attr_format = true
    batch_size = 128
  }}
}}
"#,
        server.s3file_options(bucket, &format!("/out/{format}"))
    )
}

fn read_job(server: &s3::S3Server, bucket: &str, format: &str, out: &str) -> String {
    let schema = if matches!(format, "parquet" | "orc") {
        String::new()
    } else {
        format!("schema = {{ fields {{ {FIELDS} }} }}")
    };
    format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{
  S3File {{
    {}
    file_format_type = {format}
    xml_row_tag = RECORD
    xml_use_attr_format = true
    {schema}
  }}
}}
sink {{ LocalFile {{ path = "{out}", file_format_type = json }} }}
"#,
        server.s3file_options(bucket, &format!("/out/{format}"))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_written_to_a_bucket_reads_back_to_the_same_rows() {
    let Some(server) = s3::S3Server::start() else {
        return;
    };
    server.create_bucket("lake").await;
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "csv", "json", "parquet", "orc", "xml"] {
        let reference = dir.path().join(format!("ref-{format}"));
        let out = dir.path().join(format!("out-{format}"));
        let report = run_text(&write_job(
            &server,
            "lake",
            format,
            &reference.display().to_string(),
        ))
        .await;
        assert_eq!(
            report.status,
            JobStatus::Finished,
            "{format}: {:?}",
            report.error
        );
        let keys = server.keys("lake", &format!("out/{format}/")).await;
        // 600 rows, files of at most 128 rows per writer: several objects, no leftovers.
        assert!(keys.len() >= 6, "{format}: {keys:?}");
        assert!(
            keys.iter()
                .all(|k| k.starts_with(&format!("out/{format}/T_"))),
            "{keys:?}"
        );
        assert!(server.open_uploads("lake").await.is_empty());
        let report = run_text(&read_job(
            &server,
            "lake",
            format,
            &out.display().to_string(),
        ))
        .await;
        assert_eq!(
            report.status,
            JobStatus::Finished,
            "{format}: {:?}",
            report.error
        );
        let written = output_lines(&reference);
        assert_eq!(written.len(), 600);
        assert_eq!(output_lines(&out), written, "{format} round trip");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_larger_than_a_part_goes_up_in_parts_and_reads_back_whole() {
    let Some(server) = s3::S3Server::start() else {
        return;
    };
    server.create_bucket("big").await;
    let opts = server.s3file_options("big", "/one");
    let dir = tempfile::tempdir().unwrap();
    let report = run_text(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ row.num = 250000, string.length = 150, schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{ S3File {{ {opts}, file_format_type = json }} }}
"#
    ))
    .await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let keys = server.keys("big", "one/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let text = server.text("big", &keys[0]).await;
    // More than two 16 MiB parts, put together in order.
    assert!(text.len() > 2 * (16 << 20), "{} bytes", text.len());
    let out = dir.path().join("out");
    let report = run_text(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ S3File {{ {opts}, file_format_type = json, schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = json }} }}
"#,
        out.display()
    ))
    .await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let rows = output_lines(&out);
    assert_eq!(rows.len(), 250000);
    assert_eq!(rows.len(), text.lines().count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_directories_are_written_and_read_back_as_columns() {
    let Some(server) = s3::S3Server::start() else {
        return;
    };
    server.create_bucket("parts").await;
    let opts = server.s3file_options("parts", "/by_ok");
    let dir = tempfile::tempdir().unwrap();
    let report = run_text(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ row.num = 200, schema = {{ fields {{ {FIELDS} }} }} }} }}
sink {{ S3File {{ {opts}, file_format_type = parquet, partition_by = [ok] }} }}
"#
    ))
    .await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let keys = server.keys("parts", "by_ok/").await;
    assert!(
        keys.iter().any(|k| k.starts_with("by_ok/ok=true/")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("by_ok/ok=false/")),
        "{keys:?}"
    );
    let out = dir.path().join("out");
    let report = run_text(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ S3File {{ {opts}, file_format_type = parquet }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = json }} }}
"#,
        out.display()
    ))
    .await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let rows: Vec<Value> = output_lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 200);
    // The partition column comes back from the directory names, as a string.
    let oks: BTreeSet<&str> = rows.iter().filter_map(|r| r["ok"].as_str()).collect();
    assert_eq!(oks, BTreeSet::from(["false", "true"]));
    assert!(rows.iter().all(|r| r["id"].is_i64() && r["score"].is_f64()));
}

/// A writer made straight from the plugin, as a TaskManager makes it.
fn writer(
    server: &s3::S3Server,
    bucket: &str,
    attempt: u32,
) -> Box<dyn weir_runtime::operator::SinkWriter> {
    writer_with(server, bucket, attempt, "")
}

fn writer_with(
    server: &s3::S3Server,
    bucket: &str,
    attempt: u32,
    extra: &str,
) -> Box<dyn weir_runtime::operator::SinkWriter> {
    use arrow::datatypes::{DataType, Field, Schema};
    let text = format!(
        "source {{ FakeSource {{ schema = {{ fields {{ id = bigint }} }} }} }}\nsink {{ S3File {{ {}, file_format_type = json {extra} }} }}",
        server.s3file_options(bucket, "/eo")
    );
    let job =
        weir_pipeline::parse_job(&text, weir_pipeline::Format::Hocon, &Default::default()).unwrap();
    let options = job.sinks[0].options.clone();
    let ctx = weir_runtime::operator::PrepareContext::new(
        weir_core::JobId(7),
        "t",
        weir_pipeline::JobMode::Streaming,
        1,
    );
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    weir::plugins::registry()
        .sink("S3File")
        .unwrap()
        .prepare(&options, schema, &ctx)
        .unwrap()
        .create_writer(weir_runtime::operator::SubtaskContext {
            index: 0,
            parallelism: 1,
            attempt,
        })
        .unwrap()
}

fn ids(from: i64, to: i64) -> weir_runtime::Batch {
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    let col = Int64Array::from((from..to).collect::<Vec<_>>());
    weir_runtime::Batch::inserts(
        arrow::record_batch::RecordBatch::try_new(schema, vec![Arc::new(col)]).unwrap(),
    )
}

/// The ids in the visible objects under `prefix` (uploads in progress are not objects).
async fn visible_ids(server: &s3::S3Server, bucket: &str, prefix: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for key in server.keys(bucket, prefix).await {
        if key.contains("/_weir_uploads/") {
            continue;
        }
        for line in server.text(bucket, &key).await.lines() {
            let row: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a partial object {key} is visible: {e}: {line}"));
            out.push(row["id"].as_i64().unwrap());
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_completes_the_checkpoints_uploads_and_aborts_the_later_ones() {
    let Some(server) = s3::S3Server::start() else {
        return;
    };
    server.create_bucket("twopc").await;
    let mut w = writer(&server, "twopc", 0);
    w.write(ids(0, 100)).await.unwrap();
    let checkpoint_1 = w.prepare_commit(1).await.unwrap();
    // Pre-committed: uploaded, invisible.
    assert!(visible_ids(&server, "twopc", "eo/").await.is_empty());
    assert_eq!(server.open_uploads("twopc").await.len(), 1);
    // The next checkpoint's barrier came, then the process died before it completed.
    w.write(ids(100, 150)).await.unwrap();
    let _never_completed = w.prepare_commit(2).await.unwrap();
    w.write(ids(150, 160)).await.unwrap();
    std::mem::forget(w);
    assert_eq!(server.open_uploads("twopc").await.len(), 2);

    // The restarted attempt restores checkpoint 1.
    let mut restored = writer(&server, "twopc", 1);
    restored.restore(1, checkpoint_1.clone()).await.unwrap();
    assert_eq!(
        visible_ids(&server, "twopc", "eo/").await,
        (0..100).collect::<Vec<_>>()
    );
    assert!(
        server.open_uploads("twopc").await.is_empty(),
        "the upload of the checkpoint that never completed is aborted"
    );
    assert!(
        server.keys("twopc", "eo/_weir_uploads/").await.is_empty(),
        "no markers are left"
    );
    // Restoring the same checkpoint again (a second failure) changes nothing.
    let mut again = writer(&server, "twopc", 2);
    again.restore(1, checkpoint_1).await.unwrap();
    again.write(ids(100, 160)).await.unwrap();
    let cp = again.prepare_commit(3).await.unwrap();
    assert_eq!(cp.len(), 1);
    again.commit(3).await.unwrap();
    assert_eq!(
        visible_ids(&server, "twopc", "eo/").await,
        (0..160).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_file_names_are_seatunnels_and_a_restore_still_finds_their_uploads() {
    let Some(server) = s3::S3Server::start() else {
        return;
    };
    server.create_bucket("named").await;
    let naming = r#", custom_filename = true, file_name_expression = "orders_${uuid}", filename_time_format = "yyyyMMdd""#;
    let mut w = writer_with(&server, "named", 0, naming);
    w.write(ids(0, 10)).await.unwrap();
    let checkpoint_1 = w.prepare_commit(1).await.unwrap();
    w.write(ids(10, 20)).await.unwrap();
    let _never_completed = w.prepare_commit(2).await.unwrap();
    std::mem::forget(w);
    let mut restored = writer_with(&server, "named", 1, naming);
    restored.restore(1, checkpoint_1).await.unwrap();
    let keys = server.keys("named", "eo/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let name = keys[0].trim_start_matches("eo/");
    assert!(
        name.starts_with("orders_") && name.ends_with("_0.json") && name.len() > 40,
        "SeaTunnel's expression with a uuid, then the file's number: {name}"
    );
    assert_eq!(
        visible_ids(&server, "named", "eo/").await,
        (0..10).collect::<Vec<_>>()
    );
    assert!(
        server.open_uploads("named").await.is_empty(),
        "the later upload is aborted"
    );
    // A name every writer would share is refused before anything runs.
    let err = common::load(&format!(
        "env {{ job.mode = BATCH }}\nsource {{ FakeSource {{ schema = {{ fields {{ id = bigint }} }} }} }}\nsink {{ S3File {{ {}, file_format_type = json, custom_filename = true, file_name_expression = \"${{now}}\" }} }}",
        server.s3file_options("named", "/x")
    ))
    .err()
    .expect("refused")
    .to_string();
    assert!(err.contains("names every writer's files alike"), "{err}");
}

const ROWS: i64 = 5000;

fn kafka_job(bootstrap: &str, topic: &str, sink: &str) -> String {
    format!(
        r#"
env {{ job.mode = "STREAMING", checkpoint.interval = 300, read_limit.rows_per_second = 2000 }}
source {{
  Kafka {{
    bootstrap.servers = "{bootstrap}"
    topic = "{topic}"
    start_mode = earliest
    parallelism = 2
    format = json
    schema = {{ fields {{ id = bigint, name = string }} }}
    kafka.config = {{ max.partition.fetch.bytes = 4096 }}
  }}
}}
sink {{ {sink} }}
"#
    )
}

/// Topic `topic` holding the first half of `ROWS` rows, and what produces the second.
fn orders_topic(
    broker: &Arc<kafka_broker::KafkaBroker>,
    topic: &str,
) -> Option<Box<dyn FnOnce() + Send>> {
    broker.create_topic(topic, 4);
    broker.produce(topic, None, &order_rows(0, ROWS / 2));
    let (broker, topic) = (broker.clone(), topic.to_string());
    Some(Box::new(move || {
        broker.produce(&topic, None, &order_rows(ROWS / 2, ROWS))
    }))
}

fn order_rows(from: i64, to: i64) -> Vec<String> {
    (from..to)
        .map(|i| format!(r#"{{"id":{i},"name":"row {i}"}}"#))
        .collect()
}

/// Runs `job` (whose sink fails once on purpose) until `seen` returns every row, then checks
/// that each came out exactly once.
async fn exactly_once<F, Fut>(
    job: String,
    total: i64,
    more_input: Option<Box<dyn FnOnce() + Send>>,
    seen: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<i64>>,
{
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &rest_support::RESTARTING).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let job = submit(&c, &base, job).await;
    if let Some(more) = more_input {
        // The rest of the input comes once checkpoints complete, so the sink's injected
        // failure falls after one, with rows of the next in flight.
        rest_support::wait_for(&c, &format!("{base}/jobs/{job}/checkpoints"), |v| {
            v["counts"]["completed"].as_u64() >= Some(2)
        })
        .await;
        tokio::task::block_in_place(more);
    }
    rest_support::wait_while_running(
        &c,
        &base,
        &job,
        Duration::from_secs(120),
        Duration::from_millis(500),
        || async { seen().await.len() as i64 >= total },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // A repeat, if any, would land within a few more checkpoints.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = seen().await;
    let (_, exceptions) = get(&c, &format!("{base}/jobs/{job}/exceptions")).await;
    let (_, checkpoints) = get(&c, &format!("{base}/jobs/{job}/checkpoints")).await;
    assert!(
        checkpoints["latest"]["restored"]["id"].as_u64().is_some(),
        "the failure came after a checkpoint, so the job was restored from one: {checkpoints}"
    );
    rest_support::cancel(&c, &base, &job).await;
    assert!(
        exceptions.to_string().contains("on purpose"),
        "the failure was injected: {exceptions}"
    );
    assert_eq!(
        got,
        (0..total).collect::<Vec<_>>(),
        "every row once, none twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_kafka_to_s3file_through_a_failure_after_a_checkpoint_and_before_a_commit() {
    let Some(server) = s3::S3Server::start() else {
        return;
    };
    let Some(broker) = kafka_broker::KafkaBroker::start().map(Arc::new) else {
        return;
    };
    let server = Arc::new(server);
    for fail_at in ["write", "commit"] {
        let bucket = format!("eo-{fail_at}");
        server.create_bucket(&bucket).await;
        let sink = format!(
            "S3File {{ {}, file_format_type = json, parallelism = 1, test.fail_once_after_rows = 1500, test.fail_at = {fail_at} }}",
            server.s3file_options(&bucket, "/orders")
        );
        let (s, b) = (server.clone(), bucket.clone());
        let topic = format!("orders-{fail_at}");
        let more = orders_topic(&broker, &topic);
        exactly_once(
            kafka_job(&broker.bootstrap(), &topic, &sink),
            ROWS,
            more,
            move || {
                let (s, b) = (s.clone(), b.clone());
                async move { visible_ids(&s, &b, "orders/").await }
            },
        )
        .await;
        assert!(
            server.open_uploads(&bucket).await.is_empty(),
            "{fail_at}: no upload is left open"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_kafka_to_localfile_through_a_failure_after_a_checkpoint_and_before_a_commit()
{
    let Some(broker) = kafka_broker::KafkaBroker::start().map(Arc::new) else {
        return;
    };
    for fail_at in ["write", "commit"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let sink = format!(
            r#"LocalFile {{ path = "{}", file_format_type = json, parallelism = 1, test.fail_once_after_rows = 1500, test.fail_at = {fail_at} }}"#,
            out.display()
        );
        let read = out.clone();
        let topic = format!("orders-{fail_at}");
        let more = orders_topic(&broker, &topic);
        exactly_once(
            kafka_job(&broker.bootstrap(), &topic, &sink),
            ROWS,
            more,
            move || {
                let read = read.clone();
                async move { local_ids(&read) }
            },
        )
        .await;
    }
}

/// The ids in the published files under `dir`.
fn local_ids(dir: &std::path::Path) -> Vec<i64> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut ids: Vec<i64> = output_lines(dir)
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_s3file_source_resumes_inside_the_object_it_was_reading() {
    let Some(server) = s3::S3Server::start() else {
        return;
    };
    server.create_bucket("input").await;
    // Three objects of unequal size, put there by hand, each more than one batch (8192 rows)
    // long, so the failure comes inside one.
    let mut start = 0;
    for (n, rows) in [("a.json", 20000), ("b.json", 25000), ("c.json", 15000)] {
        let body: String = (start..start + rows)
            .map(|i| format!("{{\"id\":{i},\"name\":\"row {i}\"}}\n"))
            .collect();
        let r = weir::cli::client::http_client_builder()
            .build()
            .expect("client")
            .put(format!("{}/input/in/{n}", server.endpoint()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        start += rows;
    }
    assert_eq!(start, 60000);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let job = format!(
        r#"
env {{ job.mode = "STREAMING", checkpoint.interval = 300, read_limit.rows_per_second = 10000 }}
source {{
  S3File {{
    {}
    file_format_type = json
    parallelism = 2
    schema = {{ fields {{ id = bigint, name = string }} }}
  }}
}}
sink {{ LocalFile {{ path = "{}", file_format_type = json, test.fail_once_after_rows = 20000 }} }}
"#,
        server.s3file_options("input", "/in"),
        out.display()
    );
    let read = out.clone();
    exactly_once(job, start, None, move || {
        let read = read.clone();
        async move { local_ids(&read) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_servers_missing_buckets_and_bad_options_are_refused_with_what_to_fix() {
    let Some(server) = s3::S3Server::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let source = "source { FakeSource { schema = { fields { id = bigint } } } }";
    let cases = [
        (
            server.s3file_options("no-such-bucket", "/x"),
            "bucket 'no-such-bucket' does not exist",
        ),
        (
            server
                .s3file_options("b", "/x")
                .replace(&server.endpoint(), &format!("http://127.0.0.1:{closed_port}")),
            "cannot reach bucket 'b'",
        ),
        (
            r#"bucket = "hdfs://b", path = "/x""#.to_string(),
            "not an S3 address",
        ),
        (
            r#"bucket = "s3a://b", path = "/x", fs.s3a.aws.credentials.provider = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider""#.to_string(),
            "needs access_key and secret_key",
        ),
    ];
    let text = |options: &str| {
        format!(
            "env {{ job.mode = BATCH }}\n{source}\nsink {{ S3File {{ {options}, file_format_type = json }} }}"
        )
    };
    for (options, expected) in &cases {
        let errors = common::load(&text(options))
            .err()
            .unwrap_or_else(|| panic!("{options} should be refused"))
            .to_string();
        assert!(
            errors.contains(expected) && errors.contains("S3File"),
            "'{expected}' missing from {errors}"
        );
    }
    // Wrong keys, on a server that checks them.
    let Some(checking) = s3::S3Server::start_checking_credentials() else {
        return;
    };
    let errors = common::load(&text(&checking.s3file_options("b", "/x")))
        .err()
        .expect("wrong credentials are refused")
        .to_string();
    assert!(
        errors.contains("refused the credentials")
            && errors.contains("InvalidAccessKeyId")
            && errors.contains("check access_key and secret_key"),
        "{errors}"
    );
    // Through REST: a 400 that says the same.
    let r = c
        .post(format!("{base}/jobs"))
        .body(text(&cases[0].0))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("bucket 'no-such-bucket' does not exist"),
        "{body}"
    );
    // The cluster is still up.
    let (status, _) = get(&c, &format!("{base}/overview")).await;
    assert_eq!(status, 200);
}
