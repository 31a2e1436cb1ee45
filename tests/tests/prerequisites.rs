//! With `CI=true`, every optional prerequisite of the suite must be there: a missing one would
//! otherwise only turn its tests into ignored ones. (The real Kill Bill server is checked by
//! `killbill_server.rs`, `real_server_is_configured_in_ci`.) Outside CI this file has no test (nothing to
//! check, so nothing is reported as passed).
#![cfg(billing_ci)]

#[test]
fn the_vendors_api_descriptions_are_present() {
    let present = cfg!(billing_specs);
    assert!(
        present,
        "CI=true but ../shared/specs is missing: the spec checks would be ignored"
    );
}
