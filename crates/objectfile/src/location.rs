//! Where an `S3File` source reads and a sink writes: SeaTunnel's `bucket`, `path`,
//! `fs.s3a.*` and `hadoop_s3_properties` options turned into an object store and a key prefix.
//! Reading the options ([`S3Settings::from_options`]) is pure and tested; building the store
//! from them is one call.

use object_store::aws::AmazonS3Builder;
use object_store::multipart::MultipartStore;
use object_store::path::Path as StorePath;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use std::sync::Arc;
use std::time::Duration;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::options::{as_bool, as_string};
use weir_pipeline::{OptionSpec, OptionType, Options};

/// A store that can list, read and write objects and run multipart uploads: what the file
/// connectors need of any `object_store` backend.
pub trait Bucket: ObjectStore + MultipartStore {}
impl<T: ObjectStore + MultipartStore> Bucket for T {}

/// The options every S3File plugin takes to reach its bucket.
pub fn s3_options() -> Vec<OptionSpec> {
    use OptionType::*;
    vec![
        OptionSpec::required("path", String),
        OptionSpec::required("bucket", String),
        OptionSpec::optional("fs.s3a.endpoint", String),
        OptionSpec::optional("fs.s3a.aws.credentials.provider", String),
        OptionSpec::optional("access_key", String),
        OptionSpec::optional("secret_key", String),
        OptionSpec::optional("access_secret", String),
        OptionSpec::optional("hadoop_s3_properties", Object),
    ]
}

const SIMPLE_PROVIDER: &str = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider";

/// How to reach the bucket, read off the job file.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Settings {
    pub bucket: String,
    /// The key prefix under the bucket (no leading or trailing `/`).
    pub prefix: String,
    /// `http(s)://host[:port]`, when not AWS's own.
    pub endpoint: Option<String>,
    pub region: String,
    /// Access key and secret; without them the environment's credentials are used (AWS_*
    /// variables, a web identity, the instance profile), as Hadoop's default provider does.
    pub keys: Option<(String, String)>,
    pub session_token: Option<String>,
    pub path_style: bool,
}

impl S3Settings {
    /// Reads `bucket`, `path`, `fs.s3a.endpoint`, the credentials provider and keys, and the
    /// `hadoop_s3_properties` weir honours (`fs.s3a.path.style.access`,
    /// `fs.s3a.connection.ssl.enabled`, `fs.s3a.endpoint.region`, `fs.s3a.access.key`,
    /// `fs.s3a.secret.key`, `fs.s3a.session.token`); other Hadoop properties tune Hadoop's own
    /// client and are ignored.
    pub fn from_options(o: &Options) -> WeirResult<S3Settings> {
        let e = WeirError::new;
        let bucket_opt = o.str("bucket").map_err(e)?.unwrap_or_default();
        let (bucket, bucket_path) = parse_bucket(&bucket_opt)?;
        let props = o.object("hadoop_s3_properties").map_err(e)?;
        let prop = |k: &str| {
            o.get(k)
                .and_then(as_string)
                .or_else(|| props.and_then(|p| p.get(k)).and_then(as_string))
        };
        let flag = |k: &str| -> WeirResult<Option<bool>> {
            match o.get(k).or_else(|| props.and_then(|p| p.get(k))) {
                None => Ok(None),
                Some(v) => as_bool(v)
                    .map(Some)
                    .ok_or_else(|| WeirError::new(format!("'{k}' must be true or false, not {v}"))),
            }
        };
        let ssl = flag("fs.s3a.connection.ssl.enabled")?.unwrap_or(true);
        let endpoint = o
            .str("fs.s3a.endpoint")
            .map_err(e)?
            .or_else(|| prop("fs.s3a.endpoint"))
            .map(|ep| endpoint_url(&ep, ssl))
            .transpose()?;
        let region = prop("fs.s3a.endpoint.region")
            .or_else(|| prop("fs.s3a.region"))
            .or_else(|| endpoint.as_deref().and_then(region_of_aws_endpoint))
            .unwrap_or_else(|| "us-east-1".into());
        let access = o
            .str("access_key")
            .map_err(e)?
            .or_else(|| prop("fs.s3a.access.key"));
        let secret = o
            .first_key(&["secret_key", "access_secret"])
            .and_then(|k| o.str(k).ok().flatten())
            .or_else(|| prop("fs.s3a.secret.key"));
        let provider = o.str("fs.s3a.aws.credentials.provider").map_err(e)?;
        let keys = match (access, secret) {
            (Some(a), Some(s)) => Some((a, s)),
            (None, None) if provider.as_deref() == Some(SIMPLE_PROVIDER) => {
                return Err(WeirError::new(format!(
                    "fs.s3a.aws.credentials.provider = {SIMPLE_PROVIDER} needs access_key and secret_key"
                ))
                .with_hint("add access_key and secret_key, or drop the provider to use the environment's credentials"))
            }
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(WeirError::new(
                    "access_key and secret_key go together: one of them is missing",
                ))
            }
        };
        let path = o.str("path").map_err(e)?.unwrap_or_default();
        let prefix = join_keys(&bucket_path, &path);
        Ok(S3Settings {
            bucket,
            prefix,
            endpoint,
            region,
            keys,
            session_token: prop("fs.s3a.session.token"),
            // A custom endpoint (MinIO, Ceph, moto) seldom has a DNS name per bucket.
            path_style: flag("fs.s3a.path.style.access")?
                .unwrap_or_else(|| o.get("fs.s3a.endpoint").is_some()),
        })
    }

    /// Refuses an endpoint the job sandbox does not let jobs reach, before anything connects.
    pub fn check_endpoint(
        &self,
        allowed: &weir_pipeline::endpoint_allowlist::EndpointAllowlist,
    ) -> WeirResult<()> {
        match &self.endpoint {
            Some(ep) => allowed
                .check(ep, "S3File's fs.s3a.endpoint")
                .map_err(WeirError::new),
            None => Ok(()),
        }
    }

    /// The store these settings reach.
    pub fn build(&self) -> WeirResult<Arc<dyn Bucket>> {
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_virtual_hosted_style_request(!self.path_style)
            // A wrong endpoint should fail a job in seconds, not after object_store's default
            // three minutes of retries.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            })
            .with_client_options(ClientOptions::new().with_connect_timeout(Duration::from_secs(5)));
        if let Some(ep) = &self.endpoint {
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"));
        }
        if let Some((k, s)) = &self.keys {
            b = b.with_access_key_id(k).with_secret_access_key(s);
        }
        if let Some(t) = &self.session_token {
            b = b.with_token(t);
        }
        let store = b.build().map_err(|err| {
            WeirError::new(format!("cannot reach bucket '{}': {err}", self.bucket))
        })?;
        Ok(Arc::new(store))
    }

    /// The prefix as a store path.
    pub fn root(&self) -> StorePath {
        StorePath::from(self.prefix.as_str())
    }

    /// How the input or output is named in messages: `s3://bucket/prefix`.
    pub fn shown(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// `s3a://name`, `s3://name/sub`, `s3n://name` or a bare `name`: the bucket and any key
/// prefix written after it.
fn parse_bucket(s: &str) -> WeirResult<(String, String)> {
    let trimmed = s.trim();
    let rest = ["s3a://", "s3n://", "s3://"]
        .iter()
        .find_map(|scheme| trimmed.strip_prefix(scheme))
        .unwrap_or(trimmed);
    if rest.contains("://") {
        return Err(WeirError::new(format!("bucket '{s}' is not an S3 address"))
            .with_hint("write bucket = \"s3a://<bucket-name>\""));
    }
    let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
    if name.is_empty() {
        return Err(WeirError::new("option 'bucket' names no bucket")
            .with_hint("write bucket = \"s3a://<bucket-name>\""));
    }
    Ok((name.to_string(), path.trim_matches('/').to_string()))
}

/// An endpoint as Hadoop takes it (`host[:port]`, or with a scheme) as a URL.
fn endpoint_url(ep: &str, ssl: bool) -> WeirResult<String> {
    let ep = ep.trim().trim_end_matches('/');
    if ep.is_empty() {
        return Err(WeirError::new("fs.s3a.endpoint is empty"));
    }
    if ep.starts_with("http://") || ep.starts_with("https://") {
        return Ok(ep.to_string());
    }
    if ep.contains("://") {
        return Err(WeirError::new(format!(
            "fs.s3a.endpoint '{ep}' is not an http(s) address"
        )));
    }
    Ok(format!("{}://{ep}", if ssl { "https" } else { "http" }))
}

/// `s3.eu-west-1.amazonaws.com` → `eu-west-1`.
fn region_of_aws_endpoint(ep: &str) -> Option<String> {
    let host = ep.split("://").nth(1).unwrap_or(ep);
    let mut parts = host.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("s3"), Some(region), Some("amazonaws")) => Some(region.to_string()),
        _ => None,
    }
}

/// Joins key prefixes, dropping empty parts and stray slashes.
pub fn join_keys(a: &str, b: &str) -> String {
    a.split('/')
        .chain(b.split('/'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: serde_json::Value) -> Options {
        match v {
            serde_json::Value::Object(m) => Options::new(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn seatunnel_s3_options_become_settings() {
        let s = S3Settings::from_options(&opts(serde_json::json!({
            "bucket": "s3a://seatunnel-test",
            "path": "/seatunnel/sink/",
            "fs.s3a.endpoint": "127.0.0.1:9000",
            "fs.s3a.aws.credentials.provider": SIMPLE_PROVIDER,
            "access_key": "ak",
            "secret_key": "sk",
            "hadoop_s3_properties": {"fs.s3a.connection.ssl.enabled": "false"},
        })))
        .unwrap();
        assert_eq!(s.bucket, "seatunnel-test");
        assert_eq!(s.prefix, "seatunnel/sink");
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s.keys, Some(("ak".into(), "sk".into())));
        assert!(s.path_style, "a custom endpoint is addressed by path");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.shown(), "s3://seatunnel-test/seatunnel/sink");
    }

    #[test]
    fn aws_endpoints_name_their_region_and_keys_may_come_from_hadoop_properties() {
        let s = S3Settings::from_options(&opts(serde_json::json!({
            "bucket": "s3://data/raw",
            "path": "2024",
            "fs.s3a.endpoint": "s3.eu-west-1.amazonaws.com",
            "hadoop_s3_properties": {
                "fs.s3a.access.key": "a", "fs.s3a.secret.key": "b",
                "fs.s3a.path.style.access": false,
            },
        })))
        .unwrap();
        assert_eq!(s.prefix, "raw/2024");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(
            s.endpoint.as_deref(),
            Some("https://s3.eu-west-1.amazonaws.com")
        );
        assert_eq!(s.keys, Some(("a".into(), "b".into())));
        assert!(!s.path_style);
    }

    #[test]
    fn mistakes_say_what_to_fix() {
        let err = |v| S3Settings::from_options(&opts(v)).unwrap_err().to_string();
        assert!(err(serde_json::json!({"bucket": "s3a://", "path": "/x"})).contains("no bucket"));
        assert!(err(serde_json::json!({"bucket": "hdfs://b", "path": "/x"}))
            .contains("not an S3 address"));
        assert!(err(serde_json::json!({
            "bucket": "s3a://b", "path": "/x",
            "fs.s3a.aws.credentials.provider": SIMPLE_PROVIDER,
        }))
        .contains("needs access_key and secret_key"));
        assert!(
            err(serde_json::json!({"bucket": "s3a://b", "path": "/x", "access_key": "a"}))
                .contains("go together")
        );
    }
}
