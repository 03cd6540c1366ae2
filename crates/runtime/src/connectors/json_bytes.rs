//! Bytes in JSON files as SeaTunnel (Jackson) writes them: base64 strings. arrow-json reads and
//! writes binary as hex, so a json source reads binary columns (at any depth) as strings and
//! decodes them, and a json sink encodes them before writing.

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, GenericListArray, MapArray, StringArray, StructArray,
};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use base64::Engine as _;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};

fn has_binary(dt: &DataType) -> bool {
    match dt {
        DataType::Binary | DataType::LargeBinary => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::Map(f, _) => {
            has_binary(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().any(|f| has_binary(f.data_type())),
        _ => false,
    }
}

/// `dt` with every binary type made a string.
fn as_text(dt: &DataType) -> DataType {
    let field =
        |f: &Arc<Field>| Arc::new(f.as_ref().clone().with_data_type(as_text(f.data_type())));
    match dt {
        DataType::Binary | DataType::LargeBinary => DataType::Utf8,
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect::<Fields>()),
        other => other.clone(),
    }
}

/// The schema a json file is read in: `schema` with bytes as (base64) strings.
pub fn read_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema.fields().iter().any(|f| has_binary(f.data_type())) {
        return schema.clone();
    }
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_data_type(as_text(f.data_type())))
            .collect::<Vec<_>>(),
    ))
}

/// A batch read in `read_schema(schema)` as `schema`: base64 strings decoded into bytes.
pub fn decode(batch: RecordBatch, schema: &SchemaRef) -> WeirResult<RecordBatch> {
    if batch.schema() == *schema {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            convert(c, f.data_type())
                .map_err(|e| WeirError::new(format!("column '{}': {}", f.name(), e.message)))
        })
        .collect::<WeirResult<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| WeirError::new(e.to_string()))
}

/// A batch about to be written to a json file: bytes as base64 strings.
pub fn encode(batch: &RecordBatch) -> WeirResult<RecordBatch> {
    let schema = batch.schema();
    let text = read_schema(&schema);
    if text == schema {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(text.fields())
        .map(|(c, f)| convert(c, f.data_type()))
        .collect::<WeirResult<Vec<_>>>()?;
    RecordBatch::try_new(text, columns).map_err(|e| WeirError::new(e.to_string()))
}

/// `array` rebuilt as `target`, converting bytes at any depth (to or from base64, as the
/// types say).
fn convert(array: &ArrayRef, target: &DataType) -> WeirResult<ArrayRef> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(match (array.data_type(), target) {
        (DataType::Utf8, DataType::Binary) => {
            let text = array.as_string::<i32>();
            let bytes = text
                .iter()
                .map(|v| {
                    v.map(|s| {
                        b64.decode(s.trim()).map_err(|e| {
                            WeirError::new(format!("bytes value '{s}' is not base64: {e}"))
                        })
                    })
                    .transpose()
                })
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(BinaryArray::from_iter(bytes))
        }
        (DataType::Binary, DataType::Utf8) => Arc::new(StringArray::from_iter(
            array
                .as_binary::<i32>()
                .iter()
                .map(|v| v.map(|b| b64.encode(b))),
        )),
        (DataType::LargeBinary, DataType::Utf8) => Arc::new(StringArray::from_iter(
            array
                .as_binary::<i64>()
                .iter()
                .map(|v| v.map(|b| b64.encode(b))),
        )),
        (DataType::Utf8, DataType::LargeBinary) => {
            let narrow = convert(array, &DataType::Binary)?;
            arrow::compute::cast(&narrow, target).map_err(|e| WeirError::new(e.to_string()))?
        }
        (DataType::Struct(_), DataType::Struct(fields)) => {
            let s = array.as_struct();
            let children = s
                .columns()
                .iter()
                .zip(fields.iter())
                .map(|(c, f)| convert(c, f.data_type()))
                .collect::<WeirResult<Vec<_>>>()?;
            Arc::new(
                StructArray::try_new(fields.clone(), children, s.nulls().cloned())
                    .map_err(|e| WeirError::new(e.to_string()))?,
            )
        }
        (DataType::List(_), DataType::List(f)) => {
            let l = array.as_list::<i32>();
            let values = convert(l.values(), f.data_type())?;
            Arc::new(
                GenericListArray::<i32>::try_new(
                    f.clone(),
                    l.offsets().clone(),
                    values,
                    l.nulls().cloned(),
                )
                .map_err(|e| WeirError::new(e.to_string()))?,
            )
        }
        (DataType::LargeList(_), DataType::LargeList(f)) => {
            let l = array.as_list::<i64>();
            let values = convert(l.values(), f.data_type())?;
            Arc::new(
                GenericListArray::<i64>::try_new(
                    f.clone(),
                    l.offsets().clone(),
                    values,
                    l.nulls().cloned(),
                )
                .map_err(|e| WeirError::new(e.to_string()))?,
            )
        }
        (DataType::Map(..), DataType::Map(f, sorted)) => {
            let m = array.as_map();
            let entries: ArrayRef = Arc::new(m.entries().clone());
            let converted = convert(&entries, f.data_type())?;
            Arc::new(
                MapArray::try_new(
                    f.clone(),
                    m.offsets().clone(),
                    converted.as_struct().clone(),
                    m.nulls().cloned(),
                    *sorted,
                )
                .map_err(|e| WeirError::new(e.to_string()))?,
            )
        }
        (from, to) => {
            return Err(WeirError::new(format!(
                "cannot convert {from} to {to} for a json file"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_at_any_depth_go_through_base64() {
        let row = Fields::from(vec![
            Field::new("b", DataType::Binary, true),
            Field::new("n", DataType::Int32, true),
        ]);
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("b", DataType::Binary, true),
            Field::new("r", DataType::Struct(row.clone()), true),
        ]));
        let bytes: ArrayRef = Arc::new(BinaryArray::from_iter([Some(&b"CskVt"[..]), None]));
        let inner: ArrayRef = Arc::new(BinaryArray::from_iter([Some(&b"x"[..]), Some(&b""[..])]));
        let n: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![1, 2]));
        let r: ArrayRef = Arc::new(StructArray::try_new(row, vec![inner, n], None).unwrap());
        let batch = RecordBatch::try_new(schema.clone(), vec![bytes, r]).unwrap();
        let text = encode(&batch).unwrap();
        assert_eq!(text.schema(), read_schema(&schema));
        assert_eq!(text.column(0).as_string::<i32>().value(0), "Q3NrVnQ=");
        assert_eq!(decode(text, &schema).unwrap(), batch);
        let bad = RecordBatch::try_new(
            read_schema(&schema),
            vec![
                Arc::new(StringArray::from(vec![Some("%%%"), None])) as ArrayRef,
                encode(&batch).unwrap().column(1).clone(),
            ],
        )
        .unwrap();
        assert!(decode(bad, &schema)
            .unwrap_err()
            .message
            .contains("column 'b': bytes value '%%%' is not base64"));
    }
}
