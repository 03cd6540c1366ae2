//! Helpers shared by the integration tests: load job text, run it to the end.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;
use weir::embedded::{self, JobReport, LoadOptions};
use weir_pipeline::{ConfigErrors, Format};
use weir_runtime::PreparedJob;

pub fn load(text: &str) -> Result<PreparedJob, ConfigErrors> {
    embedded::load_text(text, Format::Hocon, &LoadOptions::default())
}

pub fn load_with(
    text: &str,
    format: Format,
    parallelism: Option<usize>,
) -> Result<PreparedJob, ConfigErrors> {
    embedded::load_text(
        text,
        format,
        &LoadOptions {
            parallelism,
            ..Default::default()
        },
    )
}

pub async fn run(job: &PreparedJob) -> JobReport {
    tokio::time::timeout(
        Duration::from_secs(60),
        embedded::run(job, Duration::from_millis(50), |_| {}, |_, _| {}),
    )
    .await
    .expect("job did not end within 60 s")
}

pub async fn run_text(text: &str) -> JobReport {
    let job = load(text).unwrap_or_else(|e| panic!("job should be valid: {e}"));
    run(&job).await
}

/// The reference SeaTunnel example files shipped in `shared/`.
pub fn seatunnel_examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/seatunnel/examples")
}

/// Every line of every data file under `dir` (hidden in-progress files excluded), sorted.
pub fn output_lines(dir: &std::path::Path) -> Vec<String> {
    let mut lines = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if !name.starts_with('.') {
                lines.extend(
                    std::fs::read_to_string(&p)
                        .unwrap()
                        .lines()
                        .map(str::to_string),
                );
            }
        }
    }
    lines.sort();
    lines
}

/// `output_lines`, or none while the directory does not exist yet.
pub fn output_lines_if_any(dir: &std::path::Path) -> Vec<String> {
    if dir.exists() {
        output_lines(dir)
    } else {
        Vec::new()
    }
}

/// Files whose name starts with '.', i.e. in-progress files left behind.
pub fn hidden_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if entry.file_name().to_string_lossy().starts_with('.') {
                out.push(p);
            }
        }
    }
    out
}
