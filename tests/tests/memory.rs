//! The conformance suite against the in-memory backend (tier 1: always).

use std::sync::Arc;

use billing::InMemoryBackend;
use billing_conformance::{Ctx, conformance_suite};

conformance_suite!(async { Ctx::new(Arc::new(InMemoryBackend::with_sample_catalog())) });

/// The macro's case list and [`billing_conformance::all`] name the same scenarios.
#[test]
fn every_scenario_is_in_the_suite() {
    let source = include_str!("../src/lib.rs");
    let all = billing_conformance::all();
    assert!(all.len() >= 25);
    for (name, _) in all {
        assert!(
            source.contains(&format!("#[case::{name}(")),
            "{name} is missing from conformance_suite!"
        );
    }
}
