//! Cluster configuration the Flink way: a YAML file (nested or flat dotted keys) plus
//! `-D key=value`, with Flink's option names and defaults. Unknown keys are kept (and shown by
//! `/jobmanager/config`); a key that looks like a misspelling of a known one gets a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use weir_jobmanager::resource_manager::SlotPolicy;
use yaml_rust2::{Yaml, YamlLoader};

/// An option weir reads, with its default.
pub struct KnownOption {
    pub key: &'static str,
    pub default: &'static str,
}

/// Every option weir reads.
pub const KNOWN: &[KnownOption] = &[
    KnownOption {
        key: "rest.port",
        default: "8081",
    },
    KnownOption {
        key: "rest.address",
        default: "127.0.0.1",
    },
    KnownOption {
        key: "rest.bind-address",
        default: "127.0.0.1",
    },
    KnownOption {
        key: "taskmanager.numberOfTaskSlots",
        default: "4",
    },
    // SeaTunnel's dynamic slots: unset means on unless `taskmanager.numberOfTaskSlots` is set
    // (see `ClusterConfig::slot_policy`).
    KnownOption {
        key: "seatunnel.engine.slot-service.dynamic-slot",
        default: "",
    },
    KnownOption {
        key: "parallelism.default",
        default: "1",
    },
    KnownOption {
        key: "web.refresh-interval",
        default: "3000",
    },
    KnownOption {
        key: "web.submit.enable",
        default: "true",
    },
    KnownOption {
        key: "web.cancel.enable",
        default: "true",
    },
    // No origin by default (Flink's default is `*`): pages elsewhere may neither read the
    // answers nor change the cluster. A comma-separated list, or `*`.
    KnownOption {
        key: "web.access-control-allow-origin",
        default: "",
    },
    // Host names (besides IP literals, localhost and rest.address) the REST listeners answer
    // to; `*` for any. Guards against DNS rebinding.
    KnownOption {
        key: "rest.allowed-hosts",
        default: "",
    },
    KnownOption {
        key: "rest.server.max-content-length",
        default: "104857600",
    },
    KnownOption {
        key: "jobstore.max-capacity",
        default: "2147483647",
    },
    KnownOption {
        key: "jobstore.expiration-time",
        default: "3600 s",
    },
    KnownOption {
        key: "rest.async.store-duration",
        default: "5 min",
    },
    KnownOption {
        key: "slot.request.timeout",
        default: "5 min",
    },
    KnownOption {
        key: "jobmanager.rpc.address",
        default: "127.0.0.1",
    },
    KnownOption {
        key: "jobmanager.rpc.port",
        default: "6123",
    },
    KnownOption {
        key: "jobmanager.bind-host",
        default: "127.0.0.1",
    },
    KnownOption {
        key: "taskmanager.host",
        default: "127.0.0.1",
    },
    KnownOption {
        key: "taskmanager.bind-host",
        default: "127.0.0.1",
    },
    KnownOption {
        key: "taskmanager.rpc.port",
        default: "0",
    },
    KnownOption {
        key: "taskmanager.data.port",
        default: "0",
    },
    KnownOption {
        key: "taskmanager.resource-id",
        default: "",
    },
    KnownOption {
        key: "cluster.evenly-spread-out-slots",
        default: "false",
    },
    KnownOption {
        key: "heartbeat.interval",
        default: "10 s",
    },
    KnownOption {
        key: "heartbeat.timeout",
        default: "50 s",
    },
    KnownOption {
        key: "env.log.dir",
        default: "",
    },
    KnownOption {
        key: "web.upload.dir",
        default: "",
    },
    // Checkpointing and restarts (read per job; see jobmanager::job_settings).
    KnownOption {
        key: "execution.checkpointing.interval",
        default: "",
    },
    KnownOption {
        key: "execution.checkpointing.timeout",
        default: "",
    },
    KnownOption {
        key: "execution.checkpointing.min-pause",
        default: "",
    },
    KnownOption {
        key: "execution.checkpointing.max-concurrent-checkpoints",
        default: "",
    },
    KnownOption {
        key: "execution.checkpointing.tolerable-failed-checkpoints",
        default: "",
    },
    KnownOption {
        key: "execution.checkpointing.num-retained",
        default: "",
    },
    KnownOption {
        key: "execution.checkpointing.dir",
        default: "",
    },
    // S3-compatible storage for checkpoints and savepoints (`s3://bucket/path`), Flink's keys.
    KnownOption {
        key: "s3.endpoint",
        default: "",
    },
    KnownOption {
        key: "s3.access-key",
        default: "",
    },
    KnownOption {
        key: "s3.secret-key",
        default: "",
    },
    KnownOption {
        key: "s3.path.style.access",
        default: "false",
    },
    KnownOption {
        key: "s3.region",
        default: "",
    },
    KnownOption {
        key: "s3.access.key",
        default: "",
    },
    KnownOption {
        key: "s3.secret.key",
        default: "",
    },
    KnownOption {
        key: "execution.checkpointing.savepoint-dir",
        default: "",
    },
    KnownOption {
        key: "execution.checkpointing.externalized-checkpoint-retention",
        default: "",
    },
    KnownOption {
        key: "execution.state-recovery.path",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.type",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.fixed-delay.attempts",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.fixed-delay.delay",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.exponential-delay.initial-backoff",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.exponential-delay.max-backoff",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.exponential-delay.backoff-multiplier",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.failure-rate.max-failures-per-interval",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.failure-rate.failure-rate-interval",
        default: "",
    },
    KnownOption {
        key: "restart-strategy.failure-rate.delay",
        default: "",
    },
    KnownOption {
        key: "web.checkpoints.history",
        default: "",
    },
    KnownOption {
        key: "rest.cache.checkpoint-statistics.timeout",
        default: "",
    },
    KnownOption {
        key: "rest.cache.checkpoint-statistics.size",
        default: "",
    },
    // Flink's default is 10 s; weir's store is never older than this.
    // How long a cancelled subtask may take to stop before it is torn down (Flink's key and
    // default).
    KnownOption {
        key: "task.cancellation.timeout",
        default: "180000",
    },
    KnownOption {
        key: "metrics.fetcher.update-interval",
        default: "1000",
    },
    KnownOption {
        key: "rest.flamegraph.enabled",
        default: "true",
    },
    KnownOption {
        key: "rest.flamegraph.num-samples",
        default: "100",
    },
    KnownOption {
        key: "rest.flamegraph.delay-between-samples",
        default: "2 ms",
    },
    // Flink's profiler options. Flink leaves profiling off because async-profiler costs its
    // JVMs; weir's profiler reads /proc on its own thread only while a run is asked for, so it
    // is on. `rest.profiling.dir` defaults to the data directory's `profiler`.
    KnownOption {
        key: "rest.profiling.enabled",
        default: "true",
    },
    KnownOption {
        key: "rest.profiling.max-duration",
        default: "300 s",
    },
    KnownOption {
        key: "rest.profiling.history-size",
        default: "10",
    },
    KnownOption {
        key: "rest.profiling.dir",
        default: "",
    },
    // weir's own: environment variables that job files submitted to the cluster may read with
    // `${NAME}` / `${?NAME}` (a comma list; none by default: a job file reads no secrets).
    KnownOption {
        key: "weir.job-file.env-allowlist",
        default: "",
    },
    // weir's own: local roots job files may read and write besides the data directory (a comma
    // list; `*` for any path, as in Flink). See `sandbox_config.rs`.
    KnownOption {
        key: "weir.sandbox.allowed-paths",
        default: "",
    },
    // weir's own: object-store endpoints job files may reach besides `s3.endpoint` (a comma
    // list of [scheme://]host[:port]; `*` for any). See `sandbox_config.rs`.
    KnownOption {
        key: "weir.sandbox.allowed-endpoints",
        default: "",
    },
    // weir's own: a directory of static files (a web dashboard, such as Flink's) served at `/`.
    KnownOption {
        key: "web.dashboard.dir",
        default: "",
    },
    // Reporters to start (Flink's list); `prom` is the Prometheus scrape endpoint.
    KnownOption {
        key: "metrics.reporters",
        default: "prom",
    },
    KnownOption {
        key: "metrics.reporter.prom.port",
        default: "9249",
    },
    KnownOption {
        key: "metrics.reporter.prom.host",
        default: "127.0.0.1",
    },
    // SeaTunnel's REST API v2 (its `seatunnel.engine.http.*` names; SeaTunnel's packaged
    // config turns it on, and so does weir).
    KnownOption {
        key: "seatunnel.engine.http.enable-http",
        default: "true",
    },
    KnownOption {
        key: "seatunnel.engine.http.port",
        default: "8080",
    },
    KnownOption {
        key: "seatunnel.engine.http.context-path",
        default: "",
    },
    // Who may call the REST listeners (see `auth_config.rs`). weir's own: a credentials file
    // (`ROLE token SECRET` / `ROLE basic USER:PASSWORD` lines), and the explicit consent to
    // serve a non-loopback address without credentials.
    KnownOption {
        key: "rest.auth.credentials-file",
        default: "",
    },
    KnownOption {
        key: "rest.auth.allow-unauthenticated",
        default: "false",
    },
    // SeaTunnel's basic auth (its `seatunnel.engine.http.*` names). weir has no default
    // password: SeaTunnel's admin/admin would be a credential everyone knows.
    KnownOption {
        key: "seatunnel.engine.http.enable-basic-auth",
        default: "false",
    },
    KnownOption {
        key: "seatunnel.engine.http.basic-auth-username",
        default: "admin",
    },
    KnownOption {
        key: "seatunnel.engine.http.basic-auth-password",
        default: "",
    },
    // weir's own: the Prometheus port asks for the REST credentials too (any role).
    KnownOption {
        key: "metrics.reporter.prom.auth.enabled",
        default: "false",
    },
    // TLS on the REST listeners (see `tls_config.rs`): Flink's switches, weir's PEM files.
    KnownOption {
        key: "security.ssl.rest.enabled",
        default: "false",
    },
    KnownOption {
        key: "security.ssl.rest.authentication-enabled",
        default: "false",
    },
    KnownOption {
        key: "security.ssl.rest.certificate",
        default: "",
    },
    KnownOption {
        key: "security.ssl.rest.private-key",
        default: "",
    },
    KnownOption {
        key: "security.ssl.rest.trust-certificates",
        default: "",
    },
    // SeaTunnel's REST API v1, under /hazelcast/rest/maps on its member port.
    KnownOption {
        key: "seatunnel.engine.rest-v1.enabled",
        default: "true",
    },
    KnownOption {
        key: "seatunnel.engine.rest-v1.port",
        default: "5801",
    },
];

/// The effective configuration: every key as a string.
#[derive(Debug, Clone, Default)]
pub struct ClusterConfig {
    values: BTreeMap<String, String>,
    /// Keys given with `-D` (visible to every user in the process list).
    command_line: Vec<String>,
    /// Problems found while loading (misspelt keys), to log once logging is up.
    pub warnings: Vec<String>,
}

impl ClusterConfig {
    /// Loads `file` (if any), then applies `-D` overrides.
    pub fn load(file: Option<&Path>, overrides: &[String]) -> Result<Self, String> {
        let mut values = BTreeMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
            let docs = YamlLoader::load_from_str(&text)
                .map_err(|e| format!("{} is not valid YAML: {e}", path.display()))?;
            if let Some(doc) = docs.first() {
                flatten("", doc, &mut values);
            }
        }
        for o in overrides {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| format!("-D expects key=value, got '{o}'"))?;
            values.insert(k.trim().to_string(), v.trim().to_string());
        }
        let mut warnings = Vec::new();
        for key in values.keys() {
            if KNOWN.iter().any(|k| k.key == key) {
                continue;
            }
            let lower = key.to_ascii_lowercase();
            let near = KNOWN
                .iter()
                .map(|k| (k.key, strsim_distance(&lower, &k.key.to_ascii_lowercase())))
                .filter(|(_, d)| *d <= 2)
                .min_by_key(|(_, d)| *d);
            if let Some((k, _)) = near {
                warnings.push(format!(
                    "configuration key '{key}' is not used by weir; did you mean '{k}'?"
                ));
            }
        }
        let command_line = overrides
            .iter()
            .filter_map(|o| o.split_once('=').map(|(k, _)| k.trim().to_string()))
            .collect();
        let mut cfg = ClusterConfig {
            values,
            command_line,
            warnings,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&mut self) -> Result<(), String> {
        self.refuse_security_options()?;
        self.port("rest.port")?;
        self.usize("taskmanager.numberOfTaskSlots")?;
        self.usize("parallelism.default")?;
        self.usize("rest.server.max-content-length")?;
        self.usize("jobstore.max-capacity")?;
        self.duration("jobstore.expiration-time")?;
        self.duration("rest.async.store-duration")?;
        self.duration("slot.request.timeout")?;
        self.duration("heartbeat.interval")?;
        self.duration("heartbeat.timeout")?;
        self.port("jobmanager.rpc.port")?;
        self.port("taskmanager.rpc.port")?;
        self.port("taskmanager.data.port")?;
        self.duration("task.cancellation.timeout")?;
        self.bool("web.submit.enable")?;
        self.bool("web.cancel.enable")?;
        self.i64("web.refresh-interval")?;
        self.duration("metrics.fetcher.update-interval")?;
        self.bool("rest.flamegraph.enabled")?;
        self.bool("rest.profiling.enabled")?;
        self.duration("rest.profiling.max-duration")?;
        self.usize("rest.profiling.history-size")?;
        self.usize("rest.flamegraph.num-samples")?;
        self.duration("rest.flamegraph.delay-between-samples")?;
        self.port_range("metrics.reporter.prom.port")?;
        self.bool("seatunnel.engine.http.enable-http")?;
        self.port("seatunnel.engine.http.port")?;
        self.bool("seatunnel.engine.rest-v1.enabled")?;
        self.bool("seatunnel.engine.http.enable-basic-auth")?;
        self.bool("rest.auth.allow-unauthenticated")?;
        self.bool("security.ssl.rest.enabled")?;
        self.bool("security.ssl.rest.authentication-enabled")?;
        self.bool("metrics.reporter.prom.auth.enabled")?;
        self.slot_policy()?;
        self.port("seatunnel.engine.rest-v1.port")?;
        let context = self.get("seatunnel.engine.http.context-path");
        if !context.is_empty() && (!context.starts_with('/') || context.contains(['?', '#', ' '])) {
            return Err(format!(
                "configuration 'seatunnel.engine.http.context-path' must be a path starting with '/', like /seatunnel, got '{context}'"
            ));
        }
        Ok(())
    }

    /// The `security.*` options weir does not implement (Flink's internal TLS, Kerberos, …)
    /// would otherwise be kept and ignored, and a weaker service run than was asked for. Refuse
    /// them at start-up instead. REST TLS (`security.ssl.rest.*`) is read by `tls_config.rs`,
    /// which also refuses its Java-keystore options with how to convert them.
    fn refuse_security_options(&self) -> Result<(), String> {
        let set: Vec<&String> = self
            .values
            .keys()
            .filter(|k| k.starts_with("security.") && !k.starts_with("security.ssl.rest."))
            .filter(|k| {
                // An explicit "off" asks for nothing weir lacks.
                !(k.ends_with(".enabled") && self.values[*k].trim().eq_ignore_ascii_case("false"))
            })
            .collect();
        match set.first() {
            None => Ok(()),
            Some(key) => Err(format!(
                "configuration '{key}' is not supported: of Flink's security options weir implements \
                 TLS on its REST listeners (security.ssl.rest.enabled, security.ssl.rest.authentication-enabled \
                 with PEM files) and its own authentication (rest.auth.*); TLS between the JobManager and \
                 TaskManagers and Kerberos are not implemented. Remove the setting, or keep those ports on a \
                 private network"
            )),
        }
    }

    /// How the mini cluster's TaskManager offers slots. SeaTunnel's default is dynamic slots (a
    /// job never waits for one); Flink's is a fixed count. Whoever sets
    /// `taskmanager.numberOfTaskSlots` gets Flink's fixed count; whoever sets
    /// `seatunnel.engine.slot-service.dynamic-slot` gets what it says; otherwise slots are
    /// dynamic, shown as at least `taskmanager.numberOfTaskSlots` (4).
    pub fn slot_policy(&self) -> Result<SlotPolicy, String> {
        let n = self.usize("taskmanager.numberOfTaskSlots")?.max(1);
        let dynamic_key = "seatunnel.engine.slot-service.dynamic-slot";
        let dynamic = if self.values.contains_key(dynamic_key) {
            self.bool(dynamic_key)?
        } else {
            !self.values.contains_key("taskmanager.numberOfTaskSlots")
        };
        Ok(if dynamic {
            SlotPolicy::Dynamic { base: n }
        } else {
            SlotPolicy::Fixed(n)
        })
    }

    /// This node's worker tags, written as SeaTunnel's `hazelcast.yaml` writes them
    /// (`hazelcast.member-attributes.<name>.value`), so a SeaTunnel YAML block works unchanged.
    pub fn worker_tags(&self) -> std::collections::BTreeMap<String, String> {
        const PREFIX: &str = "hazelcast.member-attributes.";
        self.values
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix(PREFIX)?.strip_suffix(".value")?;
                (!name.is_empty()).then(|| (name.to_string(), v.trim().to_string()))
            })
            .collect()
    }

    /// Whether `key` was given with `-D`.
    pub fn set_on_command_line(&self, key: &str) -> bool {
        self.command_line.iter().any(|k| k == key)
    }

    /// A comma-separated list option, trimmed, empty entries left out.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// How this cluster reaches S3 (`s3.endpoint`, `s3.access-key` or Flink's older
    /// `s3.access.key`, `s3.secret-key` / `s3.secret.key`, `s3.path.style.access`, `s3.region`).
    pub fn s3(&self) -> weir_gateway::checkpoint_storage::S3Config {
        let some = |keys: &[&str]| keys.iter().map(|k| self.get(k)).find(|v| !v.is_empty());
        weir_gateway::checkpoint_storage::S3Config {
            endpoint: some(&["s3.endpoint"]),
            access_key: some(&["s3.access-key", "s3.access.key"]),
            secret_key: some(&["s3.secret-key", "s3.secret.key"]),
            path_style: self
                .get("s3.path.style.access")
                .eq_ignore_ascii_case("true"),
            region: some(&["s3.region"]),
        }
    }

    /// The value of `key`, or its default.
    pub fn get(&self, key: &str) -> String {
        self.values
            .get(key)
            .cloned()
            .or_else(|| {
                KNOWN
                    .iter()
                    .find(|k| k.key == key)
                    .map(|k| k.default.to_string())
            })
            .unwrap_or_default()
    }

    /// Sets a value (for settings decided at start, like the port actually bound).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_string(), value.into());
    }

    /// Sets `key` unless the file or `-D` already did.
    pub fn set_default(&mut self, key: &str, value: impl Into<String>) {
        self.values
            .entry(key.to_string())
            .or_insert_with(|| value.into());
    }

    pub fn usize(&self, key: &str) -> Result<usize, String> {
        let v = self.get(key);
        v.trim()
            .parse()
            .map_err(|_| format!("configuration '{key}' must be a whole number, got '{v}'"))
    }

    pub fn i64(&self, key: &str) -> Result<i64, String> {
        let v = self.get(key);
        v.trim()
            .parse()
            .map_err(|_| format!("configuration '{key}' must be a number, got '{v}'"))
    }

    pub fn port(&self, key: &str) -> Result<u16, String> {
        let v = self.get(key);
        v.trim().parse().map_err(|_| {
            format!("configuration '{key}' must be a port number (0-65535), got '{v}'")
        })
    }

    /// A port or an inclusive range of ports (`9250-9260`), as Flink's reporter ports take.
    pub fn port_range(&self, key: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
        let v = self.get(key);
        let bad =
            || format!("configuration '{key}' must be a port or a range like 9250-9260, got '{v}'");
        let (a, b) = v.split_once('-').unwrap_or((&v, &v));
        let a: u16 = a.trim().parse().map_err(|_| bad())?;
        let b: u16 = b.trim().parse().map_err(|_| bad())?;
        if a > b {
            return Err(bad());
        }
        Ok(a..=b)
    }

    /// Whether a reporter is listed in `metrics.reporters`.
    pub fn reporter_enabled(&self, name: &str) -> bool {
        self.get("metrics.reporters")
            .split(',')
            .any(|r| r.trim() == name)
    }

    pub fn bool(&self, key: &str) -> Result<bool, String> {
        match self.get(key).trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!(
                "configuration '{key}' must be true or false, got '{other}'"
            )),
        }
    }

    pub fn duration(&self, key: &str) -> Result<Duration, String> {
        parse_duration(&self.get(key)).map_err(|e| format!("configuration '{key}': {e}"))
    }

    /// A directory option, or `default` when unset.
    pub fn dir(&self, key: &str, default: PathBuf) -> PathBuf {
        let v = self.get(key);
        if v.trim().is_empty() {
            default
        } else {
            PathBuf::from(v)
        }
    }

    /// Every key with its effective value (set keys and the defaults of known ones).
    pub fn effective(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = KNOWN
            .iter()
            .filter(|k| !k.default.is_empty())
            .map(|k| (k.key.to_string(), k.default.to_string()))
            .collect();
        out.extend(self.values.clone());
        out
    }
}

fn strsim_distance(a: &str, b: &str) -> usize {
    // Levenshtein distance, small and dependency-free for the handful of keys checked.
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn flatten(prefix: &str, y: &Yaml, out: &mut BTreeMap<String, String>) {
    match y {
        Yaml::Hash(h) => {
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    other => format!("{other:?}"),
                };
                let full = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&full, v, out);
            }
        }
        Yaml::Array(items) => {
            let parts: Vec<String> = items.iter().map(scalar).collect();
            out.insert(prefix.to_string(), parts.join(";"));
        }
        other => {
            out.insert(prefix.to_string(), scalar(other));
        }
    }
}

fn scalar(y: &Yaml) -> String {
    match y {
        Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Real(r) => r.clone(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null => String::new(),
        other => format!("{other:?}"),
    }
}

pub use weir_core::time::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_settings_take_flinks_keys_old_and_new() {
        let c = ClusterConfig::load(
            None,
            &[
                "s3.endpoint=http://127.0.0.1:9000".into(),
                "s3.access.key=ak".into(),
                "s3.secret-key=sk".into(),
                "s3.path.style.access=TRUE".into(),
            ],
        )
        .unwrap();
        let s3 = c.s3();
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(
            (s3.access_key.as_deref(), s3.secret_key.as_deref()),
            (Some("ak"), Some("sk"))
        );
        assert!(s3.path_style && s3.region.is_none());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn nested_and_flat_yaml_and_overrides() {
        let dir = std::env::temp_dir().join(format!("weir-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("config.yaml");
        std::fs::write(&file, "rest:\n  port: 9091\ntaskmanager.numberOfTaskSlots: 8\nmy.custom: [a, b]\nrest.prot: 1\n").unwrap();
        let c = ClusterConfig::load(Some(&file), &["parallelism.default=3".into()]).unwrap();
        assert_eq!(c.port("rest.port").unwrap(), 9091);
        assert_eq!(c.usize("taskmanager.numberOfTaskSlots").unwrap(), 8);
        assert_eq!(c.usize("parallelism.default").unwrap(), 3);
        assert_eq!(c.get("my.custom"), "a;b");
        assert_eq!(c.get("web.refresh-interval"), "3000");
        assert!(c.effective().contains_key("my.custom"));
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("'rest.prot'") && w.contains("'rest.port'")),
            "{:?}",
            c.warnings
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_values_are_explained() {
        let e = ClusterConfig::load(None, &["rest.port=http".into()]).unwrap_err();
        assert!(e.contains("'rest.port' must be a port number"), "{e}");
        assert!(ClusterConfig::load(None, &["nokey".into()])
            .unwrap_err()
            .contains("key=value"));
        assert_eq!(parse_duration("5 min").unwrap(), Duration::from_secs(300));
        let tagged = ClusterConfig::load(
            None,
            &[
                "hazelcast.member-attributes.group.value=platform".into(),
                "hazelcast.member-attributes.group.type=string".into(),
                "hazelcast.member-attributes.team.value=team1".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            tagged.worker_tags().into_iter().collect::<Vec<_>>(),
            vec![
                ("group".to_string(), "platform".to_string()),
                ("team".to_string(), "team1".to_string())
            ]
        );
        assert_eq!(parse_duration("3600 s").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("5 fortnights").is_err());
    }

    #[test]
    fn slots_are_dynamic_unless_a_count_is_set() {
        let policy = |opts: &[&str]| {
            let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
            ClusterConfig::load(None, &opts)
                .unwrap()
                .slot_policy()
                .unwrap()
        };
        assert_eq!(policy(&[]), SlotPolicy::Dynamic { base: 4 });
        assert_eq!(
            policy(&["taskmanager.numberOfTaskSlots=2"]),
            SlotPolicy::Fixed(2)
        );
        assert_eq!(
            policy(&[
                "taskmanager.numberOfTaskSlots=2",
                "seatunnel.engine.slot-service.dynamic-slot=true"
            ]),
            SlotPolicy::Dynamic { base: 2 }
        );
        assert_eq!(
            policy(&["seatunnel.engine.slot-service.dynamic-slot=false"]),
            SlotPolicy::Fixed(4)
        );
    }

    #[test]
    fn security_options_weir_lacks_are_refused_at_start() {
        let load = |opts: &[&str]| {
            let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
            ClusterConfig::load(None, &opts)
        };
        let e = load(&["security.ssl.internal.enabled=true"]).err().unwrap();
        assert!(
            e.contains("'security.ssl.internal.enabled' is not supported"),
            "{e}"
        );
        assert!(e.contains("security.ssl.rest.enabled"), "{e}");
        assert!(load(&["security.kerberos.login.keytab=/k"]).is_err());
        // REST TLS is weir's, checked when the cluster starts (tls_config.rs).
        assert!(load(&["security.ssl.rest.enabled=true"]).is_ok());
        assert!(load(&["security.ssl.rest.enabled=false"]).is_ok());
    }
}
