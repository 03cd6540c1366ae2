//! Embeds weir's web dashboard (`web/dist`, built by `scripts/build-web.sh`) into the binary:
//! writes `$OUT_DIR/dashboard_assets.rs` with one `include_bytes!` per file. Without a build
//! of the dashboard the table is empty and `/` says how to build it; nothing is downloaded
//! or built here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = manifest.join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
        // A rebuilt dashboard changes files under assets/ (hashed names) and index.html.
        println!(
            "cargo:rerun-if-changed={}",
            dist.join("index.html").display()
        );
        println!("cargo:rerun-if-changed={}", dist.join("assets").display());
    }
    files.sort();
    let mut out = String::from(
        "/// The dashboard's files: path under `/` (no leading slash), then the bytes.\n\
         pub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (rel, abs) in &files {
        let _ = writeln!(out, "    ({rel:?}, include_bytes!({abs:?})),");
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"))
        .join("dashboard_assets.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            let abs = path.canonicalize().unwrap_or(path.clone());
            files.push((rel, abs.to_string_lossy().into_owned()));
        }
    }
}
