//! `RowKindExtractor`: SeaTunnel's transform that writes each row's kind into a string column
//! (`custom_field_name`, default `row_kind`; `transform_type` SHORT gives `+I -U +U -D`, FULL
//! gives `INSERT UPDATE_BEFORE UPDATE_AFTER DELETE`) and makes every row an INSERT, so a
//! changelog can be written where only inserts go.

use crate::batch::{Batch, RowKind};
use crate::operator::{
    PrepareContext, PreparedTransform, StatelessTransform, Transform, TransformFactory,
};
use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct RowKindExtractorFactory;

#[derive(Clone)]
struct RowKindExtractor {
    schema: SchemaRef,
    full: bool,
}

fn short(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Insert => "+I",
        RowKind::UpdateBefore => "-U",
        RowKind::UpdateAfter => "+U",
        RowKind::Delete => "-D",
    }
}

impl TransformFactory for RowKindExtractorFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "RowKindExtractor",
            PluginKind::Transform,
            vec![
                OptionSpec::optional("custom_field_name", OptionType::String),
                OptionSpec::optional("transform_type", OptionType::String),
            ],
        )
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let name = o
            .str("custom_field_name")
            .map_err(WeirError::new)?
            .unwrap_or_else(|| "row_kind".into());
        if input.index_of(&name).is_ok() {
            return Err(WeirError::new(format!("field name {name} already exists"))
                .with_hint("choose another custom_field_name"));
        }
        let full = match o
            .str("transform_type")
            .map_err(WeirError::new)?
            .unwrap_or_else(|| "SHORT".into())
            .to_ascii_uppercase()
            .as_str()
        {
            "SHORT" => false,
            "FULL" => true,
            other => {
                return Err(WeirError::new(format!(
                    "transform_type '{other}' is not SHORT or FULL"
                )))
            }
        };
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new(name, DataType::Utf8, false));
        Ok(Arc::new(RowKindExtractor {
            schema: Arc::new(Schema::new(fields)),
            full,
        }))
    }
}

impl StatelessTransform for RowKindExtractor {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Transform for RowKindExtractor {
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        let rows = batch.num_rows();
        let label = |k: RowKind| if self.full { k.name() } else { short(k) };
        let labels: StringArray = match &batch.kinds {
            None => std::iter::repeat_n(Some(label(RowKind::Insert)), rows).collect(),
            Some(kinds) => kinds
                .values()
                .iter()
                .map(|k| Some(label(RowKind::from_u8(*k))))
                .collect(),
        };
        let mut columns = batch.records.columns().to_vec();
        columns.push(Arc::new(labels) as ArrayRef);
        let records = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| WeirError::new(format!("adding the row kind: {e}")))?;
        // Every row is an insert now that its kind is a column.
        out.push(Batch::inserts(records));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::SubtaskContext;
    use crate::transforms::test_util::{input, prepare};
    use arrow::array::AsArray;
    use serde_json::json;

    #[test]
    fn kinds_become_a_column_and_rows_inserts() {
        let plain = input();
        let b = Batch::with_kinds(
            plain.records.clone(),
            vec![RowKind::UpdateAfter, RowKind::Delete],
        );
        for (options, want) in [
            (json!({}), ["+U", "-D"]),
            (
                json!({"custom_field_name": "op", "transform_type": "FULL"}),
                ["UPDATE_AFTER", "DELETE"],
            ),
        ] {
            let p = prepare(&RowKindExtractorFactory, options, b.records.schema()).unwrap();
            let mut t = p
                .instantiate(SubtaskContext {
                    index: 0,
                    parallelism: 1,
                    attempt: 0,
                })
                .unwrap();
            let mut out = Vec::new();
            t.process(b.clone(), &mut out).unwrap();
            let col = out[0].records.column(2).as_string::<i32>();
            assert_eq!([col.value(0), col.value(1)], want);
            assert!(out[0].kinds.is_none());
        }
        let taken = prepare(
            &RowKindExtractorFactory,
            json!({"custom_field_name": "name"}),
            b.records.schema(),
        );
        assert!(taken
            .err()
            .unwrap()
            .to_string()
            .contains("field name name already exists"));
    }
}
