//! The Assert sink reaches SeaTunnel's verdicts: each rule as SeaTunnel's `AssertExecutor`
//! applies it, value by value, on job files written the way SeaTunnel's e2e tests write them.

use crate::common;

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

/// SeaTunnel's `fake_to_assert_with_catalogtable.conf`, in weir's words: a source that
/// declares its table, keys and columns, and an Assert that checks them.
const CATALOG_JOB: &str = r#"
env { job.mode = "BATCH" }
source { FakeSource { row.num = 10, schema = {
  table = "test.fakeTable"
  columns = [{ name = id, type = bigint }, { name = name, type = string }, { name = age, type = int, comment = "years" }]
  primaryKey = { name = "primary key", columnNames = ["id"] }
  constraintKeys = [{ constraintName = "unique_name", constraintType = UNIQUE_KEY,
    constraintColumns = [{ columnName = "id", sortType = ASC }] }]
} } }
sink { Assert { rules { catalog_table_rule {
  table_identifier_rule = { catalog_name = "FakeSource", table = "test.fakeTable" }
  primary_key_rule = { primary_key_name = "primary key", primary_key_columns = ["id"] }
  constraint_key_rule = [{ constraint_key_name = "unique_name", constraint_key_type = UNIQUE_KEY,
    constraint_key_columns = [{ constraint_key_column_name = "id", constraint_key_sort_type = ASC }] }]
  column_rule = [{ name = "id", type = bigint }, { name = "name", type = string }, { name = "age", type = int, comment = "years" }]
} } } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_table_rule_checks_the_table_the_source_declares() {
    let report = run_text(CATALOG_JOB).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    for (from, to, want) in [
        (
            r#"catalog_name = "FakeSource""#,
            r#"catalog_name = "Jdbc""#,
            "assertion failed: tableIdentifier: FakeSource.test.fakeTable is not equal to Jdbc.test.fakeTable",
        ),
        (
            r#"primary_key_name = "primary key""#,
            r#"primary_key_name = "pk""#,
            "assertion failed: primaryKey: primary key is not equal to pk",
        ),
        (
            r#"primary_key_columns = ["id"]"#,
            r#"primary_key_columns = ["id", "name"]"#,
            "primaryKey columns: [id] is not equal to [id, name]",
        ),
        (
            "constraint_key_sort_type = ASC",
            "constraint_key_sort_type = DESC",
            "assertion failed: constraintKeys:",
        ),
        (
            r#"{ name = "age", type = int, comment = "years" }]"#,
            r#"{ name = "age", type = bigint, comment = "years" }]"#,
            "assertion failed: columns:",
        ),
        (
            r#"{ name = "age", type = int, comment = "years" }]"#,
            r#"{ name = "age", type = int }]"#,
            "assertion failed: columns:",
        ),
    ] {
        let job = CATALOG_JOB.replacen(from, to, 1);
        assert_ne!(job, CATALOG_JOB, "{from}");
        let errors = common::load(&job)
            .err()
            .unwrap_or_else(|| panic!("{to} should be refused"))
            .to_string();
        assert!(errors.contains(want), "{to}: {errors}");
    }
    // A source that declares no primary key has none to check.
    let no_keys = CATALOG_JOB.replace(
        r#"primaryKey = { name = "primary key", columnNames = ["id"] }"#,
        "",
    );
    let errors = common::load(&no_keys).err().expect("refused").to_string();
    assert!(
        errors.contains("assertion failed: primaryKey is null"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_names_are_the_tables_the_sink_writes() {
    let job = |names: &str| {
        format!(
            r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ tables_configs = [
  {{ schema = {{ table = "fake01", fields {{ id = int }} }}, row.num = 3 }},
  {{ schema = {{ table = "fake02", fields {{ name = string }} }}, row.num = 2 }}
] }} }}
sink {{ Assert {{ rules {{ table-names = {names} }} }} }}
"#
        )
    };
    let report = run_text(&job(r#"["fake02", "fake01"]"#)).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let errors = common::load(&job(r#"["fake01"]"#))
        .err()
        .expect("a missing table is refused")
        .to_string();
    assert!(
        errors.contains("assertion failed: table names: [fake01, fake02] is not equal to [fake01]"),
        "{errors}"
    );
}
