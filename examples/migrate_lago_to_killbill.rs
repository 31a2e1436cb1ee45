//! Migrates seeded customers and subscriptions from a simulated Lago to a simulated Kill Bill, with no
//! server: starts both simulators, seeds the source (subscriptions started on different days of
//! the last two months), migrates (checkpointed), verifies, and runs again to show that a re-run
//! creates nothing.
//!
//! Each subscription keeps its start in Kill Bill (a migrated subscription) and is billed from the
//! day its Lago period ends (`billingDate`): the verification ends with `period_mismatches: 0`.
//!
//! ```text
//! cargo run --example migrate_lago_to_killbill [-- --customers 25 --concurrency 8] \
//!     [--cancel-source-at-period-end]
//! ```
#![allow(clippy::print_stdout)]

use billing_examples::demo::{Vendor, migration_demo_main};

#[tokio::main]
async fn main() -> billing::Result<()> {
    print!(
        "{}",
        migration_demo_main(Vendor::Lago, Vendor::KillBill).await?
    );
    Ok(())
}
