//! The Assert sink reaches SeaTunnel's verdicts: each rule as SeaTunnel's `AssertExecutor`
//! applies it, value by value, on job files written the way SeaTunnel's e2e tests write them.

mod common;

use common::run_text;
use weir_core::JobStatus;

/// One row with a null in most kinds of column, plus typed values to compare.
const SOURCE: &str = r#"
env { job.mode = "BATCH" }
source {
  FakeSource {
    plugin_output = fake
    schema = { fields {
      c_null = "null", c_string = string, c_double = double, c_decimal = "decimal(10, 2)",
      c_date = date, c_array = "array<int>", c_map = "map<string, string>",
      c_row = { a = string, b = int }, c_missing = string
    } }
    rows = [{ kind = INSERT, fields = [null, "Joy", 100.0, "12.40", "2012-12-21", [0, 1, 2], { k0 = v0 }, ["x", 7], null] }]
  }
}
"#;

async fn verdict(field_rules: &str) -> (JobStatus, String) {
    let text = format!(
        "{SOURCE}\nsink {{ Assert {{ plugin_input = fake, rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 1 }}], field_rules = [{field_rules}] }} }} }}"
    );
    let report = run_text(&text).await;
    let error = report.error.map(|e| e.to_string()).unwrap_or_default();
    (report.status, error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_that_hold_in_seatunnel_hold() {
    let rules = r#"
      { field_name = c_null, field_type = "null", field_value = [{ rule_type = NULL }] },
      { field_name = c_missing, field_type = "null", field_value = [{ rule_type = NULL }, { rule_type = MAX_LENGTH, rule_value = 0 }] },
      { field_name = c_double, field_type = double, field_value = [{ equals_to = "100" }, { equals_to = 100 }, { rule_type = MIN, rule_value = 100 }] },
      { field_name = c_decimal, field_type = "decimal(10, 2)", field_value = [{ equals_to = "12.40" }, { equals_to = 12.4 }] },
      { field_name = c_date, field_type = date, field_value = [{ equals_to = "2012-12-21" }] },
      { field_name = c_array, field_type = "array<int>", field_value = [{ equals_to = [0, 1, 2] }] },
      { field_name = c_map, field_type = "map<string, string>", field_value = [{ equals_to = { k0 = v0 } }] },
      { field_name = c_row, field_value = [{ equals_to = ["x", 7] }] },
      { field_name = c_string, field_type = string, field_value = [{ rule_type = MIN_LENGTH, rule_value = 3 }, { rule_type = NOT_NULL }] }
    "#;
    let (status, error) = verdict(rules).await;
    assert_eq!(status, JobStatus::Finished, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_that_fail_in_seatunnel_fail_naming_the_rule_and_value() {
    let cases = [
        // A null value has SeaTunnel type null, whatever the column's type.
        (
            r#"{ field_name = c_missing, field_type = string }"#,
            "field 'c_missing' rule field_type STRING (a null value has type null) violated by value 'null'",
        ),
        (
            r#"{ field_name = c_string, field_type = int }"#,
            "rule field_type INT (the field is STRING) violated by value 'Joy'",
        ),
        // MIN and MAX fail on null and on non-numbers.
        (
            r#"{ field_name = c_missing, field_value = [{ rule_type = MIN, rule_value = 0 }] }"#,
            "rule MIN 0 violated by value 'null'",
        ),
        (
            r#"{ field_name = c_string, field_value = [{ rule_type = MAX, rule_value = 10 }] }"#,
            "rule MAX 10 violated by value 'Joy'",
        ),
        (
            r#"{ field_name = c_null, field_value = [{ rule_type = NOT_NULL }] }"#,
            "rule NOT_NULL violated by value 'null'",
        ),
        (
            r#"{ field_name = c_double, field_value = [{ equals_to = "100.5" }] }"#,
            "rule equals_to '100.5' violated by value '100.0'",
        ),
        (
            r#"{ field_name = c_array, field_value = [{ equals_to = [0, 1] }] }"#,
            "field 'c_array' rule equals_to",
        ),
    ];
    for (rule, want) in cases {
        let (status, error) = verdict(rule).await;
        assert_eq!(status, JobStatus::Failed, "{rule} should fail");
        assert!(error.contains(want), "{rule}: {error}");
    }
}
