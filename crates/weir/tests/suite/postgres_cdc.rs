//! SeaTunnel's `Postgres-CDC` source against a real PostgreSQL (logical replication) writing a
//! real MariaDB table by upsert, in real `weir run` processes: the table's snapshot and every
//! insert, update (a key change too) and delete made while the job runs arrive, so the sink
//! table equals the source; the process is killed after a checkpoint, more changes are made
//! while nothing runs, and a new process resumes from the checkpoint to the exact same state.
//! The slot's confirmed position moves only with completed checkpoints; a cancelled job drops
//! its slot and publication unless told to keep them.

use crate::common;
use crate::db;
use crate::rest_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The rows of the source (PostgreSQL, `|`-separated) in MariaDB's tab-separated shape.
fn pg_rows(pg: &db::Postgres) -> String {
    pg.sql(
        "SELECT id, coalesce(name, 'NULL'), coalesce(price::text, 'NULL') FROM items ORDER BY id",
    )
    .replace('|', "\t")
}

fn my_rows(my: &db::MariaDb) -> String {
    my.sql("SELECT id, name, price FROM items ORDER BY id")
}

/// Waits (at most 60 s) until the sink table equals the source table.
fn wait_equal(pg: &db::Postgres, my: &db::MariaDb, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let want = pg_rows(pg);
        let got =
            my.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'items'");
        if got == "1" && my_rows(my) == want {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "weir run ended ({status}) before the sink caught up: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            let got = if got == "1" {
                my_rows(my)
            } else {
                String::new()
            };
            let first_difference = got
                .lines()
                .zip(want.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("sink {a:?}, source {b:?}"))
                .unwrap_or_default();
            panic!(
                "the sink did not catch up: {} rows vs {} ({first_difference}); log: {}",
                got.lines().count(),
                want.lines().count(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(job: &Path, data: &Path, restore: Option<&Path>, log: &Path) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weir"));
    c.arg("run").arg("-q").arg("--data-dir").arg(data);
    if let Some(r) = restore {
        c.arg("-s").arg(r);
    }
    c.arg(job)
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new().append(true).open(log).unwrap(),
        ))
        .spawn()
        .expect("weir runs")
}

/// The newest complete checkpoint under `data`.
fn latest_checkpoint(data: &Path) -> Option<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    for job in std::fs::read_dir(data.join("checkpoints")).ok()?.flatten() {
        for chk in std::fs::read_dir(job.path()).ok()?.flatten() {
            let name = chk.file_name().to_string_lossy().to_string();
            let Some(n) = name
                .strip_prefix("chk-")
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if chk.path().join("_metadata").is_file() && best.as_ref().is_none_or(|(b, _)| n > *b) {
                best = Some((n, chk.path()));
            }
        }
    }
    best.map(|(_, p)| p)
}

fn confirmed_lsn(pg: &db::Postgres) -> String {
    pg.sql("SELECT coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE slot_name = 'weir_items'")
}

#[test]
fn a_snapshot_and_live_changes_reach_an_upserting_sink_and_survive_a_killed_process() {
    let (Some(pg), Some(my)) = (db::Postgres::start(), db::MariaDb::start()) else {
        return;
    };
    pg.sql(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10, 2));
         ALTER TABLE items REPLICA IDENTITY FULL;
         INSERT INTO items SELECT g, 'item ' || g, g * 1.25 FROM generate_series(1, 1000) g",
    );
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("cdc.conf");
    std::fs::write(
        &job,
        format!(
            r#"env {{ job.mode = "STREAMING", checkpoint.interval = 300 }}
source {{
  Postgres-CDC {{
    plugin_output = items
    base-url = "{}"
    username = weir, password = weir
    database-names = [shop], schema-names = [public], table-names = ["shop.public.items"]
    slot.name = weir_items, decoding.plugin.name = pgoutput, startup.mode = initial
  }}
}}
sink {{
  Jdbc {{
    plugin_input = items
    url = "{}", user = weir, password = weir
    generate_sink_sql = true, database = shop, table = items, primary_keys = [id]
  }}
}}
"#,
            pg.url("shop"),
            my.url("shop")
        ),
    )
    .unwrap();
    let log = dir.path().join("first.log");
    let data = dir.path().join("data");
    let mut first = run(&job, &data, None, &log);

    // The snapshot.
    wait_equal(&pg, &my, &mut first, &log);
    let acked_before = confirmed_lsn(&pg);
    // Changes while the job runs: inserts, updates, deletes, a key change, in several
    // transactions and one large one.
    pg.sql(
        "INSERT INTO items SELECT g, 'new ' || g, g FROM generate_series(1001, 1200) g;
         UPDATE items SET price = price + 1, name = name || ' (sale)' WHERE id <= 100;
         DELETE FROM items WHERE id BETWEEN 900 AND 950;
         UPDATE items SET id = 5000 WHERE id = 7;
         BEGIN; UPDATE items SET name = 'again' WHERE id % 10 = 0; INSERT INTO items VALUES (6000, NULL, NULL); COMMIT;",
    );
    wait_equal(&pg, &my, &mut first, &log);
    // Changes are acknowledged as checkpoints complete.
    let deadline = Instant::now() + Duration::from_secs(20);
    while confirmed_lsn(&pg) == acked_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_ne!(
        confirmed_lsn(&pg),
        acked_before,
        "completed checkpoints confirm the stream's position"
    );
    let checkpoint = latest_checkpoint(&data).expect("a completed checkpoint");
    let _ = first.kill();
    let _ = first.wait();

    // Nothing runs: these wait in the slot. The deletes tell a resumed stream from a snapshot
    // read again, which would leave the deleted rows in the sink.
    pg.sql(
        "INSERT INTO items SELECT g, 'late ' || g, 2 FROM generate_series(7000, 7100) g;
         UPDATE items SET price = 0 WHERE id BETWEEN 200 AND 300;
         DELETE FROM items WHERE id BETWEEN 400 AND 410",
    );
    let log2 = dir.path().join("second.log");
    let mut second = run(&job, &dir.path().join("data2"), Some(&checkpoint), &log2);
    wait_equal(&pg, &my, &mut second, &log2);
    // And it keeps following.
    pg.sql("UPDATE items SET name = 'last' WHERE id = 1; DELETE FROM items WHERE id = 2");
    wait_equal(&pg, &my, &mut second, &log2);
    let _ = second.kill();
    let _ = second.wait();
    assert_eq!(
        my.sql("SELECT count(*) FROM items"),
        pg.sql("SELECT count(*) FROM items")
    );
}

#[test]
fn cdc_mistakes_are_named_before_anything_runs() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql(
        "CREATE TABLE keyed (id int PRIMARY KEY, v text);
         CREATE TABLE nokey (v text); ALTER TABLE nokey REPLICA IDENTITY FULL",
    );
    pg.sql("SELECT pg_create_logical_replication_slot('taken', 'pgoutput')");
    let job = |table: &str, extra: &str| {
        format!(
            r#"env {{ job.mode = "STREAMING" }}
source {{ Postgres-CDC {{ base-url = "{}", username = weir, password = weir, table-names = ["shop.public.{table}"], {extra} }} }}
sink {{ Console {{}} }}"#,
            pg.url("shop")
        )
    };
    for (text, want) in [
        (job("keyed", ""), "REPLICA IDENTITY is not FULL"),
        (job("nokey", ""), "has no primary key"),
        (job("missing", ""), "does not exist"),
        (
            job("keyed", "decoding.plugin.name = decoderbufs"),
            "pgoutput only",
        ),
        (
            job("keyed", "slot.name = \"Bad-Name\""),
            "is not a replication slot name",
        ),
        (job("keyed", "parallelism = 2"), "parallelism 1"),
        (
            job("keyed", "").replace("STREAMING", "BATCH"),
            "needs a streaming job",
        ),
    ] {
        let errors = common::load(&text)
            .err()
            .unwrap_or_else(|| panic!("should be refused: {text}"))
            .to_string();
        assert!(
            errors.contains(want) && errors.contains("Postgres-CDC"),
            "{want}: {errors}"
        );
    }
    // A slot that exists already is never taken over.
    pg.sql("ALTER TABLE keyed REPLICA IDENTITY FULL");
    let report = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(common::run_text(&job("keyed", "slot.name = taken")));
    let error = report.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("replication slot 'taken' already exists"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_drops_its_slot_unless_told_to_keep_it() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql("CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t REPLICA IDENTITY FULL; INSERT INTO t VALUES (1)");
    let dir = tempfile::tempdir().unwrap();
    let cluster = rest_support::start_cluster(dir.path(), &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = rest_support::client();
    let slots =
        || pg.sql("SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots");
    for (slot, keep) in [("dropped", false), ("kept", true)] {
        let job = rest_support::submit(
            &c,
            &base,
            format!(
                r#"env {{ job.mode = "STREAMING" }}
source {{ Postgres-CDC {{ base-url = "{}", username = weir, password = weir, table-names = ["shop.public.t"],
  slot.name = {slot}, slot.keep-on-cancel = {keep} }} }}
sink {{ Blackhole {{}} }}"#,
                pg.url("shop")
            ),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !slots().split(',').any(|s| s == slot) {
            assert!(Instant::now() < deadline, "the job never created its slot");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        rest_support::cancel(&c, &base, &job).await;
        rest_support::wait_for(&c, &format!("{base}/jobs/{job}"), |v| {
            v["state"] == "CANCELED"
        })
        .await;
    }
    // The drop runs once the job is CANCELED.
    let deadline = Instant::now() + Duration::from_secs(20);
    while slots() != "kept" {
        assert!(Instant::now() < deadline, "slots left: {}", slots());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        pg.sql("SELECT string_agg(pubname, ',' ORDER BY pubname) FROM pg_publication"),
        "weir_kept"
    );
}

/// Submits `text` to an in-process cluster and returns its base URL, the client and the job.
async fn submit_streaming(
    dir: &Path,
    text: String,
) -> (weir::cluster::MiniCluster, String, reqwest::Client, String) {
    let cluster = rest_support::start_cluster(dir, &[]).await;
    let base = format!("http://{}", cluster.address);
    let c = rest_support::client();
    let job = rest_support::submit(&c, &base, text).await;
    (cluster, base, c, job)
}

/// Polls `check` (at most 60 s) until it holds.
async fn eventually(what: &str, check: impl Fn() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match check() {
            Ok(()) => return,
            Err(why) if Instant::now() > deadline => panic!("{what}: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_tables_each_follow_on_their_own_slot_into_tables_named_after_them() {
    let Some(pg) = db::Postgres::start() else {
        return;
    };
    pg.sql(
        "CREATE TABLE shoes (id bigint PRIMARY KEY, size int); ALTER TABLE shoes REPLICA IDENTITY FULL;
         CREATE TABLE hats (id bigint PRIMARY KEY, name text); ALTER TABLE hats REPLICA IDENTITY FULL;
         INSERT INTO shoes SELECT g, 40 FROM generate_series(1, 200) g;
         INSERT INTO hats SELECT g, 'hat ' || g FROM generate_series(1, 100) g",
    );
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url("shop");
    let (_cluster, base, c, job) = submit_streaming(
        dir.path(),
        format!(
            r#"env {{ job.mode = "STREAMING", checkpoint.interval = 500 }}
source {{ Postgres-CDC {{ base-url = "{url}", username = weir, password = weir, slot.name = shop,
  table-names = ["shop.public.shoes", "shop.public.hats"] }} }}
sink {{ Jdbc {{ url = "{url}", user = weir, password = weir, generate_sink_sql = true,
  table = "public.copy_${{table_name}}", primary_keys = [id] }} }}"#
        ),
    )
    .await;
    let same = |a: &str, b: &str| {
        let q = |t: &str| pg.psql_in("shop", &format!("SELECT * FROM {t} ORDER BY id"));
        match (q(a), q(b)) {
            (Ok(x), Ok(y)) if x == y => Ok(()),
            (x, y) => Err(format!(
                "{a} {:?} vs {b} {:?}",
                x.map(|s| s.len()),
                y.map(|s| s.len())
            )),
        }
    };
    eventually("the snapshots", || {
        same("shoes", "copy_shoes").and(same("hats", "copy_hats"))
    })
    .await;
    pg.sql(
        "UPDATE shoes SET size = 41 WHERE id % 3 = 0; DELETE FROM hats WHERE id > 90;
         INSERT INTO hats VALUES (500, 'new'); INSERT INTO shoes VALUES (999, 38)",
    );
    eventually("the changes", || {
        same("shoes", "copy_shoes").and(same("hats", "copy_hats"))
    })
    .await;
    assert_eq!(
        pg.sql("SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots"),
        "shop_1,shop_2"
    );
    rest_support::cancel(&c, &base, &job).await;
    eventually("both slots dropped", || {
        match pg.sql("SELECT count(*) FROM pg_replication_slots").as_str() {
            "0" => Ok(()),
            n => Err(format!("{n} slots left")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_by_over_changes_upserts_and_deletes_its_totals_exactly() {
    let (Some(pg), Some(my)) = (db::Postgres::start(), db::MariaDb::start()) else {
        return;
    };
    pg.sql(
        "CREATE TABLE orders (id bigint PRIMARY KEY, category text, amount numeric(10, 2));
         ALTER TABLE orders REPLICA IDENTITY FULL;
         INSERT INTO orders SELECT g, 'c' || (g % 5), g FROM generate_series(1, 500) g",
    );
    let dir = tempfile::tempdir().unwrap();
    let (_cluster, base, c, job) = submit_streaming(
        dir.path(),
        format!(
            r#"env {{ job.mode = "STREAMING", checkpoint.interval = 500 }}
source {{ Postgres-CDC {{ plugin_output = orders, base-url = "{}", username = weir, password = weir,
  slot.name = totals, table-names = ["shop.public.orders"] }} }}
transform {{ Sql {{ plugin_input = orders, plugin_output = totals,
  query = "SELECT category, count(*) AS n, sum(amount) AS total FROM orders GROUP BY category" }} }}
sink {{ Jdbc {{ plugin_input = totals, url = "{}", user = weir, password = weir, generate_sink_sql = true,
  database = shop, table = totals, primary_keys = [category] }} }}"#,
            pg.url("shop"),
            my.url("shop")
        ),
    )
    .await;
    let expected = || {
        pg.sql("SELECT category, count(*), sum(amount) FROM orders GROUP BY category ORDER BY category")
            .replace('|', "\t")
    };
    let matches = || {
        let got =
            my.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'totals'");
        let got = if got == "1" {
            my.sql("SELECT category, n, total FROM totals ORDER BY category")
        } else {
            String::new()
        };
        let want = expected();
        if got == want {
            Ok(())
        } else {
            Err(format!("sink {got:?}, source {want:?}"))
        }
    };
    eventually("the snapshot's totals", matches).await;
    // Moves between groups, a group emptied (its row deleted), a new group.
    pg.sql(
        "UPDATE orders SET category = 'c1' WHERE category = 'c0' AND id < 250;
         DELETE FROM orders WHERE category = 'c2';
         UPDATE orders SET amount = amount * 2 WHERE category = 'c3';
         INSERT INTO orders VALUES (1000, 'c9', 9.99)",
    );
    eventually("the totals after the changes", matches).await;
    assert_eq!(
        my.sql("SELECT count(*) FROM totals WHERE category = 'c2'"),
        "0"
    );
    rest_support::cancel(&c, &base, &job).await;
}
