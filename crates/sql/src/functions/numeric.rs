//! SeaTunnel's numeric functions that DataFusion lacks or types differently
//! (`NumericFunction.java`).

use super::value::{float, is_integer};
use super::{call_error, Returns, RowFunction};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};

pub(super) fn functions() -> Vec<RowFunction> {
    vec![
        // The remainder has the divisor's type.
        RowFunction::new("mod", &[2], Returns::Computed(divisor_type), modulo),
        // SeaTunnel's CEIL and FLOOR answer an INT.
        RowFunction::new("ceil", &[1], Returns::Type(DataType::Int32), |a, _| {
            Ok(ScalarValue::Int32(float(&a[0]).map(|f| f.ceil() as i32)))
        })
        .aliases(&["ceiling"]),
        RowFunction::new("floor", &[1], Returns::Type(DataType::Int32), |a, _| {
            Ok(ScalarValue::Int32(float(&a[0]).map(|f| f.floor() as i32)))
        }),
        // -1, 0 or 1; 0 for null and NaN.
        RowFunction::new("sign", &[1], Returns::Type(DataType::Int32), |a, _| {
            let v = float(&a[0]).unwrap_or(0.0);
            Ok(ScalarValue::Int32(Some(if v == 0.0 || v.is_nan() {
                0
            } else if v < 0.0 {
                -1
            } else {
                1
            })))
        }),
        RowFunction::new("rand", &[0, 1], Returns::Type(DataType::Float64), |_, _| {
            Ok(ScalarValue::Float64(Some(rand::random::<f64>())))
        })
        .volatile(),
    ]
}

fn divisor_type(args: &[DataType]) -> Result<DataType> {
    Ok(match &args[1] {
        DataType::Int8 | DataType::Int16 | DataType::Int32 => DataType::Int32,
        t if t.is_integer() => DataType::Int64,
        DataType::Float32 => DataType::Float32,
        _ => DataType::Float64,
    })
}

/// `MOD(dividend, divisor)`: the sign of the dividend; a zero divisor is an error.
fn modulo(a: &[ScalarValue], out: &DataType) -> Result<ScalarValue> {
    let (Some(l), Some(r)) = (float(&a[0]), float(&a[1])) else {
        return ScalarValue::try_from(out);
    };
    if r == 0.0 {
        return Err(call_error("mod", "division by zero"));
    }
    if is_integer(&a[0]) && is_integer(&a[1]) {
        let (l, r) = (l as i64, r as i64);
        return Ok(ScalarValue::Int64(Some(l % r)));
    }
    // Decimal arithmetic on the values as written, as SeaTunnel's BigDecimal does: 13 mod 5.4
    // is 2.2, not 2.1999999999999993.
    let scale = [l, r]
        .iter()
        .map(|v| decimals(*v))
        .max()
        .unwrap_or(0)
        .min(15);
    let factor = 10f64.powi(scale as i32);
    let (li, ri) = ((l * factor).round() as i128, (r * factor).round() as i128);
    Ok(ScalarValue::Float64(Some((li % ri) as f64 / factor)))
}

/// How many decimal places a double shows (Java's shortest representation).
fn decimals(v: f64) -> usize {
    let s = format!("{v}");
    s.split_once('.').map_or(0, |(_, f)| f.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_and_sign_answer_as_seatunnel_documents() {
        let int = |v| ScalarValue::Int32(Some(v));
        let dbl = |v| ScalarValue::Float64(Some(v));
        assert_eq!(
            modulo(&[int(13), int(5)], &DataType::Int32).unwrap(),
            ScalarValue::Int64(Some(3))
        );
        assert_eq!(
            modulo(&[int(-13), int(5)], &DataType::Int32).unwrap(),
            ScalarValue::Int64(Some(-3))
        );
        assert_eq!(
            modulo(&[int(13), dbl(5.4)], &DataType::Float64).unwrap(),
            dbl(2.2)
        );
        assert!(modulo(&[int(1), int(0)], &DataType::Int32).is_err());
        let f = functions();
        let sign = f.iter().find(|f| f.name == "sign").unwrap();
        assert_eq!(
            (sign.eval)(&[dbl(-120.72)], &DataType::Int32).unwrap(),
            int(-1)
        );
        assert_eq!(
            (sign.eval)(&[dbl(f64::NAN)], &DataType::Int32).unwrap(),
            int(0)
        );
    }
}
