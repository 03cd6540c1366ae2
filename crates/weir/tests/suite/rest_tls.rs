//! TLS on a real cluster's listeners (issue 16): with `security.ssl.rest.enabled` the Flink API,
//! SeaTunnel's v2 and the Prometheus port speak only TLS with the configured PEM certificate;
//! with `security.ssl.rest.authentication-enabled` a client without a certificate from the
//! trusted CA is refused in the handshake; `weir`'s CLI talks to both. Certificates are made
//! for each test by `openssl` (a CA, a server certificate for 127.0.0.1 and a client one).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use weir::cluster::{ClusterDirs, MiniCluster};
use weir::config::ClusterConfig;

/// A test CA with a server and a client certificate, as PEM files in one directory.
pub struct TestPki {
    pub dir: PathBuf,
}

impl TestPki {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("client.pem")
    }
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }
}

/// Makes a CA, a server certificate for 127.0.0.1/localhost and a client certificate under
/// `dir` with `openssl`.
pub fn make_pki(dir: &Path) -> TestPki {
    let script = r#"
set -e
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=weir-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
openssl req $ec -keyout client.key -out client.csr -subj /CN=weir-test-client 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext 2>/dev/null
"#;
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "making test certificates: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    TestPki {
        dir: dir.to_path_buf(),
    }
}

/// Starts a cluster with TLS on its listeners (mutual when `mutual`).
pub async fn tls_cluster(dir: &Path, pki: &TestPki, mutual: bool) -> MiniCluster {
    let mut opts: Vec<String> = [
        "rest.port=0",
        "metrics.reporter.prom.port=0",
        "seatunnel.engine.http.port=0",
        "seatunnel.engine.rest-v1.enabled=false",
        "security.ssl.rest.enabled=true",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    opts.push(format!(
        "security.ssl.rest.certificate={}",
        pki.server_cert().display()
    ));
    opts.push(format!(
        "security.ssl.rest.private-key={}",
        pki.server_key().display()
    ));
    if mutual {
        opts.push("security.ssl.rest.authentication-enabled=true".into());
        opts.push(format!(
            "security.ssl.rest.trust-certificates={}",
            pki.ca().display()
        ));
    }
    let config = ClusterConfig::load(None, &opts).expect("config");
    let dirs = ClusterDirs::under(dir.to_path_buf(), &config);
    MiniCluster::start(config, dirs)
        .await
        .expect("cluster starts")
}

fn client(pki: &TestPki, with_cert: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.ca()).unwrap()).unwrap();
    let mut b = weir::cli::client::http_client_builder()
        .add_root_certificate(ca)
        .timeout(std::time::Duration::from_secs(20));
    if with_cert {
        let mut pem = std::fs::read(pki.client_cert()).unwrap();
        pem.extend(std::fs::read(pki.client_key()).unwrap());
        b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    b.build().unwrap()
}

fn weir_list(url: &str, envs: &[(&str, PathBuf)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weir"));
    c.args(["list", "-a", "-m", url]);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("weir runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listeners_speak_tls_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(&dir.path().join("pki"));
    let cluster = tls_cluster(dir.path(), &pki, false).await;
    let base = cluster.url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let c = client(&pki, false);
    let overview: Value = c
        .get(format!("{base}/overview"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["flink-version"], "2.3.0");
    let v2 = format!("https://{}/overview", cluster.seatunnel_v2.unwrap());
    assert_eq!(c.get(&v2).send().await.unwrap().status(), 200);
    let prom = format!("https://{}/metrics", cluster.prometheus.unwrap());
    assert!(c
        .get(&prom)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("# TYPE"));
    // Plain HTTP to the TLS port gets no answer.
    let plain = weir::cli::client::http_client_builder()
        .build()
        .expect("client");
    let r = plain
        .get(base.replace("https://", "http://") + "/overview")
        .send()
        .await;
    assert!(r.is_err() || r.unwrap().status() != 200);
    // A client that does not trust the CA refuses the server.
    let untrusting = weir::cli::client::http_client_builder()
        .build()
        .expect("client");
    assert!(untrusting
        .get(format!("{base}/overview"))
        .send()
        .await
        .is_err());

    // weir's CLI trusts the cluster's CA from WEIR_REST_CA_CERT.
    let (url, ca) = (base.clone(), pki.ca());
    let out = tokio::task::spawn_blocking(move || weir_list(&url, &[("WEIR_REST_CA_CERT", ca)]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = base.clone();
    let out = tokio::task::spawn_blocking(move || weir_list(&url, &[]))
        .await
        .unwrap();
    assert!(!out.status.success(), "weir list trusted an unknown CA");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_clients_without_a_trusted_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(&dir.path().join("pki"));
    let cluster = tls_cluster(dir.path(), &pki, true).await;
    let base = cluster.url();
    let r = client(&pki, false)
        .get(format!("{base}/overview"))
        .send()
        .await;
    assert!(
        r.is_err(),
        "a client without a certificate was served: {r:?}"
    );
    let r = client(&pki, true)
        .get(format!("{base}/overview"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A certificate from another CA is refused too.
    let other = make_pki(&dir.path().join("other"));
    let mut pem = std::fs::read(other.client_cert()).unwrap();
    pem.extend(std::fs::read(other.client_key()).unwrap());
    let stranger = weir::cli::client::http_client_builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(pki.ca()).unwrap()).unwrap(),
        )
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    assert!(stranger
        .get(format!("{base}/overview"))
        .send()
        .await
        .is_err());

    let (url, p) = (base.clone(), pki.dir.clone());
    let out = tokio::task::spawn_blocking(move || {
        weir_list(
            &url,
            &[
                ("WEIR_REST_CA_CERT", p.join("ca.pem")),
                ("WEIR_REST_CLIENT_CERT", p.join("client.pem")),
                ("WEIR_REST_CLIENT_KEY", p.join("client.key")),
            ],
        )
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_settings_refuse_to_start_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let start = |opts: &[&str]| {
        let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        let dir = dir.path().to_path_buf();
        async move {
            let config = ClusterConfig::load(None, &opts)?;
            let dirs = ClusterDirs::under(dir, &config);
            MiniCluster::start(config, dirs).await.map(|_| ())
        }
    };
    let e = start(&[
        "rest.port=0",
        "security.ssl.rest.enabled=true",
        "security.ssl.rest.keystore=/x.jks",
    ])
    .await
    .unwrap_err();
    assert!(e.contains("keytool"), "{e}");
    let e = start(&[
        "rest.port=0",
        "security.ssl.rest.enabled=true",
        "security.ssl.rest.certificate=/nonexistent/cert.pem",
        "security.ssl.rest.private-key=/nonexistent/key.pem",
    ])
    .await
    .unwrap_err();
    assert!(e.contains("/nonexistent/cert.pem"), "{e}");
}
