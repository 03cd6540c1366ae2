//! Real pipelines, end to end: job text in, rows out, checked row by row.

use crate::common;

use common::*;
use std::collections::BTreeMap;
use weir_core::JobStatus;
use weir_pipeline::Format;

#[tokio::test]
async fn seatunnel_assert_examples_pass_their_own_assertions() {
    for name in [
        "sql_transform.conf",
        "filter_transform.conf",
        "field_mapper_transform.conf",
    ] {
        let text = std::fs::read_to_string(seatunnel_examples().join(name)).unwrap();
        let report = run_text(&text).await;
        assert_eq!(
            report.status,
            JobStatus::Finished,
            "{name}: {:?}",
            report.error
        );
        let rows_to_sink = report.vertices[0].rows_out();
        assert_eq!(
            rows_to_sink, 100,
            "{name}: FakeSource row.num = 100 must reach the Assert sink"
        );
    }
}

#[tokio::test]
async fn every_reference_example_runs_or_names_what_weir_lacks() {
    let out = tempfile::tempdir().unwrap();
    let mut seen = 0;
    let mut text_rows = None;
    for entry in std::fs::read_dir(seatunnel_examples()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".txt") {
            continue;
        }
        seen += 1;
        // Keep the examples' sink output inside the test's directory.
        let text = std::fs::read_to_string(entry.path())
            .unwrap()
            .replace(
                "/tmp/seatunnel/text",
                &out.path().join("text").to_string_lossy(),
            )
            .replace(
                "/tmp/hive/warehouse/test1",
                &out.path().join("hive").to_string_lossy(),
            );
        let format = Format::from_path(&name);
        match load_with(&text, format, None) {
            Err(e) => {
                // What weir lacks, named: the InMemory sink.
                let lacks = match name.as_str() {
                    "fake_to_inmemory.json" => "unknown plugin 'InMemory' in sink[0]",
                    _ => panic!("{name} should be valid: {e}"),
                };
                assert!(e.to_string().contains(lacks), "{e}");
            }
            Ok(job) if job.graph.mode == weir_pipeline::JobMode::Streaming => {
                // Streaming jobs run until cancelled: let them produce, then cancel.
                let report = weir::embedded::run(
                    &job,
                    std::time::Duration::from_millis(20),
                    |cancel| {
                        tokio::spawn(async move {
                            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                            cancel.cancel();
                        });
                    },
                    |_, _| {},
                )
                .await;
                assert_eq!(
                    report.status,
                    JobStatus::Canceled,
                    "{name}: {:?}",
                    report.error
                );
                let produced: u64 = report.vertices.iter().map(|v| v.rows_out()).sum();
                assert!(produced > 0, "{name} produced nothing");
            }
            Ok(job) => {
                let report = run(&job).await;
                assert_eq!(
                    report.status,
                    JobStatus::Finished,
                    "{name}: {:?}",
                    report.error
                );
                if name == "fake_to_local_file_text.conf" {
                    text_rows = report.vertices.first().map(|v| v.rows_out());
                }
            }
        }
    }
    assert!(seen >= 10, "expected the reference examples, found {seen}");
    // fake_to_local_file_text.conf wrote 5 rows of lzo-compressed text, named as SeaTunnel
    // names them.
    let mut text = String::new();
    for entry in walk(&out.path().join("text")) {
        let name = entry.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.ends_with(".lzo.txt"), "{name}");
        use std::io::Read;
        weir_runtime::connectors::lzop::LzopReader::new(std::fs::File::open(&entry).unwrap())
            .read_to_string(&mut text)
            .unwrap();
    }
    // Its random `bytes` column is written as it is, as SeaTunnel writes it, so a newline
    // byte may split a row: the rows are counted where they were sent, the lines at least.
    assert_eq!(text_rows, Some(5));
    assert!(text.lines().count() >= 5, "{text}");
}

#[tokio::test]
async fn multi_table_example_counts_every_row_kind() {
    let text = std::fs::read_to_string(
        seatunnel_examples().join("batch_fake_multi_table_to_console.conf"),
    )
    .unwrap();
    let job = load(&text).unwrap();
    assert_eq!(
        job.graph.vertices.len(),
        2,
        "two independent source -> sink chains"
    );
    let report = run(&job).await;
    assert_eq!(report.status, JobStatus::Finished);
    let rows: Vec<u64> = report.vertices.iter().map(|v| v.rows_out()).collect();
    assert_eq!(rows, vec![10, 5]);
}

fn literal_rows_job(out: &std::path::Path, format: &str) -> String {
    format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{
  FakeSource {{
    plugin_output = "src"
    schema = {{ fields {{ id = bigint, name = string, score = double, day = date }} }}
    rows = [
      {{ kind = INSERT, fields = [1, "ann", 1.5, "2024-01-02"] }}
      {{ kind = INSERT, fields = [2, "bob", 2.5, "2024-02-03"] }}
      {{ kind = DELETE, fields = [3, "cy", null, "2024-03-04"] }}
    ]
  }}
}}
transform {{
  Sql {{ plugin_input = "src", plugin_output = "t", query = "select id, upper(name) as name, score * 2 as score, day from src where id < 3" }}
}}
sink {{ LocalFile {{ plugin_input = "t", path = "{}", file_format_type = "{format}", field_delimiter = "|" }} }}
"#,
        out.display()
    )
}

#[tokio::test]
async fn local_file_output_is_exactly_the_transformed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let expectations: [(&str, &[&str]); 3] = [
        ("text", &["1|ANN|3.0|2024-01-02", "2|BOB|5.0|2024-02-03"]),
        ("csv", &["1|ANN|3.0|2024-01-02", "2|BOB|5.0|2024-02-03"]),
        (
            "json",
            &[
                r#"{"id":1,"name":"ANN","score":3.0,"day":"2024-01-02"}"#,
                r#"{"id":2,"name":"BOB","score":5.0,"day":"2024-02-03"}"#,
            ],
        ),
    ];
    for (format, want) in expectations {
        let out = dir.path().join(format);
        let report = run_text(&literal_rows_job(&out, format)).await;
        assert_eq!(
            report.status,
            JobStatus::Finished,
            "{format}: {:?}",
            report.error
        );
        assert_eq!(output_lines(&out), want, "{format}");
        let file = std::fs::read_dir(&out)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name();
        let file = file.to_string_lossy();
        assert!(
            file.starts_with("T_")
                && file.ends_with(if format == "text" { ".txt" } else { format }),
            "{file}"
        );
    }
}

fn write_inputs(dir: &std::path::Path) -> usize {
    std::fs::create_dir_all(dir).unwrap();
    let mut n = 0;
    for f in 0..4 {
        let mut text = String::from("id,city,amount\n");
        for i in 0..250 {
            let id = f * 1000 + i;
            text.push_str(&format!("{id},city{},{}.25\n", id % 7, id % 13));
            n += 1;
        }
        std::fs::write(dir.join(format!("part-{f}.csv")), text).unwrap();
    }
    n
}

fn csv_pipeline(input: &std::path::Path, output: &std::path::Path, out_format: &str) -> String {
    format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{
  LocalFile {{
    plugin_output = "orders"
    path = "{}"
    file_format_type = "csv"
    skip_header_row_number = 1
    schema = {{ fields {{ id = bigint, city = string, amount = double }} }}
  }}
}}
transform {{
  Sql {{ plugin_input = "orders", plugin_output = "big", query = "select id, city, amount * 4 as amount from orders where amount > 3" }}
}}
sink {{ LocalFile {{ plugin_input = "big", path = "{}", file_format_type = "{out_format}" }} }}
"#,
        input.display(),
        output.display()
    )
}

#[tokio::test]
async fn parallelism_one_and_four_yield_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let total = write_inputs(&input);
    let mut results = BTreeMap::new();
    for p in [1usize, 4] {
        let out = dir.path().join(format!("out-p{p}"));
        let job = load_with(&csv_pipeline(&input, &out, "json"), Format::Hocon, Some(p)).unwrap();
        assert!(job.graph.vertices.iter().all(|v| v.parallelism == p));
        let report = run(&job).await;
        assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
        assert_eq!(
            report.vertices[0].rows_out() as usize,
            output_lines(&out).len()
        );
        let files = std::fs::read_dir(&out).unwrap().count();
        assert_eq!(files, p, "one file per sink subtask");
        results.insert(p, output_lines(&out));
    }
    let expected = (0..4)
        .flat_map(|f| (0..250).map(move |i| f * 1000 + i))
        .filter(|id| (id % 13) as f64 + 0.25 > 3.0)
        .count();
    assert!(total > expected && expected > 0);
    assert_eq!(results[&1].len(), expected);
    assert_eq!(results[&1], results[&4]);
}

#[tokio::test]
async fn csv_to_parquet_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write_inputs(&input);
    let out = dir.path().join("pq");
    let report = run_text(&csv_pipeline(&input, &out, "parquet")).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    // Read the parquet back through weir's own LocalFile source and check with Assert.
    let check = format!(
        r#"
source {{ LocalFile {{ path = "{}", file_format_type = "parquet" }} }}
sink {{ Assert {{ rules {{
  row_rules = [{{ rule_type = MIN_ROW, rule_value = {n} }}, {{ rule_type = MAX_ROW, rule_value = {n} }}]
  field_rules = [{{ field_name = amount, field_type = double, field_value = [{{ rule_type = MIN, rule_value = 13 }}, {{ rule_type = NOT_NULL }}] }}]
}} }} }}
"#,
        out.display(),
        n = report.vertices[0].rows_out()
    );
    let verified = run_text(&check).await;
    assert_eq!(verified.status, JobStatus::Finished, "{:?}", verified.error);
}

#[tokio::test]
async fn column_transforms_chain() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let text = format!(
        r#"
source {{ FakeSource {{
  plugin_output = "s"
  schema = {{ fields {{ id = int, path = string }} }}
  rows = [
    {{ kind = INSERT, fields = [1, "a/b"] }}
    {{ kind = UPDATE_BEFORE, fields = [2, "c/d"] }}
    {{ kind = UPDATE_AFTER, fields = [2, "c/e"] }}
  ]
}} }}
transform {{
  FilterRowKind {{ plugin_input = "s", plugin_output = "k", exclude_kinds = ["UPDATE_BEFORE"] }}
  Replace {{ plugin_input = "k", plugin_output = "r", replace_field = "path", pattern = "/", replacement = "-" }}
  Split {{ plugin_input = "r", plugin_output = "sp", separator = "-", split_field = "path", output_fields = [dir, file] }}
  Copy {{ plugin_input = "sp", plugin_output = "c", fields {{ id2 = id }} }}
  FieldMapper {{ plugin_input = "c", plugin_output = "m", field_mapper {{ id2 = key, file = f }} }}
  Filter {{ plugin_input = "m", plugin_output = "f", exclude_fields = [key] }}
}}
sink {{ LocalFile {{ plugin_input = "f", path = "{}", file_format_type = "json" }} }}
"#,
        out.display()
    );
    let job = load(&text).unwrap();
    assert_eq!(
        job.graph.vertices.len(),
        1,
        "everything chains at equal parallelism"
    );
    let report = run(&job).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    assert_eq!(output_lines(&out), vec![r#"{"f":"b"}"#, r#"{"f":"e"}"#]);
}

#[tokio::test]
async fn a_failing_subtask_fails_the_job_with_its_root_cause() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.txt"), "1\tok\nnot-a-number\tboom\n").unwrap();
    let text = format!(
        r#"
env {{ parallelism = 1 }}
source {{ LocalFile {{ path = "{}", file_format_type = "text", field_delimiter = "\t", schema = {{ fields {{ id = int, word = string }} }} }} }}
sink {{ Console {{ log.print.data = false }} }}
"#,
        dir.path().display()
    );
    let report = run_text(&text).await;
    assert_eq!(report.status, JobStatus::Failed);
    let error = report.error.expect("a failed job keeps its error");
    assert_eq!(
        error.location.as_deref(),
        Some("Source: LocalFile -> Sink: Console (1/1)")
    );
    assert!(
        error
            .to_string()
            .contains("column 'id' holds a value that is not Int32"),
        "{error}"
    );
}

#[tokio::test]
async fn a_violated_assertion_fails_the_job() {
    let report = run_text(
        r#"
source { FakeSource { row.num = 20, schema = { fields { name = string } }, string.length = 3 } }
sink { Assert { rules {
  row_rules = [{ rule_type = MAX_ROW, rule_value = 10 }]
} } }
"#,
    )
    .await;
    assert_eq!(report.status, JobStatus::Failed);
    let msg = report.error.unwrap().to_string();
    assert!(
        msg.contains("MAX_ROW 10, but the sink received 20 rows"),
        "{msg}"
    );

    let report = run_text(
        r#"
source { FakeSource { row.num = 5, schema = { fields { name = string } }, string.length = 3 } }
sink { Assert { rules { field_rules = [{ field_name = name, field_type = string, field_value = [{ rule_type = MAX_LENGTH, rule_value = 2 }] }] } } }
"#,
    )
    .await;
    assert_eq!(report.status, JobStatus::Failed);
    assert!(report
        .error
        .unwrap()
        .to_string()
        .contains("rule MAX_LENGTH 2 violated"));
}

#[tokio::test]
async fn variables_fill_the_job_from_cli_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v");
    let text = r#"
source { FakeSource { row.num = ${ROWS}, schema = { fields { id = int } } } }
sink { LocalFile { path = "${OUT}", file_format_type = "${FMT:csv}" } }
"#;
    let opts = weir::embedded::LoadOptions {
        variables: [
            ("ROWS".to_string(), "7".to_string()),
            ("OUT".to_string(), out.display().to_string()),
        ]
        .into(),
        ..Default::default()
    };
    let job = weir::embedded::load_text(text, Format::Hocon, &opts).unwrap();
    let report = run(&job).await;
    assert_eq!(report.status, JobStatus::Finished);
    assert_eq!(output_lines(&out).len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_file_sinks_into_one_directory_keep_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Each sink writes several files per subtask (batch_size), at parallelism 2: before file
    // names carried a per-writer part, the second sink overwrote the first's files.
    let text = format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ FakeSource {{ plugin_output = fake, row.num = 3000, schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{
  LocalFile {{ plugin_input = fake, path = "{out}", file_format_type = "json", batch_size = 1000 }}
  LocalFile {{ plugin_input = fake, path = "{out}", file_format_type = "json", batch_size = 1000 }}
}}
"#,
        out = out.display()
    );
    let report = run_text(&text).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let lines = output_lines(&out);
    assert_eq!(
        lines.len(),
        2 * 2 * 3000,
        "every row of both sinks is on disk"
    );
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2 * 2 * 3, "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_kind_extractor_turns_a_changelog_into_inserts_with_their_kind() {
    let text = r#"
env { job.mode = "BATCH" }
source { FakeSource { plugin_output = fake, schema = { fields { id = int } }, rows = [
  { kind = INSERT, fields = [1] }, { kind = UPDATE_BEFORE, fields = [1] },
  { kind = UPDATE_AFTER, fields = [2] }, { kind = DELETE, fields = [2] }
] } }
transform {
  RowKindExtractor { plugin_input = fake, plugin_output = kinds, transform_type = FULL }
  FilterRowKind { plugin_input = kinds, plugin_output = kept, include_kinds = [INSERT] }
}
sink { Assert { plugin_input = kept, rules = {
  row_rules = [{ rule_type = MIN_ROW, rule_value = 4 }, { rule_type = MAX_ROW, rule_value = 4 }],
  field_rules = [{ field_name = row_kind, field_type = string, field_value = [{ rule_type = NOT_NULL }, { rule_type = MIN_LENGTH, rule_value = 6 }] }]
} } }
"#;
    let report = run_text(text).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_path_reads_typed_values_out_of_json_columns() {
    let text = r#"
env { job.mode = "BATCH" }
source { FakeSource { plugin_output = fake, schema = { fields { id = int, doc = string, who = { name = string, langs = "array<string>" } } }, rows = [
  { kind = INSERT, fields = [1, "{\"order\": {\"total\": \"19.90\", \"paid\": true, \"items\": [3, 4]}}", ["ann", ["rust", "sql"]]] },
  { kind = INSERT, fields = [2, "{order: {total: 5, paid: false}}", ["bob", ["go"]]] }
] } }
transform { JsonPath { plugin_input = fake, plugin_output = out, columns = [
  { src_field = doc, path = "$.order.total", dest_field = total, dest_type = "decimal(6,2)" },
  { src_field = doc, path = "$.order.paid", dest_field = paid, dest_type = boolean },
  { src_field = doc, path = "$.order.items", dest_field = items, column_error_handle_way = SKIP },
  { src_field = who, path = "$[1][0]", dest_field = first_lang }
] } }
sink { Assert { plugin_input = out, rules = {
  row_rules = [{ rule_type = MIN_ROW, rule_value = 2 }, { rule_type = MAX_ROW, rule_value = 2 }],
  field_rules = [
    { field_name = total, field_type = "decimal(6,2)", field_value = [{ rule_type = MIN, rule_value = 5 }, { rule_type = MAX, rule_value = 19.9 }] },
    { field_name = paid, field_type = boolean, field_value = [{ rule_type = NOT_NULL }] },
    { field_name = first_lang, field_type = string, field_value = [{ rule_type = MIN_LENGTH, rule_value = 2 }, { rule_type = MAX_LENGTH, rule_value = 4 }] }
  ]
} } }
"#;
    let report = run_text(text).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    // Without SKIP the missing items of the second row fail the job, naming the path.
    let strict = text.replace(", column_error_handle_way = SKIP", "");
    let report = run_text(&strict).await;
    assert_eq!(report.status, JobStatus::Failed);
    let error = report.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("no value at $.order.items"), "{error}");
}

/// The files under `dir`, at any depth, in-progress (hidden) files left out.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !e.file_name().to_string_lossy().starts_with('.') {
                out.push(p);
            }
        }
    }
    out
}
