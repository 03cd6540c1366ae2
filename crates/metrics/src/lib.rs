//! weir's metrics, designed after Flink's (FLIP-7): components register metric groups with
//! Flink's scopes and metric kinds in their process's [`MetricQueryService`]; the JobManager's
//! fetcher pulls dumps of them into a [`MetricStore`], which the REST layer queries with
//! Flink's `get`/`agg` semantics; the same dumps render as Prometheus text.
//!
//! Recording is cheap by construction: counters and histograms are relaxed atomics, and
//! everything that needs arithmetic (meters, per-second times) is computed on a once-a-second
//! tick or when read, never per record.

pub mod group;
pub mod kinds;
pub mod prometheus;
pub mod query;
pub mod query_service;
pub mod store;
pub mod system;

pub use group::{MetricGroup, Scope, TaskScope};
pub use kinds::{CountFn, Counter, GaugeValue, Histogram, Meter, Metric};
pub use query_service::{DumpedGroup, GroupKey, MetricQueryService};
pub use store::{FetchRound, MetricStore};
