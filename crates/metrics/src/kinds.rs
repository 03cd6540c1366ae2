//! The four kinds of metric Flink has, made cheap to record: a counter is one relaxed atomic
//! add, a histogram a handful of them, and meters and time gauges do their arithmetic on the
//! query service's once-a-second tick, never on the data path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A count that only goes up, owned by whoever records it.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// A read-only view for registering in a metric group.
    pub fn reader(&self) -> CountFn {
        let c = self.0.clone();
        Arc::new(move || c.load(Ordering::Relaxed))
    }
}

/// Reads a count; lets a metric group expose counters that live elsewhere (the runtime's
/// per-subtask atomics) without copying them.
pub type CountFn = Arc<dyn Fn() -> u64 + Send + Sync>;

/// A gauge's current value, typed so Prometheus can tell numbers from text.
#[derive(Debug, Clone, PartialEq)]
pub enum GaugeValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl GaugeValue {
    /// The value as Flink's MetricStore keeps it (`String.valueOf` of the Java value).
    pub fn to_flink_string(&self) -> String {
        match self {
            GaugeValue::Int(v) => v.to_string(),
            GaugeValue::Float(v) => java_double(*v),
            GaugeValue::Bool(v) => v.to_string(),
            GaugeValue::Text(v) => v.clone(),
        }
    }

    /// The value as a number, when it is one (booleans count as 0 and 1, as in Prometheus).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            GaugeValue::Int(v) => Some(*v as f64),
            GaugeValue::Float(v) => Some(*v),
            GaugeValue::Bool(v) => Some(if *v { 1.0 } else { 0.0 }),
            GaugeValue::Text(_) => None,
        }
    }
}

/// Computes a gauge's value when it is read.
pub type GaugeFn = Arc<dyn Fn() -> GaugeValue + Send + Sync>;

/// Formats a double the way Java's `Double.toString` does for the values metrics take
/// (`0.0`, `36.25`, `NaN`, `Infinity`), so weir's strings match Flink's.
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v == v.trunc() && v.abs() < 1e7 {
        format!("{v:.1}")
    } else if v.abs() >= 1e7 || v.abs() < 1e-3 {
        let s = format!("{v:E}");
        // Java writes `1.0E10`, Rust `1E10`.
        match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        }
    } else {
        v.to_string()
    }
}

/// A per-second rate of a count over a sliding window, as Flink's `MeterView`: the window's
/// samples are taken on the query service's tick, so reading and recording never contend.
pub struct Meter {
    count: CountFn,
    window_secs: f64,
    /// Highest rate it reports (1000 for "ms per second" meters).
    cap: f64,
    samples: Mutex<VecDeque<(Instant, u64)>>,
    rate_bits: AtomicU64,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter").field("rate", &self.rate()).finish()
    }
}

impl Meter {
    /// Flink's default window for `…PerSecond` meters.
    pub const DEFAULT_WINDOW_SECS: u64 = 60;

    /// A meter over `count` with a window of `window_secs` seconds.
    pub fn new(count: CountFn, window_secs: u64) -> Arc<Self> {
        Self::capped(count, window_secs, f64::INFINITY)
    }

    /// A meter whose rate never exceeds `cap`: time spent per second cannot pass 1000 ms,
    /// whatever the jitter between when time is counted and when the tick samples it.
    pub fn capped(count: CountFn, window_secs: u64, cap: f64) -> Arc<Self> {
        let first = count();
        Arc::new(Self {
            count,
            window_secs: window_secs.max(1) as f64,
            cap,
            samples: Mutex::new(VecDeque::from([(Instant::now(), first)])),
            rate_bits: AtomicU64::new(0f64.to_bits()),
        })
    }

    /// Takes a sample and recomputes the rate over the part of the window seen so far (Flink
    /// divides by the whole window from the start, understating every rate for a minute).
    pub fn tick(&self) {
        self.tick_at(Instant::now());
    }

    fn tick_at(&self, now: Instant) {
        let count = (self.count)();
        let Ok(mut samples) = self.samples.lock() else {
            return;
        };
        samples.push_back((now, count));
        while samples.len() > 2
            && samples
                .get(1)
                .is_some_and(|(t, _)| now.duration_since(*t).as_secs_f64() >= self.window_secs)
        {
            samples.pop_front();
        }
        if let (Some((t0, c0)), Some((t1, c1))) = (samples.front(), samples.back()) {
            let secs = t1.duration_since(*t0).as_secs_f64();
            if secs > 0.0 {
                let rate = (c1.saturating_sub(*c0) as f64 / secs).min(self.cap);
                self.rate_bits.store(rate.to_bits(), Ordering::Relaxed);
            }
        }
    }

    /// Events per second over the window.
    pub fn rate(&self) -> f64 {
        f64::from_bits(self.rate_bits.load(Ordering::Relaxed))
    }

    /// The underlying count.
    pub fn count(&self) -> u64 {
        (self.count)()
    }
}

/// Summary statistics of a histogram, with Flink's quantiles.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HistogramStats {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub stddev: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub p98: f64,
    pub p99: f64,
    pub p999: f64,
}

impl HistogramStats {
    /// Flink's MetricStore keys for a histogram (`<name>_min`, …) with their values.
    pub fn flink_fields(&self) -> [(&'static str, f64); 11] {
        [
            ("min", self.min as f64),
            ("max", self.max as f64),
            ("mean", self.mean),
            ("median", self.p50),
            ("stddev", self.stddev),
            ("p75", self.p75),
            ("p90", self.p90),
            ("p95", self.p95),
            ("p98", self.p98),
            ("p99", self.p99),
            ("p999", self.p999),
        ]
    }
}

/// Sub-buckets per power of two: quantiles are exact to within 1/8 of the value.
const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A distribution of values in log-linear buckets of atomics: recording is four relaxed
/// atomic operations and no allocation; quantiles are read from the buckets.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let sub = (v >> (exp - SUB_BITS)) as usize & (SUB - 1);
    ((exp - SUB_BITS + 1) as usize) * SUB + sub
}

/// The smallest and largest value a bucket holds.
fn bucket_bounds(i: usize) -> (u64, u64) {
    if i < SUB {
        return (i as u64, i as u64);
    }
    let exp = (i / SUB) as u32 + SUB_BITS - 1;
    let sub = (i % SUB) as u64;
    let low = (1u64 << exp) | (sub << (exp - SUB_BITS));
    let width = 1u64 << (exp - SUB_BITS);
    (low, low.saturating_add(width - 1))
}

impl Histogram {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Records one value.
    pub fn record(&self, v: u64) {
        if let Some(b) = self.buckets.get(bucket_of(v)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(v, Ordering::Relaxed);
        self.min.fetch_min(v, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
    }

    /// Count, extremes, mean, standard deviation and quantiles (bucket midpoints, clamped to
    /// the observed extremes).
    pub fn stats(&self) -> HistogramStats {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        if count == 0 {
            return HistogramStats::default();
        }
        let min = self.min.load(Ordering::Relaxed);
        let max = self.max.load(Ordering::Relaxed);
        let mean = self.sum.load(Ordering::Relaxed) as f64
            / self.count.load(Ordering::Relaxed).max(1) as f64;
        let mid = |i: usize| {
            let (lo, hi) = bucket_bounds(i);
            ((lo as f64 + hi as f64) / 2.0).clamp(min as f64, max as f64)
        };
        let var = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| *c as f64 * (mid(i) - mean).powi(2))
            .sum::<f64>()
            / count as f64;
        let quantile = |q: f64| {
            let rank = (q * count as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return mid(i);
                }
            }
            max as f64
        };
        HistogramStats {
            count,
            min,
            max,
            mean,
            stddev: var.sqrt(),
            p50: quantile(0.5),
            p75: quantile(0.75),
            p90: quantile(0.9),
            p95: quantile(0.95),
            p98: quantile(0.98),
            p99: quantile(0.99),
            p999: quantile(0.999),
        }
    }
}

/// One registered metric.
#[derive(Clone)]
pub enum Metric {
    Counter(CountFn),
    Gauge(GaugeFn),
    Meter(Arc<Meter>),
    Histogram(Arc<Histogram>),
}

impl std::fmt::Debug for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::Counter(_) => "Counter",
            Metric::Gauge(_) => "Gauge",
            Metric::Meter(_) => "Meter",
            Metric::Histogram(_) => "Histogram",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(36.25), "36.25");
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(2174.0), "2174.0");
        assert_eq!(java_double(1e10), "1.0E10");
    }

    #[test]
    fn meter_rates_over_the_window_seen_so_far() {
        let c = Counter::new();
        let m = Meter::new(c.reader(), 60);
        let t0 = Instant::now();
        assert_eq!(m.rate(), 0.0);
        c.add(100);
        m.tick_at(t0 + Duration::from_secs(1));
        assert!((m.rate() - 100.0).abs() < 5.0, "{}", m.rate());
        c.add(300);
        m.tick_at(t0 + Duration::from_secs(2));
        assert!((m.rate() - 200.0).abs() < 10.0, "{}", m.rate());
    }

    #[test]
    fn meter_forgets_what_left_the_window() {
        let c = Counter::new();
        let m = Meter::new(c.reader(), 5);
        let t0 = Instant::now();
        c.add(1000);
        m.tick_at(t0 + Duration::from_secs(1));
        for s in 2..=10 {
            m.tick_at(t0 + Duration::from_secs(s));
        }
        assert_eq!(m.rate(), 0.0);
    }

    #[test]
    fn histogram_quantiles_are_close() {
        let h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v);
        }
        let s = h.stats();
        assert_eq!((s.count, s.min, s.max), (1000, 1, 1000));
        assert!((s.mean - 500.5).abs() < 1e-9);
        for (got, want) in [(s.p50, 500.0), (s.p99, 990.0), (s.p999, 999.0)] {
            assert!((got - want).abs() / want < 0.07, "{got} vs {want}");
        }
        assert!((s.stddev - 288.7).abs() / 288.7 < 0.05, "{}", s.stddev);
    }

    #[test]
    fn buckets_cover_every_value() {
        for v in [0u64, 1, 7, 8, 9, 15, 16, 17, 1000, 1 << 40, u64::MAX] {
            let (lo, hi) = bucket_bounds(bucket_of(v));
            assert!(lo <= v && v <= hi, "{v} not in {lo}..{hi}");
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn empty_histogram_is_zero() {
        assert_eq!(Histogram::new().stats(), HistogramStats::default());
    }
}
