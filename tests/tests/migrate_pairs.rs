//! Migration between every ordered pair of simulated vendors: N customers with subscriptions
//! (started on different days in the past where the source can, some canceled, some cancelling
//! at period end), then every live source customer and subscription must be in the target with
//! the same key, the mapped plan and a matching status, billed from the day the source's period
//! ends, and a second run must create nothing. A target that cannot take a billing anchor
//! refuses each live subscription with the reason, unless double billing is accepted, and then
//! lists each one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_examples::demo::{DemoFlags, Vendor, migration_demo};
use rstest::rstest;

const CUSTOMERS: usize = 12;
/// Seeding cancels every 4th subscription (3 of 12): they are skipped, the rest copied.
const LIVE: u64 = 9;

#[rstest]
#[case::lago_to_killbill(Vendor::Lago, Vendor::KillBill)]
#[case::billabear_to_killbill(Vendor::BillaBear, Vendor::KillBill)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_a_target_with_anchors_every_day_is_billed_once(
    #[case] from: Vendor,
    #[case] to: Vendor,
) {
    let o = migration_demo(from, to, CUSTOMERS, 4, DemoFlags::default())
        .await
        .unwrap();
    assert!(o.report.failed.is_empty(), "{:?}", o.report.failed);
    assert!(o.report.double_billed.is_empty());
    assert_eq!(o.report.customers.created, CUSTOMERS as u64);
    assert_eq!(o.report.subscriptions.created, LIVE, "{:?}", o.report);
    assert_eq!(o.report.subscriptions.skipped, 3);
    assert!(o.verification.problems.is_empty(), "{:?}", o.verification);
    assert_eq!(
        o.verification.period_mismatches.count, 0,
        "{:?}",
        o.verification
    );
    assert_eq!(o.rerun.customers.created + o.rerun.subscriptions.created, 0);
    assert_eq!(o.rerun.customers.skipped, CUSTOMERS as u64);
}

#[rstest]
#[case::lago_to_billabear(Vendor::Lago, Vendor::BillaBear)]
#[case::killbill_to_lago(Vendor::KillBill, Vendor::Lago)]
#[case::killbill_to_billabear(Vendor::KillBill, Vendor::BillaBear)]
#[case::billabear_to_lago(Vendor::BillaBear, Vendor::Lago)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_a_target_without_anchors_refuses_unless_double_billing_is_accepted(
    #[case] from: Vendor,
    #[case] to: Vendor,
) {
    let refused = migration_demo(from, to, CUSTOMERS, 4, DemoFlags::default())
        .await
        .unwrap();
    assert_eq!(refused.report.customers.created, CUSTOMERS as u64);
    assert_eq!(
        refused.report.subscriptions.created, 0,
        "{:?}",
        refused.report
    );
    assert_eq!(refused.report.subscriptions.failed, LIVE);
    assert_eq!(refused.report.failed.len() as u64, LIVE, "one reason each");
    assert!(refused.report.double_billed.is_empty());

    let accepted = migration_demo(
        from,
        to,
        CUSTOMERS,
        4,
        DemoFlags {
            accept_double_billing: true,
            ..DemoFlags::default()
        },
    )
    .await
    .unwrap();
    assert!(
        accepted.report.failed.is_empty(),
        "{:?}",
        accepted.report.failed
    );
    assert_eq!(accepted.report.subscriptions.created, LIVE);
    assert_eq!(
        accepted.report.double_billed.len() as u64,
        LIVE,
        "each one listed"
    );
    assert!(
        accepted.verification.problems.is_empty(),
        "{:?}",
        accepted.verification
    );
    assert_eq!(accepted.rerun.subscriptions.created, 0);
}
