//! Migrates seeded customers and subscriptions from a simulated BillaBear to a simulated Lago, with no
//! server: starts both simulators, seeds the source, migrates (checkpointed), verifies, and runs
//! again to show that a re-run creates nothing.
//!
//! ```text
//! cargo run --example migrate_billabear_to_lago [-- --customers 25 --concurrency 8]
//! ```
#![allow(clippy::print_stdout)]

use billing_examples::demo::{Vendor, migration_demo_main};

#[tokio::main]
async fn main() -> billing::Result<()> {
    print!(
        "{}",
        migration_demo_main(Vendor::BillaBear, Vendor::Lago).await?
    );
    Ok(())
}
