//! The conformance suite against the Kill Bill adapter and the Kill Bill simulator (tier 2:
//! always, offline). The backend is built through the facade, from TOML, as an application
//! builds it. Every request the adapter sends is also checked against Kill Bill's own API
//! description when `../shared/specs` is present.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use billing::{BillingConfig, BillingExt};
use billing_conformance::spec::{SentRequest, Spec, killbill_documented_error, required_specs_dir};
use billing_conformance::{Ctx, conformance_suite};
use billing_sim::SimOptions;
use billing_sim::killbill::KillBillSim;

fn config_for(sim: &KillBillSim) -> BillingConfig {
    // `billing_toml()` ends inside the `[killbill]` section, so this line extends it.
    BillingConfig::from_toml_str(&format!(
        "{}created_by = \"conformance\"\n",
        sim.billing_toml()
    ))
    .expect("valid configuration")
}

/// A fresh simulator and a context over the adapter built for it. The request counter holds
/// the simulator, so it lives as long as the context.
async fn ctx() -> Ctx {
    let sim = Arc::new(KillBillSim::start(SimOptions::default()).await.unwrap());
    let backend = billing::connect(&config_for(&sim)).unwrap();
    let counter = {
        let sim = sim.clone();
        Arc::new(move || sim.server().log().len())
    };
    Ctx::new(backend).with_request_counter(counter)
}

conformance_suite!(ctx());

/// Every scenario once, against one simulator, then every request it received is checked
/// against `kbswagger.yaml` (ignored when the description is absent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(billing_specs),
    ignore = "needs the vendors' API descriptions in ../shared/specs"
)]
async fn every_request_matches_the_kill_bill_api_description() {
    let dir = required_specs_dir();
    let spec = Spec::load(&dir.join("killbill/kbswagger.yaml"), "").unwrap();
    assert!(spec.operation_count() > 100);
    let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
    let backend = billing::connect(&config_for(&sim)).unwrap();
    for (name, scenario) in billing_conformance::all() {
        let ctx = Ctx::new(backend.clone());
        println!("scenario {name}");
        scenario(&ctx).await;
    }
    // Listing walks every page too.
    let listed = futures::StreamExt::count(backend.customers(2)).await;
    assert!(listed > 0);
    let mut violations = Vec::new();
    let mut documented = 0;
    for r in sim.server().log().snapshot() {
        let sent = SentRequest {
            method: r.method.to_string(),
            path: r.raw_path.clone(),
            body: r.json(),
        };
        match spec.violation(&sent) {
            Some(v) if killbill_documented_error(&v) => documented += 1,
            Some(v) => violations.push(v),
            None => {}
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(
        documented > 0,
        "the description's Subscription error is still there (else drop the allowance)"
    );
}

/// Every write carried `X-Killbill-CreatedBy`, and no request carried the secret anywhere but
/// in its own header.
#[tokio::test]
async fn every_write_names_its_author() {
    let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
    let backend = billing::connect(&config_for(&sim)).unwrap();
    let ctx = Ctx::new(backend);
    billing_conformance::subscriptions::cancel_now(&ctx).await;
    billing_conformance::usage::record_single_and_read(&ctx).await;
    let log = sim.server().log().snapshot();
    assert!(log.iter().any(|r| r.method.as_str() != "GET"));
    for r in &log {
        let created_by = r.headers.get("x-killbill-createdby");
        if r.method.as_str() != "GET" {
            assert_eq!(
                created_by.map(|v| v.to_str().unwrap()),
                Some("conformance"),
                "{} {}",
                r.method,
                r.raw_path
            );
        }
        assert_eq!(
            r.headers
                .get("x-killbill-apisecret")
                .map(|v| v.to_str().unwrap()),
            Some(KillBillSim::API_SECRET)
        );
        let query = r.raw_query.as_deref().unwrap_or("");
        assert!(
            !query.contains(KillBillSim::API_SECRET)
                && !r.raw_path.contains(KillBillSim::API_SECRET)
        );
    }
}
