//! weir's own web dashboard (the TypeScript project in `web/`), embedded in the binary by
//! `build.rs` so a single `weir` file serves it at `/` with no files to install.

/// The embedded files, sorted by path.
mod assets {
    include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));
}

/// One embedded file, ready to answer.
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Hashed names under `assets/` never change content, so browsers may keep them for good;
    /// `index.html` names the current ones and must be asked for again.
    pub immutable: bool,
}

/// Whether this binary was built with the dashboard (`scripts/build-web.sh` before `cargo build`).
pub fn is_built() -> bool {
    !assets::ASSETS.is_empty()
}

/// The file a request path names: `/` is `index.html`.
pub fn asset(path: &str) -> Option<Asset> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let i = assets::ASSETS
        .binary_search_by(|(p, _)| (*p).cmp(rel))
        .ok()?;
    let (name, bytes) = assets::ASSETS[i];
    Some(Asset {
        bytes,
        content_type: content_type(name),
        immutable: name.starts_with("assets/"),
    })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_index_html_and_unknown_paths_are_none() {
        if !is_built() {
            assert!(asset("/").is_none());
            return;
        }
        let index = asset("/").expect("index.html is embedded");
        assert!(index.content_type.starts_with("text/html"));
        assert!(!index.immutable);
        assert!(std::str::from_utf8(index.bytes)
            .unwrap_or("")
            .contains("<div id=\"app\">"));
        assert!(asset("/no-such-file.js").is_none());
        assert!(asset("/../Cargo.toml").is_none());
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(
            content_type("assets/index-1.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("assets/index-1.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.bin"), "application/octet-stream");
    }
}
