//! GROUP BY on one core against its limit (bench/group_by.sh). The same pre-generated batches
//! (8 192 rows of `k` in 0..KEYS and `v`, both INT) go through:
//!  1. weir's streaming `Sql` GROUP BY (the operator a job runs: accumulators, a changelog of
//!     every key a batch changed, state kept for checkpoints);
//!  2. the same operator in a batch job (groups emitted once, at the end);
//!  3. DataFusion's own hash aggregate of the same batches (no changelog, no state kept):
//!     the limit.
//!
//! Generation is not timed, so the figures are the aggregation's alone.
//!
//!   cargo run --release -p weir-sql --example group_by_limit -- [BATCHES] [KEYS]

use arrow::array::{Int32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Instant;
use weir_core::JobId;
use weir_pipeline::{JobMode, Options};
use weir_runtime::operator::{PrepareContext, SubtaskContext, TransformFactory};
use weir_runtime::Batch;

const QUERY: &str =
    "select k, count(*) as c, sum(v) as s, min(v) as lo, max(v) as hi, avg(v) as a from t group by k";

fn batches(n: usize, keys: i32) -> (SchemaRef, Vec<RecordBatch>) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int32, true),
        Field::new("v", DataType::Int32, true),
    ]));
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let out = (0..n)
        .map(|_| {
            let k: Int32Array = (0..8192).map(|_| rng.random_range(0..keys)).collect();
            let v: Int32Array = (0..8192).map(|_| rng.random_range(0..1_000_000)).collect();
            RecordBatch::try_new(schema.clone(), vec![Arc::new(k), Arc::new(v)])
        })
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    (schema, out)
}

/// Rows per second of weir's `Sql` operator over `batches`, in `mode`.
fn weir_rows_per_second(schema: &SchemaRef, batches: &[RecordBatch], mode: JobMode) -> f64 {
    let mut options = serde_json::Map::new();
    options.insert("query".into(), QUERY.into());
    let ctx = PrepareContext {
        input_table: Some("t".into()),
        ..PrepareContext::new(JobId(1), "group-by-limit", mode, 1)
    };
    let prepared = weir_sql::SqlFactory
        .prepare(&Options::new(options), schema.clone(), &ctx)
        .expect("the query plans");
    let mut op = prepared
        .instantiate(SubtaskContext {
            index: 0,
            parallelism: 1,
            attempt: 0,
        })
        .expect("the operator starts");
    let inputs: Vec<Batch> = batches.iter().cloned().map(Batch::inserts).collect();
    let mut out = Vec::new();
    let started = Instant::now();
    let mut emitted = 0;
    for b in inputs {
        op.process(b, &mut out).expect("a batch applies");
        emitted += out.drain(..).map(|b| b.num_rows()).sum::<usize>();
    }
    op.finish(&mut out).expect("the end applies");
    emitted += out.drain(..).map(|b| b.num_rows()).sum::<usize>();
    let secs = started.elapsed().as_secs_f64();
    std::hint::black_box(emitted);
    (batches.len() * 8192) as f64 / secs
}

/// Rows per second of DataFusion's hash aggregate over `batches`, on one partition.
fn datafusion_rows_per_second(schema: &SchemaRef, batches: &[RecordBatch]) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        let table = MemTable::try_new(schema.clone(), vec![batches.to_vec()]).expect("a table");
        ctx.register_table("t", Arc::new(table))
            .expect("registered");
        let started = Instant::now();
        let groups: usize = ctx
            .sql(QUERY)
            .await
            .expect("planned")
            .collect()
            .await
            .expect("aggregated")
            .iter()
            .map(|b| b.num_rows())
            .sum();
        let secs = started.elapsed().as_secs_f64();
        std::hint::black_box(groups);
        (batches.len() * 8192) as f64 / secs
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let keys: i32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let (schema, data) = batches(n, keys);
    println!(
        "# GROUP BY of {} rows over {keys} keys on one core: {QUERY}",
        n * 8192
    );
    // A first pass of each warms caches and the allocator; the second is reported.
    for (label, f) in [
        ("weir Sql, streaming (changelog per batch)", 0),
        ("weir Sql, batch (groups at the end)", 1),
        ("DataFusion hash aggregate (the limit)", 2),
    ] {
        let run = || match f {
            0 => weir_rows_per_second(&schema, &data, JobMode::Streaming),
            1 => weir_rows_per_second(&schema, &data, JobMode::Batch),
            _ => datafusion_rows_per_second(&schema, &data),
        };
        run();
        println!("{label:<44} {:>7.2} M rows/s", run() / 1e6);
    }
}
