//! SeaTunnel's `orc` and `xml` file formats end to end. ORC files written by SeaTunnel (Java's
//! ORC writer, from SeaTunnel's own e2e resources in `tests/data/seatunnel`) are read with
//! their types, a declared schema's casts and a projection; weir's ORC files are read back by
//! weir and by Apache ORC's C++ reader (pyarrow). XML files are read as SeaTunnel's e2e file
//! lays them out (values as attributes, maps and lists as JSON, zipped or not), and written and
//! read back in both layouts and another character set.

use crate::common;

use common::{load, output_lines, run_text};
use std::path::{Path, PathBuf};
use weir_core::JobStatus;

fn seatunnel_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/seatunnel")
        .join(name)
}

/// A directory holding only a copy of SeaTunnel's `name`.
fn dir_with(root: &Path, name: &str) -> PathBuf {
    let d = root.join(name.replace('.', "_"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(seatunnel_file(name), d.join(name)).unwrap();
    d
}

async fn finishes(job: &str) {
    let report = run_text(job).await;
    assert_eq!(
        report.status,
        JobStatus::Finished,
        "{}",
        report.error.map(|e| e.to_string()).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orc_files_from_java_are_read_with_their_types_casts_and_projection() {
    let dir = tempfile::tempdir().unwrap();
    let e2e = dir_with(dir.path(), "e2e.orc");
    // The file's own types: maps, lists, decimals, bytes, dates, timestamps, a nested row.
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "orc", plugin_output = t }} }}
transform {{ Sql {{ plugin_input = t, plugin_output = one, query = "select * from t where c_string = 'bFKRK'" }} }}
sink {{ Assert {{ plugin_input = one, rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 1 }}, {{ rule_type = MAX_ROW, rule_value = 1 }}], field_rules = [
  {{ field_name = c_int, field_type = int, field_value = [{{ equals_to = 744173534 }}] }},
  {{ field_name = c_bigint, field_type = bigint, field_value = [{{ equals_to = 4371541054480166912 }}] }},
  {{ field_name = c_decimal, field_type = "decimal(30, 8)", field_value = [{{ equals_to = "4648561346466140211781.39399676" }}] }},
  {{ field_name = c_date, field_type = date, field_value = [{{ equals_to = "2023-03-10" }}] }},
  {{ field_name = c_timestamp, field_type = timestamp, field_value = [{{ equals_to = "2023-07-21T04:19:27" }}] }},
  {{ field_name = c_array, field_value = [{{ equals_to = [false, true, false, true, false] }}] }},
  {{ field_name = c_map, field_value = [{{ equals_to = {{ ovcKb = wReRm, vWQsj = nupUo, KIyHW = SQLIO, svYyh = RwkzW, EZOAp = TOJVY }} }}] }},
  {{ field_name = c_row, field_value = [{{ rule_type = NOT_NULL }}] }}
] }} }} }}
"#,
        e2e.display()
    ))
    .await;

    // A declared schema converts where the file's type converts (SeaTunnel's getFinalType):
    // smallint to bigint, float to string, timestamp to time.
    let cast = dir_with(dir.path(), "orc_for_cast.orc");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "orc", plugin_output = t, schema = {{ fields {{
  c_map = "map<string, string>", c_array = "array<int>", c_string = string, c_boolean = boolean,
  c_tinyint = tinyint, c_smallint = bigint, c_int = bigint, c_bigint = bigint, c_float = string,
  c_double = double, c_bytes = bytes, c_date = date, c_decimal = "decimal(38, 18)", c_timestamp = time
}} }} }} }}
transform {{ Sql {{ plugin_input = t, plugin_output = one, query = "select * from t where c_string = 'NHYHI'" }} }}
sink {{ Assert {{ plugin_input = one, rules = {{ row_rules = [{{ rule_type = MAX_ROW, rule_value = 1 }}, {{ rule_type = MIN_ROW, rule_value = 1 }}], field_rules = [
  {{ field_name = c_smallint, field_type = bigint, field_value = [{{ equals_to = 8579 }}] }},
  {{ field_name = c_float, field_type = string, field_value = [{{ rule_type = NOT_NULL }}] }},
  {{ field_name = c_timestamp, field_type = time, field_value = [{{ equals_to = "06:03:58" }}] }}
] }} }} }}
"#,
        cast.display()
    ))
    .await;

    // read_columns in another order than the file's: the rows have them in the asked order.
    let out = dir.path().join("projected");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "orc", read_columns = [c_int, c_string] }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "json" }} }}
"#,
        e2e.display(),
        out.display()
    ))
    .await;
    let lines = output_lines(&out);
    assert_eq!(lines.len(), 5);
    assert!(
        lines.contains(&r#"{"c_int":744173534,"c_string":"bFKRK"}"#.to_string()),
        "{lines:?}"
    );

    // Not an ORC file: the job fails naming it.
    let fake = dir.path().join("fake");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("x.orc"), "not orc at all").unwrap();
    let errors = load(&format!(
        r#"source {{ LocalFile {{ path = "{}", file_format_type = "orc" }} }}
sink {{ Console {{ }} }}"#,
        fake.display()
    ))
    .err()
    .expect("a text file is no orc file")
    .to_string();
    assert!(errors.contains("is not an orc file"), "{errors}");
}

/// pyarrow's ORC reader, installed by scripts/install-format-tools.sh.
fn pyarrow() -> Option<PathBuf> {
    let py =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/format-tools/py/bin/python");
    let found = std::process::Command::new(&py)
        .args(["-c", "import pyarrow.orc"])
        .status()
        .is_ok_and(|s| s.success());
    if !found && std::env::var_os("WEIR_REQUIRE_FORMAT_TOOLS").is_some() {
        panic!("pyarrow is not installed (scripts/install-format-tools.sh installs it)");
    }
    if !found {
        eprintln!("pyarrow not installed: skipping the Apache ORC reader check");
    }
    found.then_some(py)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orc_files_weir_writes_are_read_back_by_weir_and_apache_orc() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("orc");
    let schema = "schema = { fields { id = bigint, name = string, ok = boolean, day = date, at = timestamp, score = double, tiny = tinyint, raw = bytes } }";
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ {schema}, rows = [
  {{ kind = INSERT, fields = [1, "北京", true, "2024-03-05", "2024-03-05 10:11:12", 9.5, 7, "aGk="] }},
  {{ kind = INSERT, fields = [2, null, false, "2024-12-31", "2024-12-31 23:59:59", -1.25, -8, null] }}
] }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "orc", compress_codec = "zlib" }} }}
"#,
        out.display()
    ))
    .await;
    let files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(name.ends_with(".zlib.orc"), "{name}");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "orc", plugin_output = t }} }}
transform {{ Sql {{ plugin_input = t, plugin_output = one, query = "select * from t where id = 1" }} }}
sink {{ Assert {{ plugin_input = one, rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 1 }}], field_rules = [
  {{ field_name = name, field_type = string, field_value = [{{ equals_to = "北京" }}] }},
  {{ field_name = day, field_type = date, field_value = [{{ equals_to = "2024-03-05" }}] }},
  {{ field_name = at, field_type = timestamp, field_value = [{{ equals_to = "2024-03-05T10:11:12" }}] }},
  {{ field_name = tiny, field_type = tinyint, field_value = [{{ equals_to = 7 }}] }},
  {{ field_name = raw, field_type = bytes, field_value = [{{ equals_to = "aGk=" }}] }}
] }} }} }}
"#,
        out.display()
    ))
    .await;
    if let Some(py) = pyarrow() {
        let script = r#"
import sys, pyarrow.orc as orc
f = orc.ORCFile(sys.argv[1])
t = f.read()
print(f.compression, t.num_rows)
for r in t.to_pylist():
    print(r["id"], r["name"], r["ok"], r["day"], r["at"], r["score"], r["tiny"], r["raw"])
"#;
        let o = std::process::Command::new(py)
            .args(["-c", script])
            .arg(&files[0])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "ZLIB 2\n\
             1 北京 True 2024-03-05 2024-03-05 10:11:12 9.5 7 b'hi'\n\
             2 None False 2024-12-31 2024-12-31 23:59:59 -1.25 -8 None\n"
        );
    }
    // What weir's ORC writer cannot encode is refused before anything runs, by column.
    let refused = load(&format!(
        r#"source {{ FakeSource {{ schema = {{ fields {{ id = int, tags = "map<string, string>" }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "orc" }} }}"#,
        dir.path().join("never").display()
    ))
    .err()
    .expect("a map column is refused")
    .to_string();
    assert!(
        refused.contains("orc files written by weir cannot hold column 'tags'"),
        "{refused}"
    );
    let refused = load(&format!(
        r#"source {{ FakeSource {{ schema = {{ fields {{ id = int }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "orc", compress_codec = "gzip" }} }}"#,
        dir.path().join("never").display()
    ))
    .err()
    .expect("gzip is no orc codec")
    .to_string();
    assert!(
        refused.contains("compress_codec 'gzip' is not supported for orc files"),
        "{refused}"
    );
}

const XML_RULES: &str = r#"rules = { row_rules = [{ rule_type = MIN_ROW, rule_value = 1 }, { rule_type = MAX_ROW, rule_value = 1 }], field_rules = [
  { field_name = c_bytes, field_type = tinyint, field_value = [{ equals_to = 1 }] },
  { field_name = c_bigint, field_type = bigint, field_value = [{ equals_to = 4444 }] },
  { field_name = c_string, field_type = string, field_value = [{ equals_to = "DusayI" }] },
  { field_name = c_decimal, field_type = "decimal(10, 2)", field_value = [{ equals_to = "7.78" }] },
  { field_name = c_boolean, field_type = boolean, field_value = [{ equals_to = false }] },
  { field_name = c_map, field_value = [{ equals_to = { age = "26", name = "Ivan" } }] },
  { field_name = c_array, field_value = [{ equals_to = ["Ivan", "Dusayi"] }] },
  { field_name = c_date, field_type = date, field_value = [{ equals_to = "2024-01-31" }] },
  { field_name = c_datetime, field_type = timestamp, field_value = [{ equals_to = "2024-01-31T16:00:48" }] },
  { field_name = c_time, field_type = time, field_value = [{ equals_to = "16:00:48" }] }
] }"#;

const XML_SCHEMA: &str = r#"schema = { fields { c_bytes = tinyint, c_short = smallint, c_int = int, c_bigint = bigint,
  c_string = string, c_double = double, c_float = float, c_decimal = "decimal(10, 2)", c_boolean = boolean,
  c_map = "map<string, string>", c_array = "array<string>", c_date = date, c_datetime = timestamp, c_time = time } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_files_are_read_as_seatunnel_lays_them_out_and_written_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir_with(dir.path(), "e2e.xml");
    let read = |path: &Path, extra: &str| {
        format!(
            r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "xml", xml_row_tag = "RECORD", xml_use_attr_format = true, {extra}
  {XML_SCHEMA} }} }}
sink {{ Assert {{ {XML_RULES} }} }}
"#,
            path.display()
        )
    };
    finishes(&read(&plain, "")).await;
    // The same file in a zip archive.
    let zipped = dir.path().join("zipped");
    std::fs::create_dir_all(&zipped).unwrap();
    {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::fs::File::create(zipped.join("e2e.zip")).unwrap());
        z.start_file("e2e.xml", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(&std::fs::read(seatunnel_file("e2e.xml")).unwrap())
            .unwrap();
        z.finish().unwrap();
    }
    finishes(&read(&zipped, r#"archive_compress_codec = "zip","#)).await;

    // Written by weir as child elements in GBK and as attributes, then read back.
    for (layout, attrs) in [("elements", false), ("attributes", true)] {
        let out = dir.path().join(layout);
        finishes(&format!(
            r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "xml", xml_row_tag = "RECORD", xml_use_attr_format = true, {XML_SCHEMA} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "xml", xml_root_tag = "ROWS", xml_row_tag = "ROW",
  xml_use_attr_format = {attrs}, encoding = "gbk" }} }}
"#,
            plain.display(),
            out.display()
        ))
        .await;
        let file = std::fs::read_dir(&out)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let bytes = std::fs::read(&file).unwrap();
        let (text, _, _) = encoding_rs::GBK.decode(&bytes);
        assert!(
            text.starts_with("<?xml version=\"1.0\" encoding=\"GBK\"?>\n\n<ROWS>\n\t<ROW"),
            "{text}"
        );
        if attrs {
            assert!(
                text.contains(
                    r#" c_map="{&quot;age&quot;:&quot;26&quot;,&quot;name&quot;:&quot;Ivan&quot;}""#
                ),
                "{text}"
            );
        } else {
            assert!(text.contains("\n\t\t<c_string>DusayI</c_string>"), "{text}");
        }
        finishes(
            &read(&out, r#"encoding = "gbk","#)
                .replace(r#"xml_row_tag = "RECORD""#, r#"xml_row_tag = "ROW""#)
                .replace(
                    "xml_use_attr_format = true",
                    &format!("xml_use_attr_format = {attrs}"),
                ),
        )
        .await;
    }
    let errors = load(&read(&plain, "").replace(r#"xml_row_tag = "RECORD", "#, ""))
        .err()
        .expect("the row tag is needed")
        .to_string();
    assert!(
        errors.contains("reading xml files needs 'xml_row_tag' and 'xml_use_attr_format'"),
        "{errors}"
    );
    // Broken XML fails the job with the file and the place.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("b.xml"),
        "<RECORDS><RECORD c_string=\"x\"></RECORDS>",
    )
    .unwrap();
    let report = run_text(&read(&broken, "")).await;
    assert_eq!(report.status, JobStatus::Failed);
    let error = report.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("b.xml is not readable xml"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_files_are_named_by_seatunnels_file_name_expression() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("named");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ FakeSource {{ row.num = 10, schema = {{ fields {{ id = bigint }} }} }} }}
sink {{
  LocalFile {{
    path = "{}"
    file_format_type = json
    custom_filename = true
    file_name_expression = "${{transactionId}}_${{now}}"
    filename_time_format = "yyyyMMdd"
  }}
}}
"#,
        out.display()
    ))
    .await;
    let today = chrono::Local::now().format("%Y%m%d").to_string();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "one file per writer: {names:?}");
    for name in &names {
        assert!(
            name.starts_with("T_") && name.ends_with(&format!("_{today}_0.json")),
            "{name}"
        );
    }
    assert_eq!(output_lines(&out).len(), 20);
    // A name every writer would share is refused before anything runs.
    let errors = load(&format!(
        "env {{ job.mode = BATCH }}\nsource {{ FakeSource {{ schema = {{ fields {{ id = bigint }} }} }} }}\nsink {{ LocalFile {{ path = \"{}\", custom_filename = true, file_name_expression = \"same\" }} }}",
        out.display()
    ))
    .err()
    .expect("a name every writer shares is refused")
    .to_string();
    assert!(
        errors.contains("put ${transactionId} or ${uuid} in it"),
        "{errors}"
    );
}
