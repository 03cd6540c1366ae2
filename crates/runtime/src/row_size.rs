//! The size of rows as SeaTunnel counts it for its `…Bytes` metrics (`SeaTunnelRow.getBytesSize`):
//! a string is its length in UTF-16 units (Java's `String.length()`), booleans and tinyints 1,
//! smallints 2, ints and floats 4, bigints and doubles 8, decimals 36, dates 24, times 12,
//! timestamps 48, bytes their length, a null 0, and arrays, maps and rows the sum of their
//! elements. SeaTunnel's clients compare these figures with their sources' own, so weir
//! reports the same numbers rather than Arrow's in-memory size.

use arrow::array::{
    Array, AsArray, GenericByteArray, GenericListArray, MapArray, OffsetSizeTrait, StructArray,
};
use arrow::datatypes::{ByteArrayType, DataType};
use arrow::record_batch::RecordBatch;

/// SeaTunnel's byte size of every row of `batch`, summed.
pub fn batch_row_bytes(batch: &RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|c| array_bytes(c.as_ref()))
        .sum()
}

/// The summed size of the values of one column.
fn array_bytes(a: &dyn Array) -> u64 {
    let present = (a.len() - a.null_count()) as u64;
    let width = match a.data_type() {
        DataType::Null => 0,
        DataType::Boolean | DataType::Int8 | DataType::UInt8 => 1,
        DataType::Int16 | DataType::UInt16 | DataType::Float16 => 2,
        DataType::Int32 | DataType::UInt32 | DataType::Float32 => 4,
        DataType::Int64 | DataType::UInt64 | DataType::Float64 => 8,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => 36,
        DataType::Date32 | DataType::Date64 => 24,
        DataType::Time32(_) | DataType::Time64(_) => 12,
        DataType::Timestamp(..) => 48,
        DataType::Duration(_) | DataType::Interval(_) => 8,
        DataType::Utf8 => return utf16_units(a.as_string::<i32>()),
        DataType::LargeUtf8 => return utf16_units(a.as_string::<i64>()),
        DataType::Binary => return byte_lengths(a.as_binary::<i32>()),
        DataType::LargeBinary => return byte_lengths(a.as_binary::<i64>()),
        DataType::FixedSizeBinary(n) => *n as u64,
        DataType::List(_) => return list_bytes(a.as_list::<i32>()),
        DataType::LargeList(_) => return list_bytes(a.as_list::<i64>()),
        DataType::Map(..) => return map_bytes(a.as_map()),
        DataType::Struct(_) => return struct_bytes(a.as_struct()),
        // Views, dictionaries, unions: weir's connectors do not produce them; count them as
        // Arrow stores them rather than not at all.
        _ => return a.get_array_memory_size() as u64,
    };
    present * width
}

/// Summed lengths of non-null strings in UTF-16 units: one per char, two for a char outside
/// the basic plane. ASCII data (the common case) is its byte length, found without a scan.
fn utf16_units<O: OffsetSizeTrait, T: ByteArrayType<Offset = O>>(a: &GenericByteArray<T>) -> u64 {
    let offsets = a.value_offsets();
    let (first, last) = (offsets[0].as_usize(), offsets[a.len()].as_usize());
    let data = &a.value_data()[first..last];
    if a.null_count() == 0 && data.is_ascii() {
        return data.len() as u64;
    }
    (0..a.len())
        .filter(|&i| a.is_valid(i))
        .map(|i| {
            let bytes: &[u8] = a.value(i).as_ref();
            match std::str::from_utf8(bytes) {
                Ok(s) if s.is_ascii() => s.len() as u64,
                Ok(s) => s.chars().map(|c| c.len_utf16() as u64).sum(),
                Err(_) => bytes.len() as u64,
            }
        })
        .sum()
}

fn byte_lengths<O: OffsetSizeTrait, T: ByteArrayType<Offset = O>>(a: &GenericByteArray<T>) -> u64 {
    (0..a.len())
        .filter(|&i| a.is_valid(i))
        .map(|i| a.value_length(i).as_usize() as u64)
        .sum()
}

fn list_bytes<O: OffsetSizeTrait>(a: &GenericListArray<O>) -> u64 {
    (0..a.len())
        .filter(|&i| a.is_valid(i))
        .map(|i| array_bytes(a.value(i).as_ref()))
        .sum()
}

fn map_bytes(a: &MapArray) -> u64 {
    (0..a.len())
        .filter(|&i| a.is_valid(i))
        .map(|i| struct_bytes(&a.value(i)))
        .sum()
}

fn struct_bytes(a: &StructArray) -> u64 {
    // A null row counts 0 however its children are filled.
    if a.null_count() == 0 {
        return a.columns().iter().map(|c| array_bytes(c.as_ref())).sum();
    }
    (0..a.len())
        .filter(|&i| a.is_valid(i))
        .map(|i| {
            a.columns()
                .iter()
                .map(|c| array_bytes(c.slice(i, 1).as_ref()))
                .sum::<u64>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int32Array, Int64Array, StringArray};
    use std::sync::Arc;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn a_row_counts_as_seatunnel_counts_it() {
        // SeaTunnel's own example: [bigint 3, "C", int 100] is 13 bytes.
        let b = batch(vec![
            ("a", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
            ("b", Arc::new(StringArray::from(vec!["C"]))),
            ("c", Arc::new(Int32Array::from(vec![100]))),
        ]);
        assert_eq!(batch_row_bytes(&b), 13);
    }

    #[test]
    fn nulls_count_nothing_and_strings_count_utf16_units() {
        let b = batch(vec![
            (
                "a",
                Arc::new(Int64Array::from(vec![Some(1), None, Some(2)])) as ArrayRef,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("héllo"), Some("😀"), None])),
            ),
        ]);
        assert_eq!(batch_row_bytes(&b), 16 + 5 + 2);
        let s = StringArray::from(vec![Some("héllo"), Some("😀"), None]);
        assert_eq!(array_bytes(&s), 5 + 2);
        assert_eq!(array_bytes(&Int64Array::from(vec![Some(1), None])), 8);
        assert_eq!(
            array_bytes(&StringArray::from(vec!["ab", "c"]).slice(1, 1)),
            1
        );
    }
}
