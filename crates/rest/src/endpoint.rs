//! One declaration per endpoint (Flink's `MessageHeaders` idea): method, path, summary and
//! handler in one value, from which the router and the OpenAPI document are both built.

use crate::state::AppState;
use axum::routing::MethodRouter;

/// An HTTP method weir serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// What an endpoint belongs to, so options that switch a family off remove its routes (as Flink
/// registers no handler for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Always served.
    Core,
    /// The web-submission extension (`/jars/*`), absent when `web.submit.enable` is off.
    WebSubmission,
    /// The profilers, absent when `rest.profiling.enabled` is off.
    Profiling,
}

/// One endpoint.
pub struct Endpoint {
    pub method: Method,
    /// axum path syntax: `/jobs/{jobid}`.
    pub path: &'static str,
    /// What it does, for the OpenAPI document.
    pub summary: &'static str,
    /// The handler, bound to its method.
    pub route: fn() -> MethodRouter<AppState>,
    pub feature: Feature,
}

/// Declares an endpoint: `endpoint!(GET "/jobs", "Lists jobs.", handler)`.
#[macro_export]
macro_rules! endpoint {
    ($method:ident $path:literal, $summary:literal, $handler:path) => {
        $crate::endpoint!(@make $method, $path, $summary, $handler, Core)
    };
    (jars $method:ident $path:literal, $summary:literal, $handler:path) => {
        $crate::endpoint!(@make $method, $path, $summary, $handler, WebSubmission)
    };
    (profiling $method:ident $path:literal, $summary:literal, $handler:path) => {
        $crate::endpoint!(@make $method, $path, $summary, $handler, Profiling)
    };
    (@make $method:ident, $path:literal, $summary:literal, $handler:path, $feature:ident) => {
        $crate::endpoint::Endpoint {
            method: $crate::endpoint!(@method $method),
            path: $path,
            summary: $summary,
            route: || axum::routing::on($crate::endpoint!(@filter $method), $handler),
            feature: $crate::endpoint::Feature::$feature,
        }
    };
    (@method GET) => { $crate::endpoint::Method::Get };
    (@method POST) => { $crate::endpoint::Method::Post };
    (@method PATCH) => { $crate::endpoint::Method::Patch };
    (@method PUT) => { $crate::endpoint::Method::Put };
    (@method DELETE) => { $crate::endpoint::Method::Delete };
    (@filter GET) => { axum::routing::MethodFilter::GET };
    (@filter POST) => { axum::routing::MethodFilter::POST };
    (@filter PATCH) => { axum::routing::MethodFilter::PATCH };
    (@filter PUT) => { axum::routing::MethodFilter::PUT };
    (@filter DELETE) => { axum::routing::MethodFilter::DELETE };
}
