//! Shared by the REST tests: an in-process mini cluster on an ephemeral port, an HTTP client,
//! and Flink's response schemas from `rest_api_v1.snapshot`, made strict.

#![allow(dead_code)]

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use weir::cluster::{ClusterDirs, MiniCluster};
use weir::config::ClusterConfig;

/// Starts a mini cluster whose files live under `dir`, on an ephemeral port.
pub async fn start_cluster(dir: &Path, extra: &[&str]) -> MiniCluster {
    let mut opts = vec![
        "rest.port=0".to_string(),
        "metrics.reporter.prom.port=0".to_string(),
        "seatunnel.engine.http.port=0".to_string(),
        "seatunnel.engine.rest-v1.port=0".to_string(),
    ];
    // The tests' job files read and write beside the data directory (often its parent's
    // tempdir): allowed, unless the test sets the sandbox itself.
    if !extra
        .iter()
        .any(|e| e.starts_with("weir.sandbox.allowed-paths="))
    {
        opts.push(format!(
            "weir.sandbox.allowed-paths={}",
            dir.parent().unwrap_or(dir).display()
        ));
    }
    // Their object stores run on loopback, on ports picked at run time.
    if !extra
        .iter()
        .any(|e| e.starts_with("weir.sandbox.allowed-endpoints="))
    {
        opts.push("weir.sandbox.allowed-endpoints=http://127.0.0.1".to_string());
    }
    opts.extend(extra.iter().map(|s| s.to_string()));
    let config = ClusterConfig::load(None, &opts).expect("config");
    let dirs = ClusterDirs::under(dir.to_path_buf(), &config);
    MiniCluster::start(config, dirs)
        .await
        .expect("cluster starts")
}

/// The restart strategy of the tests that inject a failure: three restarts, 100 ms apart.
pub const RESTARTING: [&str; 3] = [
    "restart-strategy.type=fixed-delay",
    "restart-strategy.fixed-delay.attempts=3",
    "restart-strategy.fixed-delay.delay=100 ms",
];

/// Polls `done` every `every` until it holds. The job failing for good, or `within` passing
/// first, is an error carrying the job's details and exceptions.
pub async fn wait_while_running<F, Fut>(
    client: &reqwest::Client,
    base: &str,
    job: &str,
    within: Duration,
    every: Duration,
    mut done: F,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    while !done().await {
        let (_, v) = get(client, &format!("{base}/jobs/{job}")).await;
        if std::time::Instant::now() >= deadline || v["state"] == "FAILED" {
            let (_, exceptions) = get(client, &format!("{base}/jobs/{job}/exceptions")).await;
            return Err(format!("the job: {v}; its exceptions: {exceptions}"));
        }
        tokio::time::sleep(every).await;
    }
    Ok(())
}

pub fn client() -> reqwest::Client {
    weir::cli::client::http_client_builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// Fields Flink leaves out when they have no value (NON_NULL), so they are not required.
const OPTIONAL: &[&str] = &[
    "attempt-number",
    "other-concurrent-attempts",
    "inputs",
    "local_strategy",
    "caching",
    "failure-cause",
    "taskName",
    "endpoint",
    "taskManagerId",
    "description",
    "stream-graph",
    "optimizer_properties",
    "job-execution-result",
];

/// Fields Flink sends as JSON null when they have no value (seen in the captured responses:
/// `"savepointFormat": null` on checkpoints, `"latest": {"savepoint": null, …}`).
const NULLABLE: &[&str] = &[
    "savepointFormat",
    "completed",
    "savepoint",
    "failed",
    "restored",
    "operation",
];

/// Flink's response schemas by (method, url template), made strict: every declared property is
/// required (except NON_NULL ones), `any` accepts anything, and references are inlined.
pub struct Schemas {
    by_call: HashMap<(String, String), Value>,
}

impl Schemas {
    pub fn load() -> Schemas {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/flink/rest_api_v1.snapshot");
        let text = std::fs::read_to_string(&path).expect("rest_api_v1.snapshot is in shared/");
        let doc: Value = serde_json::from_str(&text).expect("snapshot is JSON");
        let calls = doc["calls"].as_array().expect("calls").clone();
        let mut defs = HashMap::new();
        for c in &calls {
            collect_ids(&c["response"], &mut defs);
        }
        let mut by_call = HashMap::new();
        for c in &calls {
            let method = c["method"].as_str().unwrap_or("").to_string();
            let url = c["url"].as_str().unwrap_or("").to_string();
            by_call.insert((method, url), strict(&c["response"], &defs, 0));
        }
        Schemas { by_call }
    }

    /// Validates `body` against the response schema of `method template`.
    pub fn check(&self, method: &str, template: &str, body: &Value) {
        let schema = self
            .by_call
            .get(&(method.to_string(), template.to_string()))
            .unwrap_or_else(|| panic!("no schema for {method} {template} in the snapshot"));
        let validator = jsonschema::validator_for(schema).expect("schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {template} does not match Flink's schema:\n  {}\nbody: {}",
            errors.join("\n  "),
            serde_json::to_string(body)
                .unwrap_or_default()
                .chars()
                .take(2000)
                .collect::<String>()
        );
    }
}

fn collect_ids(v: &Value, defs: &mut HashMap<String, Value>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(id)) = m.get("id") {
                if m.contains_key("properties")
                    || m.contains_key("items")
                    || m.contains_key("additionalProperties")
                {
                    defs.entry(id.clone()).or_insert_with(|| v.clone());
                }
            }
            for x in m.values() {
                collect_ids(x, defs);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_ids(x, defs)),
        _ => {}
    }
}

fn strict(v: &Value, defs: &HashMap<String, Value>, depth: usize) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    if let Some(Value::String(r)) = m.get("$ref") {
        return match defs.get(r) {
            Some(d) if depth < 6 => strict(d, defs, depth + 1),
            _ => json!({}),
        };
    }
    let mut out = Map::new();
    for (k, x) in m {
        match k.as_str() {
            // Draft-3 leftovers: `id` as a URN, `required: true` on properties, `type: any`.
            "id" | "required" => {}
            "type" if x == "any" => {}
            "properties" => {
                let props: Map<String, Value> = x
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(pk, pv)| {
                                let schema = strict(pv, defs, depth + 1);
                                let schema = if NULLABLE.contains(&pk.as_str()) {
                                    json!({"anyOf": [schema, {"type": "null"}]})
                                } else {
                                    schema
                                };
                                (pk.clone(), schema)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let required: Vec<Value> = props
                    .keys()
                    .filter(|k| !OPTIONAL.contains(&k.as_str()))
                    .map(|k| Value::String(k.clone()))
                    .collect();
                out.insert("properties".into(), Value::Object(props));
                out.insert("required".into(), Value::Array(required));
            }
            "items" | "additionalProperties" => {
                out.insert(k.clone(), strict(x, defs, depth + 1));
            }
            _ => {
                out.insert(k.clone(), x.clone());
            }
        }
    }
    Value::Object(out)
}

/// Submits `pipeline` with `POST /jobs` and returns the new job's id.
pub async fn submit(client: &reqwest::Client, base: &str, pipeline: impl Into<String>) -> String {
    let resp = client
        .post(format!("{base}/jobs"))
        .body(pipeline.into())
        .send()
        .await
        .expect("submit");
    assert_eq!(resp.status(), 202, "submission refused");
    let body: Value = resp.json().await.expect("JSON answer");
    body["jobUrl"]
        .as_str()
        .expect("jobUrl")
        .trim_start_matches("/jobs/")
        .to_string()
}

/// Polls `url` until `pred` holds on its JSON (at most 20 s).
pub async fn wait_for(client: &reqwest::Client, url: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let v: Value = client
            .get(url)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .unwrap_or(Value::Null);
        if pred(&v) {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting on {url}; last answer {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the job has completed `n` checkpoints (at most 30 s).
pub async fn wait_for_checkpoints(c: &reqwest::Client, base: &str, job: &str, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = get(c, &format!("{base}/jobs/{job}/checkpoints")).await;
        if v["counts"]["completed"].as_u64().unwrap_or(0) >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {job} completed no checkpoint: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Cancels `job` (`PATCH /jobs/:id?mode=cancel`), checking the 202.
pub async fn cancel(client: &reqwest::Client, base: &str, job: &str) {
    let r = client
        .patch(format!("{base}/jobs/{job}?mode=cancel"))
        .send()
        .await
        .expect("cancel");
    assert_eq!(r.status(), 202, "cancelling {job}");
}

/// Uploads a job file as Flink's CLI uploads a jar (`POST /jars/upload`, part `jarfile`).
pub async fn upload(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    text: String,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::text(text).file_name(name.to_string());
    let form = reqwest::multipart::Form::new().part("jarfile", part);
    client
        .post(format!("{base}/jars/upload"))
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

/// GETs `url`: the status and the JSON body (null when it is not JSON).
pub async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = client.get(url).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Runs the `weir` binary with `args`: its exit code, stdout and stderr.
pub fn weir_cli<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .output()
        .expect("weir runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
