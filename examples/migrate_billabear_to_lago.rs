//! Migrates seeded customers and subscriptions from a simulated BillaBear to a simulated Lago, with no
//! server: starts both simulators, seeds the source, migrates (checkpointed), verifies, and runs
//! again to show that a re-run creates nothing.
//!
//! Lago cannot start billing later than the service (no billing anchor), so it would bill the
//! rest of each period BillaBear has already charged: by default every live subscription is
//! refused with that reason. `--accept-double-billing` migrates them anyway and lists each one.
//!
//! ```text
//! cargo run --example migrate_billabear_to_lago [-- --customers 25 --concurrency 8] \
//!     [--accept-double-billing] [--cancel-source-at-period-end]
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
