//! Authentication on every listener of a real cluster (issue 16): the Flink API, SeaTunnel's
//! v1 and v2 and the Prometheus port each answer 401 without credentials, 403 to a read-only
//! credential that tries a change, and work for an operator; SeaTunnel's basic-auth keys work;
//! secrets are not shown by the configuration endpoints; `weir` refuses to serve a
//! non-loopback address without credentials; and weir's CLI sends its token.

use crate::rest_support;

use rest_support::{client, weir_cli};
use serde_json::{json, Value};
use std::path::Path;
use weir::cluster::{ClusterDirs, MiniCluster};
use weir::config::ClusterConfig;

const OPERATOR: &str = "op-3f9a1c7e5b2d4a6f8e0c";
const READER: &str = "ro-8b1d3f5a7c9e0b2d4f6a";

/// Starts a cluster from a YAML config file (secrets belong in files, not on `-D`) with a
/// credentials file beside it.
async fn secured_cluster(dir: &Path, yaml_extra: &str) -> MiniCluster {
    let creds = dir.join("credentials");
    std::fs::write(
        &creds,
        format!("# role  scheme  secret\noperator  token  {OPERATOR}\nread-only token  {READER}\nread-only basic viewer:look-only\n"),
    )
    .unwrap();
    let conf = dir.join("config.yaml");
    std::fs::write(
        &conf,
        format!(
            "rest.auth.credentials-file: {}\nmetrics.reporter.prom.auth.enabled: true\n{yaml_extra}",
            creds.display()
        ),
    )
    .unwrap();
    let opts: Vec<String> = [
        "rest.port=0",
        "metrics.reporter.prom.port=0",
        "seatunnel.engine.http.port=0",
        "seatunnel.engine.rest-v1.port=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let config = ClusterConfig::load(Some(&conf), &opts).expect("config");
    let dirs = ClusterDirs::under(dir.to_path_buf(), &config);
    MiniCluster::start(config, dirs)
        .await
        .expect("cluster starts")
}

fn job_json() -> Value {
    json!({
        "env": {"job.mode": "BATCH"},
        "source": [{"plugin_name": "FakeSource", "plugin_output": "f", "row.num": 5,
                    "schema": {"fields": {"a": "bigint"}}}],
        "sink": [{"plugin_name": "Blackhole"}]
    })
}

/// One state-changing call and one read on a listener.
struct Listener {
    name: &'static str,
    read: String,
    change: String,
    change_body: String,
    /// The status a successful change answers.
    changed: u16,
}

async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&str>,
    auth: Option<&str>,
) -> reqwest::Response {
    let mut r = c.request(method, url);
    if let Some(b) = body {
        r = r.body(b.to_string());
    }
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    r.send().await.expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listener_wants_credentials_and_a_role_that_may_do_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = secured_cluster(dir.path(), "").await;
    let c = client();
    let flink = cluster.url();
    let v1 = format!(
        "http://{}/hazelcast/rest/maps",
        cluster.seatunnel_v1.unwrap()
    );
    let v2 = format!("http://{}", cluster.seatunnel_v2.unwrap());
    let prom = format!("http://{}/metrics", cluster.prometheus.unwrap());
    let hocon = "env { job.mode = BATCH }\nsource { FakeSource { plugin_output = f, row.num = 5, schema = { fields { a = bigint } } } }\nsink { Blackhole {} }";
    let listeners = [
        Listener {
            name: "flink",
            read: format!("{flink}/overview"),
            change: format!("{flink}/jobs"),
            change_body: hocon.into(),
            changed: 202,
        },
        Listener {
            name: "seatunnel v1",
            read: format!("{v1}/overview"),
            change: format!("{v1}/submit-job?jobName=v1"),
            change_body: job_json().to_string(),
            changed: 200,
        },
        Listener {
            name: "seatunnel v2",
            read: format!("{v2}/overview"),
            change: format!("{v2}/submit-job?jobName=v2"),
            change_body: job_json().to_string(),
            changed: 200,
        },
    ];
    let operator = format!("Bearer {OPERATOR}");
    let reader = format!("Bearer {READER}");
    for l in &listeners {
        // Nothing, or a wrong token: 401 with a challenge, in the listener's error style.
        for auth in [None, Some("Bearer op-3f9a1c7e5b2d4a6f8e0d")] {
            let r = call(&c, reqwest::Method::GET, &l.read, None, auth).await;
            assert_eq!(r.status(), 401, "{}: GET without credentials", l.name);
            let challenges: Vec<_> = r.headers().get_all("www-authenticate").iter().collect();
            assert!(
                challenges
                    .iter()
                    .any(|h| h.to_str().unwrap().starts_with("Bearer"))
                    && challenges
                        .iter()
                        .any(|h| h.to_str().unwrap().starts_with("Basic")),
                "{}: {challenges:?}",
                l.name
            );
            let body: Value = r.json().await.unwrap();
            let message = if l.name == "flink" {
                body["errors"][0].as_str()
            } else {
                assert_eq!(body["status"], "fail", "{}: {body}", l.name);
                body["message"].as_str()
            };
            assert!(message.is_some_and(|m| !m.is_empty()), "{}: {body}", l.name);
            let r = call(
                &c,
                reqwest::Method::POST,
                &l.change,
                Some(&l.change_body),
                auth,
            )
            .await;
            assert_eq!(r.status(), 401, "{}: a change without credentials", l.name);
        }
        // Read-only reads, and may not change anything.
        for auth in [reader.as_str(), "Basic dmlld2VyOmxvb2stb25seQ=="] {
            let r = call(&c, reqwest::Method::GET, &l.read, None, Some(auth)).await;
            assert_eq!(r.status(), 200, "{}: a read-only GET", l.name);
            let r = call(
                &c,
                reqwest::Method::POST,
                &l.change,
                Some(&l.change_body),
                Some(auth),
            )
            .await;
            assert_eq!(r.status(), 403, "{}: a read-only change", l.name);
            let text = r.text().await.unwrap();
            assert!(text.contains("operator"), "{}: {text}", l.name);
        }
        // The operator may.
        let r = call(
            &c,
            reqwest::Method::POST,
            &l.change,
            Some(&l.change_body),
            Some(&operator),
        )
        .await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(
            status, l.changed,
            "{}: the operator's change: {body}",
            l.name
        );
    }
    // The three submissions really ran (and nothing refused ran).
    let r = call(
        &c,
        reqwest::Method::GET,
        &format!("{flink}/jobs/overview"),
        None,
        Some(&reader),
    )
    .await;
    let jobs: Value = r.json().await.unwrap();
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(3), "{jobs}");

    // Prometheus: only with credentials, any role.
    let r = call(&c, reqwest::Method::GET, &prom, None, None).await;
    assert_eq!(r.status(), 401);
    let r = call(&c, reqwest::Method::GET, &prom, None, Some(&reader)).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("# TYPE"));

    // A CORS preflight carries no credentials and is not refused for it (origin rules apply).
    let r = c
        .request(reqwest::Method::OPTIONS, format!("{flink}/jobs"))
        .header("origin", "http://127.0.0.1:9")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 401);

    // weir's CLI sends WEIR_REST_TOKEN, and says what to do without one.
    let address = flink.trim_start_matches("http://").to_string();
    let (code, _, err) = tokio::task::spawn_blocking({
        let address = address.clone();
        move || weir_cli(&["list", "-a", "-m", &address])
    })
    .await
    .unwrap();
    assert_ne!(code, 0);
    assert!(
        err.contains("401") && err.contains("WEIR_REST_TOKEN"),
        "{err}"
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(["list", "-a", "-m", &address])
            .env("WEIR_REST_TOKEN", READER)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("FINISHED") || text.contains("RUNNING"),
        "{text}"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seatunnels_basic_auth_keys_guard_the_cluster_and_no_endpoint_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = secured_cluster(
        dir.path(),
        "seatunnel.engine.http.enable-basic-auth: true\nseatunnel.engine.http.basic-auth-username: st\nseatunnel.engine.http.basic-auth-password: hunter2-seatunnel\n",
    )
    .await;
    let c = client();
    let v2 = format!("http://{}", cluster.seatunnel_v2.unwrap());
    let basic = "Basic c3Q6aHVudGVyMi1zZWF0dW5uZWw="; // st:hunter2-seatunnel
    let r = call(
        &c,
        reqwest::Method::POST,
        &format!("{v2}/submit-job"),
        Some(&job_json().to_string()),
        Some(basic),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = call(
        &c,
        reqwest::Method::GET,
        &format!("{v2}/overview"),
        None,
        Some("Basic c3Q6d3Jvbmc="),
    )
    .await;
    assert_eq!(r.status(), 401);

    let r = call(
        &c,
        reqwest::Method::GET,
        &format!("{}/jobmanager/config", cluster.url()),
        None,
        Some(&format!("Bearer {READER}")),
    )
    .await;
    let text = r.text().await.unwrap();
    assert!(!text.contains("hunter2"), "the password is shown: {text}");
    let entries: Value = serde_json::from_str(&text).unwrap();
    let shown = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "seatunnel.engine.http.basic-auth-password")
        .expect("the key is listed");
    assert_eq!(shown["value"], "******");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_on_a_non_loopback_address_without_credentials_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let open = [
        "rest.bind-address=0.0.0.0",
        "rest.port=0",
        "metrics.reporters=",
        "seatunnel.engine.http.enable-http=false",
        "seatunnel.engine.rest-v1.enabled=false",
    ];
    let opts: Vec<String> = open.iter().map(|s| s.to_string()).collect();
    let config = ClusterConfig::load(None, &opts).unwrap();
    let dirs = ClusterDirs::under(dir.path().to_path_buf(), &config);
    let e = match MiniCluster::start(config, dirs).await {
        Ok(_) => panic!("an open cluster on 0.0.0.0 started"),
        Err(e) => e,
    };
    assert!(
        e.contains("0.0.0.0") && e.contains("rest.auth.credentials-file"),
        "{e}"
    );

    // The same from the command line: a clear message and a failing exit, at once.
    let data = dir.path().join("cli");
    let out = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
            .arg("start")
            .arg("--data-dir")
            .arg(&data)
            .args(["-D", "rest.bind-address=0.0.0.0", "-D", "rest.port=0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("weir start on 0.0.0.0 without credentials kept running");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("allow-unauthenticated"), "{err}");

    // Said explicitly, it starts.
    let mut opts = opts;
    opts.push("rest.auth.allow-unauthenticated=true".into());
    let config = ClusterConfig::load(None, &opts).unwrap();
    let dirs = ClusterDirs::under(dir.path().join("explicit"), &config);
    let cluster = MiniCluster::start(config, dirs)
        .await
        .expect("starts when told to");
    cluster.stop().await;
}
