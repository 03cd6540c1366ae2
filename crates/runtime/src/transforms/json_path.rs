//! `JsonPath`: SeaTunnel's transform that reads values out of a JSON column by JSONPath
//! (`columns = [{ src_field, path, dest_field, dest_type }]`) into new columns of the given
//! type (string by default).
//!
//! As in SeaTunnel, a path that finds nothing or a value that does not convert is an error by
//! default; `column_error_handle_way = SKIP` makes that column null for the row, `SKIP_ROW`
//! drops the row, and `row_error_handle_way = SKIP` drops any row with an error.

use crate::batch::Batch;
use crate::operator::{
    PrepareContext, PreparedTransform, StatelessTransform, Transform, TransformFactory,
};
use crate::values::values_to_array;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use serde_json::Value;
use serde_json_path::JsonPath;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::options::as_string;
use weir_pipeline::types::parse_type_value;
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct JsonPathFactory;

/// What to do with an error in one column of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnError {
    Fail,
    /// The column is null for that row.
    SkipColumn,
    /// The row is dropped.
    SkipRow,
}

#[derive(Clone)]
struct Column {
    source: usize,
    source_name: String,
    path: JsonPath,
    path_text: String,
    dest_type: DataType,
    on_error: OnError,
}

#[derive(Clone)]
struct JsonPathTransform {
    schema: SchemaRef,
    columns: Vec<Column>,
}

fn handle_way(value: Option<&Value>, key: &str, column: bool) -> WeirResult<Option<OnError>> {
    let Some(v) = value else { return Ok(None) };
    let text = as_string(v).unwrap_or_default().to_ascii_uppercase();
    Ok(Some(match text.as_str() {
        "FAIL" => OnError::Fail,
        "SKIP" if column => OnError::SkipColumn,
        "SKIP" | "SKIP_ROW" => OnError::SkipRow,
        other => {
            return Err(WeirError::new(format!(
                "{key} '{other}' is not FAIL, SKIP{}",
                if column { " or SKIP_ROW" } else { "" }
            )))
        }
    }))
}

impl TransformFactory for JsonPathFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "JsonPath",
            PluginKind::Transform,
            vec![
                OptionSpec::required("columns", OptionType::List),
                OptionSpec::optional("row_error_handle_way", OptionType::String),
            ],
        )
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let row_way = handle_way(o.get("row_error_handle_way"), "row_error_handle_way", false)?
            .unwrap_or(OnError::Fail);
        let Some(Value::Array(list)) = o.get("columns") else {
            return Err(WeirError::new(
                "'columns' must be a list of { src_field, path, dest_field }",
            ));
        };
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut columns = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let at = format!("columns[{i}]");
            let get = |k: &str| c.get(k).and_then(as_string);
            let need = |k: &str| get(k).ok_or_else(|| WeirError::new(format!("{at} needs '{k}'")));
            let (src, path_text, dest) = (need("src_field")?, need("path")?, need("dest_field")?);
            let source = input.index_of(&src).map_err(|_| {
                WeirError::new(format!("{at}.src_field: '{src}' is not in the input"))
            })?;
            match input.field(source).data_type() {
                DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Binary
                | DataType::List(_)
                | DataType::Map(..)
                | DataType::Struct(_) => {}
                other => {
                    return Err(WeirError::new(format!(
                        "{at}.src_field: '{src}' is {}; JsonPath reads string, bytes, array, map or row fields",
                        weir_pipeline::types::seatunnel_type_name(other)
                    )))
                }
            }
            let path = JsonPath::parse(&path_text).map_err(|e| {
                WeirError::new(format!("{at}.path '{path_text}' is not a JSONPath: {e}"))
            })?;
            let dest_type = match c.get("dest_type") {
                Some(t) => parse_type_value(t)
                    .map_err(|e| WeirError::new(format!("{at}.dest_type: {}", e.0)))?,
                None => DataType::Utf8,
            };
            if fields.iter().any(|f| f.name() == &dest) {
                return Err(WeirError::new(format!(
                    "{at}.dest_field: '{dest}' is already a field"
                )));
            }
            fields.push(Field::new(&dest, dest_type.clone(), true));
            let on_error = handle_way(
                c.get("column_error_handle_way"),
                &format!("{at}.column_error_handle_way"),
                true,
            )?
            .unwrap_or(row_way);
            columns.push(Column {
                source,
                source_name: src,
                path,
                path_text,
                dest_type,
                on_error,
            });
        }
        Ok(Arc::new(JsonPathTransform {
            schema: Arc::new(Schema::new(fields)),
            columns,
        }))
    }
}

impl StatelessTransform for JsonPathTransform {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// One row's JSON document: strings and bytes are parsed; arrays, maps and rows are taken as
/// SeaTunnel serialises them (a row as the list of its field values).
fn json_doc(col: &ArrayRef, row: usize) -> Option<Result<Value, String>> {
    if col.is_null(row) {
        return None;
    }
    let parse = super::relaxed_json::parse;
    Some(match col.data_type() {
        DataType::Utf8 => parse(col.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => parse(col.as_string::<i64>().value(row)),
        DataType::Binary => parse(&String::from_utf8_lossy(col.as_binary::<i32>().value(row))),
        _ => Ok(to_json(col, row)),
    })
}

/// An Arrow value as JSON.
fn to_json(col: &ArrayRef, row: usize) -> Value {
    use arrow::datatypes::*;
    if col.is_null(row) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(col.as_primitive::<$t>().value(row))
        };
    }
    match col.data_type() {
        DataType::Boolean => Value::Bool(col.as_boolean().value(row)),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::Float32 => num!(Float32Type),
        DataType::Float64 => num!(Float64Type),
        DataType::Utf8 => Value::String(col.as_string::<i32>().value(row).to_string()),
        DataType::List(_) => {
            let items = col.as_list::<i32>().value(row);
            Value::Array((0..items.len()).map(|i| to_json(&items, i)).collect())
        }
        DataType::Struct(_) => Value::Array(
            col.as_struct()
                .columns()
                .iter()
                .map(|c| to_json(c, row))
                .collect(),
        ),
        DataType::Map(..) => {
            let entries = col.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            Value::Object(
                (0..entries.len())
                    .map(|i| {
                        let k = match to_json(keys, i) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k, to_json(values, i))
                    })
                    .collect(),
            )
        }
        _ => arrow::util::display::ArrayFormatter::try_new(
            col.as_ref(),
            &arrow::util::display::FormatOptions::default(),
        )
        .map(|f| Value::String(f.value(row).to_string()))
        .unwrap_or(Value::Null),
    }
}

impl Column {
    /// The value the path finds in one row's JSON, shaped for the destination type.
    fn read(&self, doc: Result<Value, String>) -> Result<Value, String> {
        let doc = doc.map_err(|e| format!("'{}' is {e}", self.source_name))?;
        let found: Vec<&Value> = self.path.query(&doc).all();
        let value = match found.as_slice() {
            [] => return Err(format!("no value at {}", self.path_text)),
            [one] => (*one).clone(),
            many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
        };
        // A string column holds a found object or list as its JSON text.
        Ok(match (&self.dest_type, value) {
            (DataType::Utf8, v @ (Value::Object(_) | Value::Array(_))) => {
                Value::String(v.to_string())
            }
            (_, v) => v,
        })
    }
}

impl Transform for JsonPathTransform {
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        let rows = batch.num_rows();
        let mut keep = vec![true; rows];
        let mut new_columns: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let src = batch.records.column(c.source);
            let mut values = Vec::with_capacity(rows);
            for (row, kept) in keep.iter_mut().enumerate() {
                let Some(doc) = json_doc(src, row) else {
                    values.push(Value::Null);
                    continue;
                };
                match c.read(doc) {
                    Ok(v) => values.push(v),
                    Err(why) => {
                        match c.on_error {
                            OnError::Fail => {
                                return Err(WeirError::new(format!(
                                    "JsonPath {}: {why}",
                                    c.path_text
                                ))
                                .with_hint("set column_error_handle_way = SKIP to leave it null"))
                            }
                            OnError::SkipRow => *kept = false,
                            OnError::SkipColumn => {}
                        }
                        values.push(Value::Null);
                    }
                }
            }
            let array = match values_to_array(&c.dest_type, &values) {
                Ok(a) => a,
                // One value does not convert: find it, and handle it as an error of its row.
                Err(_) => {
                    let mut one_by_one = Vec::with_capacity(rows);
                    for (row, v) in values.iter().enumerate() {
                        match values_to_array(&c.dest_type, std::slice::from_ref(v)) {
                            Ok(_) => one_by_one.push(v.clone()),
                            Err(e) => {
                                match c.on_error {
                                    OnError::Fail => {
                                        return Err(WeirError::new(format!(
                                            "JsonPath {}: {v} is not a {} value: {e}",
                                            c.path_text,
                                            weir_pipeline::types::seatunnel_type_name(&c.dest_type)
                                        )))
                                    }
                                    OnError::SkipRow => keep[row] = false,
                                    OnError::SkipColumn => {}
                                }
                                one_by_one.push(Value::Null);
                            }
                        }
                    }
                    values_to_array(&c.dest_type, &one_by_one)?
                }
            };
            new_columns.push(array);
        }
        let mut columns = batch.records.columns().to_vec();
        columns.extend(new_columns);
        let records = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| WeirError::new(format!("adding the JsonPath columns: {e}")))?;
        let result = batch.with_records(records);
        if keep.iter().all(|k| *k) {
            out.push(result);
        } else {
            out.push(result.filter(&BooleanArray::from(keep))?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::SubtaskContext;
    use crate::transforms::test_util::prepare;
    use arrow::array::{Int32Array, StringArray};
    use serde_json::json;

    fn run(options: Value, docs: Vec<Option<&str>>) -> WeirResult<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![Field::new("data", DataType::Utf8, true)]));
        let rb =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(docs))]).unwrap();
        let p = prepare(&JsonPathFactory, options, schema)?;
        let mut t = p.instantiate(SubtaskContext {
            index: 0,
            parallelism: 1,
            attempt: 0,
        })?;
        let mut out = Vec::new();
        t.process(Batch::inserts(rb), &mut out)?;
        Ok(out.remove(0).records)
    }

    #[test]
    fn paths_read_typed_values_and_errors_follow_the_handle_way() {
        let cols = |way: &str| {
            json!({"columns": [
                {"src_field": "data", "path": "$.a.n", "dest_field": "n", "dest_type": "int"},
                {"src_field": "data", "path": "$.a.tags", "dest_field": "tags", "column_error_handle_way": way}
            ]})
        };
        let docs = vec![
            Some(r#"{"a": {"n": "42", "tags": ["x", "y"]}}"#),
            Some(r#"{"a": {"n": 7}}"#),
            None,
        ];
        let rb = run(cols("SKIP"), docs.clone()).unwrap();
        let n = rb.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!((n.value(0), n.value(1), n.is_null(2)), (42, 7, true));
        let tags = rb.column(2).as_string::<i32>();
        assert_eq!(tags.value(0), r#"["x","y"]"#);
        assert!(tags.is_null(1));
        let dropped = run(cols("SKIP_ROW"), docs.clone()).unwrap();
        assert_eq!(dropped.num_rows(), 2);
        let failed = run(cols("FAIL"), docs).err().unwrap().to_string();
        assert!(failed.contains("no value at $.a.tags"), "{failed}");
        let bad = run(
            json!({"columns": [{"src_field": "data", "path": "a..[", "dest_field": "x"}]}),
            vec![],
        );
        assert!(bad.err().unwrap().to_string().contains("is not a JSONPath"));
    }
}
