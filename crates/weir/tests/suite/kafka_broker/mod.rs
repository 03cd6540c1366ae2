//! A real Kafka-protocol broker for the Kafka tests: Nisshi (formerly Tansu), a
//! Kafka-compatible broker from crates.io that `scripts/install-kafka-server.sh` builds,
//! started on a free port with in-memory storage and stopped on drop. The tests set it up
//! and check it with an independent client, confluent-kafka (librdkafka), through
//! `client.py`. Without the broker a test skips, unless WEIR_REQUIRE_KAFKA=1 (the test
//! command sets it) makes that a failure.

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn server_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kafka-server")
}

pub struct KafkaBroker {
    pub port: u16,
    child: Child,
}

impl KafkaBroker {
    /// Starts a broker, or `None` when none is installed (and none is required).
    pub fn start() -> Option<KafkaBroker> {
        let bin = server_dir().join("nisshi/bin/nisshi");
        let py = server_dir().join("py/bin/python");
        if !bin.exists() || !py.exists() {
            assert!(
                std::env::var("WEIR_REQUIRE_KAFKA").as_deref() != Ok("1"),
                "the Kafka broker is not installed: run scripts/install-kafka-server.sh"
            );
            eprintln!("skipped: no Kafka broker (scripts/install-kafka-server.sh)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://nisshi/",
                "--group-initial-rebalance-delay",
                "10ms",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the broker starts");
        let broker = KafkaBroker { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the Kafka broker did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(broker)
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs client.py with `args` (and `input` on stdin); its output, or a panic with its
    /// errors. It blocks, so the runtime is told (the cluster under test shares it).
    pub fn client(&self, args: &[&str], input: &str) -> String {
        tokio::task::block_in_place(|| self.run_client(args, input))
    }

    fn run_client(&self, args: &[&str], input: &str) -> String {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/suite/kafka_broker/client.py");
        let mut cmd = Command::new(server_dir().join("py/bin/python"));
        cmd.arg(script)
            .arg(args[0])
            .arg(self.bootstrap())
            .args(&args[1..]);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("client.py starts");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).expect("client.py reads");
        }
        let out = child.wait_with_output().expect("client.py ends");
        assert!(
            out.status.success(),
            "client.py {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn create_topic(&self, topic: &str, partitions: u32) {
        self.client(&["create", topic, &partitions.to_string()], "");
    }

    /// Writes `values` to `topic` (to `partition`, or spread by the client).
    pub fn produce(&self, topic: &str, partition: Option<u32>, values: &[String]) {
        let mut input = values.join("\n");
        input.push('\n');
        let p = partition.map(|p| p.to_string());
        let mut args = vec!["produce", topic];
        if let Some(p) = &p {
            args.push(p);
        }
        self.client(&args, &input);
    }

    /// Reads `topic` from the start as `isolation` (`read_committed` or
    /// `read_uncommitted`) until `want` messages came or `seconds` passed.
    pub fn consume(&self, topic: &str, isolation: &str, want: usize, seconds: u32) -> Vec<String> {
        self.client(
            &[
                "consume",
                topic,
                isolation,
                &want.to_string(),
                &seconds.to_string(),
            ],
            "",
        )
        .lines()
        .map(str::to_string)
        .collect()
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
