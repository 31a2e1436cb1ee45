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
#![deny(missing_docs)]

mod config;
mod connect;
pub mod layers;
pub mod migrate;
pub mod outbox;

pub use config::{BillingConfig, ENV_PREFIX, Provider};
pub use connect::{connect, is_compiled_in};
pub use layers::Traced;

pub use billing_core::*;

/// The traits, for `use billing::prelude::*;` (calling trait methods needs them in scope).
pub mod prelude {
    pub use billing_core::{
        BillingBackend, BillingExt, CustomerStore, SubscriptionStore, UsageReader, UsageRecorder,
    };
}
pub use billing_http::HttpConfig;

/// The BillaBear adapter (feature `billabear`): its configuration and backend.
#[cfg(feature = "billabear")]
pub use adapter_billabear as billabear;
/// The Kill Bill adapter (feature `killbill`): its configuration and backend.
#[cfg(feature = "killbill")]
pub use adapter_killbill as killbill;
/// The Lago adapter (feature `lago`): its configuration and backend.
#[cfg(feature = "lago")]
pub use adapter_lago as lago;
