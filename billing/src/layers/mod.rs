//! Layers: a layer wraps a backend and returns a backend, as in tower and OpenDAL.
//!
//! - [`Layer`]: `layer.layer(backend)`, or `backend.layer(layer)` with
//!   [`BillingExt::layer`](crate::BillingExt::layer); `backend.layer(a).layer(b)` puts `b`
//!   outermost.
//! - [`LayeredBackend`]: the delegating base. A layer's backend names its inner backend and
//!   overrides only the methods it cares about; every other call passes through. It owns the
//!   call, so it can act, not only watch: retry, time out, short-circuit, cache, inject faults.
//! - [`AroundEachCall`]: the shorter base for a layer that does the same thing around every
//!   call (each provided layer is one): a single `around` method sees the [`Call`] (operation,
//!   key, batch size) and awaits, replaces or maps its [`Answer`].
//! - [`DynLayer`]: a layer as a trait object, for stacks built at run time.
//! - Provided: [`TracingLayer`] (what [`crate::connect`] applies), [`ConcurrencyLimit`],
//!   [`MapErr`] (a function over every error: translate, count, record),
//!   [`FaultInjection`] (a [`Faults`] script for application tests) and [`ErrorContext`] (the
//!   backend and operation on every error; each backend of this workspace is built with it).
//!
//! A layer of your own, retrying reads that fail temporarily:
//!
//! ```
//! use std::sync::Arc;
//!
//! use billing::async_trait;
//! use billing::layers::{FaultInjection, Faults, Layer, LayeredBackend};
//! use billing::prelude::*;
//! use billing::{Customer, CustomerKey, ErrorKind, InMemoryBackend, NewCustomer, Operation, Result};
//!
//! /// Retries `get_customer` up to `attempts` times while the error is temporary.
//! #[derive(Debug)]
//! struct Retry<B> { inner: B, attempts: u32 }
//!
//! #[async_trait]
//! impl<B: BillingBackend> LayeredBackend for Retry<B> {
//!     fn inner(&self) -> &dyn BillingBackend { &self.inner }
//!
//!     async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
//!         let mut attempt = 1;
//!         loop {
//!             match self.inner.get_customer(key).await {
//!                 Err(e) if e.is_temporary() && attempt < self.attempts => attempt += 1,
//!                 other => return other,
//!             }
//!         }
//!     }
//! }
//!
//! struct RetryLayer(u32);
//! impl<B: BillingBackend> Layer<B> for RetryLayer {
//!     type Backend = Retry<B>;
//!     fn layer(&self, inner: B) -> Retry<B> { Retry { inner, attempts: self.0 } }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
//! let faults = Faults::new();
//! let backend: Arc<dyn BillingBackend> = Arc::new(
//!     InMemoryBackend::default()
//!         .layer(FaultInjection::new(faults.clone())) // innermost: the vendor misbehaves
//!         .layer(RetryLayer(3)),                      // outermost: the application's policy
//! );
//! let acme = CustomerKey::new("acme")?;
//! backend.create_customer(&NewCustomer::new(acme.clone())).await?;
//! faults.fail_next(Operation::GetCustomer, ErrorKind::Unavailable, 2);
//! assert_eq!(backend.get_customer(&acme).await?.key, acme); // third attempt succeeds
//! assert_eq!(faults.injected(), 2);
//! # Ok(()) }
//! ```

mod limit;
mod map_err;
mod tracing;

pub use self::tracing::{Traced, TracingLayer};
pub use billing_core::layer::{
    Answer, AroundEachCall, Call, DynLayer, ErrorContext, FaultInjection, Faults, Faulty, Layer,
    LayeredBackend, WithErrorContext,
};
pub use limit::{ConcurrencyLimit, Limited};
pub use map_err::{ErrorsMapped, MapErr};
