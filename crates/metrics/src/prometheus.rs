//! Prometheus text exposition with the names Flink's PrometheusReporter gives: `flink_` +
//! logical scope + `_` + metric name, every character Prometheus does not allow replaced by
//! `_`, scope variables as labels. Counters, gauges and meters are gauges (Flink's choice:
//! a restarted task's counter may start over); histograms are summaries; text gauges are
//! left out.
//!
//! `promtool check metrics` parses this output cleanly; its linter still flags the
//! camelCase and unit-abbreviating names (`numRecordsIn`, `busyTimeMsPerSecond`) that Flink's
//! reporter uses. Those are kept on purpose: dashboards and alerts written for Flink query
//! exactly these names.

use crate::kinds::{java_double, GaugeValue};
use crate::query_service::{DumpHistogram, DumpValue, DumpedGroup};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A name Prometheus accepts: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn sanitize_name(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        java_double(v)
    }
}

#[derive(Default)]
struct Family {
    kind: &'static str,
    help: String,
    /// Sample lines keyed by their label set, so a repeated series is written once.
    samples: BTreeMap<String, String>,
}

/// Renders groups (from one or more query services) as one exposition.
pub fn render(groups: &[DumpedGroup]) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for g in groups {
        let scope = g.scope.logical();
        let labels: Vec<String> = g
            .scope
            .labels()
            .into_iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(&v)))
            .collect();
        let label_text = labels.join(",");
        for (name, value) in &g.values {
            let family = sanitize_name(&format!("flink_{scope}_{name}"));
            let help = format!("{name} (scope: {scope})");
            match value {
                DumpValue::Counter(c) => add(
                    &mut families,
                    &family,
                    "gauge",
                    &help,
                    &label_text,
                    "",
                    *c as f64,
                ),
                DumpValue::Meter { rate, .. } => add(
                    &mut families,
                    &family,
                    "gauge",
                    &help,
                    &label_text,
                    "",
                    *rate,
                ),
                DumpValue::Gauge(v) => {
                    if let Some(x) = GaugeValue::from(v).as_f64() {
                        add(&mut families, &family, "gauge", &help, &label_text, "", x)
                    }
                }
                DumpValue::Histogram(h) => summary(&mut families, &family, &help, &label_text, h),
            }
        }
    }
    let mut out = String::new();
    for (name, f) in families {
        let _ = writeln!(out, "# HELP {name} {}", f.help);
        let _ = writeln!(out, "# TYPE {name} {}", f.kind);
        for line in f.samples.values() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn add(
    families: &mut BTreeMap<String, Family>,
    family: &str,
    kind: &'static str,
    help: &str,
    labels: &str,
    suffix: &str,
    v: f64,
) {
    let f = families
        .entry(family.to_string())
        .or_insert_with(|| Family {
            kind,
            help: help.to_string(),
            samples: BTreeMap::new(),
        });
    let line = format!("{family}{suffix}{{{labels}}} {}", number(v));
    f.samples.insert(format!("{suffix}{{{labels}}}"), line);
}

fn summary(
    families: &mut BTreeMap<String, Family>,
    family: &str,
    help: &str,
    labels: &str,
    h: &DumpHistogram,
) {
    for (q, v) in DumpHistogram::LEVELS.iter().zip(h.quantiles) {
        let with_q = if labels.is_empty() {
            format!("quantile=\"{q}\"")
        } else {
            format!("{labels},quantile=\"{q}\"")
        };
        add(families, family, "summary", help, &with_q, "", v);
    }
    add(
        families,
        family,
        "summary",
        help,
        labels,
        "_count",
        h.count as f64,
    );
    add(
        families,
        family,
        "summary",
        help,
        labels,
        "_sum",
        h.mean * h.count as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::Scope;
    use std::sync::Arc;

    #[test]
    fn names_labels_and_types() {
        let g = DumpedGroup {
            scope: Arc::new(Scope::JobManager {
                host: "local\"host".into(),
            }),
            values: vec![
                (
                    "Status.JVM.CPU.Load".into(),
                    DumpValue::Gauge(crate::query_service::DumpGauge::Float(0.5)),
                ),
                ("numRunningJobs".into(), DumpValue::Counter(2)),
                (
                    "text".into(),
                    DumpValue::Gauge(crate::query_service::DumpGauge::Text("x".into())),
                ),
            ],
        };
        let text = render(&[g]);
        assert!(text.contains("# TYPE flink_jobmanager_Status_JVM_CPU_Load gauge\n"));
        assert!(text.contains("flink_jobmanager_Status_JVM_CPU_Load{host=\"local\\\"host\"} 0.5\n"));
        assert!(text.contains("flink_jobmanager_numRunningJobs{host=\"local\\\"host\"} 2.0\n"));
        assert!(!text.contains("text"));
    }

    #[test]
    fn sanitised_names() {
        assert_eq!(sanitize_name("flink_a.b-c"), "flink_a_b_c");
        assert_eq!(sanitize_name("0x"), "_0x");
    }
}
