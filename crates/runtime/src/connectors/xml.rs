//! SeaTunnel's `xml` file format. The source reads every element named `xml_row_tag`, at any
//! depth, as a row: its attributes (`xml_use_attr_format = true`) or its child elements give
//! the values of the schema's columns by name, as SeaTunnel's `XmlReadStrategy` does; other
//! names are ignored and a row with none of the columns is skipped. Unlike SeaTunnel, which
//! builds the whole document in memory, the file is streamed. The sink writes
//! `<xml_root_tag><xml_row_tag …/>…</xml_root_tag>` the way SeaTunnel's `XmlWriter` lays it out.

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use quick_xml::events::Event;
use std::io::{BufRead, Write};
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};

/// How rows are laid out in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlLayout {
    pub root_tag: String,
    pub row_tag: String,
    /// Values as attributes of the row element, else as its child elements.
    pub use_attributes: bool,
}

/// The rows of one XML stream, `batch_rows` at a time, as text columns of `schema`'s names;
/// the caller converts them to the schema's types.
pub struct XmlRows<R> {
    reader: quick_xml::Reader<R>,
    layout: XmlLayout,
    schema: SchemaRef,
    buf: Vec<u8>,
    /// Inside a row: its values so far, and the child element being read.
    row: Option<Vec<Option<String>>>,
    child: Option<(usize, String)>,
    /// How deep inside the current child element (its own children are part of its text).
    depth: usize,
    done: bool,
    shown: String,
}

impl<R: BufRead> XmlRows<R> {
    pub fn new(input: R, layout: XmlLayout, schema: SchemaRef, shown: String) -> Self {
        Self {
            reader: quick_xml::Reader::from_reader(input),
            layout,
            schema,
            buf: Vec::new(),
            row: None,
            child: None,
            depth: 0,
            done: false,
            shown,
        }
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.schema.index_of(name).ok()
    }

    fn err(&self, e: impl std::fmt::Display) -> WeirError {
        WeirError::new(format!(
            "{} is not readable xml at byte {}: {e}",
            self.shown,
            self.reader.buffer_position()
        ))
    }

    /// The next up to `max` rows; empty at the end of the file.
    pub fn next_rows(&mut self, max: usize) -> WeirResult<Vec<Vec<Option<String>>>> {
        let mut rows = Vec::new();
        while !self.done && rows.len() < max {
            self.buf.clear();
            let event = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| WeirError::new(e.to_string()))
                .map(Event::into_owned);
            let event = match event {
                Ok(e) => e,
                Err(e) => return Err(self.err(e.message)),
            };
            match event {
                Event::Eof => {
                    self.done = true;
                    if self.row.is_some() {
                        return Err(self.err(format!(
                            "the file ends inside a <{}> element",
                            self.layout.row_tag
                        )));
                    }
                }
                Event::Start(e)
                    if self.row.is_none() && e.name().as_ref() == self.layout.row_tag =>
                {
                    self.start_row(&e)?;
                }
                Event::Empty(e)
                    if self.row.is_none() && e.name().as_ref() == self.layout.row_tag =>
                {
                    self.start_row(&e)?;
                    self.finish_row(&mut rows);
                }
                Event::End(e)
                    if self.child.is_none() && e.name().as_ref() == self.layout.row_tag =>
                {
                    self.finish_row(&mut rows);
                }
                Event::Start(e) if self.row.is_some() && !self.layout.use_attributes => {
                    if self.child.is_some() {
                        self.depth += 1;
                    } else if let Some(i) = self.column(e.name().as_ref()) {
                        self.child = Some((i, String::new()));
                        self.depth = 0;
                    }
                }
                Event::Empty(e)
                    if self.row.is_some()
                        && self.child.is_none()
                        && !self.layout.use_attributes =>
                {
                    if let (Some(i), Some(row)) =
                        (self.column(e.name().as_ref()), self.row.as_mut())
                    {
                        row[i] = Some(String::new());
                    }
                }
                Event::End(_) if self.child.is_some() => {
                    if self.depth > 0 {
                        self.depth -= 1;
                    } else if let (Some((i, text)), Some(row)) =
                        (self.child.take(), self.row.as_mut())
                    {
                        row[i] = Some(text);
                    }
                }
                Event::Text(t) => {
                    if let Some((_, text)) = self.child.as_mut() {
                        text.push_str(&t.xml10_content());
                    }
                }
                Event::CData(t) => {
                    if let Some((_, text)) = self.child.as_mut() {
                        text.push_str(&t.into_inner());
                    }
                }
                Event::GeneralRef(r) if self.child.is_some() => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                            .map(str::to_string)
                            .ok_or_else(|| self.err(format!("unknown entity &{};", &*r)))?,
                        Err(e) => return Err(self.err(e)),
                    };
                    if let Some((_, text)) = self.child.as_mut() {
                        text.push_str(&resolved);
                    }
                }
                _ => {}
            }
        }
        Ok(rows)
    }

    fn start_row(&mut self, e: &quick_xml::events::BytesStart) -> WeirResult<()> {
        let mut values = vec![None; self.schema.fields().len()];
        if self.layout.use_attributes {
            for a in e.attributes() {
                let a = a.map_err(|x| self.err(x))?;
                if let Some(i) = self.column(a.key.as_ref()) {
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|x| self.err(x))?;
                    values[i] = Some(v.into_owned());
                }
            }
        }
        self.row = Some(values);
        Ok(())
    }

    fn finish_row(&mut self, rows: &mut Vec<Vec<Option<String>>>) {
        self.child = None;
        if let Some(values) = self.row.take() {
            // SeaTunnel skips a row element that holds none of the columns.
            if values.iter().any(Option::is_some) {
                rows.push(values);
            }
        }
    }
}

/// A batch of `schema` from rows of values, each converted as SeaTunnel's `XmlReadStrategy`
/// converts it: integers through a double (`"1.0"` is 1), lists and maps from JSON, a row's
/// fields split by the field delimiter, bytes as the text's UTF-8; a blank value is `""` in a
/// string column and null in any other.
pub fn typed_batch(
    rows: &[Vec<Option<String>>],
    schema: &SchemaRef,
    delimiter: &str,
) -> WeirResult<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| {
            let values = rows.iter().map(|r| r[c].as_deref());
            column_of(f.data_type(), values, delimiter).map_err(|e| {
                WeirError::new(format!(
                    "column '{}' holds a value that is not {}: {}",
                    f.name(),
                    f.data_type(),
                    e.message
                ))
            })
        })
        .collect::<WeirResult<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| WeirError::new(e.to_string()))
}

fn column_of<'a>(
    dt: &DataType,
    values: impl Iterator<Item = Option<&'a str>>,
    delimiter: &str,
) -> WeirResult<ArrayRef> {
    let blank_is_null = |v: Option<&'a str>| v.filter(|s| !s.trim().is_empty());
    match dt {
        DataType::Utf8 => Ok(Arc::new(StringArray::from_iter(values))),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let numbers = values
                .map(blank_is_null)
                .map(|v| {
                    v.map(|s| {
                        let s = s.trim();
                        s.parse::<i64>()
                            .or_else(|_| s.parse::<f64>().map(|f| f.trunc() as i64))
                            .map_err(|_| WeirError::new(format!("'{s}' is not a number")))
                    })
                    .transpose()
                })
                .collect::<WeirResult<Vec<Option<i64>>>>()?;
            let wide: ArrayRef = Arc::new(arrow::array::Int64Array::from(numbers));
            arrow::compute::cast(&wide, dt).map_err(|e| WeirError::new(e.to_string()))
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::Struct(_) => {
            let json = values
                .map(blank_is_null)
                .map(|v| match v {
                    None => Ok(serde_json::Value::Null),
                    Some(s) if matches!(dt, DataType::Struct(_)) => Ok(serde_json::Value::Array(
                        s.split(delimiter)
                            .map(|p| serde_json::Value::String(p.to_string()))
                            .collect(),
                    )),
                    Some(s) => serde_json::from_str(s)
                        .map_err(|e| WeirError::new(format!("'{s}' is not JSON: {e}"))),
                })
                .collect::<WeirResult<Vec<_>>>()?;
            crate::values::values_to_array(dt, &json)
        }
        _ => {
            let text: ArrayRef = Arc::new(StringArray::from_iter(values.map(blank_is_null)));
            let opts = arrow::compute::CastOptions {
                safe: false,
                ..Default::default()
            };
            let normalized: ArrayRef = if matches!(dt, DataType::Boolean) {
                // Java's Boolean.parseBoolean: "true" in any case is true, anything else false.
                let t = text.as_any().downcast_ref::<StringArray>();
                Arc::new(arrow::array::BooleanArray::from_iter(
                    t.into_iter()
                        .flatten()
                        .map(|v| v.map(|s| s.trim().eq_ignore_ascii_case("true"))),
                ))
            } else {
                text
            };
            arrow::compute::cast_with_options(&normalized, dt, &opts)
                .map_err(|e| WeirError::new(e.to_string()))
        }
    }
}

fn escape_attr(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Writes rows as SeaTunnel's `XmlWriter` does (dom4j's pretty print: tab indents, a
/// declaration, a null as an empty value).
pub struct XmlWriter<W: Write> {
    out: W,
    layout: XmlLayout,
    names: Vec<String>,
    field_delimiter: String,
}

impl<W: Write> XmlWriter<W> {
    pub fn new(
        mut out: W,
        layout: XmlLayout,
        schema: &SchemaRef,
        encoding_name: &str,
        field_delimiter: String,
    ) -> std::io::Result<Self> {
        write!(
            out,
            "<?xml version=\"1.0\" encoding=\"{encoding_name}\"?>\n\n<{}>",
            layout.root_tag
        )?;
        Ok(Self {
            out,
            layout,
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            field_delimiter,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> WeirResult<()> {
        let values: Vec<Vec<String>> = batch
            .columns()
            .iter()
            .map(|c| column_text(c, &self.field_delimiter))
            .collect::<WeirResult<_>>()?;
        let io = |e: std::io::Error| WeirError::new(format!("writing xml: {e}"));
        for row in 0..batch.num_rows() {
            let tag = &self.layout.row_tag;
            if self.layout.use_attributes {
                write!(self.out, "\n\t<{tag}").map_err(io)?;
                for (name, col) in self.names.iter().zip(&values) {
                    write!(self.out, " {name}=\"{}\"", escape_attr(&col[row])).map_err(io)?;
                }
                write!(self.out, "/>").map_err(io)?;
            } else {
                write!(self.out, "\n\t<{tag}>").map_err(io)?;
                for (name, col) in self.names.iter().zip(&values) {
                    let v = &col[row];
                    if v.is_empty() {
                        write!(self.out, "\n\t\t<{name}/>").map_err(io)?;
                    } else {
                        write!(
                            self.out,
                            "\n\t\t<{name}>{}</{name}>",
                            quick_xml::escape::escape(v.as_str())
                        )
                        .map_err(io)?;
                    }
                }
                write!(self.out, "\n\t</{tag}>").map_err(io)?;
            }
        }
        Ok(())
    }

    /// Closes the root element; returns the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        write!(self.out, "\n</{}>\n", self.layout.root_tag)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Each value of a column as SeaTunnel writes it into XML: scalars as text, lists and maps as
/// JSON, a row's fields joined by the field delimiter, null as "".
fn column_text(column: &ArrayRef, delimiter: &str) -> WeirResult<Vec<String>> {
    match column.data_type() {
        DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) => {
            let batch = RecordBatch::try_from_iter([("v", column.clone())])
                .map_err(|e| WeirError::new(e.to_string()))?;
            let mut w = arrow::json::ArrayWriter::new(Vec::new());
            w.write(&batch).map_err(|e| WeirError::new(e.to_string()))?;
            w.finish().map_err(|e| WeirError::new(e.to_string()))?;
            let rows: Vec<serde_json::Map<String, serde_json::Value>> =
                serde_json::from_slice(&w.into_inner())
                    .map_err(|e| WeirError::new(e.to_string()))?;
            Ok(rows
                .into_iter()
                .map(|mut r| match r.remove("v") {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(v) => v.to_string(),
                })
                .collect())
        }
        DataType::Struct(_) => {
            let s = column
                .as_any()
                .downcast_ref::<arrow::array::StructArray>()
                .ok_or_else(|| WeirError::new("a struct column that is not a struct array"))?;
            let fields: Vec<Vec<String>> = s
                .columns()
                .iter()
                .map(|c| column_text(c, delimiter))
                .collect::<WeirResult<_>>()?;
            Ok((0..s.len())
                .map(|row| {
                    if s.is_null(row) {
                        String::new()
                    } else {
                        fields
                            .iter()
                            .map(|f| f[row].as_str())
                            .collect::<Vec<_>>()
                            .join(delimiter)
                    }
                })
                .collect())
        }
        DataType::Binary | DataType::LargeBinary => {
            let casted = arrow::compute::cast(column, &DataType::Utf8)
                .or_else(|_| {
                    // Not UTF-8: SeaTunnel's `new String(bytes, UTF_8)` replaces what is not.
                    let b = column
                        .as_any()
                        .downcast_ref::<arrow::array::BinaryArray>()
                        .ok_or_else(|| arrow::error::ArrowError::CastError("binary".into()))?;
                    Ok::<ArrayRef, arrow::error::ArrowError>(Arc::new(StringArray::from_iter(
                        b.iter()
                            .map(|v| v.map(|v| String::from_utf8_lossy(v).into_owned())),
                    )))
                })
                .map_err(|e| WeirError::new(e.to_string()))?;
            column_text(&casted, delimiter)
        }
        _ => {
            let opts = FormatOptions::default().with_null("");
            let f = ArrayFormatter::try_new(column.as_ref(), &opts)
                .map_err(|e| WeirError::new(e.to_string()))?;
            Ok((0..column.len()).map(|i| f.value(i).to_string()).collect())
        }
    }
}
