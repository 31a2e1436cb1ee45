//! The store's operations on a SQLite connection, each in one transaction. They block: the
//! store runs them on its own thread.

use std::path::Path;

use billing_core::{Error, Result};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::error::sqlite_error;
use super::sql;
use crate::outbox::store::{
    ClaimRequest, Claimed, DeliveryId, DestinationCounts, Inserted, ListQuery, Millis, NewEvent,
    Parked, ParkedRow, Selection, Settle, StoredError,
};

/// How the file is opened.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenOptions {
    pub(crate) max_bytes: Option<u64>,
    pub(crate) read_only: bool,
}

/// Opens (creating if needed) the database: WAL journal, full sync on commit (a commit survives
/// a power loss, not only a crash), the schema.
pub(crate) fn open(path: &Path, options: OpenOptions) -> Result<Connection> {
    if !options.read_only
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::new(
                billing_core::ErrorKind::Unavailable,
                format!(
                    "cannot create the outbox's directory {}: {e}",
                    dir.display()
                ),
            )
            .with_backend("outbox")
            .with_temporary(false)
        })?;
    }
    let flags = if options.read_only {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sqlite_error)?;
    if !options.read_only {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sqlite_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::unexpected(format!(
                "the outbox's SQLite file stays in journal mode `{mode}`, not WAL"
            ))
            .with_backend("outbox"));
        }
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite_error)?;
    if let Some(max) = options.max_bytes {
        let page: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(sqlite_error)?;
        let pages = i64::try_from(max).unwrap_or(i64::MAX) / page.max(512);
        conn.pragma_update(None, "max_page_count", pages)
            .map_err(sqlite_error)?;
    }
    if !options.read_only {
        conn.execute_batch(sql::SCHEMA).map_err(sqlite_error)?;
    }
    check_version(&conn)?;
    if options.read_only {
        // Every write now fails with SQLITE_READONLY.
        conn.pragma_update(None, "query_only", true)
            .map_err(sqlite_error)?;
    }
    Ok(conn)
}

fn check_version(conn: &Connection) -> Result<()> {
    let version: Option<String> = conn
        .query_row(sql::SELECT_VERSION, [], |r| r.get(0))
        .optional()
        .map_err(sqlite_error)?;
    match version.as_deref() {
        Some(sql::SCHEMA_VERSION) => Ok(()),
        other => Err(Error::unexpected(format!(
            "the outbox's schema version is {other:?}; this build reads version {}",
            sql::SCHEMA_VERSION
        ))
        .with_backend("outbox")),
    }
}

fn immediate(conn: &mut Connection) -> Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error)
}

/// Inserts every batch in one transaction.
pub(crate) fn insert(
    conn: &mut Connection,
    batches: &[(Vec<NewEvent>, Millis)],
) -> Result<Vec<Inserted>> {
    let tx = immediate(conn)?;
    let mut results = Vec::with_capacity(batches.len());
    {
        let mut event = tx.prepare_cached(sql::INSERT_EVENT).map_err(sqlite_error)?;
        let mut delivery = tx
            .prepare_cached(sql::INSERT_DELIVERY)
            .map_err(sqlite_error)?;
        for (events, now) in batches {
            let mut done = Inserted::default();
            for e in events {
                let changed = event
                    .execute(params![e.event_id, e.subscription, e.payload, now])
                    .map_err(sqlite_error)?;
                if changed == 0 {
                    done.already_queued += 1;
                    continue;
                }
                let seq = tx.last_insert_rowid();
                for d in &e.destinations {
                    delivery
                        .execute(params![seq, d, now])
                        .map_err(sqlite_error)?;
                }
                done.stored += 1;
            }
            results.push(done);
        }
    }
    tx.commit().map_err(sqlite_error)?;
    Ok(results)
}

pub(crate) fn claim(conn: &mut Connection, request: &ClaimRequest) -> Result<Vec<Claimed>> {
    let tx = immediate(conn)?;
    let limit = i64::try_from(request.limit).unwrap_or(i64::MAX);
    let claimed: Vec<Claimed> = {
        let mut due = tx.prepare_cached(sql::SELECT_DUE).map_err(sqlite_error)?;
        let rows = due
            .query_map(params![request.destination, request.now, limit], |r| {
                Ok(Claimed {
                    seq: r.get(0)?,
                    attempts: r.get::<_, u32>(1)?.saturating_add(1),
                    abandoned: r.get(2)?,
                    payload: r.get(3)?,
                })
            })
            .map_err(sqlite_error)?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sqlite_error)?
    };
    {
        let mut lease = tx.prepare_cached(sql::LEASE).map_err(sqlite_error)?;
        for c in &claimed {
            lease
                .execute(params![
                    request.destination,
                    c.seq,
                    request.owner,
                    request.lease_until,
                    request.now
                ])
                .map_err(sqlite_error)?;
        }
    }
    tx.commit().map_err(sqlite_error)?;
    Ok(claimed)
}

/// Settlements are committed without waiting for the disk (`synchronous = NORMAL`: durable
/// when the process dies, not necessarily when the machine loses power). Losing one to a power
/// cut is safe: the delivery is back to claimed-and-unsettled, so when its lease expires it is
/// resent where the vendor deduplicates and held otherwise. Claims and records stay fully
/// synced: a claim must be on disk before its batch is sent.
pub(crate) fn settle(
    conn: &mut Connection,
    destination: &str,
    owner: &str,
    now: Millis,
    settlements: &[Settle],
) -> Result<usize> {
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sqlite_error)?;
    let result = settle_in(conn, destination, owner, now, settlements);
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite_error)?;
    result
}

fn settle_in(
    conn: &mut Connection,
    destination: &str,
    owner: &str,
    now: Millis,
    settlements: &[Settle],
) -> Result<usize> {
    let tx = immediate(conn)?;
    let mut lost = 0;
    {
        let mut done = tx.prepare_cached(sql::DELETE_DONE).map_err(sqlite_error)?;
        let mut event = tx
            .prepare_cached(sql::DELETE_EVENT_IF_DONE)
            .map_err(sqlite_error)?;
        let mut unlease = tx.prepare_cached(sql::UNLEASE).map_err(sqlite_error)?;
        for s in settlements {
            let Some((state, at, error)) = s.settlement.kept_as(now) else {
                let n = done
                    .execute(params![destination, s.seq, owner])
                    .map_err(sqlite_error)?;
                if n == 0 {
                    lost += 1;
                } else {
                    event.execute(params![s.seq]).map_err(sqlite_error)?;
                }
                continue;
            };
            let n = unlease
                .execute(params![
                    destination,
                    s.seq,
                    owner,
                    state,
                    at,
                    error.kind,
                    error.status,
                    error.code,
                    error.message,
                    now
                ])
                .map_err(sqlite_error)?;
            if n == 0 {
                lost += 1;
            }
        }
    }
    tx.commit().map_err(sqlite_error)?;
    Ok(lost)
}

pub(crate) fn next_due(conn: &Connection, destination: &str) -> Result<Option<Millis>> {
    conn.prepare_cached(sql::NEXT_DUE)
        .and_then(|mut s| s.query_row(params![destination], |r| r.get(0)))
        .map_err(sqlite_error)
}

pub(crate) fn counts(conn: &Connection, now: Millis) -> Result<Vec<DestinationCounts>> {
    let mut stmt = conn.prepare_cached(sql::COUNTS).map_err(sqlite_error)?;
    let rows = stmt
        .query_map(params![now], |r| {
            Ok(DestinationCounts {
                destination: r.get(0)?,
                pending: r.get(1)?,
                in_flight: r.get(2)?,
                dead_letters: r.get(3)?,
                held_unknown: r.get(4)?,
                oldest_pending: r.get(5)?,
            })
        })
        .map_err(sqlite_error)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sqlite_error)
}

pub(crate) fn list(conn: &Connection, kind: Parked, query: &ListQuery) -> Result<Vec<ParkedRow>> {
    let (after_seq, after_dest) = query
        .after
        .as_ref()
        .map_or((-1, String::new()), |a| (a.seq, a.destination.clone()));
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(sql::LIST_PARKED)
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map(
            params![
                kind.state(),
                query.destination,
                after_seq,
                after_dest,
                limit
            ],
            |r| {
                Ok(ParkedRow {
                    id: DeliveryId {
                        seq: r.get(0)?,
                        destination: r.get(1)?,
                    },
                    payload: r.get(2)?,
                    attempts: r.get(3)?,
                    error: StoredError {
                        kind: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        status: r.get(5)?,
                        code: r.get(6)?,
                        message: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                    },
                    since: r.get(8)?,
                })
            },
        )
        .map_err(sqlite_error)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sqlite_error)
}

/// Runs `base` (an UPDATE or DELETE whose `?1` is the state and whose further leading
/// parameters are `leading`) on the selection; returns the rows changed.
fn on_selection(
    tx: &Transaction<'_>,
    base: &str,
    state: i16,
    leading: Option<Millis>,
    selection: &Selection,
) -> Result<u64> {
    let next = if leading.is_some() { 3 } else { 2 };
    let mut changed = 0_u64;
    let mut run = |extra: String, values: Vec<rusqlite::types::Value>| -> Result<()> {
        let mut all: Vec<rusqlite::types::Value> = vec![i64::from(state).into()];
        if let Some(now) = leading {
            all.push(now.into());
        }
        all.extend(values);
        let n = tx
            .prepare_cached(&format!("{base}{extra}"))
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(all)))
            .map_err(sqlite_error)?;
        changed += n as u64;
        Ok(())
    };
    match selection {
        Selection::All => run(String::new(), Vec::new())?,
        Selection::Destination(d) => run(
            format!(" AND destination = ?{next}"),
            vec![d.clone().into()],
        )?,
        Selection::Ids(ids) => {
            for id in ids {
                run(
                    format!(" AND destination = ?{next} AND event_seq = ?{}", next + 1),
                    vec![id.destination.clone().into(), id.seq.into()],
                )?;
            }
        }
    }
    Ok(changed)
}

pub(crate) fn redrive(
    conn: &mut Connection,
    kind: Parked,
    selection: &Selection,
    now: Millis,
) -> Result<u64> {
    let tx = immediate(conn)?;
    let n = on_selection(&tx, sql::REDRIVE, kind.state(), Some(now), selection)?;
    tx.commit().map_err(sqlite_error)?;
    Ok(n)
}

pub(crate) fn mark_done(conn: &mut Connection, kind: Parked, selection: &Selection) -> Result<u64> {
    let tx = immediate(conn)?;
    let n = on_selection(&tx, sql::MARK_DONE, kind.state(), None, selection)?;
    tx.execute(sql::DELETE_ORPHAN_EVENTS, [])
        .map_err(sqlite_error)?;
    tx.commit().map_err(sqlite_error)?;
    Ok(n)
}
