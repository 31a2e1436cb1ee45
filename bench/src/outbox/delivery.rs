//! End-to-end delivery throughput: events already committed to an outbox, delivered to a
//! simulator process through the adapter, against the same adapter's `record_usage` called
//! directly with the same batches and concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use billing::outbox::{Destination, Outbox, OutboxConfig, StoreLocation};
use billing::{BillingBackend, UsageEvent};
use futures::StreamExt;

/// Sends `events` with `record_usage` in batches of `batch`, `concurrency` calls in flight;
/// returns the seconds and the events not recorded.
pub async fn direct(
    backend: &dyn BillingBackend,
    events: &[UsageEvent],
    batch: usize,
    concurrency: usize,
) -> (f64, usize) {
    let started = Instant::now();
    let failed: usize = futures::stream::iter(events.chunks(batch))
        .map(|c| backend.record_usage(c))
        .buffer_unordered(concurrency)
        .map(|outcomes| outcomes.iter().filter(|o| !o.is_recorded()).count())
        .fold(0, |a, b| async move { a + b })
        .await;
    (started.elapsed().as_secs_f64(), failed)
}

/// Records `events` into a fresh outbox (not timed), then times its delivery until every one
/// is delivered; returns the seconds and the events left undelivered.
pub async fn through_outbox(
    location: StoreLocation,
    backend: Arc<dyn BillingBackend>,
    events: &[UsageEvent],
    concurrency: usize,
) -> anyhow::Result<(f64, usize)> {
    let mut config = OutboxConfig::new(location);
    config.concurrency = concurrency;
    config.stats_interval_ms = 0;
    let outbox = Outbox::open(&config, vec![Destination::new("bench", backend)]).await?;
    for chunk in events.chunks(1_000) {
        outbox.record(chunk).await?;
    }
    let total = events.len() as u64;
    let started = Instant::now();
    let delivery = outbox.start();
    let deadline = started + Duration::from_secs(600);
    while outbox.counters().delivered < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    delivery.shutdown().await;
    let left = total.saturating_sub(outbox.counters().delivered);
    Ok((secs, usize::try_from(left).unwrap_or(usize::MAX)))
}
