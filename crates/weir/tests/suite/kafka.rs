//! SeaTunnel's Kafka source and sink against a real Kafka-protocol broker (the `kafka_broker`
//! module starts one), set up and checked with an independent client (librdkafka through confluent-kafka):
//! exactly-once Kafka → Sql → Kafka through a failure after a checkpoint and a failure
//! between pre-commit and commit, every start mode, partitions added while a job runs,
//! malformed messages failing the job or skipped and counted, and bad options refused with
//! errors that say what to fix.

use crate::common;
use crate::kafka_broker;
use crate::rest_support;

use rest_support::{client, get, start_cluster, submit};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use weir_core::JobStatus;

fn rows(from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|i| format!(r#"{{"id":{i},"name":"row {i}","amount":{}}}"#, i % 97))
        .collect()
}

fn ids(values: &[String]) -> Vec<i64> {
    values
        .iter()
        .map(|v| {
            serde_json::from_str::<Value>(v)
                .ok()
                .and_then(|j| j["id"].as_i64())
                .unwrap_or(-1)
        })
        .collect()
}

const ROWS: usize = 6000;

/// What a `read_committed` reader must see of `topic`, worked out from the log itself: a
/// transaction's batches count once a COMMIT marker of their producer follows them, never
/// when an ABORT marker does, and not while neither has come. The broker the tests use
/// writes the markers but does not list aborted transactions in its fetch answers (which is
/// what consumers, weir's and librdkafka's, go by), so this reads the markers directly.
async fn committed_by_markers(bootstrap: &str, topic: &str) -> Vec<String> {
    use weir_kafka::cluster::{ClientConfig, Cluster};
    use weir_kafka::fetch::FetchSettings;
    use weir_kafka::offsets::TopicPartition;
    let cfg = ClientConfig::new(bootstrap, "weir-test-oracle", Duration::from_secs(10)).unwrap();
    let mut c = Cluster::connect(cfg).await.unwrap();
    let meta = c.metadata(Some(&[topic.to_string()])).await.unwrap();
    let settings = FetchSettings {
        read_committed: false,
        max_wait: Duration::from_millis(20),
        partition_max_bytes: 1 << 20,
    };
    let mut out = Vec::new();
    for (partition, leader) in &meta[topic].partitions {
        let tp = TopicPartition {
            topic: topic.to_string(),
            partition: *partition,
        };
        let mut open: std::collections::HashMap<i64, Vec<String>> = Default::default();
        let mut next = 0;
        loop {
            let parts = [(tp.clone(), next)].into_iter().collect();
            let raw = c.fetch_raw(*leader, &parts, settings).await.unwrap();
            let p = &raw[0];
            if p.batches.is_empty() {
                break;
            }
            for batch in &p.batches {
                let first = &batch[0];
                next = batch.last().unwrap().offset + 1;
                let values = batch
                    .iter()
                    .filter(|r| r.offset >= next - batch.len() as i64)
                    .map(|r| {
                        String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()
                    });
                if first.control {
                    let key = first.key.as_deref().unwrap_or_default();
                    let commit = key.len() >= 4 && i16::from_be_bytes([key[2], key[3]]) == 1;
                    let done = open.remove(&first.producer_id).unwrap_or_default();
                    if commit {
                        out.extend(done);
                    }
                } else if first.transactional {
                    open.entry(first.producer_id).or_default().extend(values);
                } else {
                    out.extend(values);
                }
            }
            if next >= p.high_watermark {
                break;
            }
        }
    }
    out
}

fn exactly_once_job(bootstrap: &str, input: &str, output: &str, fail_at: &str) -> String {
    // Failing on a write: small flushes, so the transaction it leaves open holds rows that
    // the restore must abort.
    let batch = if fail_at == "write" { 2048 } else { 1 << 20 };
    format!(
        r#"
env {{ job.mode = "STREAMING", checkpoint.interval = 300, read_limit.rows_per_second = 3000 }}
source {{
  Kafka {{
    plugin_output = orders
    bootstrap.servers = "{bootstrap}"
    topic = "{input}"
    start_mode = earliest
    parallelism = 2
    format = json
    schema = {{ fields {{ id = bigint, name = string, amount = int }} }}
    kafka.config = {{ max.partition.fetch.bytes = 4096 }}
  }}
}}
transform {{
  Sql {{
    plugin_input = orders
    plugin_output = doubled
    query = "SELECT id, name, amount * 2 AS amount FROM orders"
  }}
}}
sink {{
  Kafka {{
    plugin_input = doubled
    parallelism = 2
    bootstrap.servers = "{bootstrap}"
    topic = "{output}"
    format = json
    semantics = EXACTLY_ONCE
    partition_key_fields = [id]
    test.fail_once_after_rows = 2000
    test.fail_at = {fail_at}
    kafka.config = {{ batch.size = {batch} }}
  }}
}}
"#
    )
}

/// Runs an exactly-once job through its injected failure and checks with a `read_committed`
/// consumer that every input row came out exactly once.
async fn exactly_once_through(fail_at: &str) {
    let Some(broker) = kafka_broker::KafkaBroker::start() else {
        return;
    };
    broker.create_topic("orders", 4);
    broker.create_topic("doubled", 3);
    for p in 0..4 {
        let part: Vec<String> = rows(0, ROWS).into_iter().skip(p).step_by(4).collect();
        broker.produce("orders", Some(p as u32), &part);
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &rest_support::RESTARTING).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let job = submit(
        &c,
        &base,
        exactly_once_job(&broker.bootstrap(), "orders", "doubled", fail_at),
    )
    .await;
    let bs = broker.bootstrap();
    rest_support::wait_while_running(
        &c,
        &base,
        &job,
        Duration::from_secs(120),
        Duration::from_millis(500),
        || async { committed_by_markers(&bs, "doubled").await.len() >= ROWS },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // A repeat, if any, would land within a few more checkpoints.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = committed_by_markers(&bs, "doubled").await;
    let (_, exceptions) = get(&c, &format!("{base}/jobs/{job}/exceptions")).await;
    let (_, state) = get(&c, &format!("{base}/jobs/{job}")).await;
    rest_support::cancel(&c, &base, &job).await;
    assert!(
        exceptions.to_string().contains("failing the Kafka sink"),
        "the failure was injected: {exceptions} {}",
        state["timestamps"]
    );
    let got = ids(&out);
    let distinct: BTreeSet<i64> = got.iter().copied().collect();
    assert_eq!(got.len(), ROWS, "every row once, none twice");
    assert_eq!(distinct.len(), ROWS);
    assert_eq!(distinct.first(), Some(&0));
    assert_eq!(distinct.last(), Some(&(ROWS as i64 - 1)));
    let row: Value = serde_json::from_str(&out[0]).unwrap();
    let id = row["id"].as_i64().unwrap();
    assert_eq!(row["amount"].as_i64(), Some((id % 97) * 2), "{row}");
    if fail_at == "write" {
        // The aborted attempt's rows are in the log, and no committed reader may count them.
        let all = broker.consume("doubled", "read_uncommitted", ROWS + 1, 30);
        assert!(all.len() > ROWS, "{}", all.len());
    } else {
        // The window between pre-commit and commit: the restore committed what the crashed
        // attempt had pre-committed, and nothing was aborted, so the log holds no other rows.
        let all = broker.consume("doubled", "read_uncommitted", ROWS + 1, 8);
        assert_eq!(all.len(), ROWS);
        // librdkafka's read_committed consumer never sees a row twice. It may see fewer than
        // all: it reads up to the broker's last stable offset, which Nisshi sometimes holds
        // back long after every transaction ended (the marker oracle above is the proof).
        let committed = broker.consume("doubled", "read_committed", ROWS, 10);
        let distinct: BTreeSet<i64> = ids(&committed).into_iter().collect();
        assert_eq!(distinct.len(), committed.len(), "no row twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_kafka_to_kafka_survives_a_failure_after_a_checkpoint() {
    exactly_once_through("write").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_kafka_to_kafka_survives_a_failure_between_pre_commit_and_commit() {
    exactly_once_through("commit").await;
}

fn batch_job(bootstrap: &str, topic: &str, start: &str, out: &std::path::Path) -> String {
    format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{
  Kafka {{
    bootstrap.servers = "{bootstrap}"
    topic = "{topic}"
    consumer.group = "g-{topic}"
    {start}
    format = json
    schema = {{ fields {{ id = bigint, name = string, amount = int }} }}
  }}
}}
sink {{ LocalFile {{ path = "{}", file_format_type = json }} }}
"#,
        out.display()
    )
}

async fn read_ids(bootstrap: &str, topic: &str, start: &str) -> Vec<i64> {
    let dir = tempfile::tempdir().unwrap();
    let report = common::run_text(&batch_job(bootstrap, topic, start, dir.path())).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let mut got = ids(&common::output_lines(dir.path()));
    got.sort_unstable();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_start_mode_starts_where_it_says() {
    let Some(broker) = kafka_broker::KafkaBroker::start() else {
        return;
    };
    let bs = broker.bootstrap();
    broker.create_topic("modes", 1);
    broker.produce("modes", Some(0), &rows(0, 50));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let middle = weir_core::now_ms();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    broker.produce("modes", Some(0), &rows(50, 80));

    let all: Vec<i64> = (0..80).collect();
    assert_eq!(read_ids(&bs, "modes", "start_mode = earliest").await, all);
    assert_eq!(
        read_ids(&bs, "modes", "start_mode = latest").await,
        Vec::<i64>::new()
    );
    assert_eq!(
        read_ids(
            &bs,
            "modes",
            r#"start_mode = specific_offsets, start_mode.offsets = { "modes-0" = 70 }"#
        )
        .await,
        (70..80).collect::<Vec<_>>()
    );
    assert_eq!(
        read_ids(
            &bs,
            "modes",
            &format!("start_mode = timestamp, start_mode.timestamp = {middle}")
        )
        .await,
        (50..80).collect::<Vec<_>>()
    );
    // group_offsets: where the group committed, else the earliest offset.
    broker.client(&["commit", "g-modes", "modes", "0", "75"], "");
    assert_eq!(
        read_ids(&bs, "modes", "start_mode = group_offsets").await,
        (75..80).collect::<Vec<_>>()
    );
    broker.create_topic("fresh", 1);
    broker.produce("fresh", Some(0), &rows(0, 3));
    assert_eq!(
        read_ids(&bs, "fresh", "start_mode = group_offsets").await,
        vec![0, 1, 2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_format_a_topic_list_and_a_pattern() {
    let Some(broker) = kafka_broker::KafkaBroker::start() else {
        return;
    };
    let bs = broker.bootstrap();
    broker.create_topic("logs-a", 2);
    broker.create_topic("logs-b", 1);
    broker.create_topic("other", 1);
    broker.produce("logs-a", None, &["1|alpha".into(), "2|beta".into()]);
    broker.produce("logs-b", None, &["3|gamma".into()]);
    broker.produce("other", None, &["4|delta".into()]);
    for topic in ["logs-a,logs-b", "logs-.*"] {
        let dir = tempfile::tempdir().unwrap();
        let pattern = topic.contains('*');
        let text = format!(
            r#"env {{ job.mode = "BATCH" }}
source {{ Kafka {{ bootstrap.servers = "{bs}", topic = "{topic}", pattern = {pattern},
  start_mode = earliest, format = text, field_delimiter = "|",
  schema = {{ fields {{ id = int, word = string }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = text, field_delimiter = "," }} }}"#,
            dir.path().display()
        );
        let report = common::run_text(&text).await;
        assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
        let mut lines = common::output_lines(dir.path());
        lines.sort();
        assert_eq!(lines, vec!["1,alpha", "2,beta", "3,gamma"], "{topic}");
    }
}

/// The `Source__Kafka.numRecordsInErrors` sum over `job`'s source subtasks.
async fn source_errors(c: &reqwest::Client, base: &str, job: &str) -> i64 {
    let (_, j) = get(c, &format!("{base}/jobs/{job}")).await;
    let vertex = j["vertices"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, m) = get(
        c,
        &format!(
            "{base}/jobs/{job}/vertices/{vertex}/subtasks/metrics?get=Source__Kafka.numRecordsInErrors&agg=sum"
        ),
    )
    .await;
    m[0]["sum"].as_f64().unwrap_or(-1.0) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_fail_the_job_or_are_skipped_and_counted() {
    let Some(broker) = kafka_broker::KafkaBroker::start() else {
        return;
    };
    let bs = broker.bootstrap();
    broker.create_topic("dirty", 1);
    let mut values = rows(0, 10);
    values.insert(3, "not json at all".into());
    values.insert(7, r#"{"id":"seven","name":"x"}"#.into());
    broker.produce("dirty", Some(0), &values);
    let job = |how: &str, out: &std::path::Path| {
        format!(
            r#"env {{ job.mode = "STREAMING", checkpoint.interval = 500 }}
source {{ Kafka {{ bootstrap.servers = "{bs}", topic = dirty, start_mode = earliest,
  format = json, format_error_handle_way = {how},
  schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = json }} }}"#,
            out.display()
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &["restart-strategy.type=none"]).await;
    let base = format!("http://{}", cluster.address);
    let c = client();

    let out = tempfile::tempdir().unwrap();
    let failing = submit(&c, &base, job("fail", out.path())).await;
    let v = rest_support::wait_for(&c, &format!("{base}/jobs/{failing}"), |v| {
        v["state"] == "FAILED"
    })
    .await;
    let (_, exceptions) = get(&c, &format!("{base}/jobs/{failing}/exceptions")).await;
    let text = exceptions.to_string();
    assert!(
        text.contains("format_error_handle_way") && text.contains("not a JSON object"),
        "{v} {text}"
    );

    let out = tempfile::tempdir().unwrap();
    let skipping = submit(&c, &base, job("skip", out.path())).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let errors = source_errors(&c, &base, &skipping).await;
        if errors == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "numRecordsInErrors = {errors}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The good rows are written once the checkpoint after them completes.
    let deadline = Instant::now() + Duration::from_secs(30);
    while ids(&common::output_lines(out.path())).len() < 10 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            common::output_lines(out.path())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut got = ids(&common::output_lines(out.path()));
    got.sort_unstable();
    assert_eq!(got, (0..10).collect::<Vec<i64>>());
    rest_support::cancel(&c, &base, &skipping).await;
}

/// Partition discovery: the broker the tests use cannot add partitions to a topic
/// (CreatePartitions is not implemented), so new partitions arrive as a new topic matching
/// the pattern; weir takes both kinds through the same discovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_appearing_while_the_job_runs_are_read_and_offsets_reach_the_group() {
    let Some(broker) = kafka_broker::KafkaBroker::start() else {
        return;
    };
    let bs = broker.bootstrap();
    broker.create_topic("growing-a", 1);
    broker.create_topic("copied", 1);
    broker.produce("growing-a", Some(0), &rows(0, 5));
    let text = format!(
        r#"env {{ job.mode = "STREAMING", checkpoint.interval = 300 }}
source {{ Kafka {{ bootstrap.servers = "{bs}", topic = "growing-.*", pattern = true,
  start_mode = earliest, consumer.group = watchers, partition-discovery.interval-millis = 200,
  parallelism = 2 }} }}
sink {{ Kafka {{ bootstrap.servers = "{bs}", topic = copied, format = text, semantics = AT_LEAST_ONCE }} }}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let job = submit(&c, &base, text).await;
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = broker.consume("copied", "read_uncommitted", n, 2);
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{} of {n}: {got:?}", got.len());
        }
    };
    wait_for(5);
    broker.create_topic("growing-b", 2);
    broker.produce("growing-b", Some(0), &rows(5, 8));
    broker.produce("growing-b", Some(1), &rows(8, 10));
    // No schema: each message is one `content` string, written back as it came.
    let mut seen = ids(&wait_for(10));
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<i64>>());
    // Offsets reach the group once checkpoints complete.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = broker.client(&["offsets", "watchers", "growing-a", "1"], "");
        let b = broker.client(&["offsets", "watchers", "growing-b", "2"], "");
        if a.trim() == "0 5" && b.lines().collect::<Vec<_>>() == vec!["0 3", "1 2"] {
            break;
        }
        assert!(Instant::now() < deadline, "{a} {b}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    rest_support::cancel(&c, &base, &job).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_brokers_topics_and_options_are_refused_with_what_to_fix() {
    let Some(broker) = kafka_broker::KafkaBroker::start() else {
        return;
    };
    let bs = broker.bootstrap();
    broker.create_topic("exists", 1);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let closed_addr = format!("127.0.0.1:{closed}");
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let cases = [
        (
            format!("source {{ Kafka {{ bootstrap.servers = \"127.0.0.1:{closed}\", topic = exists }} }} sink {{ Console {{}} }}"),
            vec!["Kafka source", "cannot connect", closed_addr.as_str()],
        ),
        (
            format!("source {{ Kafka {{ bootstrap.servers = \"{bs}\", topic = missing }} }} sink {{ Console {{}} }}"),
            vec!["Kafka source", "topic 'missing' does not exist"],
        ),
        (
            format!("source {{ FakeSource {{ row.num = 1, schema = {{ fields {{ a = int }} }} }} }} sink {{ Kafka {{ bootstrap.servers = \"{bs}\", topic = nowhere }} }}"),
            vec!["Kafka sink", "topic 'nowhere' does not exist"],
        ),
        (
            format!("source {{ Kafka {{ bootstrap.servers = \"{bs}\", topic = exists, start_mode = specific_offsets }} }} sink {{ Console {{}} }}"),
            vec!["start_mode.offsets"],
        ),
        (
            format!("source {{ FakeSource {{ row.num = 1, schema = {{ fields {{ a = int }} }} }} }} sink {{ Kafka {{ bootstrap.servers = \"{bs}\", topic = exists, partition_key_fields = [b] }} }}"),
            vec!["partition_key_fields", "'b'"],
        ),
    ];
    for (text, wanted) in &cases {
        let errors = common::load(&format!(
            "env {{ job.mode = BATCH }}\n{}",
            text.replace("} sink", "}\nsink")
        ))
        .err()
        .unwrap_or_else(|| panic!("{text} should be refused"))
        .to_string();
        for w in wanted {
            assert!(errors.contains(w), "{text}: '{w}' missing from {errors}");
        }
    }
    // Through REST: a 400 that says the same, and the cluster stays up.
    let r = c
        .post(format!("{base}/jobs"))
        .body(format!(
            "env {{ job.mode = BATCH }}\n{}",
            cases[1].0.replace("} sink", "}\nsink")
        ))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("topic 'missing' does not exist"), "{body}");
    // The cluster is still up and serves.
    let (status, _) = get(&c, &format!("{base}/overview")).await;
    assert_eq!(status, 200);
}
