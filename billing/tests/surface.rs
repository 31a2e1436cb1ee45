//! What an application writes with `billing` as its only dependency (issue 15, point 13): a
//! layer of its own with the re-exported `async_trait`, quantities and timestamps through the
//! `chrono` and `rust_decimal` modules, secrets as `billing::SecretString`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use billing::chrono::{Duration, Utc};
use billing::layers::{Layer, LayeredBackend};
use billing::prelude::*;
use billing::rust_decimal::Decimal;
use billing::{
    CustomerKey, EventId, InMemoryBackend, MetricCode, NewCustomer, NewSubscription, PlanCode,
    Recorded, SubscriptionKey, UsageEvent,
};

/// Counts `record_usage` calls: a layer written against `billing` alone.
#[derive(Debug)]
struct Counted<B> {
    inner: B,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

#[billing::async_trait]
impl<B: BillingBackend> LayeredBackend for Counted<B> {
    fn inner(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<billing::EventOutcome> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.record_usage(events).await
    }
}

struct Count(Arc<std::sync::atomic::AtomicUsize>);

impl<B: BillingBackend> Layer<B> for Count {
    type Backend = Counted<B>;
    fn layer(&self, inner: B) -> Counted<B> {
        Counted {
            inner,
            calls: self.0.clone(),
        }
    }
}

#[tokio::test]
async fn a_layer_quantities_and_timestamps_need_only_billing() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backend: Arc<dyn BillingBackend> =
        Arc::new(InMemoryBackend::with_sample_catalog().layer(Count(calls.clone())));
    let acme = CustomerKey::new("acme").unwrap();
    backend
        .create_customer(&NewCustomer::new(acme.clone()))
        .await
        .unwrap();
    let sub = SubscriptionKey::new("acme-main").unwrap();
    let plan = PlanCode::new("starter-monthly").unwrap();
    backend
        .create_subscription(&NewSubscription::new(sub.clone(), acme, plan))
        .await
        .unwrap();
    let quantity: Decimal = "1.5".parse().unwrap();
    let event = UsageEvent::new(
        EventId::new("e1").unwrap(),
        sub,
        MetricCode::new("api_calls").unwrap(),
        quantity,
    )
    .at(Utc::now() - Duration::seconds(1));
    assert_eq!(
        backend.record_one(&event).await.unwrap(),
        Recorded::Accepted
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[cfg(feature = "billabear")]
#[test]
fn every_config_constructor_takes_its_secrets_as_billing_s_secret_string() {
    use billing::SecretString;
    let bb = billing::billabear::BillaBearConfig::new(
        "https://acme.billabear.cloud/api/v1",
        SecretString::from("bb-key"),
    );
    assert!(bb.validate().is_ok());
    #[cfg(feature = "lago")]
    let _ = billing::lago::LagoConfig::new(billing::lago::CLOUD_EU, SecretString::from("k"));
    #[cfg(feature = "killbill")]
    let _ = billing::killbill::KillBillConfig::new(
        "https://kb.example.com",
        "admin",
        SecretString::from("password"),
        "tenant",
        SecretString::from("secret"),
    );
}
