//! The whole run's figures: the JSON document and the four printed tables.

pub mod table;

use serde::Serialize;

use crate::measure::{Sample, per};
use crate::requests::ops::Op;
use crate::vendor::Vendor;
use crate::{ingest, listing, requests};
use table::{Table, fixed, int, kib, rate};

/// Everything one run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The command line.
    pub command: String,
    /// `full` or `quick`.
    pub mode: String,
    /// Logical CPUs of the machine (client and simulators share them).
    pub cpus: usize,
    /// Section 1.
    pub ingestion: Vec<ingest::Report>,
    /// Section 2.
    pub listing: Vec<listing::Report>,
    /// Section 3.
    pub requests: Vec<requests::Report>,
    /// Section 4, derived from sections 1 and 2.
    pub cpu: Vec<CpuRow>,
    /// Section 5.
    pub outbox: Option<crate::outbox::Report>,
    /// Wall seconds of the whole run (the build excluded).
    pub total_seconds: f64,
}

/// The client's CPU per call: adapter against raw reqwest + serde, in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct CpuRow {
    /// The vendor.
    pub vendor: Vendor,
    /// What was measured (`ingest` per event, `list` per customer).
    pub workload: String,
    /// Adapter CPU µs (user + system) per item.
    pub adapter_us_per_item: f64,
    /// Baseline CPU µs per item.
    pub baseline_us_per_item: f64,
    /// Adapter CPU µs per request.
    pub adapter_us_per_request: f64,
    /// Baseline CPU µs per request.
    pub baseline_us_per_request: f64,
    /// Adapter over baseline (CPU per item).
    pub ratio: f64,
    /// Adapter minus baseline per request: the adapter layer's own cost of one call.
    pub adapter_layer_us_per_request: f64,
    /// Allocations per item, adapter and baseline (ingestion: counted on an untimed run; a
    /// count, so steadier than the CPU times on a shared machine).
    pub allocations_per_item: Option<(f64, f64)>,
}

impl CpuRow {
    fn of(vendor: Vendor, workload: String, adapter: &Sample, baseline: &Sample) -> Self {
        Self {
            vendor,
            workload,
            adapter_us_per_item: adapter.client_us_per_item(),
            baseline_us_per_item: baseline.client_us_per_item(),
            adapter_us_per_request: adapter.client_us_per_request(),
            baseline_us_per_request: baseline.client_us_per_request(),
            ratio: per(adapter.client_us_per_item(), baseline.client_us_per_item()),
            adapter_layer_us_per_request: adapter.client_us_per_request()
                - baseline.client_us_per_request(),
            allocations_per_item: None,
        }
    }
}

impl Report {
    /// Fills section 4 from sections 1 and 2.
    pub fn derive_cpu(&mut self) {
        let mut rows = Vec::new();
        for r in &self.ingestion {
            let workload = format!("ingest {} events, batch {}", int(r.events), r.batch_size);
            let mut row = CpuRow::of(r.vendor, workload, &r.adapter, &r.baseline);
            row.allocations_per_item = Some((
                r.allocations.adapter_per_event,
                r.allocations.baseline_per_event,
            ));
            rows.push(row);
        }
        for r in &self.listing {
            if let Some(s) = r.sizes.last() {
                let workload = format!("list {} customers", int(s.customers));
                rows.push(CpuRow::of(r.vendor, workload, &s.adapter, &s.baseline));
            }
        }
        self.cpu = rows;
    }

    /// The tables, as printed and as put in the README.
    pub fn tables(&self) -> String {
        let mut out = String::new();
        if !self.ingestion.is_empty() {
            out.push_str(&self.ingestion_table().render());
            out.push('\n');
        }
        if !self.listing.is_empty() {
            out.push_str(&self.listing_table().render());
            out.push('\n');
        }
        if !self.requests.is_empty() {
            out.push_str(&self.requests_table().render());
            out.push('\n');
        }
        if !self.cpu.is_empty() {
            out.push_str(&self.cpu_table().render());
        }
        if let Some(o) = &self.outbox {
            out.push('\n');
            out.push_str(&o.tables());
        }
        out
    }

    fn ingestion_table(&self) -> Table {
        let mut t = Table::new(
            "1. Usage ingestion (simulator in its own process; client and simulator share the CPUs; the adapter's \"vs baseline\" is the median of paired rounds, the other rows' a ratio of totals)",
            &[
                "vendor",
                "client",
                "events",
                "conc.",
                "events/s",
                "requests/s",
                "vs baseline",
                "client cores",
                "sim cores",
                "sim µs/req",
                "failed",
            ],
        );
        for r in &self.ingestion {
            let name = r.vendor.name();
            let line = |label: String, conc: usize, s: &Sample, ratio: Option<f64>| {
                let ratio = ratio.unwrap_or_else(|| per(s.items_per_s(), r.baseline.items_per_s()));
                vec![
                    name.to_owned(),
                    label,
                    int(s.items),
                    conc.to_string(),
                    rate(s.items_per_s()),
                    rate(s.requests_per_s()),
                    format!("{ratio:.2}"),
                    fixed(s.client_cores(), 2),
                    fixed(s.sim_cores(), 2),
                    fixed(s.sim_us_per_request(), 0),
                    int(s.failed),
                ]
            };
            t.row(line(
                format!("adapter (batch {})", r.batch_size),
                r.concurrency,
                &r.adapter,
                Some(r.ratio),
            ));
            t.row(line(
                "raw reqwest baseline".to_owned(),
                r.concurrency,
                &r.baseline,
                None,
            ));
            if let Some(o) = &r.official {
                t.row(line(
                    "lago-client 0.1 (1 event/request)".to_owned(),
                    r.concurrency,
                    o,
                    None,
                ));
            }
            t.row(line(
                "raw baseline, more in flight".to_owned(),
                r.saturation_concurrency,
                &r.saturation,
                None,
            ));
        }
        t
    }

    fn listing_table(&self) -> Table {
        let mut t = Table::new(
            "2. Listing customers (BillingExt::customers() stream vs raw page fetching, a page at a time; walks in pairs, alternating which side goes first, the ratio the median of the pairs'; peak = most bytes the walk had allocated at once above its start, to within 16 KiB per thread: the page, its JSON and items, and the caches' page-sized part; retained = still allocated after the walk)",
            &[
                "vendor",
                "customers",
                "page",
                "pairs",
                "adapter items/s",
                "raw items/s",
                "ratio",
                "requests",
                "adapter peak KiB",
                "raw peak KiB",
                "adapter retained KiB",
            ],
        );
        for r in &self.listing {
            for s in &r.sizes {
                t.row(vec![
                    r.vendor.name().to_owned(),
                    int(s.customers),
                    r.page_size.to_string(),
                    s.pairs.to_string(),
                    rate(s.adapter.items_per_s()),
                    rate(s.baseline.items_per_s()),
                    fixed(s.ratio, 2),
                    int(s.baseline.requests / s.pairs.max(1)),
                    kib(s.adapter_peak_bytes as f64),
                    kib(s.baseline_peak_bytes as f64),
                    kib(s.adapter_retained_bytes as f64),
                ]);
            }
        }
        t
    }

    fn requests_table(&self) -> Table {
        let mut headers = vec!["operation".to_owned()];
        for r in &self.requests {
            headers.push(format!("{} cold", r.vendor.name()));
            headers.push(format!("{} warm", r.vendor.name()));
        }
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut t = Table::new(
            "3. Requests per operation (counted by the simulator; cold = fresh backend, warm = keys used before)",
            &refs,
        );
        for op in Op::ALL {
            let mut row = vec![op.label().to_owned()];
            for r in &self.requests {
                let found = r.rows.iter().find(|x| x.operation == op);
                let cell = |n: Option<usize>| match (found, n) {
                    (Some(x), _) if x.note.contains("unsupported") => "unsupported".to_owned(),
                    (Some(x), Some(n)) if x.events > 1 => {
                        format!("{n} ({}/event)", fixed(n as f64 / x.events as f64, 2))
                    }
                    (_, Some(n)) => n.to_string(),
                    (_, None) => "error".to_owned(),
                };
                row.push(cell(found.and_then(|x| x.cold)));
                row.push(cell(found.and_then(|x| x.warm)));
            }
            t.row(row);
        }
        t
    }

    fn cpu_table(&self) -> Table {
        let mut t = Table::new(
            "4. Client CPU per call (user + system, getrusage of the bench process during sections 1-2; allocations counted on a separate untimed run of 500 requests a side)",
            &[
                "vendor",
                "workload",
                "adapter µs/item",
                "raw µs/item",
                "ratio",
                "adapter µs/request",
                "raw µs/request",
                "adapter layer µs/request",
                "adapter allocs/item",
                "raw allocs/item",
            ],
        );
        for r in &self.cpu {
            t.row(vec![
                r.vendor.name().to_owned(),
                r.workload.clone(),
                fixed(r.adapter_us_per_item, 1),
                fixed(r.baseline_us_per_item, 1),
                fixed(r.ratio, 2),
                fixed(r.adapter_us_per_request, 1),
                fixed(r.baseline_us_per_request, 1),
                fixed(r.adapter_layer_us_per_request, 1),
                r.allocations_per_item
                    .map_or_else(|| "-".to_owned(), |(a, _)| fixed(a, 1)),
                r.allocations_per_item
                    .map_or_else(|| "-".to_owned(), |(_, b)| fixed(b, 1)),
            ]);
        }
        t
    }
}
