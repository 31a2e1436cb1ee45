//! The conformance suite against the in-memory backend (tier 1: always): with every capability,
//! and standing in for each vendor with that vendor's real capabilities (no HTTP), so every
//! `false` flag's promise is checked here too.

use std::sync::Arc;

use billing::{Capabilities, InMemoryBackend};
use billing_conformance::{Ctx, conformance_suite};

fn memory(capabilities: Capabilities) -> Ctx {
    Ctx::new(Arc::new(
        InMemoryBackend::with_sample_catalog().with_capabilities(capabilities),
    ))
}

mod full {
    use super::*;
    conformance_suite!(async { memory(Capabilities::full()) });
}

mod as_lago {
    use super::*;
    conformance_suite!(async { memory(billing::lago::capabilities()) });
}

mod as_killbill {
    use super::*;
    conformance_suite!(async { memory(billing::killbill::capabilities()) });
}

mod as_billabear {
    use super::*;
    conformance_suite!(async { memory(billing::billabear::capabilities()) });
}

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
