//! SeaTunnel's string functions that DataFusion lacks or answers differently
//! (`StringFunction.java`).

use super::value::{float, int, is_integer, text, timestamp};
use super::{call_error, Returns, RowFunction};
use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use weir_runtime::java_time;

pub(super) fn functions() -> Vec<RowFunction> {
    vec![
        RowFunction::new("char", &[1], UTF8, char_of).aliases(&["chr"]),
        RowFunction::new("hextoraw", &[1], UTF8, hextoraw),
        RowFunction::new("rawtohex", &[1], UTF8, rawtohex),
        RowFunction::new("insert", &[4], UTF8, insert),
        RowFunction::new("lcase", &[1], UTF8, |a, _| {
            Ok(string(a.first().and_then(text).map(|s| s.to_lowercase())))
        }),
        RowFunction::new("ucase", &[1], UTF8, |a, _| {
            Ok(string(a.first().and_then(text).map(|s| s.to_uppercase())))
        }),
        RowFunction::new("locate", &[2, 3], Returns::Type(DataType::Int32), locate),
        RowFunction::new("space", &[1], UTF8, |a, _| {
            Ok(string(
                a.first()
                    .and_then(int)
                    .map(|n| " ".repeat(n.clamp(0, 1 << 20) as usize)),
            ))
        }),
        RowFunction::new("soundex", &[1], UTF8, |a, _| {
            Ok(string(a.first().and_then(text).map(|s| soundex(&s))))
        }),
        RowFunction::new("regexp_substr", &[2, 3, 4, 5, 6], UTF8, regexp_substr),
        RowFunction::new("regexp_replace", &[3, 4], UTF8, regexp_replace),
        RowFunction::new("replace", &[2, 3], UTF8, replace),
        RowFunction::new("substring", &[2, 3], UTF8, substring).aliases(&["substr"]),
        RowFunction::new("to_char", &[1, 2], UTF8, to_char),
        // SeaTunnel's lengths are BIGINT (Java longs); characters count as Java's UTF-16 units.
        RowFunction::new("char_length", &[1], BIGINT, |a, _| {
            Ok(ScalarValue::Int64(
                a.first()
                    .and_then(text)
                    .map(|s| s.encode_utf16().count() as i64),
            ))
        })
        .aliases(&["length", "character_length"]),
        RowFunction::new("octet_length", &[1], BIGINT, |a, _| {
            Ok(ScalarValue::Int64(a.first().and_then(byte_length)))
        }),
        RowFunction::new("bit_length", &[1], BIGINT, |a, _| {
            Ok(ScalarValue::Int64(
                a.first().and_then(byte_length).map(|n| n * 8),
            ))
        }),
    ]
}

const UTF8: Returns = Returns::Type(DataType::Utf8);
const BIGINT: Returns = Returns::Type(DataType::Int64);

/// Bytes of a binary value, or of a value's UTF-8 text.
fn byte_length(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => Some(b.len() as i64),
        other => text(other).map(|s| s.len() as i64),
    }
}

fn string(s: Option<String>) -> ScalarValue {
    ScalarValue::Utf8(s)
}

fn char_of(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    Ok(string(
        a.first()
            .and_then(int)
            .and_then(|n| char::from_u32(n as u32))
            .map(String::from),
    ))
}

/// Four hex digits per character.
fn hextoraw(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let Some(s) = a.first().and_then(text) else {
        return Ok(string(None));
    };
    if s.len() % 4 != 0 || !s.is_ascii() {
        return Err(call_error(
            "hextoraw",
            format!("'{s}' is not 4 hex digits per character"),
        ));
    }
    let mut out = String::new();
    for i in (0..s.len()).step_by(4) {
        let code = u32::from_str_radix(&s[i..i + 4], 16)
            .map_err(|_| call_error("hextoraw", format!("'{}' is not hex", &s[i..i + 4])))?;
        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    Ok(string(Some(out)))
}

/// Bytes as two hex digits each; text as four per (UTF-16) character.
fn rawtohex(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let Some(v) = a.first().filter(|v| !v.is_null()) else {
        return Ok(string(None));
    };
    Ok(string(Some(match v {
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => b.iter().map(|b| format!("{b:02x}")).collect(),
        other => text(other)
            .unwrap_or_default()
            .encode_utf16()
            .map(|u| format!("{u:04x}"))
            .collect(),
    })))
}

fn insert(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let (original, add) = (a[0..].first().and_then(text), a.get(3).and_then(text));
    let (Some(s1), Some(s2)) = (original.clone(), add.clone()) else {
        return Ok(string(original.or(add)));
    };
    let chars: Vec<char> = s1.chars().collect();
    let start = a.get(1).and_then(int).unwrap_or(0) - 1;
    let mut length = a.get(2).and_then(int).unwrap_or(0);
    let len1 = chars.len() as i64;
    if start < 0 || length <= 0 || s2.is_empty() || start > len1 {
        return Ok(string(Some(s1)));
    }
    if start + length > len1 {
        length = len1 - start;
    }
    let head: String = chars[..start as usize].iter().collect();
    let tail: String = chars[(start + length) as usize..].iter().collect();
    Ok(string(Some(format!("{head}{s2}{tail}"))))
}

/// `LOCATE(search, string[, start])`: 1-based, 0 when absent; a negative start searches
/// backwards from that far from the end.
fn locate(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let (Some(search), Some(s)) = (a.first().and_then(text), a.get(1).and_then(text)) else {
        return Ok(ScalarValue::Int32(None));
    };
    let start = a.get(2).and_then(int).unwrap_or(1);
    let hay: Vec<char> = s.chars().collect();
    let needle: Vec<char> = search.chars().collect();
    let matches_at =
        |i: usize| i + needle.len() <= hay.len() && hay[i..i + needle.len()] == needle[..];
    let found = if start >= 0 {
        let from = (start.max(1) - 1) as usize;
        (from..=hay.len()).find(|&i| matches_at(i))
    } else {
        let from = hay.len() as i64 + start;
        (0..=from.max(-1))
            .rev()
            .map(|i| i as usize)
            .find(|&i| matches_at(i))
    };
    Ok(ScalarValue::Int32(Some(found.map_or(0, |i| i as i32 + 1))))
}

/// Soundex's digit for each letter A-Z, as SeaTunnel's table has them: 1-6 are the sound
/// groups, vowels and Y are 7 (they separate two equal digits), H and W are 8 (they do not).
const SOUNDEX_DIGITS: &[u8; 26] = b"71237128722455712623718272";

fn soundex_digit(c: char) -> Option<u8> {
    c.is_ascii_alphabetic()
        .then(|| SOUNDEX_DIGITS[(c.to_ascii_uppercase() as u8 - b'A') as usize])
}

fn soundex(s: &str) -> String {
    let mut chars = [b'0'; 4];
    let mut last = b'0';
    let mut j = 0;
    for c in s.chars() {
        if j >= 4 {
            break;
        }
        let Some(digit) = soundex_digit(c) else {
            continue;
        };
        if j == 0 {
            chars[0] = (c as u8) & 0xdf;
            j = 1;
            last = digit;
        } else if digit <= b'6' {
            if digit != last {
                chars[j] = digit;
                last = digit;
                j += 1;
            }
        } else if digit == b'7' {
            last = digit;
        }
    }
    String::from_utf8_lossy(&chars).into_owned()
}

/// Java's regex flags as SeaTunnel takes them: i, c, n, m (later ones win).
fn regex(pattern: &str, flags: Option<&str>, function: &str) -> Result<regex::Regex> {
    let mut b = regex::RegexBuilder::new(pattern);
    for f in flags.unwrap_or("").chars() {
        match f {
            'i' => b.case_insensitive(true),
            'c' => b.case_insensitive(false),
            'n' => b.dot_matches_new_line(true),
            'm' => b.multi_line(true),
            other => {
                return Err(call_error(
                    function,
                    format!("flag '{other}' is not one of i, c, n, m"),
                ))
            }
        };
    }
    b.build()
        .map_err(|e| call_error(function, format!("bad regular expression: {e}")))
}

/// `REGEXP_SUBSTR(input, regex[, position, occurrence, flags, group])`.
fn regexp_substr(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let (Some(input), Some(pattern)) = (a.first().and_then(text), a.get(1).and_then(text)) else {
        return Ok(string(None));
    };
    let position = a
        .get(2)
        .and_then(int)
        .map_or(0, |p| (p - 1).max(0) as usize);
    let occurrence = a.get(3).and_then(int).unwrap_or(1).max(1) as usize;
    let flags = a.get(4).and_then(text);
    let group = a.get(5).and_then(int).unwrap_or(0).max(0) as usize;
    let re = regex(&pattern, flags.as_deref(), "regexp_substr")?;
    let start = input
        .char_indices()
        .nth(position)
        .map_or(input.len(), |(i, _)| i);
    let found = re.captures_iter(&input[start..]).nth(occurrence - 1);
    Ok(string(found.and_then(|c| {
        c.get(group).map(|m| m.as_str().to_string())
    })))
}

/// `REGEXP_REPLACE(input, regex, replacement[, flags])`: every match, as Java's `replaceAll`
/// (`$1` refers to a group).
fn regexp_replace(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let (Some(input), Some(pattern), Some(replacement)) = (
        a.first().and_then(text),
        a.get(1).and_then(text),
        a.get(2).and_then(text),
    ) else {
        return Ok(string(None));
    };
    let re = regex(
        &pattern,
        a.get(3).and_then(text).as_deref(),
        "regexp_replace",
    )?;
    Ok(string(Some(
        re.replace_all(&input, replacement.as_str()).into_owned(),
    )))
}

/// `REPLACE(string, search[, replacement])`: without a replacement the search text is removed.
fn replace(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let Some(s) = a.first().and_then(text) else {
        return Ok(string(None));
    };
    let search = a.get(1).and_then(text).unwrap_or_default();
    let after = a.get(2).and_then(text).unwrap_or_default();
    if search.is_empty() {
        return Ok(string(Some(s)));
    }
    Ok(string(Some(s.replace(&search, &after))))
}

/// `SUBSTRING(string, start[, length])`: 1-based; 0 is 1, a negative start counts from the end.
fn substring(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let Some(s) = a.first().and_then(text) else {
        return Ok(string(None));
    };
    let chars: Vec<char> = s.chars().collect();
    let sl = chars.len() as i64;
    let mut start = a.get(1).and_then(int).unwrap_or(1);
    if start == 0 {
        start = 1;
    } else if start < 0 {
        start = sl + start + 1;
    }
    let end = match a.get(2).and_then(int) {
        Some(len) => start + len,
        None => (sl + 1).max(start),
    };
    let start = start.max(1);
    let end = end.min(sl + 1);
    if start > sl || end <= start {
        return Ok(string(None));
    }
    Ok(string(Some(
        chars[(start - 1) as usize..(end - 1) as usize]
            .iter()
            .collect(),
    )))
}

/// `TO_CHAR(value[, format])`: numbers and booleans as text, dates and times by the pattern.
fn to_char(a: &[ScalarValue], _: &DataType) -> Result<ScalarValue> {
    let Some(v) = a.first().filter(|v| !v.is_null()) else {
        return Ok(string(None));
    };
    let pattern = a.get(1).and_then(text);
    if let (Some(t), Some(p)) = (timestamp(v), pattern.as_deref()) {
        return java_time::format(&t, p)
            .map(|s| string(Some(s)))
            .map_err(|e| call_error("to_char", e));
    }
    if v.data_type().is_floating() {
        return Ok(string(float(v).map(java_double)));
    }
    if is_integer(v) {
        return Ok(string(int(v).map(|n| n.to_string())));
    }
    Ok(string(text(v)))
}

/// Java's `Double.toString` for ordinary magnitudes: always a decimal point.
pub(super) fn java_double(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e7 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(v.into()))
    }
    fn i(v: i64) -> ScalarValue {
        ScalarValue::Int64(Some(v))
    }
    fn call(f: super::super::Eval, args: &[ScalarValue]) -> ScalarValue {
        f(args, &DataType::Utf8).unwrap()
    }

    #[test]
    fn string_functions_answer_as_seatunnel_documents() {
        assert_eq!(call(char_of, &[i(65)]), s("A"));
        assert_eq!(call(rawtohex, &[s("A")]), s("0041"));
        assert_eq!(call(hextoraw, &[s("0041")]), s("A"));
        assert_eq!(
            call(insert, &[s("Joy Ding"), i(2), i(2), s("**")]),
            s("J** Ding")
        );
        assert_eq!(
            call(locate, &[s("."), s("a.b.c")]),
            ScalarValue::Int32(Some(2))
        );
        assert_eq!(
            call(locate, &[s("."), s("a.b.c"), i(3)]),
            ScalarValue::Int32(Some(4))
        );
        assert_eq!(
            call(locate, &[s("x"), s("a.b.c")]),
            ScalarValue::Int32(Some(0))
        );
        assert_eq!(soundex("Robert"), "R163");
        assert_eq!(soundex("Tymczak"), "T522");
        assert_eq!(
            call(regexp_substr, &[s("2020-10-01"), s(r"\d{4}")]),
            s("2020")
        );
        let group = [
            s("2020-10-01"),
            s(r"(\d{4})-(\d{2})-(\d{2})"),
            i(1),
            i(1),
            ScalarValue::Utf8(None),
            i(2),
        ];
        assert_eq!(call(regexp_substr, &group), s("10"));
        assert_eq!(
            call(
                regexp_replace,
                &[s("Hello WWWWorld"), s("w+"), s("W"), s("i")]
            ),
            s("Hello World")
        );
        assert_eq!(call(replace, &[s("a b c"), s(" ")]), s("abc"));
        assert_eq!(call(substring, &[s("[Hello]"), i(2)]), s("Hello]"));
        assert_eq!(call(substring, &[s("hour"), i(3), i(2)]), s("ur"));
        assert_eq!(call(substring, &[s("hour"), i(-2)]), s("ur"));
        assert_eq!(call(to_char, &[i(1)]), s("1"));
        assert_eq!(
            call(to_char, &[ScalarValue::Boolean(Some(true))]),
            s("true")
        );
        assert_eq!(call(to_char, &[ScalarValue::Float64(Some(2.0))]), s("2.0"));
    }
}
