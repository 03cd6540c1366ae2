//! The `metrics` object of SeaTunnel's job answers, summed from the fetched metric store: the
//! TaskManagers register SeaTunnel's names on each source and sink operator (`SourceReceivedCount`
//! and `SourceReceivedCount#<table path>`, …), and this sums them over subtasks. Counts render
//! as integer strings, rates as doubles; all 16 keys are always present.

use super::messages::JobMetrics;
use std::collections::BTreeMap;
use weir_gateway::metrics::kinds::java_double;
use weir_gateway::metrics::store::JobMetricStore;

/// SeaTunnel's metric names: (name, is a rate).
const METRICS: [(&str, bool); 8] = [
    ("SourceReceivedCount", false),
    ("SinkWriteCount", false),
    ("SourceReceivedBytes", false),
    ("SinkWriteBytes", false),
    ("SourceReceivedQPS", true),
    ("SinkWriteQPS", true),
    ("SourceReceivedBytesPerSeconds", true),
    ("SinkWriteBytesPerSeconds", true),
];

/// Totals and per-table sums of one metric.
#[derive(Default)]
struct Sums {
    total: f64,
    tables: BTreeMap<String, f64>,
}

fn render(v: f64, rate: bool) -> String {
    if rate {
        java_double(v)
    } else {
        format!("{}", v.max(0.0) as u64)
    }
}

/// The `metrics` object of one job (zeros when nothing was fetched for it).
pub fn job_metrics(store: Option<&JobMetricStore>) -> JobMetrics {
    let mut sums: Vec<Sums> = METRICS.iter().map(|_| Sums::default()).collect();
    let subtasks = store
        .into_iter()
        .flat_map(|s| s.tasks.values())
        .flat_map(|subtasks| subtasks.values());
    for subtask in subtasks {
        for (key, value) in &subtask.metrics {
            let Ok(v) = value.parse::<f64>() else {
                continue;
            };
            for (i, (name, _)) in METRICS.iter().enumerate() {
                // Keys are `<operator>.<name>` or `<operator>.<name>#<table path>`; table paths
                // hold dots, so the name is found by its own text rather than by splitting.
                let Some(at) = key.find(&format!(".{name}")) else {
                    continue;
                };
                let rest = &key[at + 1 + name.len()..];
                if rest.is_empty() {
                    sums[i].total += v;
                } else if let Some(table) = rest.strip_prefix('#') {
                    *sums[i].tables.entry(table.to_string()).or_default() += v;
                }
            }
        }
    }
    let total = |i: usize| render(sums[i].total, METRICS[i].1);
    let tables = |i: usize| -> BTreeMap<String, String> {
        sums[i]
            .tables
            .iter()
            .map(|(t, v)| (t.clone(), render(*v, METRICS[i].1)))
            .collect()
    };
    // METRICS order: received count, write count, received bytes, write bytes, received QPS,
    // write QPS, received bytes/s, write bytes/s.
    JobMetrics {
        source_received_count: total(0),
        sink_write_count: total(1),
        source_received_bytes: total(2),
        sink_write_bytes: total(3),
        source_received_qps: total(4),
        sink_write_qps: total(5),
        source_received_bytes_per_seconds: total(6),
        sink_write_bytes_per_seconds: total(7),
        table_source_received_count: tables(0),
        table_sink_write_count: tables(1),
        table_source_received_bytes: tables(2),
        table_sink_write_bytes: tables(3),
        table_source_received_qps: tables(4),
        table_sink_write_qps: tables(5),
        table_source_received_bytes_per_seconds: tables(6),
        table_sink_write_bytes_per_seconds: tables(7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use weir_core::VertexId;
    use weir_gateway::metrics::store::SubtaskMetrics;

    #[test]
    fn sums_over_subtasks_and_splits_by_table() {
        let mut store = JobMetricStore::default();
        let sub = |count: &str| SubtaskMetrics {
            attempt: 0,
            metrics: [
                ("Source__FakeSource.SourceReceivedCount", count),
                ("Source__FakeSource.SourceReceivedCount#fake.table1", count),
                ("Source__FakeSource.SourceReceivedQPS", "1.5"),
                ("numRecordsOut", "999"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        store.tasks.insert(
            VertexId(1),
            Arc::new([(0, sub("3")), (1, sub("4"))].into_iter().collect()),
        );
        let m = serde_json::to_value(job_metrics(Some(&store))).unwrap();
        assert_eq!(m["SourceReceivedCount"], "7");
        assert_eq!(m["TableSourceReceivedCount"]["fake.table1"], "7");
        assert_eq!(m["SourceReceivedQPS"], "3.0");
        assert_eq!(m["SinkWriteCount"], "0");
        assert_eq!(m["TableSinkWriteBytes"], serde_json::json!({}));
        assert_eq!(m.as_object().unwrap().len(), 16);
    }
}
