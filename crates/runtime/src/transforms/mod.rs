//! SeaTunnel's column transforms (`Filter`, `FieldMapper`, `Copy`, `Replace`, `Split`,
//! `FilterRowKind`, `RowKindExtractor`, `JsonPath`), each in its own file. All of them are stateless and work on whole
//! columns; `Sql` lives in the `weir-sql` crate so tests of the rest need not link DataFusion.

pub mod copy;
pub mod field_mapper;
pub mod filter;
pub mod filter_row_kind;
pub mod json_path;
mod relaxed_json;
pub mod replace;
pub mod row_kind_extractor;
pub mod split;

use crate::registry::PluginRegistry;
use arrow::datatypes::SchemaRef;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};

/// Registers every transform of this crate.
pub fn register(r: &mut PluginRegistry) {
    r.add_transform(Arc::new(filter::FilterFactory));
    r.add_transform(Arc::new(field_mapper::FieldMapperFactory));
    r.add_transform(Arc::new(copy::CopyFactory));
    r.add_transform(Arc::new(replace::ReplaceFactory));
    r.add_transform(Arc::new(split::SplitFactory));
    r.add_transform(Arc::new(filter_row_kind::FilterRowKindFactory));
    r.add_transform(Arc::new(row_kind_extractor::RowKindExtractorFactory));
    r.add_transform(Arc::new(json_path::JsonPathFactory));
}

/// The index of `name` in `schema`, or an error listing the fields there are.
pub fn field_index(schema: &SchemaRef, option: &str, name: &str) -> WeirResult<usize> {
    schema.index_of(name).map_err(|_| {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let hint = weir_pipeline::problems::did_you_mean(name, names.iter().copied())
            .map(|s| format!("did you mean '{s}'?"))
            .unwrap_or_else(|| format!("the input has: {}", names.join(", ")));
        WeirError::new(format!("{option}: field '{name}' is not in the input")).with_hint(hint)
    })
}

/// A transform that only reorders, renames or duplicates columns: one projection plan, shared
/// by every subtask.
pub struct Projection {
    pub schema: SchemaRef,
    pub columns: Vec<usize>,
}

impl crate::operator::PreparedTransform for Projection {
    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn instantiate(
        &self,
        _s: crate::operator::SubtaskContext,
    ) -> WeirResult<Box<dyn crate::operator::Transform>> {
        Ok(Box::new(ProjectionInstance {
            schema: self.schema.clone(),
            columns: self.columns.clone(),
        }))
    }
}

struct ProjectionInstance {
    schema: SchemaRef,
    columns: Vec<usize>,
}

impl crate::operator::Transform for ProjectionInstance {
    fn process(
        &mut self,
        batch: crate::batch::Batch,
        out: &mut Vec<crate::batch::Batch>,
    ) -> WeirResult<()> {
        let cols = self
            .columns
            .iter()
            .map(|&c| batch.records.column(c).clone())
            .collect();
        let rb = arrow::record_batch::RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| WeirError::new(format!("projecting columns: {e}")))?;
        out.push(batch.with_records(rb));
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::batch::Batch;
    use crate::operator::{PrepareContext, PreparedTransform, SubtaskContext, TransformFactory};
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
    use arrow::record_batch::RecordBatch;
    use serde_json::Value;
    use std::sync::Arc;
    use weir_core::{JobId, WeirResult};
    use weir_pipeline::{JobMode, Options};

    pub fn input() -> Batch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        Batch::inserts(
            RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(Int32Array::from(vec![1, 2])),
                    Arc::new(StringArray::from(vec![Some("a-b-c"), None])),
                ],
            )
            .unwrap(),
        )
    }

    pub fn prepare(
        f: &dyn TransformFactory,
        options: Value,
        schema: SchemaRef,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let Value::Object(map) = options else {
            unreachable!()
        };
        let ctx = PrepareContext {
            input_table: Some("fake".into()),
            ..PrepareContext::new(JobId(1), "t", JobMode::Batch, 1)
        };
        f.prepare(&Options::new(map), schema, &ctx)
    }

    pub fn run(f: &dyn TransformFactory, options: Value) -> WeirResult<Vec<Batch>> {
        let b = input();
        let p = prepare(f, options, b.records.schema())?;
        let mut t = p.instantiate(SubtaskContext {
            index: 0,
            parallelism: 1,
            attempt: 0,
        })?;
        let mut out = Vec::new();
        t.process(b, &mut out)?;
        Ok(out)
    }
}
