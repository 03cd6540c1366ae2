//! SeaTunnel's type keywords mapped to Arrow data types, and schemas read from `schema.fields`
//! or `schema.columns`.
//!
//! Mapping: string→Utf8, boolean→Boolean, tinyint→Int8, smallint→Int16, int→Int32,
//! bigint→Int64, float→Float32, double→Float64, decimal(p,s)→Decimal128(p,s), bytes→Binary,
//! date→Date32, time→Time64(µs), timestamp→Timestamp(µs, no zone), null→Null,
//! array<T>→List<T>, map<K,V>→Map<K,V>, row {…}→Struct.

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::Value;
use std::sync::Arc;

/// Why a type could not be read, in words that say what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError(pub String);

const KEYWORDS: &[&str] = &[
    "string",
    "boolean",
    "tinyint",
    "smallint",
    "int",
    "bigint",
    "float",
    "double",
    "decimal(p, s)",
    "bytes",
    "date",
    "time",
    "timestamp",
    "null",
    "array<T>",
    "map<K, V>",
    "{ field = type }",
];

/// Parses a type written as a string (`"int"`, `"decimal(30, 8)"`, `"map<string, array<int>>"`,
/// or a row written as HOCON/JSON text `"{c_int = int}"`).
pub fn parse_type_str(text: &str) -> Result<DataType, TypeError> {
    let mut p = TypeParser {
        s: text.as_bytes(),
        pos: 0,
        text,
    };
    let t = p.parse()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("unexpected text after the type"));
    }
    Ok(t)
}

/// Parses a type given as a config value: a string keyword or a nested object (a row).
pub fn parse_type_value(value: &Value) -> Result<DataType, TypeError> {
    match value {
        Value::String(s) => parse_type_str(s),
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (name, v) in map {
                let dt = parse_type_value(v)
                    .map_err(|e| TypeError(format!("in row field '{name}': {}", e.0)))?;
                fields.push(Field::new(name, dt, true));
            }
            Ok(DataType::Struct(Fields::from(fields)))
        }
        Value::Null => Ok(DataType::Null),
        other => Err(TypeError(format!(
            "{other} is not a type; use one of: {}",
            KEYWORDS.join(", ")
        ))),
    }
}

/// Reads the `schema` option of a plugin: `fields { name = type }` or
/// `columns = [{name, type, nullable}]`.
pub fn parse_schema(schema: &Value) -> Result<Schema, TypeError> {
    let obj = schema
        .as_object()
        .ok_or_else(|| TypeError("'schema' must be an object with 'fields' or 'columns'".into()))?;
    if let Some(fields) = obj.get("fields") {
        let map = fields.as_object().ok_or_else(|| {
            TypeError("'schema.fields' must be an object of name = type pairs".into())
        })?;
        if map.is_empty() {
            return Err(TypeError("'schema.fields' declares no field".into()));
        }
        let mut out = Vec::with_capacity(map.len());
        for (name, v) in map {
            let dt =
                parse_type_value(v).map_err(|e| TypeError(format!("field '{name}': {}", e.0)))?;
            out.push(Field::new(name, dt, true));
        }
        return Ok(Schema::new(out));
    }
    if let Some(columns) = obj.get("columns") {
        let list = columns
            .as_array()
            .ok_or_else(|| TypeError("'schema.columns' must be a list of columns".into()))?;
        let mut out = Vec::with_capacity(list.len());
        for (i, col) in list.iter().enumerate() {
            let name = col
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| TypeError(format!("schema.columns[{i}] needs a 'name' string")))?;
            let ty = col.get("type").ok_or_else(|| {
                TypeError(format!("schema.columns[{i}] ('{name}') needs a 'type'"))
            })?;
            let dt =
                parse_type_value(ty).map_err(|e| TypeError(format!("column '{name}': {}", e.0)))?;
            let nullable = match col.get("nullable") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
                _ => true,
            };
            out.push(Field::new(name, dt, nullable));
        }
        if out.is_empty() {
            return Err(TypeError("'schema.columns' declares no column".into()));
        }
        return Ok(Schema::new(out));
    }
    Err(TypeError(
        "'schema' needs 'fields { name = type }' or 'columns = [...]'".into(),
    ))
}

/// SeaTunnel's upper-case SQL name of an Arrow type, as in Console's `output rowType` line.
pub fn seatunnel_type_name(dt: &DataType) -> String {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Binary | DataType::LargeBinary => "BYTES".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, _) => "TIMESTAMP".into(),
        DataType::Null => "NULL".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("ARRAY<{}>", seatunnel_type_name(f.data_type()))
        }
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "MAP<{}, {}>",
                seatunnel_type_name(kv[0].data_type()),
                seatunnel_type_name(kv[1].data_type())
            ),
            _ => "MAP".into(),
        },
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("{}<{}>", f.name(), seatunnel_type_name(f.data_type())))
                .collect();
            format!("ROW<{}>", inner.join(", "))
        }
        other => other.to_string().to_uppercase(),
    }
}

/// The Arrow map type SeaTunnel's `map<K, V>` becomes (Arrow's canonical entries layout).
pub fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", key, false),
            Field::new("value", value, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// The Arrow list type SeaTunnel's `array<T>` becomes.
pub fn list_type(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

struct TypeParser<'a> {
    s: &'a [u8],
    pos: usize,
    text: &'a str,
}

impl TypeParser<'_> {
    fn err(&self, what: &str) -> TypeError {
        TypeError(format!(
            "cannot read type '{}': {what} at character {}; types are: {}",
            self.text,
            self.pos + 1,
            KEYWORDS.join(", ")
        ))
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), TypeError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn word(&mut self) -> String {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }

    fn number(&mut self) -> Result<u64, TypeError> {
        let w = self.word();
        w.parse::<u64>()
            .map_err(|_| self.err(&format!("expected a number, found '{w}'")))
    }

    fn parse(&mut self) -> Result<DataType, TypeError> {
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'{') {
            return self.parse_row();
        }
        let word = self.word();
        if word.is_empty() {
            return Err(self.err("expected a type name"));
        }
        let lower = word.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "string" | "varchar" | "text" => DataType::Utf8,
            "boolean" | "bool" => DataType::Boolean,
            "tinyint" => DataType::Int8,
            "smallint" => DataType::Int16,
            "int" | "integer" => DataType::Int32,
            "bigint" | "long" => DataType::Int64,
            "float" => DataType::Float32,
            "double" => DataType::Float64,
            "bytes" | "binary" => DataType::Binary,
            "date" => DataType::Date32,
            "time" => DataType::Time64(TimeUnit::Microsecond),
            "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
            "null" => DataType::Null,
            "decimal" => {
                if self.eat(b'(') {
                    let p = self.number()?;
                    self.expect(b',')?;
                    let s = self.number()?;
                    self.expect(b')')?;
                    if p == 0 || p > 38 {
                        return Err(self.err("decimal precision must be between 1 and 38"));
                    }
                    if s > p {
                        return Err(self.err("decimal scale cannot exceed its precision"));
                    }
                    DataType::Decimal128(p as u8, s as i8)
                } else {
                    DataType::Decimal128(38, 18)
                }
            }
            "array" => {
                self.expect(b'<')?;
                let item = self.parse()?;
                self.expect(b'>')?;
                list_type(item)
            }
            "map" => {
                self.expect(b'<')?;
                let k = self.parse()?;
                self.expect(b',')?;
                let v = self.parse()?;
                self.expect(b'>')?;
                if matches!(k, DataType::Null | DataType::Struct(_) | DataType::Map(..)) {
                    return Err(self.err("a map key must be a basic type"));
                }
                map_type(k, v)
            }
            _ => return Err(self.err(&format!("unknown type '{word}'"))),
        })
    }

    /// A row written inline: `{a = int, b = "map<string, int>"}` or JSON `{"a": "int"}`.
    fn parse_row(&mut self) -> Result<DataType, TypeError> {
        self.expect(b'{')?;
        let mut fields = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            let name = if self.eat(b'"') {
                let start = self.pos;
                while self.pos < self.s.len() && self.s[self.pos] != b'"' {
                    self.pos += 1;
                }
                let n = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
                self.expect(b'"')?;
                n
            } else {
                self.word()
            };
            if name.is_empty() {
                return Err(self.err("expected a field name"));
            }
            if !(self.eat(b'=') || self.eat(b':')) {
                return Err(self.err("expected '=' or ':' after a row field name"));
            }
            let quoted = self.eat(b'"');
            let dt = self.parse()?;
            if quoted {
                self.expect(b'"')?;
            }
            fields.push(Field::new(name, dt, true));
            self.eat(b',');
        }
        Ok(DataType::Struct(Fields::from(fields)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_keyword_maps_to_its_arrow_type() {
        let cases = [
            ("string", DataType::Utf8),
            ("BOOLEAN", DataType::Boolean),
            ("tinyint", DataType::Int8),
            ("smallint", DataType::Int16),
            ("int", DataType::Int32),
            ("bigint", DataType::Int64),
            ("float", DataType::Float32),
            ("double", DataType::Float64),
            ("decimal(30, 8)", DataType::Decimal128(30, 8)),
            ("bytes", DataType::Binary),
            ("date", DataType::Date32),
            ("time", DataType::Time64(TimeUnit::Microsecond)),
            (
                "timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, None),
            ),
            ("null", DataType::Null),
            ("array<int>", list_type(DataType::Int32)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_type_str(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn nested_generics_and_rows_parse() {
        let t = parse_type_str("map<string, array<int>>").unwrap();
        assert_eq!(t, map_type(DataType::Utf8, list_type(DataType::Int32)));
        let t = parse_type_str("map<string, {c_int = int, c_s = \"array<string>\"}>").unwrap();
        let DataType::Map(entries, _) = t else {
            panic!("not a map")
        };
        let DataType::Struct(kv) = entries.data_type() else {
            panic!("no entries")
        };
        assert!(matches!(kv[1].data_type(), DataType::Struct(f) if f.len() == 2));
        let row = parse_type_value(&json!({"c_row": {"c_int": "int"}})).unwrap();
        assert!(matches!(row, DataType::Struct(f) if f[0].name() == "c_row"));
    }

    #[test]
    fn bad_types_say_what_is_allowed() {
        let e = parse_type_str("strng").unwrap_err();
        assert!(e.0.contains("unknown type 'strng'"), "{}", e.0);
        assert!(e.0.contains("bigint"));
        assert!(parse_type_str("decimal(40, 2)")
            .unwrap_err()
            .0
            .contains("between 1 and 38"));
        assert!(parse_type_str("array<int")
            .unwrap_err()
            .0
            .contains("expected '>'"));
        assert!(parse_type_str("map<{a=int}, int>").is_err());
    }

    #[test]
    fn schema_from_fields_and_columns() {
        let s = parse_schema(&json!({"fields": {"a": "int", "b": "string"}})).unwrap();
        assert_eq!(s.fields().len(), 2);
        let s =
            parse_schema(&json!({"columns": [{"name": "a", "type": "bigint", "nullable": false}]}))
                .unwrap();
        assert!(!s.field(0).is_nullable());
        assert!(parse_schema(&json!({"fields": {}})).is_err());
        assert!(parse_schema(&json!({"table": "x"})).is_err());
    }

    #[test]
    fn seatunnel_names_render_upper_case() {
        assert_eq!(seatunnel_type_name(&DataType::Utf8), "STRING");
        assert_eq!(
            seatunnel_type_name(&map_type(DataType::Utf8, DataType::Int32)),
            "MAP<STRING, INT>"
        );
    }
}
