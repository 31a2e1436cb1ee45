//! A live switch from the Lago simulator to the Kill Bill simulator, by configuration only:
//! `provider = "lago"`, then `"cutover"` (with `[cutover]` naming both and the plan file), then
//! `"killbill"`, through `billing::connect`; usage across the instant lands on the vendor that
//! bills it, a batch split across both survives faults on one side, and reconcile proves every
//! event counted once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing::chrono::{Duration, Utc};
use billing::cutover::{CutoverPlan, reconcile};
use billing::migrate::{Migration, MigrationOptions};
use billing::prelude::*;
use billing::{
    BillingConfig, Currency, CustomerKey, EventId, MetricCode, NewCustomer, NewSubscription,
    PlanCode, SubscriptionKey, UsageEvent,
};
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;
use billing_sim::{FaultConfig, SimOptions};

/// A vendor's section of a simulator's configuration (without its `provider` line).
fn section(toml: &str) -> String {
    toml.lines()
        .filter(|l| !l.starts_with("provider"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_vendor_is_three_configuration_steps() {
    let lago = LagoSim::start(SimOptions::default()).await.unwrap();
    let killbill = KillBillSim::start(SimOptions::default()).await.unwrap();
    let sections = format!(
        "{}\n{}\n",
        section(&lago.billing_toml()),
        section(&killbill.billing_toml())
    );
    let dir = std::env::temp_dir().join(format!("billing-switch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = dir.join("cutover-plan.json");
    let config = |provider: &str| {
        BillingConfig::from_toml_str(&format!(
            "provider = \"{provider}\"\n\n[cutover]\nsource = \"lago\"\ntarget = \"killbill\"\n\
             plan = {:?}\n{sections}",
            plan_path.display().to_string()
        ))
        .unwrap()
    };

    // 1. Lago: a running business.
    let before = billing::connect(&config("lago")).unwrap();
    let acme = CustomerKey::new("acme").unwrap();
    before
        .create_customer(
            &NewCustomer::new(acme.clone())
                .email("billing@acme.example")
                .currency(Currency::USD),
        )
        .await
        .unwrap();
    let sub = SubscriptionKey::new("acme-main").unwrap();
    before
        .create_subscription(
            &NewSubscription::new(sub.clone(), acme, PlanCode::new("starter-monthly").unwrap())
                .starts_at(Utc::now() - Duration::days(9)),
        )
        .await
        .unwrap();

    // Migrate, and write the plan (the instant: where Lago's period ends).
    let target = billing::connect(&config("killbill")).unwrap();
    let report = Migration::new(
        before.as_ref(),
        target.as_ref(),
        MigrationOptions::default(),
    )
    .run()
    .await
    .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let plan = CutoverPlan::from_backends(before.as_ref(), target.as_ref(), 50)
        .await
        .unwrap();
    plan.save(&plan_path).unwrap();
    let instant = plan.instant(&sub).unwrap();

    // 2. Cutover: a batch across the instant, with the source failing every request.
    let during = billing::connect(&config("cutover")).unwrap();
    assert_eq!(during.info().name, "cutover");
    let calls = MetricCode::new("api_calls").unwrap();
    let event = |i: i64| {
        UsageEvent::new(
            EventId::new(format!("e{i}")).unwrap(),
            sub.clone(),
            calls.clone(),
            1.into(),
        )
        .at(instant + Duration::minutes(i))
    };
    let batch: Vec<UsageEvent> = (-4..4).map(event).collect();
    lago.server().faults().set(FaultConfig {
        error_503: 1.0,
        ..FaultConfig::none()
    });
    let outcomes = during.record_usage(&batch).await;
    assert_eq!(outcomes.len(), batch.len());
    for (e, o) in batch.iter().zip(&outcomes) {
        if e.timestamp < instant {
            assert!(!o.is_recorded(), "the source is down: {o:?}");
        } else {
            assert!(o.is_recorded(), "the target is up: {o:?}");
        }
    }
    lago.server().faults().set(FaultConfig::none());
    // The application retries what failed; the same events go the same way.
    let retry: Vec<UsageEvent> = batch
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| !o.is_recorded())
        .map(|(e, _)| e.clone())
        .collect();
    assert_eq!(retry.len(), 4);
    assert!(
        during
            .record_usage(&retry)
            .await
            .iter()
            .all(|o| o.is_recorded())
    );

    // A restart reads the same plan from its file.
    let restarted = billing::connect(&config("cutover")).unwrap();
    assert_eq!(restarted.info(), during.info());
    let source = billing::connect(&config("lago")).unwrap();
    let r = reconcile(source.as_ref(), target.as_ref(), &plan, &batch)
        .await
        .unwrap();
    assert!(r.is_exact(), "{r:#?}");
    assert_eq!(
        lago.events_for("acme-main").len(),
        4,
        "the source holds its side"
    );

    // 3. Kill Bill alone.
    let after = billing::connect(&config("killbill")).unwrap();
    let s = after.get_subscription(&sub).await.unwrap();
    assert_eq!(s.billing_anchor, Some(instant));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_cutover_without_its_plan_or_with_one_vendor_twice_is_refused_at_start_up() {
    let missing = BillingConfig::from_toml_str(
        "provider = \"cutover\"\n[cutover]\nsource = \"memory\"\ntarget = \"memory\"\n\
         plan = \"nowhere.json\"\n",
    )
    .unwrap();
    let e = billing::connect(&missing).unwrap_err();
    assert_eq!(e.kind(), billing::ErrorKind::Config);
    assert!(e.message().contains("cutover.target"), "{e}");
    let no_section = BillingConfig::from_toml_str("provider = \"cutover\"\n").unwrap();
    let e = billing::connect(&no_section).unwrap_err();
    assert_eq!(e.kind(), billing::ErrorKind::Config);
    assert!(e.message().contains("cutover"), "{e}");
}
