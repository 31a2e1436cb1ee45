//! Simulated vendors with seed data, so the migration examples run with no server.

use std::sync::Arc;

use billing::catalog::sample;
use billing::chrono::{Datelike, Duration, Utc};
use billing::prelude::*;
use billing::{
    BillingConfig, CancelAt, Currency, CustomerKey, Error, NewCustomer, NewSubscription, PlanCode,
    Result, SubscriptionKey,
};
use billing_sim::SimOptions;
use billing_sim::billabear::BillaBearSim;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;

/// A vendor whose simulator the examples can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// Lago.
    Lago,
    /// Kill Bill.
    KillBill,
    /// BillaBear.
    BillaBear,
}

/// A running simulator and a backend connected to it through the facade.
pub struct Simulated {
    /// The backend, built from [`Simulated::config_toml`].
    pub backend: Arc<dyn BillingBackend>,
    /// The billing configuration that reaches the simulator.
    pub config_toml: String,
    // Keeps the simulator running as long as this value lives.
    _server: billing_sim::SimServer,
}

impl std::fmt::Debug for Simulated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulated")
            .field("backend", &self.backend.info())
            .finish_non_exhaustive()
    }
}

fn sim_error(e: std::io::Error) -> Error {
    Error::unexpected(format!("cannot start the simulator: {e}"))
}

/// Starts `vendor`'s simulator on an ephemeral port and connects to it.
///
/// # Errors
/// If the simulator cannot start or the configuration is rejected.
pub async fn simulate(vendor: Vendor) -> Result<Simulated> {
    let options = SimOptions::default();
    let (config_toml, server) = match vendor {
        Vendor::Lago => {
            let sim = LagoSim::start(options).await.map_err(sim_error)?;
            // Lago refuses a cancellation at period end on the period's last day; keep the
            // simulator off that day so the demo's scheduled cancellations always work.
            let today = Utc::now();
            if (today + Duration::days(1)).month() != today.month() {
                sim.advance_clock(-Duration::days(1));
            }
            (sim.billing_toml(), sim.into_server())
        }
        Vendor::KillBill => {
            let sim = KillBillSim::start(options).await.map_err(sim_error)?;
            (sim.billing_toml(), sim.into_server())
        }
        Vendor::BillaBear => {
            let sim = BillaBearSim::start(options).await.map_err(sim_error)?;
            (sim.billing_toml(), sim.into_server())
        }
    };
    let backend = billing::connect(&BillingConfig::from_toml_str(&config_toml)?)?;
    Ok(Simulated {
        backend,
        config_toml,
        _server: server,
    })
}

/// Seeds `n` customers (`<prefix>-cNNNNN`) with one subscription each: every 4th subscription is
/// canceled, every 5th other one cancels at period end; plans alternate. Where the backend can
/// start subscriptions in the past, they started on different days of the last two months (as a
/// running business's would have). Customers get metadata when the backend stores it.
///
/// # Errors
/// The first error from the backend.
pub async fn seed(backend: &dyn BillingBackend, prefix: &str, n: usize) -> Result<()> {
    let caps = backend.capabilities().clone();
    for i in 0..n {
        let key = CustomerKey::new(format!("{prefix}-c{i:05}"))?;
        let mut new = NewCustomer::new(key.clone())
            .name(format!("Customer {i}"))
            .email(format!("{prefix}-c{i:05}@example.com"))
            .currency(Currency::USD);
        if caps.customer_metadata.is_some() {
            new = new.metadata("segment", if i % 2 == 0 { "smb" } else { "enterprise" });
        }
        backend.create_customer(&new).await?;
        let sub = SubscriptionKey::new(format!("{prefix}-s{i:05}"))?;
        let plan = PlanCode::new(if i % 3 == 0 {
            sample::PRO
        } else {
            sample::STARTER
        })?;
        let mut new = NewSubscription::new(sub.clone(), key, plan).currency(Currency::USD);
        if caps.subscription_start_past {
            let days = i64::try_from(1 + (i * 7) % 59).unwrap_or(1);
            let hours = i64::try_from(i % 24).unwrap_or(0);
            new = new.starts_at(Utc::now() - Duration::days(days) - Duration::hours(hours));
        }
        backend.create_subscription(&new).await?;
        if i % 4 == 3 && caps.cancel_now {
            backend.cancel_subscription(&sub, CancelAt::Now).await?;
        } else if i % 5 == 4 && caps.cancel_at_period_end {
            backend
                .cancel_subscription(&sub, CancelAt::PeriodEnd)
                .await?;
        }
    }
    Ok(())
}

/// What a demo migration did.
#[derive(Debug)]
pub struct DemoOutcome {
    /// The report of the first run.
    pub report: billing::migrate::MigrationReport,
    /// The report of a second run over the same data (creates nothing).
    pub rerun: billing::migrate::MigrationReport,
    /// What `verify` found after the first run: differences, and subscriptions whose billing
    /// dates do not line up (none when complete).
    pub verification: billing::migrate::Verification,
    /// Seconds spent seeding the source.
    pub seed_secs: f64,
    /// Seconds the first migration run took.
    pub migrate_secs: f64,
}

/// How a demo migration runs, beyond the vendors and sizes.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoFlags {
    /// [`billing::migrate::MigrationOptions::accept_double_billing`].
    pub accept_double_billing: bool,
    /// [`billing::migrate::MigrationOptions::cancel_source_at_period_end`].
    pub cancel_source_at_period_end: bool,
}

/// Starts both simulators, seeds `customers` into the source, migrates them with `concurrency`
/// (checkpointing to a temporary file), verifies the target, and runs again to show that a
/// re-run creates nothing.
///
/// # Errors
/// A simulator that cannot start, a seeding error, or a migration error.
pub async fn migration_demo(
    from: Vendor,
    to: Vendor,
    customers: usize,
    concurrency: usize,
    flags: DemoFlags,
) -> Result<DemoOutcome> {
    use billing::migrate::{CheckpointFile, Migration, MigrationOptions, PlanMap, verify};
    let source = simulate(from).await?;
    let target = simulate(to).await?;
    let started = std::time::Instant::now();
    seed(source.backend.as_ref(), "demo", customers).await?;
    let seed_secs = started.elapsed().as_secs_f64();

    // One file per run, even for runs in parallel in one process (a shared checkpoint would make
    // one run resume from another's cursor and report its work).
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let checkpoint = CheckpointFile::new(std::env::temp_dir().join(format!(
        "billing-demo-{from:?}-to-{to:?}-{}-{run}.json",
        std::process::id(),
    )));
    let options = MigrationOptions {
        concurrency,
        accept_double_billing: flags.accept_double_billing,
        cancel_source_at_period_end: flags.cancel_source_at_period_end,
        ..MigrationOptions::default()
    };
    let started = std::time::Instant::now();
    let report = Migration::new(
        source.backend.as_ref(),
        target.backend.as_ref(),
        options.clone(),
    )
    .with_checkpoint(checkpoint.clone())
    .run()
    .await?;
    let migrate_secs = started.elapsed().as_secs_f64();
    let verification = verify(
        source.backend.as_ref(),
        target.backend.as_ref(),
        &PlanMap::identity(),
        100,
    )
    .await?;
    // Without the (finished) checkpoint, a second run walks everything again and skips it all.
    let _ = std::fs::remove_file(checkpoint.path());
    let rerun = Migration::new(source.backend.as_ref(), target.backend.as_ref(), options)
        .run()
        .await?;
    Ok(DemoOutcome {
        report,
        rerun,
        verification,
        seed_secs,
        migrate_secs,
    })
}

const USAGE: &str = "usage: [--customers N] [--concurrency N] [--accept-double-billing] \
                     [--cancel-source-at-period-end]";

/// Runs [`migration_demo`] with `--customers N`, `--concurrency N`, `--accept-double-billing`
/// and `--cancel-source-at-period-end` from the command line and prints what happened.
///
/// # Errors
/// Bad arguments, or whatever [`migration_demo`] reports.
pub async fn migration_demo_main(from: Vendor, to: Vendor) -> Result<String> {
    let mut customers = 25;
    let mut concurrency = 8;
    let mut flags = DemoFlags::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--accept-double-billing" => flags.accept_double_billing = true,
            "--cancel-source-at-period-end" => flags.cancel_source_at_period_end = true,
            "--customers" | "--concurrency" => {
                let value = args
                    .next()
                    .and_then(|v| v.parse::<usize>().ok())
                    .ok_or_else(|| Error::invalid_input(USAGE))?;
                if arg == "--customers" {
                    customers = value;
                } else {
                    concurrency = value.max(1);
                }
            }
            _ => return Err(Error::invalid_input(USAGE)),
        }
    }
    let o = migration_demo(from, to, customers, concurrency, flags).await?;
    let mut out = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "{from:?} -> {to:?}: {customers} customers seeded in {:.1} s",
        o.seed_secs
    );
    let _ = writeln!(out, "{}", o.report.summary());
    let _ = writeln!(
        out,
        "migrated in {:.2} s at concurrency {concurrency}: {:.0} customers/s",
        o.migrate_secs,
        customers as f64 / o.migrate_secs.max(f64::EPSILON)
    );
    let v = &o.verification;
    if v.problems.is_empty() {
        let _ = writeln!(
            out,
            "verified: every live customer and subscription is in the target with the same key, plan and status"
        );
    } else {
        for p in &v.problems {
            let _ = writeln!(out, "MISMATCH {p}");
        }
    }
    let _ = writeln!(
        out,
        "period_mismatches: {}{}",
        v.period_mismatches.count,
        if v.period_mismatches.count == 0 {
            " (the target bills each subscription from the day its source period ends)".to_owned()
        } else {
            format!(" {:?}", v.period_mismatches.keys)
        }
    );
    let _ = writeln!(
        out,
        "second run: {} customers and {} subscriptions created, {} customers skipped",
        o.rerun.customers.created, o.rerun.subscriptions.created, o.rerun.customers.skipped
    );
    Ok(out)
}
