//! Incremental aggregate accumulators for streaming GROUP BY: each takes rows in (INSERT,
//! UPDATE_AFTER) and takes them back out (UPDATE_BEFORE, DELETE), and encodes itself for a
//! checkpoint. Pure: no I/O, no Arrow arrays beyond the value being added.

use datafusion::common::ScalarValue;
use std::cmp::Ordering;
use weir_core::{WeirError, WeirResult};

/// The aggregate functions a GROUP BY may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

impl AggKind {
    /// The kind of a DataFusion aggregate function name, if weir supports it.
    pub fn from_name(name: &str) -> Option<AggKind> {
        match name.to_ascii_lowercase().as_str() {
            "count" => Some(AggKind::Count),
            "sum" => Some(AggKind::Sum),
            "min" => Some(AggKind::Min),
            "max" => Some(AggKind::Max),
            "avg" | "mean" => Some(AggKind::Avg),
            _ => None,
        }
    }
}

/// One value as an accumulator sees it: integers exact, floats as f64, the rest (strings,
/// dates, decimals) as a scalar, which only MIN and MAX take.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Null,
    Int(i64),
    Float(f64),
    Other(ScalarValue),
}

/// The running state of one aggregate for one key.
#[derive(Debug, Clone, PartialEq)]
pub enum Acc {
    /// Non-null values seen.
    Count(i64),
    /// Integer sum and how many non-null values make it (SQL's SUM of no values is NULL).
    SumInt {
        sum: i64,
        n: i64,
    },
    SumFloat {
        sum: f64,
        n: i64,
    },
    Avg {
        sum: f64,
        n: i64,
    },
    /// The extreme value so far; `max` says which extreme.
    Extreme {
        best: Option<ScalarValue>,
        max: bool,
    },
    /// The same for integer and floating-point columns, without scalars on the hot path.
    ExtremeInt {
        best: Option<i64>,
        max: bool,
    },
    ExtremeFloat {
        best: Option<f64>,
        max: bool,
    },
}

impl Acc {
    /// An empty MIN/MAX over integers (`Some(false)`), floats (`Some(true)`) or anything else.
    pub fn extreme(kind: AggKind, float: Option<bool>) -> Acc {
        let max = kind == AggKind::Max;
        match float {
            Some(false) => Acc::ExtremeInt { best: None, max },
            Some(true) => Acc::ExtremeFloat { best: None, max },
            None => Acc::Extreme { best: None, max },
        }
    }

    /// An empty accumulator; `float` picks floating-point arithmetic for SUM.
    pub fn new(kind: AggKind, float: bool) -> Acc {
        match kind {
            AggKind::Count => Acc::Count(0),
            AggKind::Sum if float => Acc::SumFloat { sum: 0.0, n: 0 },
            AggKind::Sum => Acc::SumInt { sum: 0, n: 0 },
            AggKind::Avg => Acc::Avg { sum: 0.0, n: 0 },
            AggKind::Min => Acc::Extreme {
                best: None,
                max: false,
            },
            AggKind::Max => Acc::Extreme {
                best: None,
                max: true,
            },
        }
    }

    /// Adds a value (`retract` false) or takes back one added earlier (`retract` true).
    #[inline]
    pub fn update(&mut self, value: Input, retract: bool) -> WeirResult<()> {
        if matches!(value, Input::Null) {
            return Ok(());
        }
        let sign = if retract { -1 } else { 1 };
        match self {
            Acc::Count(c) => *c += sign,
            Acc::SumInt { sum, n } => {
                let Input::Int(v) = value else {
                    return Err(WeirError::new("SUM over integers got a non-integer value"));
                };
                let delta = if retract { v.checked_neg() } else { Some(v) };
                *sum = delta.and_then(|d| sum.checked_add(d)).ok_or_else(|| {
                    WeirError::new("SUM overflowed BIGINT")
                        .with_hint("cast the column to DOUBLE in the query: SUM(CAST(x AS DOUBLE))")
                })?;
                *n += sign;
            }
            Acc::SumFloat { sum, n } | Acc::Avg { sum, n } => {
                let v = match value {
                    Input::Int(v) => v as f64,
                    Input::Float(v) => v,
                    _ => return Err(WeirError::new("SUM/AVG need a numeric column")),
                };
                *sum += if retract { -v } else { v };
                *n += sign;
            }
            Acc::ExtremeInt { best, max } => {
                let Input::Int(v) = value else {
                    return Err(WeirError::new(
                        "MIN/MAX over integers got a non-integer value",
                    ));
                };
                if retract {
                    return take_back(*best == Some(v), *max, &v);
                }
                if best.is_none_or(|b| if *max { v > b } else { v < b }) {
                    *best = Some(v);
                }
            }
            Acc::ExtremeFloat { best, max } => {
                let v = match value {
                    Input::Float(v) => v,
                    Input::Int(v) => v as f64,
                    _ => return Err(WeirError::new("MIN/MAX over numbers got a non-number")),
                };
                if retract {
                    return take_back(*best == Some(v), *max, &v);
                }
                if best.is_none_or(|b| if *max { v > b } else { v < b }) {
                    *best = Some(v);
                }
            }
            Acc::Extreme { best, max } => {
                let v = match value {
                    Input::Int(v) => ScalarValue::Int64(Some(v)),
                    Input::Float(v) => ScalarValue::Float64(Some(v)),
                    Input::Other(v) => v,
                    Input::Null => return Ok(()),
                };
                let want = if *max {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                if retract {
                    return take_back(best.as_ref() == Some(&v), *max, &v);
                }
                let better = match best {
                    None => true,
                    Some(b) => v.partial_cmp(b) == Some(want),
                };
                if better {
                    *best = Some(v);
                }
            }
        }
        Ok(())
    }

    /// The aggregate's current value (NULL where SQL says so), before casting to the output type.
    pub fn value(&self) -> ScalarValue {
        match self {
            Acc::Count(c) => ScalarValue::Int64(Some(*c)),
            Acc::SumInt { sum, n } => ScalarValue::Int64((*n > 0).then_some(*sum)),
            Acc::SumFloat { sum, n } => ScalarValue::Float64((*n > 0).then_some(*sum)),
            Acc::Avg { sum, n } => ScalarValue::Float64((*n > 0).then(|| *sum / *n as f64)),
            Acc::Extreme { best, .. } => best.clone().unwrap_or(ScalarValue::Null),
            Acc::ExtremeInt { best, .. } => ScalarValue::Int64(*best),
            Acc::ExtremeFloat { best, .. } => ScalarValue::Float64(*best),
        }
    }

    /// Appends the accumulator to a checkpoint entry. Extreme values are encoded by `encode`
    /// (the Arrow row format of their column type), which the caller owns.
    pub fn encode(
        &self,
        out: &mut Vec<u8>,
        encode: &dyn Fn(&ScalarValue) -> WeirResult<Vec<u8>>,
    ) -> WeirResult<()> {
        match self {
            Acc::Count(c) => out.extend_from_slice(&c.to_le_bytes()),
            Acc::SumInt { sum, n } => {
                out.extend_from_slice(&sum.to_le_bytes());
                out.extend_from_slice(&n.to_le_bytes());
            }
            Acc::SumFloat { sum, n } | Acc::Avg { sum, n } => {
                out.extend_from_slice(&sum.to_le_bytes());
                out.extend_from_slice(&n.to_le_bytes());
            }
            Acc::ExtremeInt { best, .. } => match best {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    out.extend_from_slice(&v.to_le_bytes());
                }
            },
            Acc::ExtremeFloat { best, .. } => match best {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    out.extend_from_slice(&v.to_le_bytes());
                }
            },
            Acc::Extreme { best, .. } => match best {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    let bytes = encode(v)?;
                    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                    out.extend_from_slice(&bytes);
                }
            },
        }
        Ok(())
    }

    /// Reads back what `encode` wrote into an accumulator of the same shape as `self`.
    pub fn decode(
        &self,
        r: &mut Reader<'_>,
        decode: &dyn Fn(&[u8]) -> WeirResult<ScalarValue>,
    ) -> WeirResult<Acc> {
        Ok(match self {
            Acc::Count(_) => Acc::Count(r.i64()?),
            Acc::SumInt { .. } => Acc::SumInt {
                sum: r.i64()?,
                n: r.i64()?,
            },
            Acc::SumFloat { .. } => Acc::SumFloat {
                sum: r.f64()?,
                n: r.i64()?,
            },
            Acc::Avg { .. } => Acc::Avg {
                sum: r.f64()?,
                n: r.i64()?,
            },
            Acc::ExtremeInt { max, .. } => Acc::ExtremeInt {
                best: if r.take(1)?[0] == 0 {
                    None
                } else {
                    Some(r.i64()?)
                },
                max: *max,
            },
            Acc::ExtremeFloat { max, .. } => Acc::ExtremeFloat {
                best: if r.take(1)?[0] == 0 {
                    None
                } else {
                    Some(r.f64()?)
                },
                max: *max,
            },
            Acc::Extreme { max, .. } => {
                let best = match r.take(1)?[0] {
                    0 => None,
                    _ => {
                        let len = r.u32()? as usize;
                        Some(decode(r.take(len)?)?)
                    }
                };
                Acc::Extreme { best, max: *max }
            }
        })
    }
}

/// Taking back a value from MIN/MAX: anything but the current extreme leaves it as it is;
/// taking back the extreme itself would need every value kept (Flink keeps them all in state),
/// which weir does not do.
fn take_back(is_extreme: bool, max: bool, v: &dyn std::fmt::Display) -> WeirResult<()> {
    if !is_extreme {
        return Ok(());
    }
    Err(WeirError::new(format!(
        "{} cannot take back its current value {v}: the input retracts rows (UPDATE_BEFORE or DELETE)",
        if max { "MAX" } else { "MIN" }
    ))
    .with_hint("drop retractions first (FilterRowKind exclude_kinds = [\"UPDATE_BEFORE\", \"DELETE\"]) or aggregate an insert-only stream"))
}

/// Reads a checkpoint entry, failing cleanly on a truncated one.
pub struct Reader<'a> {
    pub bytes: &'a [u8],
    pub at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    pub fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    pub fn take(&mut self, n: usize) -> WeirResult<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| WeirError::new("GROUP BY state entry is truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> WeirResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub fn u32(&mut self) -> WeirResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> WeirResult<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub fn f64(&mut self) -> WeirResult<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_sum_avg_take_rows_in_and_back_out() {
        let mut count = Acc::new(AggKind::Count, false);
        let mut sum = Acc::new(AggKind::Sum, false);
        let mut avg = Acc::new(AggKind::Avg, false);
        let rows = [
            (Input::Int(3), false),
            (Input::Int(5), false),
            (Input::Null, false),
            (Input::Int(3), true),
        ];
        for (v, retract) in rows {
            count.update(v.clone(), retract).unwrap();
            sum.update(v.clone(), retract).unwrap();
            avg.update(v, retract).unwrap();
        }
        assert_eq!(count.value(), ScalarValue::Int64(Some(1)));
        assert_eq!(sum.value(), ScalarValue::Int64(Some(5)));
        assert_eq!(avg.value(), ScalarValue::Float64(Some(5.0)));
        sum.update(Input::Int(5), true).unwrap();
        assert_eq!(
            sum.value(),
            ScalarValue::Int64(None),
            "no values left: NULL"
        );
    }

    #[test]
    fn sum_overflow_is_an_error_not_a_wrap() {
        let mut sum = Acc::new(AggKind::Sum, false);
        sum.update(Input::Int(i64::MAX), false).unwrap();
        let e = sum.update(Input::Int(1), false).unwrap_err().to_string();
        assert!(e.contains("overflowed"), "{e}");
    }

    #[test]
    fn min_max_keep_the_extreme_and_refuse_to_take_it_back() {
        let mut min = Acc::new(AggKind::Min, false);
        let mut max = Acc::new(AggKind::Max, false);
        for v in [4, 2, 9] {
            min.update(Input::Int(v), false).unwrap();
            max.update(Input::Int(v), false).unwrap();
        }
        assert_eq!(min.value(), ScalarValue::Int64(Some(2)));
        assert_eq!(max.value(), ScalarValue::Int64(Some(9)));
        max.update(Input::Int(4), true).unwrap();
        assert_eq!(max.value(), ScalarValue::Int64(Some(9)));
        let e = max.update(Input::Int(9), true).unwrap_err().to_string();
        assert!(e.contains("MAX cannot take back"), "{e}");
        let mut s = Acc::new(AggKind::Max, false);
        s.update(Input::Other(ScalarValue::from("b")), false)
            .unwrap();
        s.update(Input::Other(ScalarValue::from("a")), false)
            .unwrap();
        assert_eq!(s.value(), ScalarValue::from("b"));
    }

    #[test]
    fn accumulators_round_trip_through_their_encoding() {
        let enc = |v: &ScalarValue| Ok(v.to_string().into_bytes());
        let dec = |b: &[u8]| {
            Ok(ScalarValue::Int64(Some(
                String::from_utf8_lossy(b).parse().unwrap(),
            )))
        };
        let mut accs = vec![
            Acc::new(AggKind::Count, false),
            Acc::new(AggKind::Sum, false),
            Acc::new(AggKind::Sum, true),
            Acc::new(AggKind::Avg, false),
            Acc::new(AggKind::Max, false),
            Acc::new(AggKind::Min, false),
        ];
        for a in accs.iter_mut().take(5) {
            a.update(Input::Int(7), false).unwrap();
        }
        let mut bytes = Vec::new();
        for a in &accs {
            a.encode(&mut bytes, &enc).unwrap();
        }
        let mut r = Reader::new(&bytes);
        let back: Vec<Acc> = accs
            .iter()
            .map(|a| a.decode(&mut r, &dec).unwrap())
            .collect();
        assert!(r.done());
        assert_eq!(back, accs);
        let mut short = Reader::new(&bytes[..bytes.len() - 1]);
        let e = accs
            .iter()
            .map(|a| a.decode(&mut short, &dec))
            .find_map(Result::err)
            .unwrap();
        assert!(e.to_string().contains("truncated"));
    }
}
