//! Every request adapter-lago sends while running the whole conformance suite against the
//! simulator is allowed by Lago's OpenAPI description (`../shared/specs/lago/openapi.yaml`, read
//! in place, never copied): the method and path template exist and the body carries the fields
//! the operation requires. Ignored when the description is not there (and failing in CI).
//!
//! Query parameters are not checked: the adapter uses `external_id` on `GET /customers` (exact
//! match, lago-api PR #5703) and on `GET /subscriptions`, which the server accepts
//! (`vendors/lago.md`) but the description (1.51.0) does not declare.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;

use billing::BillingConfig;
use billing_conformance::Ctx;
use billing_conformance::spec::{SentRequest, Spec, required_specs_dir};
use billing_sim::SimOptions;
use billing_sim::lago::LagoSim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(billing_specs),
    ignore = "needs the vendors' API descriptions in ../shared/specs"
)]
async fn every_request_of_the_suite_is_allowed_by_the_spec() {
    let file = required_specs_dir().join("lago/openapi.yaml");
    let spec = Spec::load(&file, "/api/v1").expect("the description loads");
    assert!(spec.operation_count() > 50);
    let mut requests = Vec::new();
    for (name, scenario) in billing_conformance::all() {
        let sim = Arc::new(LagoSim::start(SimOptions::default()).await.unwrap());
        let toml = sim.billing_toml();
        let backend = billing::connect(&BillingConfig::from_toml_str(&toml).unwrap()).unwrap();
        let log = Arc::clone(&sim);
        let ctx =
            Ctx::new(backend).with_request_counter(Arc::new(move || log.server().log().len()));
        // A scenario that fails here fails in tests/lago.rs too; only its requests matter here.
        if tokio::spawn(async move { scenario(&ctx).await })
            .await
            .is_err()
        {
            println!("note: scenario {name} failed while its requests were collected");
        }
        requests.extend(sim.server().log().snapshot());
    }
    assert!(
        requests.len() > 100,
        "the suite sent {} requests",
        requests.len()
    );
    let mut problems: Vec<String> = requests
        .iter()
        .filter_map(|r| {
            spec.violation(&SentRequest {
                method: r.method.to_string(),
                path: r.raw_path.clone(),
                body: r.json(),
            })
        })
        .collect();
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "requests the description does not allow:\n{}",
        problems.join("\n")
    );
}
