//! Literal values from a job file (FakeSource `rows`, templates) turned into Arrow arrays with
//! arrow-json's decoder, so every SeaTunnel literal form is read by one well-tested parser:
//! dates `"2023-04-22"`, times `"23:20:58"`, timestamps `"2023-04-22T23:20:58"`, decimals as
//! strings or numbers, maps as objects, rows as lists or objects. Bytes are given as base64 in
//! SeaTunnel and converted here.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use base64::Engine;
use serde_json::{Map, Value};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};

/// Builds a batch from rows given as lists of values in schema order.
pub fn rows_to_batch(schema: &SchemaRef, rows: &[Vec<Value>]) -> WeirResult<RecordBatch> {
    let objects: Vec<Map<String, Value>> = rows
        .iter()
        .enumerate()
        .map(|(r, values)| {
            if values.len() != schema.fields().len() {
                return Err(WeirError::new(format!(
                    "row {r} has {} values but the schema has {} fields",
                    values.len(),
                    schema.fields().len()
                )));
            }
            let mut obj = Map::new();
            for (field, v) in schema.fields().iter().zip(values) {
                obj.insert(field.name().clone(), normalize(v, field.data_type())?);
            }
            Ok(obj)
        })
        .collect::<WeirResult<_>>()?;
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.len().max(1))
        .build_decoder()
        .map_err(|e| WeirError::new(format!("cannot read values for this schema: {e}")))?;
    decoder
        .serialize(&objects)
        .map_err(|e| WeirError::new(format!("bad literal value: {e}")))?;
    let batch = decoder
        .flush()
        .map_err(|e| WeirError::new(format!("bad literal value: {e}")))?;
    Ok(batch.unwrap_or_else(|| RecordBatch::new_empty(schema.clone())))
}

/// A single column of values of one type.
pub fn values_to_array(dt: &DataType, values: &[Value]) -> WeirResult<arrow::array::ArrayRef> {
    let schema = Arc::new(Schema::new(vec![Field::new("v", dt.clone(), true)]));
    let rows: Vec<Vec<Value>> = values.iter().map(|v| vec![v.clone()]).collect();
    Ok(rows_to_batch(&schema, &rows)?.column(0).clone())
}

/// Rewrites SeaTunnel literal forms into what arrow-json expects.
fn normalize(v: &Value, dt: &DataType) -> WeirResult<Value> {
    Ok(match (dt, v) {
        (_, Value::Null) => Value::Null,
        (DataType::Binary, Value::String(s)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|e| WeirError::new(format!("bytes value '{s}' is not base64: {e}")))?;
            Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
        }
        (DataType::Utf8, Value::Number(n)) => Value::String(n.to_string()),
        (DataType::Utf8, Value::Bool(b)) => Value::String(b.to_string()),
        (DataType::Timestamp(..), Value::String(s)) => {
            Value::String(s.trim().replacen(' ', "T", 1))
        }
        (DataType::Date32 | DataType::Time64(_), Value::String(s)) => {
            Value::String(s.trim().to_string())
        }
        (
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64,
            Value::String(s),
        ) => {
            let n: i64 = s
                .trim()
                .parse()
                .map_err(|_| WeirError::new(format!("'{s}' is not an integer")))?;
            Value::Number(n.into())
        }
        (DataType::Float32 | DataType::Float64, Value::String(s)) => {
            let f: f64 = s
                .trim()
                .parse()
                .map_err(|_| WeirError::new(format!("'{s}' is not a number")))?;
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        (DataType::Boolean, Value::String(s)) => Value::Bool(s.trim().eq_ignore_ascii_case("true")),
        (DataType::List(item), Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|i| normalize(i, item.data_type()))
                .collect::<WeirResult<_>>()?,
        ),
        (DataType::Struct(fields), Value::Array(items)) => {
            // SeaTunnel writes nested rows as lists of values in field order.
            let mut obj = Map::new();
            for (f, item) in fields.iter().zip(items) {
                obj.insert(f.name().clone(), normalize(item, f.data_type())?);
            }
            Value::Object(obj)
        }
        (DataType::Struct(fields), Value::Object(o)) => {
            let mut obj = Map::new();
            for f in fields.iter() {
                if let Some(item) = o.get(f.name()) {
                    obj.insert(f.name().clone(), normalize(item, f.data_type())?);
                }
            }
            Value::Object(obj)
        }
        (DataType::Map(entries, _), Value::Object(o)) => {
            let value_type = match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => kv[1].data_type().clone(),
                _ => DataType::Utf8,
            };
            Value::Object(
                o.iter()
                    .map(|(k, v)| Ok((k.clone(), normalize(v, &value_type)?)))
                    .collect::<WeirResult<_>>()?,
            )
        }
        (_, other) => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, Int32Type, TimeUnit};
    use serde_json::json;

    #[test]
    fn seatunnel_literals_decode() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("d", DataType::Date32, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("b", DataType::Binary, true),
            Field::new("dec", DataType::Decimal128(10, 2), true),
            Field::new(
                "m",
                weir_pipeline::types::map_type(DataType::Utf8, DataType::Int32),
                true,
            ),
        ]));
        let batch = rows_to_batch(
            &schema,
            &[
                vec![
                    json!(1),
                    json!("2023-04-22"),
                    json!("2023-04-22 23:20:58"),
                    json!("aGk="),
                    json!("12.50"),
                    json!({"a": 1}),
                ],
                vec![
                    json!("2"),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    json!(3),
                    Value::Null,
                ],
            ],
        )
        .unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(0).as_primitive::<Int32Type>().value(1), 2);
        assert_eq!(batch.column(1).as_primitive::<Date32Type>().value(0), 19469);
        assert_eq!(batch.column(3).as_binary::<i32>().value(0), b"hi");
        assert!(batch.column(1).is_null(1));
    }

    #[test]
    fn wrong_arity_is_explained() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, true)]));
        let e = rows_to_batch(&schema, &[vec![json!(1), json!(2)]]).unwrap_err();
        assert!(e.message.contains("has 2 values but the schema has 1"));
    }
}
