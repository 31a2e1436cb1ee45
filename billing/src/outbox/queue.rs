//! [`Outbox`]: record events durably, start delivery, and look after what is left.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use billing_core::chrono::{DateTime, TimeZone, Utc};
use billing_core::{Error, Result, UsageEvent};
use tokio::sync::{Notify, watch};

use super::clock::now_ms;
use super::config::OutboxConfig;
use super::counters::{Counters, DeliveryCounters};
use super::delivery::{Engine, Lane};
use super::destination::Destination;
use super::open::open_store;
use super::running::Delivery;
use super::stats::OutboxStats;
use super::store::{
    DeliveryId, Inserted, ListQuery, NewEvent, OutboxStore, Parked, Selection, StoredError,
};

/// A durable queue of usage events in front of one or more billing backends.
///
/// ```no_run
/// use std::sync::Arc;
/// use billing::outbox::{Destination, Outbox, OutboxConfig};
/// # async fn run(backend: Arc<dyn billing::BillingBackend>, events: Vec<billing::UsageEvent>)
/// #     -> billing::Result<()> {
/// let outbox = Outbox::open(
///     &OutboxConfig::sqlite("/var/lib/myapp/billing-outbox.db"),
///     vec![Destination::new("lago", backend)],
/// )
/// .await?;
/// let delivery = outbox.start();          // sends in the background
/// outbox.record(&events).await?;          // returns once the events are on disk
/// // ... at shutdown: deliver what can be delivered within 10 s, keep the rest for next time
/// let left = delivery.drain(std::time::Duration::from_secs(10)).await?;
/// # Ok(()) }
/// ```
///
/// Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    destinations: Vec<Destination>,
    wakes: BTreeMap<String, Arc<Notify>>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("store", &self.inner.engine.store)
            .field("destinations", &self.inner.destinations)
            .field("owner", &self.inner.engine.owner)
            .finish()
    }
}

/// A parked delivery: a dead letter or a held unknown outcome.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParkedDelivery {
    /// Which delivery (pass it to `redrive` or `mark_done`).
    pub id: DeliveryId,
    /// The event, or `None` if the stored copy cannot be decoded (`payload` has it).
    pub event: Option<UsageEvent>,
    /// The event as stored (JSON).
    pub payload: String,
    /// Attempts made.
    pub attempts: u32,
    /// Why it was parked: the error kind, the vendor's status and code, the message.
    pub error: StoredError,
    /// When it was parked.
    pub since: DateTime<Utc>,
}

impl Outbox {
    /// Opens (or creates) the outbox the configuration names, delivering to `destinations`.
    ///
    /// An outbox opened with no destination can be inspected and maintained (statistics, dead
    /// letters, held unknowns), but not recorded to or delivered from.
    ///
    /// # Errors
    /// A `Config` error naming the bad `outbox.*` setting; `InvalidInput` for destinations with
    /// an empty or repeated name; the store's error if it cannot be opened.
    pub async fn open(config: &OutboxConfig, destinations: Vec<Destination>) -> Result<Self> {
        config.validate()?;
        Destination::check_names(&destinations)?;
        let store = open_store(config).await?;
        Self::with_store(store, config, destinations)
    }

    /// An outbox over a store opened by the caller (for example a store of its own).
    ///
    /// # Errors
    /// As [`Outbox::open`].
    pub fn with_store(
        store: Arc<dyn OutboxStore>,
        config: &OutboxConfig,
        destinations: Vec<Destination>,
    ) -> Result<Self> {
        config.validate()?;
        Destination::check_names(&destinations)?;
        let owner = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        let wakes = destinations
            .iter()
            .map(|d| (d.name.clone(), Arc::new(Notify::new())))
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                engine: Arc::new(Engine {
                    store,
                    config: config.clone(),
                    owner,
                    counters: Counters::default(),
                }),
                destinations,
                wakes,
            }),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn OutboxStore> {
        &self.inner.engine.store
    }

    /// The destinations.
    pub fn destinations(&self) -> &[Destination] {
        &self.inner.destinations
    }

    /// What this process's deliveries from this outbox settled so far (the store's
    /// [`Outbox::stats`] say what is left, for every process).
    pub fn counters(&self) -> DeliveryCounters {
        self.inner.engine.counters.read()
    }

    /// Commits `events` to the store and returns once they are durable (SQLite: synced to
    /// disk; PostgreSQL: committed). Concurrent calls are committed together.
    ///
    /// # Behavior
    /// - Each event gets one delivery per destination that takes it; delivery happens in the
    ///   background (see [`Outbox::start`]).
    /// - All or nothing: on an error, none of the events is stored.
    /// - An event whose subscription and id the outbox already holds (recorded earlier and not
    ///   delivered yet) is skipped and counted in `already_queued`: recording again after an
    ///   error is safe.
    /// - `InvalidInput` before anything is stored if an event fails validation (negative
    ///   quantity, ...) or no destination takes it.
    /// - The store's error if it cannot commit: `Unavailable` when it is full (SQLite's
    ///   `outbox.max_bytes` or the disk) or unreachable, `PermissionDenied` when it is
    ///   read-only. Never a silent drop.
    pub async fn record(&self, events: &[UsageEvent]) -> Result<Inserted> {
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            event.validate()?;
            let destinations: Vec<String> = self
                .inner
                .destinations
                .iter()
                .filter(|d| d.takes(event))
                .map(|d| d.name.clone())
                .collect();
            if destinations.is_empty() {
                return Err(Error::invalid_input(format!(
                    "event {} goes to no destination (the outbox has {}, and none takes it)",
                    event.id,
                    self.inner.destinations.len()
                )));
            }
            let payload = serde_json::to_string(event)
                .map_err(|e| Error::unexpected(format!("cannot encode event {}: {e}", event.id)))?;
            rows.push((destinations, payload, event));
        }
        if rows.is_empty() {
            return Ok(Inserted::default());
        }
        let mut woken = std::collections::BTreeSet::new();
        let new: Vec<NewEvent> = rows
            .into_iter()
            .map(|(destinations, payload, event)| {
                woken.extend(destinations.iter().cloned());
                NewEvent {
                    event_id: event.id.to_string(),
                    subscription: event.subscription.to_string(),
                    payload,
                    destinations,
                }
            })
            .collect();
        let inserted = self
            .inner
            .engine
            .store
            .insert(new, now_ms())
            .await
            .map_err(|e| e.with_operation(billing_core::Operation::RecordUsage))?;
        for name in woken {
            if let Some(w) = self.inner.wakes.get(&name) {
                w.notify_one();
            }
        }
        Ok(inserted)
    }

    /// Starts delivering in the background: one task per destination, each sending up to
    /// `outbox.concurrency` batches at once. Several processes may deliver from one
    /// PostgreSQL outbox; each delivery is claimed by one of them at a time.
    ///
    /// Must be called within a Tokio runtime. Stop with [`Delivery::shutdown`] or
    /// [`Delivery::drain`]; dropping the handle stops it too (batches in flight are settled).
    pub fn start(&self) -> Delivery {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        for d in &self.inner.destinations {
            let wake = self
                .inner
                .wakes
                .get(&d.name)
                .cloned()
                .unwrap_or_else(|| Arc::new(Notify::new()));
            let lane = Lane {
                engine: Arc::clone(&self.inner.engine),
                destination: d.clone(),
                wake,
            };
            tasks.push(tokio::spawn(lane.run(stopped.clone())));
        }
        let interval = self.inner.engine.config.stats_interval_ms;
        if interval > 0 {
            let me = self.clone();
            let mut stopped = stopped;
            tasks.push(tokio::spawn(async move {
                let every = std::time::Duration::from_millis(interval);
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {
                            if let Err(e) = me.stats().await {
                                tracing::warn!(target: "billing::outbox", error = %e, "cannot read the outbox's statistics");
                            }
                        }
                        _ = stopped.changed() => break,
                    }
                }
            }));
        }
        Delivery::new(self.clone(), stop, tasks)
    }

    /// What the outbox holds, in total and per destination; also logged (see
    /// [`OutboxStats::emit`]).
    ///
    /// # Errors
    /// The store's error.
    pub async fn stats(&self) -> Result<OutboxStats> {
        let stats = self.counts().await?;
        stats.emit();
        Ok(stats)
    }

    /// The statistics, not logged.
    pub(crate) async fn counts(&self) -> Result<OutboxStats> {
        let now = now_ms();
        let counts = self.inner.engine.store.counts(now).await?;
        Ok(OutboxStats::from_counts(counts, now))
    }

    /// A page of dead letters or held unknown outcomes, in recording order.
    ///
    /// # Errors
    /// The store's error.
    pub async fn list(&self, kind: Parked, query: ListQuery) -> Result<Vec<ParkedDelivery>> {
        let rows = self.inner.engine.store.list(kind, query).await?;
        Ok(rows
            .into_iter()
            .map(|r| ParkedDelivery {
                event: serde_json::from_str(&r.payload).ok(),
                id: r.id,
                payload: r.payload,
                attempts: r.attempts,
                error: r.error,
                since: Utc
                    .timestamp_millis_opt(r.since)
                    .single()
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// Every parked delivery of `kind` (of one destination if given), page by page.
    ///
    /// # Errors
    /// The store's error.
    pub async fn list_all(
        &self,
        kind: Parked,
        destination: Option<&str>,
    ) -> Result<Vec<ParkedDelivery>> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .list(
                    kind,
                    ListQuery {
                        destination: destination.map(str::to_owned),
                        after: after.clone(),
                        limit: 500,
                    },
                )
                .await?;
            let Some(last) = page.last() else {
                return Ok(all);
            };
            after = Some(last.id.clone());
            all.extend(page);
        }
    }

    /// Sends the selected parked deliveries again: re-drives dead letters (once their cause is
    /// fixed), or releases held unknown outcomes (the operator accepts that the vendor may
    /// count them twice, or checked that it does not have them). Returns how many.
    ///
    /// # Errors
    /// The store's error.
    pub async fn redrive(&self, kind: Parked, selection: Selection) -> Result<u64> {
        let n = self
            .inner
            .engine
            .store
            .redrive(kind, selection, now_ms())
            .await?;
        tracing::info!(target: "billing::outbox", kind = kind.as_str(), deliveries = n, "re-driven");
        for w in self.inner.wakes.values() {
            w.notify_one();
        }
        Ok(n)
    }

    /// Marks the selected parked deliveries done without sending them (the operator checked
    /// that the vendor has them, or decided they must not be billed). Returns how many.
    ///
    /// # Errors
    /// The store's error.
    pub async fn mark_done(&self, kind: Parked, selection: Selection) -> Result<u64> {
        let n = self.inner.engine.store.mark_done(kind, selection).await?;
        tracing::info!(target: "billing::outbox", kind = kind.as_str(), deliveries = n, "marked done");
        Ok(n)
    }
}
