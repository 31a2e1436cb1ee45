//! Layers that do the same thing around every call: tag, trace, limit, map or fault each one.
//!
//! Such a layer implements [`AroundEachCall`] (one method, [`around`](AroundEachCall::around))
//! instead of overriding every method of [`LayeredBackend`]; a blanket impl turns it into a
//! complete layered backend, so no method can be forgotten and no call passes unseen.

use std::fmt::Debug;

use async_trait::async_trait;
use futures::future::BoxFuture;

use crate::backend::BillingBackend;
use crate::customer::{Customer, CustomerPatch, NewCustomer};
use crate::error::{Error, Operation, Result};
use crate::key::{CustomerKey, PlanCode, SubscriptionKey};
use crate::layer::LayeredBackend;
use crate::page::{Page, PageRequest};
use crate::subscription::{CancelAt, ChangeAt, NewSubscription, Subscription};
use crate::usage::{EventOutcome, UsageEvent, UsageQuery, UsageSummary};

/// What a layer sees of a call before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call<'a> {
    operation: Operation,
    key: &'a str,
    events: Option<usize>,
}

impl<'a> Call<'a> {
    fn on(operation: Operation, key: &'a str) -> Self {
        Self {
            operation,
            key,
            events: None,
        }
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The customer or subscription key the call is about; empty for a call about none (a list
    /// of customers, a usage batch, the start-up check).
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The number of events of a usage batch; `None` for every other call.
    pub fn events(&self) -> Option<usize> {
        self.events
    }
}

/// The answer of any call: a `Result`, or the outcomes of a usage batch (one per event).
pub trait Answer: Send + Sized {
    /// The error of a failed call; the first rejected or unknown event of a usage batch.
    fn failure(&self) -> Option<&Error>;

    /// Applies `f` to every error the answer carries (each failed event of a batch).
    #[must_use]
    fn map_errors(self, f: impl FnMut(Error) -> Error) -> Self;

    /// The answer of `call` refused with `error` before it reached the backend: the error, or
    /// every event of the batch rejected with it.
    fn refused(error: Error, call: &Call<'_>) -> Self;

    /// This answer lost after the backend acted: the error, or every event of the batch
    /// `Unknown` with it (each may have been recorded).
    #[must_use]
    fn lost(self, error: Error) -> Self;
}

impl<T: Send> Answer for Result<T> {
    fn failure(&self) -> Option<&Error> {
        self.as_ref().err()
    }

    fn map_errors(self, f: impl FnMut(Error) -> Error) -> Self {
        self.map_err(f)
    }

    fn refused(error: Error, _call: &Call<'_>) -> Self {
        Err(error)
    }

    fn lost(self, error: Error) -> Self {
        Err(error)
    }
}

impl Answer for Vec<EventOutcome> {
    fn failure(&self) -> Option<&Error> {
        self.iter().find_map(EventOutcome::error)
    }

    fn map_errors(self, mut f: impl FnMut(Error) -> Error) -> Self {
        self.into_iter().map(|o| o.map_err(&mut f)).collect()
    }

    fn refused(error: Error, call: &Call<'_>) -> Self {
        vec![EventOutcome::Rejected(error); call.events.unwrap_or(0)]
    }

    fn lost(self, error: Error) -> Self {
        vec![EventOutcome::Unknown(error); self.len()]
    }
}

/// A layer's backend that does the same thing around every call. Implementing it makes the
/// type a [`LayeredBackend`] (and so a `BillingBackend`) whose every call, the start-up
/// [`check`](BillingBackend::check) included, goes through [`around`](Self::around); `info`
/// and `capabilities` are the wrapped backend's.
#[async_trait]
pub trait AroundEachCall: Send + Sync + Debug {
    /// The wrapped backend, which answers each call.
    fn wrapped(&self) -> &dyn BillingBackend;

    /// Runs one call: `answer` is the wrapped backend's answer to `call`, not yet started.
    ///
    /// # Behavior
    /// The layer's own: await `answer` (or not, to short-circuit) and return an answer of the
    /// same type.
    async fn around<A: Answer>(&self, call: Call<'_>, answer: BoxFuture<'_, A>) -> A;
}

#[async_trait]
impl<T: AroundEachCall> LayeredBackend for T {
    fn inner(&self) -> &dyn BillingBackend {
        self.wrapped()
    }

    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        let call = Call::on(Operation::CreateCustomer, new.key.as_str());
        self.around(call, self.wrapped().create_customer(new)).await
    }
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        let call = Call::on(Operation::GetCustomer, key.as_str());
        self.around(call, self.wrapped().get_customer(key)).await
    }
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        let call = Call::on(Operation::UpdateCustomer, key.as_str());
        self.around(call, self.wrapped().update_customer(key, patch))
            .await
    }
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        let call = Call::on(Operation::DeleteCustomer, key.as_str());
        self.around(call, self.wrapped().delete_customer(key)).await
    }
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let call = Call::on(Operation::ListCustomers, "");
        self.around(call, self.wrapped().list_customers(page)).await
    }
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        let call = Call::on(Operation::CreateSubscription, new.key.as_str());
        self.around(call, self.wrapped().create_subscription(new))
            .await
    }
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        let call = Call::on(Operation::GetSubscription, key.as_str());
        self.around(call, self.wrapped().get_subscription(key))
            .await
    }
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let call = Call::on(Operation::ListSubscriptions, customer.as_str());
        self.around(call, self.wrapped().list_subscriptions(customer, page))
            .await
    }
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        let call = Call::on(Operation::CancelSubscription, key.as_str());
        self.around(call, self.wrapped().cancel_subscription(key, at))
            .await
    }
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let call = Call::on(Operation::ChangePlan, key.as_str());
        self.around(call, self.wrapped().change_plan(key, plan, at))
            .await
    }
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let call = Call {
            events: Some(events.len()),
            ..Call::on(Operation::RecordUsage, "")
        };
        self.around(call, self.wrapped().record_usage(events)).await
    }
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let call = Call::on(Operation::Usage, query.subscription.as_str());
        self.around(call, self.wrapped().usage(query)).await
    }
    async fn check(&self) -> Result<()> {
        let call = Call::on(Operation::Check, "");
        self.around(call, self.wrapped().check()).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::memory::InMemoryBackend;
    use crate::{
        BillingExt, CustomerStore, EventId, MetricCode, SubscriptionStore, UsageReader,
        UsageRecorder,
    };

    /// Writes down every call it sees.
    #[derive(Debug, Default)]
    struct Seen {
        inner: InMemoryBackend,
        calls: Mutex<Vec<(Operation, String, Option<usize>)>>,
    }

    #[async_trait]
    impl AroundEachCall for Seen {
        fn wrapped(&self) -> &dyn BillingBackend {
            &self.inner
        }

        async fn around<A: Answer>(&self, call: Call<'_>, answer: BoxFuture<'_, A>) -> A {
            let seen = (call.operation(), call.key().to_owned(), call.events());
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(seen);
            answer.await
        }
    }

    /// Every method of the contract reaches `around`, named by its operation and key (a lost
    /// method would pass unseen by every layer built on it).
    #[tokio::test]
    async fn every_call_goes_around() {
        let backend = Seen::default();
        fn ok<T>(r: Result<T>) -> T {
            r.unwrap_or_else(|e| panic!("{e}"))
        }
        let c = ok(CustomerKey::new("c"));
        let s = ok(SubscriptionKey::new("s"));
        let plan = ok(PlanCode::new("p"));
        let metric = ok(MetricCode::new("m"));
        let page = PageRequest::first(10);
        let event = UsageEvent::new(ok(EventId::new("e")), s.clone(), metric, 1.into());
        // The answers do not matter here (most are NotFound): only that each call is seen.
        let _ = CustomerStore::create_customer(&backend, &NewCustomer::new(c.clone())).await;
        let _ = CustomerStore::get_customer(&backend, &c).await;
        let _ = CustomerStore::update_customer(&backend, &c, &CustomerPatch::default()).await;
        let _ = CustomerStore::list_customers(&backend, &page).await;
        let new = NewSubscription::new(s.clone(), c.clone(), plan.clone());
        let _ = SubscriptionStore::create_subscription(&backend, &new).await;
        let _ = SubscriptionStore::get_subscription(&backend, &s).await;
        let _ = SubscriptionStore::list_subscriptions(&backend, &c, &page).await;
        let _ = SubscriptionStore::change_plan(&backend, &s, &plan, ChangeAt::Now).await;
        let _ = SubscriptionStore::cancel_subscription(&backend, &s, CancelAt::Now).await;
        let _ = UsageRecorder::record_usage(&backend, &[event.clone(), event]).await;
        let _ = UsageReader::usage(&backend, &UsageQuery::current(s)).await;
        let _ = CustomerStore::delete_customer(&backend, &c).await;
        let _ = BillingBackend::check(&backend).await;
        let _ = backend.ensure_customer(&NewCustomer::new(c)).await; // BillingExt: get, create

        use Operation::*;
        let expected = [
            (CreateCustomer, "c", None),
            (GetCustomer, "c", None),
            (UpdateCustomer, "c", None),
            (ListCustomers, "", None),
            (CreateSubscription, "s", None),
            (GetSubscription, "s", None),
            (ListSubscriptions, "c", None),
            (ChangePlan, "s", None),
            (CancelSubscription, "s", None),
            (RecordUsage, "", Some(2)),
            (Usage, "s", None),
            (DeleteCustomer, "c", None),
            (Check, "", None),
            (GetCustomer, "c", None),
            (CreateCustomer, "c", None),
        ];
        let seen = backend.calls.lock().unwrap_or_else(|e| e.into_inner());
        let seen: Vec<_> = seen.iter().map(|(o, k, n)| (*o, k.as_str(), *n)).collect();
        assert_eq!(seen, expected);
    }
}
