//! A backend whose usage answers can be scripted, over the in-memory backend, and a world with
//! a customer and a subscription.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use billing::catalog::sample;
use billing::layers::LayeredBackend;
use billing::{
    BillingBackend, CustomerKey, EventId, EventOutcome, InMemoryBackend, MetricCode, NewCustomer,
    NewSubscription, PlanCode, SubscriptionKey, UsageEvent, UsageRecorder,
};

/// What the script answers for an event on its n-th attempt (1-based); `None` delegates to the
/// in-memory backend.
pub type Script = Box<dyn Fn(&UsageEvent, u32) -> Option<EventOutcome> + Send + Sync>;

/// The in-memory backend with scripted usage answers and a configurable deduplication flag.
pub struct Scripted {
    /// The backend answering everything the script leaves alone.
    pub inner: InMemoryBackend,
    script: Mutex<Script>,
    attempts: Mutex<HashMap<String, u32>>,
    calls: Mutex<Vec<usize>>,
}

impl fmt::Debug for Scripted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scripted").finish()
    }
}

impl Scripted {
    /// A backend deduplicating by event id or not, taking `batch_max` events per call.
    pub fn new(dedup: bool, batch_max: usize, script: Script) -> Arc<Self> {
        let mut caps = InMemoryBackend::with_sample_catalog()
            .capabilities()
            .clone();
        caps.usage_dedup_by_event_id = dedup;
        caps.usage_batch_max = batch_max;
        // The backend underneath behaves as the capabilities say: without deduplication it
        // counts every copy, so a double delivery shows in the quantities.
        let inner = InMemoryBackend::with_sample_catalog().with_capabilities(caps);
        Arc::new(Self {
            inner,
            script: Mutex::new(script),
            attempts: Mutex::new(HashMap::new()),
            calls: Mutex::new(Vec::new()),
        })
    }

    /// Changes the script.
    pub fn set_script(&self, script: Script) {
        *self.script.lock().unwrap() = script;
    }

    /// How many times an event id was sent.
    pub fn attempts(&self, id: &str) -> u32 {
        self.attempts.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    /// The sizes of the `record_usage` calls so far.
    pub fn calls(&self) -> Vec<usize> {
        self.calls.lock().unwrap().clone()
    }
}

/// Every call but `record_usage` passes through to the in-memory backend.
#[async_trait]
impl LayeredBackend for Scripted {
    fn inner(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        self.calls.lock().unwrap().push(events.len());
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            let n = {
                let mut a = self.attempts.lock().unwrap();
                let n = a.entry(e.id.to_string()).or_default();
                *n += 1;
                *n
            };
            let scripted = (self.script.lock().unwrap())(e, n);
            let outcome = match scripted {
                Some(o) => o,
                None => self
                    .inner
                    .record_usage(std::slice::from_ref(e))
                    .await
                    .remove(0),
            };
            out.push(outcome);
        }
        out
    }
}

/// A backend with customer `acme` subscribed as `acme-main` to the starter plan.
pub async fn subscribed(backend: &dyn BillingBackend) -> SubscriptionKey {
    let customer = CustomerKey::new("acme").unwrap();
    backend
        .create_customer(&NewCustomer::new(customer.clone()))
        .await
        .unwrap();
    let sub = SubscriptionKey::new("acme-main").unwrap();
    backend
        .create_subscription(&NewSubscription::new(
            sub.clone(),
            customer,
            PlanCode::new(sample::STARTER).unwrap(),
        ))
        .await
        .unwrap();
    sub
}

/// Event `id` of `quantity` API calls on `sub`.
pub fn event(id: &str, sub: &SubscriptionKey, quantity: i64) -> UsageEvent {
    UsageEvent::new(
        EventId::new(id).unwrap(),
        sub.clone(),
        MetricCode::new(sample::API_CALLS).unwrap(),
        quantity.into(),
    )
}
