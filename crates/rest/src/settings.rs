//! The REST server's options, with Flink's keys and defaults.

use std::path::PathBuf;

/// How the REST server behaves.
#[derive(Debug, Clone)]
pub struct RestSettings {
    /// What browsers may do (`web.access-control-allow-origin`, `rest.allowed-hosts`).
    pub browser: crate::browser_guard::BrowserPolicy,
    /// Who may call (`rest.auth.*`, SeaTunnel's basic-auth keys); open by default.
    pub auth: crate::auth::AuthPolicy,
    /// `rest.server.max-content-length` in bytes (default 100 MiB).
    pub max_content_length: usize,
    /// `web.refresh-interval` in ms (default 3000).
    pub refresh_interval_ms: i64,
    /// `web.submit.enable`: whether `/jars/*` exists.
    pub web_submit: bool,
    /// `web.cancel.enable`: shown to the dashboard.
    pub web_cancel: bool,
    /// Where uploaded pipeline files are kept.
    pub upload_dir: PathBuf,
    /// The URL clients reach this server at, e.g. `http://127.0.0.1:8081`.
    pub advertised_url: String,
    /// `web.dashboard.dir`: static files served at `/:*` (a web dashboard), if any.
    pub dashboard_dir: Option<PathBuf>,
    /// `rest.profiling.enabled`: whether the profiler endpoints exist.
    pub profiling: bool,
}

impl Default for RestSettings {
    fn default() -> Self {
        Self {
            browser: crate::browser_guard::BrowserPolicy::default(),
            auth: crate::auth::AuthPolicy::open(),
            max_content_length: 104_857_600,
            refresh_interval_ms: 3000,
            web_submit: true,
            web_cancel: true,
            upload_dir: std::env::temp_dir().join("weir-web-upload"),
            advertised_url: "http://127.0.0.1:8081".into(),
            dashboard_dir: None,
            profiling: true,
        }
    }
}

impl RestSettings {
    /// Whether endpoints of `feature` are served with these settings.
    pub fn serves(&self, feature: crate::endpoint::Feature) -> bool {
        use crate::endpoint::Feature;
        match feature {
            Feature::Core => true,
            Feature::WebSubmission => self.web_submit,
            Feature::Profiling => self.profiling,
        }
    }
}

/// The Flink version weir's API corresponds to (clients gate features on it).
pub const FLINK_API_VERSION: &str = "2.3.0";
