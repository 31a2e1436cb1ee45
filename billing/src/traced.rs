//! A layer that wraps any backend in `tracing` spans: one per call, with the outcome.

use std::time::Instant;

use async_trait::async_trait;
use billing_core::{
    BackendInfo, BillingBackend, CancelAt, Capabilities, ChangeAt, Customer, CustomerKey,
    CustomerPatch, CustomerStore, EventOutcome, NewCustomer, NewSubscription, Operation, Page,
    PageRequest, PlanCode, Result, Subscription, SubscriptionKey, SubscriptionStore, UsageEvent,
    UsageQuery, UsageReader, UsageRecorder, UsageSummary,
};
use tracing::Instrument;

/// Wraps a backend so every call runs in a `billing` span and ends with a DEBUG event giving the
/// operation, the duration and the error kind if any. Keys appear in spans; secrets never do.
#[derive(Debug)]
pub struct Traced<B> {
    inner: B,
    name: &'static str,
}

impl<B: BillingBackend> Traced<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        let name = inner.info().name;
        Self { inner, name }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    async fn run<T>(
        &self,
        op: Operation,
        key: &str,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let span = tracing::debug_span!("billing", backend = self.name, operation = %op, key);
        async move {
            let started = Instant::now();
            let result = call.await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(_) => tracing::debug!(elapsed_ms, "ok"),
                Err(e) => tracing::debug!(elapsed_ms, kind = %e.kind(), temporary = e.is_temporary(), "failed"),
            }
            result
        }
        .instrument(span)
        .await
    }
}

#[async_trait]
impl<B: BillingBackend> CustomerStore for Traced<B> {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        let call = self.inner.create_customer(new);
        self.run(Operation::CreateCustomer, new.key.as_str(), call)
            .await
    }
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        self.run(
            Operation::GetCustomer,
            key.as_str(),
            self.inner.get_customer(key),
        )
        .await
    }
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        let call = self.inner.update_customer(key, patch);
        self.run(Operation::UpdateCustomer, key.as_str(), call)
            .await
    }
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        let call = self.inner.delete_customer(key);
        self.run(Operation::DeleteCustomer, key.as_str(), call)
            .await
    }
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let call = self.inner.list_customers(page);
        self.run(Operation::ListCustomers, "", call).await
    }
}

#[async_trait]
impl<B: BillingBackend> SubscriptionStore for Traced<B> {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        let call = self.inner.create_subscription(new);
        self.run(Operation::CreateSubscription, new.key.as_str(), call)
            .await
    }
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        let call = self.inner.get_subscription(key);
        self.run(Operation::GetSubscription, key.as_str(), call)
            .await
    }
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let call = self.inner.list_subscriptions(customer, page);
        self.run(Operation::ListSubscriptions, customer.as_str(), call)
            .await
    }
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        let call = self.inner.cancel_subscription(key, at);
        self.run(Operation::CancelSubscription, key.as_str(), call)
            .await
    }
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let call = self.inner.change_plan(key, plan, at);
        self.run(Operation::ChangePlan, key.as_str(), call).await
    }
}

#[async_trait]
impl<B: BillingBackend> UsageRecorder for Traced<B> {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let span = tracing::debug_span!(
            "billing",
            backend = self.name,
            operation = %Operation::RecordUsage,
            events = events.len()
        );
        async move {
            let started = Instant::now();
            let outcomes = self.inner.record_usage(events).await;
            let rejected = outcomes
                .iter()
                .filter(|o| matches!(o, EventOutcome::Rejected(_)))
                .count();
            let duplicate = outcomes
                .iter()
                .filter(|o| matches!(o, EventOutcome::Duplicate))
                .count();
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                rejected,
                duplicate,
                "recorded"
            );
            outcomes
        }
        .instrument(span)
        .await
    }
}

#[async_trait]
impl<B: BillingBackend> UsageReader for Traced<B> {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let call = self.inner.usage(query);
        self.run(Operation::Usage, query.subscription.as_str(), call)
            .await
    }
}

impl<B: BillingBackend> BillingBackend for Traced<B> {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
}
