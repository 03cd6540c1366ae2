//! The unit of data: an Arrow `RecordBatch` plus SeaTunnel's row kind of every row.

use arrow::array::{Array, ArrayRef, BooleanArray, UInt8Array};
use arrow::compute::filter;
use arrow::record_batch::RecordBatch;
use std::fmt;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};

/// SeaTunnel's change kind of a row (CDC semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RowKind {
    Insert = 0,
    UpdateBefore = 1,
    UpdateAfter = 2,
    Delete = 3,
}

impl RowKind {
    /// Every kind, in SeaTunnel's order.
    pub const ALL: [RowKind; 4] = [
        RowKind::Insert,
        RowKind::UpdateBefore,
        RowKind::UpdateAfter,
        RowKind::Delete,
    ];

    /// Reads `INSERT`, `UPDATE_BEFORE`, `UPDATE_AFTER`, `DELETE` (or `+I`, `-U`, `+U`, `-D`).
    pub fn parse(s: &str) -> Option<RowKind> {
        match s.trim().to_ascii_uppercase().as_str() {
            "INSERT" | "+I" => Some(RowKind::Insert),
            "UPDATE_BEFORE" | "-U" => Some(RowKind::UpdateBefore),
            "UPDATE_AFTER" | "+U" => Some(RowKind::UpdateAfter),
            "DELETE" | "-D" => Some(RowKind::Delete),
            _ => None,
        }
    }

    /// From the byte stored in a kinds column.
    pub fn from_u8(b: u8) -> RowKind {
        match b {
            1 => RowKind::UpdateBefore,
            2 => RowKind::UpdateAfter,
            3 => RowKind::Delete,
            _ => RowKind::Insert,
        }
    }

    /// SeaTunnel's name.
    pub fn name(self) -> &'static str {
        match self {
            RowKind::Insert => "INSERT",
            RowKind::UpdateBefore => "UPDATE_BEFORE",
            RowKind::UpdateAfter => "UPDATE_AFTER",
            RowKind::Delete => "DELETE",
        }
    }
}

impl fmt::Display for RowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Rows moving through the dataflow. `kinds` is `None` when every row is an INSERT, which
/// is the common case and costs nothing.
#[derive(Debug, Clone)]
pub struct Batch {
    pub records: RecordBatch,
    pub kinds: Option<Arc<UInt8Array>>,
}

impl Batch {
    /// A batch of inserts.
    pub fn inserts(records: RecordBatch) -> Self {
        Self {
            records,
            kinds: None,
        }
    }

    /// A batch with explicit kinds; all-INSERT kinds are dropped.
    pub fn with_kinds(records: RecordBatch, kinds: Vec<RowKind>) -> Self {
        if kinds.iter().all(|k| *k == RowKind::Insert) {
            return Self::inserts(records);
        }
        let arr = UInt8Array::from(kinds.into_iter().map(|k| k as u8).collect::<Vec<_>>());
        Self {
            records,
            kinds: Some(Arc::new(arr)),
        }
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.records.num_rows()
    }

    /// The kind of row `i`.
    pub fn kind(&self, i: usize) -> RowKind {
        match &self.kinds {
            Some(k) => RowKind::from_u8(k.value(i)),
            None => RowKind::Insert,
        }
    }

    /// Approximate in-memory size, for byte metrics.
    pub fn byte_size(&self) -> usize {
        self.records.get_array_memory_size()
    }

    /// Keeps the rows where `mask` is true (and their kinds).
    pub fn filter(&self, mask: &BooleanArray) -> WeirResult<Batch> {
        let records = arrow::compute::filter_record_batch(&self.records, mask)
            .map_err(|e| WeirError::new(format!("filtering rows: {e}")))?;
        let kinds = match &self.kinds {
            Some(k) => {
                let f = filter(k.as_ref(), mask)
                    .map_err(|e| WeirError::new(format!("filtering row kinds: {e}")))?;
                f.as_any()
                    .downcast_ref::<UInt8Array>()
                    .map(|a| Arc::new(a.clone()))
            }
            None => None,
        };
        Ok(Batch { records, kinds })
    }

    /// Same rows and kinds, new columns (a projection or a computed batch of equal length).
    pub fn with_records(&self, records: RecordBatch) -> Batch {
        Batch {
            records,
            kinds: self.kinds.clone(),
        }
    }

    /// Rows `offset..offset+len`.
    pub fn slice(&self, offset: usize, len: usize) -> Batch {
        Batch {
            records: self.records.slice(offset, len),
            kinds: self.kinds.as_ref().map(|k| Arc::new(k.slice(offset, len))),
        }
    }

    /// The rows at `indices`, in that order.
    pub fn take(&self, indices: &arrow::array::UInt32Array) -> WeirResult<Batch> {
        let columns: Result<Vec<ArrayRef>, _> = self
            .records
            .columns()
            .iter()
            .map(|c| arrow::compute::take(c.as_ref(), indices, None))
            .collect();
        let columns = columns.map_err(|e| WeirError::new(format!("partitioning rows: {e}")))?;
        let records = RecordBatch::try_new(self.records.schema(), columns)
            .map_err(|e| WeirError::new(format!("partitioning rows: {e}")))?;
        let kinds = match &self.kinds {
            Some(k) => arrow::compute::take(k.as_ref(), indices, None)
                .ok()
                .and_then(|a| a.as_any().downcast_ref::<UInt8Array>().cloned())
                .map(Arc::new),
            None => None,
        };
        Ok(Batch { records, kinds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch() -> Batch {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, true)]));
        let rb =
            RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1, 2, 3]))]).unwrap();
        Batch::with_kinds(
            rb,
            vec![RowKind::Insert, RowKind::Delete, RowKind::UpdateAfter],
        )
    }

    #[test]
    fn filtering_keeps_kinds_aligned() {
        let b = batch();
        let f = b
            .filter(&BooleanArray::from(vec![false, true, true]))
            .unwrap();
        assert_eq!(f.num_rows(), 2);
        assert_eq!(f.kind(0), RowKind::Delete);
        assert_eq!(f.kind(1), RowKind::UpdateAfter);
        let s = b.slice(2, 1);
        assert_eq!(s.kind(0), RowKind::UpdateAfter);
    }

    #[test]
    fn all_insert_batches_carry_no_kinds() {
        let b = batch();
        let plain = Batch::with_kinds(b.records.clone(), vec![RowKind::Insert; 3]);
        assert!(plain.kinds.is_none());
        assert_eq!(RowKind::parse("update_before"), Some(RowKind::UpdateBefore));
        assert_eq!(RowKind::parse("-D"), Some(RowKind::Delete));
        assert_eq!(RowKind::parse("nope"), None);
    }
}
