//! The `weir run` command line: exit codes, summary, errors.

use std::process::Command;

/// The binary, run from a scratch directory: a local `weir run` keeps its data in
/// `./weir-data`, which must not land in the source tree.
fn weir() -> Command {
    let scratch = std::env::temp_dir().join("weir-cli-tests");
    let _ = std::fs::create_dir_all(&scratch);
    let mut c = Command::new(env!("CARGO_BIN_EXE_weir"));
    c.current_dir(scratch);
    c
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_good_job_exits_zero_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let job = write(
        dir.path(),
        "job.conf",
        "source { FakeSource { row.num = ${N}, schema = { fields { id = int } } } }\nsink { Console {} }\n",
    );
    let out = weir()
        .arg("run")
        .arg(&job)
        .args(["-p", "3", "-i", "N=4"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("FINISHED"), "{stderr}");
    assert!(
        stderr.contains("(parallelism 3): rows in 0, rows out 12"),
        "{stderr}"
    );
    // Each chained operator's rows, as the cluster counted them (the benchmarks read these).
    assert!(
        stderr.contains("Source: FakeSource: rows in 0, rows out 12")
            && stderr.contains("Sink: Console: rows in 12, rows out 0"),
        "{stderr}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("subtaskIndex="))
            .count(),
        12,
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("output rowType: id<INT>"))
            .count(),
        3
    );
}

#[test]
fn an_invalid_job_exits_two_and_lists_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    let job = write(
        dir.path(),
        "bad.conf",
        "source { FakeSorce { } }\nsink { Consol {} }\n",
    );
    let out = weir().arg("run").arg(&job).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("has 2 problems"), "{stderr}");
    assert!(stderr.contains("did you mean 'FakeSource'?"), "{stderr}");
    assert!(stderr.contains("did you mean 'Console'?"), "{stderr}");

    let out = weir()
        .arg("run")
        .arg(dir.path().join("missing.conf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read job file"));

    let out = weir()
        .arg("run")
        .arg(&job)
        .args(["-p", "99999999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("above the maximum of 32768"));

    let out = weir()
        .arg("run")
        .arg(&job)
        .args(["-i", "novalue"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-i expects NAME=VALUE"));
}

#[test]
fn a_failing_job_exits_one_with_its_root_cause() {
    let dir = tempfile::tempdir().unwrap();
    let job = write(
        dir.path(),
        "assert.conf",
        "source { FakeSource { row.num = 3, schema = { fields { id = int } } } }\n\
         sink { Assert { rules { row_rules = [{ rule_type = MIN_ROW, rule_value = 5 }] } } }\n",
    );
    let out = weir().arg("run").arg(&job).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("FAILED"), "{stderr}");
    assert!(
        stderr.contains("assertion failed: MIN_ROW 5, but the sink received 3 rows"),
        "{stderr}"
    );
}

#[test]
fn a_sql_job_file_runs_like_its_hocon_form() {
    let dir = tempfile::tempdir().unwrap();
    let job = write(
        dir.path(),
        "job.sql",
        "/* config\nenv { job.mode = \"BATCH\" }\n*/\n\
         CREATE TABLE fake WITH ('connector' = 'FakeSource', 'type' = 'source', 'row.num' = '6',\n\
           'schema' = '{ fields { id = int } }');\n\
         CREATE TABLE out WITH ('connector' = 'Console', 'type' = 'sink');\n\
         INSERT INTO out SELECT id FROM fake;\n",
    );
    let out = weir().arg("run").arg(&job).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("subtaskIndex="))
            .count(),
        6,
        "{stdout}"
    );
    let bad = write(
        dir.path(),
        "bad.sql",
        "INSERT INTO nowhere SELECT * FROM nothing;\n",
    );
    let out = weir().arg("run").arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the sink table [nowhere] is not found"),
        "{stderr}"
    );
}

/// Rows in the committed (visible) files under `dir`; hidden in-progress files are counted
/// apart.
fn committed_rows(dir: &std::path::Path) -> (usize, usize) {
    let (mut rows, mut hidden) = (0, 0);
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            hidden += 1;
        } else {
            rows += std::fs::read_to_string(e.path()).unwrap().lines().count();
        }
    }
    (rows, hidden)
}

/// Runs `weir run` on `job`, interrupts it (Ctrl-C) once `ready` says so, and returns its exit
/// code and standard error.
fn run_and_interrupt(
    args: &[&str],
    job: &std::path::Path,
    ready: impl Fn() -> bool,
) -> (Option<i32>, String) {
    use std::time::{Duration, Instant};
    let child = weir()
        .arg("run")
        .args(args)
        .arg(job)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the job never got ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Read standard error on the side, so a run that ignores the signal fails the test
    // instead of hanging it.
    let mut child = child;
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let stopped = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if stopped.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "weir run did not stop within 60 s of Ctrl-C: {}",
                reader.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, reader.join().unwrap_or_default())
}

#[test]
fn ctrl_c_on_a_streaming_run_commits_every_row_and_resumes_from_its_savepoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let data = dir.path().join("data");
    let job = write(
        dir.path(),
        "stream.conf",
        &format!(
            r#"
env {{ job.mode = "STREAMING", parallelism = 2, checkpoint.interval = 500 }}
source {{ FakeSource {{ unbounded = true, rows.per.second = 2000, schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "json" }} }}
"#,
            out.display()
        ),
    );
    let data_arg = data.display().to_string();
    // Interrupted once checkpoints have committed files: before `weir run` checkpointed, every
    // row stayed in a hidden in-progress file and was deleted at Ctrl-C.
    let (code, stderr) = run_and_interrupt(&["--data-dir", &data_arg], &job, || {
        committed_rows(&out).0 >= 2000
    });
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("stopping with a savepoint"), "{stderr}");
    assert!(stderr.contains("FINISHED"), "{stderr}");
    let written: usize = stderr
        .split("rows out ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no row count in: {stderr}"));
    let (rows, hidden) = committed_rows(&out);
    assert_eq!(rows, written, "every row the job wrote is committed");
    assert_eq!(hidden, 0, "no in-progress file is left");
    let savepoint = stderr
        .split("Savepoint completed. Path: ")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap_or_else(|| panic!("no savepoint path in: {stderr}"))
        .to_string();
    assert!(
        stderr.contains(&format!("weir run -s {savepoint}")),
        "{stderr}"
    );

    // Resumed from the savepoint: the new run adds its rows next to the first run's.
    let (code, stderr) =
        run_and_interrupt(&["--data-dir", &data_arg, "-s", &savepoint], &job, || {
            committed_rows(&out).0 >= rows + 2000
        });
    assert_eq!(code, Some(0), "{stderr}");
    let (more, hidden) = committed_rows(&out);
    assert!(
        more > rows,
        "{more} rows after the resumed run, {rows} before"
    );
    assert_eq!(hidden, 0);
}
