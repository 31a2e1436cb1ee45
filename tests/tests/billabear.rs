//! The conformance suite against the BillaBear adapter and the BillaBear simulator (tier 2:
//! always, offline). The backend is built through the facade, from configuration.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use billing::BillingConfig;
use billing_conformance::{Ctx, conformance_suite};
use billing_sim::SimOptions;
use billing_sim::billabear::BillaBearSim;

async fn billabear_ctx() -> Ctx {
    let sim = BillaBearSim::start(SimOptions::default())
        .await
        .expect("start the BillaBear simulator");
    let config = BillingConfig::from_toml_str(&format!(
        "provider = \"billabear\"\n[billabear]\nbase_url = \"{}\"\napi_key = \"{}\"\n",
        sim.api_url(),
        BillaBearSim::API_KEY
    ))
    .expect("valid configuration");
    let backend = billing::connect(&config).expect("connect");
    let log = sim.server().log().clone();
    // The simulator runs on this test's runtime and must outlive the context: it is stopped
    // when the runtime shuts down at the end of the test.
    std::mem::forget(sim);
    Ctx::new(backend).with_request_counter(Arc::new(move || log.len()))
}

conformance_suite!(billabear_ctx());
