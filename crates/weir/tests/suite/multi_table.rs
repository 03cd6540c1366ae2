//! Multi-table jobs as SeaTunnel writes them: a FakeSource with `tables_configs`, each table its
//! own schema and row count, routed to sinks per table (Assert's per-table rules, a LocalFile
//! directory per `${table_name}`).

use crate::common;

use common::{output_lines, run_text};
use weir_core::JobStatus;

fn job(table2_max_rows: u64, sink_extra: &str) -> String {
    format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{
  FakeSource {{
    tables_configs = [
      {{ row.num = 16, schema = {{ table = "shop.orders", fields {{ id = bigint, amount = double }} }} }},
      {{ row.num = 17, schema = {{ table = "shop.users", fields {{ name = string, age = tinyint }} }} }}
    ]
  }}
}}
sink {{
  Assert {{
    rules = {{
      tables_configs = [
        {{ table_path = "shop.orders", row_rules = [{{ rule_type = MIN_ROW, rule_value = 32 }}, {{ rule_type = MAX_ROW, rule_value = 32 }}],
           field_rules = [{{ field_name = amount, field_type = double, field_value = [{{ rule_type = NOT_NULL }}] }}] }},
        {{ table_path = "shop.users", row_rules = [{{ rule_type = MAX_ROW, rule_value = {table2_max_rows} }}],
           field_rules = [{{ field_name = name, field_type = string, field_value = [{{ rule_type = NOT_NULL }}] }}] }}
      ]
    }}
  }}
  {sink_extra}
}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_table_keeps_its_schema_and_meets_its_own_rules() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let sink = format!(
        r#"LocalFile {{ path = "{}/${{table_name}}", file_format_type = "json" }}"#,
        out.display()
    );
    let report = run_text(&job(34, &sink)).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    // Two sources (one per table), each with its Assert and its LocalFile.
    let names: Vec<&str> = report.vertices.iter().map(|v| v.name.as_str()).collect();
    for (name, count) in [
        ("Source: FakeSource", 2),
        ("Sink: Assert", 2),
        ("Sink: LocalFile", 2),
    ] {
        assert_eq!(
            names.iter().filter(|n| **n == name).count(),
            count,
            "{names:?}"
        );
    }
    let orders = output_lines(&out.join("orders"));
    let users = output_lines(&out.join("users"));
    assert_eq!(orders.len(), 32);
    assert_eq!(users.len(), 34);
    assert!(orders
        .iter()
        .all(|l| l.contains("\"amount\"") && !l.contains("\"age\"")));
    assert!(users
        .iter()
        .all(|l| l.contains("\"age\"") && !l.contains("\"amount\"")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_that_breaks_its_rule_fails_the_job() {
    let report = run_text(&job(33, "")).await;
    assert_eq!(report.status, JobStatus::Failed);
    let error = report.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("MAX_ROW 33, but the sink received 34 rows"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_table_list_is_refused_with_its_place() {
    let text = "source { FakeSource { tables_configs = [1] } }\nsink { Console {} }\n";
    let errors = common::load(text).err().expect("refused").to_string();
    assert!(
        errors.contains("tables_configs[0] is not an object"),
        "{errors}"
    );
}
