//! The network half of the job sandbox: which object-store endpoints a job file may make the
//! cluster connect to.
//!
//! An `S3File` source or sink names its endpoint (`fs.s3a.endpoint`), and the cluster then
//! sends signed HTTP requests there and reports what came back in the job's errors. Left open,
//! anyone who may submit a job can make the cluster reach any address it can: an internal
//! service, a cloud metadata endpoint (169.254.169.254), a database's HTTP port. An
//! [`EndpointAllowlist`] limits those endpoints to the cluster's own object store
//! (`s3.endpoint`) and what the operator lists (`weir.sandbox.allowed-endpoints`). AWS's own
//! S3 (no endpoint, or a host under `amazonaws.com`) is public and always allowed.

/// Where jobs may point an object store: the listed endpoints, or anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAllowlist {
    /// `None`: unrestricted (`weir.sandbox.allowed-endpoints: '*'`).
    allowed: Option<Vec<Endpoint>>,
}

impl Default for EndpointAllowlist {
    /// Unrestricted: what a library user or a unit test gets unless it asks for a list.
    fn default() -> Self {
        Self::unrestricted()
    }
}

/// One allowed endpoint: `[scheme://]host[:port]`; a part left out matches any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl EndpointAllowlist {
    /// No limit.
    pub fn unrestricted() -> Self {
        Self { allowed: None }
    }

    /// Only `entries` (each `[scheme://]host[:port]`, an optional path ignored). An entry that
    /// does not parse is an error naming it, so a typo does not silently allow nothing.
    pub fn only<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Result<Self, String> {
        let mut allowed = Vec::new();
        for e in entries {
            let e = e.as_ref().trim();
            if e.is_empty() {
                continue;
            }
            let parsed = parse(e).ok_or_else(|| {
                format!("'{e}' is not an endpoint: write [http:// or https://]host[:port]")
            })?;
            allowed.push(Endpoint {
                scheme: parsed.scheme,
                host: parsed.host,
                port: parsed.port,
            });
        }
        Ok(Self {
            allowed: Some(allowed),
        })
    }

    /// Whether every endpoint is allowed.
    pub fn is_unrestricted(&self) -> bool {
        self.allowed.is_none()
    }

    /// `Ok` if a job may connect to `url` (an `http(s)://host[:port]` address); otherwise a
    /// message naming `what` (e.g. "S3File's fs.s3a.endpoint"), the endpoint, what is allowed
    /// and the option that adds one.
    pub fn check(&self, url: &str, what: &str) -> Result<(), String> {
        let Some(allowed) = &self.allowed else {
            return Ok(());
        };
        let Some(target) = parse(url) else {
            return Err(format!(
                "{what} '{url}' is not an http(s) address the job sandbox can judge"
            ));
        };
        if is_aws(&target.host) {
            return Ok(());
        }
        let scheme = target.scheme.as_deref().unwrap_or("https");
        let port = target
            .port
            .unwrap_or(if scheme == "http" { 80 } else { 443 });
        let matches = |a: &Endpoint| {
            a.host == target.host
                && a.scheme.as_deref().is_none_or(|s| s == scheme)
                && a.port.is_none_or(|p| p == port)
        };
        if allowed.iter().any(matches) {
            return Ok(());
        }
        let listed = if allowed.is_empty() {
            "none besides AWS's own".to_string()
        } else {
            allowed.iter().map(describe).collect::<Vec<_>>().join(", ")
        };
        Err(format!(
            "{what} '{url}' is not an endpoint this cluster lets jobs reach (allowed: {listed}). \
             The operator can add it to weir.sandbox.allowed-endpoints (a comma list of \
             [scheme://]host[:port], or '*' for any)."
        ))
    }
}

fn describe(e: &Endpoint) -> String {
    let mut s = String::new();
    if let Some(scheme) = &e.scheme {
        s.push_str(scheme);
        s.push_str("://");
    }
    if e.host.contains(':') {
        s.push('[');
        s.push_str(&e.host);
        s.push(']');
    } else {
        s.push_str(&e.host);
    }
    if let Some(p) = e.port {
        s.push(':');
        s.push_str(&p.to_string());
    }
    s
}

/// AWS's public S3 endpoints (`s3.amazonaws.com`, `s3.eu-west-1.amazonaws.com`,
/// `bucket.s3.amazonaws.com.cn`, …): reaching them is no way into a private network.
fn is_aws(host: &str) -> bool {
    host == "amazonaws.com"
        || host.ends_with(".amazonaws.com")
        || host.ends_with(".amazonaws.com.cn")
}

struct Parsed {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

/// `[scheme://][userinfo@]host[:port][/path]`, host lower-cased, IPv6 without brackets.
fn parse(raw: &str) -> Option<Parsed> {
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => {
            let s = s.to_ascii_lowercase();
            if s != "http" && s != "https" {
                return None;
            }
            (Some(s), r)
        }
        None => (None, raw),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in the address would otherwise let `http://allowed@evil` pass as "allowed".
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (host.to_string(), port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.parse().ok()?)),
            None => (authority.to_string(), None),
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || host.chars().any(|c| c.is_whitespace()) {
        return None;
    }
    Some(Parsed { scheme, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrestricted_allows_anything() {
        let a = EndpointAllowlist::unrestricted();
        assert!(a.check("http://169.254.169.254", "e").is_ok());
    }

    #[test]
    fn only_listed_endpoints_and_aws_are_reached() {
        let a = EndpointAllowlist::only(["http://127.0.0.1:9000", "minio.internal"]).unwrap();
        assert!(a.check("http://127.0.0.1:9000", "e").is_ok());
        assert!(a.check("http://127.0.0.1:9000/", "e").is_ok());
        // Another port, another scheme, another host: refused.
        assert!(a.check("http://127.0.0.1:9001", "e").is_err());
        assert!(a.check("https://127.0.0.1:9000", "e").is_err());
        let err = a
            .check("http://169.254.169.254", "S3File's fs.s3a.endpoint")
            .unwrap_err();
        assert!(
            err.contains("S3File's fs.s3a.endpoint 'http://169.254.169.254'"),
            "{err}"
        );
        assert!(err.contains("weir.sandbox.allowed-endpoints"), "{err}");
        assert!(
            err.contains("http://127.0.0.1:9000, minio.internal"),
            "{err}"
        );
        // An entry without scheme or port matches any.
        assert!(a.check("https://MINIO.internal:8443", "e").is_ok());
        assert!(a.check("http://minio.internal.", "e").is_ok());
        // AWS is public.
        assert!(a.check("https://s3.eu-west-1.amazonaws.com", "e").is_ok());
        assert!(a.check("https://amazonaws.com.evil.example", "e").is_err());
    }

    #[test]
    fn credentials_and_brackets_do_not_fool_it() {
        let a = EndpointAllowlist::only(["http://127.0.0.1:9000", "[::1]:9000"]).unwrap();
        assert!(a.check("http://127.0.0.1:9000@evil.example", "e").is_err());
        assert!(a.check("http://x@127.0.0.1:9000", "e").is_ok());
        assert!(a.check("http://[::1]:9000", "e").is_ok());
        assert!(a.check("http://[::1]:9001", "e").is_err());
        assert!(a.check("ftp://127.0.0.1:9000", "e").is_err());
    }

    #[test]
    fn an_entry_that_does_not_parse_is_an_error() {
        let e = EndpointAllowlist::only(["ftp://x"]).unwrap_err();
        assert!(e.contains("'ftp://x'"), "{e}");
        assert!(EndpointAllowlist::only(["host:notaport"]).is_err());
        let none = EndpointAllowlist::only(Vec::<String>::new()).unwrap();
        assert!(none
            .check("http://127.0.0.1:1", "e")
            .unwrap_err()
            .contains("none besides AWS's own"));
    }
}
