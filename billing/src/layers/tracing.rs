//! The tracing layer: one span per call, and a DEBUG event with the duration and outcome.

use std::time::Instant;

use async_trait::async_trait;
use billing_core::layer::{Layer, LayeredBackend};
use billing_core::{
    BillingBackend, CancelAt, ChangeAt, Customer, CustomerKey, CustomerPatch, Error, EventOutcome,
    NewCustomer, NewSubscription, Operation, Page, PageRequest, PlanCode, Result, Subscription,
    SubscriptionKey, UsageEvent, UsageQuery, UsageSummary,
};
use tracing::Instrument;

/// Runs every call in a `billing` span (backend, operation, key) and ends it with a DEBUG event
/// giving the elapsed time and the error kind, if any. Keys appear; secrets never do.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLayer;

impl<B: BillingBackend> Layer<B> for TracingLayer {
    type Backend = Traced<B>;

    fn layer(&self, inner: B) -> Traced<B> {
        Traced::new(inner)
    }
}

/// A backend wrapped in [`TracingLayer`] (what [`crate::connect`] returns).
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
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    async fn traced<T: Outcome>(
        &self,
        operation: Operation,
        key: &str,
        call: impl Future<Output = T>,
    ) -> T {
        let span =
            tracing::debug_span!("billing", backend = self.name, operation = %operation, key);
        async move {
            let started = Instant::now();
            let out = call.await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match out.failure() {
                None => tracing::debug!(elapsed_ms, "ok"),
                Some(e) => tracing::debug!(
                    elapsed_ms,
                    kind = %e.kind(),
                    temporary = e.is_temporary(),
                    "failed"
                ),
            }
            out
        }
        .instrument(span)
        .await
    }
}

/// What the DEBUG event reports of a call's result.
trait Outcome {
    /// The error of a failed call; the first rejected or unknown event of a usage batch.
    fn failure(&self) -> Option<&Error>;
}

impl<T> Outcome for Result<T> {
    fn failure(&self) -> Option<&Error> {
        self.as_ref().err()
    }
}

impl Outcome for Vec<EventOutcome> {
    fn failure(&self) -> Option<&Error> {
        self.iter().find_map(EventOutcome::error)
    }
}

#[async_trait]
impl<B: BillingBackend> LayeredBackend for Traced<B> {
    fn inner(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        let call = self.inner.create_customer(new);
        self.traced(Operation::CreateCustomer, new.key.as_str(), call)
            .await
    }
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        let call = self.inner.get_customer(key);
        self.traced(Operation::GetCustomer, key.as_str(), call)
            .await
    }
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        let call = self.inner.update_customer(key, patch);
        self.traced(Operation::UpdateCustomer, key.as_str(), call)
            .await
    }
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        let call = self.inner.delete_customer(key);
        self.traced(Operation::DeleteCustomer, key.as_str(), call)
            .await
    }
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let call = self.inner.list_customers(page);
        self.traced(Operation::ListCustomers, "", call).await
    }
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        let call = self.inner.create_subscription(new);
        self.traced(Operation::CreateSubscription, new.key.as_str(), call)
            .await
    }
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        let call = self.inner.get_subscription(key);
        self.traced(Operation::GetSubscription, key.as_str(), call)
            .await
    }
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let call = self.inner.list_subscriptions(customer, page);
        self.traced(Operation::ListSubscriptions, customer.as_str(), call)
            .await
    }
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        let call = self.inner.cancel_subscription(key, at);
        self.traced(Operation::CancelSubscription, key.as_str(), call)
            .await
    }
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let call = self.inner.change_plan(key, plan, at);
        self.traced(Operation::ChangePlan, key.as_str(), call).await
    }
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        // The batch's size stands for the key.
        let count = events.len().to_string();
        let call = self.inner.record_usage(events);
        self.traced(Operation::RecordUsage, &count, call).await
    }
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let call = self.inner.usage(query);
        self.traced(Operation::Usage, query.subscription.as_str(), call)
            .await
    }
}
