//! `Replace`: replaces text in one string column, literally or by regular expression, all
//! occurrences or (`replace_first`, regex only) the first.

use super::field_index;
use crate::batch::Batch;
use crate::operator::{
    PrepareContext, PreparedTransform, StatelessTransform, Transform, TransformFactory,
};
use arrow::array::{ArrayRef, AsArray, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

pub struct ReplaceFactory;

#[derive(Clone)]
struct Replace {
    schema: SchemaRef,
    column: usize,
    pattern: String,
    regex: Option<regex::Regex>,
    replacement: String,
    first_only: bool,
}

impl TransformFactory for ReplaceFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "Replace",
            PluginKind::Transform,
            vec![
                OptionSpec::required("replace_field", OptionType::String),
                OptionSpec::required("pattern", OptionType::String),
                OptionSpec::required("replacement", OptionType::String),
                OptionSpec::optional("is_regex", OptionType::Bool),
                OptionSpec::optional("replace_first", OptionType::Bool),
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
        let field = o.str("replace_field").map_err(e)?.unwrap_or_default();
        let column = field_index(&input, "replace_field", &field)?;
        if input.field(column).data_type() != &DataType::Utf8 {
            return Err(WeirError::new(format!(
                "replace_field: '{field}' is not a string field"
            )));
        }
        let pattern = o.str("pattern").map_err(e)?.unwrap_or_default();
        let is_regex = o.bool("is_regex").map_err(e)?.unwrap_or(false);
        let regex = if is_regex {
            Some(regex::Regex::new(&pattern).map_err(|err| {
                WeirError::new(format!("pattern is not a valid regular expression: {err}"))
            })?)
        } else {
            None
        };
        Ok(Arc::new(Replace {
            schema: input,
            column,
            pattern,
            regex,
            replacement: o.str("replacement").map_err(e)?.unwrap_or_default(),
            first_only: o.bool("replace_first").map_err(e)?.unwrap_or(false),
        }))
    }
}

impl StatelessTransform for Replace {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Transform for Replace {
    fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> WeirResult<()> {
        let col = batch.records.column(self.column).as_string::<i32>();
        // `$1` names a group in both Java's replaceAll and the regex crate.
        let replacement = &self.replacement;
        let replaced: StringArray = col
            .iter()
            .map(|v| {
                v.map(|s| match &self.regex {
                    Some(re) if self.first_only => re.replace(s, replacement.as_str()).into_owned(),
                    Some(re) => re.replace_all(s, replacement.as_str()).into_owned(),
                    None => s.replace(&self.pattern, &self.replacement),
                })
            })
            .collect();
        let mut columns: Vec<ArrayRef> = batch.records.columns().to_vec();
        columns[self.column] = Arc::new(replaced);
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
    use serde_json::json;

    fn names(out: &[Batch]) -> Vec<Option<String>> {
        out[0]
            .records
            .column(1)
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(String::from))
            .collect()
    }

    #[test]
    fn literal_regex_and_first_only() {
        let out = run(
            &ReplaceFactory,
            json!({"replace_field": "name", "pattern": "-", "replacement": "+"}),
        )
        .unwrap();
        assert_eq!(names(&out), vec![Some("a+b+c".into()), None]);
        let out = run(&ReplaceFactory, json!({"replace_field": "name", "pattern": "[a-z]", "replacement": "x", "is_regex": true, "replace_first": true})).unwrap();
        assert_eq!(names(&out), vec![Some("x-b-c".into()), None]);
        assert!(run(
            &ReplaceFactory,
            json!({"replace_field": "id", "pattern": "1", "replacement": "2"})
        )
        .is_err());
        assert!(run(
            &ReplaceFactory,
            json!({"replace_field": "name", "pattern": "(", "replacement": "", "is_regex": true})
        )
        .is_err());
    }
}
