//! The conformance suite against the BillaBear adapter and the BillaBear simulator (tier 2:
//! always, offline). The backend is built through the facade, from configuration. Every
//! request the suite sends is also checked against BillaBear's published API description
//! where it is present (`../shared/specs`).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;

use billing::BillingConfig;
use billing_conformance::spec::{SentRequest, Spec, required_specs_dir};
use billing_conformance::{Ctx, conformance_suite};
use billing_sim::SimOptions;
use billing_sim::billabear::BillaBearSim;

/// A simulator and a context whose backend talks to it through the facade.
async fn start() -> (BillaBearSim, Ctx) {
    let sim = BillaBearSim::start(SimOptions::default())
        .await
        .expect("start the BillaBear simulator");
    let config = BillingConfig::from_toml_str(&sim.billing_toml()).expect("valid configuration");
    let backend = billing::connect(&config).expect("connect");
    let log = sim.server().log().clone();
    let ctx = Ctx::new(backend).with_request_counter(Arc::new(move || log.len()));
    (sim, ctx)
}

async fn billabear_ctx() -> Ctx {
    let (sim, ctx) = start().await;
    // The simulator runs on this test's runtime and must outlive the context: it stops when
    // the runtime shuts down at the end of the test.
    std::mem::forget(sim);
    ctx
}

conformance_suite!(billabear_ctx());

/// Runs every scenario again and checks each request it sent against BillaBear's published
/// description: the method and path exist, and the body has the required fields. (The spec's
/// known errors, `per_page` on `/subscription` and `seat_numbrers`, are in query parameters
/// and optional fields, which this check does not read.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(billing_specs),
    ignore = "needs the vendors' API descriptions in ../shared/specs"
)]
async fn every_request_of_the_suite_matches_the_published_spec() {
    let dir = required_specs_dir();
    let spec = Spec::load(&dir.join("billabear/src/openapi.yaml"), "/api/v1").unwrap();
    let mut sent = 0;
    let mut violations = Vec::new();
    for (name, scenario) in billing_conformance::all() {
        let (sim, ctx) = start().await;
        scenario(&ctx).await;
        for r in sim.server().log().snapshot() {
            sent += 1;
            let request = SentRequest {
                method: r.method.to_string(),
                path: r.raw_path.clone(),
                body: r.json(),
            };
            if let Some(v) = spec.violation(&request) {
                violations.push(format!("{name}: {v}"));
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(sent > 200, "the suite sent {sent} requests");
}
