//! The live progress line and the end-of-job summary of `weir run`.

use crate::embedded::{JobReport, VertexReport};
use std::time::Duration;

/// `1234567` → `1.23M`.
pub fn human(n: f64) -> String {
    match n {
        n if n >= 1e9 => format!("{:.2}G", n / 1e9),
        n if n >= 1e6 => format!("{:.2}M", n / 1e6),
        n if n >= 1e4 => format!("{:.1}k", n / 1e3),
        n => format!("{n:.0}"),
    }
}

/// One line: elapsed time and rows in/out with rate per vertex.
pub fn format_progress(vertices: &[VertexReport], elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let parts: Vec<String> = vertices
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let rows = v.rows_out().max(v.io.records_in);
            format!(
                "v{}: in {} out {} ({}/s)",
                i + 1,
                human(v.io.records_in as f64),
                human(v.rows_out() as f64),
                human(rows as f64 / secs)
            )
        })
        .collect();
    format!("[{:>6.1}s] {}", elapsed.as_secs_f64(), parts.join(" | "))
}

/// The multi-line summary printed when a job ends.
pub fn format_summary(report: &JobReport) -> String {
    let secs = report.elapsed.as_secs_f64().max(1e-3);
    let mut out = format!(
        "Job {} {} in {:.3}s\n",
        report.job_id,
        report.status,
        report.elapsed.as_secs_f64()
    );
    for (i, v) in report.vertices.iter().enumerate() {
        let rows = v.rows_out().max(v.io.records_in);
        out.push_str(&format!(
            "  v{} {} (parallelism {}): rows in {}, rows out {}, {} rows/s\n",
            i + 1,
            v.name,
            v.parallelism,
            v.io.records_in,
            v.rows_out(),
            human(rows as f64 / secs)
        ));
        if v.operators.len() > 1 {
            for (name, io) in &v.operators {
                out.push_str(&format!(
                    "      {name}: rows in {}, rows out {}, bytes in {}, bytes out {}\n",
                    io.records_in, io.records_out, io.bytes_in, io.bytes_out
                ));
            }
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(human(999.0), "999");
        assert_eq!(human(12_345.0), "12.3k");
        assert_eq!(human(2_500_000.0), "2.50M");
    }
}
