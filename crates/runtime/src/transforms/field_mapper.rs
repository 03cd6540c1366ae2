//! `FieldMapper`: the output holds exactly the listed fields, in the listed order, renamed.

use super::{field_index, Projection};
use crate::operator::{PrepareContext, PreparedTransform, TransformFactory};
use arrow::datatypes::{Field, Schema, SchemaRef};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::options::as_string;
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct FieldMapperFactory;

impl TransformFactory for FieldMapperFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "FieldMapper",
            PluginKind::Transform,
            vec![OptionSpec::required("field_mapper", OptionType::Object)],
        )
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let mapping = o
            .object("field_mapper")
            .map_err(WeirError::new)?
            .cloned()
            .unwrap_or_default();
        if mapping.is_empty() {
            return Err(WeirError::new("field_mapper maps no field"));
        }
        let mut columns = Vec::new();
        let mut fields = Vec::new();
        for (from, to) in &mapping {
            let i = field_index(&input, "field_mapper", from)?;
            let to = as_string(to).ok_or_else(|| {
                WeirError::new(format!(
                    "field_mapper: the new name of '{from}' must be a string"
                ))
            })?;
            if fields.iter().any(|f: &Field| f.name() == &to) {
                return Err(WeirError::new(format!(
                    "field_mapper: two fields are renamed to '{to}'"
                )));
            }
            columns.push(i);
            fields.push(input.field(i).clone().with_name(to));
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
    fn maps_in_listed_order() {
        let out = run(
            &FieldMapperFactory,
            json!({"field_mapper": {"name": "n", "id": "id_as"}}),
        )
        .unwrap();
        let s = out[0].records.schema();
        assert_eq!(
            (s.field(0).name().as_str(), s.field(1).name().as_str()),
            ("n", "id_as")
        );
        assert!(run(&FieldMapperFactory, json!({"field_mapper": {"x": "y"}})).is_err());
    }
}
