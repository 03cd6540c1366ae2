//! `weir.sandbox.allowed-paths` and the data directory → the job sandbox, decided once at start.
//!
//! By default a job may use local paths under the cluster's data directory (`weir-data`), except
//! the places the cluster keeps for itself there; the operator lists more roots, or `*` for no
//! limit (Flink's behaviour). Job plugins (`LocalFile`) and the job's state (savepoint targets,
//! checkpoint directories, restore paths) get separate sandboxes: state may go to the
//! cluster's checkpoint and savepoint directories, which a job's files may not touch.
//!
//! The network half: object-store endpoints (`S3File`'s `fs.s3a.endpoint`) are limited to the
//! cluster's own `s3.endpoint` and `weir.sandbox.allowed-endpoints` (AWS's public S3 always).

use crate::cluster::ClusterDirs;
use crate::config::ClusterConfig;
use std::path::{Path, PathBuf};
use weir_gateway::checkpoint_storage::CheckpointLocation;
use weir_pipeline::endpoint_allowlist::EndpointAllowlist;
use weir_pipeline::sandbox::PathSandbox;

/// The option that lists extra roots (a comma list; `*` lifts the limit).
pub const ALLOWED_PATHS: &str = "weir.sandbox.allowed-paths";

/// The option that lists the object-store endpoints jobs may reach besides `s3.endpoint` (a
/// comma list of `[scheme://]host[:port]`; `*` lifts the limit).
pub const ALLOWED_ENDPOINTS: &str = "weir.sandbox.allowed-endpoints";

/// The two sandboxes of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSandbox {
    /// What job plugins may read and write.
    pub files: PathSandbox,
    /// Where a job's checkpoints and savepoints may go and be restored from.
    pub state: PathSandbox,
    /// Which object-store endpoints job plugins may connect to.
    pub endpoints: EndpointAllowlist,
}

impl JobSandbox {
    /// No limit anywhere (`*`, and `weir run`'s local mode, which runs as its own user).
    pub fn unrestricted() -> Self {
        Self {
            files: PathSandbox::unrestricted(),
            state: PathSandbox::unrestricted(),
            endpoints: EndpointAllowlist::unrestricted(),
        }
    }
}

/// The sandbox of a cluster with `config` and `dirs`; an endpoint entry that does not parse is
/// an error naming the option, so the cluster does not start with a list it misread.
pub fn from_config(config: &ClusterConfig, dirs: &ClusterDirs) -> Result<JobSandbox, String> {
    let local = |key: &str| {
        let raw = config.get(key);
        if raw.trim().is_empty() {
            return None;
        }
        CheckpointLocation::parse(&raw)
            .ok()
            .and_then(|l| l.local_dir().map(Path::to_path_buf))
    };
    let own = config.s3().endpoint;
    let endpoints = resolve_endpoints(&config.list(ALLOWED_ENDPOINTS), own.as_deref())
        .map_err(|e| format!("{ALLOWED_ENDPOINTS}: {e}"))?;
    Ok(resolve(
        &config.list(ALLOWED_PATHS),
        dirs,
        local("execution.checkpointing.dir"),
        local("execution.checkpointing.savepoint-dir"),
        endpoints,
    ))
}

/// The pure decision for endpoints: `listed` (or `*`) plus the cluster's own object store.
pub fn resolve_endpoints(
    listed: &[String],
    cluster_s3_endpoint: Option<&str>,
) -> Result<EndpointAllowlist, String> {
    if listed.iter().any(|l| l == "*") {
        return Ok(EndpointAllowlist::unrestricted());
    }
    EndpointAllowlist::only(listed.iter().map(String::as_str).chain(cluster_s3_endpoint))
}

/// The pure decision for paths: `listed` roots (or `*`), the data directory and its reserved
/// places, and the cluster's own checkpoint and savepoint directories (`None`: the defaults
/// under `data`); `endpoints` as `resolve_endpoints` decided them.
pub fn resolve(
    listed: &[String],
    dirs: &ClusterDirs,
    checkpoint_dir: Option<PathBuf>,
    savepoint_dir: Option<PathBuf>,
    endpoints: EndpointAllowlist,
) -> JobSandbox {
    if listed.iter().any(|l| l == "*") {
        return JobSandbox {
            files: PathSandbox::unrestricted(),
            state: PathSandbox::unrestricted(),
            endpoints,
        };
    }
    let checkpoints = checkpoint_dir.unwrap_or_else(|| dirs.data.join("checkpoints"));
    let savepoints = savepoint_dir.unwrap_or_else(|| dirs.data.join("savepoints"));
    let mut roots: Vec<PathBuf> = vec![dirs.data.clone()];
    roots.extend(listed.iter().map(PathBuf::from));
    let files = PathSandbox::within(roots.clone()).excluding([
        dirs.logs.clone(),
        dirs.uploads.clone(),
        dirs.profiler.clone(),
        dirs.archive.clone(),
        dirs.data.join("jobs"),
        checkpoints.clone(),
        savepoints.clone(),
    ]);
    roots.extend([checkpoints, savepoints]);
    let state = PathSandbox::within(roots).excluding([
        dirs.logs.clone(),
        dirs.uploads.clone(),
        dirs.profiler.clone(),
        dirs.archive.clone(),
        dirs.data.join("jobs"),
    ]);
    JobSandbox {
        files,
        state,
        endpoints,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(data: &Path) -> ClusterDirs {
        ClusterDirs::under(data.to_path_buf(), &ClusterConfig::load(None, &[]).unwrap())
    }

    #[test]
    fn by_default_jobs_use_the_data_directory_but_not_the_clusters_own_places() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        let s = resolve(&[], &d, None, None, EndpointAllowlist::unrestricted());
        assert!(s.files.check(&tmp.path().join("files/in.csv"), "p").is_ok());
        for own in [
            "log/x",
            "uploads/x.jar",
            "job-archive.redb",
            "jobs/1",
            "checkpoints/j",
        ] {
            assert!(s.files.check(&tmp.path().join(own), "p").is_err(), "{own}");
        }
        assert!(s.files.check(Path::new("/etc/passwd"), "p").is_err());
        // State goes to the checkpoint and savepoint directories, not to the logs.
        assert!(s
            .state
            .check(&tmp.path().join("savepoints/sp-1"), "p")
            .is_ok());
        assert!(s
            .state
            .check(&tmp.path().join("checkpoints/j"), "p")
            .is_ok());
        assert!(s.state.check(&tmp.path().join("log/sp"), "p").is_err());
        assert!(s.state.check(Path::new("/etc/cron.d"), "p").is_err());
    }

    #[test]
    fn listed_roots_and_configured_state_directories_are_allowed() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(&tmp.path().join("data"));
        let extra = tmp.path().join("exchange");
        let chk = tmp.path().join("chk");
        let s = resolve(
            &[extra.display().to_string()],
            &d,
            Some(chk.clone()),
            None,
            EndpointAllowlist::unrestricted(),
        );
        assert!(s.files.check(&extra.join("out.csv"), "p").is_ok());
        assert!(s.state.check(&chk.join("job"), "p").is_ok());
        assert!(s.files.check(&chk.join("job"), "p").is_err());
    }

    #[test]
    fn a_star_lifts_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let s = resolve(
            &["*".into()],
            &dirs(tmp.path()),
            None,
            None,
            EndpointAllowlist::unrestricted(),
        );
        assert_eq!(s, JobSandbox::unrestricted());
        assert!(s.files.check(Path::new("/etc/passwd"), "p").is_ok());
    }

    #[test]
    fn the_option_is_read_from_the_configuration() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = vec![format!("{ALLOWED_PATHS}=/srv/in, /srv/out")];
        let config = ClusterConfig::load(None, &opts).unwrap();
        let d = ClusterDirs::under(tmp.path().to_path_buf(), &config);
        let s = from_config(&config, &d).unwrap();
        assert!(s.files.check(Path::new("/srv/out/x"), "p").is_ok());
        assert!(s.files.check(Path::new("/srv/elsewhere"), "p").is_err());
    }

    #[test]
    fn jobs_reach_the_clusters_object_store_and_the_listed_endpoints_only() {
        let e = resolve_endpoints(&[], Some("http://127.0.0.1:9000")).unwrap();
        assert!(e.check("http://127.0.0.1:9000", "e").is_ok());
        assert!(e.check("http://169.254.169.254", "e").is_err());
        assert!(e.check("https://s3.us-east-2.amazonaws.com", "e").is_ok());
        let none = resolve_endpoints(&[], None).unwrap();
        assert!(none.check("http://127.0.0.1:9000", "e").is_err());
        let listed = resolve_endpoints(&["minio:9000".into()], None).unwrap();
        assert!(listed.check("http://minio:9000", "e").is_ok());
        assert!(resolve_endpoints(&["*".into()], None)
            .unwrap()
            .is_unrestricted());
    }

    #[test]
    fn a_bad_endpoint_entry_stops_the_start_naming_the_option() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = vec![format!("{ALLOWED_ENDPOINTS}=ftp://files")];
        let config = ClusterConfig::load(None, &opts).unwrap();
        let d = ClusterDirs::under(tmp.path().to_path_buf(), &config);
        let err = from_config(&config, &d).unwrap_err();
        assert!(
            err.contains(ALLOWED_ENDPOINTS) && err.contains("ftp://files"),
            "{err}"
        );
    }
}
