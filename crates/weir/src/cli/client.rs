//! A small client of a cluster's Flink REST API, used by `weir run -m`, `list`, `cancel` and
//! `info`.

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// A cluster's REST endpoint.
pub struct RestClient {
    base: String,
    http: reqwest::Client,
}

/// `HOST:PORT` or a full URL to a base URL.
pub fn base_url(address: &str) -> String {
    let a = address.trim().trim_end_matches('/');
    if a.starts_with("http://") || a.starts_with("https://") {
        a.to_string()
    } else {
        format!("http://{a}")
    }
}

/// The headers every request carries: `Authorization: Bearer $WEIR_REST_TOKEN`, and the
/// `Name: Value` lines of `FLINK_REST_CLIENT_HEADERS`, the variable Flink's own CLI reads, so
/// one setting serves both CLIs.
fn headers_from(
    token: Option<String>,
    flink_headers: Option<String>,
) -> Result<reqwest::header::HeaderMap, String> {
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
    let mut headers = HeaderMap::new();
    for line in flink_headers.as_deref().unwrap_or("").lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            format!(
                "FLINK_REST_CLIENT_HEADERS: '{}' is not a header name",
                name.trim()
            )
        })?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| {
            format!("FLINK_REST_CLIENT_HEADERS: the value of {name} is not a header value")
        })?;
        headers.insert(name, value);
    }
    if let Some(token) = token.filter(|t| !t.trim().is_empty()) {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| "WEIR_REST_TOKEN is not a valid token".to_string())?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    Ok(headers)
}

/// TLS for an `https://` cluster: `WEIR_REST_CA_CERT` names a PEM file of CA certificates to
/// trust besides the system's (a self-signed cluster's own CA); `WEIR_REST_CLIENT_CERT` and
/// `WEIR_REST_CLIENT_KEY` name the PEM certificate and key presented to a cluster that asks for
/// mutual TLS.
fn tls_from(
    builder: reqwest::ClientBuilder,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<reqwest::ClientBuilder, String> {
    let read = |var: &str, p: &PathBuf| {
        std::fs::read(p).map_err(|e| format!("{var}: cannot read {}: {e}", p.display()))
    };
    let mut builder = builder;
    if let Some(ca) = ca {
        let pem = read("WEIR_REST_CA_CERT", &ca)?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            format!(
                "WEIR_REST_CA_CERT: {} is not PEM certificates: {e}",
                ca.display()
            )
        })? {
            builder = builder.add_root_certificate(cert);
        }
    }
    match (cert, key) {
        (None, None) => {}
        (Some(cert), Some(key)) => {
            let mut pem = read("WEIR_REST_CLIENT_CERT", &cert)?;
            pem.push(b'\n');
            pem.extend(read("WEIR_REST_CLIENT_KEY", &key)?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                format!("WEIR_REST_CLIENT_CERT and WEIR_REST_CLIENT_KEY are not a PEM certificate and key: {e}")
            })?;
            builder = builder.identity(identity);
        }
        _ => return Err(
            "set both WEIR_REST_CLIENT_CERT and WEIR_REST_CLIENT_KEY for mutual TLS, or neither"
                .into(),
        ),
    }
    Ok(builder)
}

/// A reqwest client builder that can speak TLS: weir's clients use the same rustls provider
/// (ring) as its servers, installed as the process default before the first client is built.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    weir_rest::tls::install_default_provider();
    reqwest::Client::builder()
}

impl RestClient {
    pub fn new(address: &str) -> Result<Self, String> {
        let headers = headers_from(
            std::env::var("WEIR_REST_TOKEN").ok(),
            std::env::var("FLINK_REST_CLIENT_HEADERS").ok(),
        )?;
        let http = tls_from(
            http_client_builder()
                .timeout(Duration::from_secs(30))
                .default_headers(headers),
            std::env::var_os("WEIR_REST_CA_CERT").map(PathBuf::from),
            std::env::var_os("WEIR_REST_CLIENT_CERT").map(PathBuf::from),
            std::env::var_os("WEIR_REST_CLIENT_KEY").map(PathBuf::from),
        )?
        .build()
        .map_err(|e| format!("cannot create an HTTP client: {e}"))?;
        Ok(Self {
            base: base_url(address),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn answer(
        &self,
        resp: Result<reqwest::Response, reqwest::Error>,
        what: &str,
    ) -> Result<Value, String> {
        let resp = resp.map_err(|e| format!("cannot reach the cluster at {}: {e}", self.base))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let msg = body["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_else(|| body.to_string());
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
            " (the cluster wants credentials: set WEIR_REST_TOKEN to a token it accepts, or FLINK_REST_CLIENT_HEADERS to 'Authorization: Basic ...')"
        } else {
            ""
        };
        Err(format!("{what} failed ({status}): {msg}{hint}"))
    }

    pub async fn get(&self, path: &str) -> Result<Value, String> {
        let r = self.http.get(format!("{}{path}", self.base)).send().await;
        self.answer(r, &format!("GET {path}")).await
    }

    pub async fn patch(&self, path: &str) -> Result<Value, String> {
        let r = self.http.patch(format!("{}{path}", self.base)).send().await;
        self.answer(r, &format!("PATCH {path}")).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, String> {
        let r = self
            .http
            .delete(format!("{}{path}", self.base))
            .send()
            .await;
        self.answer(r, &format!("DELETE {path}")).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, String> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await;
        self.answer(r, &format!("POST {path}")).await
    }

    /// Uploads a pipeline file; returns its artifact id.
    pub async fn upload(&self, name: &str, text: String) -> Result<String, String> {
        let part = reqwest::multipart::Part::text(text).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().part("jarfile", part);
        let r = self
            .http
            .post(format!("{}/jars/upload", self.base))
            .multipart(form)
            .send()
            .await;
        let body = self.answer(r, "uploading the job file").await?;
        let path = body["filename"].as_str().unwrap_or_default();
        Ok(path
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_weirs_token_or_flinks_header_lines() {
        let h = headers_from(Some("abc".into()), None).unwrap();
        assert_eq!(h["authorization"], "Bearer abc");
        let h = headers_from(None, Some("Authorization: Basic eDp5\nX-Trace:1\n".into())).unwrap();
        assert_eq!(h["authorization"], "Basic eDp5");
        assert_eq!(h["x-trace"], "1");
        // weir's own variable wins.
        let h = headers_from(Some("t".into()), Some("Authorization: Basic eDp5".into())).unwrap();
        assert_eq!(h["authorization"], "Bearer t");
        assert!(headers_from(None, Some("bad name: x".into())).is_err());
        assert!(headers_from(None, None).unwrap().is_empty());
    }
}
