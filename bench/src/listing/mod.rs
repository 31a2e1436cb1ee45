//! Section 2, listing customers: `BillingExt::customers()` streaming against raw page fetching
//! with reqwest and `serde_json`, on simulator processes seeded with many customers, with the
//! peak memory each walk added (the counting allocator), at two sizes to show that it follows
//! the page, not the total.

pub mod walk;

use anyhow::{Context, ensure};
use billing::{BillingBackend, BillingExt};
use futures::StreamExt;
use http::{HeaderMap, header};
use serde::Serialize;

use crate::alloc;
use crate::inproc::{InProcess, request_line};
use crate::measure::{Sample, Stopwatch, median, per};
use crate::raw;
use crate::simproc::{Launcher, SimProcess};
use crate::vendor::Vendor;
use walk::{Walked, Walker};

/// What section 2 runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Customer counts to seed and walk, smallest first.
    pub sizes: Vec<usize>,
    /// Items per page (at most 100: Lago's and BillaBear's cap).
    pub page_size: usize,
    /// Requests in flight (Kill Bill's per-account reads fan out).
    pub concurrency: usize,
    /// Pairs of walks at every size but the largest, which is walked once a side (it is there
    /// to show that memory follows the page, and takes longest).
    pub pairs: usize,
}

impl Options {
    /// Pairs of walks at `size`.
    pub fn pairs_for(&self, size: usize) -> usize {
        if self.sizes.last() == Some(&size) {
            1
        } else {
            self.pairs.max(1)
        }
    }
}

/// A walk that did not list every seeded customer is a bug, not a figure.
fn check_walked(vendor: Vendor, side: &str, items: usize, size: usize) -> anyhow::Result<()> {
    ensure!(
        items == size,
        "{vendor:?}: the {side} walk listed {items} of {size} customers"
    );
    Ok(())
}

/// One size's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SizeReport {
    /// Customers seeded and walked.
    pub customers: usize,
    /// Walks per side (in pairs, alternating which side goes first).
    pub pairs: usize,
    /// The adapter's streams, summed.
    pub adapter: Sample,
    /// The raw walks, summed.
    pub baseline: Sample,
    /// Adapter items/s over baseline items/s: the median of the pairs' ratios.
    pub ratio: f64,
    /// Most bytes the adapter's walk had allocated at once, above where it started.
    pub adapter_peak_bytes: usize,
    /// Bytes still allocated after the adapter's walk (caches), above where it started.
    pub adapter_retained_bytes: i64,
    /// The same for the raw walk.
    pub baseline_peak_bytes: usize,
}

/// Section 2's figures for one vendor.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The vendor.
    pub vendor: Vendor,
    /// Items per page.
    pub page_size: usize,
    /// Requests in flight.
    pub concurrency: usize,
    /// Request lines of a 250-customer walk that matched between adapter and baseline.
    pub requests_compared: usize,
    /// One entry per size.
    pub sizes: Vec<SizeReport>,
}

/// Runs section 2 for `vendor`.
pub async fn run(vendor: Vendor, opts: &Options, launcher: &Launcher) -> anyhow::Result<Report> {
    let (headers, compared) = fidelity(vendor, opts).await?;
    let mut sizes = Vec::with_capacity(opts.sizes.len());
    for &size in &opts.sizes {
        let sim = SimProcess::start(launcher, vendor, size).await?;
        let backend = vendor.connect(sim.url(), opts.concurrency)?;
        let client = raw::client(opts.concurrency)?;
        let walker = Walker {
            vendor,
            base: sim.url().to_owned(),
            headers: headers.clone(),
            concurrency: opts.concurrency,
            page_size: opts.page_size,
        };
        // Warm-up: a connection each, nothing cached beyond one page.
        backend
            .list_customers(&billing::PageRequest::first(1))
            .await
            .context("first page")?;

        // The walks run with the allocation tracking on (cheap: see `alloc`), in pairs: both
        // sides back to back, alternating which goes first; the ratio is the median of the
        // pairs'. Peaks are the highest of a side's walks (the first, which also fills the
        // caches); retained is what the adapter's first walk left allocated.
        let pairs = opts.pairs_for(size);
        let tracking = alloc::Tracking::start();
        let mut baseline = Sample::default();
        let mut adapter = Sample::default();
        let mut ratios = Vec::with_capacity(pairs);
        let (mut baseline_peak, mut adapter_peak, mut retained) = (0, 0, None);
        let mut raw_requests = 0;
        for pair in 0..pairs {
            let raw_first = (sizes.len() + pair) % 2 == 0;
            let mut pair_samples = (Sample::default(), Sample::default());
            for raw_turn in [raw_first, !raw_first] {
                let base = alloc::reset_peak();
                let watch = Stopwatch::start(Some(&sim));
                if raw_turn {
                    let walked = walker.walk(&client).await?;
                    check_walked(vendor, "raw", walked.items, size)?;
                    raw_requests = walked.requests;
                    pair_samples.1 = watch.stop(Some(&sim), walked.items, walked.requests, 0);
                    baseline_peak = baseline_peak.max(alloc::above(alloc::peak(), base));
                } else {
                    let walked = adapter_walk(backend.as_ref(), opts.page_size).await?;
                    check_walked(vendor, "adapter", walked.items, size)?;
                    pair_samples.0 = watch.stop(Some(&sim), walked.items, 0, 0);
                    adapter_peak = adapter_peak.max(alloc::above(alloc::peak(), base));
                    retained.get_or_insert(
                        i64::try_from(alloc::current().saturating_sub(base)).unwrap_or(i64::MAX),
                    );
                }
            }
            ratios.push(per(
                pair_samples.0.items_per_s(),
                pair_samples.1.items_per_s(),
            ));
            adapter.add(&pair_samples.0);
            baseline.add(&pair_samples.1);
        }
        drop(tracking);
        // Same request lines as the raw walk (checked by `fidelity` on a small walk).
        adapter.requests = raw_requests * pairs;
        drop(backend);
        sim.stop().await;
        sizes.push(SizeReport {
            customers: size,
            pairs,
            ratio: median(&ratios),
            adapter,
            baseline,
            adapter_peak_bytes: adapter_peak,
            adapter_retained_bytes: retained.unwrap_or_default(),
            baseline_peak_bytes: baseline_peak,
        });
    }
    Ok(Report {
        vendor,
        page_size: opts.page_size,
        concurrency: opts.concurrency,
        requests_compared: compared,
        sizes,
    })
}

/// Streams every customer through the adapter, reading each.
async fn adapter_walk(backend: &dyn BillingBackend, page_size: usize) -> anyhow::Result<Walked> {
    let mut walked = Walked::default();
    let mut stream = backend.customers(u32::try_from(page_size)?);
    while let Some(customer) = stream.next().await {
        let customer = customer?;
        walked.items += 1;
        walked.key_bytes += customer.key.as_str().len();
    }
    Ok(walked)
}

/// Walks 250 customers both ways against an in-process simulator and checks that the raw walk
/// sends the adapter's requests (the same multiset of request lines); returns the adapter's
/// GET headers and how many requests were compared.
async fn fidelity(vendor: Vendor, opts: &Options) -> anyhow::Result<(HeaderMap, usize)> {
    let sim = InProcess::start(vendor).await?;
    sim.seed_customers(250, "fid-");
    let backend = vendor.connect(&sim.url(), opts.concurrency)?;
    let walked = adapter_walk(backend.as_ref(), opts.page_size).await?;
    ensure!(
        walked.items == 250,
        "{vendor:?}: the adapter listed {}",
        walked.items
    );
    let captured = sim.log().snapshot();
    let first = captured.first().context("no request captured")?;
    let mut headers = first.headers.clone();
    headers.remove(header::HOST);
    for r in &captured {
        let mut h = r.headers.clone();
        h.remove(header::HOST);
        ensure!(
            h == headers,
            "{vendor:?}: the adapter's listing requests carry different headers"
        );
    }
    let mut adapter_lines: Vec<String> = captured.iter().map(request_line).collect();
    sim.log().clear();
    let walker = Walker {
        vendor,
        base: sim.url(),
        headers: headers.clone(),
        concurrency: opts.concurrency,
        page_size: opts.page_size,
    };
    let raw_walk = walker.walk(&raw::client(opts.concurrency)?).await?;
    ensure!(
        raw_walk.items == 250,
        "{vendor:?}: the raw walk listed {}",
        raw_walk.items
    );
    let mut raw_lines: Vec<String> = sim.log().snapshot().iter().map(request_line).collect();
    adapter_lines.sort();
    raw_lines.sort();
    ensure!(
        adapter_lines == raw_lines,
        "{vendor:?}: the raw walk's requests differ from the adapter's:\n adapter: {:?}\n raw:     {:?}",
        &adapter_lines[..adapter_lines.len().min(4)],
        &raw_lines[..raw_lines.len().min(4)]
    );
    Ok((headers, adapter_lines.len()))
}
