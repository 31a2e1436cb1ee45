//! The delivery task: per destination, claim due deliveries in the destination's batch size,
//! send them with bounded concurrency, and settle each one by its outcome.

use std::sync::Arc;
use std::time::Duration;

use billing_core::{Error, ErrorKind, EventOutcome, UsageEvent, raw};
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::clock::now_ms;
use super::config::OutboxConfig;
use super::counters::Counters;
use super::destination::Destination;
use super::retry::RetryPolicy;
use super::store::{ClaimRequest, Claimed, OutboxStore, Settle, Settlement};
use super::verdict;

/// What every destination's loop shares.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) store: Arc<dyn OutboxStore>,
    pub(crate) config: OutboxConfig,
    pub(crate) owner: String,
    pub(crate) counters: Counters,
}

/// One destination's loop.
pub(crate) struct Lane {
    pub(crate) engine: Arc<Engine>,
    pub(crate) destination: Destination,
    pub(crate) wake: Arc<Notify>,
}

/// Why an idle loop woke up.
enum Woke {
    /// `record` added events.
    NewEvents,
    /// A wait ended (or the loop is stopping).
    Timer,
    /// A batch in flight finished.
    Finished(Result<BatchHealth, tokio::task::JoinError>),
}

/// How a batch went, for the destination's health.
enum BatchHealth {
    /// At least one delivery went through, or was settled for good.
    Fine,
    /// Every delivery of the batch went back to wait: the destination is failing.
    Failing,
}

impl Lane {
    fn batch_size(&self) -> usize {
        let vendor = self
            .destination
            .backend
            .capabilities()
            .usage_batch_max
            .max(1);
        self.engine
            .config
            .batch_max
            .map_or(vendor, |b| b.min(vendor))
    }

    /// Runs until `stop` says so (or its sender is gone), then waits for the batches in flight
    /// to be settled.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let lane = Arc::new(self);
        let policy = lane.engine.config.retry_policy();
        let permits = Arc::new(Semaphore::new(lane.engine.config.concurrency));
        let (settle_tx, settle_rx) = mpsc::unbounded_channel();
        let settler = tokio::spawn(Arc::clone(&lane).settle_loop(settle_rx));
        let mut in_flight: JoinSet<BatchHealth> = JoinSet::new();
        let mut failures = 0_u32;
        let mut paused_until: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            // Settle the health of finished batches.
            while let Some(done) = in_flight.try_join_next() {
                lane.health(done, &mut failures, &mut paused_until, &policy);
            }
            if let Some(until) = paused_until.filter(|u| *u > Instant::now()) {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    Some(done) = in_flight.join_next() => {
                        lane.health(done, &mut failures, &mut paused_until, &policy);
                    }
                    _ = stop.changed() => {}
                }
                continue;
            }
            // A wave: as many batches as there are free slots, claimed in one transaction.
            let mut wave = match Arc::clone(&permits).try_acquire_owned() {
                Ok(p) => vec![p],
                Err(_) => {
                    // Every slot is busy: wait for a batch to finish.
                    tokio::select! {
                        Some(done) = in_flight.join_next() => {
                            lane.health(done, &mut failures, &mut paused_until, &policy);
                        }
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            while let Ok(p) = Arc::clone(&permits).try_acquire_owned() {
                wave.push(p);
            }
            // Claim in waves of at least half the slots while batches are in flight: a claim is
            // a transaction synced to disk, and one per batch of one event would cost more
            // than the send.
            let low_water = (lane.engine.config.concurrency / 2).max(1);
            if wave.len() < low_water && !in_flight.is_empty() {
                drop(wave);
                tokio::select! {
                    Some(done) = in_flight.join_next() => {
                        lane.health(done, &mut failures, &mut paused_until, &policy);
                    }
                    _ = stop.changed() => {}
                }
                continue;
            }
            let batch = lane.batch_size();
            let claimed = match lane.claim(wave.len().saturating_mul(batch)).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(
                        target: "billing::outbox",
                        destination = %lane.destination.name,
                        error = %e,
                        "cannot claim deliveries from the outbox store; trying again"
                    );
                    drop(wave);
                    let poll = Some(lane.engine.config.poll());
                    if let Woke::Finished(done) = lane.idle(&mut stop, poll, &mut in_flight).await {
                        lane.health(done, &mut failures, &mut paused_until, &policy);
                    }
                    continue;
                }
            };
            if claimed.is_empty() {
                drop(wave);
                let wait = lane.until_due().await;
                match lane.idle(&mut stop, wait, &mut in_flight).await {
                    Woke::NewEvents if lane.engine.config.linger_ms > 0 => {
                        // Let more events arrive to fill a batch.
                        tokio::time::sleep(lane.engine.config.linger()).await;
                    }
                    Woke::Finished(done) => {
                        lane.health(done, &mut failures, &mut paused_until, &policy);
                    }
                    Woke::NewEvents | Woke::Timer => {}
                }
                continue;
            }
            // One batch per slot; slots the claim did not fill are freed.
            let mut claimed = claimed.into_iter();
            for permit in wave {
                let chunk: Vec<Claimed> = claimed.by_ref().take(batch).collect();
                if chunk.is_empty() {
                    break;
                }
                let me = Arc::clone(&lane);
                let settled = settle_tx.clone();
                in_flight.spawn(async move {
                    let health = me.send(chunk, &policy, &settled).await;
                    drop(permit);
                    health
                });
            }
        }
        while let Some(done) = in_flight.join_next().await {
            lane.health(done, &mut failures, &mut paused_until, &policy);
        }
        drop(settle_tx);
        let _ = settler.await;
    }

    /// Applies the settlements the batches hand in, grouped: whatever queued up while the
    /// previous group was being written goes in one transaction. Ends when every batch task
    /// and the loop have dropped their senders.
    async fn settle_loop(self: Arc<Self>, mut settled: mpsc::UnboundedReceiver<Vec<Settle>>) {
        while let Some(mut group) = settled.recv().await {
            while let Ok(more) = settled.try_recv() {
                group.extend(more);
            }
            let settlements: Vec<Settlement> = group.iter().map(|s| s.settlement.clone()).collect();
            match self
                .engine
                .store
                .settle(
                    self.destination.name.clone(),
                    self.engine.owner.clone(),
                    now_ms(),
                    group,
                )
                .await
            {
                Ok(0) => self.engine.counters.add(&settlements),
                Ok(lost) => tracing::warn!(
                    target: "billing::outbox",
                    destination = %self.destination.name,
                    deliveries = lost,
                    "deliveries were taken over by another process after their lease expired; \
                     their outcome here was not recorded"
                ),
                Err(e) => tracing::error!(
                    target: "billing::outbox",
                    destination = %self.destination.name,
                    error = %e,
                    "cannot record delivery outcomes in the outbox store; the batch will be \
                     taken up again when its lease expires"
                ),
            }
        }
    }

    fn health(
        &self,
        done: Result<BatchHealth, tokio::task::JoinError>,
        failures: &mut u32,
        paused_until: &mut Option<Instant>,
        policy: &RetryPolicy,
    ) {
        match done {
            Ok(BatchHealth::Fine) => {
                *failures = 0;
                *paused_until = None;
            }
            Ok(BatchHealth::Failing) => {
                *failures = failures.saturating_add(1);
                let pause = policy.delay(*failures, None);
                tracing::warn!(
                    target: "billing::outbox",
                    destination = %self.destination.name,
                    consecutive_failures = *failures,
                    pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                    "destination failing: pausing its deliveries"
                );
                *paused_until = Some(Instant::now() + pause);
            }
            Err(e) => {
                // A panic in a backend: its batch stays leased and is taken up again (as
                // abandoned) when the lease expires.
                tracing::error!(
                    target: "billing::outbox",
                    destination = %self.destination.name,
                    error = %e,
                    "a delivery task failed"
                );
            }
        }
    }

    /// Waits for new events, a retry coming due (`wait`), a finished batch, or `stop`.
    async fn idle(
        &self,
        stop: &mut watch::Receiver<bool>,
        wait: Option<Duration>,
        in_flight: &mut JoinSet<BatchHealth>,
    ) -> Woke {
        let wait = wait.unwrap_or_else(|| self.engine.config.poll());
        tokio::select! {
            _ = self.wake.notified() => Woke::NewEvents,
            _ = tokio::time::sleep(wait) => Woke::Timer,
            _ = stop.changed() => Woke::Timer,
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => Woke::Finished(done),
        }
    }

    /// How long until the next pending delivery comes due (at most the poll interval).
    async fn until_due(&self) -> Option<Duration> {
        let poll = self.engine.config.poll();
        let next = match self
            .engine
            .store
            .next_due(self.destination.name.clone())
            .await
        {
            Ok(next) => next?,
            Err(e) => {
                // The next claim reads the store again; until then, poll.
                tracing::warn!(
                    target: "billing::outbox",
                    destination = %self.destination.name,
                    error = %e,
                    "cannot read when the next delivery is due"
                );
                return Some(poll);
            }
        };
        let now = now_ms();
        if next <= now {
            // Due but leased (being sent, or left by a stopped process): look again later.
            return Some(poll);
        }
        let wait = Duration::from_millis(u64::try_from(next - now).unwrap_or(0));
        Some(wait.min(poll))
    }

    async fn claim(&self, limit: usize) -> billing_core::Result<Vec<Claimed>> {
        let now = now_ms();
        let lease = i64::try_from(self.engine.config.lease_ms).unwrap_or(i64::MAX);
        self.engine
            .store
            .claim(ClaimRequest {
                destination: self.destination.name.clone(),
                limit,
                now,
                lease_until: now.saturating_add(lease),
                owner: self.engine.owner.clone(),
            })
            .await
    }

    /// Sends one claimed batch and hands the settlement of every delivery of it to the
    /// settler.
    async fn send(
        &self,
        claimed: Vec<Claimed>,
        policy: &RetryPolicy,
        settled: &mpsc::UnboundedSender<Vec<Settle>>,
    ) -> BatchHealth {
        let dedup = self
            .destination
            .backend
            .capabilities()
            .usage_dedup_by_event_id;
        let mut settles = Vec::with_capacity(claimed.len());
        let mut events = Vec::with_capacity(claimed.len());
        let mut sent = Vec::with_capacity(claimed.len());
        for c in claimed {
            if c.abandoned
                && let Some(s) = verdict::abandoned(dedup)
            {
                settles.push(Settle {
                    seq: c.seq,
                    settlement: s,
                });
                continue;
            }
            match serde_json::from_str::<UsageEvent>(&c.payload) {
                Ok(e) => {
                    events.push(e);
                    sent.push((c.seq, c.attempts));
                }
                Err(e) => settles.push(Settle {
                    seq: c.seq,
                    settlement: verdict::undecodable(&e),
                }),
            }
        }
        if !events.is_empty() {
            let outcomes = self.record(&events).await;
            let now = now_ms();
            for ((seq, attempts), outcome) in sent.into_iter().zip(outcomes) {
                settles.push(Settle {
                    seq,
                    settlement: verdict::settlement(&outcome, attempts, dedup, policy, now),
                });
            }
        }
        let settlements: Vec<Settlement> = settles.iter().map(|s| s.settlement.clone()).collect();
        self.log(&settlements);
        let health = if verdict::destination_failing(&settlements) {
            BatchHealth::Failing
        } else {
            BatchHealth::Fine
        };
        if settled.send(settles).is_err() {
            tracing::error!(
                target: "billing::outbox",
                destination = %self.destination.name,
                "the settler stopped; the batch will be taken up again when its lease expires"
            );
        }
        health
    }

    /// One `record_usage` call, within the send timeout; the outcomes of a call that times out,
    /// or of events the backend gave no answer for, are unknown.
    async fn record(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let timeout = self.engine.config.send_timeout();
        let call = self.destination.backend.record_usage(events);
        match tokio::time::timeout(timeout, call).await {
            Ok(outcomes) => raw::one_outcome_per_event(outcomes, events.len(), || {
                Error::unexpected("the backend answered fewer outcomes than events")
                    .with_backend("outbox")
            }),
            Err(_) => raw::one_outcome_per_event(Vec::new(), events.len(), || {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "no answer within outbox.send_timeout_ms ({} ms)",
                        timeout.as_millis()
                    ),
                )
                .with_backend("outbox")
            }),
        }
    }

    fn log(&self, settlements: &[Settlement]) {
        let mut done = 0;
        let mut retry = 0;
        for s in settlements {
            match s {
                Settlement::Done => done += 1,
                Settlement::Retry { .. } => retry += 1,
                Settlement::DeadLetter(e) => tracing::warn!(
                    target: "billing::outbox",
                    destination = %self.destination.name,
                    kind = %e.kind,
                    status = e.status,
                    message = %e.message,
                    "dead letter"
                ),
                Settlement::HeldUnknown(e) => tracing::warn!(
                    target: "billing::outbox",
                    destination = %self.destination.name,
                    message = %e.message,
                    "unknown outcome held for an operator"
                ),
            }
        }
        tracing::debug!(
            target: "billing::outbox",
            destination = %self.destination.name,
            delivered = done,
            to_retry = retry,
            "batch settled"
        );
    }
}
