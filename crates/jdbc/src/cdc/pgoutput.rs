//! Decoding PostgreSQL's `pgoutput` logical replication messages (protocol version 1) that
//! carry row changes: `Relation` (a table's columns), `Insert`, `Update`, `Delete` and
//! `Truncate`. Begin and Commit are decoded by `pgwire-replication`; `Type` and `Origin` are
//! skipped. Pure: bytes in, typed messages out, every length checked.

use bytes::Bytes;

/// One column of a relation as the stream describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
    /// Part of the replica identity (the key the old row is sent by).
    pub key: bool,
}

/// A table, sent before the first change of it in a session and again after it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub oid: u32,
    pub namespace: String,
    pub name: String,
    /// `d` default (primary key), `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    pub columns: Vec<RelationColumn>,
}

/// One column's value in a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    /// A TOASTed value the update did not change (sent only in the new row).
    Unchanged,
    Text(Bytes),
    Binary(Bytes),
}

/// A row of a change.
pub type Tuple = Vec<Cell>;

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Relation(Relation),
    Insert {
        relation: u32,
        new: Tuple,
    },
    Update {
        relation: u32,
        /// The old row: whole (`REPLICA IDENTITY FULL`) or its key columns, when sent.
        old: Option<Tuple>,
        new: Tuple,
    },
    Delete {
        relation: u32,
        old: Tuple,
    },
    Truncate {
        relations: Vec<u32>,
    },
    /// Begin, Commit, Type, Origin, Message: nothing for the reader to do.
    Other(u8),
}

struct Reader<'a> {
    buf: &'a Bytes,
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.buf.len());
        let end =
            end.ok_or_else(|| format!("a pgoutput message ends early (at byte {})", self.at))?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn i16(&mut self) -> Result<i16, String> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(self.i32()? as u32)
    }

    fn cstr(&mut self) -> Result<String, String> {
        let rest = &self.buf[self.at..];
        let n = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or("a pgoutput string has no end")?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.at += n + 1;
        Ok(s)
    }

    fn tuple(&mut self) -> Result<Tuple, String> {
        let n = self.i16()?;
        let mut cells = Vec::with_capacity(n.max(0) as usize);
        for _ in 0..n {
            cells.push(match self.u8()? {
                b'n' => Cell::Null,
                b'u' => Cell::Unchanged,
                kind @ (b't' | b'b') => {
                    let len = self.i32()?;
                    let len = usize::try_from(len).map_err(|_| "a negative value length")?;
                    let start = self.at;
                    self.take(len)?;
                    let value = self.buf.slice(start..start + len);
                    if kind == b't' {
                        Cell::Text(value)
                    } else {
                        Cell::Binary(value)
                    }
                }
                other => return Err(format!("unknown pgoutput value kind {:?}", other as char)),
            });
        }
        Ok(cells)
    }
}

/// Decodes one `pgoutput` message.
pub fn decode(buf: &Bytes) -> Result<Message, String> {
    let mut r = Reader { buf, at: 0 };
    let tag = r.u8()?;
    Ok(match tag {
        b'R' => {
            let oid = r.u32()?;
            let namespace = r.cstr()?;
            let name = r.cstr()?;
            let replica_identity = r.u8()?;
            let n = r.i16()?;
            let mut columns = Vec::with_capacity(n.max(0) as usize);
            for _ in 0..n {
                let flags = r.u8()?;
                columns.push(RelationColumn {
                    name: r.cstr()?,
                    type_oid: r.u32()?,
                    type_modifier: r.i32()?,
                    key: flags & 1 == 1,
                });
            }
            Message::Relation(Relation {
                oid,
                namespace,
                name,
                replica_identity,
                columns,
            })
        }
        b'I' => {
            let relation = r.u32()?;
            expect(&mut r, b'N')?;
            Message::Insert {
                relation,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let relation = r.u32()?;
            let mut old = None;
            let mut marker = r.u8()?;
            if marker == b'K' || marker == b'O' {
                old = Some(r.tuple()?);
                marker = r.u8()?;
            }
            if marker != b'N' {
                return Err(format!(
                    "an update without its new row (got {:?})",
                    marker as char
                ));
            }
            Message::Update {
                relation,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation = r.u32()?;
            let marker = r.u8()?;
            if marker != b'K' && marker != b'O' {
                return Err(format!(
                    "a delete without its old row (got {:?})",
                    marker as char
                ));
            }
            Message::Delete {
                relation,
                old: r.tuple()?,
            }
        }
        b'T' => {
            let n = r.i32()?;
            let _options = r.u8()?;
            let mut relations = Vec::with_capacity(n.clamp(0, 1024) as usize);
            for _ in 0..n {
                relations.push(r.u32()?);
            }
            Message::Truncate { relations }
        }
        other => Message::Other(other),
    })
}

fn expect(r: &mut Reader<'_>, want: u8) -> Result<(), String> {
    let got = r.u8()?;
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "expected {:?} in a pgoutput message, got {:?}",
            want as char, got as char
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(cells: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (cells.len() as i16).to_be_bytes().to_vec();
        for c in cells {
            match c {
                None => out.push(b'n'),
                Some(v) => {
                    out.push(b'b');
                    out.extend((v.len() as i32).to_be_bytes());
                    out.extend(*v);
                }
            }
        }
        out
    }

    #[test]
    fn relations_name_their_columns_and_key() {
        let mut m = vec![b'R'];
        m.extend(16384u32.to_be_bytes());
        m.extend(b"public\0items\0");
        m.push(b'f');
        m.extend(2i16.to_be_bytes());
        m.push(1);
        m.extend(b"id\0");
        m.extend(20u32.to_be_bytes());
        m.extend((-1i32).to_be_bytes());
        m.push(0);
        m.extend(b"name\0");
        m.extend(25u32.to_be_bytes());
        m.extend((-1i32).to_be_bytes());
        let Message::Relation(r) = decode(&Bytes::from(m)).unwrap() else {
            panic!("a relation")
        };
        assert_eq!(
            (r.oid, r.namespace.as_str(), r.name.as_str()),
            (16384, "public", "items")
        );
        assert_eq!(r.replica_identity, b'f');
        assert!(r.columns[0].key && !r.columns[1].key);
        assert_eq!(r.columns[1].type_oid, 25);
    }

    #[test]
    fn updates_carry_the_old_row_when_sent_and_values_in_binary() {
        let mut m = vec![b'U'];
        m.extend(7u32.to_be_bytes());
        m.push(b'O');
        m.extend(tuple(&[Some(&1i64.to_be_bytes()), Some(b"a")]));
        m.push(b'N');
        m.extend(tuple(&[Some(&1i64.to_be_bytes()), None]));
        let got = decode(&Bytes::from(m)).unwrap();
        let Message::Update { relation, old, new } = got else {
            panic!("an update")
        };
        assert_eq!(relation, 7);
        assert_eq!(old.unwrap()[1], Cell::Binary(Bytes::from_static(b"a")));
        assert_eq!(new[1], Cell::Null);
    }

    #[test]
    fn a_short_message_is_an_error_not_a_panic() {
        let mut m = vec![b'I'];
        m.extend(7u32.to_be_bytes());
        m.push(b'N');
        m.extend(1i16.to_be_bytes());
        m.push(b'b');
        m.extend(100i32.to_be_bytes());
        assert!(decode(&Bytes::from(m)).unwrap_err().contains("ends early"));
        assert!(decode(&Bytes::from_static(b"D\0\0\0\x07X")).is_err());
        assert_eq!(decode(&Bytes::from_static(b"Y")), Ok(Message::Other(b'Y')));
    }
}
