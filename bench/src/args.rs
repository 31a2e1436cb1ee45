//! The command line: sizes, sections, vendors, and where the JSON goes.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::vendor::Vendor;

/// One of the four tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Section {
    /// 1. Usage ingestion against a raw baseline (and lago-client).
    Ingest,
    /// 2. Listing customers: throughput and peak memory.
    List,
    /// 3. Requests per operation, cold and warm.
    Requests,
    /// 4. Client CPU per call (derived from 1 and 2).
    Cpu,
    /// 5. The outbox: durable record and delivery throughput.
    Outbox,
}

/// Benchmarks each adapter against its simulator, every figure beside a baseline measured in
/// the same run. Prints four tables and writes them as JSON.
#[derive(Debug, Clone, Parser)]
#[command(about)]
pub struct Args {
    /// Small sizes for development: 10,000 events, 1,000 and 10,000 customers.
    #[arg(long)]
    pub quick: bool,
    /// Sections to run (comma-separated); `cpu` is derived from `ingest` and `list`.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Section::Ingest, Section::List, Section::Requests, Section::Cpu, Section::Outbox])]
    pub sections: Vec<Section>,
    /// Vendors to run (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Vendor::ALL)]
    pub vendors: Vec<Vendor>,
    /// Usage events per side (default 100,000; 10,000 with --quick).
    #[arg(long)]
    pub events: Option<usize>,
    /// Customers of the larger listing (default 100,000; 10,000 with --quick); the smaller
    /// one is a tenth of it.
    #[arg(long)]
    pub customers: Option<usize>,
    /// Requests in flight, for the adapters (`http.concurrency`) and the baselines alike.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Most rounds the ingestion is split into, each running both sides back to back and
    /// alternating which goes first; the ratio is the median of the rounds'. Fewer are run when
    /// a side's share of a round would be under 8 requests per connection.
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Where to write the JSON (default `<target dir>/bench/latest.json`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A `billing-sim` binary to run the simulators with (default: this binary, which embeds
    /// them).
    #[arg(long)]
    pub sim_bin: Option<PathBuf>,
    /// Internal: serve this vendor's simulator (the bench starts itself in this mode).
    #[arg(long, value_enum, hide = true)]
    pub serve_sim: Option<Vendor>,
    /// Internal: customers to seed in `--serve-sim` mode.
    #[arg(long, hide = true, default_value_t = 0)]
    pub seed_customers: usize,
}

impl Args {
    /// Whether `section` was asked for.
    pub fn wants(&self, section: Section) -> bool {
        self.sections.contains(&section)
    }

    /// Events per side.
    pub fn events(&self) -> usize {
        self.events
            .unwrap_or(if self.quick { 10_000 } else { 100_000 })
    }

    /// The listing sizes, smaller first.
    pub fn listing_sizes(&self) -> Vec<usize> {
        let large = self
            .customers
            .unwrap_or(if self.quick { 10_000 } else { 100_000 });
        vec![(large / 10).max(1), large]
    }

    /// Ingestion rounds.
    pub fn rounds(&self) -> usize {
        self.rounds.unwrap_or(100).max(1)
    }

    /// The JSON path.
    pub fn out(&self) -> PathBuf {
        if let Some(p) = &self.out {
            return p.clone();
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                // <target>/<profile>/billing-bench
                let exe = std::env::current_exe().ok()?;
                Some(exe.parent()?.parent()?.to_path_buf())
            })
            .unwrap_or_else(|| PathBuf::from("target"));
        target.join("bench").join("latest.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_quick() {
        let full = Args::parse_from(["billing-bench"]);
        assert_eq!(full.events(), 100_000);
        assert_eq!(full.listing_sizes(), vec![10_000, 100_000]);
        assert_eq!(full.vendors.len(), 3);
        assert!(full.wants(Section::Requests));
        let quick = Args::parse_from([
            "billing-bench",
            "--quick",
            "--sections",
            "ingest,cpu",
            "--vendors",
            "lago",
        ]);
        assert_eq!(quick.events(), 10_000);
        assert_eq!(quick.rounds(), 100);
        assert!(!quick.wants(Section::List));
        assert_eq!(quick.vendors, vec![Vendor::Lago]);
    }
}
