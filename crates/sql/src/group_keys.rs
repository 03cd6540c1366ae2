//! GROUP BY keys interned to dense group slots, so accumulators live in plain vectors indexed by
//! slot ([`crate::acc_column`]) and a batch is mapped to slots once, in one pass.
//!
//! A single integer column (the common `GROUP BY id`) is interned by value: no row-format bytes
//! per row, no byte comparison. Any other key (strings, several columns) is interned by its
//! bytes in Arrow's row format. Either way the key's row-format bytes (what the hash edge hashes
//! and checkpoints store) are computed on demand, for the groups that need them.

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use arrow::row::{RowConverter, Rows, SortField};
use hashbrown::HashTable;
use std::sync::Arc;
use weir_core::{WeirError, WeirResult};

fn key_err(e: impl std::fmt::Display) -> WeirError {
    WeirError::new(format!("keying the GROUP BY columns: {e}"))
}

/// How keys are held.
enum Keys {
    /// No GROUP BY: one group, slot 0.
    Global,
    /// One integer column, by value; the NULL key has its own slot.
    Int {
        data_type: DataType,
        values: Vec<i64>,
        null: Option<u32>,
        table: HashTable<u32>,
    },
    /// Anything else, by row-format bytes.
    Rows {
        keys: Vec<Box<[u8]>>,
        table: HashTable<u32>,
    },
}

/// The keys of one subtask's groups, each at a slot that stays its own until it is removed.
pub struct GroupKeys {
    keys: Keys,
    /// Group columns ⇄ row-format bytes; `None` without GROUP BY.
    converter: Option<RowConverter>,
    live: Vec<bool>,
    free: Vec<u32>,
    hasher: ahash::RandomState,
}

/// A slot for a new group: a freed one, or a new one at the end.
fn alloc(live: &mut Vec<bool>, free: &mut Vec<u32>) -> u32 {
    match free.pop() {
        Some(g) => {
            live[g as usize] = true;
            g
        }
        None => {
            live.push(true);
            (live.len() - 1) as u32
        }
    }
}

fn is_small_integer(t: &DataType) -> bool {
    use DataType::*;
    matches!(t, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32)
}

impl GroupKeys {
    /// Keys of the given GROUP BY column types.
    pub fn new(types: &[DataType]) -> WeirResult<GroupKeys> {
        let converter = if types.is_empty() {
            None
        } else {
            let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
            Some(RowConverter::new(fields).map_err(key_err)?)
        };
        let keys = match types {
            [] => Keys::Global,
            [t] if is_small_integer(t) => Keys::Int {
                data_type: t.clone(),
                values: Vec::new(),
                null: None,
                table: HashTable::new(),
            },
            _ => Keys::Rows {
                keys: Vec::new(),
                table: HashTable::new(),
            },
        };
        Ok(GroupKeys {
            keys,
            converter,
            live: Vec::new(),
            free: Vec::new(),
            hasher: ahash::RandomState::new(),
        })
    }

    /// Slots in use or free: the length accumulator vectors must have.
    pub fn slots(&self) -> usize {
        self.live.len()
    }

    /// The slots that hold a group, in slot order.
    pub fn live_groups(&self) -> Vec<u32> {
        (0..self.live.len() as u32)
            .filter(|&g| self.live[g as usize])
            .collect()
    }

    /// The group slot of every row of `columns` (`rows` of them), new groups created as needed.
    pub fn intern(
        &mut self,
        columns: &[ArrayRef],
        rows: usize,
        out: &mut Vec<u32>,
    ) -> WeirResult<()> {
        out.reserve(rows);
        let GroupKeys {
            keys,
            converter,
            live,
            free,
            hasher,
        } = self;
        match keys {
            Keys::Global => {
                if live.first() != Some(&true) {
                    live.clear();
                    free.clear();
                    live.push(true);
                }
                out.extend(std::iter::repeat_n(0, rows));
            }
            Keys::Int {
                values,
                null,
                table,
                ..
            } => {
                let column = cast(&columns[0], &DataType::Int64).map_err(key_err)?;
                let column = column.as_primitive::<Int64Type>();
                for row in 0..rows {
                    if column.is_null(row) {
                        let g = *null.get_or_insert_with(|| alloc(live, free));
                        out.push(g);
                        continue;
                    }
                    let v = column.value(row);
                    let hash = hasher.hash_one(v);
                    let g = match table.find(hash, |&g| values[g as usize] == v) {
                        Some(&g) => g,
                        None => {
                            let g = alloc(live, free);
                            // The NULL key's slot has no value: the vector may lag the slots.
                            if g as usize >= values.len() {
                                values.resize(g as usize + 1, 0);
                            }
                            values[g as usize] = v;
                            table.insert_unique(hash, g, |&g| hasher.hash_one(values[g as usize]));
                            g
                        }
                    };
                    out.push(g);
                }
            }
            Keys::Rows { keys, table } => {
                let converter = converter
                    .as_mut()
                    .ok_or_else(|| key_err("no key columns"))?;
                let converted = converter.convert_columns(columns).map_err(key_err)?;
                for row in converted.iter() {
                    let bytes: &[u8] = row.as_ref();
                    let hash = hasher.hash_one(bytes);
                    let g = match table.find(hash, |&g| &*keys[g as usize] == bytes) {
                        Some(&g) => g,
                        None => {
                            let g = alloc(live, free);
                            if g as usize >= keys.len() {
                                keys.resize(g as usize + 1, Box::default());
                            }
                            keys[g as usize] = bytes.into();
                            table.insert_unique(hash, g, |&g| hasher.hash_one(&*keys[g as usize]));
                            g
                        }
                    };
                    out.push(g);
                }
            }
        }
        Ok(())
    }

    /// The group slots of keys given as row-format bytes (from a checkpoint).
    pub fn intern_bytes(&mut self, keys: &[&[u8]], out: &mut Vec<u32>) -> WeirResult<()> {
        let columns = match &self.converter {
            None => Vec::new(),
            Some(converter) => {
                let parser = converter.parser();
                converter
                    .convert_rows(keys.iter().map(|k| parser.parse(k)))
                    .map_err(|e| WeirError::new(format!("corrupt GROUP BY state: {e}")))?
            }
        };
        self.intern(&columns, keys.len(), out)
    }

    /// Forgets the group at slot `g`; the slot may be given to a new group.
    pub fn remove(&mut self, g: u32) {
        let at = g as usize;
        if !self.live.get(at).copied().unwrap_or(false) {
            return;
        }
        let hasher = &self.hasher;
        match &mut self.keys {
            Keys::Global => {}
            Keys::Int {
                values,
                null,
                table,
                ..
            } => {
                if *null == Some(g) {
                    *null = None;
                } else if let Ok(entry) = table.find_entry(hasher.hash_one(values[at]), |&x| x == g)
                {
                    entry.remove();
                }
            }
            Keys::Rows { keys, table } => {
                if let Ok(entry) = table.find_entry(hasher.hash_one(&*keys[at]), |&x| x == g) {
                    entry.remove();
                }
                keys[at] = Box::default();
            }
        }
        self.live[at] = false;
        self.free.push(g);
    }

    /// The GROUP BY columns of `groups`, in that order.
    pub fn columns(&self, groups: &[u32]) -> WeirResult<Vec<ArrayRef>> {
        match &self.keys {
            Keys::Global => Ok(Vec::new()),
            Keys::Int {
                data_type,
                values,
                null,
                ..
            } => {
                let column: Int64Array = groups
                    .iter()
                    .map(|&g| (*null != Some(g)).then(|| values[g as usize]))
                    .collect();
                let column: ArrayRef = Arc::new(column);
                Ok(vec![cast(&column, data_type).map_err(key_err)?])
            }
            Keys::Rows { keys, .. } => {
                let converter = self
                    .converter
                    .as_ref()
                    .ok_or_else(|| key_err("no key columns"))?;
                let parser = converter.parser();
                converter
                    .convert_rows(groups.iter().map(|&g| parser.parse(&keys[g as usize])))
                    .map_err(key_err)
            }
        }
    }

    /// The row-format bytes of `groups`' keys (what the hash edge hashes and checkpoints
    /// store): the stored bytes where keys are held as bytes, converted from the key values
    /// otherwise.
    pub fn key_bytes(&self, groups: &[u32]) -> WeirResult<KeyBytes<'_>> {
        Ok(match (&self.keys, &self.converter) {
            (Keys::Rows { keys, .. }, _) => {
                KeyBytes::Stored(groups.iter().map(|&g| &*keys[g as usize]).collect())
            }
            (_, Some(converter)) => KeyBytes::Converted(
                converter
                    .convert_columns(&self.columns(groups)?)
                    .map_err(key_err)?,
            ),
            (_, None) => KeyBytes::Empty,
        })
    }
}

/// The key bytes of some groups, by position (see [`GroupKeys::key_bytes`]).
pub enum KeyBytes<'a> {
    /// No GROUP BY: every key is empty.
    Empty,
    Stored(Vec<&'a [u8]>),
    Converted(Rows),
}

impl KeyBytes<'_> {
    /// The key bytes of the `i`-th group asked for.
    pub fn get(&self, i: usize) -> &[u8] {
        match self {
            KeyBytes::Empty => &[],
            KeyBytes::Stored(keys) => keys[i],
            KeyBytes::Converted(rows) => rows.row(i).data(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};

    fn interned(keys: &mut GroupKeys, column: ArrayRef) -> Vec<u32> {
        let mut out = Vec::new();
        keys.intern(std::slice::from_ref(&column), column.len(), &mut out)
            .unwrap();
        out
    }

    #[test]
    fn equal_keys_share_a_slot_and_freed_slots_are_reused() {
        for (t, column) in [
            (
                DataType::Int32,
                Arc::new(Int32Array::from(vec![
                    Some(4),
                    None,
                    Some(4),
                    Some(-1),
                    None,
                ])) as ArrayRef,
            ),
            (
                DataType::Utf8,
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    None,
                    Some("a"),
                    Some("b"),
                    None,
                ])),
            ),
        ] {
            let mut keys = GroupKeys::new(std::slice::from_ref(&t)).unwrap();
            let slots = interned(&mut keys, column.clone());
            assert_eq!(slots, [0, 1, 0, 2, 1], "{t}");
            let expected = arrow::compute::take(
                &column,
                &arrow::array::UInt32Array::from(vec![3, 0, 1]),
                None,
            )
            .unwrap();
            assert_eq!(&keys.columns(&[2, 0, 1]).unwrap()[0], &expected, "{t}");
            keys.remove(0);
            keys.remove(1);
            assert_eq!(keys.live_groups(), [2]);
            // The freed slots go to new keys; the old keys are new groups again.
            let again = interned(&mut keys, column.clone());
            assert_eq!(again, [1, 0, 1, 2, 0], "{t}");
            let bytes = keys.key_bytes(&again).unwrap();
            let bytes: Vec<Vec<u8>> = (0..again.len()).map(|i| bytes.get(i).to_vec()).collect();
            let bytes: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
            assert!(bytes.iter().all(|b| !b.is_empty()));
            let mut back = Vec::new();
            keys.intern_bytes(&bytes, &mut back).unwrap();
            assert_eq!(back, again, "row-format bytes intern to the same slots");
        }
    }

    #[test]
    fn no_group_by_is_one_group() {
        let mut keys = GroupKeys::new(&[]).unwrap();
        let mut out = Vec::new();
        keys.intern(&[], 3, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0]);
        assert_eq!(keys.key_bytes(&out).unwrap().get(2), &[] as &[u8]);
        keys.remove(0);
        assert!(keys.live_groups().is_empty());
        out.clear();
        keys.intern_bytes(&[&[]], &mut out).unwrap();
        assert_eq!((out, keys.live_groups()), (vec![0], vec![0]));
    }
}
