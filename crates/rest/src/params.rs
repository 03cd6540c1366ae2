//! Path and query parameters with Flink's parse rules and error messages.

use crate::error::RestError;
use std::collections::HashMap;
use weir_core::{JobId, VertexId};

/// A job id path parameter.
pub fn job_id(raw: &str) -> Result<JobId, RestError> {
    raw.parse()
        .map_err(|_| RestError::bad_path_param("jobid", raw))
}

/// A vertex id path parameter.
pub fn vertex_id(raw: &str) -> Result<VertexId, RestError> {
    raw.parse()
        .map_err(|_| RestError::bad_path_param("vertexid", raw))
}

/// A non-negative integer path parameter.
pub fn index(name: &str, raw: &str) -> Result<usize, RestError> {
    raw.parse()
        .map_err(|_| RestError::bad_path_param(name, raw))
}

/// Query parameters, with repeated keys joined by commas as Flink does.
#[derive(Debug, Default, Clone)]
pub struct Query(pub HashMap<String, String>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Query {
        let mut map: HashMap<String, String> = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode(k), decode(v));
            map.entry(k)
                .and_modify(|old| {
                    old.push(',');
                    old.push_str(&v);
                })
                .or_insert(v);
        }
        Query(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// An optional integer parameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>, RestError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| RestError::bad_query_param(key, v)),
        }
    }

    /// An optional boolean parameter.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, RestError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(RestError::bad_query_param(key, v)),
        }
    }
}

/// Percent-decoding of one query component (`+` is a space).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_keys_join_with_commas() {
        let q = Query::parse(Some("get=a&get=b,c&x=1%2F2"));
        assert_eq!(q.get("get"), Some("a,b,c"));
        assert_eq!(q.get("x"), Some("1/2"));
        assert_eq!(q.int("x").unwrap_err().messages[0], "Bad request, could not parse parameters: Cannot resolve query parameter (x) from value \"1/2\".");
    }

    #[test]
    fn bad_ids_get_flinks_message() {
        let e = job_id("not-a-job-id").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            e.messages[0],
            "Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value \"not-a-job-id\"."
        );
        assert!(decode("%zz").contains('%'));
    }
}
