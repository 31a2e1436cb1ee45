//! Hostile keys through every trait method of every adapter, against its simulator; then every
//! request the simulator received is checked from its raw log: it stayed on one of the
//! adapter's routes, and every key travelled whole, percent-encoded, in its own segment or
//! query value. No key can reach a different endpoint. Quantities at the edges are recorded
//! exactly or refused before any request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;

use billing::rust_decimal::Decimal;
use billing_conformance::hostile::{QuantityOutcome, exercise_every_method, exercise_quantities};
use billing_conformance::routes::{RawRequest, violation};
use billing_conformance::sims::{SimTarget, Vendor};
use billing_sim::SimOptions;
use rstest::rstest;

#[rstest]
#[case::lago(Vendor::Lago)]
#[case::killbill(Vendor::KillBill)]
#[case::billabear(Vendor::BillaBear)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_never_leave_their_segment(#[case] vendor: Vendor) {
    let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
    let ctx = target.ctx(target.connect(""));
    let run = exercise_every_method(&ctx).await;
    let log = target.server().log().snapshot();
    let violations: Vec<String> = log
        .iter()
        .filter_map(|r| {
            let raw = RawRequest {
                method: r.method.to_string(),
                path: r.raw_path.clone(),
                query: r.raw_query.clone(),
            };
            violation(vendor, &raw, &run.keys)
        })
        .collect();
    println!(
        "{}: {} calls with {} distinct key texts, {} customers created under hostile keys, {} refused before \
         sending; {} requests, all confined",
        vendor.name(),
        run.calls,
        run.keys.len(),
        run.customers_created,
        run.customers_refused,
        log.len()
    );
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(run.customers_created > 0);
}

/// Each quantity is recorded exactly as given (the simulator stores the same decimal) or
/// refused with `InvalidInput` before any request; negative ones are always refused.
#[rstest]
#[case::lago(Vendor::Lago)]
#[case::killbill(Vendor::KillBill)]
#[case::billabear(Vendor::BillaBear)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quantities_are_recorded_exactly_or_refused_before_sending(#[case] vendor: Vendor) {
    let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
    let ctx = target.ctx(target.connect(""));
    let sub = ctx.subscribed("qty", ctx.starter()).await;
    let outcomes = exercise_quantities(&ctx, &sub.key).await;
    let stored: BTreeMap<String, Decimal> = target.stored_quantities(&sub).into_iter().collect();
    let mut summary = Vec::new();
    for (quantity, outcome) in &outcomes {
        match outcome {
            QuantityOutcome::Recorded(id) => {
                assert!(!quantity.is_sign_negative() || quantity.is_zero());
                assert_eq!(
                    stored.get(id.as_str()),
                    Some(quantity),
                    "{quantity} stored exactly"
                );
                summary.push(format!("{quantity} recorded"));
            }
            QuantityOutcome::Refused => summary.push(format!("{quantity} refused")),
        }
    }
    assert_eq!(
        stored.len(),
        summary.iter().filter(|s| s.ends_with("recorded")).count()
    );
    println!("{}: {}", vendor.name(), summary.join(", "));
}
