//! Section 1, usage ingestion: the adapter's `record_usage` against a raw-HTTP baseline that
//! sends the same pre-serialised requests (same endpoint, headers, body bytes, batch size and
//! concurrency) to the same simulator process, in alternating rounds; for Lago also the
//! official `lago-client`; and the raw baseline at a higher concurrency, to show the
//! simulator's headroom.

pub mod bodies;
pub mod fidelity;
pub mod official;

use std::path::Path;

use anyhow::Context;
use billing::{EventOutcome, UsageEvent};
use billing_sim::lago::LagoSim;
use serde::Serialize;

use crate::fixture;
use crate::measure::{Sample, Stopwatch, per};
use crate::raw::{self, RawRequest};
use crate::simproc::SimProcess;
use crate::vendor::Vendor;
use fidelity::Template;

/// What section 1 runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events per side.
    pub events: usize,
    /// Requests in flight, for the adapter (`http.concurrency`) and the baseline alike.
    pub concurrency: usize,
    /// Rounds the events are split into, alternating which side goes first.
    pub rounds: usize,
    /// Subscriptions the events are spread over.
    pub subscriptions: usize,
    /// The saturation run's concurrency, as a multiple of `concurrency`.
    pub saturation_factor: usize,
}

/// Section 1's figures for one vendor.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The vendor.
    pub vendor: Vendor,
    /// Events per side.
    pub events: usize,
    /// Events per request.
    pub batch_size: usize,
    /// Requests in flight.
    pub concurrency: usize,
    /// Rounds.
    pub rounds: usize,
    /// Captured adapter requests the baseline's matched byte for byte.
    pub requests_compared: usize,
    /// The adapter.
    pub adapter: Sample,
    /// The raw baseline.
    pub baseline: Sample,
    /// Adapter events/s over baseline events/s.
    pub ratio: f64,
    /// The official `lago-client` (Lago only), one event per request.
    pub official: Option<Sample>,
    /// The raw baseline at `saturation_concurrency`.
    pub saturation: Sample,
    /// Its concurrency.
    pub saturation_concurrency: usize,
}

#[derive(Debug, Clone, Copy)]
enum Side {
    Adapter,
    Baseline,
}

/// Runs section 1 for `vendor` against a fresh simulator process.
pub async fn run(vendor: Vendor, opts: &Options, sim_bin: &Path) -> anyhow::Result<Report> {
    let fidelity = fidelity::check(vendor, opts.concurrency).await?;
    let sim = SimProcess::start(sim_bin, vendor, 0).await?;
    let backend = vendor.connect(sim.url(), opts.concurrency)?;
    let subs = fixture::subscriptions(backend.as_ref(), "ing", opts.subscriptions).await?;
    let batch = bodies::batch_size(vendor);
    let target = Target::new(vendor, sim.url(), &fidelity.template, &subs)?;
    let client = raw::client(opts.concurrency)?;

    // Warm-up: open the connections and fill the adapter's caches on both sides.
    let warm = opts.concurrency * batch;
    let at = fixture::now_ms();
    record(
        backend.as_ref(),
        &fixture::events("wa-", 0..warm, &subs.keys, at)?,
    )
    .await?;
    let warm_raw = target.requests(&fixture::events("wb-", 0..warm, &subs.keys, at)?)?;
    raw::send_all(&client, &warm_raw, opts.concurrency).await;

    let mut adapter = Sample::default();
    let mut baseline = Sample::default();
    let rounds = opts.rounds.max(1);
    for round in 0..rounds {
        let range = opts.events * round / rounds..opts.events * (round + 1) / rounds;
        let at = fixture::now_ms();
        let a_events = fixture::events("a-", range.clone(), &subs.keys, at)?;
        let b_requests = target.requests(&fixture::events("b-", range.clone(), &subs.keys, at)?)?;
        let order = if round % 2 == 0 {
            [Side::Baseline, Side::Adapter]
        } else {
            [Side::Adapter, Side::Baseline]
        };
        for side in order {
            match side {
                Side::Baseline => {
                    let watch = Stopwatch::start(Some(&sim));
                    let out = raw::send_all(&client, &b_requests, opts.concurrency).await;
                    baseline.add(&watch.stop(
                        Some(&sim),
                        range.len(),
                        b_requests.len(),
                        out.failed,
                    ));
                }
                Side::Adapter => {
                    let watch = Stopwatch::start(Some(&sim));
                    let failed = record(backend.as_ref(), &a_events).await?;
                    let requests = a_events.len().div_ceil(batch);
                    adapter.add(&watch.stop(Some(&sim), range.len(), requests, failed));
                }
            }
        }
    }

    let official = match vendor {
        Vendor::Lago => Some(official_run(&sim, opts, &subs.keys).await?),
        _ => None,
    };

    let saturation_concurrency = opts.concurrency * opts.saturation_factor;
    let h_events = fixture::events("h-", 0..opts.events, &subs.keys, fixture::now_ms())?;
    let h_requests = target.requests(&h_events)?;
    drop(h_events);
    let client = raw::client(saturation_concurrency)?;
    let watch = Stopwatch::start(Some(&sim));
    let out = raw::send_all(&client, &h_requests, saturation_concurrency).await;
    let saturation = watch.stop(Some(&sim), opts.events, h_requests.len(), out.failed);
    sim.stop().await;

    Ok(Report {
        vendor,
        events: opts.events,
        batch_size: batch,
        concurrency: opts.concurrency,
        rounds,
        requests_compared: fidelity.compared,
        ratio: per(adapter.items_per_s(), baseline.items_per_s()),
        adapter,
        baseline,
        official,
        saturation,
        saturation_concurrency,
    })
}

/// Records events through the adapter and returns how many were not accepted.
async fn record(
    backend: &dyn billing::BillingBackend,
    events: &[UsageEvent],
) -> anyhow::Result<usize> {
    let outcomes = backend.record_usage(events).await;
    anyhow::ensure!(outcomes.len() == events.len(), "one outcome per event");
    Ok(outcomes
        .iter()
        .filter(|o| !matches!(o, EventOutcome::Accepted))
        .count())
}

async fn official_run(
    sim: &SimProcess,
    opts: &Options,
    subs: &[billing::SubscriptionKey],
) -> anyhow::Result<Sample> {
    let client = official::client(sim.url(), LagoSim::API_KEY);
    let at = fixture::now_ms();
    let warm: Vec<_> = fixture::events("wl-", 0..opts.concurrency, subs, at)?
        .iter()
        .map(official::request)
        .collect();
    official::send_all(&client, warm, opts.concurrency).await;
    let requests: Vec<_> = fixture::events("l-", 0..opts.events, subs, at)?
        .iter()
        .map(official::request)
        .collect();
    let watch = Stopwatch::start(Some(sim));
    let failed = official::send_all(&client, requests, opts.concurrency).await;
    Ok(watch.stop(Some(sim), opts.events, opts.events, failed))
}

/// Where and how the baseline sends: the adapter's captured request shape, aimed at the
/// measured simulator, with its subscriptions' vendor ids.
struct Target {
    vendor: Vendor,
    url: String,
    template: Template,
    vendor_ids: std::collections::HashMap<billing::SubscriptionKey, String>,
}

impl Target {
    fn new(
        vendor: Vendor,
        sim_url: &str,
        template: &Template,
        subs: &fixture::Subscriptions,
    ) -> anyhow::Result<Self> {
        let origin = reqwest::Url::parse(sim_url)
            .context("simulator URL")?
            .origin()
            .ascii_serialization();
        Ok(Self {
            vendor,
            url: format!("{origin}{}", template.path_and_query),
            template: template.clone(),
            vendor_ids: subs.vendor_ids.clone(),
        })
    }

    fn requests(&self, events: &[UsageEvent]) -> anyhow::Result<Vec<RawRequest>> {
        Ok(bodies::bodies(self.vendor, events, &self.vendor_ids)?
            .into_iter()
            .map(|body| RawRequest {
                method: self.template.method.clone(),
                url: self.url.clone(),
                headers: self.template.headers.clone(),
                body: Some(body),
            })
            .collect())
    }
}
