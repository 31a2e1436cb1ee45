//! The SQLite store: one file in WAL mode, driven by `rusqlite` on a thread of its own, so no
//! async thread ever waits for the disk.
//!
//! Concurrent `record` calls are committed together: while one transaction is being written
//! (and synced), the calls that arrive queue up, and the next transaction takes them all.

mod error;
mod ops;
pub mod sql;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use billing_core::{Error, Result};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::store::{
    ClaimRequest, Claimed, DestinationCounts, Inserted, ListQuery, Millis, NewEvent, OutboxStore,
    Parked, ParkedRow, Selection, Settle,
};
pub(crate) use ops::OpenOptions;

/// Most events one grouped transaction takes (the rest wait for the next one).
const GROUP_MAX_EVENTS: usize = 20_000;

type Reply<T> = oneshot::Sender<Result<T>>;

enum Job {
    Insert {
        events: Vec<NewEvent>,
        now: Millis,
        reply: Reply<Inserted>,
    },
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// An outbox store in a SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    jobs: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Insert { events, .. } => write!(f, "Insert({} events)", events.len()),
            Job::Run(_) => f.write_str("Run"),
        }
    }
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`, with its directory.
    ///
    /// # Errors
    /// The store's error (`Unavailable`, `PermissionDenied`, ...) naming what is wrong.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), OpenOptions::default()).await
    }

    pub(crate) async fn open_with(path: &Path, options: OpenOptions) -> Result<Self> {
        let path = path.to_path_buf();
        let (ready_tx, ready_rx) = oneshot::channel();
        let (jobs, rx) = mpsc::unbounded_channel();
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("billing-outbox-sqlite".into())
            .spawn(move || match ops::open(&thread_path, options) {
                Ok(conn) => {
                    let _ = ready_tx.send(Ok(()));
                    serve(conn, rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| {
                Error::unexpected(format!("cannot start the outbox's SQLite thread: {e}"))
                    .with_backend("outbox")
            })?;
        ready_rx.await.map_err(|_| stopped())??;
        Ok(Self { path, jobs })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::Run(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            })))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::unexpected("the outbox's SQLite thread stopped").with_backend("outbox")
}

/// The store's thread: runs jobs in arrival order, grouping queued inserts into one
/// transaction. Ends when the store is dropped.
fn serve(mut conn: Connection, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = jobs.blocking_recv() {
        match job {
            Job::Run(f) => f(&mut conn),
            Job::Insert { events, now, reply } => {
                let mut group = vec![(events, now, reply)];
                let mut later = Vec::new();
                let mut size = group[0].0.len();
                while size < GROUP_MAX_EVENTS {
                    match jobs.try_recv() {
                        Ok(Job::Insert { events, now, reply }) => {
                            size += events.len();
                            group.push((events, now, reply));
                        }
                        Ok(run) => later.push(run),
                        Err(_) => break,
                    }
                }
                commit_group(&mut conn, group);
                for job in later {
                    if let Job::Run(f) = job {
                        f(&mut conn);
                    }
                }
            }
        }
    }
}

/// Commits a group of inserts in one transaction. If it fails and the group has several
/// callers, each is tried alone, so one caller's problem is not another's.
fn commit_group(conn: &mut Connection, group: Vec<(Vec<NewEvent>, Millis, Reply<Inserted>)>) {
    let (batches, replies): (Vec<_>, Vec<_>) = group
        .into_iter()
        .map(|(events, now, reply)| ((events, now), reply))
        .unzip();
    match ops::insert(conn, &batches) {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(e) if replies.len() == 1 => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
        Err(_) => {
            for (batch, reply) in batches.into_iter().zip(replies) {
                let result = ops::insert(conn, std::slice::from_ref(&batch))
                    .map(|r| r.into_iter().next().unwrap_or_default());
                let _ = reply.send(result);
            }
        }
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn insert(&self, events: Vec<NewEvent>, now: Millis) -> Result<Inserted> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Insert { events, now, reply })
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    async fn claim(&self, request: ClaimRequest) -> Result<Vec<Claimed>> {
        self.run(move |c| ops::claim(c, &request)).await
    }

    async fn settle(
        &self,
        destination: String,
        owner: String,
        now: Millis,
        settlements: Vec<Settle>,
    ) -> Result<usize> {
        self.run(move |c| ops::settle(c, &destination, &owner, now, &settlements))
            .await
    }

    async fn next_due(&self, destination: String) -> Result<Option<Millis>> {
        self.run(move |c| ops::next_due(c, &destination)).await
    }

    async fn counts(&self, now: Millis) -> Result<Vec<DestinationCounts>> {
        self.run(move |c| ops::counts(c, now)).await
    }

    async fn list(&self, kind: Parked, query: ListQuery) -> Result<Vec<ParkedRow>> {
        self.run(move |c| ops::list(c, kind, &query)).await
    }

    async fn redrive(&self, kind: Parked, selection: Selection, now: Millis) -> Result<u64> {
        self.run(move |c| ops::redrive(c, kind, &selection, now))
            .await
    }

    async fn mark_done(&self, kind: Parked, selection: Selection) -> Result<u64> {
        self.run(move |c| ops::mark_done(c, kind, &selection)).await
    }
}
