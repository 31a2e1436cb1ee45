//! Layers: a layer wraps a backend and returns a backend, the shape tower and OpenDAL users know.
//!
//! - [`Layer`] turns a backend into another backend (`layer.layer(inner)`, or
//!   `inner.layer(layer)` through [`crate::BillingExt::layer`]).
//! - [`LayeredBackend`] is the delegating base: a type that implements it and names its
//!   [`inner`](LayeredBackend::inner) backend is a complete [`BillingBackend`], every method
//!   passing through to the inner one, and overrides only the methods it cares about. Because a
//!   layer owns the call, it can act, not only watch: retry, time out, short-circuit, cache, or
//!   inject a fault.
//! - [`DynLayer`] is a layer as a trait object, for stacks chosen at run time.
//! - [`FaultInjection`] plays a [`Faults`] script (failures per operation, before the call or
//!   after it with the answer lost) over any backend, for application tests.
//! - [`AroundEachCall`] is the shorter base for a layer that does the same thing around every
//!   call (tag, trace, limit, map or fault it): one method sees each [`Call`] and its
//!   [`Answer`].
//! - [`ErrorContext`] is the layer every backend of this workspace is built with: it tags each
//!   error with the backend's name and the operation, once, where the call leaves the backend.
//!
//! ```
//! use std::sync::Arc;
//!
//! use async_trait::async_trait;
//! use billing_core::layer::{Layer, LayeredBackend};
//! use billing_core::{
//!     BillingBackend, BillingExt, Customer, CustomerKey, CustomerStore, Error, InMemoryBackend, Result,
//! };
//!
//! /// Refuses every read of one customer: a fault an application test can provoke.
//! #[derive(Debug)]
//! struct Hide<B> { inner: B, key: CustomerKey }
//!
//! #[async_trait]
//! impl<B: BillingBackend> LayeredBackend for Hide<B> {
//!     fn inner(&self) -> &dyn BillingBackend { &self.inner }
//!     // Only this method is overridden; every other one reaches `inner` unchanged.
//!     async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
//!         if key == &self.key {
//!             return Err(Error::not_found("hidden by the test"));
//!         }
//!         self.inner.get_customer(key).await
//!     }
//! }
//!
//! struct HideLayer(CustomerKey);
//! impl<B: BillingBackend> Layer<B> for HideLayer {
//!     type Backend = Hide<B>;
//!     fn layer(&self, inner: B) -> Hide<B> { Hide { inner, key: self.0.clone() } }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
//! let acme = CustomerKey::new("acme")?;
//! // Held as the application holds any backend (with `LayeredBackend` and the backend traits
//! // both in scope, a method called on `Hide` itself would be ambiguous).
//! let backend: Arc<dyn BillingBackend> = Arc::new(InMemoryBackend::default().layer(HideLayer(acme.clone())));
//! backend.create_customer(&billing_core::NewCustomer::new(acme.clone())).await?;
//! let hidden = backend.get_customer(&acme).await.unwrap_err();
//! assert_eq!(hidden.kind(), billing_core::ErrorKind::NotFound);
//! # Ok(()) }
//! ```

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;

use crate::backend::{
    BackendInfo, BillingBackend, CustomerStore, SubscriptionStore, UsageReader, UsageRecorder,
};
use crate::capabilities::Capabilities;
use crate::customer::{Customer, CustomerPatch, NewCustomer};
use crate::error::Result;
use crate::key::{CustomerKey, PlanCode, SubscriptionKey};
use crate::page::{Page, PageRequest};
use crate::subscription::{CancelAt, ChangeAt, NewSubscription, Subscription};
use crate::usage::{EventOutcome, UsageEvent, UsageQuery, UsageSummary};

pub use crate::each_call::{Answer, AroundEachCall, Call};
pub use crate::faults::{FaultInjection, Faults, Faulty};

/// Wraps a backend `B` in another backend.
///
/// Implement it for every `B: BillingBackend` (or for `Arc<dyn BillingBackend>` only) and return
/// a type that implements [`LayeredBackend`].
pub trait Layer<B> {
    /// The backend this layer makes of `B`.
    type Backend: BillingBackend;

    /// Wraps `inner`.
    fn layer(&self, inner: B) -> Self::Backend;
}

/// A layer as a trait object: wraps a shared backend in a shared backend. Every [`Layer`] over
/// `Arc<dyn BillingBackend>` is one, so a stack can be built at run time from
/// `Vec<Box<dyn DynLayer>>`.
pub trait DynLayer: Send + Sync + Debug {
    /// Wraps `inner`.
    fn layer_dyn(&self, inner: Arc<dyn BillingBackend>) -> Arc<dyn BillingBackend>;
}

impl<L> DynLayer for L
where
    L: Layer<Arc<dyn BillingBackend>> + Send + Sync + Debug,
    L::Backend: 'static,
{
    fn layer_dyn(&self, inner: Arc<dyn BillingBackend>) -> Arc<dyn BillingBackend> {
        Arc::new(self.layer(inner))
    }
}

/// The delegating base of a layer's backend: name the [`inner`](LayeredBackend::inner) backend
/// and override only the methods the layer cares about; the others pass every call through
/// unchanged. A type that implements this trait is a [`BillingBackend`] (a blanket impl provides
/// every trait), so nothing can be forgotten.
///
/// Its methods have the names of the backend traits' methods, so that a layer overrides
/// `get_customer`, not some other name. Where both this trait and the backend traits are in
/// scope, a method called on a layer's own type is therefore ambiguous: hold layered backends as
/// `Arc<dyn BillingBackend>` (as applications do), or call `CustomerStore::get_customer(&b, ..)`.
///
/// The `# Behavior` of each method is the one of the trait method of the same name
/// ([`CustomerStore`], [`SubscriptionStore`], [`UsageRecorder`], [`UsageReader`],
/// [`BillingBackend`]); a layer that changes it (a fault injector, for one) says so.
#[async_trait]
pub trait LayeredBackend: Send + Sync + Debug {
    /// The wrapped backend.
    fn inner(&self) -> &dyn BillingBackend;

    /// [`BillingBackend::info`].
    ///
    /// # Behavior
    /// The inner backend's unless overridden.
    fn info(&self) -> BackendInfo {
        self.inner().info()
    }

    /// [`BillingBackend::capabilities`].
    ///
    /// # Behavior
    /// The inner backend's unless overridden.
    fn capabilities(&self) -> &Capabilities {
        self.inner().capabilities()
    }

    /// [`BillingBackend::check`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn check(&self) -> Result<()> {
        self.inner().check().await
    }

    /// [`CustomerStore::create_customer`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        self.inner().create_customer(new).await
    }

    /// [`CustomerStore::get_customer`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        self.inner().get_customer(key).await
    }

    /// [`CustomerStore::update_customer`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        self.inner().update_customer(key, patch).await
    }

    /// [`CustomerStore::delete_customer`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        self.inner().delete_customer(key).await
    }

    /// [`CustomerStore::list_customers`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        self.inner().list_customers(page).await
    }

    /// [`SubscriptionStore::create_subscription`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        self.inner().create_subscription(new).await
    }

    /// [`SubscriptionStore::get_subscription`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        self.inner().get_subscription(key).await
    }

    /// [`SubscriptionStore::list_subscriptions`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        self.inner().list_subscriptions(customer, page).await
    }

    /// [`SubscriptionStore::cancel_subscription`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        self.inner().cancel_subscription(key, at).await
    }

    /// [`SubscriptionStore::change_plan`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        self.inner().change_plan(key, plan, at).await
    }

    /// [`UsageRecorder::record_usage`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        self.inner().record_usage(events).await
    }

    /// [`UsageReader::usage`].
    ///
    /// # Behavior
    /// As the trait method; passes through unless overridden.
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        self.inner().usage(query).await
    }
}

#[async_trait]
impl<T: LayeredBackend> CustomerStore for T {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        LayeredBackend::create_customer(self, new).await
    }
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        LayeredBackend::get_customer(self, key).await
    }
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        LayeredBackend::update_customer(self, key, patch).await
    }
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        LayeredBackend::delete_customer(self, key).await
    }
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        LayeredBackend::list_customers(self, page).await
    }
}

#[async_trait]
impl<T: LayeredBackend> SubscriptionStore for T {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        LayeredBackend::create_subscription(self, new).await
    }
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        LayeredBackend::get_subscription(self, key).await
    }
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        LayeredBackend::list_subscriptions(self, customer, page).await
    }
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        LayeredBackend::cancel_subscription(self, key, at).await
    }
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        LayeredBackend::change_plan(self, key, plan, at).await
    }
}

#[async_trait]
impl<T: LayeredBackend> UsageRecorder for T {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        LayeredBackend::record_usage(self, events).await
    }
}

#[async_trait]
impl<T: LayeredBackend> UsageReader for T {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        LayeredBackend::usage(self, query).await
    }
}

#[async_trait]
impl<T: LayeredBackend> BillingBackend for T {
    fn info(&self) -> BackendInfo {
        LayeredBackend::info(self)
    }
    fn capabilities(&self) -> &Capabilities {
        LayeredBackend::capabilities(self)
    }
    async fn check(&self) -> Result<()> {
        LayeredBackend::check(self).await
    }
}

/// Tags every error with the backend's name and the operation, once, where the call leaves the
/// backend: each adapter and the in-memory backend are built with it, so their code never tags
/// an error by hand. A tag already set (by a layer further in) is kept.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorContext;

impl<B: BillingBackend> Layer<B> for ErrorContext {
    type Backend = WithErrorContext<B>;

    fn layer(&self, inner: B) -> WithErrorContext<B> {
        WithErrorContext::new(inner)
    }
}

/// A backend whose errors carry its name and the operation (see [`ErrorContext`]).
#[derive(Debug)]
pub struct WithErrorContext<B> {
    inner: B,
    name: &'static str,
}

impl<B: BillingBackend> WithErrorContext<B> {
    /// Wraps `inner`, whose [`BackendInfo::name`] tags the errors.
    pub fn new(inner: B) -> Self {
        let name = inner.info().name;
        Self { inner, name }
    }

    /// The wrapped backend.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The wrapped backend, mutably (for builders that configure it after wrapping).
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.inner
    }
}

#[async_trait]
impl<B: BillingBackend> AroundEachCall for WithErrorContext<B> {
    fn wrapped(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn around<A: Answer>(&self, call: Call<'_>, answer: BoxFuture<'_, A>) -> A {
        let operation = call.operation();
        answer
            .await
            .map_errors(|e| e.with_backend(self.name).with_operation(operation))
    }
}
