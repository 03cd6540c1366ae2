//! SeaTunnel's file options for packed and non-UTF-8 files, end to end: a LocalFile source
//! reading gzip, tar, tar.gz and zip archives and GBK text, a LocalFile sink writing GBK text
//! and compressed parquet, lzo (lzop) text, csv and json both ways, checked against the `lzop`
//! tool, and the codecs weir cannot read refused by name.

use crate::common;

use common::{load, run_text};
use std::io::Write;
use weir_core::JobStatus;

const ROWS: &str = "1,北京\n2,上海\n3,深圳\n";

/// A job reading `path` as csv with `options`, asserting the three rows arrive intact.
fn read_job(path: &std::path::Path, options: &str) -> String {
    format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "csv", {options}
  schema = {{ fields {{ id = int, city = string }} }} }} }}
sink {{ Assert {{ rules = {{
  row_rules = [{{ rule_type = MIN_ROW, rule_value = 3 }}, {{ rule_type = MAX_ROW, rule_value = 3 }}],
  field_rules = [{{ field_name = city, field_type = string, field_value = [{{ rule_type = NOT_NULL }}, {{ rule_type = MIN_LENGTH, rule_value = 2 }}, {{ rule_type = MAX_LENGTH, rule_value = 2 }}] }}]
}} }} }}
"#,
        path.display()
    )
}

async fn reads_three_rows(path: &std::path::Path, options: &str) {
    let report = run_text(&read_job(path, options)).await;
    assert_eq!(
        report.status,
        JobStatus::Finished,
        "{options}: {}",
        report.error.map(|e| e.to_string()).unwrap_or_default()
    );
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, body) in files {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", body.len()).as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        out.extend_from_slice(&h);
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(0u8, (512 - body.len() % 512) % 512));
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packed_and_gbk_files_are_read_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str, bytes: &[u8]| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("data"), bytes).unwrap();
        d
    };
    let gbk = encoding_rs::GBK.encode(ROWS).0.into_owned();
    reads_three_rows(&at("gbk", &gbk), r#"encoding = "gbk","#).await;
    reads_three_rows(
        &at("gz", &gzip(ROWS.as_bytes())),
        r#"archive_compress_codec = "gz","#,
    )
    .await;
    // Two files in one archive, the first without a final newline.
    let tar = tar_of(&[
        ("a.csv", "1,北京\n2,上海".as_bytes()),
        ("b.csv", "3,深圳\n".as_bytes()),
    ]);
    reads_three_rows(&at("tar", &tar), r#"archive_compress_codec = "tar","#).await;
    reads_three_rows(
        &at("targz", &gzip(&tar)),
        r#"archive_compress_codec = "tar_gz","#,
    )
    .await;
    // A zip of GBK files: both options at once.
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    z.start_file("one.csv", opts).unwrap();
    z.write_all(&encoding_rs::GBK.encode("1,北京\n2,上海\n").0)
        .unwrap();
    z.start_file("two.csv", opts).unwrap();
    z.write_all(&encoding_rs::GBK.encode("3,深圳\n").0).unwrap();
    let zipped = z.finish().unwrap().into_inner();
    reads_three_rows(
        &at("zip", &zipped),
        r#"archive_compress_codec = "zip", encoding = "GBK","#,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_writes_gbk_text_and_compressed_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let (text_out, parquet_out) = (dir.path().join("text"), dir.path().join("parquet"));
    let job = format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ plugin_output = fake, schema = {{ fields {{ id = int, city = string }} }},
  rows = [{{ kind = INSERT, fields = [1, "北京"] }}, {{ kind = INSERT, fields = [2, "上海"] }}] }} }}
sink {{
  LocalFile {{ plugin_input = fake, path = "{}", file_format_type = "csv", encoding = "gbk" }}
  LocalFile {{ plugin_input = fake, path = "{}", file_format_type = "parquet", compress_codec = "zstd" }}
}}
"#,
        text_out.display(),
        parquet_out.display()
    );
    let report = run_text(&job).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let file = std::fs::read_dir(&text_out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(file).unwrap();
    assert_eq!(
        bytes,
        encoding_rs::GBK.encode("1,北京\n2,上海\n").0.to_vec()
    );
    let file = std::fs::read_dir(&parquet_out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(file).unwrap())
            .unwrap();
    use parquet::file::reader::FileReader;
    let column = reader.metadata().row_group(0).column(1).compression();
    assert!(
        matches!(column, parquet::basic::Compression::ZSTD(_)),
        "{column:?}"
    );
}

#[test]
fn codecs_weir_cannot_read_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), ROWS).unwrap();
    for (options, want) in [
        (
            r#"compress_codec = "snappy","#,
            "compress_codec 'snappy' does not apply to text, csv and json files",
        ),
        (
            r#"archive_compress_codec = "rar","#,
            "archive_compress_codec 'rar' is not supported",
        ),
        (
            r#"encoding = "klingon","#,
            "encoding 'klingon' is not a known character set",
        ),
    ] {
        let errors = load(&read_job(dir.path(), options))
            .err()
            .unwrap_or_else(|| panic!("{options} should be refused"))
            .to_string();
        assert!(errors.contains(want), "{options}: {errors}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_directories_become_columns_of_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    for (name, hobby, rows) in [("ann", "coding", "1\n2\n"), ("bob", "chess", "3\n")] {
        let d = dir
            .path()
            .join(format!("name={name}"))
            .join(format!("hobby={hobby}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("part-0.txt"), rows).unwrap();
    }
    let out = dir.path().join("out");
    let job = format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ plugin_output = people, path = "{root}", file_format_type = "csv",
  schema = {{ fields {{ id = int }} }} }} }}
sink {{
  Assert {{ plugin_input = people, rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 3 }}],
    field_rules = [{{ field_name = hobby, field_type = string, field_value = [{{ rule_type = NOT_NULL }}] }}] }} }}
  LocalFile {{ plugin_input = people, path = "{out}", file_format_type = "json" }}
}}
"#,
        root = dir.path().display(),
        out = out.display()
    );
    let report = run_text(&job).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let lines = common::output_lines(&out);
    assert_eq!(
        lines,
        vec![
            r#"{"id":1,"name":"ann","hobby":"coding"}"#,
            r#"{"id":2,"name":"ann","hobby":"coding"}"#,
            r#"{"id":3,"name":"bob","hobby":"chess"}"#,
        ]
    );
    // Turned off, the directories are only directories.
    let off = job.replace(
        r#"file_format_type = "csv","#,
        r#"file_format_type = "csv", parse_partition_from_path = false,"#,
    );
    let errors = load(&off).err().expect("hobby is no column").to_string();
    assert!(
        errors.contains("field 'hobby' is not in the input"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_maps_and_rows_round_trip_through_text_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("text");
    let schema = r#"schema = { fields { id = int, tags = "array<string>", scores = "map<string, int>", who = { name = string, age = int } } }"#;
    let write = format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ {schema}, rows = [
  {{ kind = INSERT, fields = [1, ["a", "b"], {{ math = 90, art = 75 }}, ["ann", 30]] }},
  {{ kind = INSERT, fields = [2, null, {{ }}, ["bob", 41]] }}
] }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "text" }} }}
"#,
        out.display()
    );
    let report = run_text(&write).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let text: String = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(
        text.contains("1\u{1}a\u{2}b\u{1}math\u{3}90\u{2}art\u{3}75\u{1}ann\u{2}30"),
        "{text:?}"
    );
    let read = format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "text", {schema} }} }}
transform {{ Filter {{ fields = [id, tags, scores, who] }} }}
sink {{ Assert {{ rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 2 }}], field_rules = [
  {{ field_name = who, field_value = [{{ rule_type = NOT_NULL }}] }},
  {{ field_name = id, field_type = int, field_value = [{{ rule_type = NOT_NULL }}] }}
] }} }} }}
"#,
        out.display()
    );
    let report = run_text(&read).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    // An empty map is written as an empty field, which SeaTunnel reads as null.
    // And the values themselves: the row with id 1 as SeaTunnel would compare it.
    let check = read
        .replace(
            "transform { Filter { fields = [id, tags, scores, who] } }",
            r#"transform { Sql { query = "select id, tags, scores, who from t where id = 1" } }"#,
        )
        .replace(
            "field_rules = [",
            r#"field_rules = [
  { field_name = tags, field_value = [{ equals_to = ["a", "b"] }] },
  { field_name = scores, field_value = [{ equals_to = { math = 90, art = 75 } }] },
  { field_name = who, field_value = [{ equals_to = ["ann", 30] }] },"#,
        )
        .replace("rule_value = 2", "rule_value = 1")
        .replace(
            "file_format_type = \"text\",",
            "file_format_type = \"text\", plugin_output = t,",
        );
    let report = run_text(&check).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_copies_a_tree_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(src.join("img/2024")).unwrap();
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(src.join("img/2024/photo.bin"), &big).unwrap();
    std::fs::write(src.join("notes.txt"), "not parsed, just copied\n").unwrap();
    std::fs::write(src.join("empty.dat"), b"").unwrap();
    let job = |mode: &str, dst: &std::path::Path| {
        format!(
            r#"
env {{ job.mode = "{mode}", parallelism = 2 }}
source {{ LocalFile {{ path = "{}", file_format_type = "binary" }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "binary" }} }}
"#,
            src.display(),
            dst.display()
        )
    };
    let report = run_text(&job("BATCH", &dst)).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    assert_eq!(std::fs::read(dst.join("img/2024/photo.bin")).unwrap(), big);
    assert_eq!(
        std::fs::read_to_string(dst.join("notes.txt")).unwrap(),
        "not parsed, just copied\n"
    );
    // Copied again onto itself: nothing is replaced, the job says which file is in the way.
    let again = run_text(&job("BATCH", &dst)).await;
    assert_eq!(again.status, JobStatus::Failed);
    let error = again.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("never replaces a committed file"), "{error}");
    assert_eq!(std::fs::read(dst.join("img/2024/photo.bin")).unwrap(), big);

    let refused = load(&job("STREAMING", &dir.path().join("other")))
        .err()
        .expect("streaming binary copies are refused")
        .to_string();
    assert!(
        refused.contains("binary files are copied by BATCH jobs"),
        "{refused}"
    );
    let text_to_binary = format!(
        "source {{ FakeSource {{ schema = {{ fields {{ a = int }} }} }} }}\nsink {{ LocalFile {{ path = \"{}\", file_format_type = \"binary\" }} }}",
        dir.path().join("x").display()
    );
    let refused = load(&text_to_binary).err().expect("refused").to_string();
    assert!(
        refused.contains("the binary format writes what a binary source reads"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excel_workbooks_are_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("xlsx");
    let write = format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ schema = {{ fields {{ id = int, name = string, score = double, ok = boolean, day = date }} }}, rows = [
  {{ kind = INSERT, fields = [1, "北京", 9.5, true, "2024-03-05"] }},
  {{ kind = INSERT, fields = [2, "Oslo", 7.0, false, "2024-12-31"] }}
] }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "excel", enable_header_write = true }} }}
"#,
        out.display()
    );
    let report = run_text(&write).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let file = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(file.extension().and_then(|e| e.to_str()), Some("xlsx"));
    let read = format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "excel", sheet_name = "Sheet1", skip_header_row_number = 1,
  schema = {{ fields {{ id = bigint, name = string, score = double, ok = boolean, day = date }} }} }} }}
transform {{ Sql {{ query = "select * from t where id = 1" }} }}
sink {{ Assert {{ rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 1 }}, {{ rule_type = MAX_ROW, rule_value = 1 }}], field_rules = [
  {{ field_name = id, field_type = bigint, field_value = [{{ equals_to = 1 }}] }},
  {{ field_name = name, field_type = string, field_value = [{{ equals_to = "北京" }}] }},
  {{ field_name = score, field_type = double, field_value = [{{ equals_to = 9.5 }}] }},
  {{ field_name = ok, field_type = boolean, field_value = [{{ equals_to = true }}] }},
  {{ field_name = day, field_type = date, field_value = [{{ equals_to = "2024-03-05" }}] }}
] }} }} }}
"#,
        out.display()
    )
    .replace("file_format_type = \"excel\", sheet_name", "plugin_output = t, file_format_type = \"excel\", sheet_name");
    let report = run_text(&read).await;
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
    let missing = read.replace("Sheet1", "Sheet9");
    let report = run_text(&missing).await;
    assert_eq!(report.status, JobStatus::Failed);
    let error = report.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("has no readable sheet 'Sheet9'"), "{error}");
}

/// The `lzop` command, which the test tools install; without it (and without
/// `WEIR_REQUIRE_FORMAT_TOOLS`) the interop half of a test is skipped, saying so.
fn lzop() -> Option<&'static str> {
    let found = std::process::Command::new("lzop")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("WEIR_REQUIRE_FORMAT_TOOLS").is_some() {
        panic!("lzop is not installed (scripts/install-test-tools.sh installs it)");
    }
    if !found {
        eprintln!("lzop not installed: skipping the lzop interop checks");
    }
    found.then_some("lzop")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lzo_text_and_json_are_written_and_read_as_lzop_files() {
    let dir = tempfile::tempdir().unwrap();
    for (format, ext) in [("text", "txt"), ("json", "json"), ("csv", "csv")] {
        let out = dir.path().join(format);
        let write = format!(
            r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ row.num = 20000, schema = {{ fields {{ id = bigint, city = string, score = double }} }} }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "{format}", compress_codec = "lzo", encoding = "gbk" }} }}
"#,
            out.display()
        );
        let report = run_text(&write).await;
        assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
        let files: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().to_string_lossy().to_string();
        assert!(name.ends_with(&format!(".lzo.{ext}")), "{name}");
        if let Some(lzop) = lzop() {
            // The lzop tool checks and unpacks weir's file: 20 000 lines of GBK text.
            let unpacked = std::process::Command::new(lzop)
                .args(["-dc"])
                .arg(files[0].path())
                .output()
                .unwrap();
            assert!(unpacked.status.success(), "{unpacked:?}");
            let (text, _, bad) = encoding_rs::GBK.decode(&unpacked.stdout);
            assert!(!bad);
            assert_eq!(text.lines().count(), 20000);
        }
        let read = format!(
            r#"
env {{ job.mode = "BATCH" }}
source {{ LocalFile {{ path = "{}", file_format_type = "{format}", compress_codec = "lzo", encoding = "gbk",
  schema = {{ fields {{ id = bigint, city = string, score = double }} }} }} }}
sink {{ Assert {{ rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 20000 }}, {{ rule_type = MAX_ROW, rule_value = 20000 }}],
  field_rules = [{{ field_name = id, field_type = bigint, field_value = [{{ rule_type = NOT_NULL }}] }}] }} }} }}
"#,
            out.display()
        );
        let report = run_text(&read).await;
        assert_eq!(
            report.status,
            JobStatus::Finished,
            "{format}: {:?}",
            report.error
        );
    }
    // A file the lzop tool made (its default flags: checksums, a file name) reads the same.
    if let Some(lzop) = lzop() {
        let made = dir.path().join("by_lzop");
        std::fs::create_dir_all(&made).unwrap();
        let plain = dir.path().join("rows.csv");
        std::fs::write(&plain, ROWS.repeat(10_000)).unwrap();
        let status = std::process::Command::new(lzop)
            .arg("-o")
            .arg(made.join("rows.csv.lzo"))
            .arg(&plain)
            .status()
            .unwrap();
        assert!(status.success());
        let job = read_job(&made, r#"compress_codec = "lzo","#)
            .replace("rule_value = 3 ", "rule_value = 30000 ");
        let report = run_text(&job).await;
        assert_eq!(report.status, JobStatus::Finished, "{:?}", report.error);
        // A plain file said to be lzo is an error naming it, not garbage rows.
        std::fs::copy(&plain, made.join("rows.csv.lzo")).unwrap();
        let report = run_text(&job).await;
        assert_eq!(report.status, JobStatus::Failed);
        let error = report.error.map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("not an lzop file"), "{error}");
    }
}
