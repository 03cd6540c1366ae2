//! The served OpenAPI document against Flink's `rest_api_v1.snapshot`, endpoint by endpoint:
//! every Flink endpoint weir implements is in the document with the same method, path
//! parameters and success status; it declares at least Flink's query parameters; its request
//! body (where Flink has one) and its response body carry every field Flink's do, with
//! compatible types; and every operation in the document describes its success body and its
//! error body. Endpoints of the snapshot weir does not implement are listed, with why, so the
//! list can only shrink.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Snapshot endpoints weir does not serve, and why.
const NOT_IMPLEMENTED: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/jobs/{jobid}/coordinators/{operatorUid}",
        "operator coordinators take serialized Java requests",
    ),
    (
        "GET",
        "/jobs/{jobid}/rescales/config",
        "the adaptive scheduler's rescale history is not kept",
    ),
    (
        "GET",
        "/jobs/{jobid}/rescales/details/{rescaleuuid}",
        "the adaptive scheduler's rescale history is not kept",
    ),
    (
        "GET",
        "/jobs/{jobid}/rescales/history",
        "the adaptive scheduler's rescale history is not kept",
    ),
];

/// Request bodies weir takes in another form than Flink, and why.
const OTHER_REQUEST_BODIES: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/jobs",
        "weir takes the pipeline file itself, not a Java JobGraph's file names",
    ),
    (
        "PUT",
        "/jobs/{jobid}/resource-requirements",
        "Flink writes this map through a Jackson any-getter; the snapshot shows the Java field",
    ),
    (
        "GET",
        "/jars/{jarid}/plan",
        "a body on a GET: weir reads it as Flink does, but the document declares bodies on POSTs only",
    ),
];

/// Fields of the snapshot that Flink 2.3.0 itself leaves out of its answers (the captured
/// responses in `shared/reference/flink/examples` have none of them), or that weir leaves out
/// on purpose, and why.
const OMITTED_FIELDS: &[(&str, &str)] = &[
    (
        "inputs[].local_strategy",
        "Flink writes it only for batch plans (NON_NULL); never in the captures",
    ),
    (
        "inputs[].caching",
        "Flink writes it only for batch plans (NON_NULL); never in the captures",
    ),
    (
        "subtasks[].attempt-number",
        "absent from Flink 2.3.0's captured backpressure answers",
    ),
    (
        "subtasks[].other-concurrent-attempts",
        "absent from Flink 2.3.0's captured backpressure answers",
    ),
    (
        "response.stream-graph",
        "Flink 2.3.0 leaves it out for jobs run from a job graph, and its dashboard breaks on an empty one",
    ),
];

/// Responses whose Flink fields weir leaves out, and why.
const OTHER_RESPONSES: &[(&str, &str, &str)] = &[(
    "GET",
    "/jobs/{jobid}/resource-requirements",
    "Flink writes this map through a Jackson any-getter; the snapshot shows the Java field",
)];

fn snapshot() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/flink/rest_api_v1.snapshot");
    let text = std::fs::read_to_string(&path).expect("rest_api_v1.snapshot is in shared/");
    serde_json::from_str(&text).expect("the snapshot is JSON")
}

fn document() -> Value {
    let settings = weir_rest::RestSettings::default();
    let doc = weir_rest::openapi::document(&weir_rest::server::flink_endpoints(), &settings);
    serde_json::to_value(doc).expect("the document serializes")
}

/// `/jobs/:jobid` → `/jobs/{jobid}`.
fn template(url: &str) -> String {
    url.split('/')
        .map(|seg| match seg.strip_prefix(':') {
            Some(p) => format!("{{{p}}}"),
            None => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A schema with its `$ref`s followed.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => s,
    }
}

/// The alternatives a schema allows (`oneOf`/`anyOf` variants, `null` dropped), each resolved.
fn variants<'a>(doc: &'a Value, s: &'a Value) -> Vec<&'a Value> {
    let s = resolve(doc, s);
    for key in ["oneOf", "anyOf"] {
        if let Some(vs) = s.get(key).and_then(Value::as_array) {
            return vs
                .iter()
                .flat_map(|v| variants(doc, v))
                .filter(|v| v.get("type") != Some(&Value::String("null".into())))
                .collect();
        }
    }
    vec![s]
}

/// The JSON types a schema allows (`any` when it says none).
fn types(doc: &Value, s: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for v in variants(doc, s) {
        match v.get("type") {
            Some(Value::String(t)) => {
                out.insert(t.clone());
            }
            Some(Value::Array(ts)) => {
                out.extend(
                    ts.iter()
                        .filter_map(Value::as_str)
                        .filter(|t| *t != "null")
                        .map(str::to_string),
                );
            }
            _ if v.get("properties").is_some() || v.get("allOf").is_some() => {
                out.insert("object".into());
            }
            _ => {
                out.insert("any".into());
            }
        }
    }
    out
}

/// The properties of an object schema, through `allOf` (serde's flatten) and variants.
fn properties(doc: &Value, s: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for v in variants(doc, s) {
        if let Some(all) = v.get("allOf").and_then(Value::as_array) {
            for part in all {
                out.extend(properties(doc, part));
            }
        }
        if let Some(p) = v.get("properties").and_then(Value::as_object) {
            out.extend(p.clone());
        }
    }
    out
}

/// The item schema of an array schema.
fn items<'a>(doc: &'a Value, s: &'a Value) -> Option<&'a Value> {
    variants(doc, s).into_iter().find_map(|v| v.get("items"))
}

/// The value schema of a map schema.
fn map_values<'a>(doc: &'a Value, s: &'a Value) -> Option<&'a Value> {
    variants(doc, s)
        .into_iter()
        .find_map(|v| v.get("additionalProperties"))
        .filter(|v| v.is_object())
}

/// Whether a weir type can hold Flink's (`any` on either side holds all; a number holds an
/// integer).
fn compatible(flink: &str, weir: &BTreeSet<String>) -> bool {
    flink == "any"
        || weir.contains("any")
        || weir.contains(flink)
        || (flink == "integer" && weir.contains("number"))
}

/// Where weir's schema `ours` lacks a field of Flink's `theirs`, or types it incompatibly.
fn missing(doc: &Value, theirs: &Value, ours: &Value, at: &str, out: &mut Vec<String>) {
    let flink_type = theirs.get("type").and_then(Value::as_str).unwrap_or("any");
    let weir_types = types(doc, ours);
    if !compatible(flink_type, &weir_types) {
        out.push(format!("{at}: Flink's {flink_type}, weir's {weir_types:?}"));
        return;
    }
    match flink_type {
        "object" => {
            let ours_props = properties(doc, ours);
            if let Some(props) = theirs.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    let field = format!("{at}.{name}");
                    match ours_props.get(name) {
                        Some(o) => missing(doc, sub, o, &field, out),
                        None if OMITTED_FIELDS.iter().any(|(f, _)| field.ends_with(f)) => {}
                        None => out.push(format!("{field}: not in weir's schema")),
                    }
                }
            }
            if let Some(values) = theirs.get("additionalProperties").filter(|v| v.is_object()) {
                match map_values(doc, ours) {
                    Some(o) => missing(doc, values, o, &format!("{at}.*"), out),
                    None if weir_types.contains("any") => {}
                    // A struct of fixed fields (weir's state counts and timestamps) holds
                    // Flink's map when every field holds a map value.
                    None if !ours_props.is_empty() => {
                        for (name, o) in &ours_props {
                            missing(doc, values, o, &format!("{at}.{name}"), out);
                        }
                    }
                    None => out.push(format!("{at}: Flink's is a map, weir's is not")),
                }
            }
        }
        "array" => {
            if let (Some(t), Some(o)) = (theirs.get("items"), items(doc, ours)) {
                missing(doc, t, o, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

fn listed(list: &[(&str, &str, &str)], method: &str, path: &str) -> bool {
    list.iter().any(|(m, p, _)| *m == method && *p == path)
}

#[test]
fn the_document_describes_every_flink_endpoint_weir_serves_as_flink_does() {
    let snap = snapshot();
    let doc = document();
    let mut problems: Vec<String> = Vec::new();
    let mut unimplemented = BTreeSet::new();
    let calls = snap["calls"].as_array().expect("calls");
    for call in calls {
        let method = call["method"].as_str().unwrap_or("");
        let path = template(call["url"].as_str().unwrap_or(""));
        let Some(op) = doc["paths"][format!("/v1{path}")].get(method.to_lowercase()) else {
            unimplemented.insert((method.to_string(), path));
            continue;
        };
        let here = format!("{method} {path}");
        // Path parameters: the same, in the same order.
        let theirs: Vec<&str> = call["path-parameters"]["pathParameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["key"].as_str()).collect())
            .unwrap_or_default();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let ours: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        if theirs != ours {
            problems.push(format!(
                "{here}: path parameters {ours:?}, Flink's {theirs:?}"
            ));
        }
        // Query parameters: at least Flink's, mandatory where Flink's are.
        for q in call["query-parameters"]["queryParameters"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let name = q["key"].as_str().unwrap_or("");
            match params
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == name)
            {
                None => problems.push(format!("{here}: query parameter {name} not declared")),
                Some(p) => {
                    let required = p["required"].as_bool().unwrap_or(false);
                    if q["mandatory"].as_bool() == Some(true) && !required {
                        problems.push(format!("{here}: {name} is mandatory in Flink"));
                    }
                }
            }
        }
        // The success status.
        let status: String = call["status-code"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(3)
            .collect();
        let Some(success) = op["responses"].get(&status) else {
            let declared: Vec<&String> = op["responses"]
                .as_object()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            problems.push(format!(
                "{here}: no {status} response (declared: {declared:?})"
            ));
            continue;
        };
        // The request body, where Flink's has fields.
        if call["request"]["properties"].is_object() && !listed(OTHER_REQUEST_BODIES, method, &path)
        {
            match op["requestBody"]["content"]["application/json"].get("schema") {
                None => problems.push(format!("{here}: no JSON request body declared")),
                Some(schema) => missing(
                    &doc,
                    &call["request"],
                    schema,
                    &format!("{here} request"),
                    &mut problems,
                ),
            }
        }
        // The response body.
        if !listed(OTHER_RESPONSES, method, &path) {
            if let Some(schema) = success["content"]["application/json"].get("schema") {
                missing(
                    &doc,
                    &call["response"],
                    schema,
                    &format!("{here} response"),
                    &mut problems,
                );
            } else if call["response"]["properties"].is_object() {
                problems.push(format!("{here}: no JSON response body declared"));
            }
        }
    }
    let expected: BTreeSet<(String, String)> = NOT_IMPLEMENTED
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        unimplemented, expected,
        "the snapshot endpoints weir does not serve changed: update NOT_IMPLEMENTED"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_operation_describes_its_parameters_success_body_and_error_body() {
    for (doc, error_field, at_least) in [
        (document(), "errors", 60),
        (seatunnel_document(), "message", 25),
    ] {
        described(&doc, error_field, at_least);
    }
}

fn seatunnel_document() -> Value {
    serde_json::to_value(weir_rest::seatunnel::document("")).expect("the document serializes")
}

#[test]
fn the_seatunnel_document_has_every_endpoint_of_seatunnels_rest_api() {
    // The sections of shared/reference/seatunnel/rest.md, 4.1 to 4.15.
    let documented = [
        ("get", "/overview"),
        ("get", "/running-jobs"),
        ("get", "/job-info/{id}"),
        ("get", "/running-job/{id}"),
        ("get", "/finished-jobs"),
        ("get", "/finished-jobs/{state}"),
        ("get", "/system-monitoring-information"),
        ("get", "/thread-dump"),
        ("get", "/running-threads"),
        ("post", "/submit-job"),
        ("post", "/submit-job/upload"),
        ("post", "/submit-jobs"),
        ("post", "/stop-job"),
        ("post", "/stop-jobs"),
        ("post", "/encrypt-config"),
        ("post", "/update-tags"),
        ("get", "/logs"),
        ("get", "/logs/{name}"),
        ("get", "/log"),
        ("get", "/log/{name}"),
        ("get", "/get-all-log-name"),
    ];
    let doc = seatunnel_document();
    for (method, path) in documented {
        assert!(
            doc["paths"][path].get(method).is_some(),
            "{method} {path} is not in the SeaTunnel document"
        );
    }
    // The error body is SeaTunnel's, not Flink's.
    let error = &doc["paths"]["/overview"]["get"]["responses"]["default"]["content"]
        ["application/json"]["schema"];
    let props = properties(&doc, error);
    assert!(
        props.contains_key("status") && props.contains_key("message"),
        "{props:?}"
    );
    // v1 serves the same paths under its prefix.
    let v1 = serde_json::to_value(weir_rest::seatunnel::document("/hazelcast/rest/maps")).unwrap();
    assert!(v1["paths"]["/hazelcast/rest/maps/overview"]["get"].is_object());
}

fn described(doc: &Value, error_field: &str, at_least: usize) {
    let mut problems = Vec::new();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= at_least, "only {} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            let here = format!("{method} {path}");
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            let success: Vec<&Value> = responses
                .iter()
                .filter(|(code, _)| code.starts_with('2') || code.starts_with('3'))
                .map(|(_, r)| r)
                .collect();
            if success.len() != 1 || success[0]["content"].as_object().is_none_or(Map::is_empty) {
                problems.push(format!("{here}: no success body"));
            }
            let error = &responses
                .get("default")
                .map(|r| r["content"]["application/json"]["schema"].clone())
                .unwrap_or(Value::Null);
            if !properties(doc, error).contains_key(error_field) {
                problems.push(format!("{here}: no error body"));
            }
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let in_path: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            if declared != in_path {
                problems.push(format!("{here}: path parameters {declared:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn schema_names_are_unique() {
    // Two message types of one name would share one component and one of them be described
    // wrongly; the document builder keeps the first, so compare every declaration's schema.
    let mut components = Vec::new();
    let settings = weir_rest::RestSettings::default();
    for e in weir_rest::server::flink_endpoints()
        .iter()
        .filter(|e| settings.serves(e.feature))
    {
        if let Some(f) = e.reply.schema {
            f(&mut components);
        }
        for r in &e.request {
            (r.schema)(&mut components);
        }
    }
    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    for (name, schema) in components {
        let schema = serde_json::to_value(schema).expect("schema");
        if let Some(before) = seen.insert(name.clone(), schema.clone()) {
            assert_eq!(before, schema, "two types named {name}");
        }
    }
    assert!(seen.len() > 50, "{} schemas", seen.len());
}
