//! `FakeSource`: SeaTunnel's test data generator, with its option names and defaults.
//!
//! Each parallel reader produces `row.num` rows in `split.num` splits (so the job produces
//! `row.num × parallelism`), pausing `split.read-interval` ms between splits; with `rows`, every
//! split emits exactly the listed rows with their row kinds. weir adds `seed` (reproducible
//! data: reader i of a job always yields the same rows), `unbounded = true` (generate forever)
//! and `rows.per.second` (a per-reader rate). Data is generated column by column straight into
//! Arrow buffers, each batch from the stream's seed and its position, so a reader restored from
//! a checkpoint continues with exactly the rows the lost one would have produced.

use crate::batch::{Batch, RowKind};
use crate::operator::{
    PrepareContext, PreparedSource, SourceEvent, SourceFactory, SourceReader, SubtaskContext,
};
use crate::values::{rows_to_batch, values_to_array};
use arrow::array::*;
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::*;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::{WeirError, WeirResult};
use weir_pipeline::types::parse_schema;
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

/// Rows per generated batch unless `batch.size` says otherwise.
const DEFAULT_BATCH_SIZE: usize = 8192;

pub struct FakeSourceFactory;

impl SourceFactory for FakeSourceFactory {
    fn spec(&self) -> PluginSpec {
        use OptionType::*;
        PluginSpec {
            name: "FakeSource",
            kind: PluginKind::Source,
            options: vec![
                OptionSpec::required("schema", Object),
                OptionSpec::optional("row.num", Int),
                OptionSpec::optional("split.num", Int),
                OptionSpec::optional("split.read-interval", Int),
                OptionSpec::optional("rows", List),
                OptionSpec::optional("map.size", Int),
                OptionSpec::optional("array.size", Int),
                OptionSpec::optional("bytes.length", Int),
                OptionSpec::optional("string.length", Int),
                OptionSpec::optional("seed", Int),
                OptionSpec::optional("unbounded", Bool),
                OptionSpec::optional("rows.per.second", Int),
                OptionSpec::optional("batch.size", Int),
                // Test-only: subtask 0's first attempt fails after reading this many rows, so
                // restarts and recovery can be exercised on a real job.
                OptionSpec::optional("test.fail_once_after_rows", Int),
            ],
            option_prefixes: vec![
                "string.",
                "tinyint.",
                "smallint.",
                "int.",
                "bigint.",
                "float.",
                "double.",
                "date.",
                "time.",
                "timestamp.",
            ],
            ignored_options: vec!["table-names", "vector.dimension", "binary.vector.dimension"],
            key_by: None,
        }
    }

    fn prepare(&self, o: &Options, ctx: &PrepareContext) -> WeirResult<Arc<dyn PreparedSource>> {
        let e = |m: String| WeirError::new(m);
        if o.contains("tables_configs") {
            return Err(WeirError::new(
                "multi-table FakeSource ('tables_configs') is not supported by weir",
            )
            .with_hint("use one FakeSource block per table"));
        }
        let schema_value = o
            .get("schema")
            .ok_or_else(|| WeirError::new("missing 'schema'"))?;
        let schema = Arc::new(
            parse_schema(schema_value)
                .map_err(|t| WeirError::new(format!("bad schema: {}", t.0)))?,
        );
        let positive = |key: &str, default: i64| -> WeirResult<usize> {
            let v = o.i64(key).map_err(e)?.unwrap_or(default);
            if v < 0 {
                return Err(WeirError::new(format!(
                    "option '{key}' must not be negative, found {v}"
                )));
            }
            Ok(v as usize)
        };
        let split_num = match positive("split.num", 1)? {
            n @ 1..=1_000_000 => n,
            n => {
                return Err(WeirError::new(format!(
                    "option 'split.num' must be between 1 and 1000000, found {n}"
                )))
            }
        };
        let literal = match o.get("rows") {
            Some(Value::Array(rows)) => Some(read_literal_rows(&schema, rows)?),
            _ => None,
        };
        let gen = GenOptions::read(o)?;
        let asked = match positive("batch.size", DEFAULT_BATCH_SIZE as i64)? {
            n @ 1..=1_048_576 => n,
            n => {
                return Err(WeirError::new(format!(
                    "option 'batch.size' must be between 1 and 1048576, found {n}"
                )))
            }
        };
        let batch_size = budgeted_batch_size(asked, &schema, &gen, ctx)?;
        Ok(Arc::new(PreparedFake {
            schema,
            row_num: positive("row.num", 5)?,
            split_num,
            split_interval: Duration::from_millis(positive("split.read-interval", 1)? as u64),
            literal,
            seed: o.i64("seed").map_err(e)?.map(|s| s as u64),
            unbounded: o.bool("unbounded").map_err(e)?.unwrap_or(false),
            rows_per_second: o
                .i64("rows.per.second")
                .map_err(e)?
                .filter(|r| *r > 0)
                .map(|r| r as u64),
            batch_size,
            gen: Arc::new(gen),
            fail_once_after: o
                .i64("test.fail_once_after_rows")
                .map_err(e)?
                .filter(|n| *n >= 0)
                .map(|n| n as u64),
        }))
    }
}

fn read_literal_rows(schema: &SchemaRef, rows: &[Value]) -> WeirResult<Batch> {
    let mut values = Vec::with_capacity(rows.len());
    let mut kinds = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let kind = match row.get("kind") {
            None => RowKind::Insert,
            Some(k) => k.as_str().and_then(RowKind::parse).ok_or_else(|| {
                WeirError::new(format!(
                    "rows[{i}].kind must be INSERT, UPDATE_BEFORE, UPDATE_AFTER or DELETE, found {k}"
                ))
            })?,
        };
        let fields = row
            .get("fields")
            .and_then(Value::as_array)
            .ok_or_else(|| WeirError::new(format!("rows[{i}] needs 'fields = [ ... ]'")))?;
        kinds.push(kind);
        values.push(fields.clone());
    }
    let records =
        rows_to_batch(schema, &values).map_err(|e| e.context("reading FakeSource 'rows'"))?;
    Ok(Batch::with_kinds(records, kinds))
}

/// Most bytes one generated batch may take: generation materialises a batch at once, so the
/// schema and the size options together (nested types multiply) are held to this, not just each
/// option to its own bound.
pub const BATCH_BYTE_BUDGET: usize = 64 << 20;

/// Bytes one generated row of `dt` takes, at most (saturating: a bomb is a huge number, never an
/// overflow).
fn row_bytes(dt: &DataType, g: &GenOptions) -> usize {
    match dt {
        DataType::Utf8 => g.string_length.saturating_add(4),
        DataType::Binary => g.bytes_length.saturating_add(4),
        DataType::List(item) => g
            .array_size
            .saturating_mul(row_bytes(item.data_type(), g))
            .saturating_add(4),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) => g
                .map_size
                .saturating_mul(
                    kv.iter()
                        .map(|f| row_bytes(f.data_type(), g))
                        .fold(0, usize::saturating_add),
                )
                .saturating_add(4),
            _ => 8,
        },
        DataType::Struct(fields) => fields
            .iter()
            .map(|f| row_bytes(f.data_type(), g))
            .fold(0, usize::saturating_add),
        other => other.primitive_width().unwrap_or(8),
    }
}

/// The rows per batch: `asked`, lowered so a batch fits [`BATCH_BYTE_BUDGET`]; a schema whose
/// single row does not fit fails the job with the options to lower.
fn budgeted_batch_size(
    asked: usize,
    schema: &SchemaRef,
    g: &GenOptions,
    ctx: &PrepareContext,
) -> WeirResult<usize> {
    let per_row = schema
        .fields()
        .iter()
        .map(|f| row_bytes(f.data_type(), g))
        .fold(0, usize::saturating_add)
        .max(1);
    if per_row > BATCH_BYTE_BUDGET {
        return Err(WeirError::new(format!(
            "one generated row of this schema would take {per_row} bytes, more than a batch may \
             hold ({} MiB): lower 'array.size' ({}), 'map.size' ({}), 'string.length' ({}) or \
             'bytes.length' ({}), which nested types multiply",
            BATCH_BYTE_BUDGET >> 20,
            g.array_size,
            g.map_size,
            g.string_length,
            g.bytes_length
        )));
    }
    let fits = (BATCH_BYTE_BUDGET / per_row).max(1);
    if asked > fits {
        ctx.job_log.info(&format!(
            "FakeSource: 'batch.size' {asked} lowered to {fits} rows, so a batch of {per_row}-byte rows stays within {} MiB",
            BATCH_BYTE_BUDGET >> 20
        ));
        return Ok(fits);
    }
    Ok(asked)
}

/// Per-type generation options (`int.min`, `string.template`, `array.size`…).
#[derive(Debug, Default)]
struct GenOptions {
    string_length: usize,
    bytes_length: usize,
    array_size: usize,
    map_size: usize,
    ranges: Vec<(String, f64, f64)>,
    templates: Vec<(String, ArrayRef)>,
}

impl GenOptions {
    fn read(o: &Options) -> WeirResult<Self> {
        let e = |m: String| WeirError::new(m);
        // Generated values are materialised a batch at a time: bound their sizes so a typo
        // cannot ask for gigabytes per batch.
        let size = |key: &str, max: i64| -> WeirResult<usize> {
            let v = o.i64(key).map_err(e)?.unwrap_or(5);
            if !(0..=max).contains(&v) {
                return Err(WeirError::new(format!(
                    "option '{key}' must be between 0 and {max}, found {v}"
                )));
            }
            Ok(v as usize)
        };
        let mut g = GenOptions {
            string_length: size("string.length", 65_536)?,
            bytes_length: size("bytes.length", 65_536)?,
            array_size: size("array.size", 1_024)?,
            map_size: size("map.size", 1_024)?,
            ..Default::default()
        };
        let types: [(&str, DataType); 7] = [
            ("string", DataType::Utf8),
            ("tinyint", DataType::Int8),
            ("smallint", DataType::Int16),
            ("int", DataType::Int32),
            ("bigint", DataType::Int64),
            ("float", DataType::Float32),
            ("double", DataType::Float64),
        ];
        for (name, dt) in types {
            let mode = o.str(&format!("{name}.fake.mode")).map_err(e)?;
            let template_key = format!("{name}.template");
            if let Some(Value::Array(values)) = o.get(&template_key) {
                let use_template = mode
                    .as_deref()
                    .map(|m| m.eq_ignore_ascii_case("template"))
                    .unwrap_or(true);
                if values.is_empty() {
                    return Err(WeirError::new(format!(
                        "option '{template_key}' is an empty list"
                    )));
                }
                if use_template {
                    let arr = values_to_array(&dt, values)
                        .map_err(|err| err.context(format!("reading '{template_key}'")))?;
                    g.templates.push((name.to_string(), arr));
                }
            } else if mode
                .as_deref()
                .map(|m| m.eq_ignore_ascii_case("template"))
                .unwrap_or(false)
            {
                return Err(WeirError::new(format!(
                    "'{name}.fake.mode' is template but '{template_key}' is not set"
                )));
            }
            if name != "string" {
                let min = o.f64(&format!("{name}.min")).map_err(e)?;
                let max = o.f64(&format!("{name}.max")).map_err(e)?;
                if min.is_some() || max.is_some() {
                    let (lo, hi) = (min.unwrap_or(0.0), max.unwrap_or(type_max(&dt)));
                    if lo > hi {
                        return Err(WeirError::new(format!(
                            "'{name}.min' ({lo}) is greater than '{name}.max' ({hi})"
                        )));
                    }
                    g.ranges.push((name.to_string(), lo, hi));
                }
            }
        }
        Ok(g)
    }

    fn range(&self, name: &str, dt: &DataType) -> (f64, f64) {
        self.ranges
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, lo, hi)| (*lo, *hi))
            .unwrap_or((0.0, type_max(dt)))
    }

    fn template(&self, name: &str) -> Option<&ArrayRef> {
        self.templates
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
    }
}

fn type_max(dt: &DataType) -> f64 {
    match dt {
        DataType::Int8 => i8::MAX as f64,
        DataType::Int16 => i16::MAX as f64,
        DataType::Int32 => i32::MAX as f64,
        DataType::Int64 => i64::MAX as f64,
        DataType::Float32 => f32::MAX as f64,
        _ => f64::MAX,
    }
}

struct PreparedFake {
    schema: SchemaRef,
    row_num: usize,
    split_num: usize,
    split_interval: Duration,
    literal: Option<Batch>,
    seed: Option<u64>,
    unbounded: bool,
    rows_per_second: Option<u64>,
    batch_size: usize,
    gen: Arc<GenOptions>,
    fail_once_after: Option<u64>,
}

impl PreparedSource for PreparedFake {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn create_reader(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SourceReader>> {
        let seed = match self.seed {
            Some(s) => s ^ (subtask.index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            None => rand::rng().random(),
        };
        let splits = Splits {
            rows: self.row_num,
            count: self.split_num.max(1),
        };
        Ok(Box::new(FakeReader {
            schema: self.schema.clone(),
            splits,
            split: 0,
            left_in_split: None,
            literal: self.literal.clone(),
            unbounded: self.unbounded,
            split_interval: self.split_interval,
            batch_size: self.batch_size,
            rate: self.rows_per_second,
            started: None,
            emitted: 0,
            emitted_at_start: 0,
            seed,
            rng: SmallRng::seed_from_u64(seed),
            gen: self.gen.clone(),
            fail_after: self
                .fail_once_after
                .filter(|_| subtask.index == 0 && subtask.attempt == 0),
        }))
    }
}

/// How one reader's `row.num` rows divide into `split.num` splits: `row.num / split.num` each,
/// the last one the remainder. Computed rather than listed, so that a reader of a million
/// splits holds two numbers instead of megabytes (fifty such jobs once held 400 MiB).
#[derive(Debug, Clone, Copy)]
struct Splits {
    rows: usize,
    /// At least 1.
    count: usize,
}

impl Splits {
    fn len(&self) -> usize {
        self.count
    }

    /// The rows of split `s`, or `None` past the last.
    fn get(&self, s: usize) -> Option<usize> {
        let base = self.rows / self.count;
        if s + 1 < self.count {
            Some(base)
        } else if s + 1 == self.count {
            Some(self.rows - base * (self.count - 1))
        } else {
            None
        }
    }

    /// The rows of the splits after `s`.
    fn rows_after(&self, s: usize) -> usize {
        if s + 1 < self.count {
            self.rows - (self.rows / self.count) * (s + 1)
        } else {
            0
        }
    }
}

struct FakeReader {
    schema: SchemaRef,
    splits: Splits,
    split: usize,
    left_in_split: Option<usize>,
    literal: Option<Batch>,
    unbounded: bool,
    split_interval: Duration,
    batch_size: usize,
    rate: Option<u64>,
    started: Option<Instant>,
    emitted: u64,
    /// Rows emitted before this reader started (restored), which the rate does not count.
    emitted_at_start: u64,
    /// The stream's seed: batch `k` is generated from `seed` and the rows before it, so a
    /// restored reader produces exactly the rows the failed one would have.
    seed: u64,
    rng: SmallRng,
    gen: Arc<GenOptions>,
    fail_after: Option<u64>,
}

/// A FakeSource reader's position, as saved in checkpoints.
#[derive(Debug, Serialize, Deserialize)]
struct FakePosition {
    seed: u64,
    split: usize,
    left_in_split: Option<usize>,
    emitted: u64,
}

#[async_trait]
impl SourceReader for FakeReader {
    fn pending_records(&self) -> Option<u64> {
        self.remaining()
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> WeirResult<Vec<Vec<u8>>> {
        let position = FakePosition {
            seed: self.seed,
            split: self.split,
            left_in_split: self.left_in_split,
            emitted: self.emitted,
        };
        serde_json::to_vec(&position)
            .map(|b| vec![b])
            .map_err(|e| WeirError::new(format!("saving the FakeSource position: {e}")))
    }

    fn restore_state(&mut self, entries: Vec<Vec<u8>>) -> WeirResult<()> {
        match entries.as_slice() {
            [] => Ok(()),
            [one] => {
                let p: FakePosition = serde_json::from_slice(one).map_err(|e| {
                    WeirError::new(format!("the saved FakeSource position is unreadable: {e}"))
                })?;
                self.seed = p.seed;
                self.split = p.split;
                self.left_in_split = p.left_in_split;
                self.emitted = p.emitted;
                self.emitted_at_start = p.emitted;
                Ok(())
            }
            more => Err(WeirError::new(format!(
                "a FakeSource reader continues one saved stream, but {} were assigned to it; FakeSource cannot lower its parallelism",
                more.len()
            ))),
        }
    }

    async fn next(&mut self) -> WeirResult<SourceEvent> {
        if let Some(n) = self.fail_after {
            if self.emitted >= n {
                self.fail_after = None;
                return Err(WeirError::new(format!(
                    "injected failure after {} rows (test.fail_once_after_rows)",
                    self.emitted
                )));
            }
        }
        let started = *self.started.get_or_insert_with(Instant::now);
        if let Some(rate) = self.rate {
            let since_start = self.emitted - self.emitted_at_start;
            let due = Duration::from_secs_f64(since_start as f64 / rate as f64);
            let elapsed = started.elapsed();
            if due > elapsed {
                return Ok(SourceEvent::Idle(due - elapsed));
            }
        }
        if self.unbounded {
            let n = match self.rate {
                // Small batches at low rates keep the output smooth.
                Some(rate) => (rate as usize / 10).clamp(1, self.batch_size),
                None => self.batch_size,
            };
            let batch = match &self.literal {
                Some(l) => l.clone(),
                None => Batch::inserts(self.generate(n)?),
            };
            self.emitted += batch.num_rows() as u64;
            return Ok(SourceEvent::Batch(batch));
        }
        if self.split >= self.splits.len() {
            return Ok(SourceEvent::End);
        }
        if let Some(literal) = &self.literal {
            let batch = literal.clone();
            self.split += 1;
            self.emitted += batch.num_rows() as u64;
            if self.split < self.splits.len() && !self.split_interval.is_zero() {
                tokio::time::sleep(self.split_interval).await;
            }
            return Ok(SourceEvent::Batch(batch));
        }
        let Some(split_rows) = self.splits.get(self.split) else {
            return Ok(SourceEvent::End);
        };
        let left = *self.left_in_split.get_or_insert(split_rows);
        let n = left.min(self.batch_size);
        let mut n = n;
        if let Some(rate) = self.rate {
            n = n.min((rate as usize / 10).max(1));
        }
        let remaining = left - n;
        if remaining == 0 {
            self.split += 1;
            self.left_in_split = None;
        } else {
            self.left_in_split = Some(remaining);
        }
        if n == 0 {
            return Ok(SourceEvent::Idle(Duration::ZERO));
        }
        let batch = self.generate(n)?;
        self.emitted += n as u64;
        if remaining == 0 && self.split < self.splits.len() && !self.split_interval.is_zero() {
            tokio::time::sleep(self.split_interval).await;
        }
        Ok(SourceEvent::Batch(Batch::inserts(batch)))
    }
}

impl FakeReader {
    fn remaining(&self) -> Option<u64> {
        if self.unbounded {
            return None;
        }
        let current = self.split.min(self.splits.len());
        let later = self.splits.rows_after(current);
        let here = match (self.splits.get(current), &self.literal) {
            (None, _) => 0,
            (Some(_), Some(l)) => l.num_rows() * (self.splits.len() - current),
            (Some(n), None) => self.left_in_split.unwrap_or(n) + later,
        };
        Some(here as u64)
    }

    fn generate(&mut self, n: usize) -> WeirResult<RecordBatch> {
        self.rng =
            SmallRng::seed_from_u64(self.seed ^ self.emitted.wrapping_mul(0xA24B_AED4_963E_E407));
        let columns: Vec<ArrayRef> = self
            .schema
            .fields()
            .iter()
            .map(|f| gen_array(f.data_type(), n, &mut self.rng, &self.gen))
            .collect();
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )
        .map_err(|e| WeirError::new(format!("generating rows: {e}")))
    }
}

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_string_array(n: usize, len: usize, rng: &mut SmallRng) -> ArrayRef {
    let mut bytes = vec![0u8; n * len];
    rng.fill_bytes(&mut bytes);
    for b in bytes.iter_mut() {
        *b = ALPHANUMERIC[(*b as usize) % 62];
    }
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(len, n));
    // Safety of the cast to str is checked by `new`: the bytes are ASCII by construction.
    Arc::new(StringArray::new(offsets, bytes.into(), None))
}

fn pick_from(template: &ArrayRef, n: usize, rng: &mut SmallRng) -> ArrayRef {
    let len = template.len() as u32;
    let idx = UInt32Array::from_iter_values((0..n).map(|_| rng.random_range(0..len)));
    arrow::compute::take(template.as_ref(), &idx, None)
        .unwrap_or_else(|_| new_null_array(template.data_type(), n))
}

macro_rules! ints {
    ($arr:ty, $t:ty, $n:expr, $rng:expr, $lo:expr, $hi:expr) => {{
        let (lo, hi) = ($lo as $t, $hi as $t);
        let values: Vec<$t> = if lo >= hi {
            vec![lo; $n]
        } else {
            (0..$n).map(|_| $rng.random_range(lo..hi)).collect()
        };
        Arc::new(<$arr>::from(values)) as ArrayRef
    }};
}

fn gen_array(dt: &DataType, n: usize, rng: &mut SmallRng, g: &GenOptions) -> ArrayRef {
    let name = match dt {
        DataType::Utf8 => "string",
        DataType::Int8 => "tinyint",
        DataType::Int16 => "smallint",
        DataType::Int32 => "int",
        DataType::Int64 => "bigint",
        DataType::Float32 => "float",
        DataType::Float64 => "double",
        _ => "",
    };
    if let Some(t) = g.template(name) {
        return pick_from(t, n, rng);
    }
    let (lo, hi) = g.range(name, dt);
    match dt {
        DataType::Utf8 => random_string_array(n, g.string_length, rng),
        DataType::Boolean => Arc::new(BooleanArray::from_iter(
            (0..n).map(|_| Some(rng.random::<bool>())),
        )),
        DataType::Int8 => ints!(Int8Array, i8, n, rng, lo, hi),
        DataType::Int16 => ints!(Int16Array, i16, n, rng, lo, hi),
        DataType::Int32 => ints!(Int32Array, i32, n, rng, lo, hi),
        DataType::Int64 => ints!(Int64Array, i64, n, rng, lo, hi),
        DataType::Float32 => {
            let (lo, hi) = (lo as f32, hi as f32);
            Arc::new(Float32Array::from_iter_values(
                (0..n).map(|_| lo + rng.random::<f32>() * (hi - lo)),
            ))
        }
        DataType::Float64 => Arc::new(Float64Array::from_iter_values(
            (0..n).map(|_| lo + rng.random::<f64>() * (hi - lo)),
        )),
        DataType::Decimal128(p, s) => {
            let int_digits = (*p as i32 - *s as i32).clamp(0, 9) as u32;
            let scale = (*s).clamp(0, 18) as u32;
            let values = (0..n).map(|_| {
                let int_part = rng.random_range(0..10i128.pow(int_digits).max(1));
                let frac = rng.random_range(0..10i128.pow(scale).max(1));
                int_part * 10i128.pow(*s as u32)
                    + frac * 10i128.pow((*s as u32).saturating_sub(scale))
            });
            Arc::new(
                Decimal128Array::from_iter_values(values)
                    .with_precision_and_scale(*p, *s)
                    .unwrap_or_else(|_| Decimal128Array::from(vec![0i128; n])),
            )
        }
        DataType::Binary => {
            let len = g.bytes_length;
            let mut bytes = vec![0u8; n * len];
            rng.fill_bytes(&mut bytes);
            let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(len, n));
            Arc::new(BinaryArray::new(offsets, bytes.into(), None))
        }
        // 2000-01-01 .. 2030-01-01
        DataType::Date32 => Arc::new(Date32Array::from_iter_values(
            (0..n).map(|_| rng.random_range(10957..21915)),
        )),
        DataType::Time64(TimeUnit::Microsecond) => {
            Arc::new(Time64MicrosecondArray::from_iter_values((0..n).map(|_| {
                rng.random_range(0..86_400_000_000i64) / 1_000_000 * 1_000_000
            })))
        }
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            Arc::new(TimestampMicrosecondArray::from_iter_values((0..n).map(
                |_| rng.random_range(946_684_800i64..1_893_456_000) * 1_000_000,
            )))
        }
        DataType::Null => Arc::new(NullArray::new(n)),
        DataType::List(item) => {
            let size = g.array_size;
            let values = gen_array(item.data_type(), n * size, rng, g);
            let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(size, n));
            Arc::new(ListArray::new(item.clone(), offsets, values, None))
        }
        DataType::Map(entries, sorted) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return new_null_array(dt, n);
            };
            let size = g.map_size;
            let keys = gen_array(kv[0].data_type(), n * size, rng, g);
            let values = gen_array(kv[1].data_type(), n * size, rng, g);
            // A map holds each key once (SeaTunnel's is a Java map): a small template or a
            // narrow key type gives fewer entries than map.size.
            let (keep, lengths) = distinct_keys_per_row(&keys, n, size);
            let take = |a: &ArrayRef| {
                arrow::compute::take(a.as_ref(), &keep, None).unwrap_or_else(|_| a.clone())
            };
            let (keys, values) = (take(&keys), take(&values));
            let entries_arr = StructArray::new(kv.clone(), vec![keys, values], None);
            let offsets = OffsetBuffer::from_lengths(lengths);
            Arc::new(MapArray::new(
                entries.clone(),
                offsets,
                entries_arr,
                None,
                *sorted,
            ))
        }
        DataType::Struct(fields) => {
            let children = fields
                .iter()
                .map(|f| gen_array(f.data_type(), n, rng, g))
                .collect();
            Arc::new(StructArray::new(
                fields.clone(),
                children,
                None::<NullBuffer>,
            ))
        }
        other => new_null_array(other, n),
    }
}

/// For `rows` maps of `size` generated entries each: the entries to keep (each row's first
/// entry of every key) and each row's resulting length.
fn distinct_keys_per_row(keys: &ArrayRef, rows: usize, size: usize) -> (UInt32Array, Vec<usize>) {
    let shown = arrow::util::display::ArrayFormatter::try_new(
        keys.as_ref(),
        &arrow::util::display::FormatOptions::default(),
    );
    let mut keep = Vec::with_capacity(rows * size);
    let mut lengths = Vec::with_capacity(rows);
    for row in 0..rows {
        let mut seen = std::collections::HashSet::new();
        let before = keep.len();
        for i in row * size..(row + 1) * size {
            let key = match &shown {
                Ok(f) => f.value(i).to_string(),
                Err(_) => i.to_string(),
            };
            if seen.insert(key) {
                keep.push(i as u32);
            }
        }
        lengths.push(keep.len() - before);
    }
    (UInt32Array::from(keep), lengths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use weir_core::JobId;
    use weir_pipeline::JobMode;

    fn prepare(options: Value) -> WeirResult<Arc<dyn PreparedSource>> {
        let Value::Object(map) = options else {
            unreachable!()
        };
        let ctx = PrepareContext::new(JobId(1), "t", JobMode::Batch, 1);
        FakeSourceFactory.prepare(&Options::new(map), &ctx)
    }

    async fn drain(src: &Arc<dyn PreparedSource>, index: usize) -> Vec<Batch> {
        let mut reader = src
            .create_reader(SubtaskContext {
                index,
                parallelism: 2,
                attempt: 0,
            })
            .unwrap();
        let mut out = Vec::new();
        loop {
            match reader.next().await.unwrap() {
                SourceEvent::Batch(b) => out.push(b),
                SourceEvent::Idle(_) => {}
                SourceEvent::End => return out,
            }
        }
    }

    #[test]
    fn computed_splits_are_the_listed_ones() {
        for (rows, count) in [(10, 3), (9, 3), (2, 5), (0, 1), (7, 1), (1_000_001, 1000)] {
            let splits = Splits { rows, count };
            let base = rows / count;
            let listed: Vec<usize> = (0..count)
                .map(|s| {
                    if s + 1 == count {
                        rows - base * (count - 1)
                    } else {
                        base
                    }
                })
                .collect();
            for (s, want) in listed.iter().enumerate() {
                assert_eq!(splits.get(s), Some(*want), "{rows}/{count} split {s}");
                assert_eq!(splits.rows_after(s), listed[s + 1..].iter().sum::<usize>());
            }
            assert_eq!(splits.get(count), None);
            assert_eq!(listed.iter().sum::<usize>(), rows);
        }
    }

    #[tokio::test]
    async fn row_num_is_per_reader_and_splits_add_up() {
        let all_types = json!({
            "c_map": "map<string, array<int>>", "c_array": "array<int>", "c_string": "string",
            "c_boolean": "boolean", "c_tinyint": "tinyint", "c_smallint": "smallint", "c_int": "int",
            "c_bigint": "bigint", "c_float": "float", "c_double": "double", "c_decimal": "decimal(30, 8)",
            "c_null": "null", "c_bytes": "bytes", "c_date": "date", "c_time": "time", "c_timestamp": "timestamp",
            "c_row": {"c_int": "int", "c_s": "string"}
        });
        let src = prepare(json!({"schema": {"fields": all_types}, "row.num": 10, "split.num": 3, "split.read-interval": 0})).unwrap();
        let rows: usize = drain(&src, 0).await.iter().map(Batch::num_rows).sum();
        assert_eq!(rows, 10);
        let b = &drain(&src, 1).await[0];
        assert_eq!(b.records.num_columns(), 17);
        let strings = b
            .records
            .column(2)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(strings.value(0).len(), 5);
    }

    #[tokio::test]
    async fn seeds_make_data_reproducible_per_reader() {
        let opts = json!({"schema": {"fields": {"a": "bigint", "b": "string"}}, "row.num": 100, "seed": 42});
        let src = prepare(opts.clone()).unwrap();
        let a = drain(&src, 0).await;
        let b = drain(&prepare(opts).unwrap(), 0).await;
        let c = drain(&src, 1).await;
        assert_eq!(a[0].records, b[0].records);
        assert_ne!(a[0].records, c[0].records);
    }

    #[tokio::test]
    async fn literal_rows_carry_kinds_per_split() {
        let src = prepare(json!({
            "schema": {"fields": {"id": "bigint", "name": "string"}},
            "split.num": 2, "split.read-interval": 0,
            "rows": [{"kind": "INSERT", "fields": [1, "A"]}, {"kind": "DELETE", "fields": [1, "A"]}]
        }))
        .unwrap();
        let out = drain(&src, 0).await;
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].kind(1), RowKind::Delete);
    }

    #[tokio::test]
    async fn ranges_and_templates_bound_values() {
        let src = prepare(json!({
            "schema": {"fields": {"i": "int", "s": "string"}}, "row.num": 500,
            "int.min": 10, "int.max": 20, "string.template": ["x", "y"]
        }))
        .unwrap();
        let b = &drain(&src, 0).await[0];
        let ints = b
            .records
            .column(0)
            .as_any()
            .downcast_ref::<Int32Array>()
            .unwrap();
        assert!(ints.values().iter().all(|v| (10..20).contains(v)));
        let s = b
            .records
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(s.iter().all(|v| matches!(v, Some("x") | Some("y"))));
    }

    #[test]
    fn bad_options_are_explained() {
        let e = prepare(json!({"schema": {"fields": {"i": "integr"}}}))
            .err()
            .unwrap();
        assert!(e.message.contains("unknown type 'integr'"), "{}", e.message);
        let e = prepare(json!({"schema": {"fields": {"i": "int"}}, "rows": [{"kind": "UPSERT", "fields": [1]}]})).err().unwrap();
        assert!(e.message.contains("rows[0].kind"), "{}", e.message);
        let e = prepare(json!({"schema": {"fields": {"i": "int"}}, "int.min": 5, "int.max": 1}))
            .err()
            .unwrap();
        assert!(e.message.contains("greater than"), "{}", e.message);
    }

    #[tokio::test]
    async fn allocation_bombs_are_refused_or_batched_down_before_anything_is_allocated() {
        // Each option within its bound, together 64 GiB a batch: the batch shrinks to fit.
        let big = prepare(serde_json::json!({
            "schema": {"fields": {"s": "string"}},
            "row.num": 3000, "batch.size": 1048576, "string.length": 65536
        }))
        .unwrap();
        let batches = drain(&big, 0).await;
        let largest = batches.iter().map(|b| b.num_rows()).max().unwrap();
        assert!(
            largest <= BATCH_BYTE_BUDGET / 65_540,
            "{largest} rows in one batch"
        );
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3000);
        // Nested arrays multiply: one row would be 1024^4 ints.
        let e = prepare(serde_json::json!({
            "schema": {"fields": {"a": "array<array<array<array<int>>>>"}},
            "row.num": 1, "array.size": 1024
        }))
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("one generated row of this schema would take"),
            "{e}"
        );
        assert!(e.contains("'array.size' (1024)"), "{e}");
    }
}
