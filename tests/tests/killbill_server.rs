//! What the library has no call for, checked through Kill Bill's own API on the simulator and,
//! when `BILLING_TEST_KILLBILL_URL` names one (`scripts/killbill-server.sh env`), on a real
//! server: a migrated subscription is billed from its anchor only (the test-mode clock moves past
//! it), and any path reaches the resources with stock's CORS headers. Without the variable the
//! real-server cases are reported as ignored; under `CI=true` that is a failure
//! (`real_server_is_configured_in_ci`).
//!
//! The clock test moves the server's clock for every tenant: it runs in this binary of its own
//! (cargo runs test binaries one after another) and puts the clock back to real time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_conformance::killbill_server::{
    KbServer, any_path_reaches_the_resource_with_cors_headers,
    migrated_subscription_bills_from_its_anchor,
};
use billing_sim::SimOptions;
use billing_sim::killbill::KillBillSim;

const NEEDS_SERVER: &str =
    "needs a real Kill Bill: set BILLING_TEST_KILLBILL_URL (scripts/killbill-server.sh env)";

/// The clock is shared by every tenant: tests that move it never overlap with other tests of
/// this binary.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn real() -> KbServer {
    KbServer::real_from_env().expect(NEEDS_SERVER)
}

#[tokio::test]
async fn simulator_bills_a_migrated_subscription_from_its_anchor() {
    let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
    migrated_subscription_bills_from_its_anchor(&KbServer::sim(&sim)).await;
}

#[tokio::test]
async fn simulator_passes_any_path_with_cors_headers() {
    let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
    any_path_reaches_the_resource_with_cors_headers(&KbServer::sim(&sim)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(killbill_real),
    ignore = "needs a real Kill Bill: set BILLING_TEST_KILLBILL_URL"
)]
async fn real_server_bills_a_migrated_subscription_from_its_anchor() {
    let _serial = SERIAL.lock().await;
    migrated_subscription_bills_from_its_anchor(&real()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(killbill_real),
    ignore = "needs a real Kill Bill: set BILLING_TEST_KILLBILL_URL"
)]
async fn real_server_passes_any_path_with_cors_headers() {
    let _serial = SERIAL.lock().await;
    any_path_reaches_the_resource_with_cors_headers(&real()).await;
}
