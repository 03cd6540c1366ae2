//! Exactly-once for the `Jdbc` sink (`is_exactly_once = true`): the rows between two checkpoints
//! go into one database transaction per writer, prepared when the checkpoint's barrier reaches
//! the writer (PostgreSQL `PREPARE TRANSACTION`, MySQL/MariaDB `XA PREPARE`) and committed when
//! the checkpoint completes (`COMMIT PREPARED` / `XA COMMIT`).
//!
//! Nothing is left locked after a crash because what to do with every prepared transaction
//! follows from its name alone. A transaction is named `<prefix><subtask>-<n>-<attempt>`, where
//! the prefix says which job and which sink, and `n` is one more than the last checkpoint the
//! writer had prepared (or restored from) when it began. Only checkpoint `n` or a later one can
//! prepare it, and a checkpoint between `n` and the one that did prepare it cannot have
//! completed (this writer never acknowledged it). So on a restore from checkpoint `C`, a
//! prepared transaction of the job's sink is committed when `n <= C` and rolled back when
//! `n > C`, by whichever writer finds it first ([`resolve`]); a fresh start rolls back what an
//! earlier attempt of its own subtask left.

use crate::client::Client;
use crate::pg;
use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};
use weir_core::{JobId, WeirError, WeirResult};

/// How a sink's transactions are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XidScheme {
    /// `weir-<job>-<sink>-`: 31 characters, so a name stays inside MySQL's 64-byte gtrid.
    pub prefix: String,
}

impl XidScheme {
    /// The names of job `job`'s sink identified by `sink` (its options, say).
    pub fn new(job: JobId, sink: &str) -> XidScheme {
        let folded = (job.0 >> 64) as u64 ^ job.0 as u64;
        XidScheme {
            prefix: format!(
                "weir-{folded:016x}-{:08x}-",
                weir_core::ids::fnv1a(sink.as_bytes())
            ),
        }
    }

    /// The transaction subtask `subtask` begins after checkpoint `after`, in attempt `attempt`.
    pub fn name(&self, subtask: usize, after: u64, attempt: u32) -> String {
        format!("{}{subtask}-{}-{attempt}", self.prefix, after + 1)
    }
}

/// A transaction name taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xid<'a> {
    pub prefix: &'a str,
    pub subtask: usize,
    /// The first checkpoint that could prepare it.
    pub checkpoint: u64,
}

/// Reads a name [`XidScheme::name`] made; anything else is not weir's.
pub fn parse(gid: &str) -> Option<Xid<'_>> {
    let mut parts = gid.rsplitn(4, '-');
    let _attempt: u32 = parts.next()?.parse().ok()?;
    let checkpoint = parts.next()?.parse().ok()?;
    let subtask = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let prefix = &gid[..rest.len() + 1];
    prefix.starts_with("weir-").then_some(Xid {
        prefix,
        subtask,
        checkpoint,
    })
}

/// What a writer knows when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Restored from checkpoint `checkpoint`; its transactions carry one of these prefixes (the
    /// job's own, and the one of the job that took the checkpoint).
    Restored {
        checkpoint: u64,
        prefixes: Vec<String>,
    },
    /// No checkpoint: what this subtask's earlier attempts of this job prepared is void.
    Fresh { prefix: String, subtask: usize },
}

/// What becomes of a prepared transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Commit,
    Rollback,
}

/// Whether the prepared transaction `gid` is this writer's to resolve, and how.
pub fn resolve(gid: &str, recovery: &Recovery) -> Option<Resolution> {
    let xid = parse(gid)?;
    match recovery {
        Recovery::Restored {
            checkpoint,
            prefixes,
        } => prefixes
            .iter()
            .any(|p| p == xid.prefix)
            .then_some(if xid.checkpoint <= *checkpoint {
                Resolution::Commit
            } else {
                Resolution::Rollback
            }),
        Recovery::Fresh { prefix, subtask } => {
            (xid.prefix == prefix && xid.subtask == *subtask).then_some(Resolution::Rollback)
        }
    }
}

/// What a writer hands to a checkpoint: its prefix, and the transactions it has prepared and
/// not yet seen committed. Every writer hands one at every checkpoint, so a restore learns the
/// prefixes to recover even from writers that had nothing to prepare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committable {
    pub prefix: String,
    pub checkpoint: u64,
    pub prepared: Vec<String>,
}

impl Committable {
    pub fn encode(&self) -> WeirResult<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| WeirError::new(format!("encoding a transaction list: {e}")))
    }

    pub fn decode(bytes: &[u8]) -> WeirResult<Committable> {
        serde_json::from_slice(bytes).map_err(|e| {
            WeirError::new(format!(
                "the restored checkpoint holds a Jdbc transaction list weir cannot read: {e}"
            ))
        })
    }
}

/// Begins transaction `xid` on `client`.
pub async fn begin(client: &mut Client, xid: &str) -> WeirResult<()> {
    match client {
        Client::Pg(c) => c
            .batch_execute("BEGIN")
            .await
            .map_err(pg::error("beginning a transaction")),
        Client::My(c) => c
            .query_drop(format!("XA START '{xid}'"))
            .await
            .map_err(my_err("XA START")),
    }
}

/// Prepares the open transaction `xid`: durable, invisible, and no longer tied to the session.
pub async fn prepare(client: &mut Client, xid: &str) -> WeirResult<()> {
    match client {
        Client::Pg(c) => c
            .batch_execute(&format!("PREPARE TRANSACTION '{xid}'"))
            .await
            .map_err(pg::error("PREPARE TRANSACTION")),
        Client::My(c) => {
            c.query_drop(format!("XA END '{xid}'"))
                .await
                .map_err(my_err("XA END"))?;
            c.query_drop(format!("XA PREPARE '{xid}'"))
                .await
                .map_err(my_err("XA PREPARE"))
        }
    }
}

/// Commits the open transaction `xid` at once (end of input: nothing can roll it back).
pub async fn commit_open(client: &mut Client, xid: &str) -> WeirResult<()> {
    match client {
        Client::Pg(c) => c.batch_execute("COMMIT").await.map_err(pg::error("COMMIT")),
        Client::My(c) => {
            c.query_drop(format!("XA END '{xid}'"))
                .await
                .map_err(my_err("XA END"))?;
            c.query_drop(format!("XA COMMIT '{xid}' ONE PHASE"))
                .await
                .map_err(my_err("XA COMMIT"))
        }
    }
}

/// Commits or rolls back the prepared transaction `xid`. One that no longer exists was
/// resolved already (by another writer's recovery, or an earlier try whose answer was lost).
pub async fn resolve_prepared(client: &mut Client, xid: &str, how: Resolution) -> WeirResult<()> {
    let verb = match (&client, how) {
        (Client::Pg(_), Resolution::Commit) => "COMMIT PREPARED",
        (Client::Pg(_), Resolution::Rollback) => "ROLLBACK PREPARED",
        (Client::My(_), Resolution::Commit) => "XA COMMIT",
        (Client::My(_), Resolution::Rollback) => "XA ROLLBACK",
    };
    let sql = format!("{verb} '{xid}'");
    match client {
        Client::Pg(c) => match c.batch_execute(&sql).await {
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_OBJECT) => {
                Ok(())
            }
            other => other.map_err(pg::error(verb)),
        },
        Client::My(c) => match c.query_drop(sql).await {
            // XAER_NOTA: unknown xid.
            Err(mysql_async::Error::Server(e)) if e.code == 1397 => Ok(()),
            other => other.map_err(my_err(verb)),
        },
    }
}

/// The prepared transactions on the server whose names start with one of `prefixes`.
pub async fn list_prepared(client: &mut Client, prefixes: &[String]) -> WeirResult<Vec<String>> {
    let all: Vec<String> = match client {
        Client::Pg(c) => c
            .query(
                "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()",
                &[],
            )
            .await
            .map_err(pg::error("reading pg_prepared_xacts"))?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect(),
        Client::My(c) => c
            .query::<(i64, i64, i64, Vec<u8>), _>("XA RECOVER")
            .await
            .map_err(my_err("XA RECOVER"))?
            .into_iter()
            .filter(|(_, _, bqual, _)| *bqual == 0)
            .map(|(_, gtrid, _, data)| {
                let n = usize::try_from(gtrid).unwrap_or(0).min(data.len());
                String::from_utf8_lossy(&data[..n]).into_owned()
            })
            .collect(),
    };
    Ok(all
        .into_iter()
        .filter(|g| prefixes.iter().any(|p| g.starts_with(p.as_str())))
        .collect())
}

/// Checks the server can prepare transactions at all.
pub async fn check_supported(client: &mut Client) -> WeirResult<()> {
    if let Client::Pg(c) = client {
        let row = c
            .query_one(
                "SELECT current_setting('max_prepared_transactions')::int",
                &[],
            )
            .await
            .map_err(pg::error("reading max_prepared_transactions"))?;
        if row.get::<_, i32>(0) == 0 {
            return Err(WeirError::new(
                "is_exactly_once needs prepared transactions, and this PostgreSQL server has max_prepared_transactions = 0",
            )
            .with_hint("set max_prepared_transactions (at least the sink's parallelism times 2) in postgresql.conf and restart the server"));
        }
    }
    Ok(())
}

/// Sets how long the session may sit in an open transaction (`transaction_timeout_sec`): after
/// it the server ends the session and rolls the transaction back, and the job restarts from
/// its last checkpoint.
pub async fn set_timeout(client: &mut Client, seconds: u32) -> WeirResult<()> {
    match client {
        Client::Pg(c) => c
            .batch_execute(&format!(
                "SET idle_in_transaction_session_timeout = {}",
                u64::from(seconds) * 1000
            ))
            .await
            .map_err(pg::error("setting transaction_timeout_sec")),
        Client::My(c) => c
            .query_drop(format!("SET SESSION idle_transaction_timeout = {seconds}"))
            .await
            .map_err(|e| {
                WeirError::new(format!("setting transaction_timeout_sec: {e}"))
                    .with_hint("MariaDB has idle_transaction_timeout; on MySQL leave transaction_timeout_sec out")
            }),
    }
}

fn my_err(what: &'static str) -> impl Fn(mysql_async::Error) -> WeirError {
    move |e| WeirError::new(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheme() -> XidScheme {
        XidScheme::new(JobId(0x1234), "jdbc:postgresql://h/db|public.t")
    }

    #[test]
    fn names_fit_a_mysql_gtrid_and_parse_back() {
        let s = scheme();
        let name = s.name(999, 9_999_999_999, 99_999);
        assert!(name.len() <= 64, "{name}");
        let x = parse(&name).unwrap();
        assert_eq!(
            (x.prefix, x.subtask, x.checkpoint),
            (s.prefix.as_str(), 999, 10_000_000_000)
        );
        assert_eq!(parse("someone-elses-xid"), None);
        assert_eq!(parse("weir-x-1-2"), None);
    }

    #[test]
    fn sinks_and_jobs_get_their_own_prefix() {
        assert_ne!(
            scheme(),
            XidScheme::new(JobId(0x1234), "jdbc:postgresql://h/db|public.u")
        );
        assert_ne!(
            scheme(),
            XidScheme::new(JobId(0x1235), "jdbc:postgresql://h/db|public.t")
        );
    }

    #[test]
    fn a_restore_commits_what_its_checkpoint_covers_and_rolls_back_the_rest() {
        let s = scheme();
        let r = Recovery::Restored {
            checkpoint: 7,
            prefixes: vec![s.prefix.clone()],
        };
        // Begun after checkpoint 6: prepared by 7, which completed.
        assert_eq!(resolve(&s.name(1, 6, 0), &r), Some(Resolution::Commit));
        assert_eq!(resolve(&s.name(0, 2, 0), &r), Some(Resolution::Commit));
        // Begun after 7: written after the checkpoint, replayed from it.
        assert_eq!(resolve(&s.name(0, 7, 3), &r), Some(Resolution::Rollback));
        let other = XidScheme::new(JobId(9), "x");
        assert_eq!(resolve(&other.name(0, 1, 0), &r), None);
    }

    #[test]
    fn a_fresh_start_voids_only_its_own_subtask() {
        let s = scheme();
        let r = Recovery::Fresh {
            prefix: s.prefix.clone(),
            subtask: 1,
        };
        assert_eq!(resolve(&s.name(1, 0, 0), &r), Some(Resolution::Rollback));
        assert_eq!(resolve(&s.name(0, 0, 0), &r), None);
    }

    #[test]
    fn committables_round_trip() {
        let c = Committable {
            prefix: scheme().prefix,
            checkpoint: 3,
            prepared: vec![scheme().name(0, 2, 0)],
        };
        assert_eq!(Committable::decode(&c.encode().unwrap()).unwrap(), c);
        assert!(Committable::decode(b"nope").is_err());
    }
}
