//! Rows as delimited text lines, the way SeaTunnel's `text` format writes them: nulls empty,
//! lists, maps and rows in SeaTunnel's nested separators (so its text readers read them back),
//! bytes as text. The LocalFile sink writes these lines to files, the Kafka sink one per message.

use arrow::array::Array;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use std::fmt::Write as _;

/// Each row of `batch` as one line (without a line end), fields split by `delimiter`.
pub fn lines(batch: &RecordBatch, delimiter: &str) -> Result<Vec<String>, ArrowError> {
    let opts = FormatOptions::default().with_null("");
    let fmts = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()?;
    let nested: Vec<bool> = batch
        .columns()
        .iter()
        .map(|c| {
            super::text_nested::is_nested(c.data_type())
                || matches!(c.data_type(), DataType::Binary | DataType::LargeBinary)
        })
        .collect();
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let mut line = String::new();
        for (i, f) in fmts.iter().enumerate() {
            if i > 0 {
                line.push_str(delimiter);
            }
            if nested[i] {
                line.push_str(&super::text_nested::render(batch.column(i), row, 0));
                continue;
            }
            if !batch.column(i).is_null(row) {
                let _ = write!(line, "{}", f.value(row));
            }
        }
        out.push(line);
    }
    Ok(out)
}
