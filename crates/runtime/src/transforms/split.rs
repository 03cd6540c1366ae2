//! `Split`: splits one string column by a separator into new string columns appended at the
//! end (the original is kept). Missing parts are null; the last output field takes the rest.

use super::field_index;
use crate::batch::Batch;
use crate::operator::{
    PrepareContext, PreparedTransform, StatelessTransform, Transform, TransformFactory,
};
use arrow::array::{ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct SplitFactory;

#[derive(Clone)]
struct Split {
    schema: SchemaRef,
    column: usize,
    separator: String,
    outputs: usize,
}

impl TransformFactory for SplitFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "Split",
            PluginKind::Transform,
            vec![
                OptionSpec::required("separator", OptionType::String),
                OptionSpec::required("split_field", OptionType::String),
                OptionSpec::required("output_fields", OptionType::StringList),
            ],
        )
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let e = WeirError::new;
        let field = o.str("split_field").map_err(e)?.unwrap_or_default();
        let column = field_index(&input, "split_field", &field)?;
        // SeaTunnel splits the value's text, whatever its type.
        let source_type = input.field(column).data_type().clone();
        if !arrow::compute::can_cast_types(&source_type, &DataType::Utf8) {
            return Err(WeirError::new(format!(
                "split_field: '{field}' ({}) has no text form to split",
                weir_pipeline::types::seatunnel_type_name(&source_type)
            )));
        }
        let separator = o.str("separator").map_err(e)?.unwrap_or_default();
        if separator.is_empty() {
            return Err(WeirError::new("separator is empty"));
        }
        let outputs = o.str_list("output_fields").map_err(e)?.unwrap_or_default();
        if outputs.is_empty() {
            return Err(WeirError::new("output_fields names no field"));
        }
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        for name in &outputs {
            if fields.iter().any(|f| f.name() == name) {
                return Err(WeirError::new(format!(
                    "output_fields: '{name}' already exists in the input"
                )));
            }
            fields.push(Field::new(name, DataType::Utf8, true));
        }
        Ok(Arc::new(Split {
            schema: Arc::new(Schema::new(fields)),
            column,
            separator,
            outputs: outputs.len(),
        }))
    }
}

impl StatelessTransform for Split {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Transform for Split {
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        let text = arrow::compute::cast(batch.records.column(self.column), &DataType::Utf8)
            .map_err(|e| WeirError::new(format!("split_field as text: {e}")))?;
        let col = text.as_string::<i32>();
        let mut builders: Vec<StringBuilder> =
            (0..self.outputs).map(|_| StringBuilder::new()).collect();
        for v in col.iter() {
            let mut parts = v.map(|s| s.splitn(self.outputs, self.separator.as_str()));
            for b in builders.iter_mut() {
                b.append_option(parts.as_mut().and_then(|p| p.next()));
            }
        }
        let mut columns: Vec<ArrayRef> = batch.records.columns().to_vec();
        columns.extend(
            builders
                .into_iter()
                .map(|mut b| Arc::new(b.finish()) as ArrayRef),
        );
        let rb = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| WeirError::new(e.to_string()))?;
        out.push(batch.with_records(rb));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::test_util::run;
    use arrow::array::Array;
    use serde_json::json;

    #[test]
    fn splits_into_new_columns() {
        let out = run(
            &SplitFactory,
            json!({"separator": "-", "split_field": "name", "output_fields": ["a", "rest"]}),
        )
        .unwrap();
        let rb = &out[0].records;
        assert_eq!(rb.num_columns(), 4);
        assert_eq!(rb.column(2).as_string::<i32>().value(0), "a");
        assert_eq!(rb.column(3).as_string::<i32>().value(0), "b-c");
        assert!(rb.column(3).as_string::<i32>().is_null(1));
    }

    #[test]
    fn a_number_is_split_by_its_text() {
        // The first input column is an int (1 and 2).
        let out = run(
            &SplitFactory,
            json!({"separator": "0", "split_field": "id", "output_fields": ["digits"]}),
        )
        .unwrap();
        let rb = &out[0].records;
        assert_eq!(rb.column(2).as_string::<i32>().value(0), "1");
        assert_eq!(rb.column(2).as_string::<i32>().value(1), "2");
    }
}
