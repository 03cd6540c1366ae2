//! A small client of a cluster's Flink REST API, used by `weir run -m`, `list`, `cancel` and
//! `info`.

use serde_json::Value;
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

impl RestClient {
    pub fn new(address: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
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
        Err(format!("{what} failed ({status}): {msg}"))
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
