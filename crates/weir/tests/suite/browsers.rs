//! What a web page can do to a cluster it did not come from: by default nothing. A page served
//! from another origin, in headless Chromium, can neither submit a job (by a `text/plain` fetch,
//! a form, or a JSON fetch) nor read the job list; a page from a configured origin can do both.
//! A hostile host name (DNS rebinding) is refused on every listener.

use crate::rest_support::{client, get, start_cluster};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JOB: &str =
    "source { FakeSource { row.num = 1, schema = { fields { a = int } } } }\nsink { Blackhole {} }";

/// The same job in SeaTunnel's JSON form, for the request that needs a preflight.
const JSON_JOB: &str = r#"{"source": [{"plugin_name": "FakeSource", "row.num": 1, "schema": {"fields": {"a": "int"}}}], "sink": [{"plugin_name": "Blackhole"}]}"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The hostile page: every way a page can try to reach `weir`, results in `window.attempts`.
fn page(weir: &str) -> String {
    let job = serde_json::to_string(JOB).unwrap();
    let json_job = serde_json::to_string(JSON_JOB).unwrap();
    format!(
        r#"<!doctype html><html><body>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="{weir}/jobs" target="sink" enctype="text/plain"><input type="hidden" name="x" value="y"></form>
<script>
window.attempts = {{}};
const weir = "{weir}";
const job = {job};
const jsonJob = {json_job};
(async () => {{
  try {{ await fetch(weir + "/jobs", {{ method: "POST", mode: "no-cors", headers: {{ "Content-Type": "text/plain" }}, body: job }}); attempts.plain = "sent"; }}
  catch (e) {{ attempts.plain = "error: " + e; }}
  try {{ const r = await fetch(weir + "/jobs/overview"); attempts.read = "read " + (await r.text()); }}
  catch (e) {{ attempts.read = "blocked: " + e; }}
  try {{ const r = await fetch(weir + "/jobs", {{ method: "POST", headers: {{ "Content-Type": "application/json" }}, body: jsonJob }}); attempts.json = "status " + r.status; }}
  catch (e) {{ attempts.json = "blocked: " + e; }}
  document.getElementById("f").submit();
  await new Promise((r) => setTimeout(r, 1000));
  attempts.done = true;
}})();
</script></body></html>"#
    )
}

/// Serves `html` to every request on `listener`.
fn serve_page_on(listener: tokio::net::TcpListener, html: String) {
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
}

/// Serves `html` on a port of its own; returns the page's origin.
async fn serve_page(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // Another origin than weir's: another host name for the same loopback address.
    let origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    serve_page_on(listener, html);
    origin
}

/// Runs the hostile page in Chromium; what its attempts saw and the responses it got.
async fn visit(page_url: String) -> Value {
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(repo().join("compat/cross_origin.mjs"))
            .arg(page_url)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the driver's JSON")
}

fn tools() -> bool {
    let needed = [
        repo().join("compat/node_modules/playwright-core"),
        PathBuf::from("/usr/bin/chromium"),
    ];
    let missing: Vec<_> = needed.iter().filter(|p| !p.exists()).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("WEIR_REQUIRE_COMPAT").is_none(),
        "browser tools missing: {missing:?}; run scripts/install-compat-tools.sh"
    );
    eprintln!("skipping: browser tools missing: {missing:?}");
    false
}

async fn job_count(base: &str) -> usize {
    let (_, jobs) = get(&client(), &format!("{base}/jobs/overview")).await;
    jobs["jobs"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_from_another_origin_can_neither_submit_nor_read() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();

    // A text/plain body is a job submission for a client that is not a browser...
    let r = c
        .post(format!("{base}/jobs"))
        .header("content-type", "text/plain")
        .body(JOB)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(job_count(&base).await, 1);
    // ...and the very same request from a page elsewhere is refused, saying why.
    let r = c
        .post(format!("{base}/jobs"))
        .header("content-type", "text/plain")
        .header("origin", "http://evil.example")
        .body(JOB)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0]
            .as_str()
            .is_some_and(|m| m.contains("web.access-control-allow-origin")),
        "{body}"
    );

    let origin = serve_page(page(&base)).await;
    let seen = visit(format!("{origin}/")).await;
    let attempts = &seen["attempts"];
    assert!(
        attempts["read"]
            .as_str()
            .is_some_and(|r| r.starts_with("blocked")),
        "the page could read the job list: {seen}"
    );
    assert!(
        attempts["json"]
            .as_str()
            .is_some_and(|r| r.starts_with("blocked")),
        "the JSON submission got through: {seen}"
    );
    let posts: Vec<i64> = seen["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["url"].as_str().is_some_and(|u| u.ends_with("/jobs")))
        .filter_map(|r| r["status"].as_i64())
        .collect();
    assert!(
        posts.len() >= 2 && posts.iter().all(|s| *s == 403),
        "the fetch and the form were refused: {seen}"
    );
    assert_eq!(job_count(&base).await, 1, "no job came from the page");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_from_a_configured_origin_may_read_and_submit() {
    if !tools() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    // The page's origin is known before the cluster starts: it is configured.
    let dir = tempfile::tempdir().unwrap();
    let allowed = format!("web.access-control-allow-origin=http://localhost:{port}");
    let cluster = start_cluster(dir.path(), &[allowed.as_str()]).await;
    let base = cluster.url();
    let html = page(&base);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    serve_page_on(listener, html);
    let seen = visit(format!("http://localhost:{port}/")).await;
    let attempts = &seen["attempts"];
    assert!(
        attempts["read"]
            .as_str()
            .is_some_and(|r| r.starts_with("read {")),
        "{seen}"
    );
    assert_eq!(attempts["json"], "status 202", "{seen}");
    assert!(job_count(&base).await >= 2, "the page's submissions ran");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebinding_host_name_is_refused_on_every_listener() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let c = client();
    let mut urls = vec![format!("{}/overview", cluster.url())];
    if let Some(a) = cluster.seatunnel_v2 {
        urls.push(format!("http://{a}/overview"));
    }
    if let Some(a) = cluster.seatunnel_v1 {
        urls.push(format!("http://{a}/hazelcast/rest/maps/overview"));
    }
    assert_eq!(urls.len(), 3);
    for url in &urls {
        let r = c.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let r = c
            .get(url)
            .header("host", "rebind.attacker.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{url}");
        let text = r.text().await.unwrap();
        assert!(text.contains("rest.allowed-hosts"), "{url}: {text}");
        let r = c.get(url).header("host", "localhost").send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
    }
    cluster.stop().await;
    // A name the operator lists is answered.
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &["rest.allowed-hosts=weir.internal"]).await;
    let r = c
        .get(format!("{}/overview", cluster.url()))
        .header("host", "weir.internal:8081")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    cluster.stop().await;
}
