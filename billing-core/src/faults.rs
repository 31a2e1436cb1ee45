//! Fault injection: a script of failures per operation, and the layer that plays it. For
//! application tests ("what does my code do when the billing vendor is down, throttles, or loses
//! the answer to a write?"), over any backend; the in-memory backend carries one built in.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use futures::future::BoxFuture;

use crate::backend::BillingBackend;
use crate::error::{Error, Operation};
use crate::layer::{Answer, AroundEachCall, Call, Layer};

/// When an injected failure strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    /// Instead of the call: the backend never sees it.
    Before,
    /// After the call ran: its effect stays, its answer is lost (a timeout after a write).
    After,
}

#[derive(Debug)]
struct Rule {
    operation: Option<Operation>,
    error: Error,
    timing: Timing,
    /// Calls left to fail; `None` for every call until cleared.
    remaining: Option<u32>,
}

#[derive(Debug, Default)]
struct Script {
    rules: Vec<Rule>,
    injected: u64,
}

/// A script of failures, shared: clones are the same script, so a test keeps one and changes it
/// while the backend runs.
///
/// Rules are tried in the order they were added; the first that matches a call (its operation,
/// or any operation) and has calls left is used up by one. A failed `record_usage` rejects every
/// event of the batch with the error.
///
/// ```
/// use billing_core::layer::{FaultInjection, Faults};
/// use billing_core::{BillingExt, CustomerKey, ErrorKind, InMemoryBackend, Operation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> billing_core::Result<()> {
/// let faults = Faults::new();
/// let backend = InMemoryBackend::default().layer(FaultInjection::new(faults.clone()));
/// faults.fail_next(Operation::GetCustomer, ErrorKind::Unavailable, 1);
/// let key = CustomerKey::new("acme")?;
/// let e = billing_core::CustomerStore::get_customer(&backend, &key).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Unavailable);
/// assert!(e.is_temporary());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Faults {
    script: Arc<Mutex<Script>>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let script = self.lock();
        f.debug_struct("Faults")
            .field("rules", &script.rules.len())
            .field("injected", &script.injected)
            .finish()
    }
}

impl Faults {
    /// An empty script: nothing fails.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        // Every change is one push or one counter update: a poisoned lock is still consistent.
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, operation: Option<Operation>, error: Error, timing: Timing, times: Option<u32>) {
        self.lock().rules.push(Rule {
            operation,
            error,
            timing,
            remaining: times,
        });
    }

    /// The next `times` calls of `operation` fail with `error` before reaching the backend.
    pub fn fail_next(&self, operation: Operation, error: impl Into<Error>, times: u32) -> &Self {
        self.push(Some(operation), error.into(), Timing::Before, Some(times));
        self
    }

    /// Every call of `operation` fails with `error` before reaching the backend, until
    /// [`Faults::clear`].
    pub fn fail_always(&self, operation: Operation, error: impl Into<Error>) -> &Self {
        self.push(Some(operation), error.into(), Timing::Before, None);
        self
    }

    /// The next `times` calls of any operation fail with `error` before reaching the backend.
    pub fn fail_next_any(&self, error: impl Into<Error>, times: u32) -> &Self {
        self.push(None, error.into(), Timing::Before, Some(times));
        self
    }

    /// The next `times` calls of `operation` run, and their answer is replaced by `error`: the
    /// write happened, the caller cannot know (a timeout or a dropped connection after the
    /// vendor committed).
    pub fn lose_answer_next(
        &self,
        operation: Operation,
        error: impl Into<Error>,
        times: u32,
    ) -> &Self {
        self.push(Some(operation), error.into(), Timing::After, Some(times));
        self
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// How many failures were injected so far.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// The failure for the next call of `operation` at `timing`, using it up.
    fn take(&self, operation: Operation, timing: Timing) -> Option<Error> {
        let mut script = self.lock();
        let i = script.rules.iter().position(|r| {
            r.timing == timing
                && r.operation.is_none_or(|o| o == operation)
                && r.remaining != Some(0)
        })?;
        let rule = &mut script.rules[i];
        if let Some(n) = &mut rule.remaining {
            *n -= 1;
        }
        let error = rule.error.clone();
        if rule.remaining == Some(0) {
            script.rules.remove(i);
        }
        script.injected += 1;
        Some(error)
    }
}

/// The fault-injection layer: plays a [`Faults`] script over any backend.
#[derive(Debug, Clone, Default)]
pub struct FaultInjection {
    faults: Faults,
}

impl FaultInjection {
    /// A layer playing `faults` (keep a clone to change the script while the backend runs).
    pub fn new(faults: Faults) -> Self {
        Self { faults }
    }
}

impl<B: BillingBackend> Layer<B> for FaultInjection {
    type Backend = Faulty<B>;

    fn layer(&self, inner: B) -> Faulty<B> {
        Faulty {
            inner,
            faults: self.faults.clone(),
        }
    }
}

/// A backend whose calls fail as its [`Faults`] script says (see [`FaultInjection`]).
///
/// # Behavior
/// Differs from the inner backend's contract exactly where the script says: a call it fails
/// returns the scripted error (before reaching the backend, or after it for
/// [`Faults::lose_answer_next`]); every other call passes through unchanged.
#[derive(Debug)]
pub struct Faulty<B> {
    inner: B,
    faults: Faults,
}

impl<B> Faulty<B> {
    /// The script.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The wrapped backend.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The wrapped backend, mutably.
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.inner
    }
}

/// A failure before the call refuses it (every event of a usage batch rejected); a lost answer
/// ([`Faults::lose_answer_next`]) replaces the answer after the call ran. For a usage batch it
/// makes every outcome `Unknown`, as an HTTP backend reports a batch whose answer was lost: the
/// events were recorded, the caller cannot know. That error is temporary exactly where resending
/// is safe (`usage_dedup_by_event_id`).
#[async_trait]
impl<B: BillingBackend> AroundEachCall for Faulty<B> {
    fn wrapped(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn around<A: Answer>(&self, call: Call<'_>, answer: BoxFuture<'_, A>) -> A {
        let operation = call.operation();
        if let Some(e) = self.faults.take(operation, Timing::Before) {
            return A::refused(e, &call);
        }
        let answer = answer.await;
        match self.faults.take(operation, Timing::After) {
            Some(e) if operation == Operation::RecordUsage => {
                answer.lost(e.with_temporary(self.inner.capabilities().usage_dedup_by_event_id))
            }
            Some(e) => answer.lost(e),
            None => answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::memory::InMemoryBackend;
    use crate::{
        BillingExt, CustomerKey, CustomerStore, EventOutcome, NewCustomer, SubscriptionKey,
        UsageEvent, UsageRecorder,
    };

    fn key(k: &str) -> CustomerKey {
        CustomerKey::new(k).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn scripted_failures_are_used_up_in_order() {
        let faults = Faults::new();
        let b = InMemoryBackend::default().layer(FaultInjection::new(faults.clone()));
        faults
            .fail_next(Operation::CreateCustomer, ErrorKind::RateLimited, 2)
            .fail_always(Operation::GetCustomer, ErrorKind::Unavailable);
        let new = NewCustomer::new(key("a"));
        for _ in 0..2 {
            let e = CustomerStore::create_customer(&b, &new).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::RateLimited);
        }
        assert!(CustomerStore::create_customer(&b, &new).await.is_ok());
        for _ in 0..3 {
            let e = CustomerStore::get_customer(&b, &key("a"))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unavailable);
        }
        assert_eq!(faults.injected(), 5);
        faults.clear();
        assert!(CustomerStore::get_customer(&b, &key("a")).await.is_ok());
    }

    #[tokio::test]
    async fn a_lost_answer_keeps_the_write_and_a_batch_fails_whole() {
        let faults = Faults::new();
        let b = InMemoryBackend::default().layer(FaultInjection::new(faults.clone()));
        faults.lose_answer_next(Operation::CreateCustomer, ErrorKind::Timeout, 1);
        let new = NewCustomer::new(key("b"));
        let e = CustomerStore::create_customer(&b, &new).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(
            CustomerStore::get_customer(&b, &key("b")).await.is_ok(),
            "written"
        );
        faults.fail_next_any(ErrorKind::Unavailable, 1);
        let event = UsageEvent::new(
            crate::EventId::new("e").unwrap_or_else(|e| panic!("{e}")),
            SubscriptionKey::new("s").unwrap_or_else(|e| panic!("{e}")),
            crate::MetricCode::new("m").unwrap_or_else(|e| panic!("{e}")),
            1.into(),
        );
        let outcomes = UsageRecorder::record_usage(&b, &[event.clone(), event]).await;
        assert!(
            outcomes
                .iter()
                .all(|o| o.error_kind() == Some(ErrorKind::Unavailable))
        );
    }

    /// A usage batch whose answer is lost is `Unknown`, never `Rejected` (the contract of
    /// `record_usage`): the events were recorded, and resending is safe exactly where the
    /// backend deduplicates event ids, which the error's temporariness says.
    #[tokio::test]
    async fn a_lost_usage_answer_is_unknown_and_temporary_only_where_resending_is_safe() {
        use crate::{NewSubscription, PlanCode, SubscriptionStore, UsageQuery, UsageReader};
        for dedup in [true, false] {
            let mut caps = crate::Capabilities::full();
            caps.usage_dedup_by_event_id = dedup;
            let faults = Faults::new();
            let b = InMemoryBackend::default()
                .with_capabilities(caps)
                .layer(FaultInjection::new(faults.clone()));
            CustomerStore::create_customer(&b, &NewCustomer::new(key("c")))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let sub = SubscriptionKey::new("c-sub").unwrap_or_else(|e| panic!("{e}"));
            let plan = PlanCode::new("starter-monthly").unwrap_or_else(|e| panic!("{e}"));
            SubscriptionStore::create_subscription(
                &b,
                &NewSubscription::new(sub.clone(), key("c"), plan),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let metric = crate::MetricCode::new("api_calls").unwrap_or_else(|e| panic!("{e}"));
            let event = UsageEvent::new(
                crate::EventId::new("e").unwrap_or_else(|e| panic!("{e}")),
                sub.clone(),
                metric.clone(),
                3.into(),
            );
            faults.lose_answer_next(Operation::RecordUsage, ErrorKind::Timeout, 1);
            let outcomes = UsageRecorder::record_usage(&b, &[event]).await;
            let EventOutcome::Unknown(e) = &outcomes[0] else {
                panic!("a lost answer is unknown: {outcomes:?}");
            };
            assert_eq!(e.kind(), ErrorKind::Timeout);
            assert_eq!(e.is_temporary(), dedup);
            let usage = UsageReader::usage(&b, &UsageQuery::current(sub).metric(metric.clone()))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(usage.quantity(&metric), 3.into(), "recorded all the same");
        }
    }
}
