//! SeaTunnel's `excel` file format (xlsx): the file source reads one sheet (`sheet_name`, else
//! the first) row by row into the schema's columns, converting each cell as SeaTunnel's
//! `ExcelReadStrategy` does (numbers truncated into integer columns, dates from date cells or
//! text); the file sink writes one sheet with a cell per value, numbers as numbers.
//!
//! A workbook is read and written whole (the xlsx format is a zip of XML, not a stream): fine
//! for spreadsheets, not meant for files of millions of rows.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use calamine::{Data, Reader};
use serde_json::Value;
use std::path::Path;
use weir_core::{WeirError, WeirResult};

/// Reads a sheet of `path` into batches of `schema` (`rows_per_batch` rows each).
pub fn read_sheet(
    path: &Path,
    sheet: Option<&str>,
    skip_rows: usize,
    schema: &SchemaRef,
    rows_per_batch: usize,
) -> WeirResult<Vec<RecordBatch>> {
    let shown = path.display();
    let mut book = calamine::open_workbook_auto(path)
        .map_err(|e| WeirError::new(format!("{shown} is not a readable workbook: {e}")))?;
    let range = match sheet {
        Some(name) => book.worksheet_range(name).map_err(|e| {
            WeirError::new(format!("{shown} has no readable sheet '{name}': {e}"))
                .with_hint(format!("its sheets: {}", book.sheet_names().join(", ")))
        })?,
        None => book
            .worksheet_range_at(0)
            .ok_or_else(|| WeirError::new(format!("{shown} has no sheet")))?
            .map_err(|e| WeirError::new(format!("reading the first sheet of {shown}: {e}")))?,
    };
    let rows: Vec<&[Data]> = range.rows().skip(skip_rows).collect();
    let mut batches = Vec::new();
    for chunk in rows.chunks(rows_per_batch.max(1)) {
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(c, f)| {
                let values: Vec<Value> = chunk
                    .iter()
                    .map(|row| cell_value(row.get(c).unwrap_or(&Data::Empty), f.data_type()))
                    .collect();
                crate::values::values_to_array(f.data_type(), &values)
                    .map_err(|e| WeirError::new(format!("{shown}: column '{}': {e}", f.name())))
            })
            .collect::<WeirResult<Vec<ArrayRef>>>()?;
        batches.push(
            RecordBatch::try_new(schema.clone(), columns)
                .map_err(|e| WeirError::new(format!("{shown}: {e}")))?,
        );
    }
    Ok(batches)
}

/// One cell as the JSON value the column's type takes.
fn cell_value(cell: &Data, dt: &DataType) -> Value {
    let number = |f: f64| -> Value {
        if dt.is_integer() {
            // SeaTunnel: (int) Double.parseDouble(text), a truncation.
            Value::from(f.trunc() as i64)
        } else {
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
    };
    match cell {
        Data::Empty | Data::Error(_) => Value::Null,
        Data::Int(i) => number(*i as f64),
        Data::Float(f) => match dt {
            // Java's String.valueOf(double).
            DataType::Utf8 => Value::String(java_double(*f)),
            _ => number(*f),
        },
        Data::Bool(b) => Value::Bool(*b),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            if dt.is_numeric() {
                s.trim()
                    .parse::<f64>()
                    .map_or(Value::String(s.clone()), number)
            } else {
                Value::String(s.clone())
            }
        }
        Data::DateTime(d) => match d.as_datetime() {
            Some(t) => Value::String(match dt {
                DataType::Date32 | DataType::Date64 => t.date().to_string(),
                DataType::Time32(_) | DataType::Time64(_) => t.time().to_string(),
                _ => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            }),
            None => Value::Null,
        },
    }
}

/// Java's `String.valueOf(double)` for ordinary magnitudes: always a decimal point.
fn java_double(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e7 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Writes rows into one sheet, saved whole when the file closes.
pub struct ExcelWriter {
    book: rust_xlsxwriter::Workbook,
    row: u32,
}

impl ExcelWriter {
    /// A workbook whose first row names the columns when `header` is set.
    pub fn new(schema: &SchemaRef, header: bool) -> WeirResult<ExcelWriter> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let mut row = 0;
        if header {
            for (c, f) in schema.fields().iter().enumerate() {
                sheet
                    .write_string(0, c as u16, f.name())
                    .map_err(|e| WeirError::new(format!("writing the header: {e}")))?;
            }
            row = 1;
        }
        Ok(ExcelWriter { book, row })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> WeirResult<()> {
        let err = |e: rust_xlsxwriter::XlsxError| WeirError::new(format!("writing a cell: {e}"));
        let sheet = self
            .book
            .worksheet_from_index(0)
            .map_err(|e| WeirError::new(format!("the sheet is gone: {e}")))?;
        let opts = FormatOptions::default();
        for (c, col) in batch.columns().iter().enumerate() {
            let numbers = col.data_type().is_numeric()
                && !matches!(col.data_type(), DataType::Decimal128(..));
            let as_f64 = numbers
                .then(|| arrow::compute::cast(col.as_ref(), &DataType::Float64).ok())
                .flatten();
            let shown = ArrayFormatter::try_new(col.as_ref(), &opts)
                .map_err(|e| WeirError::new(e.to_string()))?;
            for r in 0..batch.num_rows() {
                let (row, column) = (self.row + r as u32, c as u16);
                if col.is_null(r) {
                    continue;
                }
                match (&as_f64, col.data_type()) {
                    (Some(f), _) => {
                        let v = f.as_primitive::<arrow::datatypes::Float64Type>().value(r);
                        sheet.write_number(row, column, v).map_err(err)?;
                    }
                    (None, DataType::Boolean) => {
                        sheet
                            .write_boolean(row, column, col.as_boolean().value(r))
                            .map_err(err)?;
                    }
                    _ => {
                        sheet
                            .write_string(row, column, shown.value(r).to_string())
                            .map_err(err)?;
                    }
                }
            }
        }
        self.row += batch.num_rows() as u32;
        Ok(())
    }

    pub fn save(mut self, path: &Path) -> WeirResult<()> {
        self.book
            .save(path)
            .map_err(|e| WeirError::new(format!("saving {}: {e}", path.display())))
    }
}
