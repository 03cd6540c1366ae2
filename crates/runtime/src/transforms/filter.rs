//! `Filter`: keeps (`include_fields`, legacy `fields`) or drops (`exclude_fields`) columns.
//! A projection, not a row filter (rows are filtered with `Sql ... WHERE`).

use super::{field_index, Projection};
use crate::operator::{PrepareContext, PreparedTransform, TransformFactory};
use arrow::datatypes::SchemaRef;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct FilterFactory;

impl TransformFactory for FilterFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "Filter",
            PluginKind::Transform,
            vec![
                OptionSpec::optional("include_fields", OptionType::StringList),
                OptionSpec::optional("fields", OptionType::StringList),
                OptionSpec::optional("exclude_fields", OptionType::StringList),
            ],
        )
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let include_key = o.first_key(&["include_fields", "fields"]);
        let include = include_key
            .map(|k| o.str_list(k))
            .transpose()
            .map_err(WeirError::new)?
            .flatten();
        let exclude = o.str_list("exclude_fields").map_err(WeirError::new)?;
        let columns: Vec<usize> = match (include, exclude) {
            (Some(_), Some(_)) => {
                return Err(WeirError::new(
                    "set either include_fields or exclude_fields, not both",
                ))
            }
            (None, None) => {
                return Err(WeirError::new(
                    "Filter needs include_fields or exclude_fields",
                ))
            }
            (Some(inc), None) => inc
                .iter()
                .map(|f| field_index(&input, include_key.unwrap_or("include_fields"), f))
                .collect::<WeirResult<_>>()?,
            (None, Some(exc)) => {
                for f in &exc {
                    field_index(&input, "exclude_fields", f)?;
                }
                (0..input.fields().len())
                    .filter(|&i| !exc.contains(input.field(i).name()))
                    .collect()
            }
        };
        let schema = Arc::new(
            input
                .project(&columns)
                .map_err(|e| WeirError::new(e.to_string()))?,
        );
        Ok(Arc::new(Projection { schema, columns }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::test_util::run;
    use serde_json::json;

    #[test]
    fn include_exclude_and_legacy_fields() {
        let out = run(&FilterFactory, json!({"fields": ["name"]})).unwrap();
        assert_eq!(out[0].records.schema().field(0).name(), "name");
        let out = run(&FilterFactory, json!({"exclude_fields": ["name"]})).unwrap();
        assert_eq!(out[0].records.num_columns(), 1);
        let e = run(&FilterFactory, json!({"include_fields": ["nam"]}))
            .err()
            .unwrap();
        assert!(e.to_string().contains("did you mean 'name'?"), "{e}");
        assert!(run(
            &FilterFactory,
            json!({"include_fields": ["id"], "exclude_fields": ["id"]})
        )
        .is_err());
    }
}
