//! SeaTunnel's Jdbc source against real PostgreSQL and MariaDB servers (the `db` module starts them):
//! every type read exactly, a table split over parallel readers with every row read once, and
//! the mistakes users make (a wrong password, no server, a missing table, a bad URL, a type weir
//! cannot map) reported by plugin and reason while nothing runs.

use crate::common;
use crate::db;

use common::{load, run_text};
use std::collections::BTreeSet;
use weir_core::JobStatus;

async fn finishes(job: &str) {
    let report = run_text(job).await;
    assert_eq!(
        report.status,
        JobStatus::Finished,
        "{}",
        report.error.map(|e| e.to_string()).unwrap_or_default()
    );
}

/// The ids in the json lines under `dir`, checking none repeats.
fn ids(dir: &std::path::Path) -> BTreeSet<i64> {
    let lines = common::output_lines(dir);
    let ids: Vec<i64> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let set: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "an id was read twice");
    set
}

const PG_TABLE: &str = r#"
CREATE TABLE items (
  id bigint PRIMARY KEY, small smallint, i integer, f4 real, f8 double precision,
  n numeric(12, 3), t text, vc varchar(20), b bytea, ok boolean, d date, tm time,
  ts timestamp, tstz timestamptz, j jsonb, u uuid, ai integer[], at text[]
);
INSERT INTO items
SELECT g, (g % 100)::smallint, g * 10, g / 4.0, g / 8.0, g * 1.5 + 0.125,
       'name ' || g, 'v' || g, convert_to('b' || g, 'UTF8'), g % 2 = 0,
       DATE '2024-01-01' + g, TIME '10:00:00' + g * INTERVAL '1 second',
       TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 minute',
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 hour',
       jsonb_build_object('k', g), md5(g::text)::uuid, ARRAY[g::int, NULL, 3], ARRAY['a' || g, NULL]
FROM generate_series(1, 1000) g;
INSERT INTO items (id) VALUES (1001);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rows_arrive_exact_in_parallel_splits() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql(PG_TABLE);
    let uuid_42 = pg.sql("SELECT md5('42')::uuid");
    let dir = tempfile::tempdir().unwrap();
    let source = |extra: &str| {
        format!(
            r#"Jdbc {{ url = "{}", driver = "org.postgresql.Driver", user = weir, password = weir,
  table_path = "public.items", partition_column = "id", partition_num = 5, fetch_size = 64, plugin_output = items {extra} }}"#,
            pg.url("shop")
        )
    };
    // Row 42, every column, compared in its own type.
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ {} }}
transform {{ Sql {{ plugin_input = items, plugin_output = one, query = "select * from items where id = 42" }} }}
sink {{ Assert {{ plugin_input = one, rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 1 }}, {{ rule_type = MAX_ROW, rule_value = 1 }}], field_rules = [
  {{ field_name = small, field_type = smallint, field_value = [{{ equals_to = 42 }}] }},
  {{ field_name = i, field_type = int, field_value = [{{ equals_to = 420 }}] }},
  {{ field_name = f4, field_type = float, field_value = [{{ equals_to = 10.5 }}] }},
  {{ field_name = f8, field_type = double, field_value = [{{ equals_to = 5.25 }}] }},
  {{ field_name = n, field_type = "decimal(12, 3)", field_value = [{{ equals_to = "63.125" }}] }},
  {{ field_name = t, field_type = string, field_value = [{{ equals_to = "name 42" }}] }},
  {{ field_name = vc, field_type = string, field_value = [{{ equals_to = "v42" }}] }},
  {{ field_name = b, field_type = bytes, field_value = [{{ equals_to = "YjQy" }}] }},
  {{ field_name = ok, field_type = boolean, field_value = [{{ equals_to = true }}] }},
  {{ field_name = d, field_type = date, field_value = [{{ equals_to = "2024-02-12" }}] }},
  {{ field_name = tm, field_type = time, field_value = [{{ equals_to = "10:00:42" }}] }},
  {{ field_name = ts, field_type = timestamp, field_value = [{{ equals_to = "2024-01-01T00:42:00" }}] }},
  {{ field_name = j, field_type = string, field_value = [{{ equals_to = "{{\"k\":42}}" }}] }},
  {{ field_name = u, field_type = string, field_value = [{{ equals_to = "{uuid_42}" }}] }},
  {{ field_name = ai, field_value = [{{ equals_to = [42, null, 3] }}] }},
  {{ field_name = at, field_value = [{{ equals_to = ["a42", null] }}] }}
] }} }} }}
"#,
        source("")
    ))
    .await;
    // The row of nulls reads as nulls.
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ {} }}
transform {{ Sql {{ plugin_input = items, plugin_output = one, query = "select * from items where id = 1001" }} }}
sink {{ Assert {{ plugin_input = one, rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 1 }}], field_rules = [
  {{ field_name = n, field_value = [{{ rule_type = NULL }}] }},
  {{ field_name = tstz, field_value = [{{ rule_type = NULL }}] }},
  {{ field_name = ai, field_value = [{{ rule_type = NULL }}] }}
] }} }} }}
"#,
        source("")
    ))
    .await;
    // Every row exactly once over five splits (and the null split) on two readers.
    let out = dir.path().join("all");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ {} }}
sink {{ LocalFile {{ plugin_input = items, path = "{}", file_format_type = "json" }} }}
"#,
        source(""),
        out.display()
    ))
    .await;
    assert_eq!(ids(&out), (1..=1001).collect::<BTreeSet<i64>>());
    // A query with where_condition and given bounds reads just those rows.
    let some = dir.path().join("some");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ Jdbc {{ url = "{}", user = weir, password = weir, query = "select id, t from items",
  where_condition = "id % 10 = 0", partition_column = "id", partition_lower_bound = 1, partition_upper_bound = 500 }} }}
sink {{ LocalFile {{ path = "{}", file_format_type = "json" }} }}
"#,
        pg.url("shop"),
        some.display()
    ))
    .await;
    // Bounds narrower than the data shape the splits but lose no row.
    assert_eq!(
        ids(&some),
        (1..=100).map(|i| i * 10).collect::<BTreeSet<i64>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_rows_arrive_exact_in_parallel_splits() {
    let Some(my) = db::MariaDb::start() else {
        return;
    };
    my.sql(
        r#"CREATE TABLE items (
  id bigint PRIMARY KEY, tiny tinyint, flag tinyint(1), small smallint, i int, ui int unsigned,
  big bigint unsigned, f4 float, f8 double, n decimal(12, 3), t text, vc varchar(20),
  b varbinary(16), d date, tm time, dt datetime(3), ts timestamp NULL, j json, y year
);
INSERT INTO items
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1000)
SELECT n, n % 100, n % 2, n, n * 10, 4000000000, 18446744073709551615, n / 4, n / 8, n * 1.5 + 0.125,
       CONCAT('name ', n), CONCAT('v', n), CAST(CONCAT('b', n) AS BINARY),
       DATE_ADD('2024-01-01', INTERVAL n DAY), SEC_TO_TIME(36000 + n),
       TIMESTAMP('2024-01-01 00:00:00.250') + INTERVAL n MINUTE, '2024-01-01 00:00:00' + INTERVAL n HOUR,
       JSON_OBJECT('k', n), 2000 + n % 50
FROM g;
INSERT INTO items (id) VALUES (1001);"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        r#"Jdbc {{ url = "{}?useSSL=false", driver = "com.mysql.cj.jdbc.Driver", user = weir, password = weir,
  table_path = "shop.items", partition_column = "id", partition_num = 3, fetch_size = 100, plugin_output = items }}"#,
        my.url("shop")
    );
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ {source} }}
transform {{ Sql {{ plugin_input = items, plugin_output = one, query = "select * from items where id = 42" }} }}
sink {{ Assert {{ plugin_input = one, rules = {{ row_rules = [{{ rule_type = MIN_ROW, rule_value = 1 }}, {{ rule_type = MAX_ROW, rule_value = 1 }}], field_rules = [
  {{ field_name = tiny, field_type = tinyint, field_value = [{{ equals_to = 42 }}] }},
  {{ field_name = flag, field_type = boolean, field_value = [{{ equals_to = false }}] }},
  {{ field_name = small, field_type = smallint, field_value = [{{ equals_to = 42 }}] }},
  {{ field_name = i, field_type = int, field_value = [{{ equals_to = 420 }}] }},
  {{ field_name = ui, field_type = bigint, field_value = [{{ equals_to = 4000000000 }}] }},
  {{ field_name = big, field_type = "decimal(20, 0)", field_value = [{{ equals_to = "18446744073709551615" }}] }},
  {{ field_name = f4, field_type = float, field_value = [{{ equals_to = 10.5 }}] }},
  {{ field_name = f8, field_type = double, field_value = [{{ equals_to = 5.25 }}] }},
  {{ field_name = n, field_type = "decimal(12, 3)", field_value = [{{ equals_to = "63.125" }}] }},
  {{ field_name = t, field_type = string, field_value = [{{ equals_to = "name 42" }}] }},
  {{ field_name = vc, field_type = string, field_value = [{{ equals_to = "v42" }}] }},
  {{ field_name = b, field_type = bytes, field_value = [{{ equals_to = "YjQy" }}] }},
  {{ field_name = d, field_type = date, field_value = [{{ equals_to = "2024-02-12" }}] }},
  {{ field_name = tm, field_type = time, field_value = [{{ equals_to = "10:00:42" }}] }},
  {{ field_name = dt, field_type = timestamp, field_value = [{{ equals_to = "2024-01-01T00:42:00.250" }}] }},
  {{ field_name = ts, field_type = timestamp, field_value = [{{ equals_to = "2024-01-02T18:00:00" }}] }},
  {{ field_name = y, field_type = int, field_value = [{{ equals_to = 2042 }}] }}
] }} }} }}
"#
    ))
    .await;
    let out = dir.path().join("all");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ {source} }}
sink {{ LocalFile {{ plugin_input = items, path = "{}", file_format_type = "json" }} }}
"#,
        out.display()
    ))
    .await;
    assert_eq!(ids(&out), (1..=1001).collect::<BTreeSet<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_are_named_before_anything_runs() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql("CREATE TABLE shapes (id int, p point)");
    let job =
        |options: &str| format!("source {{ Jdbc {{ {options} }} }}\nsink {{ Console {{ }} }}");
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = pg.url("shop");
    for (options, want) in [
        (
            format!(r#"url = "{url}", user = weir, password = wrong, query = "select 1""#),
            "password authentication failed for user \"weir\"".to_string(),
        ),
        (
            format!(
                r#"url = "jdbc:postgresql://127.0.0.1:{closed_port}/shop", user = weir, password = weir, query = "select 1", connection_check_timeout_sec = 5"#
            ),
            format!("connecting to PostgreSQL at 127.0.0.1:{closed_port}"),
        ),
        (
            format!(r#"url = "{url}", user = weir, password = weir, table_path = "public.nope""#),
            "relation \"public.nope\" does not exist".to_string(),
        ),
        (
            r#"url = "postgresql://127.0.0.1/shop", user = weir, query = "select 1""#.to_string(),
            "is not a JDBC URL".to_string(),
        ),
        (
            format!(r#"url = "{url}", user = weir, password = weir, table_path = "public.shapes""#),
            "column 'p': PostgreSQL type point is not one weir reads".to_string(),
        ),
        (
            format!(
                r#"url = "{url}", user = weir, password = weir, query = "select 'a' as s", partition_column = "s""#
            ),
            "partition_column 's' is Utf8, not an integer column".to_string(),
        ),
    ] {
        let errors = load(&job(&options))
            .err()
            .unwrap_or_else(|| panic!("{options} should be refused"))
            .to_string();
        assert!(errors.contains(&want), "{options}: {errors}");
        assert!(errors.contains("source[0] (Jdbc"), "{errors}");
    }
}

/// The ids of a batch's `id` column.
fn batch_ids(b: &arrow::record_batch::RecordBatch) -> Vec<i64> {
    use arrow::array::AsArray;
    b.column_by_name("id")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int64Type>()
        .values()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_reader_continues_exactly_where_its_snapshot_was() {
    use weir_runtime::operator::{PrepareContext, SourceEvent, SourceFactory, SubtaskContext};
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql("CREATE TABLE seq (id bigint PRIMARY KEY, v text); INSERT INTO seq SELECT g, 'v' || g FROM generate_series(1, 5000) g;");
    let options = weir_pipeline::Options::new(
        serde_json::json!({
            "url": pg.url("shop"), "user": "weir", "password": "weir",
            "table_path": "public.seq", "partition_column": "id", "partition_num": 3, "fetch_size": 300
        })
        .as_object()
        .cloned()
        .unwrap(),
    );
    let ctx = PrepareContext {
        job_log: weir_runtime::operator::JobLogHandle::new(|_| {}),
        ..PrepareContext::new(
            weir_core::JobId::random(),
            "restore",
            weir_pipeline::JobMode::Batch,
            1,
        )
    };
    let prepared = weir_jdbc::source::JdbcSourceFactory
        .prepare(&options, &ctx)
        .unwrap();
    let subtask = SubtaskContext {
        index: 0,
        parallelism: 1,
        attempt: 0,
    };
    // Read past the end of the first split (1 667 rows) and into the second, then stop.
    let mut first = prepared.create_reader(subtask).unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2100 {
        match first.next().await.unwrap() {
            SourceEvent::Batch(b) => seen.extend(batch_ids(&b.records)),
            other => panic!("{other:?}"),
        }
    }
    let state = first.snapshot_state(1).unwrap();
    drop(first);
    // A new reader (a restarted job) from that position reads exactly the rest.
    let mut second = prepared.create_reader(subtask).unwrap();
    second.restore_state(state).unwrap();
    loop {
        match second.next().await.unwrap() {
            SourceEvent::Batch(b) => seen.extend(batch_ids(&b.records)),
            SourceEvent::End => break,
            SourceEvent::Idle(_) => {}
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=5000).collect::<Vec<i64>>(), "every row once");
}

/// A changelog: inserts, an update (before and after), a delete and a re-insert of a key.
const CHANGELOG: &str = r#"FakeSource { schema = { fields { id = bigint, name = string, price = "decimal(10, 2)", day = date, at = timestamp, ok = boolean } }, rows = [
  { kind = INSERT, fields = [1, "ann", "1.50", "2024-01-01", "2024-01-01 10:00:00", true] },
  { kind = INSERT, fields = [2, "bob", "2.25", "2024-01-02", "2024-01-02 11:30:00", false] },
  { kind = INSERT, fields = [3, "cid", "3.00", "2024-01-03", "2024-01-03 12:00:00", true] },
  { kind = UPDATE_BEFORE, fields = [2, "bob", "2.25", "2024-01-02", "2024-01-02 11:30:00", false] },
  { kind = UPDATE_AFTER, fields = [2, "bobby", "20.25", "2024-02-02", "2024-02-02 11:30:00", true] },
  { kind = DELETE, fields = [3, "cid", "3.00", "2024-01-03", "2024-01-03 12:00:00", true] },
  { kind = INSERT, fields = [4, "dee", null, null, null, null] },
  { kind = UPDATE_AFTER, fields = [1, "ann", "1.75", "2024-01-01", "2024-01-01 10:00:00", true] }
] }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changelog_upserts_into_postgres_and_mariadb_to_its_final_state() {
    let (Some(pg), Some(my)) = (db::Postgres::start(), db::MariaDb::start()) else {
        return;
    };
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ {CHANGELOG} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, generate_sink_sql = true, database = shop,
  table = "public.people", primary_keys = [id], batch_size = 3 }} }}
"#,
        pg.url("shop")
    ))
    .await;
    assert_eq!(
        pg.sql("SELECT id, name, price, day, at, ok FROM people ORDER BY id"),
        "1|ann|1.75|2024-01-01|2024-01-01 10:00:00|t\n\
         2|bobby|20.25|2024-02-02|2024-02-02 11:30:00|t\n\
         4|dee||||"
    );
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ {CHANGELOG} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, generate_sink_sql = true, database = shop,
  table = "people", primary_keys = [id] }} }}
"#,
        my.url("shop")
    ))
    .await;
    assert_eq!(
        my.sql("SELECT id, name, price, day, at, ok FROM people ORDER BY id"),
        "1\tann\t1.75\t2024-01-01\t2024-01-01 10:00:00.000000\t1\n\
         2\tbobby\t20.25\t2024-02-02\t2024-02-02 11:30:00.000000\t1\n\
         4\tdee\tNULL\tNULL\tNULL\tNULL"
    );
    // Run again: the same final state (a replay after a failure rewrites the same rows).
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ {CHANGELOG} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, generate_sink_sql = true, database = shop,
  table = "public.people", primary_keys = [id] }} }}
"#,
        pg.url("shop")
    ))
    .await;
    assert_eq!(pg.sql("SELECT count(*), sum(price) FROM people"), "3|22.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_moves_from_postgres_to_mariadb_and_a_custom_insert_writes_rows() {
    let (Some(pg), Some(my)) = (db::Postgres::start(), db::MariaDb::start()) else {
        return;
    };
    pg.sql("CREATE TABLE src (id bigint PRIMARY KEY, name text, n numeric(12, 3), ts timestamp); INSERT INTO src SELECT g, 'n' || g, g * 1.001, TIMESTAMP '2024-01-01' + g * INTERVAL '1 second' FROM generate_series(1, 3000) g;");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ Jdbc {{ url = "{}", user = weir, password = weir, table_path = "public.src", partition_column = id, partition_num = 4 }} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, generate_sink_sql = true, database = shop, table = dst, primary_keys = [id], batch_size = 500 }} }}
"#,
        pg.url("shop"),
        my.url("shop")
    ))
    .await;
    assert_eq!(
        my.sql("SELECT COUNT(*), SUM(id), SUM(n), MAX(ts) FROM dst"),
        pg.sql("SELECT count(*), sum(id), sum(n), to_char(max(ts), 'YYYY-MM-DD HH24:MI:SS') || '.000000' FROM src")
            .replace('|', "\t")
    );
    // The job's own INSERT, placeholders bound in column order.
    my.sql("CREATE TABLE names (id BIGINT PRIMARY KEY, name VARCHAR(20))");
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH" }}
source {{ FakeSource {{ schema = {{ fields {{ id = bigint, name = string }} }}, rows = [{{ kind = INSERT, fields = [7, "seven"] }}, {{ kind = INSERT, fields = [8, "eight"] }}] }} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, query = "INSERT INTO names (id, name) VALUES (?, ?)" }} }}
"#,
        my.url("shop")
    ))
    .await;
    assert_eq!(
        my.sql("SELECT id, name FROM names ORDER BY id"),
        "7\tseven\n8\teight"
    );
    let errors = load(&format!(
        r#"source {{ FakeSource {{ schema = {{ fields {{ id = bigint, name = string }} }} }} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, query = "INSERT INTO names (id) VALUES (?)" }} }}"#,
        my.url("shop")
    ))
    .err()
    .expect("one placeholder for two columns is refused")
    .to_string();
    assert!(
        errors.contains("the query has 1 placeholders but the input has 2 columns"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_options_that_cannot_work_are_refused() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    let job = |extra: &str| {
        format!(
            r#"source {{ FakeSource {{ schema = {{ fields {{ id = bigint }} }} }} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, generate_sink_sql = true, table = "public.nope", primary_keys = [id], {extra} }} }}"#,
            pg.url("shop")
        )
    };
    for (extra, want) in [
        ("data_save_mode = KEEP", "unknown data_save_mode KEEP"),
        ("data_save_mode = CUSTOM_PROCESSING", "data_save_mode CUSTOM_PROCESSING needs 'custom_sql'"),
        ("schema_save_mode = DROP", "unknown schema_save_mode DROP"),
        (
            "schema_save_mode = ERROR_WHEN_SCHEMA_NOT_EXIST",
            "table \"public\".\"nope\" does not exist (schema_save_mode = ERROR_WHEN_SCHEMA_NOT_EXIST)",
        ),
        ("primary_keys = [nope]", "primary_keys: 'nope' is not a column of the input"),
    ] {
        let text = job(extra).replace("primary_keys = [id], primary_keys = [nope]", "primary_keys = [nope]");
        let errors = load(&text)
            .err()
            .unwrap_or_else(|| panic!("{extra} should be refused"))
            .to_string();
        assert!(errors.contains(want), "{extra}: {errors}");
    }
    // Nothing was created while refusing.
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'nope'"),
        "0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_runs_go_through_a_staging_copy_and_upsert_existing_rows() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql("CREATE TABLE src (id bigint PRIMARY KEY, name text, n numeric(12, 3), at timestamptz); INSERT INTO src SELECT g, 'n' || g, g * 1.001, TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second' FROM generate_series(1, 3000) g;");
    let copy = |query: &str| {
        format!(
            r#"
env {{ job.mode = "BATCH" }}
source {{ Jdbc {{ url = "{url}", user = weir, password = weir, query = "{query}" }} }}
sink {{ Jdbc {{ url = "{url}", user = weir, password = weir, generate_sink_sql = true, table = "public.dst", primary_keys = [id], batch_size = 1000 }} }}
"#,
            url = pg.url("shop")
        )
    };
    finishes(&copy("select * from src")).await;
    assert_eq!(
        pg.sql("SELECT count(*), sum(n), min(at) FROM dst"),
        pg.sql("SELECT count(*), sum(n), min(at) FROM src")
    );
    // The same keys again with new values: every row updated in place, none added.
    finishes(&copy(
        "select id, upper(name) as name, n * 2 as n, at from src",
    ))
    .await;
    assert_eq!(pg.sql("SELECT count(*) FROM dst"), "3000");
    assert_eq!(
        pg.sql("SELECT name, n FROM dst WHERE id = 2999"),
        "N2999|6003.998"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_modes_recreate_empty_guard_or_prepare_the_table_at_the_start() {
    let (Some(pg), Some(my)) = (db::Postgres::start(), db::MariaDb::start()) else {
        return;
    };
    let rows = r#"FakeSource { schema = { fields { id = bigint, name = string } }, rows = [
  { kind = INSERT, fields = [1, "ann"] }, { kind = INSERT, fields = [2, "bob"] } ] }"#;
    let job = |url: &str, table: &str, modes: &str| {
        format!(
            r#"env {{ job.mode = "BATCH" }}
source {{ {rows} }}
sink {{ Jdbc {{ url = "{url}", user = weir, password = weir, generate_sink_sql = true, database = shop,
  table = "{table}", primary_keys = [id], {modes} }} }}"#
        )
    };
    // RECREATE_SCHEMA: the old table, with its other columns and rows, is replaced by one
    // shaped like the input.
    pg.sql(
        "CREATE TABLE people (id bigint PRIMARY KEY, age int); INSERT INTO people VALUES (9, 40)",
    );
    finishes(&job(
        &pg.url("shop"),
        "public.people",
        "schema_save_mode = RECREATE_SCHEMA",
    ))
    .await;
    assert_eq!(
        pg.sql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'people'"),
        "id,name"
    );
    assert_eq!(
        pg.sql("SELECT id, name FROM people ORDER BY id"),
        "1|ann\n2|bob"
    );

    // ERROR_WHEN_DATA_EXISTS: the job fails at its start, naming the table, and writes nothing.
    my.sql("CREATE TABLE people (id BIGINT PRIMARY KEY, name TEXT); INSERT INTO people VALUES (7, 'old')");
    let report = run_text(&job(
        &my.url("shop"),
        "people",
        "data_save_mode = ERROR_WHEN_DATA_EXISTS",
    ))
    .await;
    assert_eq!(report.status, JobStatus::Failed);
    let error = report.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("sink[0] (Jdbc")
            && error.contains("`shop`.`people` has rows (data_save_mode = ERROR_WHEN_DATA_EXISTS)"),
        "{error}"
    );
    assert_eq!(my.sql("SELECT id FROM people"), "7");

    // DROP_DATA empties it first; CUSTOM_PROCESSING runs the job's SQL first.
    finishes(&job(
        &my.url("shop"),
        "people",
        "data_save_mode = DROP_DATA",
    ))
    .await;
    assert_eq!(my.sql("SELECT id FROM people ORDER BY id"), "1\n2");
    finishes(&job(
        &pg.url("shop"),
        "public.people",
        r#"data_save_mode = CUSTOM_PROCESSING, custom_sql = "DELETE FROM people WHERE id = 2; INSERT INTO people VALUES (5, 'eve')""#,
    ))
    .await;
    assert_eq!(
        pg.sql("SELECT id, name FROM people ORDER BY id"),
        "1|ann\n2|bob\n5|eve"
    );

    // A sink writing with its own query has no table for RECREATE_SCHEMA to act on.
    let refused = load(&format!(
        r#"source {{ {rows} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, query = "INSERT INTO people (id, name) VALUES (?, ?)", schema_save_mode = RECREATE_SCHEMA }} }}"#,
        pg.url("shop")
    ))
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        refused.contains("a sink writing with 'query' has none"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_list_copies_each_table_to_its_own_table_by_name() {
    let (Some(pg), Some(my)) = (db::Postgres::start(), db::MariaDb::start()) else {
        return;
    };
    pg.sql(
        "CREATE TABLE shoes (id bigint PRIMARY KEY, size int);
         INSERT INTO shoes SELECT g, 30 + g % 15 FROM generate_series(1, 500) g;
         CREATE TABLE hats (id bigint PRIMARY KEY, name text);
         INSERT INTO hats SELECT g, 'hat ' || g FROM generate_series(1, 300) g",
    );
    finishes(&format!(
        r#"
env {{ job.mode = "BATCH", parallelism = 2 }}
source {{ Jdbc {{ url = "{}", user = weir, password = weir,
  table_list = [
    {{ table_path = "public.shoes", partition_column = id, partition_num = 3 }},
    {{ table_path = "public.hats", where_condition = "id <= 250" }}
  ] }} }}
sink {{ Jdbc {{ url = "{}", user = weir, password = weir, generate_sink_sql = true,
  database = shop, table = "copy_${{table_name}}", primary_keys = [id] }} }}
"#,
        pg.url("shop"),
        my.url("shop")
    ))
    .await;
    assert_eq!(
        my.sql("SELECT count(*), sum(size) FROM copy_shoes"),
        pg.sql("SELECT count(*), sum(size) FROM shoes")
            .replace('|', "\t")
    );
    assert_eq!(
        my.sql("SELECT count(*), max(name) FROM copy_hats"),
        "250\that 99"
    );
}
