//! Java `DateTimeFormatter` patterns (`yyyy-MM-dd HH:mm:ss.SSS`), as SeaTunnel takes them (its
//! SQL date functions, the file sinks' `filename_time_format`), for formatting and parsing
//! with chrono.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// One piece of a pattern: a field letter repeated `count` times, or literal text.
#[derive(Debug, PartialEq)]
enum Piece {
    Field(char, usize),
    Literal(String),
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // 'text' is literal; '' is a quote.
            let mut text = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        text.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                text.push(chars[i]);
                i += 1;
            }
            if text.is_empty() {
                text.push('\'');
            }
            out.push(Piece::Literal(text));
            i += 1;
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i] == c {
                i += 1;
            }
            out.push(Piece::Field(c, i - start));
        } else {
            out.push(Piece::Literal(c.to_string()));
            i += 1;
        }
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The English name of a month (1-12).
pub fn month_name(month: u32) -> &'static str {
    MONTHS[(month.clamp(1, 12) - 1) as usize]
}

/// The English name of a weekday (Monday = 0).
pub fn day_name(day_from_monday: u32) -> &'static str {
    DAYS[(day_from_monday % 7) as usize]
}

fn padded(n: i64, width: usize) -> String {
    format!("{n:0width$}")
}

/// Formats `t` with a Java pattern; letters weir does not know are an error.
pub fn format(t: &NaiveDateTime, pattern: &str) -> Result<String, String> {
    let mut out = String::new();
    for p in pieces(pattern) {
        match p {
            Piece::Literal(s) => out.push_str(&s),
            Piece::Field(c, n) => out.push_str(&match c {
                'y' | 'u' if n == 2 => padded(i64::from(t.year() % 100), 2),
                'y' | 'u' => padded(i64::from(t.year()), n),
                'M' | 'L' if n >= 4 => month_name(t.month()).to_string(),
                'M' | 'L' if n == 3 => month_name(t.month())[..3].to_string(),
                'M' | 'L' => padded(i64::from(t.month()), n),
                'd' => padded(i64::from(t.day()), n),
                'D' => padded(i64::from(t.ordinal()), n),
                'H' => padded(i64::from(t.hour()), n),
                'h' => padded(i64::from(t.hour12().1), n),
                'k' => padded(i64::from(if t.hour() == 0 { 24 } else { t.hour() }), n),
                'K' => padded(i64::from(t.hour() % 12), n),
                'm' => padded(i64::from(t.minute()), n),
                's' => padded(i64::from(t.second()), n),
                'S' => {
                    let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
                    let mut f = nanos[..n.min(9)].to_string();
                    f.extend(std::iter::repeat_n('0', n.saturating_sub(9)));
                    f
                }
                'a' => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
                'E' if n >= 4 => day_name(t.weekday().num_days_from_monday()).to_string(),
                'E' => day_name(t.weekday().num_days_from_monday())[..3].to_string(),
                'e' => padded(i64::from(t.weekday().number_from_monday()), n),
                other => return Err(format!("pattern letter '{other}' is not supported")),
            }),
        }
    }
    Ok(out)
}

/// The chrono format that parses what a Java pattern formats.
fn chrono_format(pattern: &str) -> Result<String, String> {
    let mut out = String::new();
    for p in pieces(pattern) {
        // A fraction after a '.' is parsed with the dot, so "5" means half a second.
        if let Piece::Field('S', _) = p {
            if out.ends_with('.') {
                out.pop();
                out.push_str("%.f");
                continue;
            }
        }
        match p {
            Piece::Literal(s) => out.push_str(&s.replace('%', "%%")),
            Piece::Field('S', n) => out.push_str(match n {
                1..=3 => "%3f",
                4..=6 => "%6f",
                _ => "%9f",
            }),
            Piece::Field(c, n) => out.push_str(match c {
                'y' | 'u' if n == 2 => "%y",
                'y' | 'u' => "%Y",
                'M' | 'L' if n >= 4 => "%B",
                'M' | 'L' if n == 3 => "%b",
                'M' | 'L' => "%m",
                'd' => "%d",
                'D' => "%j",
                'H' | 'k' => "%H",
                'h' | 'K' => "%I",
                'm' => "%M",
                's' => "%S",
                'a' => "%p",
                'E' if n >= 4 => "%A",
                'E' => "%a",
                other => return Err(format!("pattern letter '{other}' is not supported")),
            }),
        }
    }
    Ok(out)
}

/// Parses `text` with a Java pattern: a date-time, or a date at midnight when the pattern has
/// no time of day.
pub fn parse(text: &str, pattern: &str) -> Result<NaiveDateTime, String> {
    let format = chrono_format(pattern)?;
    if let Ok(t) = NaiveDateTime::parse_from_str(text, &format) {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, &format) {
        return Ok(d.and_time(NaiveTime::MIN));
    }
    if let Ok(t) = NaiveTime::parse_from_str(text, &format) {
        return Ok(NaiveDate::from_ymd_opt(1970, 1, 1)
            .unwrap_or(NaiveDate::MIN)
            .and_time(t));
    }
    Err(format!("'{text}' does not match the pattern '{pattern}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn formats_like_java() {
        let t = at("2023-06-05 07:08:09.123456");
        assert_eq!(
            format(&t, "yyyy-MM-dd HH:mm:ss.S").unwrap(),
            "2023-06-05 07:08:09.1"
        );
        assert_eq!(format(&t, "HH:mm:ss.SSS").unwrap(), "07:08:09.123");
        assert_eq!(format(&t, "yy/M/d h a").unwrap(), "23/6/5 7 AM");
        assert_eq!(format(&t, "EEEE, MMMM d").unwrap(), "Monday, June 5");
        assert_eq!(format(&t, "'at' HH'h'").unwrap(), "at 07h");
        assert!(format(&t, "yyyy-Q").is_err());
    }

    #[test]
    fn parses_like_java() {
        assert_eq!(
            parse("2023-06-05 07:08:09.123", "yyyy-MM-dd HH:mm:ss.SSS").unwrap(),
            at("2023-06-05 07:08:09.123")
        );
        assert_eq!(
            parse("2023-06-05", "yyyy-MM-dd").unwrap(),
            at("2023-06-05 00:00:00")
        );
        assert!(parse("2023/06/05", "yyyy-MM-dd").is_err());
    }
}
