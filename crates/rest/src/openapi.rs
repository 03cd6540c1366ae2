//! The OpenAPI document of what weir implements, built with utoipa from the same endpoint
//! declarations the router is built from, so it cannot drift from the routes.

use crate::endpoint::{Endpoint, Method};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use std::collections::BTreeMap;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathItemBuilder};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, ResponseBuilder};

pub fn endpoints() -> Vec<Endpoint> {
    vec![crate::endpoint!(GET "/openapi.json", "Returns this OpenAPI document.", openapi_json)]
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

/// The document for `endpoints` (paths in OpenAPI's `{param}` syntax, as axum's).
pub fn document(endpoints: &[Endpoint], settings: &crate::RestSettings) -> OpenApi {
    let mut by_path: BTreeMap<&str, PathItemBuilder> = BTreeMap::new();
    for e in endpoints.iter().filter(|e| settings.serves(e.feature)) {
        let op = OperationBuilder::new()
            .summary(Some(e.summary))
            .operation_id(Some(format!("{} {}", e.method.as_str(), e.path)))
            .response("200", ResponseBuilder::new().description("Success").build())
            .build();
        let item = by_path.remove(e.path).unwrap_or_default();
        by_path.insert(e.path, item.operation(http(e.method), op));
    }
    let mut paths = PathsBuilder::new();
    for (path, item) in by_path {
        let item: PathItem = item.build();
        paths = paths.path(format!("/v1{path}"), item);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("weir REST API (Flink REST API v1)")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The endpoints weir implements, each also served without the /v1 prefix.",
                ))
                .build(),
        )
        .paths(paths.build())
        .build()
}

async fn openapi_json(State(s): State<AppState>) -> Json<OpenApi> {
    Json(document(&crate::server::flink_endpoints(), &s.settings))
}
