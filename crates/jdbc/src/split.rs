//! How a Jdbc source divides its query among subtasks (SeaTunnel's `partition_column`,
//! `partition_num`, `partition_lower_bound` / `partition_upper_bound`): ranges of an integer
//! column, each read by one subtask with its own `WHERE`, plus one split for rows whose column
//! is null. The bounds shape the splits but filter nothing (the first and last ranges are open
//! ended, as Flink's and Spark's JDBC sources document theirs), so no row is left out. Only the
//! bounds are asked of the database; no row is read to plan.

use serde::{Deserialize, Serialize};

/// Which rows of the query a split reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitRange {
    /// The whole query (no partition column).
    All,
    /// `lo <= column <= hi`.
    Between { lo: i64, hi: i64 },
    /// `column IS NULL`.
    IsNull,
}

impl SplitRange {
    /// The split's query: `query` restricted to its rows.
    pub fn sql(&self, query: &str, column: Option<&str>) -> String {
        match (self, column) {
            (SplitRange::All, _) | (_, None) => query.to_string(),
            (SplitRange::Between { lo, hi }, Some(c)) => {
                format!("SELECT * FROM ({query}) weir_split WHERE {c} >= {lo} AND {c} <= {hi}")
            }
            (SplitRange::IsNull, Some(c)) => {
                format!("SELECT * FROM ({query}) weir_split WHERE {c} IS NULL")
            }
        }
    }
}

/// `num` ranges covering `lo..=hi` as evenly as whole numbers allow, and the null split.
/// An empty table (no bounds) still gets the null split, which finds nothing.
pub fn plan(bounds: Option<(i64, i64)>, num: usize) -> Vec<SplitRange> {
    let mut out = Vec::new();
    if let Some((lo, hi)) = bounds {
        let (lo, hi) = (lo.min(hi), lo.max(hi));
        let span = i128::from(hi) - i128::from(lo) + 1;
        let num = (num.max(1) as i128).min(span);
        let step = span / num;
        let extra = span % num;
        let mut start = i128::from(lo);
        for i in 0..num {
            let len = step + i128::from(i < extra);
            let end = start + len - 1;
            out.push(SplitRange::Between {
                lo: start as i64,
                hi: end as i64,
            });
            start = end + 1;
        }
        // Rows outside the bounds (given ones, or rows added since they were found) belong to
        // the first and last ranges.
        if let Some(SplitRange::Between { lo, .. }) = out.first_mut() {
            *lo = i64::MIN;
        }
        if let Some(SplitRange::Between { hi, .. }) = out.last_mut() {
            *hi = i64::MAX;
        }
    }
    out.push(SplitRange::IsNull);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(splits: &[SplitRange]) -> Vec<i64> {
        splits
            .iter()
            .flat_map(|s| match s {
                SplitRange::Between { lo, hi } => (*lo..=*hi).collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn ranges_cover_every_value_once() {
        let s = plan(Some((1, 10)), 3);
        assert_eq!(
            s,
            vec![
                SplitRange::Between {
                    lo: i64::MIN,
                    hi: 4
                },
                SplitRange::Between { lo: 5, hi: 7 },
                SplitRange::Between {
                    lo: 8,
                    hi: i64::MAX
                },
                SplitRange::IsNull
            ]
        );
        let inner: Vec<SplitRange> = s
            .iter()
            .map(|r| match r {
                SplitRange::Between { lo, hi } => SplitRange::Between {
                    lo: (*lo).max(1),
                    hi: (*hi).min(10),
                },
                other => other.clone(),
            })
            .collect();
        assert_eq!(covered(&inner), (1..=10).collect::<Vec<_>>());
        // More splits than values: one per value.
        assert_eq!(plan(Some((5, 6)), 8).len(), 3);
        // The extremes of bigint do not overflow.
        let wide = plan(Some((i64::MIN, i64::MAX)), 4);
        assert_eq!(wide.len(), 5);
        assert_eq!(
            wide[1],
            SplitRange::Between {
                lo: i64::MIN / 2,
                hi: -1
            }
        );
        assert_eq!(plan(None, 4), vec![SplitRange::IsNull]);
    }

    #[test]
    fn split_queries_wrap_the_users_query() {
        let q = "SELECT id, name FROM t WHERE a > 1";
        assert_eq!(SplitRange::All.sql(q, Some("\"id\"")), q);
        assert_eq!(
            SplitRange::Between { lo: -3, hi: 7 }.sql(q, Some("\"id\"")),
            "SELECT * FROM (SELECT id, name FROM t WHERE a > 1) weir_split WHERE \"id\" >= -3 AND \"id\" <= 7"
        );
    }
}
