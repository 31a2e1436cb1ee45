//! `Layered<B, L>`: any backend wrapped by a [`Layer`], which sees every call go by.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;
use billing_core::{
    BackendInfo, BillingBackend, CancelAt, Capabilities, ChangeAt, Customer, CustomerKey,
    CustomerPatch, CustomerStore, Error, EventOutcome, NewCustomer, NewSubscription, Operation,
    Page, PageRequest, PlanCode, Result, Subscription, SubscriptionKey, SubscriptionStore,
    UsageEvent, UsageQuery, UsageReader, UsageRecorder, UsageSummary,
};
use futures::future::BoxFuture;

/// One call going through a layer.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The wrapped backend's name.
    pub backend: &'static str,
    /// The operation.
    pub operation: Operation,
    /// The key the call is about (empty for listings of everything); for usage batches, the
    /// number of events.
    pub key: &'a str,
}

/// What a layer may inspect of a call's result.
pub trait CallOutcome {
    /// The error, if the call failed as a whole.
    fn failure(&self) -> Option<&Error>;

    /// Every error the result carries: the call's failure, or each rejected or unknown event of
    /// a usage batch (whose call as a whole never fails).
    fn errors(&self) -> Vec<&Error> {
        self.failure().into_iter().collect()
    }
}

impl<T> CallOutcome for Result<T> {
    fn failure(&self) -> Option<&Error> {
        self.as_ref().err()
    }
}

impl CallOutcome for Vec<EventOutcome> {
    fn failure(&self) -> Option<&Error> {
        None
    }

    fn errors(&self) -> Vec<&Error> {
        self.iter().filter_map(EventOutcome::error).collect()
    }
}

/// Behaviour wrapped around every call of a backend: tracing, limits, metrics, test hooks.
///
/// A layer never implements the traits itself; [`Layered`] does, once, for every layer, so no
/// method can be forgotten or bypassed.
#[async_trait]
pub trait Layer: Send + Sync + fmt::Debug {
    /// Runs `call` (the wrapped backend's future) and returns its result, doing whatever the
    /// layer does before and after.
    async fn around<'a, T>(&'a self, call: Call<'a>, inner: BoxFuture<'a, T>) -> T
    where
        T: CallOutcome + Send + 'a;
}

/// A backend with a layer around it.
#[derive(Debug)]
pub struct Layered<B, L> {
    inner: B,
    layer: L,
    name: &'static str,
}

impl<B: BillingBackend, L: Layer> Layered<B, L> {
    /// Wraps `inner` in `layer`.
    pub fn new(inner: B, layer: L) -> Self {
        let name = inner.info().name;
        Self { inner, layer, name }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The layer.
    pub fn layer(&self) -> &L {
        &self.layer
    }

    async fn call<'a, T, F>(&'a self, operation: Operation, key: &'a str, inner: F) -> T
    where
        T: CallOutcome + Send + 'a,
        F: Future<Output = T> + Send + 'a,
    {
        let call = Call {
            backend: self.name,
            operation,
            key,
        };
        self.layer.around(call, Box::pin(inner)).await
    }
}

#[async_trait]
impl<B: BillingBackend, L: Layer> CustomerStore for Layered<B, L> {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        let f = self.inner.create_customer(new);
        self.call(Operation::CreateCustomer, new.key.as_str(), f)
            .await
    }
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        let f = self.inner.get_customer(key);
        self.call(Operation::GetCustomer, key.as_str(), f).await
    }
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        let f = self.inner.update_customer(key, patch);
        self.call(Operation::UpdateCustomer, key.as_str(), f).await
    }
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        let f = self.inner.delete_customer(key);
        self.call(Operation::DeleteCustomer, key.as_str(), f).await
    }
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let f = self.inner.list_customers(page);
        self.call(Operation::ListCustomers, "", f).await
    }
}

#[async_trait]
impl<B: BillingBackend, L: Layer> SubscriptionStore for Layered<B, L> {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        let f = self.inner.create_subscription(new);
        self.call(Operation::CreateSubscription, new.key.as_str(), f)
            .await
    }
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        let f = self.inner.get_subscription(key);
        self.call(Operation::GetSubscription, key.as_str(), f).await
    }
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let f = self.inner.list_subscriptions(customer, page);
        self.call(Operation::ListSubscriptions, customer.as_str(), f)
            .await
    }
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        let f = self.inner.cancel_subscription(key, at);
        self.call(Operation::CancelSubscription, key.as_str(), f)
            .await
    }
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let f = self.inner.change_plan(key, plan, at);
        self.call(Operation::ChangePlan, key.as_str(), f).await
    }
}

#[async_trait]
impl<B: BillingBackend, L: Layer> UsageRecorder for Layered<B, L> {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let count = events.len().to_string();
        let f = self.inner.record_usage(events);
        self.call(Operation::RecordUsage, &count, f).await
    }
}

#[async_trait]
impl<B: BillingBackend, L: Layer> UsageReader for Layered<B, L> {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let f = self.inner.usage(query);
        self.call(Operation::Usage, query.subscription.as_str(), f)
            .await
    }
}

impl<B: BillingBackend, L: Layer> BillingBackend for Layered<B, L> {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
}
