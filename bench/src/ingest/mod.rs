//! Section 1, usage ingestion: the adapter's `record_usage` against a raw-HTTP baseline that
//! sends the same pre-serialised requests (same endpoint, headers, body bytes, batch size and
//! concurrency) to the same simulator process, in alternating rounds; for Lago also the
//! official `lago-client`; and the raw baseline at a higher concurrency, to show the
//! simulator's headroom.

pub mod bodies;
pub mod fidelity;
pub mod official;

use anyhow::Context;
use billing::{EventOutcome, UsageEvent};
use billing_sim::lago::LagoSim;
use serde::Serialize;

use crate::alloc;
use crate::fixture;
use crate::measure::{Sample, Stopwatch, median, per};
use crate::raw::{self, RawRequest};
use crate::simproc::{Launcher, SimProcess};
use crate::vendor::Vendor;
use fidelity::Template;

/// What section 1 runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events per side.
    pub events: usize,
    /// Requests in flight, for the adapter (`http.concurrency`) and the baseline alike.
    pub concurrency: usize,
    /// Most rounds the events are split into (fewer when a side's share of a round would be
    /// under 8 requests per connection), alternating which side goes first.
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
    /// Adapter events/s over baseline events/s: the median of the rounds' ratios. Each round
    /// runs both sides back to back (alternating which goes first), so a burst of load from
    /// elsewhere on the machine hits one round's pair, not one side.
    pub ratio: f64,
    /// Every round's ratio, in order.
    pub round_ratios: Vec<f64>,
    /// Total adapter events/s over total baseline events/s (all rounds summed).
    pub ratio_of_totals: f64,
    /// The official `lago-client` (Lago only), one event per request.
    pub official: Option<Sample>,
    /// The raw baseline at `saturation_concurrency`.
    pub saturation: Sample,
    /// Its concurrency.
    pub saturation_concurrency: usize,
    /// Allocations per event, adapter and baseline.
    pub allocations: Allocations,
}

#[derive(Debug, Clone, Copy)]
enum Side {
    Adapter,
    Baseline,
}

/// Runs section 1 for `vendor` against a fresh simulator process.
pub async fn run(vendor: Vendor, opts: &Options, launcher: &Launcher) -> anyhow::Result<Report> {
    let fidelity = fidelity::check(vendor, opts.concurrency).await?;
    let sim = SimProcess::start(launcher, vendor, 0).await?;
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
    let mut round_ratios = Vec::new();
    // As many rounds as allowed, as long as each side of a round keeps the connections busy for
    // several waves of requests.
    let requests = opts.events.div_ceil(batch);
    let rounds = opts
        .rounds
        .min(requests / (MIN_ROUND_WAVES * opts.concurrency.max(1)))
        .max(1);
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
        let (mut a, mut b) = (Sample::default(), Sample::default());
        for side in order {
            match side {
                Side::Baseline => {
                    let watch = Stopwatch::start(Some(&sim));
                    let out = raw::send_all(&client, &b_requests, opts.concurrency).await;
                    b = watch.stop(Some(&sim), range.len(), b_requests.len(), out.failed);
                }
                Side::Adapter => {
                    let watch = Stopwatch::start(Some(&sim));
                    let failed = record(backend.as_ref(), &a_events).await?;
                    let requests = a_events.len().div_ceil(batch);
                    a = watch.stop(Some(&sim), range.len(), requests, failed);
                }
            }
        }
        round_ratios.push(per(a.items_per_s(), b.items_per_s()));
        adapter.add(&a);
        baseline.add(&b);
    }

    let allocations = census(&CensusRun {
        vendor,
        backend: backend.as_ref(),
        client: &client,
        target: &target,
        subs: &subs.keys,
        events: (CENSUS_REQUESTS * batch).min(opts.events),
        concurrency: opts.concurrency,
    })
    .await?;

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
        ratio: median(&round_ratios),
        ratio_of_totals: per(adapter.items_per_s(), baseline.items_per_s()),
        round_ratios,
        adapter,
        baseline,
        official,
        saturation,
        saturation_concurrency,
        allocations,
    })
}

/// Each side of a round sends at least this many times `concurrency` requests.
const MIN_ROUND_WAVES: usize = 8;

/// Requests per side in the allocation count.
const CENSUS_REQUESTS: usize = 500;

/// Allocations per event on each side, counted on an untimed run after the timed rounds (the
/// counting slows every allocation, so it stays off while timing).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Allocations {
    /// Events of the counted run, per side.
    pub events: usize,
    /// The adapter's allocations per event (this process, every thread: reqwest and hyper
    /// included).
    pub adapter_per_event: f64,
    /// The baseline's, sending requests built before counting started.
    pub baseline_per_event: f64,
}

struct CensusRun<'a> {
    vendor: Vendor,
    backend: &'a dyn billing::BillingBackend,
    client: &'a reqwest::Client,
    target: &'a Target,
    subs: &'a [billing::SubscriptionKey],
    events: usize,
    concurrency: usize,
}

async fn census(run: &CensusRun<'_>) -> anyhow::Result<Allocations> {
    let at = fixture::now_ms();
    let a_events = fixture::events("ca-", 0..run.events, run.subs, at)?;
    let b_requests = run
        .target
        .requests(&fixture::events("cb-", 0..run.events, run.subs, at)?)?;
    let counting = alloc::Census::start();
    let before = alloc::allocations();
    let failed = record(run.backend, &a_events).await?;
    let adapter = alloc::allocations() - before;
    let before = alloc::allocations();
    let out = raw::send_all(run.client, &b_requests, run.concurrency).await;
    let baseline = alloc::allocations() - before;
    drop(counting);
    anyhow::ensure!(
        failed == 0 && out.failed == 0,
        "{:?}: events failed in the allocation count",
        run.vendor
    );
    Ok(Allocations {
        events: run.events,
        adapter_per_event: per(adapter as f64, run.events as f64),
        baseline_per_event: per(baseline as f64, run.events as f64),
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
