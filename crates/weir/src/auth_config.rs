//! Where the REST listeners' credentials come from, resolved once at start-up by [`resolve`]:
//!
//! - `rest.auth.credentials-file`: a file of `ROLE token SECRET` and `ROLE basic USER:PASSWORD`
//!   lines (roles `read-only` and `operator`);
//! - the environment: `WEIR_REST_OPERATOR_TOKEN` and `WEIR_REST_READ_ONLY_TOKEN`, one bearer
//!   token each;
//! - SeaTunnel's `seatunnel.engine.http.enable-basic-auth` with `basic-auth-username` and
//!   `basic-auth-password` (or `WEIR_REST_BASIC_AUTH_PASSWORD`): one operator user.
//!
//! Secrets never have to be on the command line, where every user of the machine sees them
//! in the process list; a `-D` password works but is warned about.
//!
//! With no credentials the listeners are open, which is allowed only while they are bound to
//! loopback; anything else refuses to start unless `rest.auth.allow-unauthenticated: true`
//! says the operator means it (an authenticating proxy in front, say).

use crate::config::ClusterConfig;
use std::net::IpAddr;
use weir_rest::auth::{AuthPolicy, Credentials, Role};

/// Who may call each kind of listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerAuth {
    /// The Flink API and SeaTunnel's v1 and v2.
    pub rest: AuthPolicy,
    /// The Prometheus port (`metrics.reporter.prom.auth.enabled`).
    pub prometheus: AuthPolicy,
}

/// What [`resolve`] reads besides the configuration, so it stays pure and testable.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
    fn read(&self, path: &str) -> Result<String, String>;
}

/// The process's own environment and files.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }

    fn read(&self, path: &str) -> Result<String, String> {
        warn_if_readable_by_others(path);
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "the credentials file {path} can be read by other users (mode {:o}); chmod 600 it",
                m.permissions().mode() & 0o777
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &str) {}

/// Whether a bind address only takes connections from this machine.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The listeners' credentials from `config` and `env`; `mutual_tls` says whether clients
/// already prove who they are with a certificate (which counts as authentication).
pub fn resolve(
    config: &ClusterConfig,
    env: &dyn Environment,
    mutual_tls: bool,
) -> Result<ListenerAuth, String> {
    let mut credentials = Credentials::default();
    let file = config.get("rest.auth.credentials-file");
    if !file.trim().is_empty() {
        let text = env.read(file.trim())?;
        credentials.add_file(&text, file.trim())?;
        if credentials.is_empty() {
            return Err(format!(
                "rest.auth.credentials-file {file} holds no credentials; add lines like: operator token SECRET"
            ));
        }
    }
    for (var, role) in [
        ("WEIR_REST_OPERATOR_TOKEN", Role::Operator),
        ("WEIR_REST_READ_ONLY_TOKEN", Role::ReadOnly),
    ] {
        if let Some(token) = env.var(var) {
            credentials.add_token(&token, role, var)?;
        }
    }
    const PASSWORD: &str = "seatunnel.engine.http.basic-auth-password";
    if config.set_on_command_line(PASSWORD) {
        tracing::warn!(
            "{PASSWORD} given with -D shows in the process list to every user of this machine; put it in the config file or in WEIR_REST_BASIC_AUTH_PASSWORD"
        );
    }
    if config.bool("seatunnel.engine.http.enable-basic-auth")? {
        let user = config.get("seatunnel.engine.http.basic-auth-username");
        let password = Some(config.get(PASSWORD))
            .filter(|p| !p.is_empty())
            .or_else(|| env.var("WEIR_REST_BASIC_AUTH_PASSWORD"))
            .ok_or_else(|| {
                format!(
                    "seatunnel.engine.http.enable-basic-auth is on but no password is set: set {PASSWORD} in the config file or WEIR_REST_BASIC_AUTH_PASSWORD (weir has no default password)"
                )
            })?;
        credentials.add_user(
            user.trim(),
            &password,
            Role::Operator,
            "seatunnel.engine.http",
        )?;
    }
    let rest = AuthPolicy::requiring(credentials);
    let prometheus = if config.bool("metrics.reporter.prom.auth.enabled")? {
        if rest.is_open() {
            return Err(
                "metrics.reporter.prom.auth.enabled is on but no credentials are configured (rest.auth.credentials-file, WEIR_REST_*_TOKEN)".into(),
            );
        }
        rest.clone()
    } else {
        AuthPolicy::open()
    };

    if !mutual_tls && !config.bool("rest.auth.allow-unauthenticated")? {
        let mut exposed = Vec::new();
        let rest_host = config.get("rest.bind-address");
        if rest.is_open() && !is_loopback(&rest_host) {
            exposed.push(format!("rest.bind-address is {rest_host}"));
        }
        let prom_host = config.get("metrics.reporter.prom.host");
        if config.reporter_enabled("prom") && prometheus.is_open() && !is_loopback(&prom_host) {
            exposed.push(format!("metrics.reporter.prom.host is {prom_host}"));
        }
        if !exposed.is_empty() {
            return Err(format!(
                "{}, which other machines can reach, and no credentials guard it: anyone there could run jobs and read files. \
                 Configure credentials (rest.auth.credentials-file, WEIR_REST_OPERATOR_TOKEN; metrics.reporter.prom.auth.enabled for the Prometheus port) \
                 or mutual TLS (security.ssl.rest.authentication-enabled), bind to 127.0.0.1, or set rest.auth.allow-unauthenticated: true if something in front authenticates",
                exposed.join(" and ")
            ));
        }
    }
    Ok(ListenerAuth { rest, prometheus })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderMap, HeaderValue, Method};
    use std::collections::HashMap;
    use weir_rest::auth::AuthVerdict;

    #[derive(Default)]
    struct Fake {
        vars: HashMap<&'static str, &'static str>,
        files: HashMap<&'static str, &'static str>,
    }

    impl Environment for Fake {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).map(|v| v.to_string())
        }
        fn read(&self, path: &str) -> Result<String, String> {
            self.files
                .get(path)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("cannot read {path}: no such file"))
        }
    }

    fn config(opts: &[&str]) -> ClusterConfig {
        let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        ClusterConfig::load(None, &opts).unwrap()
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        h
    }

    const OP: &str = "0123456789abcdef-operator";

    #[test]
    fn loopback_without_credentials_is_open() {
        let a = resolve(&config(&[]), &Fake::default(), false).unwrap();
        assert!(a.rest.is_open() && a.prometheus.is_open());
    }

    #[test]
    fn a_non_loopback_listener_without_credentials_refuses_to_start_unless_allowed() {
        let e = resolve(
            &config(&["rest.bind-address=0.0.0.0"]),
            &Fake::default(),
            false,
        )
        .unwrap_err();
        assert!(
            e.contains("rest.bind-address is 0.0.0.0") && e.contains("allow-unauthenticated"),
            "{e}"
        );
        let e = resolve(
            &config(&["metrics.reporter.prom.host=192.168.1.5"]),
            &Fake::default(),
            false,
        )
        .unwrap_err();
        assert!(
            e.contains("metrics.reporter.prom.host is 192.168.1.5"),
            "{e}"
        );
        // No reporter, no listener.
        resolve(
            &config(&["metrics.reporter.prom.host=0.0.0.0", "metrics.reporters="]),
            &Fake::default(),
            false,
        )
        .unwrap();
        let a = resolve(
            &config(&[
                "rest.bind-address=0.0.0.0",
                "rest.auth.allow-unauthenticated=true",
            ]),
            &Fake::default(),
            false,
        )
        .unwrap();
        assert!(a.rest.is_open());
        // Mutual TLS authenticates every client by its certificate.
        let a = resolve(
            &config(&["rest.bind-address=0.0.0.0"]),
            &Fake::default(),
            true,
        )
        .unwrap();
        assert!(a.rest.is_open());
        for host in ["127.0.0.1", "::1", "[::1]", "localhost", "127.1.2.3"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn credentials_come_from_the_file_and_the_environment() {
        let env = Fake {
            vars: [("WEIR_REST_READ_ONLY_TOKEN", "0123456789abcdef-reader")].into(),
            files: [(
                "/etc/weir/creds",
                "operator token 0123456789abcdef-operator\n",
            )]
            .into(),
        };
        let a = resolve(
            &config(&[
                "rest.bind-address=0.0.0.0",
                "rest.auth.credentials-file=/etc/weir/creds",
            ]),
            &env,
            false,
        )
        .unwrap();
        assert_eq!(a.rest.decide(&Method::POST, &bearer(OP)), AuthVerdict::Pass);
        assert!(matches!(
            a.rest
                .decide(&Method::POST, &bearer("0123456789abcdef-reader")),
            AuthVerdict::Forbidden(_)
        ));
        // The Prometheus port stays open unless asked.
        assert!(a.prometheus.is_open());
        let e = resolve(&config(&["rest.auth.credentials-file=/nope"]), &env, false).unwrap_err();
        assert!(e.contains("/nope"), "{e}");
        let empty = Fake {
            files: [("/e", "# nothing\n")].into(),
            ..Fake::default()
        };
        let e = resolve(&config(&["rest.auth.credentials-file=/e"]), &empty, false).unwrap_err();
        assert!(e.contains("holds no credentials"), "{e}");
    }

    #[test]
    fn seatunnels_basic_auth_needs_a_password_from_the_config_or_the_environment() {
        let on = "seatunnel.engine.http.enable-basic-auth=true";
        let e = resolve(&config(&[on]), &Fake::default(), false).unwrap_err();
        assert!(e.contains("no password"), "{e}");
        let pw = "seatunnel.engine.http.basic-auth-password=pw";
        let a = resolve(&config(&[on, pw]), &Fake::default(), false).unwrap();
        let mut h = HeaderMap::new();
        // admin:pw
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW46cHc="),
        );
        assert_eq!(a.rest.decide(&Method::DELETE, &h), AuthVerdict::Pass);
        let env = Fake {
            vars: [("WEIR_REST_BASIC_AUTH_PASSWORD", "pw")].into(),
            ..Fake::default()
        };
        let a = resolve(&config(&[on]), &env, false).unwrap();
        assert_eq!(a.rest.decide(&Method::GET, &h), AuthVerdict::Pass);
    }

    #[test]
    fn the_prometheus_port_takes_the_rest_credentials_when_asked() {
        let env = Fake {
            vars: [("WEIR_REST_OPERATOR_TOKEN", OP)].into(),
            ..Fake::default()
        };
        let a = resolve(
            &config(&["metrics.reporter.prom.auth.enabled=true"]),
            &env,
            false,
        )
        .unwrap();
        assert!(matches!(
            a.prometheus.decide(&Method::GET, &HeaderMap::new()),
            AuthVerdict::Unauthorized(_)
        ));
        assert_eq!(
            a.prometheus.decide(&Method::GET, &bearer(OP)),
            AuthVerdict::Pass
        );
        let e = resolve(
            &config(&["metrics.reporter.prom.auth.enabled=true"]),
            &Fake::default(),
            false,
        )
        .unwrap_err();
        assert!(e.contains("no credentials"), "{e}");
    }
}
