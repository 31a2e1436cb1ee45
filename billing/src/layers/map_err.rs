//! The `MapErr` layer: a function applied to every error, tower's `MapErr` for backends.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use billing_core::layer::{Layer, LayeredBackend};
use billing_core::{
    BillingBackend, CancelAt, ChangeAt, Customer, CustomerKey, CustomerPatch, Error, EventOutcome,
    NewCustomer, NewSubscription, Operation, Page, PageRequest, PlanCode, Result, Subscription,
    SubscriptionKey, UsageEvent, UsageQuery, UsageSummary,
};

type ErrorFn = Arc<dyn Fn(Operation, Error) -> Error + Send + Sync>;

/// Applies a function to every error a call returns (and to each rejected event of a usage
/// batch), with the operation: to translate, enrich, count or record errors in one place.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use billing::layers::MapErr;
/// use billing::{BillingExt, InMemoryBackend};
///
/// let failures = Arc::new(AtomicUsize::new(0));
/// let counted = Arc::clone(&failures);
/// let backend = InMemoryBackend::default().layer(MapErr::new(move |_op, e| {
///     counted.fetch_add(1, Ordering::Relaxed);
///     e
/// }));
/// ```
#[derive(Clone)]
pub struct MapErr {
    f: ErrorFn,
}

impl fmt::Debug for MapErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapErr").finish_non_exhaustive()
    }
}

impl MapErr {
    /// A layer applying `f` to every error.
    pub fn new(f: impl Fn(Operation, Error) -> Error + Send + Sync + 'static) -> Self {
        Self { f: Arc::new(f) }
    }
}

impl<B: BillingBackend> Layer<B> for MapErr {
    type Backend = ErrorsMapped<B>;

    fn layer(&self, inner: B) -> ErrorsMapped<B> {
        ErrorsMapped {
            inner,
            f: Arc::clone(&self.f),
        }
    }
}

/// A backend behind a [`MapErr`] layer.
pub struct ErrorsMapped<B> {
    inner: B,
    f: ErrorFn,
}

impl<B: fmt::Debug> fmt::Debug for ErrorsMapped<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorsMapped")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B> ErrorsMapped<B> {
    fn map<T>(&self, operation: Operation, result: Result<T>) -> Result<T> {
        result.map_err(|e| (self.f)(operation, e))
    }
}

#[async_trait]
impl<B: BillingBackend> LayeredBackend for ErrorsMapped<B> {
    fn inner(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        let out = self.inner.create_customer(new).await;
        self.map(Operation::CreateCustomer, out)
    }
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        let out = self.inner.get_customer(key).await;
        self.map(Operation::GetCustomer, out)
    }
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        let out = self.inner.update_customer(key, patch).await;
        self.map(Operation::UpdateCustomer, out)
    }
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        let out = self.inner.delete_customer(key).await;
        self.map(Operation::DeleteCustomer, out)
    }
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let out = self.inner.list_customers(page).await;
        self.map(Operation::ListCustomers, out)
    }
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        let out = self.inner.create_subscription(new).await;
        self.map(Operation::CreateSubscription, out)
    }
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        let out = self.inner.get_subscription(key).await;
        self.map(Operation::GetSubscription, out)
    }
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let out = self.inner.list_subscriptions(customer, page).await;
        self.map(Operation::ListSubscriptions, out)
    }
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        let out = self.inner.cancel_subscription(key, at).await;
        self.map(Operation::CancelSubscription, out)
    }
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let out = self.inner.change_plan(key, plan, at).await;
        self.map(Operation::ChangePlan, out)
    }
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let outcomes = self.inner.record_usage(events).await;
        outcomes
            .into_iter()
            .map(|o| o.map_err(|e| (self.f)(Operation::RecordUsage, e)))
            .collect()
    }
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let out = self.inner.usage(query).await;
        self.map(Operation::Usage, out)
    }
}
