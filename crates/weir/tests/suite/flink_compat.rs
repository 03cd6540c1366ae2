//! The compatibility tier: Flink 2.3.0's own clients against weir. Its web dashboard, served by
//! weir (`web.dashboard.dir`) and driven in headless Chromium by `compat/dashboard.mjs`, visits
//! every page and tab a user reaches and checks what it shows against weir's REST answers; its
//! CLI (`bin/flink` from the same release) lists, savepoints, stops and cancels jobs.
//!
//! The tools come from `scripts/install-compat-tools.sh` (run by the test command) under
//! `target/compat`. Without them the tests say so and pass, unless `WEIR_REQUIRE_COMPAT=1`
//! (set by `scripts/test.sh`, so CI can never skip them silently). Screenshots are kept in
//! `target/compat/artifacts/dashboard`.

use crate::rest_support;

use crate::page_driver::{self, compat_job, repo};
use rest_support::{client, get, start_cluster, submit, wait_for, wait_for_checkpoints};
use std::path::{Path, PathBuf};
use std::process::Command;

fn compat_dir() -> PathBuf {
    std::env::var_os("WEIR_COMPAT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/compat"))
}

/// Whether the tools are installed; without them, fails under `WEIR_REQUIRE_COMPAT=1`.
fn tools_present(what: &[PathBuf]) -> bool {
    let missing: Vec<String> = what
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "compatibility tools missing ({}); run scripts/install-compat-tools.sh",
        missing.join(", ")
    );
    assert!(
        std::env::var("WEIR_REQUIRE_COMPAT").as_deref() != Ok("1"),
        "{msg}"
    );
    eprintln!("skipped: {msg}");
    false
}

/// The jobs a user would have: two checkpointed streaming jobs (one a GROUP BY, so the graph
/// has a hash edge), a finished batch job, a cancelled one and one to cancel from the dashboard.
async fn populate(c: &reqwest::Client, base: &str) -> [String; 5] {
    let groupby = submit(c, base, compat_job("streaming_groupby.conf")).await;
    let console = submit(c, base, compat_job("streaming_console.conf")).await;
    let batch = submit(c, base, compat_job("batch.conf")).await;
    let cancelled = submit(c, base, compat_job("to_cancel.conf")).await;
    let to_cancel = submit(
        c,
        base,
        compat_job("to_cancel.conf").replace("compat-to-cancel", "compat-cancel-in-dashboard"),
    )
    .await;
    wait_for(c, &format!("{base}/jobs/{batch}/status"), |v| {
        v["status"] == "FINISHED"
    })
    .await;
    wait_for(c, &format!("{base}/jobs/{cancelled}/status"), |v| {
        v["status"] == "RUNNING"
    })
    .await;
    c.patch(format!("{base}/jobs/{cancelled}?mode=cancel"))
        .send()
        .await
        .unwrap();
    wait_for(c, &format!("{base}/jobs/{cancelled}/status"), |v| {
        v["status"] == "CANCELED"
    })
    .await;
    wait_for_checkpoints(c, base, &groupby, 2).await;
    wait_for_checkpoints(c, base, &console, 2).await;
    wait_for(c, &format!("{base}/jobs/{to_cancel}/status"), |v| {
        v["status"] == "RUNNING"
    })
    .await;
    [groupby, console, batch, cancelled, to_cancel]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flinks_dashboard_renders_every_page_against_weir() {
    let compat = compat_dir();
    let web = compat.join("web");
    let driver = repo().join("compat/dashboard.mjs");
    if !tools_present(&[
        web.join("index.html"),
        repo().join("compat/node_modules/playwright-core"),
        PathBuf::from("/usr/bin/chromium"),
    ]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dashboard = format!("web.dashboard.dir={}", web.display());
    let cluster = start_cluster(dir.path(), &[dashboard.as_str()]).await;
    let base = cluster.url();
    let c = client();
    let [_, _, _, _, to_cancel] = populate(&c, &base).await;

    let artifacts = compat.join("artifacts/dashboard");
    let _ = std::fs::remove_dir_all(&artifacts);
    // The driver really walked the pages and left its screenshots.
    let report = page_driver::run(
        driver,
        vec![base.clone(), artifacts.display().to_string()],
        &artifacts,
        "Flink's dashboard",
    )
    .await;
    let visited = report["visited"].as_array().unwrap();
    assert!(visited.len() >= 60, "only {} pages visited", visited.len());
    for page in ["overview", "jm-profiler", "tm-thread-dump", "cancel-job"] {
        assert!(
            artifacts.join(format!("{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
    // The dashboard's Cancel Job button cancelled the job for real.
    let (_, status) = get(&c, &format!("{base}/jobs/{to_cancel}/status")).await;
    assert_eq!(status["status"], "CANCELED");
}

/// Runs Flink's CLI against `base` and returns what it printed (failing on a non-zero exit).
fn flink(flink_home: &Path, base: &str, args: &[&str]) -> String {
    let address = base.trim_start_matches("http://");
    let (verb, rest) = args.split_first().expect("a verb");
    let out = Command::new(flink_home.join("bin/flink"))
        .env("FLINK_HOME", flink_home)
        .env("FLINK_CONF_DIR", flink_home.join("conf"))
        .arg(verb)
        .args(["-m", address])
        .args(rest)
        .output()
        .expect("bin/flink runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "flink {}: {text}", args.join(" "));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flinks_cli_lists_savepoints_stops_and_cancels_weirs_jobs() {
    let home = compat_dir().join("flink-home");
    if !tools_present(&[home.join("bin/flink"), home.join("lib")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &[]).await;
    let base = cluster.url();
    let c = client();
    let [groupby, console, batch, cancelled, to_cancel] = populate(&c, &base).await;

    let cli = |args: Vec<String>| {
        let (home, base) = (home.clone(), base.clone());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            flink(&home, &base, &args)
        })
    };
    let all = cli(vec!["list".into(), "-a".into()]).await.unwrap();
    for (job, state) in [
        (&groupby, "RUNNING"),
        (&console, "RUNNING"),
        (&batch, "FINISHED"),
        (&cancelled, "CANCELED"),
    ] {
        assert!(
            all.lines()
                .any(|l| l.contains(job.as_str()) && l.contains(&format!("({state})"))),
            "flink list -a does not show {job} as {state}:\n{all}"
        );
    }
    let running = cli(vec!["list".into(), "-r".into()]).await.unwrap();
    assert!(running.contains(groupby.as_str()) && !running.contains(batch.as_str()));

    // A savepoint of the GROUP BY job: the CLI prints the path, and it holds a savepoint.
    let target = dir.path().join("savepoints");
    let sp = cli(vec![
        "savepoint".into(),
        groupby.clone(),
        target.display().to_string(),
    ])
    .await
    .unwrap();
    let path = sp
        .lines()
        .find_map(|l| l.strip_prefix("Savepoint completed. Path: "))
        .unwrap_or_else(|| panic!("no savepoint path in:\n{sp}"))
        .trim()
        .trim_start_matches("file:")
        .to_string();
    assert!(
        Path::new(&path).join("_metadata").is_file(),
        "{path} has no _metadata"
    );

    // Stop with a savepoint ends the job (FINISHED, as Flink's stop does).
    let stopped = cli(vec![
        "stop".into(),
        "-p".into(),
        target.display().to_string(),
        console.clone(),
    ])
    .await
    .unwrap();
    assert!(stopped.contains("Savepoint completed. Path: "), "{stopped}");
    wait_for(&c, &format!("{base}/jobs/{console}/status"), |v| {
        v["status"] == "FINISHED"
    })
    .await;

    let cancel = cli(vec!["cancel".into(), to_cancel.clone()]).await.unwrap();
    assert!(
        cancel.contains(&format!("Cancelled job {to_cancel}")),
        "{cancel}"
    );
    wait_for(&c, &format!("{base}/jobs/{to_cancel}/status"), |v| {
        v["status"] == "CANCELED"
    })
    .await;
}

/// Runs Flink's CLI against `base` with `FLINK_REST_CLIENT_HEADERS` set to `headers` (the
/// variable Flink 2.3's RestClusterClient reads: `Name:Value` lines); its exit status and output.
fn flink_with_headers(
    flink_home: &Path,
    base: &str,
    headers: &str,
    args: &[&str],
) -> (bool, String) {
    let address = base.trim_start_matches("http://");
    let (verb, rest) = args.split_first().expect("a verb");
    let out = Command::new(flink_home.join("bin/flink"))
        .env("FLINK_HOME", flink_home)
        .env("FLINK_CONF_DIR", flink_home.join("conf"))
        .env("FLINK_REST_CLIENT_HEADERS", headers)
        .arg(verb)
        .args(["-m", address])
        .args(rest)
        .output()
        .expect("bin/flink runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flinks_cli_sends_weirs_credentials_from_flink_rest_client_headers() {
    let home = compat_dir().join("flink-home");
    if !tools_present(&[home.join("bin/flink"), home.join("lib")]) {
        return;
    }
    const OPERATOR: &str = "flink-cli-operator-7d2e9a4c";
    const READER: &str = "flink-cli-reader-1b8f6e3d0a";
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        format!("operator token {OPERATOR}\nread-only token {READER}\n"),
    )
    .unwrap();
    let conf = dir.path().join("config.yaml");
    std::fs::write(
        &conf,
        format!("rest.auth.credentials-file: {}\n", creds.display()),
    )
    .unwrap();
    let opts: Vec<String> = [
        "rest.port=0",
        "metrics.reporter.prom.port=0",
        "seatunnel.engine.http.enable-http=false",
        "seatunnel.engine.rest-v1.enabled=false",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let config = weir::config::ClusterConfig::load(Some(&conf), &opts).unwrap();
    let dirs = weir::cluster::ClusterDirs::under(dir.path().to_path_buf(), &config);
    let cluster = weir::cluster::MiniCluster::start(config, dirs)
        .await
        .unwrap();
    let base = cluster.url();
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert(
        "authorization",
        format!("Bearer {OPERATOR}").parse().unwrap(),
    );
    let c = weir::cli::client::http_client_builder()
        .default_headers(auth)
        .build()
        .unwrap();
    let job = submit(&c, &base, compat_job("to_cancel.conf")).await;
    wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
        v["status"] == "RUNNING"
    })
    .await;

    let cli = |headers: String, args: Vec<String>| {
        let (home, base) = (home.clone(), base.clone());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            flink_with_headers(&home, &base, &headers, &args)
        })
    };
    // Without credentials Flink's CLI is refused.
    let (ok, text) = cli(String::new(), vec!["list".into()]).await.unwrap();
    assert!(
        !ok && text.contains("Authentication required"),
        "flink list without credentials:\n{text}"
    );
    // A read-only token lists, and may not cancel.
    let reader = format!("Authorization:Bearer {READER}");
    let (ok, text) = cli(reader.clone(), vec!["list".into()]).await.unwrap();
    assert!(
        ok && text.contains(job.as_str()),
        "flink list with a read-only token:\n{text}"
    );
    let (ok, text) = cli(reader, vec!["cancel".into(), job.clone()])
        .await
        .unwrap();
    assert!(
        !ok && text.contains("needs the operator role"),
        "flink cancel with a read-only token:\n{text}"
    );
    // The operator's token (with other headers beside it) cancels.
    // Flink takes the value verbatim after the colon: a space there is refused as a bad value.
    let operator = format!("X-Request-Source:flink-cli\nAuthorization:Bearer {OPERATOR}");
    let (ok, text) = cli(operator, vec!["cancel".into(), job.clone()])
        .await
        .unwrap();
    assert!(
        ok && text.contains(&format!("Cancelled job {job}")),
        "flink cancel as operator:\n{text}"
    );
    wait_for(&c, &format!("{base}/jobs/{job}/status"), |v| {
        v["status"] == "CANCELED"
    })
    .await;
    cluster.stop().await;
}

/// A copy of Flink's conf dir with `extra` lines added to its `config.yaml`.
fn flink_conf_with(flink_home: &Path, dir: &Path, extra: &str) -> PathBuf {
    let conf = dir.to_path_buf();
    std::fs::create_dir_all(&conf).unwrap();
    for entry in std::fs::read_dir(flink_home.join("conf")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), conf.join(entry.file_name())).unwrap();
    }
    let mut yaml = std::fs::read_to_string(conf.join("config.yaml")).unwrap();
    yaml.push('\n');
    yaml.push_str(extra);
    std::fs::write(conf.join("config.yaml"), yaml).unwrap();
    conf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flinks_cli_talks_to_weir_over_mutual_tls() {
    let home = compat_dir().join("flink-home");
    if !tools_present(&[home.join("bin/flink"), home.join("lib")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::rest_tls::make_pki(&dir.path().join("pki"));
    // Flink reads Java keystores: the CA into a truststore, the client's key into a keystore.
    let p = &pki.dir;
    let script = "set -e
keytool -importcert -noprompt -alias weir-ca -file ca.pem -keystore truststore.p12 -storetype PKCS12 -storepass changeit >/dev/null 2>&1
openssl pkcs12 -export -in client.pem -inkey client.key -name client -out client.p12 -passout pass:changeit";
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cluster = crate::rest_tls::tls_cluster(&dir.path().join("cluster"), &pki, true).await;
    // Flink's CLI speaks TLS only to an https:// address: `-m host:port` means plain HTTP.
    let address = cluster.url();
    assert!(address.starts_with("https://"), "{address}");
    // Flink's default cipher suite (TLS_RSA_WITH_AES_128_CBC_SHA) has no forward secrecy and
    // rustls does not offer it: a Flink client names modern ones, as README's TLS section says.
    let trust = format!(
        "security.ssl.algorithms: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\nsecurity.ssl.rest.enabled: true\nsecurity.ssl.rest.truststore: {}\nsecurity.ssl.rest.truststore-password: changeit\nsecurity.ssl.rest.truststore-type: PKCS12\n",
        p.join("truststore.p12").display()
    );
    let mutual = format!(
        "{trust}security.ssl.rest.authentication-enabled: true\nsecurity.ssl.rest.keystore: {}\nsecurity.ssl.rest.keystore-password: changeit\nsecurity.ssl.rest.key-password: changeit\nsecurity.ssl.rest.keystore-type: PKCS12\n",
        p.join("client.p12").display()
    );
    let list = |conf: PathBuf| {
        let (home, address) = (home.clone(), address.clone());
        tokio::task::spawn_blocking(move || {
            let out = Command::new(home.join("bin/flink"))
                .env("FLINK_HOME", &home)
                .env("FLINK_CONF_DIR", conf)
                .args(["list", "-a", "-m", &address])
                .output()
                .expect("bin/flink runs");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.success(), text)
        })
    };
    let (ok, text) = list(flink_conf_with(
        &home,
        &dir.path().join("conf-mutual"),
        &mutual,
    ))
    .await
    .unwrap();
    assert!(
        ok && !text.contains("Exception"),
        "flink list over mutual TLS:\n{text}"
    );
    // Without its client certificate Flink's CLI is refused.
    let (ok, text) = list(flink_conf_with(
        &home,
        &dir.path().join("conf-trust"),
        &trust,
    ))
    .await
    .unwrap();
    assert!(
        !ok,
        "flink list without a client certificate was served:\n{text}"
    );
    cluster.stop().await;
}
