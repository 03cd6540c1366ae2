//! SeaTunnel's `S3File` source and sink, on `object_store`: every format and option of
//! `LocalFile` (its encoders and decoders are shared through `weir-runtime`'s
//! `file_rolling` and `FileDecoder`), reading and writing a bucket instead of a directory.
//! The sink is exactly-once through multipart uploads completed when a checkpoint completes
//! (`sink`, `upload`); the source spreads objects over subtasks and keeps, per object, how
//! many rows it has read as operator state (`source`). Reaching the bucket from SeaTunnel's
//! options is `location`; any store implementing `object_store`'s `ObjectStore` and
//! `MultipartStore` serves the same code.

pub mod location;
pub mod sink;
pub mod source;
pub mod upload;

use location::{Bucket, S3Settings};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_runtime::registry::PluginRegistry;

/// Registers `S3File` as a source and a sink.
pub fn register(r: &mut PluginRegistry) {
    r.add_source(Arc::new(source::S3FileSourceFactory));
    r.add_sink(Arc::new(sink::S3FileSinkFactory));
}

/// Asks the bucket for the prefix's listing, so a wrong endpoint, bucket or key fails the
/// job before it runs, with what to fix.
pub(crate) fn check_reachable(store: Arc<dyn Bucket>, settings: &S3Settings) -> WeirResult<()> {
    let root = settings.root();
    let answer = weir_runtime::blocking::run_blocking(async move {
        Ok(store.list_with_delimiter(Some(&root)).await.map(|_| ()))
    })?;
    answer.map_err(|e| explain(e, settings))
}

/// An object_store error in words that say which option to fix.
pub(crate) fn explain(e: object_store::Error, s: &S3Settings) -> WeirError {
    let at = s.endpoint.as_deref().unwrap_or("AWS");
    let text = e.to_string();
    // S3 answers with an XML error document; its code and message are what matter.
    let tag = |name: &str| {
        text.split(&format!("<{name}>"))
            .nth(1)
            .and_then(|t| t.split(&format!("</{name}>")).next())
            .map(str::to_string)
    };
    let code = tag("Code").unwrap_or_default();
    let said = match (tag("Code"), tag("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        _ => text.clone(),
    };
    match &e {
        _ if code == "NoSuchBucket" || matches!(e, object_store::Error::NotFound { .. }) => {
            WeirError::new(format!("bucket '{}' does not exist at {at}", s.bucket))
                .with_hint("check bucket (s3a://<name>) and fs.s3a.endpoint")
        }
        _ if matches!(
            code.as_str(),
            "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied"
        ) || matches!(
            e,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) =>
        {
            WeirError::new(format!(
                "bucket '{}' at {at} refused the credentials: {said}",
                s.bucket
            ))
            .with_hint("check access_key and secret_key (or the environment's AWS credentials)")
        }
        _ => WeirError::new(format!(
            "cannot reach bucket '{}' at {at}: {said}",
            s.bucket
        ))
        .with_hint("check fs.s3a.endpoint, and that the server is up"),
    }
}
