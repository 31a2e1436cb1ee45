//! # billing-core
//!
//! The contract of the provider-agnostic billing library: the domain types, the traits every
//! backend implements ([`CustomerStore`], [`SubscriptionStore`], [`UsageRecorder`],
//! [`UsageReader`], together [`BillingBackend`]), the one [`Error`] type, [`Capabilities`],
//! pagination, and the [`InMemoryBackend`], which is the reference implementation of every
//! behaviour and the embedded default.
//!
//! This crate has no HTTP dependency. Vendor adapters live in their own crates; the `billing`
//! facade picks one from configuration. What only backend and layer authors need is in [`raw`];
//! the [`layer`] module has the layer shape (a layer wraps a backend and returns a backend).
//!
//! ```
//! use billing_core::{BillingExt, CustomerKey, InMemoryBackend, NewCustomer};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> billing_core::Result<()> {
//! let backend = InMemoryBackend::with_sample_catalog();
//! let key = CustomerKey::new("acme")?;
//! let customer = backend.ensure_customer(&NewCustomer::new(key).name("Acme")).await?;
//! assert_eq!(customer.name.as_deref(), Some("Acme"));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod backend;
mod capabilities;
pub mod catalog;
mod customer;
mod each_call;
mod error;
mod ext;
mod faults;
mod key;
pub mod layer;
pub mod memory;
mod money;
mod outcomes;
mod page;
pub mod raw;
mod shared;
mod start;
mod subscription;
mod usage;

pub use backend::{
    BackendInfo, BillingBackend, CustomerStore, SubscriptionStore, UsageReader, UsageRecorder,
};
pub use capabilities::{Capabilities, CustomerDeletion, MetadataLimits};
pub use catalog::Catalog;
pub use customer::{Customer, CustomerPatch, CustomerStatus, Metadata, NewCustomer};
pub use error::{Error, ErrorKind, Operation, Result, VendorDetail};
pub use ext::BillingExt;
pub use key::{CustomerKey, EventId, MAX_KEY_LEN, MetricCode, PlanCode, SubscriptionKey};
pub use memory::InMemoryBackend;
pub use money::{Currency, Money};
pub use page::{Cursor, MAX_PAGE_LIMIT, Page, PageRequest};
pub use start::{START_NOW_TOLERANCE, Start};
pub use subscription::{
    BillingInterval, CancelAt, ChangeAt, NewSubscription, Period, ScheduledChange, Subscription,
    SubscriptionStatus,
};
pub use usage::{
    EventOutcome, Recorded, UsageEvent, UsageLine, UsagePeriod, UsageQuery, UsageSummary,
};

/// Re-exported so users need not depend on these crates to build quantities and timestamps.
pub use chrono;
pub use rust_decimal;
