//! `Copy`: appends copies of existing columns under new names (`fields = { new = src }`, or the
//! legacy `src_field` / `dest_field`).

use super::{field_index, Projection};
use crate::operator::{PrepareContext, PreparedTransform, TransformFactory};
use arrow::datatypes::{Schema, SchemaRef};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::options::as_string;
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct CopyFactory;

impl TransformFactory for CopyFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "Copy",
            PluginKind::Transform,
            vec![
                OptionSpec::optional("fields", OptionType::Object),
                OptionSpec::optional("src_field", OptionType::String),
                OptionSpec::optional("dest_field", OptionType::String),
            ],
        )
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(fields) = o.object("fields").map_err(WeirError::new)? {
            for (new, src) in fields {
                let src = as_string(src).ok_or_else(|| {
                    WeirError::new(format!(
                        "fields: the source of '{new}' must be a field name"
                    ))
                })?;
                pairs.push((new.clone(), src));
            }
        }
        if let (Some(src), Some(dest)) = (
            o.str("src_field").map_err(WeirError::new)?,
            o.str("dest_field").map_err(WeirError::new)?,
        ) {
            pairs.push((dest, src));
        }
        if pairs.is_empty() {
            return Err(WeirError::new(
                "Copy needs fields = { new_name = source_name }",
            ));
        }
        let mut columns: Vec<usize> = (0..input.fields().len()).collect();
        let mut fields: Vec<_> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        for (new, src) in pairs {
            let i = field_index(&input, "fields", &src)?;
            if fields.iter().any(|f| f.name() == &new) {
                return Err(WeirError::new(format!("fields: '{new}' already exists")));
            }
            columns.push(i);
            fields.push(input.field(i).clone().with_name(new));
        }
        Ok(Arc::new(Projection {
            schema: Arc::new(Schema::new(fields)),
            columns,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::test_util::run;
    use serde_json::json;

    #[test]
    fn appends_copies() {
        let out = run(&CopyFactory, json!({"fields": {"name2": "name"}})).unwrap();
        assert_eq!(out[0].records.num_columns(), 3);
        assert_eq!(out[0].records.column(2), out[0].records.column(1));
        let out = run(
            &CopyFactory,
            json!({"src_field": "id", "dest_field": "id2"}),
        )
        .unwrap();
        assert_eq!(out[0].records.schema().field(2).name(), "id2");
        assert!(run(&CopyFactory, json!({"fields": {"id": "name"}})).is_err());
    }
}
