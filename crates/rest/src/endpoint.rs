//! One declaration per endpoint (Flink's `MessageHeaders` idea): method, path, summary,
//! handler, query parameters, request body and response body in one value, from which the
//! router and the OpenAPI document are both built.
//!
//! `endpoint!` gives the route; the builder methods give the contract:
//! `endpoint!(GET "/jobs/{jobid}", "…", job_details).returns::<JobDetailsInfo>()`. Path
//! parameters come from the path itself (their types from [`path_param`]).

use crate::state::AppState;
use axum::routing::MethodRouter;
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

/// The schemas a declaration needs, collected as the OpenAPI document's components.
pub type Components = Vec<(String, RefOr<Schema>)>;

/// A body's schema: adds what it refers to into the components and answers a reference.
pub type SchemaFn = fn(&mut Components) -> RefOr<Schema>;

/// The [`SchemaFn`] of `T`: its schema and every schema it names, by reference.
pub fn schema_of<T: ToSchema>(components: &mut Components) -> RefOr<Schema> {
    T::schemas(components);
    let name = T::name();
    components.push((name.to_string(), T::schema()));
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

/// What a query parameter holds, for the document and for generated requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Integer,
    Boolean,
    String,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

/// A query parameter the handler reads.
#[derive(Debug, Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    pub kind: ParamKind,
    pub required: bool,
    pub description: &'static str,
}

/// An optional query parameter.
pub const fn query(name: &'static str, kind: ParamKind, description: &'static str) -> QueryParam {
    QueryParam {
        name,
        kind,
        required: false,
        description,
    }
}

/// The media type of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Json,
    /// Plain text (logs, stdout; a HOCON job file).
    Text,
    /// `multipart/form-data` (uploads).
    Multipart,
    /// `text/html` (profiler results).
    Html,
    /// OpenMetrics text (`/openmetrics`).
    OpenMetrics,
}

impl Media {
    pub fn as_str(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Text => "text/plain",
            Media::Multipart => "multipart/form-data",
            Media::Html => "text/html",
            Media::OpenMetrics => "application/openmetrics-text",
        }
    }
}

/// One accepted request body.
#[derive(Clone, Copy)]
pub struct RequestBody {
    pub media: Media,
    pub schema: SchemaFn,
}

/// The success answer: its status and, once declared, its body.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub media: Media,
    /// `None` until the endpoint declares its response type.
    pub schema: Option<SchemaFn>,
    /// Other forms of the same answer, chosen by the request (SeaTunnel's `?format=json`).
    pub also: Vec<(Media, SchemaFn)>,
}

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
    /// axum's filter for it.
    pub fn filter(self) -> axum::routing::MethodFilter {
        use axum::routing::MethodFilter;
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Patch => MethodFilter::PATCH,
            Method::Put => MethodFilter::PUT,
            Method::Delete => MethodFilter::DELETE,
        }
    }

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
pub struct Endpoint<S = AppState> {
    pub method: Method,
    /// axum path syntax: `/jobs/{jobid}`.
    pub path: &'static str,
    /// What it does, for the OpenAPI document.
    pub summary: &'static str,
    /// The handler, bound to the methods given (its own, and `PUT` besides `POST` on
    /// SeaTunnel's v1, which takes both).
    pub route: fn(axum::routing::MethodFilter) -> MethodRouter<S>,
    pub feature: Feature,
    /// The query parameters it reads.
    pub query: &'static [QueryParam],
    /// The bodies it accepts (none for most).
    pub request: Vec<RequestBody>,
    pub reply: Reply,
    /// Statuses answered with no body, and when.
    pub bare: Vec<(u16, &'static str)>,
    /// Error statuses worth naming (with the error body), and when.
    pub fails: Vec<(u16, &'static str)>,
}

impl<S> Endpoint<S> {
    /// The handler bound to its own method.
    pub fn method_router(&self) -> MethodRouter<S> {
        (self.route)(self.method.filter())
    }

    /// Answers `T` as JSON with 200.
    pub fn returns<T: ToSchema>(mut self) -> Self {
        self.reply.schema = Some(schema_of::<T>);
        self
    }

    /// Answers `T` as JSON with `status` (202 for Flink's triggers).
    pub fn returns_with<T: ToSchema>(mut self, status: u16) -> Self {
        self.reply = Reply {
            status,
            media: Media::Json,
            schema: Some(schema_of::<T>),
            also: Vec::new(),
        };
        self
    }

    /// Answers plain text (a log file, stdout).
    pub fn returns_text(self) -> Self {
        self.returns_as::<String>(Media::Text)
    }

    /// Answers `T` as `media` with 200.
    pub fn returns_as<T: ToSchema>(mut self, media: Media) -> Self {
        self.reply = Reply {
            status: 200,
            media,
            schema: Some(schema_of::<T>),
            also: Vec::new(),
        };
        self
    }

    /// Answers `T` as `media` instead, when the request asks for it.
    pub fn or_returns<T: ToSchema>(mut self, media: Media) -> Self {
        self.reply.also.push((media, schema_of::<T>));
        self
    }

    /// Answers `status` with an empty body in a case the caller must fix (SeaTunnel's bare
    /// 400 for a missing log file), described as `why`.
    pub fn bare(mut self, status: u16, why: &'static str) -> Self {
        self.bare.push((status, why));
        self
    }

    /// Answers `status` with the error body when `why` (SeaTunnel's 500 for an engine's
    /// refusal of a job).
    pub fn fails_with(mut self, status: u16, why: &'static str) -> Self {
        self.fails.push((status, why));
        self
    }

    /// Answers an HTML page (a profiler's flame graph).
    pub fn returns_html(self) -> Self {
        self.returns_as::<String>(Media::Html)
    }

    /// Accepts a JSON body `T`.
    pub fn accepts<T: ToSchema>(self) -> Self {
        self.accepts_as::<T>(Media::Json)
    }

    /// Accepts a body `T` of `media`.
    pub fn accepts_as<T: ToSchema>(mut self, media: Media) -> Self {
        self.request.push(RequestBody {
            media,
            schema: schema_of::<T>,
        });
        self
    }

    /// Reads these query parameters.
    pub fn query(mut self, params: &'static [QueryParam]) -> Self {
        self.query = params;
        self
    }

    /// The path parameters, in order (`/jobs/{jobid}/vertices/{vertexid}` → jobid, vertexid).
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

/// What a path parameter holds: its kind, a pattern its values match, and what it is. Ids are
/// Flink's 32 hex digits; indexes are numbers; the rest are names.
pub fn path_param(name: &str) -> (ParamKind, Option<&'static str>, &'static str) {
    const HEX32: Option<&str> = Some("^[0-9a-fA-F]{32}$");
    match name {
        "jobid" => (ParamKind::String, HEX32, "32-character hexadecimal job id."),
        "vertexid" => (
            ParamKind::String,
            HEX32,
            "32-character hexadecimal vertex id.",
        ),
        "datasetid" => (
            ParamKind::String,
            HEX32,
            "32-character hexadecimal data set id.",
        ),
        "applicationid" => (
            ParamKind::String,
            HEX32,
            "32-character hexadecimal application id.",
        ),
        "triggerid" => (
            ParamKind::String,
            HEX32,
            "32-character hexadecimal trigger id.",
        ),
        "checkpointid" => (
            ParamKind::Integer,
            None,
            "Long value that identifies a checkpoint.",
        ),
        "subtaskindex" => (
            ParamKind::Integer,
            None,
            "Positive integer value that identifies a subtask.",
        ),
        "attempt" => (
            ParamKind::Integer,
            None,
            "Positive integer value that identifies an execution attempt.",
        ),
        "taskmanagerid" => (
            ParamKind::String,
            None,
            "32-character hexadecimal string that identifies a task manager.",
        ),
        "jarid" => (
            ParamKind::String,
            None,
            "String value that identifies a jar.",
        ),
        "filename" => (
            ParamKind::String,
            None,
            "String value that identifies the file name from which to read.",
        ),
        "id" => (
            ParamKind::Integer,
            None,
            "A SeaTunnel job id (a 64-bit number).",
        ),
        "state" => (
            ParamKind::String,
            None,
            "A SeaTunnel job state (FINISHED, CANCELED, FAILED, SAVEPOINT_DONE, ...), any case.",
        ),
        "name" => (ParamKind::String, None, "A log file's name, or a job id."),
        _ => (ParamKind::String, None, "A path parameter."),
    }
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
            route: |filter| axum::routing::on(filter, $handler),
            feature: $crate::endpoint::Feature::$feature,
            query: &[],
            request: Vec::new(),
            reply: $crate::endpoint::Reply {
                status: 200,
                media: $crate::endpoint::Media::Json,
                schema: None,
                also: Vec::new(),
            },
            bare: Vec::new(),
            fails: Vec::new(),
        }
    };
    (@method GET) => { $crate::endpoint::Method::Get };
    (@method POST) => { $crate::endpoint::Method::Post };
    (@method PATCH) => { $crate::endpoint::Method::Patch };
    (@method PUT) => { $crate::endpoint::Method::Put };
    (@method DELETE) => { $crate::endpoint::Method::Delete };
}
