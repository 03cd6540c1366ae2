//! Flink's metric queries over a store: list the ids of one component, `get` values, or
//! aggregate (`min,max,sum,avg,skew`) across several components, with Flink's parameter
//! rules and quirks (unknown ids are dropped; one missing metric empties an aggregate).

use crate::store::ComponentMetrics;
use serde::Serialize;
use std::collections::BTreeSet;

/// One aggregation Flink offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Aggregation {
    Min,
    Max,
    Sum,
    Avg,
    Skew,
}

impl Aggregation {
    pub const ALL: [Aggregation; 5] = [
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::Sum,
        Aggregation::Avg,
        Aggregation::Skew,
    ];

    /// Parses `agg` (comma-separated, case-insensitive); all five when absent or empty.
    /// The error names the value Flink would complain about.
    pub fn parse_list(raw: Option<&str>) -> Result<Vec<Aggregation>, String> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(Self::ALL.to_vec());
        };
        let mut out = BTreeSet::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.insert(match item.to_ascii_lowercase().as_str() {
                "min" => Aggregation::Min,
                "max" => Aggregation::Max,
                "sum" => Aggregation::Sum,
                "avg" => Aggregation::Avg,
                "skew" => Aggregation::Skew,
                _ => return Err(item.to_string()),
            });
        }
        Ok(out.into_iter().collect())
    }
}

/// Splits a `get` parameter into metric ids.
pub fn metric_names(raw: Option<&str>) -> Option<Vec<String>> {
    let raw = raw?;
    let names: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    (!names.is_empty()).then_some(names)
}

/// Parses `subtasks` (`1-3,5`): items that are not numbers or ranges are skipped, as Flink
/// logs and skips them.
pub fn subtask_ranges(raw: &str) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for item in raw.split(',').map(str::trim) {
        if let Some((a, b)) = item.split_once('-') {
            if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                // Bounded so `0-999999999` cannot make a request loop for long.
                out.extend((a..=b).take(1 << 16));
            }
        } else if let Ok(i) = item.parse() {
            out.insert(i);
        }
    }
    out
}

/// `{"id": …}` or `{"id": …, "value": …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricEntry {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One aggregated metric; aggregations not asked for are left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregatedEntry {
    pub id: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "flink_double"
    )]
    pub min: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "flink_double"
    )]
    pub max: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "flink_double"
    )]
    pub avg: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "flink_double"
    )]
    pub sum: Option<f64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "flink_double"
    )]
    pub skew: Option<f64>,
}

/// Jackson writes non-finite doubles as strings (`"NaN"`); finite ones as numbers.
fn flink_double<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) if v.is_nan() => s.serialize_str("NaN"),
        Some(v) if v.is_infinite() => {
            s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
        }
        Some(v) => s.serialize_f64(*v),
        None => s.serialize_none(),
    }
}

/// A single component's answer: its ids, or the values of the ids asked for that exist.
pub fn component(metrics: Option<&ComponentMetrics>, get: Option<&[String]>) -> Vec<MetricEntry> {
    let Some(m) = metrics else { return Vec::new() };
    match get {
        None => m
            .keys()
            .map(|id| MetricEntry {
                id: id.clone(),
                value: None,
            })
            .collect(),
        Some(names) => names
            .iter()
            .filter_map(|n| {
                m.get(n).map(|v| MetricEntry {
                    id: n.clone(),
                    value: Some(v.clone()),
                })
            })
            .collect(),
    }
}

/// An aggregating answer over `components`: without `get`, the union of their ids; with it,
/// one entry per id. As in Flink, the whole answer is empty when any asked-for id has no
/// numeric value in any component.
pub fn aggregate(
    components: &[&ComponentMetrics],
    get: Option<&[String]>,
    aggs: &[Aggregation],
) -> Result<Vec<AggregatedEntry>, Vec<MetricEntry>> {
    let Some(names) = get else {
        let ids: BTreeSet<&String> = components.iter().flat_map(|c| c.keys()).collect();
        return Err(ids
            .into_iter()
            .map(|id| MetricEntry {
                id: id.clone(),
                value: None,
            })
            .collect());
    };
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let values: Vec<f64> = components
            .iter()
            .filter_map(|c| c.get(name))
            .filter_map(|v| parse_flink_double(v))
            .collect();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        out.push(aggregate_values(name, &values, aggs));
    }
    Ok(out)
}

fn parse_flink_double(v: &str) -> Option<f64> {
    match v {
        "true" => Some(1.0),
        "false" => Some(0.0),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => v.parse().ok(),
    }
}

fn aggregate_values(id: &str, values: &[f64], aggs: &[Aggregation]) -> AggregatedEntry {
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let avg = sum / n;
    let min = values.iter().copied().fold(f64::INFINITY, nan_min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, nan_max);
    let skew = if avg == 0.0 {
        0.0
    } else if avg.is_nan() {
        f64::NAN
    } else {
        let mad = values.iter().map(|v| (v - avg).abs()).sum::<f64>() / n;
        (mad / avg * 100.0).min(100.0)
    };
    let want = |a| aggs.contains(&a);
    AggregatedEntry {
        id: id.to_string(),
        min: want(Aggregation::Min).then_some(min),
        max: want(Aggregation::Max).then_some(max),
        avg: want(Aggregation::Avg).then_some(avg),
        sum: want(Aggregation::Sum).then_some(sum),
        skew: want(Aggregation::Skew).then_some(skew),
    }
}

/// Java's `Math.min`: NaN wins.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(pairs: &[(&str, &str)]) -> ComponentMetrics {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn agg_parsing() {
        assert_eq!(Aggregation::parse_list(None).unwrap().len(), 5);
        assert_eq!(
            Aggregation::parse_list(Some("MIN,sum")).unwrap(),
            vec![Aggregation::Min, Aggregation::Sum]
        );
        assert_eq!(Aggregation::parse_list(Some("bogus")), Err("bogus".into()));
    }

    #[test]
    fn ranges() {
        assert_eq!(
            subtask_ranges("1-3,5,x,7-").into_iter().collect::<Vec<_>>(),
            vec![1, 2, 3, 5]
        );
    }

    #[test]
    fn get_drops_unknown_ids() {
        let c = comp(&[("a", "1"), ("b", "2")]);
        let names = vec!["b".to_string(), "zz".to_string()];
        assert_eq!(
            component(Some(&c), Some(&names)),
            vec![MetricEntry {
                id: "b".into(),
                value: Some("2".into())
            }]
        );
        assert_eq!(component(None, Some(&names)), vec![]);
        assert_eq!(component(Some(&c), None).len(), 2);
    }

    #[test]
    fn aggregates_match_flink() {
        let a = comp(&[("n", "2174"), ("r", "NaN")]);
        let b = comp(&[("n", "2181"), ("r", "NaN")]);
        let names = vec!["n".to_string()];
        let out = aggregate(&[&a, &b], Some(&names), &Aggregation::ALL).unwrap();
        assert_eq!(out[0].sum, Some(4355.0));
        assert_eq!(out[0].avg, Some(2177.5));
        assert_eq!(out[0].min, Some(2174.0));
        let skew = out[0].skew.unwrap_or_default();
        assert!((skew - 3.5 / 2177.5 * 100.0).abs() < 1e-9);
        let json = serde_json::to_string(
            &aggregate(&[&a], Some(&["r".to_string()]), &[Aggregation::Max]).unwrap(),
        )
        .unwrap_or_default();
        assert_eq!(json, r#"[{"id":"r","max":"NaN"}]"#);
        // One missing id empties the answer.
        let missing = vec!["n".to_string(), "nope".to_string()];
        assert_eq!(
            aggregate(&[&a], Some(&missing), &Aggregation::ALL),
            Ok(vec![])
        );
    }
}
