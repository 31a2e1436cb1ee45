//! `billing-sim`: run one vendor simulator on 127.0.0.1 for manual testing or another
//! application's test suite.
//!
//! ```text
//! cargo run -p billing-sim -- --vendor lago --port 3000
//! cargo run -p billing-sim -- --vendor killbill --port 8080 --fault-rate 0.2 --seed 7
//! cargo run -p billing-sim --release -- --vendor lago --seed-customers 100000
//! ```
#![allow(clippy::print_stdout)]

use billing_sim::billabear::BillaBearSim;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;
use billing_sim::{FaultConfig, SimOptions};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Vendor {
    Lago,
    Killbill,
    Billabear,
}

/// Runs a stateful vendor simulator until interrupted.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Which vendor's API to simulate.
    #[arg(long, value_enum)]
    vendor: Vendor,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Fraction of requests that get a fault (500/503/429/dropped/slow), 0.0 to 1.0.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Customers (Kill Bill accounts) to create before serving, keyed `<prefix><n>` with `n`
    /// zero-padded to 7 digits: for benchmarks that list many customers.
    #[arg(long, default_value_t = 0)]
    seed_customers: usize,
    /// Key prefix of the seeded customers.
    #[arg(long, default_value = "seed-")]
    seed_prefix: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(std::io::Error::other(
            "--fault-rate must be between 0 and 1",
        ));
    }
    let options = SimOptions {
        faults: FaultConfig::mixed(args.fault_rate),
        seed: args.seed,
        port: args.port,
        // Standalone servers may run for millions of requests: keep only recent ones.
        log_capacity: Some(1_000),
    };
    let server = match args.vendor {
        Vendor::Lago => {
            let sim = LagoSim::start(options).await?;
            sim.seed_customers(args.seed_customers, &args.seed_prefix);
            println!("Lago simulator: {}", sim.api_url());
            println!(
                "  BILLING_PROVIDER=lago BILLING_LAGO_BASE_URL={} BILLING_LAGO_API_KEY={}",
                sim.api_url(),
                LagoSim::API_KEY
            );
            sim.into_server()
        }
        Vendor::Killbill => {
            let sim = KillBillSim::start(options).await?;
            sim.seed_accounts(args.seed_customers, &args.seed_prefix);
            println!("Kill Bill simulator: {}", sim.base_url());
            println!(
                "  basic auth {}:{}, tenant {}/{}",
                KillBillSim::USERNAME,
                KillBillSim::PASSWORD,
                KillBillSim::API_KEY,
                KillBillSim::API_SECRET
            );
            sim.into_server()
        }
        Vendor::Billabear => {
            let sim = BillaBearSim::start(options).await?;
            sim.seed_customers(args.seed_customers, &args.seed_prefix);
            println!("BillaBear simulator: {}", sim.api_url());
            println!("  X-API-Key: {}", BillaBearSim::API_KEY);
            sim.into_server()
        }
    };
    tokio::select! {
        () = server.wait() => {}
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
    Ok(())
}
