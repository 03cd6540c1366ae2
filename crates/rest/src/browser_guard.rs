//! What a browser may do with this server. Even on loopback, any page open in a browser on the
//! same machine can send requests to it, so three rules apply on every listener:
//!
//! - **CORS only for configured origins** (`web.access-control-allow-origin`, a comma-separated
//!   list; `*` is any, and the default is none): other pages cannot read the answers.
//! - **No cross-site changes**: a state-changing request (anything but GET, HEAD and OPTIONS)
//!   that a browser marks as coming from another origin (its `Origin`, or
//!   `Sec-Fetch-Site: cross-site`) is refused unless that origin is allowed. This covers the
//!   requests browsers send without a preflight (`text/plain`, forms), which CORS cannot stop.
//!   Clients that are not browsers send no `Origin` and are not affected.
//! - **Known hosts only**: a request whose `Host` names a host this server does not answer to
//!   is refused, which defeats DNS rebinding (a hostile name re-pointed at 127.0.0.1). IP
//!   literals are always accepted (no rebinding goes through one); names are `localhost`, the
//!   configured `rest.address` and whatever `rest.allowed-hosts` lists (`*`: any).
//!
//! [`BrowserPolicy::decide`] is the whole decision, pure and tested; the middleware only
//! applies it.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Which origins or hosts a rule lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    Any,
    Only(Vec<String>),
}

impl Allowed {
    /// A comma-separated list as configured; `*` anywhere means any, empty means none.
    pub fn parse(list: &str) -> Self {
        let items: Vec<String> = list
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        if items.iter().any(|s| s == "*") {
            Allowed::Any
        } else {
            Allowed::Only(items)
        }
    }

    fn allows(&self, item: &str) -> bool {
        match self {
            Allowed::Any => true,
            Allowed::Only(items) => items.iter().any(|i| i.eq_ignore_ascii_case(item)),
        }
    }
}

/// The browser rules of one server.
#[derive(Debug, Clone)]
pub struct BrowserPolicy {
    /// `web.access-control-allow-origin`.
    pub origins: Allowed,
    /// Host names answered besides IP literals and `localhost`.
    pub hosts: Allowed,
}

impl Default for BrowserPolicy {
    fn default() -> Self {
        Self {
            origins: Allowed::Only(Vec::new()),
            hosts: Allowed::Only(Vec::new()),
        }
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it; add this `Access-Control-Allow-Origin` to the answer, if any.
    Serve { allow_origin: Option<String> },
    /// A CORS preflight from an allowed origin: answer it here.
    Preflight { allow_origin: String },
    /// Refuse it with 403 and this message.
    Refuse(String),
}

impl BrowserPolicy {
    /// The rules from configuration: `origins` as `web.access-control-allow-origin`,
    /// `hosts` as `rest.allowed-hosts`, plus the configured `rest.address`.
    pub fn from_config(origins: &str, hosts: &str, rest_address: &str) -> Self {
        let mut hosts = Allowed::parse(hosts);
        if let Allowed::Only(list) = &mut hosts {
            list.push(rest_address.trim().to_ascii_lowercase());
        }
        Self {
            origins: Allowed::parse(origins),
            hosts,
        }
    }

    /// The verdict on a request with `method` and `headers`.
    pub fn decide(&self, method: &Method, headers: &HeaderMap) -> Verdict {
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let host = text(header::HOST);
        if let Some(host) = host {
            let name = host_name(host);
            if !self.host_allowed(name) {
                return Verdict::Refuse(format!(
                    "This server does not answer to the host name '{}' (a DNS rebinding guard). If that is how clients reach it, add it to rest.allowed-hosts.",
                    name.to_ascii_lowercase()
                ));
            }
        }
        // Only browsers send an Origin; clients that are not browsers skip all of this.
        let origin = text(header::ORIGIN).map(|o| o.trim_end_matches('/').to_ascii_lowercase());
        let same_origin = match (&origin, host) {
            (Some(o), Some(h)) => {
                let h = h.to_ascii_lowercase();
                *o == format!("http://{h}") || *o == format!("https://{h}")
            }
            _ => false,
        };
        let allowed_origin = origin
            .as_deref()
            .filter(|o| *o != "null" && self.origins.allows(o));
        let cross_site = || match &origin {
            Some(_) => !same_origin,
            None => text(header::HeaderName::from_static("sec-fetch-site"))
                .is_some_and(|s| s.eq_ignore_ascii_case("cross-site")),
        };
        let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if *method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            if let Some(o) = allowed_origin {
                return Verdict::Preflight {
                    allow_origin: self.answer_origin(o),
                };
            }
        }
        if changes_state && allowed_origin.is_none() && cross_site() {
            let from = origin.as_deref().unwrap_or("another site");
            return Verdict::Refuse(format!(
                "A cross-origin {method} from {from} is refused: a web page may change this cluster only from an origin listed in web.access-control-allow-origin."
            ));
        }
        Verdict::Serve {
            allow_origin: match (allowed_origin, &self.origins) {
                (Some(o), _) => Some(self.answer_origin(o)),
                (None, Allowed::Any) => Some("*".into()),
                // One configured origin is always named, as Flink's header is.
                (None, Allowed::Only(list)) if list.len() == 1 => Some(list[0].clone()),
                (None, Allowed::Only(_)) => None,
            },
        }
    }

    fn answer_origin(&self, origin: &str) -> String {
        match self.origins {
            Allowed::Any => "*".into(),
            Allowed::Only(_) => origin.to_string(),
        }
    }

    fn host_allowed(&self, name: &str) -> bool {
        name.parse::<std::net::IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || self.hosts.allows(name)
    }
}

/// The host name of a `Host` header value, without its port (`[::1]:8081` → `::1`); its
/// case is left as sent (host names compare without it).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

impl BrowserPolicy {
    /// The policy applied to one request before it is served: `Break` is the answer to give
    /// instead (a refusal, or a preflight's answer); `Continue` serves it, and the origin it
    /// carries goes on the answer through [`allow_origin`].
    pub fn admit(&self, req: &Request) -> ControlFlow<Response, Option<HeaderValue>> {
        match self.decide(req.method(), req.headers()) {
            Verdict::Refuse(message) => ControlFlow::Break(
                crate::error::RestError::new(StatusCode::FORBIDDEN, message).into_response(),
            ),
            Verdict::Preflight { allow_origin } => {
                let requested = req
                    .headers()
                    .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                    .cloned()
                    .unwrap_or_else(|| HeaderValue::from_static("content-type"));
                let mut r = StatusCode::NO_CONTENT.into_response();
                let h = r.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&allow_origin) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                }
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
                );
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("600"),
                );
                h.insert(header::VARY, HeaderValue::from_static("Origin"));
                ControlFlow::Break(r)
            }
            Verdict::Serve { allow_origin } => {
                ControlFlow::Continue(allow_origin.and_then(|o| HeaderValue::from_str(&o).ok()))
            }
        }
    }
}

/// Lets `origin` (what [`BrowserPolicy::admit`] allowed, if anything) read the answer.
pub fn allow_origin(r: &mut Response, origin: Option<HeaderValue>) {
    if let Some(v) = origin {
        r.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        r.headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Applies `policy` to every request (the SeaTunnel and Prometheus servers; the Flink server
/// applies it in [`crate::flink_front::FlinkFront`]).
pub async fn guard(State(policy): State<Arc<BrowserPolicy>>, req: Request, next: Next) -> Response {
    match policy.admit(&req) {
        ControlFlow::Break(answer) => answer,
        ControlFlow::Continue(origin) => {
            let mut r = next.run(req).await;
            allow_origin(&mut r, origin);
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn serve(origin: Option<&str>) -> Verdict {
        Verdict::Serve {
            allow_origin: origin.map(str::to_string),
        }
    }

    #[test]
    fn by_default_no_origin_may_read_or_change_and_clients_without_one_are_unaffected() {
        let p = BrowserPolicy::from_config("", "", "127.0.0.1");
        let local = [("host", "127.0.0.1:8081")];
        assert_eq!(p.decide(&Method::GET, &headers(&local)), serve(None));
        assert_eq!(p.decide(&Method::POST, &headers(&local)), serve(None));
        // The dashboard served by this server is same-origin.
        let same = [
            ("host", "127.0.0.1:8081"),
            ("origin", "http://127.0.0.1:8081"),
        ];
        assert_eq!(p.decide(&Method::POST, &headers(&same)), serve(None));
        // A page elsewhere may read nothing and change nothing, whatever its content type.
        let evil = [
            ("host", "127.0.0.1:8081"),
            ("origin", "http://evil.example"),
        ];
        assert_eq!(p.decide(&Method::GET, &headers(&evil)), serve(None));
        assert!(matches!(
            p.decide(&Method::POST, &headers(&evil)),
            Verdict::Refuse(m) if m.contains("http://evil.example") && m.contains("web.access-control-allow-origin")
        ));
        let null = [("host", "localhost:8081"), ("origin", "null")];
        assert!(matches!(
            p.decide(&Method::DELETE, &headers(&null)),
            Verdict::Refuse(_)
        ));
        let fetch = [("host", "localhost:8081"), ("sec-fetch-site", "cross-site")];
        assert!(matches!(
            p.decide(&Method::PATCH, &headers(&fetch)),
            Verdict::Refuse(_)
        ));
        // No preflight is answered for it either.
        let pre = [
            ("host", "127.0.0.1:8081"),
            ("origin", "http://evil.example"),
            ("access-control-request-method", "POST"),
        ];
        assert_eq!(p.decide(&Method::OPTIONS, &headers(&pre)), serve(None));
    }

    #[test]
    fn configured_origins_may_read_and_change() {
        let p = BrowserPolicy::from_config(
            "https://dash.example, http://ops.example:3000/",
            "",
            "127.0.0.1",
        );
        let dash = [
            ("host", "127.0.0.1:8081"),
            ("origin", "https://dash.example"),
        ];
        assert_eq!(
            p.decide(&Method::POST, &headers(&dash)),
            serve(Some("https://dash.example"))
        );
        let ops = [
            ("host", "127.0.0.1:8081"),
            ("origin", "http://ops.example:3000"),
        ];
        assert_eq!(
            p.decide(&Method::GET, &headers(&ops)),
            serve(Some("http://ops.example:3000"))
        );
        let pre = [
            ("host", "127.0.0.1:8081"),
            ("origin", "https://dash.example"),
            ("access-control-request-method", "DELETE"),
        ];
        assert_eq!(
            p.decide(&Method::OPTIONS, &headers(&pre)),
            Verdict::Preflight {
                allow_origin: "https://dash.example".into()
            }
        );
        let any = BrowserPolicy::from_config("*", "", "127.0.0.1");
        let evil = [
            ("host", "127.0.0.1:8081"),
            ("origin", "http://evil.example"),
        ];
        assert_eq!(any.decide(&Method::POST, &headers(&evil)), serve(Some("*")));
        assert_eq!(
            any.decide(&Method::GET, &headers(&[("host", "127.0.0.1:8081")])),
            serve(Some("*"))
        );
        let one = BrowserPolicy::from_config("https://dash.example", "", "127.0.0.1");
        assert_eq!(
            one.decide(&Method::GET, &headers(&[("host", "127.0.0.1:8081")])),
            serve(Some("https://dash.example")),
            "one configured origin is always named, as Flink does"
        );
    }

    #[test]
    fn only_known_host_names_are_answered() {
        let p = BrowserPolicy::from_config("", "weir.internal", "jm.example");
        for ok in [
            "127.0.0.1:8081",
            "localhost:8081",
            "[::1]:8081",
            "10.1.2.3",
            "jm.example:8081",
            "WEIR.internal",
        ] {
            assert_eq!(
                p.decide(&Method::GET, &headers(&[("host", ok)])),
                serve(None),
                "{ok}"
            );
        }
        assert!(matches!(
            p.decide(&Method::GET, &headers(&[("host", "rebind.attacker.example:8081")])),
            Verdict::Refuse(m) if m.contains("'rebind.attacker.example'") && m.contains("rest.allowed-hosts")
        ));
        let any = BrowserPolicy::from_config("", "*", "127.0.0.1");
        assert_eq!(
            any.decide(
                &Method::GET,
                &headers(&[("host", "rebind.attacker.example")])
            ),
            serve(None)
        );
    }
}
