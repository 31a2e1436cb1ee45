//! # billing
//!
//! Provider-agnostic billing for Rust. One set of async traits for customers, subscriptions,
//! usage recording and usage querying ([`BillingBackend`]), with adapters for Lago, Kill Bill and
//! BillaBear chosen by configuration, and an in-memory backend as the embedded default.
//!
//! ```
//! use billing::{BillingConfig, BillingExt, CustomerKey, NewCustomer};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> billing::Result<()> {
//! let config = BillingConfig::from_toml_str(r#"provider = "memory""#)?;
//! let backend = billing::connect(&config)?;
//! let key = CustomerKey::new("acme")?;
//! let customer = backend.ensure_customer(&NewCustomer::new(key).name("Acme")).await?;
//! assert_eq!(customer.name.as_deref(), Some("Acme"));
//! # Ok(()) }
//! ```
//!
//! Applications switch vendor by changing `provider` (and its section) in the configuration; the
//! code stays the same. What a vendor cannot do is stated by [`Capabilities`] and returns
//! [`ErrorKind::Unsupported`] before any request, never a silent approximation.
//!
//! # What is here
//! - **Start-up:** [`BillingConfig`] (from TOML, the environment, or typed constructors),
//!   [`connect`], [`connect_checked`] (connect, then [`BillingBackend::check`]: one cheap
//!   authenticated request, whose error names the setting to fix), [`HttpConfig`].
//! - **The traits** a backend implements, [`BillingBackend`] as a whole (bring them into scope
//!   with [`prelude`]), and [`BillingExt`] (streams over every page, get-or-create, one event,
//!   layering).
//! - **Keys and values:** [`CustomerKey`], [`SubscriptionKey`], [`PlanCode`], [`MetricCode`],
//!   [`EventId`]; [`NewCustomer`], [`CustomerPatch`], [`Customer`]; [`NewSubscription`],
//!   [`Subscription`] and its [`CancelAt`] / [`ChangeAt`] choices; [`UsageEvent`],
//!   [`EventOutcome`], [`UsageQuery`], [`UsageSummary`]; [`Money`] and [`Currency`]; pages
//!   ([`PageRequest`], [`Page`], [`Cursor`]).
//! - **Errors:** one [`Error`] with a [`ErrorKind`] to match on, [`Error::is_temporary`],
//!   [`Error::retry_after`], the [`Operation`] and the vendor's [`VendorDetail`].
//! - **[`Capabilities`]:** what the backend supports, as data.
//! - **[`layers`]:** a layer wraps a backend and returns a backend (tracing, a concurrency limit,
//!   fault injection, your own); **[`memory`]:** the in-memory backend, a test double with
//!   settable capabilities, scripted failures and a clock; **[`migrate`]:** copying customers and
//!   subscriptions between backends.
//! - **The adapters** (features `lago`, `killbill`, `billabear`), each also usable on its own.
//!
//! Backend and layer authors find the helpers the adapters share in [`raw`] and the
//! [`macro@async_trait`] attribute re-exported; applications never need anything else.
#![deny(missing_docs)]

mod config;
mod connect;
pub mod cutover;
mod durable;
mod env_vars;
pub mod layers;
pub mod migrate;
pub mod outbox;

pub use config::{BillingConfig, ENV_PREFIX, Provider};
pub use connect::{connect, connect_checked, is_compiled_in};

// The traits.
pub use billing_core::{
    BackendInfo, BillingBackend, BillingExt, CustomerStore, SubscriptionStore, UsageReader,
    UsageRecorder,
};
// Errors.
pub use billing_core::{Error, ErrorKind, Operation, Result, VendorDetail};
// What a backend supports.
pub use billing_core::{Capabilities, CustomerDeletion, MetadataLimits};
// Keys.
pub use billing_core::{CustomerKey, EventId, MAX_KEY_LEN, MetricCode, PlanCode, SubscriptionKey};
// Customers.
pub use billing_core::{Customer, CustomerPatch, CustomerStatus, Metadata, NewCustomer};
// Subscriptions.
pub use billing_core::{
    BillingInterval, CancelAt, ChangeAt, NewSubscription, Period, ScheduledChange, Subscription,
    SubscriptionStatus,
};
// Usage.
pub use billing_core::{
    EventOutcome, Recorded, UsageEvent, UsageLine, UsagePeriod, UsageQuery, UsageSummary,
};
// Money and pages.
pub use billing_core::{Currency, Cursor, MAX_PAGE_LIMIT, Money, Page, PageRequest};
// The in-memory backend.
/// The attribute the backend traits and [`layers::LayeredBackend`] are written with, so a layer
/// or a backend of the application's needs no other dependency: `#[billing::async_trait]`.
pub use async_trait::async_trait;
pub use billing_core::InMemoryBackend;
pub use billing_core::{catalog, memory, raw};
/// Re-exported as modules, so users need not depend on these crates to build quantities and
/// timestamps: `billing::chrono::Utc`, `billing::rust_decimal::Decimal`. Their items are not
/// items of `billing` itself:
///
/// ```compile_fail
/// use billing::Utc;
/// ```
pub use billing_core::{chrono, rust_decimal};
/// The HTTP client crate, for [`HttpConfig::with_client`].
pub use billing_http::reqwest;
pub use billing_http::{HttpConfig, SecretString};

/// The traits, for `use billing::prelude::*;` (calling trait methods needs them in scope).
pub mod prelude {
    pub use billing_core::{
        BillingBackend, BillingExt, CustomerStore, SubscriptionStore, UsageReader, UsageRecorder,
    };
}

/// The BillaBear adapter (feature `billabear`): its configuration and backend.
#[cfg(feature = "billabear")]
pub use adapter_billabear as billabear;
/// The Kill Bill adapter (feature `killbill`): its configuration and backend.
#[cfg(feature = "killbill")]
pub use adapter_killbill as killbill;
/// The Lago adapter (feature `lago`): its configuration and backend.
#[cfg(feature = "lago")]
pub use adapter_lago as lago;
