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
use crate::measure::{Sample, Stopwatch, per};
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
}

/// One size's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SizeReport {
    /// Customers seeded and walked.
    pub customers: usize,
    /// The adapter's stream.
    pub adapter: Sample,
    /// The raw walk.
    pub baseline: Sample,
    /// Adapter items/s over baseline items/s.
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

        // Both walks run with the allocation tracking on (cheap: see `alloc`), in turn, the
        // raw one first for the first size and second for the next.
        let tracking = alloc::Tracking::start();
        let raw_first = sizes.len() % 2 == 0;
        let mut raw = None;
        let mut ours = None;
        for raw_turn in [raw_first, !raw_first] {
            let base = alloc::reset_peak();
            let watch = Stopwatch::start(Some(&sim));
            if raw_turn {
                let walked = walker.walk(&client).await?;
                let sample = watch.stop(Some(&sim), walked.items, walked.requests, 0);
                raw = Some((walked, sample, alloc::above(alloc::peak(), base)));
            } else {
                let walked = adapter_walk(backend.as_ref(), opts.page_size).await?;
                let sample = watch.stop(Some(&sim), walked.items, 0, 0);
                let retained =
                    i64::try_from(alloc::current().saturating_sub(base)).unwrap_or(i64::MAX);
                ours = Some((walked, sample, alloc::above(alloc::peak(), base), retained));
            }
        }
        drop(tracking);
        let (
            Some((raw_walk, baseline, baseline_peak)),
            Some((walked, mut adapter, adapter_peak, retained)),
        ) = (raw, ours)
        else {
            anyhow::bail!("internal: a walk did not run");
        };
        // Same request lines as the raw walk (checked by `fidelity` on a small walk).
        adapter.requests = raw_walk.requests;
        drop(backend);
        sim.stop().await;

        ensure!(
            walked.items == size && raw_walk.items == size,
            "{vendor:?}: walked {} (adapter) and {} (raw) of {size} customers",
            walked.items,
            raw_walk.items
        );
        sizes.push(SizeReport {
            customers: size,
            ratio: per(adapter.items_per_s(), baseline.items_per_s()),
            adapter,
            baseline,
            adapter_peak_bytes: adapter_peak,
            adapter_retained_bytes: retained,
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
