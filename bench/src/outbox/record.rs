//! Durable `record` throughput: `Outbox::record` against the same rows inserted with the same
//! driver (rusqlite, tokio-postgres) and the same SQL, one transaction per call, as an
//! application without the outbox's grouped commits would.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use billing::UsageEvent;
use billing::outbox::{Destination, Outbox, OutboxConfig, StoreLocation};
use futures::StreamExt;
use serde::Serialize;

/// A record workload: calls of `per_call` events from `callers` concurrent tasks.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Workload {
    /// Events per `record` call.
    pub per_call: usize,
    /// Concurrent callers.
    pub callers: usize,
    /// Events in all.
    pub events: usize,
}

/// Where the rows go.
#[derive(Debug, Clone)]
pub enum Store {
    /// A fresh SQLite file per run in this directory.
    Sqlite(std::path::PathBuf),
    /// A fresh database per run on this server.
    Postgres(&'static billing_conformance::postgres::TempPostgres),
}

impl Store {
    /// `sqlite` or `postgres`.
    pub fn name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// A fresh, empty store location.
    pub async fn fresh(&self, tag: &str) -> anyhow::Result<StoreLocation> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self {
            Store::Sqlite(dir) => {
                let path = dir.join(format!("{tag}-{n}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                Ok(StoreLocation::Sqlite(path))
            }
            Store::Postgres(server) => {
                let url = server
                    .fresh_database(tag)
                    .await
                    .map_err(anyhow::Error::msg)?;
                Ok(StoreLocation::parse(&url)?)
            }
        }
    }
}

/// Records `events` through an outbox on `location`, per the workload; returns the seconds.
pub async fn outbox_side(
    location: StoreLocation,
    events: &[UsageEvent],
    w: Workload,
    destination: Arc<dyn billing::BillingBackend>,
) -> anyhow::Result<f64> {
    let outbox = Outbox::open(
        &OutboxConfig::new(location),
        vec![Destination::new("bench", destination)],
    )
    .await?;
    let calls: Vec<&[UsageEvent]> = events.chunks(w.per_call).collect();
    let started = Instant::now();
    let results: Vec<billing::Result<billing::outbox::Inserted>> = futures::stream::iter(calls)
        .map(|c| {
            let outbox = outbox.clone();
            async move { outbox.record(c).await }
        })
        .buffer_unordered(w.callers)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    let stored: usize = results
        .into_iter()
        .map(|r| r.map(|i| i.stored))
        .collect::<billing::Result<Vec<_>>>()?
        .into_iter()
        .sum();
    anyhow::ensure!(
        stored == events.len(),
        "stored {stored} of {}",
        events.len()
    );
    Ok(secs)
}

/// The same rows with rusqlite: WAL, full sync, one transaction per call, calls one after
/// another (SQLite has one writer).
pub fn sqlite_baseline(path: &Path, events: &[UsageEvent], w: Workload) -> anyhow::Result<f64> {
    use billing::outbox::sqlite::sql;
    use rusqlite::{Connection, TransactionBehavior, params};
    let mut conn = Connection::open(path).context("open SQLite")?;
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(sql::SCHEMA)?;
    let started = Instant::now();
    for call in events.chunks(w.per_call) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut event = tx.prepare_cached(sql::INSERT_EVENT)?;
            let mut delivery = tx.prepare_cached(sql::INSERT_DELIVERY)?;
            let now = billing::chrono::Utc::now().timestamp_millis();
            for e in call {
                let payload = serde_json::to_string(e)?;
                event.execute(params![
                    e.id.as_str(),
                    e.subscription.as_str(),
                    payload,
                    now
                ])?;
                let seq = tx.last_insert_rowid();
                delivery.execute(params![seq, "bench", now])?;
            }
        }
        tx.commit()?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The same rows with tokio-postgres: the same statements, one transaction per call, one
/// connection per caller.
pub async fn postgres_baseline(
    url: &str,
    events: &[UsageEvent],
    w: Workload,
) -> anyhow::Result<f64> {
    use billing::outbox::postgres::sql;
    let mut clients = Vec::new();
    for _ in 0..w.callers {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        clients.push(client);
    }
    if let Some(first) = clients.first_mut() {
        let tx = first.transaction().await?;
        tx.batch_execute(sql::SCHEMA).await?;
        tx.commit().await?;
    }
    let calls: Vec<&[UsageEvent]> = events.chunks(w.per_call).collect();
    let per_caller = calls.len().div_ceil(w.callers.max(1));
    let started = Instant::now();
    let tasks = clients
        .into_iter()
        .zip(calls.chunks(per_caller.max(1)))
        .map(|(mut client, mine)| async move {
            for call in mine {
                let tx = client.transaction().await?;
                let n = i32::try_from(call.len())?;
                let seqs: Vec<i64> = tx
                    .query(sql::NEXT_SEQS, &[&n])
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let ids: Vec<&str> = call.iter().map(|e| e.id.as_str()).collect();
                let subs: Vec<&str> = call.iter().map(|e| e.subscription.as_str()).collect();
                let payloads: Vec<String> = call
                    .iter()
                    .map(serde_json::to_string)
                    .collect::<Result<_, _>>()?;
                let now = billing::chrono::Utc::now().timestamp_millis();
                let stored: Vec<i64> = tx
                    .query(sql::INSERT_EVENTS, &[&seqs, &ids, &subs, &payloads, &now])
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let names: Vec<&str> = vec!["bench"; seqs.len()];
                tx.execute(sql::INSERT_DELIVERIES, &[&seqs, &names, &now, &stored])
                    .await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        });
    for r in futures::future::join_all(tasks).await {
        r?;
    }
    Ok(started.elapsed().as_secs_f64())
}
