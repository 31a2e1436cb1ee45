//! A live switch from a simulated Lago to a simulated Kill Bill, with usage flowing all along:
//! seed subscriptions started on different days, migrate them mid-period, then run the
//! application on `provider = "cutover"` while time passes the cutover instants, and reconcile.

use billing::catalog::sample;
use billing::chrono::{DateTime, Duration, TimeZone, Utc};
use billing::cutover::{CutoverPlan, Reconciliation, reconcile};
use billing::migrate::{Migration, MigrationOptions, verify};
use billing::prelude::*;
use billing::{
    BillingConfig, Currency, CustomerKey, Error, EventId, MetricCode, NewCustomer, NewSubscription,
    PlanCode, Result, SubscriptionKey, UsageEvent,
};
use billing_sim::SimOptions;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;

/// What the demo did.
#[derive(Debug)]
pub struct CutoverOutcome {
    /// Subscriptions switched.
    pub subscriptions: usize,
    /// Events sent through the cutover backend.
    pub events_sent: usize,
    /// Events a vendor refused (none expected).
    pub events_refused: usize,
    /// Subscriptions whose billing dates did not line up after the migration.
    pub period_mismatches: u64,
    /// The earliest and latest cutover instants.
    pub instants: (DateTime<Utc>, DateTime<Utc>),
    /// The proof.
    pub reconciliation: Reconciliation,
}

fn section(toml: &str) -> String {
    toml.lines()
        .filter(|l| !l.starts_with("provider"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn sim_error(e: std::io::Error) -> Error {
    Error::unexpected(format!("cannot start the simulator: {e}"))
}

/// Runs the switch with `subscriptions` subscriptions and `events_per_subscription` usage events
/// each, spread evenly from now to as long after the last cutover instant (at least three days).
///
/// # Errors
/// A simulator that cannot start, or an error from the migration, the plan or a read.
pub async fn cutover_demo(
    subscriptions: usize,
    events_per_subscription: usize,
) -> Result<CutoverOutcome> {
    let lago = LagoSim::start(SimOptions::default())
        .await
        .map_err(sim_error)?;
    let killbill = KillBillSim::start(SimOptions::default())
        .await
        .map_err(sim_error)?;
    // Business time starts now, on a whole second, and is the same for both vendors.
    let t0 = Utc
        .timestamp_opt(Utc::now().timestamp(), 0)
        .single()
        .unwrap_or_else(Utc::now);
    lago.set_clock(t0);
    killbill.set_clock(t0);

    let dir = std::env::temp_dir().join(format!(
        "billing-cutover-demo-{}-{}",
        std::process::id(),
        t0.timestamp_micros()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| Error::unexpected(e.to_string()))?;
    let plan_path = dir.join("cutover-plan.json");
    let sections = format!(
        "[cutover]\nsource = \"lago\"\ntarget = \"killbill\"\nplan = {:?}\n{}\n{}\n",
        plan_path.display().to_string(),
        section(&lago.billing_toml()),
        section(&killbill.billing_toml())
    );
    let connect = |provider: &str| {
        BillingConfig::from_toml_str(&format!("provider = \"{provider}\"\n{sections}"))
            .and_then(|c| billing::connect(&c))
    };

    // 1. On Lago: customers whose subscriptions started on different days.
    let source = connect("lago")?;
    for i in 0..subscriptions {
        let customer = CustomerKey::new(format!("cust-{i:04}"))?;
        source
            .create_customer(
                &NewCustomer::new(customer.clone())
                    .email(format!("cust-{i:04}@example.com"))
                    .currency(Currency::USD),
            )
            .await?;
        let started = t0 - Duration::days(i64::try_from(1 + i % 45).unwrap_or(1));
        source
            .create_subscription(
                &NewSubscription::new(
                    SubscriptionKey::new(format!("sub-{i:04}"))?,
                    customer,
                    PlanCode::new(sample::STARTER)?,
                )
                .starts_at(started),
            )
            .await?;
    }

    // 2. Migrate mid-period: Kill Bill bills each one from the end of its Lago period, and Lago
    //    is told to stop there. The plan records those instants.
    let target = connect("killbill")?;
    let options = MigrationOptions {
        cancel_source_at_period_end: true,
        ..MigrationOptions::default()
    };
    let report = Migration::new(source.as_ref(), target.as_ref(), options)
        .run()
        .await?;
    if !report.failed.is_empty() {
        return Err(Error::unexpected(format!(
            "migration failures: {:?}",
            report.failed
        )));
    }
    let verification = verify(source.as_ref(), target.as_ref(), &Default::default(), 100).await?;
    let plan = CutoverPlan::from_backends(source.as_ref(), target.as_ref(), 100).await?;
    plan.save(&plan_path)?;
    let first = plan.instants.values().min().copied().unwrap_or(t0);
    let last = plan.instants.values().max().copied().unwrap_or(t0);

    // 3. The application switches to provider = "cutover" and keeps sending usage while time
    //    passes the instants. Lago's clock stops an hour before the first instant: it can only
    //    total its current period, which must still be current (not yet ended by the
    //    scheduled cancellation) to be reconciled.
    let cutover = connect("cutover")?;
    let end = last + (last - t0).max(Duration::days(3));
    let steps = i32::try_from(events_per_subscription.max(1)).unwrap_or(i32::MAX);
    let step = (end - t0) / steps;
    let calls = MetricCode::new(sample::API_CALLS)?;
    let mut sent = Vec::with_capacity(subscriptions * events_per_subscription);
    let mut refused = 0;
    for n in 0..steps {
        let now = t0 + step * n;
        killbill.set_clock(now);
        lago.set_clock(now.min(first - Duration::hours(1)));
        let batch: Vec<UsageEvent> = (0..subscriptions)
            .map(|i| {
                Ok(UsageEvent::new(
                    EventId::new(format!("ev-{i:04}-{n:05}"))?,
                    SubscriptionKey::new(format!("sub-{i:04}"))?,
                    calls.clone(),
                    1.into(),
                )
                .at(now))
            })
            .collect::<Result<_>>()?;
        let outcomes = cutover.record_usage(&batch).await;
        refused += outcomes.iter().filter(|o| !o.is_recorded()).count();
        sent.extend(batch);
    }

    let reconciliation = reconcile(source.as_ref(), target.as_ref(), &plan, &sent).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(CutoverOutcome {
        subscriptions,
        events_sent: sent.len(),
        events_refused: refused,
        period_mismatches: verification.period_mismatches.count,
        instants: (first, last),
        reconciliation,
    })
}

/// A few lines for a terminal: per side, events sent, counted, counted twice and lost.
pub fn summary(o: &CutoverOutcome) -> String {
    let r = &o.reconciliation;
    let mut out = vec![
        format!(
            "{} subscriptions switched from Lago to Kill Bill (instants {} .. {}), \
             period_mismatches: {}",
            o.subscriptions,
            o.instants.0.format("%Y-%m-%d %H:%M"),
            o.instants.1.format("%Y-%m-%d %H:%M"),
            o.period_mismatches
        ),
        format!(
            "{} events sent through provider = \"cutover\", {} refused",
            o.events_sent, o.events_refused
        ),
    ];
    out.push(r.summary("Lago (before instant)", "Kill Bill (from it)"));
    out.join("\n")
}
