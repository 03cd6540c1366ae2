//! What weir adds on the REST port for its dashboard, against a real mini cluster: the typed
//! check of an uploaded job file (each problem at its line and option, or the plan), the
//! SeaTunnel view of a job (the same answer as SeaTunnel's own `/job-info`, with per-table
//! counts), and gzip for clients that ask for it.

use crate::rest_support;

use rest_support::{client, get, start_cluster, upload, wait_for};
use serde_json::{json, Value};
use std::io::Read;

/// A multi-table batch job: 2 subtasks × 16 orders and 2 × 17 users, into a sink that only
/// counts them.
const TWO_TABLES: &str = r#"
env { job.mode = "BATCH", parallelism = 2 }
source {
  FakeSource {
    tables_configs = [
      { row.num = 16, schema = { table = "shop.orders", fields { id = bigint, amount = double } } },
      { row.num = 17, schema = { table = "shop.users", fields { name = string, age = tinyint } } }
    ]
  }
}
sink { Assert { rules = { row_rules = [{ rule_type = MIN_ROW, rule_value = 1 }] } } }
"#;

/// Two mistakes, each on a line of its own: an unknown plugin (line 4) and an unknown option
/// of a known one (line 8).
const MISTAKES: &str = "env { job.mode = \"BATCH\" }
source {
  FakeSource { row.num = 3, schema = { fields { id = bigint } } }
  FakeSorce { row.num = 3 }
}
sink {
  Console {
    no_such_option = 1
  }
}
";

async fn check(c: &reqwest::Client, base: &str, jar: &str, body: Value) -> Value {
    let r = c
        .post(format!("{base}/jars/{jar}/check"))
        .json(&body)
        .send()
        .await
        .expect("check");
    assert_eq!(r.status(), 200, "a check answers 200 whatever it finds");
    r.json().await.expect("JSON")
}

async fn uploaded(c: &reqwest::Client, base: &str, name: &str, text: &str) -> String {
    let up: Value = upload(c, base, name, text.to_string())
        .await
        .json()
        .await
        .expect("upload answer");
    let file = up["filename"].as_str().expect("filename");
    file.rsplit('/').next().unwrap_or(file).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_answers_each_problem_at_its_line_and_option() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(&dir.path().join("data"), &[]).await;
    let (base, c) = (cluster.url(), client());

    let jar = uploaded(&c, &base, "mistakes.conf", MISTAKES).await;
    let answer = check(&c, &base, &jar, json!({})).await;
    assert!(answer.get("plan").is_none(), "{answer}");
    let problems = answer["problems"].as_array().expect("problems");
    let plugin = problems
        .iter()
        .find(|p| p["plugin"] == "FakeSorce")
        .unwrap_or_else(|| panic!("the unknown plugin is a problem: {answer}"));
    assert_eq!(plugin["line"], 4, "{plugin}");
    assert_eq!(plugin["block"], "source", "{plugin}");
    assert_eq!(plugin["index"], 1, "{plugin}");
    assert!(
        plugin["hint"].as_str().unwrap_or("").contains("FakeSource"),
        "the hint names the plugin meant: {plugin}"
    );
    // The same problems are what /plan answers as one 400 message, as Flink's clients expect.
    let plan = c
        .post(format!("{base}/jars/{jar}/plan"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(plan.status(), 400);
    let plan: Value = plan.json().await.unwrap();
    assert_eq!(plan["errors"][0], answer["message"], "{plan}");

    // A knob of the request that is out of range is a problem at its option.
    let fine = uploaded(&c, &base, "fine.conf", TWO_TABLES).await;
    let answer = check(&c, &base, &fine, json!({"parallelism": 100_000})).await;
    assert_eq!(answer["problems"][0]["option"], "parallelism", "{answer}");

    // Without mistakes: no problems, and the plan of what would run.
    let answer = check(&c, &base, &fine, json!({})).await;
    assert_eq!(answer["problems"], json!([]), "{answer}");
    assert!(answer.get("message").is_none(), "{answer}");
    let nodes = answer["plan"]["nodes"].as_array().expect("plan nodes");
    assert!(nodes.len() >= 2, "{answer}");
    // Checking ran nothing.
    let (_, jobs) = get(&c, &format!("{base}/jobs")).await;
    assert_eq!(jobs["jobs"], json!([]), "{jobs}");

    // An unknown upload is a 404, as for /plan.
    let r = c
        .post(format!("{base}/jars/nothing_here.conf/check"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seatunnel_view_on_the_rest_port_is_seatunnels_job_info() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(&dir.path().join("data"), &[]).await;
    let (base, c) = (cluster.url(), client());
    let v2 = format!("http://{}", cluster.seatunnel_v2.expect("v2 listens"));
    let job = rest_support::submit(&c, &base, TWO_TABLES).await;
    wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
        v["status"] == "FINISHED"
    })
    .await;
    let view = wait_for(&c, &format!("{base}/jobs/{job}/seatunnel"), |v| {
        v["metrics"]["SinkWriteCount"] == "66"
    })
    .await;
    let m = &view["metrics"];
    assert_eq!(
        m["TableSourceReceivedCount"],
        json!({"shop.orders": "32", "shop.users": "34"}),
        "{m}"
    );
    assert_eq!(
        m["TableSinkWriteCount"],
        json!({"shop.orders": "32", "shop.users": "34"}),
        "{m}"
    );
    let tables: Vec<&Value> = view["jobDag"]["vertexInfoMap"]
        .as_array()
        .expect("vertices")
        .iter()
        .flat_map(|v| v["tablePaths"].as_array().into_iter().flatten())
        .collect();
    assert!(tables.contains(&&json!("shop.orders")), "{view}");
    assert!(tables.contains(&&json!("shop.users")), "{view}");
    // SeaTunnel's own port says the same of the same job.
    let id = view["jobId"].as_str().expect("SeaTunnel id");
    let (status, info) = get(&c, &format!("{v2}/job-info/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(info, view);
    // An unknown job is Flink's 404.
    let (status, body) = get(&c, &format!("{base}/jobs/{}/seatunnel", "0".repeat(32))).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_gzipped_for_clients_that_ask() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(&dir.path().join("data"), &[]).await;
    let (base, c) = (cluster.url(), client());
    let url = format!("{base}/jobmanager/config");
    let plain = c.get(&url).send().await.unwrap();
    assert_eq!(plain.headers().get("content-encoding"), None);
    let plain: Value = plain.json().await.unwrap();
    let zipped = c
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.status(), 200);
    assert_eq!(
        zipped
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let bytes = zipped.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .expect("a gzip stream");
    assert!(
        bytes.len() * 2 < text.len(),
        "{} → {}",
        text.len(),
        bytes.len()
    );
    let decoded: Value = serde_json::from_str(&text).expect("JSON inside");
    assert_eq!(decoded, plain);
    // Small answers are not worth it.
    let small = c
        .get(format!("{base}/config"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(small.headers().get("content-encoding"), None);
}
