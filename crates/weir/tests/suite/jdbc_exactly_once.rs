//! The Jdbc sink's exactly-once delivery and save modes against real PostgreSQL and MariaDB
//! servers (the `db` module starts them), on an in-process cluster: a table copied by parallel split
//! readers into a table without a key (where any repeat would show) survives a failure between
//! a completed checkpoint and its commit with every row exactly once and no prepared
//! transaction left behind; the save modes act once, at the fresh start, and not on the restart.

use crate::common;
use crate::db;
use crate::rest_support;

use rest_support::{client, get, start_cluster, submit};
use std::time::Duration;

const ROWS: usize = 8000;

fn job(
    source_url: &str,
    source_table: &str,
    sink_url: &str,
    sink_table: &str,
    xa_class: &str,
) -> String {
    format!(
        r#"
env {{ job.mode = "STREAMING", checkpoint.interval = 200, read_limit.rows_per_second = 2000 }}
source {{
  Jdbc {{
    plugin_output = rows
    url = "{source_url}", user = weir, password = weir
    table_path = "{source_table}"
    partition_column = id, partition_num = 4, parallelism = 2, fetch_size = 100
  }}
}}
sink {{
  Jdbc {{
    plugin_input = rows
    parallelism = 2
    url = "{sink_url}", user = weir, password = weir
    generate_sink_sql = true, database = shop, table = "{sink_table}"
    is_exactly_once = true, xa_data_source_class_name = "{xa_class}"
    batch_size = 100
    data_save_mode = DROP_DATA
    test.fail_once_after_rows = 2500
  }}
}}
"#
    )
}

/// Runs `text` on a fresh cluster that restarts failed jobs until `committed()` (the rows the
/// sink table shows) reaches every row, then a little longer (a repeat, if any, would land),
/// and cancels it: a streaming job idles after its bounded source, as SeaTunnel's do. Returns
/// the job's exceptions.
async fn run_until_committed(text: String, committed: impl Fn() -> usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), &rest_support::RESTARTING).await;
    let base = format!("http://{}", cluster.address);
    let c = client();
    let job = submit(&c, &base, text).await;
    rest_support::wait_while_running(
        &c,
        &base,
        &job,
        Duration::from_secs(90),
        Duration::from_millis(100),
        || std::future::ready(committed() >= ROWS),
    )
    .await
    .unwrap_or_else(|e| panic!("{} rows committed; {e}", committed()));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, exceptions) = get(&c, &format!("{base}/jobs/{job}/exceptions")).await;
    rest_support::cancel(&c, &base, &job).await;
    rest_support::wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
        v["state"] == "CANCELED"
    })
    .await;
    exceptions.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_postgres_survives_a_failure_before_commit_with_every_row_once() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql(&format!(
        "CREATE TABLE src (id bigint PRIMARY KEY, v text);
         INSERT INTO src SELECT g, 'row ' || g FROM generate_series(1, {ROWS}) g;
         CREATE TABLE dst (id bigint, v text);
         INSERT INTO dst VALUES (-1, 'left from an earlier run')"
    ));
    let url = pg.url("shop");
    let text = job(
        &url,
        "public.src",
        &url,
        "public.dst",
        "org.postgresql.xa.PGXADataSource",
    );
    let count = || pg.sql("SELECT count(*) FROM dst").parse().unwrap_or(0);
    let exceptions = run_until_committed(text, count).await;
    assert!(
        exceptions.contains("injected failure before committing"),
        "{exceptions}"
    );
    // DROP_DATA emptied the table at the start and not again at the restart; no row is
    // missing and none is there twice.
    assert_eq!(
        pg.sql("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM dst"),
        format!("{ROWS}|{ROWS}|1|{ROWS}")
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM src JOIN dst USING (id) WHERE src.v = dst.v"),
        ROWS.to_string()
    );
    assert_eq!(pg.sql("SELECT count(*) FROM pg_prepared_xacts"), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_to_mariadb_survives_a_failure_before_commit_with_every_row_once() {
    let Some(my) = db::MariaDb::start() else {
        return;
    };
    let seed = format!(
        "CREATE TABLE src (id BIGINT PRIMARY KEY, v TEXT);
         INSERT INTO src SELECT seq, CONCAT('row ', seq) FROM seq_1_to_{ROWS};
         CREATE TABLE dst (id BIGINT, v TEXT); INSERT INTO dst VALUES (-1, 'old');"
    );
    my.sql(&seed);
    let url = my.url("shop");
    let text = job(
        &url,
        "shop.src",
        &url,
        "dst",
        "com.mysql.cj.jdbc.MysqlXADataSource",
    );
    let count = || my.sql("SELECT count(*) FROM dst").parse().unwrap_or(0);
    let exceptions = run_until_committed(text, count).await;
    assert!(
        exceptions.contains("injected failure before committing"),
        "{exceptions}"
    );
    assert_eq!(
        my.sql("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM dst"),
        format!("{ROWS}\t{ROWS}\t1\t{ROWS}")
    );
    assert_eq!(
        my.sql("SELECT count(*) FROM src JOIN dst USING (id) WHERE src.v = dst.v"),
        ROWS.to_string()
    );
    assert_eq!(my.sql("XA RECOVER"), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_upserts_large_runs_into_postgres_without_a_staging_table() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql(
        "CREATE TABLE src (id bigint PRIMARY KEY, v text, n numeric(10, 2), at timestamptz);
         INSERT INTO src SELECT g, 'v' || g, g / 4.0, TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 minute' FROM generate_series(1, 3000) g;
         CREATE TABLE dst (id bigint PRIMARY KEY, v text, n numeric(10, 2), at timestamptz);
         INSERT INTO dst VALUES (1, 'stale', 0, NULL), (5000, 'other', 1, NULL)",
    );
    let url = pg.url("shop");
    let job = format!(
        r#"env {{ job.mode = "BATCH" }}
source {{ Jdbc {{ url = "{url}", user = weir, password = weir, table_path = "public.src", fetch_size = 1000 }} }}
sink {{ Jdbc {{ url = "{url}", user = weir, password = weir, generate_sink_sql = true, table = "public.dst",
  primary_keys = [id], is_exactly_once = true, batch_size = 1000 }} }}"#
    );
    let report = common::run_text(&job).await;
    assert_eq!(
        report.status,
        weir_core::JobStatus::Finished,
        "{:?}",
        report.error
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM dst JOIN src USING (id) WHERE (dst.v, dst.n, dst.at) = (src.v, src.n, src.at)"),
        "3000"
    );
    assert_eq!(pg.sql("SELECT count(*) FROM dst"), "3001");
    assert_eq!(pg.sql("SELECT count(*) FROM pg_prepared_xacts"), "0");
}
