//! SeaTunnel's date and time functions (`DateTimeFunction.java`): the clock read when a batch
//! is evaluated (not when the query was planned, which would freeze `CURRENT_TIMESTAMP` for
//! a streaming job's whole life), Java date patterns, SeaTunnel's argument orders.

use super::value::{
    date, from_date, from_time, from_timestamp, int, is_date, is_time, text, time, timestamp,
};
use super::{call_error, Returns, RowFunction};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::common::{Result, ScalarValue};
use weir_runtime::java_time::{self, day_name, month_name};

const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);
const INT: Returns = Returns::Type(DataType::Int32);

pub(super) fn functions() -> Vec<RowFunction> {
    vec![
        RowFunction::new(
            "current_date",
            &[0],
            Returns::Type(DataType::Date32),
            |_, _| Ok(from_date(now().date())),
        )
        .aliases(&["curdate"])
        .volatile(),
        RowFunction::new(
            "current_time",
            &[0],
            Returns::Type(DataType::Time64(TimeUnit::Microsecond)),
            |_, _| Ok(from_time(now().time())),
        )
        .aliases(&["curtime"])
        .volatile(),
        RowFunction::new(
            "current_timestamp",
            &[0],
            Returns::Type(TIMESTAMP),
            |_, _| Ok(from_timestamp(now())),
        )
        .aliases(&["now", "localtimestamp"])
        .volatile(),
        RowFunction::new("dateadd", &[2, 3], Returns::Computed(same_kind), dateadd)
            .aliases(&["timestampadd", "date_add"]),
        RowFunction::new(
            "datediff",
            &[2, 3],
            Returns::Type(DataType::Int64),
            datediff,
        )
        .aliases(&["timestampdiff"]),
        RowFunction::new("date_trunc", &[1, 2], Returns::Type(TIMESTAMP), date_trunc),
        RowFunction::new("dayname", &[1], Returns::Type(DataType::Utf8), |a, _| {
            Ok(ScalarValue::Utf8(date(&a[0]).map(|d| {
                day_name(d.weekday().num_days_from_monday()).to_string()
            })))
        }),
        RowFunction::new("monthname", &[1], Returns::Type(DataType::Utf8), |a, _| {
            Ok(ScalarValue::Utf8(
                date(&a[0]).map(|d| month_name(d.month()).to_string()),
            ))
        }),
        RowFunction::new("day_of_month", &[1], INT, |a, _| {
            Ok(on_date(a, |d| d.day() as i32))
        })
        .aliases(&["dayofmonth"]),
        RowFunction::new("day_of_week", &[1], INT, |a, _| {
            Ok(on_date(a, |d| d.weekday().number_from_monday() as i32))
        })
        .aliases(&["dayofweek"]),
        RowFunction::new("day_of_year", &[1], INT, |a, _| {
            Ok(on_date(a, |d| d.ordinal() as i32))
        })
        .aliases(&["dayofyear"]),
        RowFunction::new("year", &[1], INT, |a, _| Ok(on_date(a, |d| d.year()))),
        RowFunction::new("month", &[1], INT, |a, _| {
            Ok(on_date(a, |d| d.month() as i32))
        }),
        RowFunction::new("quarter", &[1], INT, |a, _| {
            Ok(on_date(a, |d| d.month().div_ceil(3) as i32))
        }),
        RowFunction::new("week", &[1], INT, |a, _| {
            Ok(on_date(a, |d| week_of_year(d) + 1))
        }),
        RowFunction::new("hour", &[1], INT, |a, _| {
            Ok(on_time(a, |t| t.hour() as i32))
        }),
        RowFunction::new("minute", &[1], INT, |a, _| {
            Ok(on_time(a, |t| t.minute() as i32))
        }),
        RowFunction::new("second", &[1], INT, |a, _| {
            Ok(on_time(a, |t| t.second() as i32))
        }),
        RowFunction::new("st_extract", &[2], INT, extract),
        RowFunction::new(
            "formatdatetime",
            &[2],
            Returns::Type(DataType::Utf8),
            |a, _| {
                let (Some(t), Some(p)) = (timestamp(&a[0]), a.get(1).and_then(text)) else {
                    return Ok(ScalarValue::Utf8(None));
                };
                let t = if is_time(&a[0]) {
                    // A time has no date; patterns may only ask for the time of day.
                    NaiveDate::from_ymd_opt(1970, 1, 1)
                        .unwrap_or(NaiveDate::MIN)
                        .and_time(t.time())
                } else {
                    t
                };
                java_time::format(&t, &p)
                    .map(|s| ScalarValue::Utf8(Some(s)))
                    .map_err(|e| call_error("formatdatetime", e))
            },
        ),
        RowFunction::new(
            "parsedatetime",
            &[2],
            Returns::FromLiterals(parsed_type),
            parsedatetime,
        )
        .aliases(&["to_date"]),
        RowFunction::new(
            "is_date",
            &[2],
            Returns::Type(DataType::Boolean),
            |a, out| {
                Ok(ScalarValue::Boolean(Some(
                    parsedatetime(a, out).is_ok_and(|v| !v.is_null()),
                )))
            },
        ),
        RowFunction::new(
            "from_unixtime",
            &[1, 2, 3],
            Returns::Type(DataType::Utf8),
            from_unixtime,
        ),
    ]
}

/// The local wall-clock time (SeaTunnel's `LocalDateTime.now()`).
fn now() -> NaiveDateTime {
    chrono::Local::now().naive_local()
}

fn same_kind(args: &[DataType]) -> Result<DataType> {
    Ok(match &args[0] {
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        t @ DataType::Time64(_) => t.clone(),
        _ => TIMESTAMP,
    })
}

/// The unit argument, upper-cased (`DAY` when absent or null).
fn unit(a: &[ScalarValue], at: usize) -> String {
    a.get(at)
        .and_then(text)
        .map_or_else(|| "DAY".to_string(), |s| s.to_ascii_uppercase())
}

/// `DATEADD(value, count[, unit])`.
fn dateadd(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let Some(count) = a.get(1).and_then(int) else {
        return Ok(ScalarValue::Null);
    };
    let unit = unit(a, 2);
    if is_time(&a[0]) {
        let Some(t) = time(&a[0]) else {
            return Ok(ScalarValue::Null);
        };
        let by = match unit.as_str() {
            "HOUR" => Duration::hours(count),
            "MINUTE" => Duration::minutes(count),
            "SECOND" => Duration::seconds(count),
            "MILLISECOND" => Duration::milliseconds(count),
            other => {
                return Err(call_error(
                    "dateadd",
                    format!("cannot add {other} to a time"),
                ))
            }
        };
        return Ok(from_time(t.overflowing_add_signed(by).0));
    }
    let Some(t) = timestamp(&a[0]) else {
        return Ok(ScalarValue::Null);
    };
    let months = |n: i64| {
        if n >= 0 {
            t.checked_add_months(Months::new(n as u32))
        } else {
            t.checked_sub_months(Months::new((-n) as u32))
        }
    };
    let added = match unit.as_str() {
        "YEAR" => months(count * 12),
        "MONTH" => months(count),
        "WEEK" => t.checked_add_signed(Duration::weeks(count)),
        "DAY" => t.checked_add_signed(Duration::days(count)),
        "HOUR" if !is_date(&a[0]) => t.checked_add_signed(Duration::hours(count)),
        "MINUTE" if !is_date(&a[0]) => t.checked_add_signed(Duration::minutes(count)),
        "SECOND" if !is_date(&a[0]) => t.checked_add_signed(Duration::seconds(count)),
        "MILLISECOND" if !is_date(&a[0]) => t.checked_add_signed(Duration::milliseconds(count)),
        other => {
            return Err(call_error(
                "dateadd",
                format!("unit '{other}' cannot be added to this value"),
            ))
        }
    }
    .ok_or_else(|| call_error("dateadd", "the result is out of range"))?;
    Ok(if is_date(&a[0]) {
        from_date(added.date())
    } else {
        from_timestamp(added)
    })
}

/// `DATEDIFF(a, b[, unit])`: unit boundaries crossed from `a` to `b`.
fn datediff(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let (Some(t1), Some(t2)) = (timestamp(&a[0]), a.get(1).and_then(timestamp)) else {
        return Ok(ScalarValue::Int64(None));
    };
    let (d1, d2) = (t1.date(), t2.date());
    let between = t2 - t1;
    let n = match unit(a, 2).as_str() {
        "YEAR" => i64::from(period(d1, d2).0),
        "MONTH" => i64::from(period(d1, d2).1),
        "WEEK" => between.num_days() / 7,
        "DAY" => (d2 - d1).num_days(),
        "DAYTIME" => between.num_days(),
        "HOUR" => between.num_hours(),
        "MINUTE" => between.num_minutes(),
        "SECOND" => between.num_milliseconds() / 1000,
        "MILLISECOND" => between.num_milliseconds(),
        other => return Err(call_error("datediff", format!("unknown unit '{other}'"))),
    };
    Ok(ScalarValue::Int64(Some(n)))
}

/// Java's `Period.between(a, b)` as (years, months) components.
fn period(a: NaiveDate, b: NaiveDate) -> (i32, i32) {
    let mut months = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    let days = b.day() as i32 - a.day() as i32;
    if months > 0 && days < 0 {
        months -= 1;
    } else if months < 0 && days > 0 {
        months += 1;
    }
    (months / 12, months % 12)
}

/// `DATE_TRUNC(value, unit)` as SeaTunnel writes it; DataFusion's `DATE_TRUNC(unit, value)`
/// order is taken too.
fn date_trunc(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let (value, unit) = match (a.first(), a.get(1)) {
        (Some(u @ ScalarValue::Utf8(_)), Some(v)) => (v, text(u)),
        (Some(v), u) => (v, u.and_then(text)),
        (None, _) => return Ok(ScalarValue::Null),
    };
    let Some(t) = timestamp(value) else {
        return Ok(ScalarValue::Null);
    };
    let unit = unit.map_or_else(|| "DAY".to_string(), |u| u.to_ascii_uppercase());
    let d = t.date();
    let at = |date: Option<NaiveDate>, h, m, s| {
        date.and_then(|d| d.and_hms_opt(h, m, s))
            .ok_or_else(|| call_error("date_trunc", "the result is out of range"))
    };
    let truncated = match unit.as_str() {
        "YEAR" => at(NaiveDate::from_ymd_opt(d.year(), 1, 1), 0, 0, 0)?,
        "MONTH" => at(NaiveDate::from_ymd_opt(d.year(), d.month(), 1), 0, 0, 0)?,
        "DAY" => at(Some(d), 0, 0, 0)?,
        "HOUR" => at(Some(d), t.hour(), 0, 0)?,
        "MINUTE" => at(Some(d), t.hour(), t.minute(), 0)?,
        "SECOND" => at(Some(d), t.hour(), t.minute(), t.second())?,
        other => return Err(call_error("date_trunc", format!("unknown unit '{other}'"))),
    };
    Ok(from_timestamp(truncated))
}

/// An INT from the first argument's date part.
fn on_date(a: &[ScalarValue], part: impl Fn(NaiveDate) -> i32) -> ScalarValue {
    ScalarValue::Int32(a.first().and_then(date).map(part))
}

/// An INT from the first argument's time of day.
fn on_time(a: &[ScalarValue], part: impl Fn(NaiveTime) -> i32) -> ScalarValue {
    ScalarValue::Int32(a.first().and_then(time).map(part))
}

/// Java's `WeekFields.ISO.weekOfYear()`: weeks start on Monday, week 1 is the first with at
/// least four days of the year, the days before it are week 0.
fn week_of_year(d: NaiveDate) -> i32 {
    let jan1 = NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d);
    let offset = jan1.weekday().num_days_from_monday() as i32;
    let first_is_week_one = 7 - offset >= 4;
    (d.ordinal0() as i32 + offset) / 7 + i32::from(first_is_week_one)
}

/// `EXTRACT(field FROM value)`, with SeaTunnel's fields (DAYOFWEEK is ISO, Monday = 1).
fn extract(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let field = a
        .first()
        .and_then(text)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let v = &a[1];
    if v.is_null() {
        return Ok(ScalarValue::Int32(None));
    }
    let (d, t) = (date(v), time(v));
    let n = match field.as_str() {
        "YEAR" => d.map(|d| d.year()),
        "MONTH" => d.map(|d| d.month() as i32),
        "DAY" => d.map(|d| d.day() as i32),
        "HOUR" => t.map(|t| t.hour() as i32),
        "MINUTE" => t.map(|t| t.minute() as i32),
        "SECOND" => t.map(|t| t.second() as i32),
        "MILLISECOND" => t.map(|t| (t.nanosecond() / 1_000_000) as i32),
        "DAYOFWEEK" | "DOW" => d.map(|d| d.weekday().number_from_monday() as i32),
        "DAYOFYEAR" | "DOY" => d.map(|d| d.ordinal() as i32),
        "QUARTER" => d.map(|d| d.month().div_ceil(3) as i32),
        "WEEK" => d.map(|d| week_of_year(d) + 1),
        other => return Err(call_error("extract", format!("unknown field '{other}'"))),
    };
    Ok(ScalarValue::Int32(n))
}

/// What `PARSEDATETIME(text, pattern)` answers: a timestamp when the pattern has a year and
/// minutes, a date with only a year, a time with only minutes (SeaTunnel's rule).
fn parsed_type(_: &[DataType], literals: &[Option<&ScalarValue>]) -> Result<DataType> {
    let pattern = literals.get(1).copied().flatten().and_then(text);
    Ok(match pattern {
        Some(p) if p.contains("yy") && !p.contains("mm") => DataType::Date32,
        Some(p) if !p.contains("yy") && p.contains("mm") => DataType::Time64(TimeUnit::Microsecond),
        _ => TIMESTAMP,
    })
}

fn parsedatetime(a: &[ScalarValue], out: &DataType) -> Result<ScalarValue> {
    let (Some(s), Some(p)) = (a.first().and_then(text), a.get(1).and_then(text)) else {
        return Ok(ScalarValue::Null);
    };
    let t = java_time::parse(&s, &p).map_err(|e| call_error("parsedatetime", e))?;
    Ok(match out {
        DataType::Date32 => from_date(t.date()),
        DataType::Time64(_) => from_time(t.time()),
        _ => from_timestamp(t),
    })
}

/// `FROM_UNIXTIME(seconds[, pattern[, zone]])` as text; the zone is an id (`Asia/Shanghai`)
/// or an offset (`UTC+8`, `+08:00`), the system's when absent.
fn from_unixtime(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let Some(secs) = a.first().and_then(int) else {
        return Ok(ScalarValue::Utf8(None));
    };
    let pattern = a
        .get(1)
        .and_then(text)
        .unwrap_or_else(|| "yyyy-MM-dd HH:mm:ss".into());
    let instant = chrono::DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| call_error("from_unixtime", format!("{secs} is out of range")))?;
    let local = match a.get(2).and_then(text) {
        None => instant.with_timezone(&chrono::Local).naive_local(),
        Some(zone) => match fixed_offset(&zone) {
            Some(offset) => instant.with_timezone(&offset).naive_local(),
            None => {
                let tz: chrono_tz::Tz = zone.parse().map_err(|_| {
                    call_error(
                        "from_unixtime",
                        format!("'{zone}' is not a time zone (use e.g. Asia/Shanghai or UTC+8)"),
                    )
                })?;
                instant.with_timezone(&tz).naive_local()
            }
        },
    };
    java_time::format(&local, &pattern)
        .map(|s| ScalarValue::Utf8(Some(s)))
        .map_err(|e| call_error("from_unixtime", e))
}

/// `UTC+8`, `GMT-05:30`, `+08:00`, `Z`, `UTC`: a fixed offset.
fn fixed_offset(zone: &str) -> Option<chrono::FixedOffset> {
    let z = zone.trim();
    let rest = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|p| z.strip_prefix(p))
        .unwrap_or(z);
    if rest.is_empty() || rest == "Z" {
        return chrono::FixedOffset::east_opt(0);
    }
    let (sign, digits) = match rest.chars().next()? {
        '+' => (1, &rest[1..]),
        '-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
        None if digits.len() == 4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        None => (digits.parse().ok()?, 0),
    };
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> ScalarValue {
        from_timestamp(NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap())
    }
    fn s(v: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(v.into()))
    }
    fn i(v: i64) -> ScalarValue {
        ScalarValue::Int64(Some(v))
    }

    #[test]
    fn date_functions_answer_as_seatunnels_e2e_expects() {
        let c1 = ts("2021-04-15T13:34:45");
        let c2 = ts("2022-01-23T12:34:56");
        let t = &TIMESTAMP;
        assert_eq!(
            dateadd(&[c1.clone(), i(1)], t).unwrap(),
            ts("2021-04-16T13:34:45")
        );
        assert_eq!(
            dateadd(&[c1.clone(), i(10), s("MONTH")], t).unwrap(),
            ts("2022-02-15T13:34:45")
        );
        assert_eq!(
            dateadd(&[c1.clone(), i(13), s("HOUR")], t).unwrap(),
            ts("2021-04-16T02:34:45")
        );
        let diff = |unit: &str| datediff(&[c1.clone(), c2.clone(), s(unit)], t).unwrap();
        assert_eq!(diff("DAY"), ScalarValue::Int64(Some(283)));
        assert_eq!(diff("YEAR"), ScalarValue::Int64(Some(0)));
        assert_eq!(diff("MONTH"), ScalarValue::Int64(Some(9)));
        assert_eq!(diff("HOUR"), ScalarValue::Int64(Some(6791)));
        assert_eq!(diff("SECOND"), ScalarValue::Int64(Some(24447611)));
        let c3 = ts("2021-04-15T13:34:45.235");
        assert_eq!(
            date_trunc(&[c3.clone(), s("MONTH")], t).unwrap(),
            ts("2021-04-01T00:00:00")
        );
        assert_eq!(
            date_trunc(&[s("hour"), c3.clone()], t).unwrap(),
            ts("2021-04-15T13:00:00")
        );
        let field = |f: &str| extract(&[s(f), c3.clone()], t).unwrap();
        assert_eq!(field("MILLISECOND"), ScalarValue::Int32(Some(235)));
        assert_eq!(field("DAYOFWEEK"), ScalarValue::Int32(Some(4)));
        assert_eq!(field("DAYOFYEAR"), ScalarValue::Int32(Some(105)));
        let d = NaiveDate::from_ymd_opt(2021, 4, 8).unwrap();
        assert_eq!(week_of_year(d) + 1, 15);
        assert_eq!(
            parsedatetime(&[s("2021-04-08"), s("yyyy-MM-dd")], &DataType::Date32).unwrap(),
            from_date(d)
        );
        assert_eq!(
            parsed_type(&[], &[None, Some(&s("yyyy-MM-dd"))]).unwrap(),
            DataType::Date32
        );
        assert_eq!(
            from_unixtime(&[i(1672502400), s("yyyy-MM-dd HH:mm:ss"), s("UTC+8")], t).unwrap(),
            s("2023-01-01 00:00:00")
        );
        assert_eq!(
            from_unixtime(&[i(1672502400), s("yyyy-MM-dd HH"), s("Asia/Shanghai")], t).unwrap(),
            s("2023-01-01 00")
        );
        assert!(from_unixtime(&[i(0), s("yyyy"), s("Mars/Olympus")], t).is_err());
    }
}
