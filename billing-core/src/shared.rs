//! A shared backend is a backend: `Arc<B>` (including `Arc<dyn BillingBackend>`, what the facade's
//! `connect` returns) implements every trait by delegating, so it can be wrapped again, for
//! example in a layer of the application's own.

use std::sync::Arc;

use async_trait::async_trait;

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

#[async_trait]
impl<B: CustomerStore + ?Sized> CustomerStore for Arc<B> {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        (**self).create_customer(new).await
    }
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        (**self).get_customer(key).await
    }
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        (**self).update_customer(key, patch).await
    }
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        (**self).delete_customer(key).await
    }
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        (**self).list_customers(page).await
    }
}

#[async_trait]
impl<B: SubscriptionStore + ?Sized> SubscriptionStore for Arc<B> {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        (**self).create_subscription(new).await
    }
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        (**self).get_subscription(key).await
    }
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        (**self).list_subscriptions(customer, page).await
    }
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        (**self).cancel_subscription(key, at).await
    }
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        (**self).change_plan(key, plan, at).await
    }
}

#[async_trait]
impl<B: UsageRecorder + ?Sized> UsageRecorder for Arc<B> {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        (**self).record_usage(events).await
    }
}

#[async_trait]
impl<B: UsageReader + ?Sized> UsageReader for Arc<B> {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        (**self).usage(query).await
    }
}

#[async_trait]
impl<B: BillingBackend + ?Sized> BillingBackend for Arc<B> {
    fn info(&self) -> BackendInfo {
        (**self).info()
    }
    fn capabilities(&self) -> &Capabilities {
        (**self).capabilities()
    }
    async fn check(&self) -> Result<()> {
        (**self).check().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryBackend;

    fn assert_backend<B: BillingBackend>(_: &B) {}

    #[tokio::test]
    async fn a_shared_dyn_backend_is_a_backend() {
        let shared: Arc<dyn BillingBackend> = Arc::new(InMemoryBackend::with_sample_catalog());
        assert_backend(&shared);
        let key = CustomerKey::new("acme").unwrap_or_else(|e| panic!("{e}"));
        let created = CustomerStore::create_customer(&shared, &NewCustomer::new(key.clone()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(created.key, key);
        assert_eq!(BillingBackend::info(&shared).name, "memory");
    }
}
