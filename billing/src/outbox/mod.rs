//! Durable usage recording: an outbox in front of one or more billing backends.
//!
//! Usage is money. [`Outbox::record`] returns once the events are committed to a local store
//! (SQLite, the embedded default, or PostgreSQL for applications on many machines), and a
//! background task ([`Outbox::start`]) delivers them through each destination's
//! `record_usage`, in the vendor's batch sizes, with bounded concurrency. A crash, a restart or
//! a vendor outage loses nothing: delivery continues where it stopped.
//!
//! Each (event, destination) pair is tracked on its own:
//!
//! | the destination answered | the delivery becomes |
//! |---|---|
//! | `Accepted` or `Duplicate` | done (removed) |
//! | `Rejected`, temporary | pending again after a backoff; attempts and the next attempt's time are stored |
//! | `Rejected`, permanent | a **dead letter**: error kind, vendor status, code and message kept; list and re-drive |
//! | `Unknown`, vendor deduplicates by event id (Lago, Kill Bill) | pending again: a resend is counted once |
//! | `Unknown`, vendor does not (BillaBear) | a **held unknown**: listed; an operator releases it (resend) or marks it done |
//!
//! A process that dies while sending leaves its batch leased; when the lease expires another
//! delivery (a restart, or another process on the same PostgreSQL outbox) takes it up, and
//! treats it as an unknown outcome: resent where the vendor deduplicates, held otherwise. So
//! nothing is lost, and nothing is silently doubled.
//!
//! Retries come on top of the HTTP client's: each attempt is one `record_usage` call, which has
//! already retried within `[http]`'s budget what is safe to resend. The outbox waits at least
//! `outbox.retry_base_delay_ms` (doubling up to `outbox.retry_max_delay_ms`) before the next
//! attempt, and pauses a failing destination as a whole, so an outage costs a few requests per
//! minute, not one per queued event.
//!
//! ```no_run
//! use billing::outbox::{Destination, Outbox, OutboxConfig, Parked, Selection};
//! # async fn run(config: billing::BillingConfig, events: Vec<billing::UsageEvent>)
//! #     -> billing::Result<()> {
//! let backend = billing::connect(&config)?;
//! let outbox_config = config.outbox.clone().unwrap_or_else(|| OutboxConfig::sqlite("outbox.db"));
//! let outbox = Outbox::open(&outbox_config, vec![Destination::new("billing", backend)]).await?;
//! let delivery = outbox.start();
//! outbox.record(&events).await?;               // durable when it returns
//!
//! let stats = outbox.stats().await?;           // pending, in flight, dead letters, held, age
//! for dead in outbox.list_all(Parked::DeadLetter, None).await? {
//!     eprintln!("{}: {} ({})", dead.id, dead.error.message, dead.error.kind);
//! }
//! outbox.redrive(Parked::DeadLetter, Selection::All).await?;   // once the cause is fixed
//! # Ok(()) }
//! ```

mod clock;
mod config;
mod counters;
mod delivery;
mod destination;
mod location;
mod open;
#[cfg(feature = "outbox-postgres")]
pub mod postgres;
mod queue;
mod retry;
mod running;
#[cfg(feature = "outbox-sqlite")]
pub mod sqlite;
mod stats;
mod store;
mod verdict;

pub use config::OutboxConfig;
pub use counters::DeliveryCounters;
pub use destination::{Destination, EventFilter, MAX_DESTINATION_NAME};
pub use location::{PostgresUrl, StoreLocation};
pub use queue::{Outbox, ParkedDelivery};
pub use retry::RetryPolicy;
pub use running::Delivery;
pub use stats::{DestinationStats, OutboxStats};
pub use store::{
    ClaimRequest, Claimed, DeliveryId, DestinationCounts, Inserted, ListQuery, Millis, NewEvent,
    OutboxStore, Parked, ParkedRow, Selection, Settle, Settlement, StoredError,
};
