//! The OpenAPI document of what weir implements, built with utoipa from the same endpoint
//! declarations the router is built from, so it cannot drift from the routes: each operation's
//! path and query parameters, request bodies, success body and error body.

use crate::endpoint::{
    path_param, schema_of, Components, Endpoint, Media, Method, ParamKind, QueryParam, SchemaFn,
};
use crate::error::ErrorResponseBody;
use crate::json::Json;
use crate::state::AppState;
use axum::extract::State;
use std::collections::BTreeMap;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathItemBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder,
    Required, ResponseBuilder, Schema,
};

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        crate::endpoint!(GET "/openapi.json", "Returns this OpenAPI document.", openapi_json)
            .returns::<serde_json::Value>(),
    ]
}

fn http(m: Method) -> HttpMethod {
    match m {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Patch => HttpMethod::Patch,
        Method::Put => HttpMethod::Put,
        Method::Delete => HttpMethod::Delete,
    }
}

/// The schema of a parameter of `kind` (with `pattern` for ids). Path indexes are never
/// negative; query integers may be (Flink's `parallelism=-1` means the default).
fn param_schema(kind: ParamKind, pattern: Option<&str>, in_path: bool) -> Schema {
    let b = ObjectBuilder::new();
    let b = match kind {
        ParamKind::Integer if in_path => b.schema_type(Type::Integer).minimum(Some(0)),
        ParamKind::Integer => b.schema_type(Type::Integer),
        ParamKind::Boolean => b.schema_type(Type::Boolean),
        ParamKind::String => b.schema_type(Type::String).pattern(pattern),
        ParamKind::OneOf(words) => b
            .schema_type(Type::String)
            .enum_values(Some(words.to_vec())),
    };
    Schema::Object(b.build())
}

fn query_parameter(q: &QueryParam) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(q.name)
        .parameter_in(ParameterIn::Query)
        .required(if q.required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(q.description))
        .schema(Some(param_schema(q.kind, None, false)))
        .build()
}

/// One operation of the document.
fn operation<S>(
    e: &Endpoint<S>,
    error_body: SchemaFn,
    components: &mut Components,
) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .summary(Some(e.summary))
        .operation_id(Some(format!("{} {}", e.method.as_str(), e.path)));
    for name in e.path_params() {
        let (kind, pattern, description) = path_param(name);
        op = op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(param_schema(kind, pattern, true))),
        );
    }
    for q in e.query {
        op = op.parameter(query_parameter(q));
    }
    if !e.request.is_empty() {
        let mut body = RequestBodyBuilder::new().required(Some(Required::True));
        for r in &e.request {
            body = body.content(
                r.media.as_str(),
                ContentBuilder::new()
                    .schema(Some((r.schema)(components)))
                    .build(),
            );
        }
        op = op.request_body(Some(body.build()));
    }
    let mut success = ResponseBuilder::new().description(match e.reply.status {
        202 => "Accepted",
        _ => "Success",
    });
    if let Some(schema) = e.reply.schema {
        success = success.content(
            e.reply.media.as_str(),
            ContentBuilder::new()
                .schema(Some(schema(components)))
                .build(),
        );
    }
    for (media, schema) in &e.reply.also {
        success = success.content(
            media.as_str(),
            ContentBuilder::new()
                .schema(Some(schema(components)))
                .build(),
        );
    }
    let error = ResponseBuilder::new()
        .description("An error: the status says which kind, the message what to change.")
        .content(
            Media::Json.as_str(),
            ContentBuilder::new()
                .schema(Some(error_body(components)))
                .build(),
        );
    for (status, why) in &e.fails {
        op = op.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(*why)
                .content(
                    Media::Json.as_str(),
                    ContentBuilder::new()
                        .schema(Some(error_body(components)))
                        .build(),
                )
                .build(),
        );
    }
    for (status, why) in &e.bare {
        op = op.response(
            status.to_string(),
            ResponseBuilder::new().description(*why).build(),
        );
    }
    op.response(e.reply.status.to_string(), success.build())
        .response("default", error.build())
        .build()
}

/// The document for `endpoints` (paths in OpenAPI's `{param}` syntax, as axum's).
pub fn document(endpoints: &[Endpoint], settings: &crate::RestSettings) -> OpenApi {
    let served: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| settings.serves(e.feature))
        .collect();
    build(
        &served,
        "/v1",
        schema_of::<ErrorResponseBody>,
        "weir REST API (Flink REST API v1)",
        "The endpoints weir implements, each also served without the /v1 prefix.",
    )
}

/// A document of `endpoints` under `prefix`.
pub fn build<S>(
    endpoints: &[&Endpoint<S>],
    prefix: &str,
    error: SchemaFn,
    title: &str,
    description: &str,
) -> OpenApi {
    let mut components: Components = Vec::new();
    let mut by_path: BTreeMap<&str, PathItemBuilder> = BTreeMap::new();
    for e in endpoints {
        let op = operation(e, error, &mut components);
        let item = by_path.remove(e.path).unwrap_or_default();
        by_path.insert(e.path, item.operation(http(e.method), op));
    }
    let mut paths = PathsBuilder::new();
    for (path, item) in by_path {
        let item: PathItem = item.build();
        paths = paths.path(format!("{prefix}{path}"), item);
    }
    let mut schemas = ComponentsBuilder::new();
    // Sorted and deduplicated, so the document is the same on every call.
    components.sort_by(|a, b| a.0.cmp(&b.0));
    components.dedup_by(|a, b| a.0 == b.0);
    for (name, schema) in components {
        schemas = schemas.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(title)
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(description))
                .build(),
        )
        .paths(paths.build())
        .components(Some(schemas.build()))
        .build()
}

async fn openapi_json(State(s): State<AppState>) -> Json<OpenApi> {
    Json(document(&crate::server::flink_endpoints(), &s.settings))
}
