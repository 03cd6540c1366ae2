//! Message values as rows and rows as message values, in SeaTunnel's Kafka formats: `json`
//! (one object per message), `text` (fields split by `field_delimiter`), and the change-log
//! formats `canal_json` and `debezium_json`, whose envelopes carry row kinds (an update is an
//! UPDATE_BEFORE and an UPDATE_AFTER row, a delete a DELETE row).

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use serde_json::{Map, Value};
use weir_core::{WeirError, WeirResult};
use weir_runtime::batch::{Batch, RowKind};
use weir_runtime::connectors::{json_bytes, local_file_source, text_rows};

/// A message format.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    Json,
    Text { delimiter: String },
    CanalJson,
    DebeziumJson,
}

impl Format {
    /// `format` and `field_delimiter` as SeaTunnel spells them.
    pub fn parse(name: Option<&str>, delimiter: Option<&str>) -> WeirResult<Format> {
        match name.unwrap_or("json").to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "text" => Ok(Format::Text {
                delimiter: local_file_source::unescape_delimiter(delimiter.unwrap_or(",")),
            }),
            "canal_json" | "canal-json" => Ok(Format::CanalJson),
            "debezium_json" | "debezium-json" => Ok(Format::DebeziumJson),
            other => Err(WeirError::new(format!(
                "the Kafka connector has no format '{other}'; use json, text, canal_json or debezium_json"
            ))),
        }
    }
}

/// What to do with a message that does not parse (`format_error_handle_way`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    Fail,
    Skip,
}

/// Rows from messages, and how many messages were skipped as malformed.
pub fn decode(
    format: &Format,
    schema: &SchemaRef,
    values: &[Option<Bytes>],
    on_error: OnError,
) -> WeirResult<(Batch, usize)> {
    match decode_all(format, schema, values) {
        Ok(b) => Ok((b, 0)),
        Err(e) if on_error == OnError::Fail => Err(e),
        Err(_) => {
            // Find the bad ones: one at a time is slow, and only happens when some are bad.
            let mut good = Vec::new();
            let mut skipped = 0;
            for v in values {
                match decode_all(format, schema, std::slice::from_ref(v)) {
                    Ok(b) => good.push(b),
                    Err(e) => {
                        skipped += 1;
                        tracing::debug!(error = %e.message, "skipping a malformed Kafka message");
                    }
                }
            }
            Ok((concat(schema, good)?, skipped))
        }
    }
}

fn concat(schema: &SchemaRef, batches: Vec<Batch>) -> WeirResult<Batch> {
    let mut kinds = Vec::new();
    let mut records = Vec::new();
    for b in &batches {
        kinds.extend((0..b.num_rows()).map(|i| b.kind(i)));
        records.push(b.records.clone());
    }
    let records = arrow::compute::concat_batches(schema, &records)
        .map_err(|e| WeirError::new(e.to_string()))?;
    Ok(Batch::with_kinds(records, kinds))
}

fn text_of(v: &Option<Bytes>) -> WeirResult<&str> {
    let b = v
        .as_ref()
        .ok_or_else(|| WeirError::new("a message without a value"))?;
    std::str::from_utf8(b).map_err(|_| WeirError::new("a message value that is not UTF-8"))
}

fn decode_all(format: &Format, schema: &SchemaRef, values: &[Option<Bytes>]) -> WeirResult<Batch> {
    match format {
        Format::Json => {
            let mut buf = Vec::new();
            for v in values {
                let t = text_of(v)?.trim();
                if !t.starts_with('{') {
                    return Err(WeirError::new(format!("not a JSON object: {}", preview(t))));
                }
                buf.extend_from_slice(t.as_bytes());
                buf.push(b'\n');
            }
            json_rows(schema, &buf, values.len()).map(Batch::inserts)
        }
        Format::Text { delimiter } => {
            let lines = values
                .iter()
                .map(|v| text_of(v).map(str::to_string))
                .collect::<WeirResult<Vec<_>>>()?;
            local_file_source::split_lines(&lines, delimiter, schema).map(Batch::inserts)
        }
        Format::CanalJson | Format::DebeziumJson => {
            let mut rows = Vec::new();
            let mut kinds = Vec::new();
            for v in values {
                let doc: Value = serde_json::from_str(text_of(v)?)
                    .map_err(|e| WeirError::new(format!("not JSON: {e}")))?;
                if *format == Format::CanalJson {
                    canal_rows(&doc, &mut rows, &mut kinds)?;
                } else {
                    debezium_rows(&doc, &mut rows, &mut kinds)?;
                }
            }
            let mut buf = Vec::new();
            for r in &rows {
                serde_json::to_writer(&mut buf, r).map_err(|e| WeirError::new(e.to_string()))?;
                buf.push(b'\n');
            }
            let records = json_rows(schema, &buf, rows.len())?;
            Ok(Batch::with_kinds(records, kinds))
        }
    }
}

fn preview(t: &str) -> String {
    let mut s: String = t.chars().take(60).collect();
    if s.len() < t.len() {
        s.push('…');
    }
    s
}

/// Newline-separated JSON objects as `rows` rows of `schema`.
fn json_rows(schema: &SchemaRef, buf: &[u8], rows: usize) -> WeirResult<RecordBatch> {
    let read = json_bytes::read_schema(schema);
    let mut decoder = arrow::json::ReaderBuilder::new(read)
        .with_batch_size(rows.max(1))
        .build_decoder()
        .map_err(|e| WeirError::new(e.to_string()))?;
    let mut at = 0;
    while at < buf.len() {
        let n = decoder
            .decode(&buf[at..])
            .map_err(|e| WeirError::new(format!("a message does not fit the schema: {e}")))?;
        if n == 0 {
            break;
        }
        at += n;
    }
    let batch = decoder
        .flush()
        .map_err(|e| WeirError::new(format!("a message does not fit the schema: {e}")))?
        .unwrap_or_else(|| RecordBatch::new_empty(json_bytes::read_schema(schema)));
    json_bytes::decode(batch, schema)
}

fn object<'a>(v: &'a Value, what: &str) -> WeirResult<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| WeirError::new(format!("'{what}' is not a JSON object")))
}

/// Canal's envelope: `{"data": [...], "old": [...], "type": "INSERT|UPDATE|DELETE"}`.
fn canal_rows(doc: &Value, rows: &mut Vec<Value>, kinds: &mut Vec<RowKind>) -> WeirResult<()> {
    let kind = doc
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| WeirError::new("a canal_json message without 'type'"))?;
    let data = doc
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| WeirError::new("a canal_json message without a 'data' array"))?;
    match kind.to_ascii_uppercase().as_str() {
        "INSERT" => {
            for d in data {
                object(d, "data")?;
                rows.push(d.clone());
                kinds.push(RowKind::Insert);
            }
        }
        "UPDATE" => {
            let old = doc.get("old").and_then(Value::as_array);
            for (i, d) in data.iter().enumerate() {
                let after = object(d, "data")?;
                // 'old' holds only the columns that changed.
                let mut before = after.clone();
                if let Some(o) = old.and_then(|o| o.get(i)).and_then(Value::as_object) {
                    for (k, v) in o {
                        before.insert(k.clone(), v.clone());
                    }
                }
                rows.push(Value::Object(before));
                kinds.push(RowKind::UpdateBefore);
                rows.push(d.clone());
                kinds.push(RowKind::UpdateAfter);
            }
        }
        "DELETE" => {
            for d in data {
                object(d, "data")?;
                rows.push(d.clone());
                kinds.push(RowKind::Delete);
            }
        }
        // Canal also carries DDL and other events; they hold no rows.
        _ => {}
    }
    Ok(())
}

/// Debezium's envelope, with or without its `{"schema", "payload"}` wrapper:
/// `{"before": ..., "after": ..., "op": "c|r|u|d"}`.
fn debezium_rows(doc: &Value, rows: &mut Vec<Value>, kinds: &mut Vec<RowKind>) -> WeirResult<()> {
    let doc = match doc.get("payload") {
        Some(p) if p.is_object() => p,
        _ => doc,
    };
    let op = doc
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| WeirError::new("a debezium_json message without 'op'"))?;
    let side = |k: &str| -> WeirResult<Value> {
        let v = doc.get(k).filter(|v| !v.is_null()).ok_or_else(|| {
            WeirError::new(format!("a debezium_json '{op}' message without '{k}'"))
        })?;
        object(v, k)?;
        Ok(v.clone())
    };
    match op {
        "c" | "r" => {
            rows.push(side("after")?);
            kinds.push(RowKind::Insert);
        }
        "u" => {
            rows.push(side("before")?);
            kinds.push(RowKind::UpdateBefore);
            rows.push(side("after")?);
            kinds.push(RowKind::UpdateAfter);
        }
        "d" => {
            rows.push(side("before")?);
            kinds.push(RowKind::Delete);
        }
        other => {
            return Err(WeirError::new(format!(
                "a debezium_json message with unknown op '{other}'"
            )))
        }
    }
    Ok(())
}

/// Each row of `batch` as a message value in `format`, and (when asked) each row as a JSON
/// object, for keys and topic routing.
pub fn encode(format: &Format, batch: &Batch, want_objects: bool) -> WeirResult<Encoded> {
    let json_lines = || -> WeirResult<Vec<Map<String, Value>>> {
        let mut buf = Vec::new();
        {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
            w.write(&json_bytes::encode(&batch.records)?)
                .and_then(|_| w.finish())
                .map_err(|e| WeirError::new(format!("encoding rows as JSON: {e}")))?;
        }
        buf.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).map_err(|e| WeirError::new(e.to_string())))
            .collect()
    };
    match format {
        Format::Text { delimiter } => {
            let lines = text_rows::lines(&batch.records, delimiter)
                .map_err(|e| WeirError::new(format!("encoding rows as text: {e}")))?;
            Ok(Encoded {
                values: lines.into_iter().map(Bytes::from).collect(),
                objects: if want_objects {
                    Some(json_lines()?)
                } else {
                    None
                },
            })
        }
        Format::Json => {
            let objects = json_lines()?;
            let values = objects
                .iter()
                .map(|o| serde_json::to_vec(o).map(Bytes::from))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| WeirError::new(e.to_string()))?;
            Ok(Encoded {
                values,
                objects: want_objects.then_some(objects),
            })
        }
        Format::CanalJson | Format::DebeziumJson => {
            let objects = json_lines()?;
            let values = objects
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let row = Value::Object(o.clone());
                    let kind = batch.kind(i);
                    let doc = if *format == Format::CanalJson {
                        let t = match kind {
                            RowKind::Insert => "INSERT",
                            RowKind::UpdateBefore | RowKind::UpdateAfter => "UPDATE",
                            RowKind::Delete => "DELETE",
                        };
                        serde_json::json!({"data": [row], "type": t})
                    } else {
                        match kind {
                            RowKind::Insert => {
                                serde_json::json!({"before": null, "after": row, "op": "c"})
                            }
                            RowKind::UpdateAfter => {
                                serde_json::json!({"before": null, "after": row, "op": "u"})
                            }
                            RowKind::UpdateBefore | RowKind::Delete => {
                                serde_json::json!({"before": row, "after": null, "op": "d"})
                            }
                        }
                    };
                    serde_json::to_vec(&doc).map(Bytes::from)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| WeirError::new(e.to_string()))?;
            Ok(Encoded {
                values,
                objects: want_objects.then_some(objects),
            })
        }
    }
}

/// Rows encoded for the sink.
pub struct Encoded {
    pub values: Vec<Bytes>,
    pub objects: Option<Vec<Map<String, Value>>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]))
    }

    fn msgs(v: &[&str]) -> Vec<Option<Bytes>> {
        v.iter().map(|s| Some(Bytes::from(s.to_string()))).collect()
    }

    #[test]
    fn json_and_text_messages_become_rows() {
        let (b, skipped) = decode(
            &Format::Json,
            &schema(),
            &msgs(&[r#"{"id":1,"name":"a"}"#, r#"{"id":2}"#]),
            OnError::Fail,
        )
        .unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(b.records.num_rows(), 2);
        assert!(b.records.column(1).is_null(1));
        let text = Format::parse(Some("text"), Some("|")).unwrap();
        let (b, _) = decode(&text, &schema(), &msgs(&["7|x"]), OnError::Fail).unwrap();
        assert_eq!(b.records.column(0).as_primitive::<Int64Type>().value(0), 7);
    }

    #[test]
    fn malformed_messages_fail_or_are_skipped_and_counted() {
        let m = msgs(&[r#"{"id":1}"#, "not json", r#"{"id":"x"}"#, r#"{"id":4}"#]);
        let e = decode(&Format::Json, &schema(), &m, OnError::Fail).unwrap_err();
        assert!(e.message.contains("JSON"), "{}", e.message);
        let (b, skipped) = decode(&Format::Json, &schema(), &m, OnError::Skip).unwrap();
        assert_eq!(skipped, 2);
        let ids = b.records.column(0).as_primitive::<Int64Type>();
        assert_eq!(ids, &Int64Array::from(vec![1, 4]));
    }

    #[test]
    fn change_log_formats_give_row_kinds() {
        let canal = msgs(&[
            r#"{"data":[{"id":"1","name":"b"}],"old":[{"name":"a"}],"type":"UPDATE"}"#,
            r#"{"data":[{"id":"2","name":"c"}],"type":"DELETE"}"#,
        ]);
        let (b, _) = decode(&Format::CanalJson, &schema(), &canal, OnError::Fail).unwrap();
        let kinds: Vec<RowKind> = (0..b.num_rows()).map(|i| b.kind(i)).collect();
        assert_eq!(
            kinds,
            vec![RowKind::UpdateBefore, RowKind::UpdateAfter, RowKind::Delete]
        );
        assert_eq!(b.records.column(1).as_string::<i32>().value(0), "a");
        let dbz = msgs(&[
            r#"{"schema":{},"payload":{"before":null,"after":{"id":3,"name":"x"},"op":"c"}}"#,
            r#"{"before":{"id":3,"name":"x"},"after":null,"op":"d"}"#,
        ]);
        let (b, _) = decode(&Format::DebeziumJson, &schema(), &dbz, OnError::Fail).unwrap();
        let kinds: Vec<RowKind> = (0..b.num_rows()).map(|i| b.kind(i)).collect();
        assert_eq!(kinds, vec![RowKind::Insert, RowKind::Delete]);
    }

    #[test]
    fn rows_encode_and_decode_back() {
        let (b, _) = decode(
            &Format::Json,
            &schema(),
            &msgs(&[r#"{"id":1,"name":"a"}"#, r#"{"id":2}"#]),
            OnError::Fail,
        )
        .unwrap();
        for f in [
            Format::Json,
            Format::Text {
                delimiter: ",".into(),
            },
            Format::DebeziumJson,
            Format::CanalJson,
        ] {
            let e = encode(&f, &b, true).unwrap();
            let back: Vec<Option<Bytes>> = e.values.into_iter().map(Some).collect();
            let (again, _) = decode(&f, &schema(), &back, OnError::Fail).unwrap();
            assert_eq!(again.records, b.records, "{f:?}");
            assert_eq!(e.objects.unwrap()[0]["id"], 1);
        }
    }
}
