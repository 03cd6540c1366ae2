//! The `weir run` command line: exit codes, summary, errors.

use std::process::Command;

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
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
