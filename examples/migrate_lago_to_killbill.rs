//! Migrates seeded customers and subscriptions from a simulated Lago to a simulated Kill Bill, with no
//! server: starts both simulators, seeds the source, migrates (checkpointed), verifies, and runs
//! again to show that a re-run creates nothing.
//!
//! ```text
//! cargo run --example migrate_lago_to_killbill [-- --customers 25 --concurrency 8]
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
