//! Wall-clock time as every role reports it (Flink's timestamps are epoch milliseconds), and
//! Flink's duration syntax for options.

use std::time::Duration;

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Flink's duration syntax: a number with an optional unit (`ms`, `s`, `min`, `h`, `d`, and their
/// long forms); a bare number is milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (e.g. 3000 ms, 30 s, 5 min)"))?;
    let ms = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => n,
        "s" | "sec" | "secs" | "second" | "seconds" => n * 1000,
        "m" | "min" | "minute" | "minutes" => n * 60_000,
        "h" | "hour" | "hours" => n * 3_600_000,
        "d" | "day" | "days" => n * 86_400_000,
        other => return Err(format!("unknown time unit '{other}' in '{s}'")),
    };
    Ok(Duration::from_millis(ms))
}
