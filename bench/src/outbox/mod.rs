//! Section 5, the outbox:
//!
//! - durable `record` throughput on SQLite and PostgreSQL, against the same rows inserted with
//!   the same driver and SQL, one transaction per call (the ratio is the median of paired
//!   rounds, alternating which side goes first, each on a fresh store);
//! - end-to-end delivery through the outbox to each vendor's simulator, against the adapter's
//!   `record_usage` called directly with the same batches and concurrency.

mod delivery;
mod record;

use std::sync::Arc;

use anyhow::Context;
use billing::{BillingBackend, InMemoryBackend};
use serde::Serialize;

use crate::fixture;
use crate::measure::{median, per};
use crate::report::table::{Table, fixed, int, rate};
use crate::simproc::{Launcher, SimProcess};
use crate::vendor::Vendor;
use record::{Store, Workload};

/// What section 5 runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events of the one-event-per-call record workload.
    pub single_events: usize,
    /// Events of the batched record workload.
    pub batch_events: usize,
    /// Events delivered per side and vendor (Kill Bill and BillaBear: half, one request each).
    pub delivery_events: usize,
    /// Batches (and calls) in flight.
    pub concurrency: usize,
    /// Paired rounds per comparison.
    pub rounds: usize,
}

/// One record comparison.
#[derive(Debug, Clone, Serialize)]
pub struct RecordRow {
    /// `sqlite` or `postgres`.
    pub store: String,
    /// The workload.
    pub workload: Workload,
    /// Outbox events/s over all rounds.
    pub outbox_events_per_s: f64,
    /// Bare-driver events/s over all rounds.
    pub baseline_events_per_s: f64,
    /// Median of the rounds' outbox/baseline ratios.
    pub ratio: f64,
    /// Each round's ratio.
    pub round_ratios: Vec<f64>,
}

/// One delivery comparison.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    /// The vendor.
    pub vendor: Vendor,
    /// `sqlite` or `postgres`.
    pub store: String,
    /// Events per side and round.
    pub events: usize,
    /// Events per request.
    pub batch: usize,
    /// Batches in flight.
    pub concurrency: usize,
    /// Through the outbox, events/s over all rounds.
    pub outbox_events_per_s: f64,
    /// The adapter called directly, events/s over all rounds.
    pub direct_events_per_s: f64,
    /// Median of the rounds' outbox/direct ratios.
    pub ratio: f64,
    /// Events not delivered (should be 0).
    pub failed: usize,
}

/// Section 5's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Record throughput.
    pub record: Vec<RecordRow>,
    /// Delivery throughput.
    pub delivery: Vec<DeliveryRow>,
    /// Why PostgreSQL was left out, if it was.
    pub postgres_skipped: Option<String>,
}

fn stores(dir: &std::path::Path) -> (Vec<Store>, Option<String>) {
    let mut stores = vec![Store::Sqlite(dir.to_path_buf())];
    // A server that syncs its commits, as in production; it stops when this process exits.
    match billing_conformance::postgres::TempPostgres::start_durable() {
        Ok(server) => {
            stores.push(Store::Postgres(Box::leak(Box::new(server))));
            (stores, None)
        }
        Err(e) => (stores, Some(e)),
    }
}

/// Runs section 5.
pub async fn run(
    vendors: &[Vendor],
    opts: &Options,
    launcher: &Launcher,
) -> anyhow::Result<Report> {
    let dir = tempfile::Builder::new()
        .prefix("billing-bench-outbox-")
        .tempdir()
        .context("temporary directory")?;
    let (stores, postgres_skipped) = stores(dir.path());
    if let Some(why) = &postgres_skipped {
        eprintln!("[outbox] PostgreSQL left out: {why}");
    }
    let mut report = Report {
        postgres_skipped,
        ..Report::default()
    };
    for store in &stores {
        for w in [
            Workload {
                per_call: 1,
                callers: opts.concurrency,
                events: opts.single_events,
            },
            Workload {
                per_call: 100,
                callers: 4,
                events: opts.batch_events,
            },
        ] {
            let row = record_rounds(store, w, opts.rounds).await?;
            eprintln!(
                "[outbox record {} {}x{}] outbox/baseline {:.2}",
                store.name(),
                w.per_call,
                w.callers,
                row.ratio
            );
            report.record.push(row);
        }
    }
    for &vendor in vendors {
        let sim = SimProcess::start(launcher, vendor, 0).await?;
        let backend = vendor.connect(sim.url(), opts.concurrency)?;
        let subs = fixture::subscriptions(backend.as_ref(), "obx", 10).await?;
        let batch = backend.capabilities().usage_batch_max;
        let events = match vendor {
            Vendor::Lago => opts.delivery_events,
            _ => opts.delivery_events / 2,
        };
        // Warm-up: connections and the adapter's caches.
        let warm = fixture::events(
            "warm-",
            0..opts.concurrency * batch,
            &subs.keys,
            fixture::now_ms(),
        )?;
        delivery::direct(backend.as_ref(), &warm, batch, opts.concurrency).await;
        for store in &stores {
            let mut outbox_s = 0.0;
            let mut direct_s = 0.0;
            let mut ratios = Vec::new();
            let mut failed = 0;
            for round in 0..opts.rounds {
                let at = fixture::now_ms();
                let tag = format!("{}{round}", store.name());
                let d_events = fixture::events(&format!("d{tag}-"), 0..events, &subs.keys, at)?;
                let o_events = fixture::events(&format!("o{tag}-"), 0..events, &subs.keys, at)?;
                let location = store.fresh("delivery").await?;
                let mut d = (0.0, 0);
                let mut o = (0.0, 0);
                for first in [round % 2 == 0, round % 2 != 0] {
                    if first {
                        d = delivery::direct(backend.as_ref(), &d_events, batch, opts.concurrency)
                            .await;
                    } else {
                        o = delivery::through_outbox(
                            location.clone(),
                            Arc::clone(&backend),
                            &o_events,
                            opts.concurrency,
                        )
                        .await?;
                    }
                }
                direct_s += d.0;
                outbox_s += o.0;
                failed += d.1 + o.1;
                ratios.push(per(d.0, o.0));
            }
            let total = (events * opts.rounds) as f64;
            let row = DeliveryRow {
                vendor,
                store: store.name().to_owned(),
                events,
                batch,
                concurrency: opts.concurrency,
                outbox_events_per_s: per(total, outbox_s),
                direct_events_per_s: per(total, direct_s),
                ratio: median(&ratios),
                failed,
            };
            eprintln!(
                "[outbox delivery {} {}] outbox/direct {:.2}",
                vendor.name(),
                store.name(),
                row.ratio
            );
            report.delivery.push(row);
        }
        sim.stop().await;
    }
    Ok(report)
}

async fn record_rounds(store: &Store, w: Workload, rounds: usize) -> anyhow::Result<RecordRow> {
    let sink: Arc<dyn BillingBackend> = Arc::new(InMemoryBackend::with_sample_catalog());
    let subs: Vec<billing::SubscriptionKey> = (0..10)
        .map(|i| billing::SubscriptionKey::new(format!("rec-s{i}")))
        .collect::<Result<_, _>>()?;
    let mut outbox_s = 0.0;
    let mut baseline_s = 0.0;
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let events = fixture::events(&format!("r{round}-"), 0..w.events, &subs, fixture::now_ms())?;
        let (mut o, mut b) = (0.0, 0.0);
        for outbox_first in [round % 2 == 0, round % 2 != 0] {
            if outbox_first {
                let location = store.fresh("record").await?;
                o = record::outbox_side(location, &events, w, Arc::clone(&sink)).await?;
            } else {
                let location = store.fresh("baseline").await?;
                b = match (&location, store) {
                    (billing::outbox::StoreLocation::Sqlite(path), _) => {
                        let path = path.clone();
                        let events = events.clone();
                        tokio::task::spawn_blocking(move || {
                            record::sqlite_baseline(&path, &events, w)
                        })
                        .await??
                    }
                    (billing::outbox::StoreLocation::Postgres(url), _) => {
                        record::postgres_baseline(url.expose(), &events, w).await?
                    }
                    _ => anyhow::bail!("unknown store"),
                };
            }
        }
        outbox_s += o;
        baseline_s += b;
        ratios.push(per(b, o));
    }
    let total = (w.events * rounds) as f64;
    Ok(RecordRow {
        store: store.name().to_owned(),
        workload: w,
        outbox_events_per_s: per(total, outbox_s),
        baseline_events_per_s: per(total, baseline_s),
        ratio: median(&ratios),
        round_ratios: ratios,
    })
}

impl Report {
    /// The two tables.
    pub fn tables(&self) -> String {
        let mut t = Table::new(
            "5a. Outbox: durable record (returns once committed; SQLite WAL + full sync, PostgreSQL commit) vs the same rows with the same driver, one transaction per call; ratio = median of paired rounds",
            &[
                "store",
                "calls",
                "outbox events/s",
                "bare driver events/s",
                "outbox / driver",
            ],
        );
        for r in &self.record {
            t.row(vec![
                r.store.clone(),
                format!(
                    "{} event(s) x {} callers, {} events",
                    r.workload.per_call,
                    r.workload.callers,
                    int(r.workload.events)
                ),
                rate(r.outbox_events_per_s),
                rate(r.baseline_events_per_s),
                fixed(r.ratio, 2),
            ]);
        }
        let mut d = Table::new(
            "5b. Outbox: delivery of committed events to the simulator (claim, send, settle) vs the adapter's record_usage called directly, same batches and concurrency; ratio = median of paired rounds",
            &[
                "vendor",
                "store",
                "events",
                "batch x in flight",
                "outbox events/s",
                "direct events/s",
                "outbox / direct",
            ],
        );
        for r in &self.delivery {
            d.row(vec![
                r.vendor.name().to_owned(),
                r.store.clone(),
                int(r.events),
                format!("{} x {}", r.batch, r.concurrency),
                rate(r.outbox_events_per_s),
                rate(r.direct_events_per_s),
                fixed(r.ratio, 2),
            ]);
        }
        let mut out = t.render();
        out.push('\n');
        out.push_str(&d.render());
        if let Some(why) = &self.postgres_skipped {
            out.push_str(&format!("\nPostgreSQL rows left out: {why}\n"));
        }
        out
    }
}
