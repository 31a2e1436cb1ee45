//! `billing-bench`: each adapter against its simulator, every figure beside a baseline
//! measured in the same run.
//!
//! ```text
//! cargo run -p billing-bench --release            # full run, under ten minutes on 2 cores
//! cargo run -p billing-bench --release -- --quick --sections ingest --vendors lago
//! ```
//!
//! 1. Usage ingestion: `record_usage` vs raw reqwest sending the same pre-serialised requests
//!    (checked byte for byte against the adapter's, captured by an in-process simulator),
//!    same batch size and concurrency; for Lago also the official `lago-client`.
//! 2. Listing customers: `customers()` streaming vs raw page fetching, with peak memory.
//! 3. Requests per operation, cold and warm caches.
//! 4. Client CPU per call, adapter vs baseline.
//! 5. The outbox: durable `record` throughput on SQLite and PostgreSQL vs the same rows with the
//!    same driver, and delivery through the outbox vs the adapter called directly
//!    (`--sections outbox` runs only this one).
//!
//! Timed sections run each simulator in a separate process (this binary started again in its
//! hidden `--serve-sim` mode, or `--sim-bin`), so this process's CPU time and memory are the
//! client's.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod alloc;
mod args;
mod cpu;
mod fixture;
mod ingest;
mod inproc;
mod listing;
mod measure;
mod outbox;
mod raw;
mod report;
mod requests;
mod simproc;
mod vendor;

use std::time::Instant;

use anyhow::Context;
use clap::Parser;

use args::{Args, Section};
use report::Report;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(vendor) = args.serve_sim {
        return simproc::serve(vendor, args.seed_customers).await;
    }
    let started = Instant::now();
    let launcher = simproc::Launcher::new(args.sim_bin.as_deref())?;
    let mut report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        mode: if args.quick { "quick" } else { "full" }.to_owned(),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        ..Report::default()
    };
    let mut vendors = args.vendors.clone();
    vendors.sort();
    vendors.dedup();

    if args.wants(Section::Ingest) {
        let opts = ingest::Options {
            events: args.events(),
            concurrency: args.concurrency,
            rounds: args.rounds(),
            subscriptions: 10,
            saturation_factor: 4,
        };
        for &v in &vendors {
            let t = Instant::now();
            let r = ingest::run(v, &opts, &launcher)
                .await
                .with_context(|| format!("ingestion, {}", v.name()))?;
            eprintln!(
                "[ingest {}] adapter/baseline {:.2} ({:.1} s)",
                v.name(),
                r.ratio,
                t.elapsed().as_secs_f64()
            );
            report.ingestion.push(r);
        }
    }
    if args.wants(Section::List) {
        let opts = listing::Options {
            sizes: args.listing_sizes(),
            page_size: 100,
            concurrency: args.concurrency,
            pairs: 5,
        };
        for &v in &vendors {
            let t = Instant::now();
            let r = listing::run(v, &opts, &launcher)
                .await
                .with_context(|| format!("listing, {}", v.name()))?;
            eprintln!("[list {}] {:.1} s", v.name(), t.elapsed().as_secs_f64());
            report.listing.push(r);
        }
    }
    if args.wants(Section::Requests) {
        for &v in &vendors {
            let r = requests::run(v, args.concurrency)
                .await
                .with_context(|| format!("requests per operation, {}", v.name()))?;
            report.requests.push(r);
        }
    }
    if args.wants(Section::Cpu) {
        report.derive_cpu();
    }
    if args.wants(Section::Outbox) {
        let opts = outbox::Options {
            single_events: if args.quick { 1_000 } else { 5_000 },
            batch_events: if args.quick { 10_000 } else { 100_000 },
            delivery_events: if args.quick { 4_000 } else { 20_000 },
            concurrency: args.concurrency,
            rounds: 3,
        };
        let t = Instant::now();
        report.outbox = Some(
            outbox::run(&vendors, &opts, &launcher)
                .await
                .context("the outbox section")?,
        );
        eprintln!("[outbox] {:.1} s", t.elapsed().as_secs_f64());
    }
    report.total_seconds = started.elapsed().as_secs_f64();

    println!("{}", report.tables());
    let out = args.out();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    std::fs::write(&out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("write {}", out.display()))?;
    eprintln!("wrote {} ({:.0} s)", out.display(), report.total_seconds);
    Ok(())
}
