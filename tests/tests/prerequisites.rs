//! With `CI=true`, every optional prerequisite of the suite must be there: a missing one would
//! otherwise only turn its tests into ignored ones. Outside CI this file has no test (nothing
//! to check, so nothing is reported as passed).
#![cfg(billing_ci)]

#[test]
fn the_vendors_api_descriptions_are_present() {
    let present = cfg!(billing_specs);
    assert!(
        present,
        "CI=true but ../shared/specs is missing: the spec checks would be ignored"
    );
}

#[test]
fn the_real_kill_bill_server_is_configured() {
    let configured = cfg!(killbill_real);
    assert!(
        configured,
        "CI=true but BILLING_TEST_KILLBILL_URL is not set: the real-server tier would be ignored \
         (.ci/run starts one with scripts/killbill-server.sh)"
    );
}
