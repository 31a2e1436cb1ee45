//! Migration between every ordered pair of simulated vendors: N customers with subscriptions
//! (some canceled, some cancelling at period end), then every live source customer and
//! subscription must be in the target with the same key, the mapped plan and a matching status,
//! and a second run must create nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_examples::demo::{Vendor, migration_demo};
use rstest::rstest;

const CUSTOMERS: usize = 12;

#[rstest]
#[case::lago_to_killbill(Vendor::Lago, Vendor::KillBill)]
#[case::lago_to_billabear(Vendor::Lago, Vendor::BillaBear)]
#[case::killbill_to_lago(Vendor::KillBill, Vendor::Lago)]
#[case::killbill_to_billabear(Vendor::KillBill, Vendor::BillaBear)]
#[case::billabear_to_lago(Vendor::BillaBear, Vendor::Lago)]
#[case::billabear_to_killbill(Vendor::BillaBear, Vendor::KillBill)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrates_between_simulators(#[case] from: Vendor, #[case] to: Vendor) {
    let o = migration_demo(from, to, CUSTOMERS, 4).await.unwrap();
    assert!(o.report.failed.is_empty(), "{:?}", o.report.failed);
    assert_eq!(o.report.customers.created, CUSTOMERS as u64);
    // Seeding cancels every 4th subscription (3 of 12): they are skipped, the rest copied.
    assert_eq!(o.report.subscriptions.created, 9, "{:?}", o.report);
    assert_eq!(o.report.subscriptions.skipped, 3);
    assert!(o.problems.is_empty(), "{:?}", o.problems);
    assert_eq!(o.rerun.customers.created + o.rerun.subscriptions.created, 0);
    assert_eq!(o.rerun.customers.skipped, CUSTOMERS as u64);
}
