//! A real S3-compatible server for the object-storage tests: moto's server
//! (`scripts/install-s3-server.sh` installs it), started on a free port and stopped on drop.
//! Without it a test skips, unless WEIR_REQUIRE_S3=1 (the test command sets it) makes that a
//! failure.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct S3Server {
    pub port: u16,
    child: Child,
}

impl S3Server {
    /// Starts the server, or `None` when it is not installed (and not required).
    pub fn start() -> Option<S3Server> {
        Self::start_with(false)
    }

    /// Starts a server that checks credentials (moto's IAM: only keys it issued pass), for
    /// tests of wrong ones.
    pub fn start_checking_credentials() -> Option<S3Server> {
        Self::start_with(true)
    }

    fn start_with(check_credentials: bool) -> Option<S3Server> {
        let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/s3-server/py/bin/moto_server");
        if !bin.exists() {
            assert!(
                std::env::var("WEIR_REQUIRE_S3").as_deref() != Ok("1"),
                "moto_server is not installed: run scripts/install-s3-server.sh"
            );
            eprintln!("skipped: no S3 server (scripts/install-s3-server.sh)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut command = Command::new(bin);
        if check_credentials {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
        }
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let server = S3Server { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The cluster options that reach this server.
    pub fn options(&self) -> Vec<String> {
        vec![
            format!("s3.endpoint={}", self.endpoint()),
            "s3.access-key=weir".into(),
            "s3.secret-key=weir-secret".into(),
            "s3.path.style.access=true".into(),
        ]
    }

    /// Creates a bucket.
    pub async fn create_bucket(&self, name: &str) {
        let r = weir::cli::client::http_client_builder()
            .build()
            .expect("client")
            .put(format!("{}/{name}", self.endpoint()))
            .send()
            .await
            .expect("the S3 server answers");
        assert!(
            r.status().is_success(),
            "creating bucket {name}: {}",
            r.status()
        );
    }

    /// The keys under `prefix` in `bucket`.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let text = weir::cli::client::http_client_builder()
            .build()
            .expect("client")
            .get(format!(
                "{}/{bucket}?list-type=2&prefix={prefix}",
                self.endpoint()
            ))
            .send()
            .await
            .expect("the S3 server answers")
            .text()
            .await
            .unwrap_or_default();
        text.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }
}

impl S3Server {
    /// An object's text.
    pub async fn text(&self, bucket: &str, key: &str) -> String {
        let r = weir::cli::client::http_client_builder()
            .build()
            .expect("client")
            .get(format!("{}/{bucket}/{key}", self.endpoint()))
            .send()
            .await
            .expect("the S3 server answers");
        assert!(r.status().is_success(), "GET {key}: {}", r.status());
        r.text().await.unwrap_or_default()
    }

    /// The keys of the multipart uploads begun and neither completed nor aborted.
    pub async fn open_uploads(&self, bucket: &str) -> Vec<String> {
        let text = weir::cli::client::http_client_builder()
            .build()
            .expect("client")
            .get(format!("{}/{bucket}?uploads", self.endpoint()))
            .send()
            .await
            .expect("the S3 server answers")
            .text()
            .await
            .unwrap_or_default();
        text.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    /// The options of an S3File plugin that reach `bucket` on this server, as a job file
    /// writes them.
    pub fn s3file_options(&self, bucket: &str, path: &str) -> String {
        format!(
            r#"bucket = "s3a://{bucket}"
    path = "{path}"
    fs.s3a.endpoint = "{}"
    fs.s3a.aws.credentials.provider = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
    access_key = "weir"
    secret_key = "weir-secret"
    hadoop_s3_properties {{ "fs.s3a.path.style.access" = "true" }}"#,
            self.endpoint()
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
