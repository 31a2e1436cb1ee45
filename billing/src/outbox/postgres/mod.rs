//! The PostgreSQL store: one database shared by every process of an application. Processes
//! claim deliveries with `FOR UPDATE SKIP LOCKED` and a lease, so each delivery is sent by one
//! process at a time, and a process that dies leaves its batch to the others when the lease
//! expires.
//!
//! Concurrent `record` calls of a process are committed together on a few connections of their
//! own; claims, settlements and the rest share another connection.

mod conn;
mod error;
pub mod sql;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use billing_core::{Error, Result};
use tokio::sync::{mpsc, oneshot};

use self::conn::Conn;
use self::error::pg_error;
use super::location::PostgresUrl;
use super::store::{
    ClaimRequest, Claimed, DeliveryId, DestinationCounts, Inserted, ListQuery, Millis, NewEvent,
    OutboxStore, Parked, ParkedRow, Selection, Settle, StoredError,
};

/// Most events one grouped transaction takes.
const GROUP_MAX_EVENTS: usize = 20_000;

/// Connections committing records.
const WRITERS: usize = 3;

struct InsertJob {
    events: Vec<NewEvent>,
    now: Millis,
    reply: oneshot::Sender<Result<Inserted>>,
}

/// An outbox store in a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    url: PostgresUrl,
    ops: Conn,
    inserts: mpsc::UnboundedSender<InsertJob>,
}

impl std::fmt::Debug for InsertJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InsertJob({} events)", self.events.len())
    }
}

impl PostgresStore {
    /// Connects to the database at `url` and creates the outbox's tables if they are missing.
    ///
    /// # Errors
    /// `Config` for a malformed URL, `Unavailable` if the server cannot be reached,
    /// `Unauthenticated` for refused credentials; never showing the password.
    pub async fn connect(url: &PostgresUrl) -> Result<Self> {
        Self::connect_with(url, false).await
    }

    pub(crate) async fn connect_with(url: &PostgresUrl, read_only: bool) -> Result<Self> {
        let ops = Conn::new(url.clone(), read_only);
        ops.open().await?;
        let (inserts, rx) = mpsc::unbounded_channel();
        // A few writers take turns at the queue: each commits what queued up while the others
        // were committing, so grouping and the server's parallel commits add up.
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(write_loop(
                Conn::new(url.clone(), read_only),
                Arc::clone(&rx),
            ));
        }
        Ok(Self {
            url: url.clone(),
            ops,
            inserts,
        })
    }

    /// The database, without its password.
    pub fn url(&self) -> &PostgresUrl {
        &self.url
    }
}

/// Commits queued inserts, grouped, until the store is dropped.
async fn write_loop(conn: Conn, jobs: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<InsertJob>>>) {
    loop {
        let group = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut size = first.events.len();
            let mut group = vec![first];
            while size < GROUP_MAX_EVENTS {
                match jobs.try_recv() {
                    Ok(job) => {
                        size += job.events.len();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        let batches: Vec<&[NewEvent]> = group.iter().map(|j| j.events.as_slice()).collect();
        let now = group.iter().map(|j| j.now).max().unwrap_or_default();
        match insert(&conn, &batches, now).await {
            Ok(results) => {
                for (job, result) in group.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) if group.len() == 1 => {
                for job in group {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
            Err(_) => {
                // One caller's problem is not another's: each alone.
                for job in group {
                    let result = insert(&conn, &[job.events.as_slice()], job.now)
                        .await
                        .map(|r| r.into_iter().next().unwrap_or_default());
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

/// Inserts every batch in one transaction; one result per batch.
async fn insert(conn: &Conn, batches: &[&[NewEvent]], now: Millis) -> Result<Vec<Inserted>> {
    let total: usize = batches.iter().map(|b| b.len()).sum();
    let mut guard = conn.get().await?;
    let client = guard.as_mut().ok_or_else(lost)?;
    let tx = client.transaction().await.map_err(pg_error)?;
    let count = i32::try_from(total).map_err(|_| Error::invalid_input("too many events"))?;
    let seqs: Vec<i64> = tx
        .query(sql::NEXT_SEQS, &[&count])
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let events = batches.iter().flat_map(|b| b.iter());
    let ids: Vec<&str> = events.clone().map(|e| e.event_id.as_str()).collect();
    let subs: Vec<&str> = events.clone().map(|e| e.subscription.as_str()).collect();
    let payloads: Vec<&str> = events.clone().map(|e| e.payload.as_str()).collect();
    let stored: Vec<i64> = tx
        .query(sql::INSERT_EVENTS, &[&seqs, &ids, &subs, &payloads, &now])
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut d_seqs = Vec::new();
    let mut d_names: Vec<&str> = Vec::new();
    for (seq, e) in seqs.iter().zip(events) {
        for d in &e.destinations {
            d_seqs.push(*seq);
            d_names.push(d);
        }
    }
    tx.execute(sql::INSERT_DELIVERIES, &[&d_seqs, &d_names, &now, &stored])
        .await
        .map_err(pg_error)?;
    tx.commit().await.map_err(pg_error)?;
    let stored: HashSet<i64> = stored.into_iter().collect();
    let mut results = Vec::with_capacity(batches.len());
    let mut next = seqs.iter();
    for b in batches {
        let mut r = Inserted::default();
        for seq in next.by_ref().take(b.len()) {
            if stored.contains(seq) {
                r.stored += 1;
            } else {
                r.already_queued += 1;
            }
        }
        results.push(r);
    }
    Ok(results)
}

fn lost() -> Error {
    Error::unexpected("the outbox's PostgreSQL connection is missing").with_backend("outbox")
}

fn stopped() -> Error {
    Error::unexpected("the outbox's PostgreSQL writer stopped").with_backend("outbox")
}

/// The selection as (destination, seqs, destinations) parameters.
fn selection_params(
    selection: &Selection,
) -> (Option<String>, Option<Vec<i64>>, Option<Vec<String>>) {
    match selection {
        Selection::All => (None, None, None),
        Selection::Destination(d) => (Some(d.clone()), None, None),
        Selection::Ids(ids) => (
            None,
            Some(ids.iter().map(|i| i.seq).collect()),
            Some(ids.iter().map(|i| i.destination.clone()).collect()),
        ),
    }
}

#[async_trait]
impl OutboxStore for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn insert(&self, events: Vec<NewEvent>, now: Millis) -> Result<Inserted> {
        let (reply, rx) = oneshot::channel();
        self.inserts
            .send(InsertJob { events, now, reply })
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    async fn claim(&self, r: ClaimRequest) -> Result<Vec<Claimed>> {
        let limit = i64::try_from(r.limit).unwrap_or(i64::MAX);
        let guard = self.ops.get().await?;
        let client = guard.as_ref().ok_or_else(lost)?;
        let rows = client
            .query(
                sql::CLAIM,
                &[&r.destination, &r.now, &limit, &r.owner, &r.lease_until],
            )
            .await
            .map_err(pg_error)?;
        let mut claimed: Vec<Claimed> = rows
            .iter()
            .map(|row| Claimed {
                seq: row.get(0),
                attempts: u32::try_from(row.get::<_, i32>(1)).unwrap_or(0),
                abandoned: row.get(2),
                payload: row.get(3),
            })
            .collect();
        claimed.sort_by_key(|c| c.seq);
        Ok(claimed)
    }

    async fn settle(
        &self,
        destination: String,
        owner: String,
        now: Millis,
        settlements: Vec<Settle>,
    ) -> Result<usize> {
        let mut done = Vec::new();
        let (mut seqs, mut states, mut ats) = (Vec::new(), Vec::<i16>::new(), Vec::new());
        let (mut kinds, mut statuses, mut codes, mut messages) = (
            Vec::new(),
            Vec::<Option<i32>>::new(),
            Vec::new(),
            Vec::new(),
        );
        for s in &settlements {
            let Some((state, at, e)) = s.settlement.kept_as(now) else {
                done.push(s.seq);
                continue;
            };
            seqs.push(s.seq);
            states.push(state);
            ats.push(at);
            kinds.push(e.kind.clone());
            statuses.push(e.status.map(i32::from));
            codes.push(e.code.clone());
            messages.push(e.message.clone());
        }
        let mut guard = self.ops.get().await?;
        let client = guard.as_mut().ok_or_else(lost)?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // Not waiting for the WAL flush: a settlement the server loses in a crash falls back to
        // the lease (resent where the vendor deduplicates, held otherwise). Claims and records
        // keep the server's synchronous commit.
        tx.batch_execute("SET LOCAL synchronous_commit = off")
            .await
            .map_err(pg_error)?;
        let mut settled = 0;
        if !done.is_empty() {
            tx.execute(sql::LOCK_EVENTS, &[&done])
                .await
                .map_err(pg_error)?;
            let removed = tx
                .query(sql::DELETE_DONE, &[&destination, &owner, &done])
                .await
                .map_err(pg_error)?;
            settled += removed.len();
            tx.execute(sql::DELETE_EVENTS_IF_DONE, &[&done])
                .await
                .map_err(pg_error)?;
        }
        if !seqs.is_empty() {
            settled += usize::try_from(
                tx.execute(
                    sql::UNLEASE,
                    &[
                        &destination,
                        &owner,
                        &now,
                        &seqs,
                        &states,
                        &ats,
                        &kinds,
                        &statuses,
                        &codes,
                        &messages,
                    ],
                )
                .await
                .map_err(pg_error)?,
            )
            .unwrap_or(usize::MAX);
        }
        tx.commit().await.map_err(pg_error)?;
        Ok((done.len() + seqs.len()).saturating_sub(settled))
    }

    async fn next_due(&self, destination: String) -> Result<Option<Millis>> {
        let guard = self.ops.get().await?;
        let client = guard.as_ref().ok_or_else(lost)?;
        let row = client
            .query_one(sql::NEXT_DUE, &[&destination])
            .await
            .map_err(pg_error)?;
        Ok(row.get(0))
    }

    async fn counts(&self, now: Millis) -> Result<Vec<DestinationCounts>> {
        let guard = self.ops.get().await?;
        let client = guard.as_ref().ok_or_else(lost)?;
        let rows = client.query(sql::COUNTS, &[&now]).await.map_err(pg_error)?;
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .iter()
            .map(|r| DestinationCounts {
                destination: r.get(0),
                pending: count(r.get(1)),
                in_flight: count(r.get(2)),
                dead_letters: count(r.get(3)),
                held_unknown: count(r.get(4)),
                oldest_pending: r.get(5),
            })
            .collect())
    }

    async fn list(&self, kind: Parked, query: ListQuery) -> Result<Vec<ParkedRow>> {
        let (after_seq, after_dest) = query
            .after
            .map_or((-1, String::new()), |a| (a.seq, a.destination));
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let guard = self.ops.get().await?;
        let client = guard.as_ref().ok_or_else(lost)?;
        let rows = client
            .query(
                sql::LIST_PARKED,
                &[
                    &kind.state(),
                    &query.destination,
                    &after_seq,
                    &after_dest,
                    &limit,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(rows
            .iter()
            .map(|r| ParkedRow {
                id: DeliveryId {
                    seq: r.get(0),
                    destination: r.get(1),
                },
                payload: r.get(2),
                attempts: u32::try_from(r.get::<_, i32>(3)).unwrap_or(0),
                error: StoredError {
                    kind: r.get::<_, Option<String>>(4).unwrap_or_default(),
                    status: r
                        .get::<_, Option<i32>>(5)
                        .and_then(|s| u16::try_from(s).ok()),
                    code: r.get(6),
                    message: r.get::<_, Option<String>>(7).unwrap_or_default(),
                },
                since: r.get(8),
            })
            .collect())
    }

    async fn redrive(&self, kind: Parked, selection: Selection, now: Millis) -> Result<u64> {
        let (destination, seqs, names) = selection_params(&selection);
        let guard = self.ops.get().await?;
        let client = guard.as_ref().ok_or_else(lost)?;
        client
            .execute(
                sql::REDRIVE,
                &[&kind.state(), &now, &destination, &seqs, &names],
            )
            .await
            .map_err(pg_error)
    }

    async fn mark_done(&self, kind: Parked, selection: Selection) -> Result<u64> {
        let (destination, seqs, names) = selection_params(&selection);
        let mut guard = self.ops.get().await?;
        let client = guard.as_mut().ok_or_else(lost)?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let n = tx
            .execute(
                sql::MARK_DONE,
                &[&kind.state(), &destination, &seqs, &names],
            )
            .await
            .map_err(pg_error)?;
        tx.execute(sql::DELETE_ORPHAN_EVENTS, &[])
            .await
            .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
        Ok(n)
    }
}
