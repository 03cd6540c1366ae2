//! Real database servers for the Jdbc tests: Debian's PostgreSQL and MariaDB, each started in a
//! temporary data directory on a free port and stopped when the handle drops. Installed by
//! scripts/install-db-servers.sh; without them (and without `WEIR_REQUIRE_DATABASES`) a test
//! says so and skips.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start-up: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn missing(what: &str) -> Option<()> {
    if std::env::var_os("WEIR_REQUIRE_DATABASES").is_some() {
        panic!("{what} is not installed (scripts/install-db-servers.sh installs it)");
    }
    eprintln!("{what} is not installed: skipping");
    None
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the database's own user when the tests run as root (PostgreSQL refuses
/// to run as root).
fn as_user(user: &str, program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", user, "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Signals the server (`pid`, which under runuser is not the child's own) and waits for the
/// child to end.
fn stop(child: &mut Child, pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A PostgreSQL server with a user `weir` (password `weir`) and a database `shop`.
pub struct Postgres {
    pub port: u16,
    child: Child,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Postgres {
    pub fn start() -> Option<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists());
        let Some(bin) = bin else {
            missing("PostgreSQL")?;
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        if is_root() {
            let _ = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status();
        }
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "weir\n").unwrap();
        let data = dir.path().join("data");
        let out = as_user("postgres", &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "weir",
                "-E",
                "UTF8",
                "--no-sync",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pw.display()))
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut child = as_user("postgres", &bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "wal_level=logical",
                "-c",
                "max_prepared_transactions=16",
                "-c",
                "max_replication_slots=8",
                "-c",
                "max_wal_senders=8",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        wait_for_port(port, "PostgreSQL", &mut child);
        let pg = Postgres {
            port,
            child,
            data,
            _dir: dir,
        };
        // Accepting connections is not yet accepting queries: retry the first one.
        let start = Instant::now();
        loop {
            let o = pg.psql_in("postgres", "CREATE DATABASE shop");
            if o.is_ok() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "{o:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(pg)
    }

    /// The JDBC URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("jdbc:postgresql://127.0.0.1:{}/{db}", self.port)
    }

    pub fn psql_in(&self, db: &str, sql: &str) -> Result<String, String> {
        let o = Command::new("psql")
            .arg(format!(
                "postgresql://weir:weir@127.0.0.1:{}/{db}",
                self.port
            ))
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&o.stderr).to_string())
        }
    }

    /// Runs SQL in `shop`, returning psql's unaligned output.
    pub fn sql(&self, sql: &str) -> String {
        self.psql_in("shop", sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The postmaster's pid is the first line of postmaster.pid (runuser does not pass
        // signals on). SIGINT is PostgreSQL's fast shutdown.
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
            .unwrap_or(self.child.id());
        stop(&mut self.child, pid, "-INT");
    }
}

/// A MariaDB server with a user `weir` (password `weir`) and a database `shop`.
pub struct MariaDb {
    pub port: u16,
    socket: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl MariaDb {
    pub fn start() -> Option<MariaDb> {
        let server = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists());
        let installer = ["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists());
        let (Some(server), Some(installer)) = (server, installer) else {
            missing("MariaDB")?;
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("data");
        // Each server its own temporary directory: two installs at once collide in /tmp.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let user = if is_root() {
            "root".to_string()
        } else {
            whoami()
        };
        let out = Command::new(&installer)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={user}"))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .output()
            .expect("mariadb-install-db runs");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let socket = dir.path().join("mysql.sock");
        let mut child = Command::new(&server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--user={user}"))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--bind-address=127.0.0.1",
                "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=0",
                "--skip-name-resolve",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        wait_for_port(port, "MariaDB", &mut child);
        let db = MariaDb {
            port,
            socket,
            child,
            _dir: dir,
        };
        let o = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", db.socket.display()))
            .args(["-uroot", "-e"])
            .arg("CREATE USER 'weir'@'%' IDENTIFIED BY 'weir'; GRANT ALL ON *.* TO 'weir'@'%' WITH GRANT OPTION; CREATE DATABASE shop;")
            .output()
            .expect("mariadb runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Some(db)
    }

    /// The JDBC URL of database `db` (MySQL's form; `jdbc:mariadb://` works too).
    pub fn url(&self, db: &str) -> String {
        format!("jdbc:mysql://127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL in `shop`, returning tab-separated rows without headers.
    pub fn sql(&self, sql: &str) -> String {
        let o = Command::new("mariadb")
            .arg("--no-defaults")
            .args([
                "-h127.0.0.1",
                &format!("-P{}", self.port),
                "-uweir",
                "-pweir",
                "-N",
                "-B",
                "shop",
                "-e",
                sql,
            ])
            .output()
            .expect("mariadb runs");
        assert!(
            o.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim_end().to_string()
    }
}

fn whoami() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "nobody".into())
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let pid = self.child.id();
        stop(&mut self.child, pid, "-TERM");
    }
}
