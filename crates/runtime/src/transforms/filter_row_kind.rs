//! `FilterRowKind`: keeps (`include_kinds`) or drops (`exclude_kinds`) rows by row kind.

use crate::batch::{Batch, RowKind};
use crate::operator::{
    PrepareContext, PreparedTransform, StatelessTransform, Transform, TransformFactory,
};
use arrow::array::BooleanArray;
use arrow::datatypes::SchemaRef;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct FilterRowKindFactory;

#[derive(Clone)]
struct FilterRowKind {
    schema: SchemaRef,
    keep: [bool; 4],
}

impl TransformFactory for FilterRowKindFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "FilterRowKind",
            PluginKind::Transform,
            vec![
                OptionSpec::optional("include_kinds", OptionType::StringList),
                OptionSpec::optional("exclude_kinds", OptionType::StringList),
            ],
        )
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedTransform>> {
        let include = o.str_list("include_kinds").map_err(WeirError::new)?;
        let exclude = o.str_list("exclude_kinds").map_err(WeirError::new)?;
        let parse = |key: &str, list: &[String]| -> WeirResult<Vec<RowKind>> {
            list.iter()
                .map(|k| {
                    RowKind::parse(k).ok_or_else(|| {
                        WeirError::new(format!("{key}: unknown row kind '{k}'; use INSERT, UPDATE_BEFORE, UPDATE_AFTER or DELETE"))
                    })
                })
                .collect()
        };
        let keep = match (include, exclude) {
            (Some(_), Some(_)) => {
                return Err(WeirError::new(
                    "set either include_kinds or exclude_kinds, not both",
                ))
            }
            (None, None) => {
                return Err(WeirError::new(
                    "FilterRowKind needs include_kinds or exclude_kinds",
                ))
            }
            (Some(inc), None) => {
                let kinds = parse("include_kinds", &inc)?;
                RowKind::ALL.map(|k| kinds.contains(&k))
            }
            (None, Some(exc)) => {
                let kinds = parse("exclude_kinds", &exc)?;
                RowKind::ALL.map(|k| !kinds.contains(&k))
            }
        };
        Ok(Arc::new(FilterRowKind {
            schema: input,
            keep,
        }))
    }
}

impl StatelessTransform for FilterRowKind {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Transform for FilterRowKind {
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        match &batch.kinds {
            None if self.keep[RowKind::Insert as usize] => out.push(batch),
            None => {}
            Some(kinds) => {
                let mask: BooleanArray = kinds
                    .values()
                    .iter()
                    .map(|k| Some(self.keep[(*k as usize).min(3)]))
                    .collect();
                out.push(batch.filter(&mask)?);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::SubtaskContext;
    use crate::transforms::test_util::{input, prepare};
    use serde_json::json;

    #[test]
    fn drops_rows_by_kind() {
        let plain = input();
        let b = Batch::with_kinds(
            plain.records.clone(),
            vec![RowKind::Insert, RowKind::Delete],
        );
        let p = prepare(
            &FilterRowKindFactory,
            json!({"exclude_kinds": ["DELETE"]}),
            b.records.schema(),
        )
        .unwrap();
        let mut t = p
            .instantiate(SubtaskContext {
                index: 0,
                parallelism: 1,
                attempt: 0,
            })
            .unwrap();
        let mut out = Vec::new();
        t.process(b, &mut out).unwrap();
        assert_eq!(out[0].num_rows(), 1);
        let p = prepare(
            &FilterRowKindFactory,
            json!({"include_kinds": ["DELETE"]}),
            plain.records.schema(),
        )
        .unwrap();
        let mut t = p
            .instantiate(SubtaskContext {
                index: 0,
                parallelism: 1,
                attempt: 0,
            })
            .unwrap();
        let mut out = Vec::new();
        t.process(plain, &mut out).unwrap();
        assert!(out.is_empty());
        assert!(prepare(
            &FilterRowKindFactory,
            json!({"include_kinds": ["UPSERT"]}),
            input().records.schema()
        )
        .is_err());
    }
}
