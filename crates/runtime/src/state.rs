//! The state a subtask hands to a checkpoint, and how it is encoded and redistributed.
//!
//! Two kinds, as in Flink. *Keyed* state is stored per key group (`key → key group` is fixed by
//! the key hash and the max parallelism), so when parallelism changes each new subtask simply
//! takes the key groups it now owns. *Operator* (list) state is a list of independent entries
//! (a source split's position, a sink's pending files); on a parallelism change the entries are
//! dealt out round-robin over the new subtasks.
//!
//! The encoding is a small length-prefixed binary framing with a magic and a version, checked on
//! read, so a truncated or foreign file is an error and never a silently wrong restore.

use crate::partition::subtask_for_key_group;
use std::collections::BTreeMap;
use weir_core::{WeirError, WeirResult};

/// One chained operator's part of a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorState {
    /// Keyed state by key group.
    pub keyed: BTreeMap<u32, Vec<u8>>,
    /// Operator state: independent entries, redistributable one by one.
    pub list: Vec<Vec<u8>>,
}

impl OperatorState {
    pub fn is_empty(&self) -> bool {
        self.keyed.is_empty() && self.list.is_empty()
    }

    /// Operator state made of these list entries.
    pub fn list(list: Vec<Vec<u8>>) -> Self {
        Self {
            keyed: BTreeMap::new(),
            list,
        }
    }

    fn size(&self) -> usize {
        self.keyed.values().map(Vec::len).sum::<usize>()
            + self.list.iter().map(Vec::len).sum::<usize>()
    }
}

/// Everything one subtask snapshots: one entry per operator of its chain, head first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubtaskState {
    pub operators: Vec<OperatorState>,
}

const MAGIC: &[u8; 4] = b"WST1";

impl SubtaskState {
    /// Bytes of state payload (what Flink reports as the state size).
    pub fn size(&self) -> usize {
        self.operators.iter().map(OperatorState::size).sum()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size() + 64);
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, self.operators.len());
        for op in &self.operators {
            put_u32(&mut out, op.keyed.len());
            for (group, bytes) in &op.keyed {
                put_u32(&mut out, *group as usize);
                put_bytes(&mut out, bytes);
            }
            put_u32(&mut out, op.list.len());
            for bytes in &op.list {
                put_bytes(&mut out, bytes);
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> WeirResult<SubtaskState> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err(WeirError::new(
                "this is not a weir state file (bad magic); it may belong to another system",
            ));
        }
        let n = r.u32()?;
        let mut operators = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let mut op = OperatorState::default();
            for _ in 0..r.u32()? {
                let group = r.u32()? as u32;
                op.keyed.insert(group, r.bytes()?.to_vec());
            }
            for _ in 0..r.u32()? {
                op.list.push(r.bytes()?.to_vec());
            }
            operators.push(op);
        }
        if r.at != bytes.len() {
            return Err(WeirError::new(
                "the state file has trailing bytes; it is corrupt",
            ));
        }
        Ok(SubtaskState { operators })
    }
}

/// Redistributes the state of one vertex's subtasks over `parallelism` new subtasks: keyed
/// state by key-group ownership, list state round-robin. Operators line up by chain position.
pub fn redistribute(
    old: &[SubtaskState],
    parallelism: usize,
    max_parallelism: usize,
) -> Vec<SubtaskState> {
    let parallelism = parallelism.max(1);
    let chain_len = old.iter().map(|s| s.operators.len()).max().unwrap_or(0);
    let mut new: Vec<SubtaskState> = (0..parallelism)
        .map(|_| SubtaskState {
            operators: vec![OperatorState::default(); chain_len],
        })
        .collect();
    for op in 0..chain_len {
        let mut next_list = 0;
        for state in old {
            let Some(o) = state.operators.get(op) else {
                continue;
            };
            for (group, bytes) in &o.keyed {
                let target = subtask_for_key_group(*group as usize, max_parallelism, parallelism);
                new[target.min(parallelism - 1)].operators[op]
                    .keyed
                    .insert(*group, bytes.clone());
            }
            for entry in &o.list {
                new[next_list % parallelism].operators[op]
                    .list
                    .push(entry.clone());
                next_list += 1;
            }
        }
    }
    new
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> WeirResult<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(WeirError::new("the state file is truncated"));
        };
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> WeirResult<usize> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn bytes(&mut self) -> WeirResult<&'a [u8]> {
        let n = self.u32()?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SubtaskState {
        let mut keyed = BTreeMap::new();
        keyed.insert(3, b"three".to_vec());
        keyed.insert(100, b"hundred".to_vec());
        SubtaskState {
            operators: vec![
                OperatorState::list(vec![b"split-0".to_vec()]),
                OperatorState {
                    keyed,
                    list: vec![],
                },
            ],
        }
    }

    #[test]
    fn encoding_round_trips_and_rejects_damage() {
        let s = sample();
        let bytes = s.encode();
        assert_eq!(SubtaskState::decode(&bytes).unwrap(), s);
        assert_eq!(s.size(), 7 + 5 + 7);
        assert!(SubtaskState::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(SubtaskState::decode(b"PK\x03\x04....").is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SubtaskState::decode(&longer).is_err());
    }

    #[test]
    fn redistribution_follows_key_groups_and_deals_list_entries() {
        let s = sample();
        let other = SubtaskState {
            operators: vec![OperatorState::list(vec![b"split-1".to_vec()])],
        };
        let four = redistribute(&[s.clone(), other.clone()], 4, 128);
        assert_eq!(four.len(), 4);
        // Key group 3 belongs to subtask 0 of 4, key group 100 to subtask 3.
        assert!(four[0].operators[1].keyed.contains_key(&3));
        assert!(four[3].operators[1].keyed.contains_key(&100));
        assert_eq!(four[0].operators[0].list, vec![b"split-0".to_vec()]);
        assert_eq!(four[1].operators[0].list, vec![b"split-1".to_vec()]);
        let one = redistribute(&four, 1, 128);
        assert_eq!(one[0].operators[1].keyed.len(), 2);
        assert_eq!(one[0].operators[0].list.len(), 2);
    }
}
