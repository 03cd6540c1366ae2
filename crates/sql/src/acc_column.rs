//! One aggregate's accumulators for every group of a subtask, stored column-wise (one `Vec` per
//! field, indexed by group), so an insert-only batch is applied as one tight loop per aggregate
//! over the batch's group indices instead of an enum dispatch per row and aggregate. Rows that
//! take values back (UPDATE_BEFORE, DELETE) go through [`Acc`] one at a time: its rules (a
//! MIN/MAX cannot take back its extreme) stay in one place.

use crate::accumulator::{Acc, Input};
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};

/// How an aggregate reads its argument column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgClass {
    /// Any type; only whether the value is null matters (COUNT).
    Presence,
    /// Integers, read exactly as i64.
    Int,
    /// Floating point, read as f64.
    Float,
    /// Anything else, read as a scalar (MIN/MAX of strings, dates…).
    Other,
}

/// An argument column, read once per batch in the form its accumulator wants: typed, so a row
/// is read without a downcast, and with whether it has nulls at all known up front.
pub enum ArgColumn {
    /// COUNT(*) or COUNT of a column without nulls: every row counts.
    Always,
    Presence(ArrayRef),
    Int(Int64Array),
    Float(Float64Array),
    Other(ArrayRef),
}

fn eval_err(e: impl std::fmt::Display) -> WeirError {
    WeirError::new(format!("evaluating the query: {e}"))
}

impl ArgColumn {
    pub fn read(array: ArrayRef, class: ArgClass) -> WeirResult<ArgColumn> {
        Ok(match class {
            ArgClass::Presence if array.null_count() == 0 => ArgColumn::Always,
            ArgClass::Presence => ArgColumn::Presence(array),
            ArgClass::Int => ArgColumn::Int(
                cast(&array, &DataType::Int64)
                    .map_err(eval_err)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
            ArgClass::Float => ArgColumn::Float(
                cast(&array, &DataType::Float64)
                    .map_err(eval_err)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            ),
            ArgClass::Other => ArgColumn::Other(array),
        })
    }

    /// Row `row` as an accumulator input.
    #[inline]
    pub fn at(&self, row: usize) -> WeirResult<Input> {
        Ok(match self {
            ArgColumn::Always => Input::Int(1),
            ArgColumn::Presence(a) if a.is_valid(row) => Input::Int(1),
            ArgColumn::Int(a) if a.is_valid(row) => Input::Int(a.value(row)),
            ArgColumn::Float(a) if a.is_valid(row) => Input::Float(a.value(row)),
            ArgColumn::Other(a) if a.is_valid(row) => {
                Input::Other(ScalarValue::try_from_array(a, row).map_err(eval_err)?)
            }
            _ => Input::Null,
        })
    }
}

/// The accumulators of one aggregate, one entry per group slot.
#[derive(Debug, Clone, PartialEq)]
pub enum AccColumn {
    Count(Vec<i64>),
    SumInt {
        sum: Vec<i64>,
        n: Vec<i64>,
    },
    SumFloat {
        sum: Vec<f64>,
        n: Vec<i64>,
    },
    Avg {
        sum: Vec<f64>,
        n: Vec<i64>,
    },
    ExtremeInt {
        best: Vec<Option<i64>>,
        max: bool,
    },
    ExtremeFloat {
        best: Vec<Option<f64>>,
        max: bool,
    },
    Extreme {
        best: Vec<Option<ScalarValue>>,
        max: bool,
    },
}

fn overflow() -> WeirError {
    WeirError::new("SUM overflowed BIGINT")
        .with_hint("cast the column to DOUBLE in the query: SUM(CAST(x AS DOUBLE))")
}

/// `f(group, value)` for each row of a numeric argument that is not null.
#[inline]
fn each_value<T: Copy>(
    groups: &[u32],
    values: &[T],
    nulls: Option<&arrow::buffer::NullBuffer>,
    mut f: impl FnMut(usize, T) -> WeirResult<()>,
) -> WeirResult<()> {
    match nulls {
        None => {
            for (&g, &v) in groups.iter().zip(values) {
                f(g as usize, v)?;
            }
        }
        Some(nulls) => {
            for (row, (&g, &v)) in groups.iter().zip(values).enumerate() {
                if nulls.is_valid(row) {
                    f(g as usize, v)?;
                }
            }
        }
    }
    Ok(())
}

/// Integer or float argument values as f64, for SUM/AVG/MIN/MAX over floats.
fn floats(arg: &ArgColumn) -> WeirResult<std::borrow::Cow<'_, Float64Array>> {
    match arg {
        ArgColumn::Float(a) => Ok(std::borrow::Cow::Borrowed(a)),
        ArgColumn::Int(a) => Ok(std::borrow::Cow::Owned(a.unary(|v| v as f64))),
        _ => Err(WeirError::new("SUM/AVG need a numeric column")),
    }
}

impl AccColumn {
    /// An empty column of accumulators shaped like `empty`.
    pub fn of(empty: &Acc) -> AccColumn {
        match empty {
            Acc::Count(_) => AccColumn::Count(Vec::new()),
            Acc::SumInt { .. } => AccColumn::SumInt {
                sum: Vec::new(),
                n: Vec::new(),
            },
            Acc::SumFloat { .. } => AccColumn::SumFloat {
                sum: Vec::new(),
                n: Vec::new(),
            },
            Acc::Avg { .. } => AccColumn::Avg {
                sum: Vec::new(),
                n: Vec::new(),
            },
            Acc::ExtremeInt { max, .. } => AccColumn::ExtremeInt {
                best: Vec::new(),
                max: *max,
            },
            Acc::ExtremeFloat { max, .. } => AccColumn::ExtremeFloat {
                best: Vec::new(),
                max: *max,
            },
            Acc::Extreme { max, .. } => AccColumn::Extreme {
                best: Vec::new(),
                max: *max,
            },
        }
    }

    /// Grows the column to `len` slots, the new ones empty.
    pub fn grow(&mut self, len: usize) {
        match self {
            AccColumn::Count(c) => c.resize(len, 0),
            AccColumn::SumInt { sum, n } => {
                sum.resize(len, 0);
                n.resize(len, 0);
            }
            AccColumn::SumFloat { sum, n } | AccColumn::Avg { sum, n } => {
                sum.resize(len, 0.0);
                n.resize(len, 0);
            }
            AccColumn::ExtremeInt { best, .. } => best.resize(len, None),
            AccColumn::ExtremeFloat { best, .. } => best.resize(len, None),
            AccColumn::Extreme { best, .. } => best.resize(len, None),
        }
    }

    /// Empties slot `g` (its group is gone or starts over).
    pub fn reset(&mut self, g: usize) {
        match self {
            AccColumn::Count(c) => c[g] = 0,
            AccColumn::SumInt { sum, n } => {
                sum[g] = 0;
                n[g] = 0;
            }
            AccColumn::SumFloat { sum, n } | AccColumn::Avg { sum, n } => {
                sum[g] = 0.0;
                n[g] = 0;
            }
            AccColumn::ExtremeInt { best, .. } => best[g] = None,
            AccColumn::ExtremeFloat { best, .. } => best[g] = None,
            AccColumn::Extreme { best, .. } => best[g] = None,
        }
    }

    /// Slot `g` as one accumulator.
    pub fn get(&self, g: usize) -> Acc {
        match self {
            AccColumn::Count(c) => Acc::Count(c[g]),
            AccColumn::SumInt { sum, n } => Acc::SumInt {
                sum: sum[g],
                n: n[g],
            },
            AccColumn::SumFloat { sum, n } => Acc::SumFloat {
                sum: sum[g],
                n: n[g],
            },
            AccColumn::Avg { sum, n } => Acc::Avg {
                sum: sum[g],
                n: n[g],
            },
            AccColumn::ExtremeInt { best, max } => Acc::ExtremeInt {
                best: best[g],
                max: *max,
            },
            AccColumn::ExtremeFloat { best, max } => Acc::ExtremeFloat {
                best: best[g],
                max: *max,
            },
            AccColumn::Extreme { best, max } => Acc::Extreme {
                best: best[g].clone(),
                max: *max,
            },
        }
    }

    /// Stores one accumulator of this column's shape in slot `g`.
    pub fn set(&mut self, g: usize, acc: Acc) -> WeirResult<()> {
        match (self, acc) {
            (AccColumn::Count(c), Acc::Count(v)) => c[g] = v,
            (AccColumn::SumInt { sum, n }, Acc::SumInt { sum: s, n: k }) => {
                sum[g] = s;
                n[g] = k;
            }
            (AccColumn::SumFloat { sum, n }, Acc::SumFloat { sum: s, n: k })
            | (AccColumn::Avg { sum, n }, Acc::Avg { sum: s, n: k }) => {
                sum[g] = s;
                n[g] = k;
            }
            (AccColumn::ExtremeInt { best, .. }, Acc::ExtremeInt { best: b, .. }) => best[g] = b,
            (AccColumn::ExtremeFloat { best, .. }, Acc::ExtremeFloat { best: b, .. }) => {
                best[g] = b
            }
            (AccColumn::Extreme { best, .. }, Acc::Extreme { best: b, .. }) => best[g] = b,
            (_, acc) => {
                return Err(WeirError::new(format!(
                    "corrupt GROUP BY state: accumulator {acc:?} does not fit its aggregate"
                )))
            }
        }
        Ok(())
    }

    /// Adds row `i` of `arg` to group `groups[i]`, for every row: an insert-only batch.
    pub fn add(&mut self, groups: &[u32], arg: &ArgColumn) -> WeirResult<()> {
        match (self, arg) {
            (AccColumn::Count(c), ArgColumn::Always) => {
                for &g in groups {
                    c[g as usize] += 1;
                }
            }
            (AccColumn::Count(c), ArgColumn::Presence(a)) => {
                for (row, &g) in groups.iter().enumerate() {
                    if a.is_valid(row) {
                        c[g as usize] += 1;
                    }
                }
            }
            (AccColumn::SumInt { sum, n }, ArgColumn::Int(a)) => {
                each_value(groups, a.values(), a.nulls(), |g, v| {
                    sum[g] = sum[g].checked_add(v).ok_or_else(overflow)?;
                    n[g] += 1;
                    Ok(())
                })?;
            }
            (AccColumn::SumFloat { sum, n } | AccColumn::Avg { sum, n }, arg) => {
                let a = floats(arg)?;
                each_value(groups, a.values(), a.nulls(), |g, v| {
                    sum[g] += v;
                    n[g] += 1;
                    Ok(())
                })?;
            }
            (AccColumn::ExtremeInt { best, max }, ArgColumn::Int(a)) => {
                let max = *max;
                each_value(groups, a.values(), a.nulls(), |g, v| {
                    let b = &mut best[g];
                    if b.is_none_or(|b| if max { v > b } else { v < b }) {
                        *b = Some(v);
                    }
                    Ok(())
                })?;
            }
            (AccColumn::ExtremeFloat { best, max }, arg) => {
                let max = *max;
                let a = floats(arg)?;
                each_value(groups, a.values(), a.nulls(), |g, v| {
                    let b = &mut best[g];
                    if b.is_none_or(|b| if max { v > b } else { v < b }) {
                        *b = Some(v);
                    }
                    Ok(())
                })?;
            }
            (column, arg) => {
                // Scalars (MIN/MAX of strings, dates…) and mismatches: one row at a time, so
                // the accumulator's own rules and errors apply.
                for (row, &g) in groups.iter().enumerate() {
                    let g = g as usize;
                    let mut acc = column.get(g);
                    acc.update(arg.at(row)?, false)?;
                    column.set(g, acc)?;
                }
            }
        }
        Ok(())
    }

    /// The aggregate's values for `groups`, in that order, as a column of `output_type` (the
    /// type DataFusion planned for the aggregate), NULL where SQL says so.
    pub fn array(&self, groups: &[u32], output_type: &DataType) -> WeirResult<ArrayRef> {
        let at = |g: &u32| *g as usize;
        let array: ArrayRef = match self {
            AccColumn::Count(c) => Arc::new(Int64Array::from_iter_values(
                groups.iter().map(|g| c[at(g)]),
            )),
            AccColumn::SumInt { sum, n } => Arc::new(
                groups
                    .iter()
                    .map(|g| (n[at(g)] > 0).then(|| sum[at(g)]))
                    .collect::<Int64Array>(),
            ),
            AccColumn::SumFloat { sum, n } => Arc::new(
                groups
                    .iter()
                    .map(|g| (n[at(g)] > 0).then(|| sum[at(g)]))
                    .collect::<Float64Array>(),
            ),
            AccColumn::Avg { sum, n } => Arc::new(
                groups
                    .iter()
                    .map(|g| (n[at(g)] > 0).then(|| sum[at(g)] / n[at(g)] as f64))
                    .collect::<Float64Array>(),
            ),
            AccColumn::ExtremeInt { best, .. } => {
                Arc::new(groups.iter().map(|g| best[at(g)]).collect::<Int64Array>())
            }
            AccColumn::ExtremeFloat { best, .. } => {
                Arc::new(groups.iter().map(|g| best[at(g)]).collect::<Float64Array>())
            }
            AccColumn::Extreme { best, .. } => {
                if groups.is_empty() {
                    return Ok(arrow::array::new_empty_array(output_type));
                }
                let values = groups
                    .iter()
                    .map(|g| {
                        best[at(g)]
                            .clone()
                            .unwrap_or(ScalarValue::Null)
                            .cast_to(output_type)
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(eval_err)?;
                return ScalarValue::iter_to_array(values).map_err(eval_err);
            }
        };
        if array.data_type() == output_type {
            Ok(array)
        } else {
            cast(&array, output_type).map_err(eval_err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulator::AggKind;

    fn empties() -> Vec<Acc> {
        vec![
            Acc::new(AggKind::Count, false),
            Acc::new(AggKind::Sum, false),
            Acc::new(AggKind::Sum, true),
            Acc::new(AggKind::Avg, false),
            Acc::extreme(AggKind::Min, Some(false)),
            Acc::extreme(AggKind::Max, Some(true)),
            Acc::extreme(AggKind::Max, None),
        ]
    }

    /// The column-wise update of a batch ends where adding its rows one by one to [`Acc`]s does.
    #[test]
    fn a_batch_added_column_wise_equals_rows_added_one_by_one() {
        let groups = [0u32, 2, 0, 1, 2, 2, 0];
        let ints = Int64Array::from(vec![
            Some(5),
            None,
            Some(-3),
            Some(7),
            Some(9),
            Some(1),
            None,
        ]);
        let arg = |class: ArgClass| {
            let array: ArrayRef = Arc::new(ints.clone());
            ArgColumn::read(array, class).unwrap()
        };
        for empty in empties() {
            let class = match &empty {
                Acc::Count(_) => ArgClass::Presence,
                Acc::SumFloat { .. } | Acc::Avg { .. } | Acc::ExtremeFloat { .. } => {
                    ArgClass::Float
                }
                Acc::Extreme { .. } => ArgClass::Other,
                _ => ArgClass::Int,
            };
            let arg = arg(class);
            let mut column = AccColumn::of(&empty);
            column.grow(3);
            column.add(&groups, &arg).unwrap();
            let mut one_by_one = vec![empty.clone(); 3];
            for (row, &g) in groups.iter().enumerate() {
                one_by_one[g as usize]
                    .update(arg.at(row).unwrap(), false)
                    .unwrap();
            }
            for (g, acc) in one_by_one.iter().enumerate() {
                assert_eq!(&column.get(g), acc, "{empty:?}, group {g}");
            }
            let expected =
                ScalarValue::iter_to_array([2, 0, 1].iter().map(|&g| one_by_one[g].value()))
                    .unwrap();
            let values = column.array(&[2, 0, 1], expected.data_type()).unwrap();
            assert_eq!(&values, &expected, "{empty:?}");
        }
    }

    #[test]
    fn an_overflowing_sum_is_an_error_and_slots_reset_and_round_trip() {
        let mut sum = AccColumn::of(&Acc::new(AggKind::Sum, false));
        sum.grow(2);
        let big: ArrayRef = Arc::new(Int64Array::from(vec![i64::MAX, 1]));
        let e = sum
            .add(&[1, 1], &ArgColumn::read(big, ArgClass::Int).unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("overflowed"), "{e}");
        sum.set(0, Acc::SumInt { sum: 4, n: 2 }).unwrap();
        assert_eq!(sum.get(0), Acc::SumInt { sum: 4, n: 2 });
        sum.reset(0);
        assert_eq!(sum.get(0), Acc::SumInt { sum: 0, n: 0 });
        assert!(
            sum.set(0, Acc::Count(1)).is_err(),
            "a mismatched shape is refused"
        );
    }
}
