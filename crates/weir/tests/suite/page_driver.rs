//! What the browser tests share: running a Playwright driver script under node against a
//! cluster, and the job files of `compat/jobs` they fill the cluster with.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A job file of `compat/jobs`.
pub fn compat_job(name: &str) -> String {
    std::fs::read_to_string(repo().join("compat/jobs").join(name)).expect("compat job file")
}

/// Runs `script` with `args` under node (off the async runtime), prints what it said, fails
/// the test when it exits unsuccessfully (`what` found problems, screenshots in `artefacts`),
/// and returns the report it wrote to `artefacts/pages.json`.
pub async fn run(script: PathBuf, args: Vec<String>, artefacts: &Path, what: &str) -> Value {
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .args(&args)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    println!("{out}{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        run.status.success(),
        "{what} found problems (screenshots in {}):\n{out}",
        artefacts.display()
    );
    serde_json::from_slice(&std::fs::read(artefacts.join("pages.json")).unwrap()).unwrap()
}
