//! Lists, maps and rows inside a text line, as SeaTunnel's text format writes them: each level
//! of nesting has its own separator (`\u{2}`, then `\u{3}`, ... after the field delimiter), a
//! map entry's key and value are split by the next level's, and a blank value is null.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value;

/// SeaTunnel's separators by level (level 0 is the field delimiter, which the file sets).
const SEPARATORS: [&str; 7] = [
    "\u{1}", "\u{2}", "\u{3}", "\u{4}", "\u{5}", "\u{6}", "\u{7}",
];

fn separator(level: usize) -> &'static str {
    SEPARATORS[level.min(SEPARATORS.len() - 1)]
}

/// Whether a type needs this module (its text is not one value).
pub fn is_nested(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::Struct(_)
    )
}

/// One field's text as a JSON value of type `dt`, nested values split at `level + 1`.
pub fn parse(text: &str, dt: &DataType, level: usize) -> Value {
    if text.trim().is_empty() {
        return Value::Null;
    }
    match dt {
        DataType::List(item) | DataType::LargeList(item) => Value::Array(
            text.split(separator(level + 1))
                .map(|e| parse(e, item.data_type(), level + 1))
                .collect(),
        ),
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Value::Null;
            };
            let mut map = serde_json::Map::new();
            for entry in text.split(separator(level + 1)) {
                let mut parts = entry.splitn(2, separator(level + 2));
                let key = parts.next().unwrap_or_default().to_string();
                let value = parts
                    .next()
                    .map_or(Value::Null, |v| parse(v, kv[1].data_type(), level + 1));
                map.insert(key, value);
            }
            Value::Object(map)
        }
        DataType::Struct(fields) => Value::Array(
            text.split(separator(level + 1))
                .zip(fields.iter())
                .map(|(v, f)| parse(v, f.data_type(), level + 1))
                .collect(),
        ),
        // values_to_array reads bytes as base64; a text file holds the bytes' text itself.
        DataType::Binary | DataType::LargeBinary => {
            use base64::Engine as _;
            Value::String(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
        }
        _ => Value::String(text.to_string()),
    }
}

/// One value of `array` as text, nested values joined at `level + 1`; null is empty.
pub fn render(array: &ArrayRef, row: usize, level: usize) -> String {
    if array.is_null(row) {
        return String::new();
    }
    match array.data_type() {
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            join(&items, level)
        }
        DataType::LargeList(_) => {
            let items = array.as_list::<i64>().value(row);
            join(&items, level)
        }
        DataType::Map(..) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            (0..entries.len())
                .map(|i| {
                    format!(
                        "{}{}{}",
                        render(keys, i, level + 1),
                        separator(level + 2),
                        render(values, i, level + 1)
                    )
                })
                .collect::<Vec<_>>()
                .join(separator(level + 1))
        }
        DataType::Struct(_) => {
            let s = array.as_struct();
            s.columns()
                .iter()
                .map(|c| render(c, row, level + 1))
                .collect::<Vec<_>>()
                .join(separator(level + 1))
        }
        // SeaTunnel writes bytes as their text (`new String(bytes)`), not as hex.
        DataType::Binary => {
            String::from_utf8_lossy(array.as_binary::<i32>().value(row)).into_owned()
        }
        DataType::LargeBinary => {
            String::from_utf8_lossy(array.as_binary::<i64>().value(row)).into_owned()
        }
        _ => ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
            .map(|f| f.value(row).to_string())
            .unwrap_or_default(),
    }
}

fn join(items: &ArrayRef, level: usize) -> String {
    (0..items.len())
        .map(|i| render(items, i, level + 1))
        .collect::<Vec<_>>()
        .join(separator(level + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Fields};
    use std::sync::Arc;

    #[test]
    fn nested_text_round_trips_through_seatunnels_separators() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        let map = DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Utf8, true),
                ])),
                false,
            )),
            false,
        );
        assert_eq!(
            parse("1\u{2}2\u{2}3", &list, 0),
            serde_json::json!(["1", "2", "3"])
        );
        assert_eq!(
            parse("k0\u{3}v0\u{2}k1\u{3}v1", &map, 0),
            serde_json::json!({"k0": "v0", "k1": "v1"})
        );
        assert_eq!(parse(" ", &list, 0), Value::Null);
        let arrays =
            crate::values::values_to_array(&list, &[parse("1\u{2}2\u{2}3", &list, 0), Value::Null])
                .unwrap();
        assert_eq!(render(&arrays, 0, 0), "1\u{2}2\u{2}3");
        assert_eq!(render(&arrays, 1, 0), "");
        let maps = crate::values::values_to_array(&map, &[parse("k0\u{3}v0", &map, 0)]).unwrap();
        assert_eq!(render(&maps, 0, 0), "k0\u{3}v0");
    }
}
