//! Broken job files: each gets its exact, helpful error, and none panics.

use crate::common;

use weir_pipeline::Format;

const FAKE: &str = "FakeSource { plugin_output = \"fake\", schema = { fields { id = bigint, name = string, age = int } } }";

fn hocon(source: &str, transform: &str, sink: &str) -> String {
    format!("env {{ job.mode = \"BATCH\" }}\nsource {{\n  {source}\n}}\ntransform {{\n  {transform}\n}}\nsink {{\n  {sink}\n}}\n")
}

/// (name, job text, format, every fragment the error must contain).
fn cases() -> Vec<(&'static str, String, Format, Vec<&'static str>)> {
    let h = Format::Hocon;
    vec![
        ("unbalanced brace", "env {\n job.mode = \"BATCH\"\nsource { }\n".into(), h, vec!["syntax error", "line "]),
        ("unknown source with a near miss", hocon("FakeSorce { schema = { fields { a = int } } }", "", "Console {}"), h,
            vec!["unknown plugin 'FakeSorce' in source[0] (FakeSorce, line 3); did you mean 'FakeSource'?"]),
        ("unknown source", hocon("Pulsar { topic = x }", "", "Console {}"), h,
            vec!["unknown plugin 'Pulsar' in source[0]", "weir does not have this source; available: FakeSource, Jdbc, Kafka, LocalFile"]),
        ("unknown sink from SeaTunnel's tests", r#"{"source":[{"plugin_name":"FakeSource","schema":{"fields":{"a":"int"}}}],"sink":[{"plugin_name":"InMemory"}]}"#.into(), Format::Json,
            vec!["unknown plugin 'InMemory' in sink[0]", "available: Assert, Blackhole, Console, Jdbc, Kafka, LocalFile"]),
        ("sink in the source block", hocon("Console {}", "", "Console {}"), h, vec!["'Console' is a sink, not a source", "move it to the sink block"]),
        ("option of the wrong type", hocon("FakeSource { row.num = \"ten\", schema = { fields { a = int } } }", "", "Console {}"), h,
            vec!["option 'row.num' must be an integer, found \"ten\"", "source[0] (FakeSource, line 3), option 'row.num'"]),
        ("boolean option of the wrong type", hocon(FAKE, "", "Console { log.print.data = maybe }"), h,
            vec!["option 'log.print.data' must be true or false", "sink[0] (Console, line 9)"]),
        ("missing required query", hocon(FAKE, "Sql { plugin_input = fake }", "Console {}"), h,
            vec!["missing required option 'query' in transform[0] (Sql, line 6), option 'query'; add query = ... to the Sql block"]),
        ("missing sink path", hocon(FAKE, "", "LocalFile { file_format_type = json }"), h, vec!["missing required option 'path' in sink[0] (LocalFile"]),
        ("missing schema", hocon("FakeSource { row.num = 3 }", "", "Console {}"), h, vec!["missing required option 'schema' in source[0]"]),
        ("dangling plugin_input", hocon(FAKE, "", "Console { plugin_input = fak }"), h,
            vec!["input table 'fak' is not produced by any source or transform in sink[0]", "did you mean 'fake'?"]),
        ("cycle", hocon(FAKE, "Sql { plugin_input = b, plugin_output = a, query = \"select * from b\" }\n  Sql { plugin_input = a, plugin_output = b, query = \"select * from a\" }", "Console { plugin_input = fake }"), h,
            vec!["the plugins form a cycle", "transform[0]", "transform[1]"]),
        ("bad field type", hocon("FakeSource { schema = { fields { age = integr } } }", "", "Console {}"), h, vec!["unknown type 'integr'", "field 'age'", "source[0]"]),
        ("decimal too wide", hocon("FakeSource { schema = { fields { price = \"decimal(50, 2)\" } } }", "", "Console {}"), h, vec!["decimal precision must be between 1 and 38"]),
        ("unclosed generic", hocon("FakeSource { schema = { fields { tags = \"array<string\" } } }", "", "Console {}"), h, vec!["expected '>'"]),
        ("unresolvable variable", hocon(FAKE, "", "LocalFile { path = \"${OUT_DIR}\" }"), h,
            vec!["unresolved variable ${OUT_DIR} in line 9", "pass -i OUT_DIR=VALUE"]),
        ("unknown job mode", "env { job.mode = \"STREAM\" }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Console {} }".into(), h,
            vec!["unknown job mode 'STREAM' in env, option 'job.mode'; use \"BATCH\" or \"STREAMING\""]),
        ("zero parallelism", "env { parallelism = 0 }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Console {} }".into(), h, vec!["'parallelism' must be positive, found 0"]),
        ("huge parallelism", "env { parallelism = 1000000000 }\nsource { FakeSource { schema = { fields { a = int } } } }\nsink { Console {} }".into(), h,
            vec!["'parallelism' is 1000000000, above the maximum of 32768"]),
        ("zero plugin parallelism", hocon(FAKE, "", "Console { parallelism = 0 }"), h,
            vec!["parallelism 0 is out of range in sink[0] (Console, line 9), option 'parallelism'"]),
        ("no source", "sink { Console {} }".into(), h, vec!["no source plugin in source"]),
        ("no sink", "source { FakeSource { schema = { fields { a = int } } } }".into(), h, vec!["no sink plugin in sink"]),
        ("misspelled block", "source { FakeSource { schema = { fields { a = int } } } }\nsinks { Console {} }".into(), h,
            vec!["unknown top-level block 'sinks' in the job file; did you mean 'sink'?"]),
        ("misspelled option", hocon("FakeSource { row.nums = 3, schema = { fields { a = int } } }", "", "Console {}"), h,
            vec!["unknown option 'row.nums' in source[0] (FakeSource, line 3), option 'row.nums'; did you mean 'row.num'?"]),
        ("query on a missing column", hocon(FAKE, "Sql { plugin_input = fake, query = \"select salary from fake\" }", "Console {}"), h,
            vec!["cannot plan the query", "salary", "transform[0] (Sql, line 6)"]),
        ("query on the wrong table", hocon(FAKE, "Sql { plugin_input = fake, query = \"select id from people\" }", "Console {}"), h,
            vec!["the query reads table 'people' but this transform's input is 'fake'", "write FROM fake"]),
        ("GROUP BY an expression", hocon(FAKE, "Sql { plugin_input = fake, query = \"select count(*) from fake group by age % 10\" }", "Console {}"), h,
            vec!["GROUP BY age % 10: weir groups by input columns only", "earlier Sql transform", "transform[0] (Sql, line 6)"]),
        ("DISTINCT aggregate", hocon(FAKE, "Sql { plugin_input = fake, query = \"select name, count(distinct age) from fake group by name\" }", "Console {}"), h,
            vec!["the Sql transform does not support count(DISTINCT ...)"]),
        ("filter on a missing field", hocon(FAKE, "Filter { include_fields = [agee] }", "Console {}"), h,
            vec!["include_fields: field 'agee' is not in the input in transform[0] (Filter, line 6); did you mean 'age'?"]),
        ("duplicate table name", hocon(&format!("{FAKE}\n  {FAKE}"), "", "Console {}"), h, vec!["table 'fake' is already produced by source[0]"]),
        ("invalid JSON", "{\"env\": {\"job.mode\": \"BATCH\",}, \"source\": []}".into(), Format::Json, vec!["invalid JSON", "line 1"]),
        ("JSON plugin without a name", r#"{"source":[{"row.num":1}],"sink":[{"plugin_name":"Console"}]}"#.into(), Format::Json,
            vec!["missing 'plugin_name' in source[0], option 'plugin_name'"]),
        ("empty file", "  \n".into(), h, vec!["the job file is empty"]),
        ("unsupported file format", hocon(FAKE, "", "LocalFile { path = \"/tmp/x\", file_format_type = avro }"), h,
            vec!["unknown file_format_type 'avro'; use text, csv, json, parquet, orc, xml, excel or binary", "sink[0] (LocalFile"]),
        ("transform with two inputs", hocon(&format!("{FAKE}\n  FakeSource {{ plugin_output = other, schema = {{ fields {{ a = int }} }} }}"), "Sql { plugin_input = [fake, other], query = \"select 1 from fake\" }", "Console {}"), h,
            vec!["a transform reads one table, found 2"]),
        ("literal row of the wrong width", hocon("FakeSource { schema = { fields { a = int, b = string } }, rows = [{ kind = INSERT, fields = [1] }] }", "", "Console {}"), h,
            vec!["row 0 has 1 values but the schema has 2"]),
        ("assert on a missing field", hocon(FAKE, "", "Assert { rules { field_rules = [{ field_name = nme, field_value = [{ rule_type = NOT_NULL }] }] } }"), h,
            vec!["field 'nme' is not in the input", "sink[0] (Assert"]),
    ]
}

#[test]
fn every_broken_file_gets_its_exact_error() {
    let cases = cases();
    assert!(cases.len() >= 20);
    for (name, text, format, fragments) in cases {
        let result = std::panic::catch_unwind(|| common::load_with(&text, format, None));
        let Ok(result) = result else {
            panic!("{name}: loading panicked");
        };
        let Err(errors) = result else {
            panic!("{name}: should be rejected");
        };
        let message = errors.to_string();
        for f in fragments {
            assert!(message.contains(f), "{name}: expected {f:?} in:\n{message}");
        }
    }
}

#[test]
fn all_problems_of_a_file_are_reported_at_once() {
    let text = hocon(
        "FakeSorce { schema = { fields { a = int } } }\n  FakeSource { row.num = x, schema = { fields { a = int } } }",
        "Sql { plugin_input = nowhere }",
        "Console { plugin_input = missing }",
    );
    let errors = common::load(&text).err().expect("invalid");
    let message = errors.to_string();
    assert!(errors.0.len() >= 4, "{message}");
    for f in [
        "FakeSorce",
        "'row.num' must be an integer",
        "missing required option 'query'",
        "'nowhere'",
        "'missing'",
    ] {
        assert!(message.contains(f), "expected {f:?} in:\n{message}");
    }
}
