//! `billing-sim`: run one vendor simulator on 127.0.0.1 for manual testing or another
//! application's test suite (in any language: see `billing-sim/README.md`).
//!
//! ```text
//! cargo run -p billing-sim -- --vendor lago --port 3000
//! cargo run -p billing-sim -- --vendor lago --catalog my-catalog.toml --api-key secret
//! cargo run -p billing-sim -- --vendor killbill --catalog catalog.xml --tenant acme:s3cret
//! cargo run -p billing-sim -- --vendor killbill --port 8080 --fault-rate 0.2 --seed 7
//! cargo run -p billing-sim --release -- --vendor lago --seed-customers 100000
//! ```
//!
//! The first line on stdout is one JSON object ([`billing_sim::SimInfo`]): the vendor, the API
//! URL, the admin URL, the credentials, and `env`, the `billing` facade's environment for this
//! simulator. Logs go to stderr. The simulator runs until interrupted (Ctrl-C or SIGTERM).
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::PathBuf;

use billing_sim::billabear::{BillaBearSim, BillaBearSimConfig};
use billing_sim::killbill::{KillBillSim, KillBillSimConfig};
use billing_sim::lago::{LagoSim, LagoSimConfig};
use billing_sim::{Catalog, FaultConfig, SimInfo, SimOptions, SimServer};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Vendor {
    Lago,
    Killbill,
    Billabear,
}

/// Runs a stateful vendor simulator until interrupted. Its first line on stdout is JSON: the
/// URLs, the credentials and the `billing` facade's environment.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Which vendor's API to simulate.
    #[arg(long, value_enum)]
    vendor: Vendor,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A catalog file (TOML, or JSON when it ends in `.json`; for Kill Bill also its own
    /// catalog XML when it ends in `.xml`). Default: the sample catalog.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Lago and BillaBear: the API key to accept (default: the simulator's own).
    #[arg(long)]
    api_key: Option<String>,
    /// Kill Bill: a basic-auth user, `NAME:PASSWORD` (repeatable; default admin:password).
    #[arg(long = "user", value_parser = pair)]
    users: Vec<(String, String)>,
    /// Kill Bill: a tenant that exists from the start with the catalog, `API_KEY:API_SECRET`
    /// (repeatable; default bob:lazar).
    #[arg(long = "tenant", value_parser = pair)]
    tenants: Vec<(String, String)>,
    /// Fraction of requests that get a fault (500/503/429/dropped/slow), 0.0 to 1.0.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How many recent requests the request log keeps.
    #[arg(long, default_value_t = 1_000)]
    log_capacity: usize,
    /// Customers (Kill Bill accounts) to create before serving, keyed `<prefix><n>` with `n`
    /// zero-padded to 7 digits: for benchmarks that list many customers.
    #[arg(long, default_value_t = 0)]
    seed_customers: usize,
    /// Key prefix of the seeded customers.
    #[arg(long, default_value = "seed-")]
    seed_prefix: String,
}

/// `NAME:SECRET`.
fn pair(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_owned(), b.to_owned())),
        _ => Err(format!("`{text}` is not NAME:SECRET")),
    }
}

fn fail(message: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message.into())
}

fn catalog(args: &Args) -> std::io::Result<Catalog> {
    match &args.catalog {
        None => Ok(Catalog::sample()),
        Some(path) => Catalog::load(path).map_err(|e| fail(e.to_string())),
    }
}

fn is_xml(path: Option<&PathBuf>) -> bool {
    path.and_then(|p| p.extension())
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
}

async fn start(args: &Args, options: SimOptions) -> std::io::Result<(SimInfo, SimServer)> {
    let kill_bill = matches!(args.vendor, Vendor::Killbill);
    if kill_bill && args.api_key.is_some() {
        return Err(fail("Kill Bill takes --user and --tenant, not --api-key"));
    }
    if !kill_bill && (!args.users.is_empty() || !args.tenants.is_empty()) {
        return Err(fail("--user and --tenant are for Kill Bill; use --api-key"));
    }
    if !kill_bill && is_xml(args.catalog.as_ref()) {
        return Err(fail("an XML catalog is Kill Bill's: use TOML or JSON"));
    }
    Ok(match args.vendor {
        Vendor::Lago => {
            let mut config = LagoSimConfig {
                catalog: catalog(args)?,
                ..LagoSimConfig::default()
            };
            if let Some(key) = &args.api_key {
                config.api_key = key.clone();
            }
            let sim = LagoSim::start_with(options, config).await?;
            sim.seed_customers(args.seed_customers, &args.seed_prefix);
            (sim.info(), sim.into_server())
        }
        Vendor::Killbill => {
            let mut config = KillBillSimConfig::default();
            if !args.users.is_empty() {
                config.users = args.users.clone();
            }
            if !args.tenants.is_empty() {
                config.tenants = args.tenants.clone();
            }
            let sim = match &args.catalog {
                Some(path) if is_xml(Some(path)) => {
                    let xml = std::fs::read_to_string(path)
                        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                    KillBillSim::start_with_catalog_xml(options, config, &xml).await?
                }
                _ => {
                    config.catalog = catalog(args)?;
                    KillBillSim::start_with(options, config).await?
                }
            };
            sim.seed_accounts(args.seed_customers, &args.seed_prefix);
            (sim.info(), sim.into_server())
        }
        Vendor::Billabear => {
            let mut config = BillaBearSimConfig {
                catalog: catalog(args)?,
                ..BillaBearSimConfig::default()
            };
            if let Some(key) = &args.api_key {
                config.api_key = key.clone();
            }
            let sim = BillaBearSim::start_with(options, config).await?;
            sim.seed_customers(args.seed_customers, &args.seed_prefix);
            (sim.info(), sim.into_server())
        }
    })
}

#[cfg(unix)]
async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminated() {
    std::future::pending().await
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(fail("--fault-rate must be between 0 and 1"));
    }
    let options = SimOptions {
        faults: FaultConfig::mixed(args.fault_rate),
        seed: args.seed,
        port: args.port,
        // Standalone servers may run for millions of requests: keep only recent ones.
        log_capacity: Some(args.log_capacity),
    };
    let (info, server) = start(&args, options).await?;
    let line = serde_json::to_string(&info).map_err(std::io::Error::other)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(url = %info.url, admin = %info.admin_url, "{} simulator ready", info.vendor);
    tokio::select! {
        () = server.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
        () = terminated() => {}
    }
    Ok(())
}
