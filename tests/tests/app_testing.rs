//! How an application tests its billing code, exactly as the README's "Testing an application's
//! billing code" shows it: the in-memory backend standing in for a vendor (its capabilities,
//! scripted failures, a manual clock), and a simulator as a dev-dependency (its fault controls,
//! clock, request log and reset). The application code here is what such a test would exercise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use billing::memory::ManualClock;
use billing::prelude::*;
use billing::{
    BillingConfig, CustomerKey, ErrorKind, EventId, EventOutcome, InMemoryBackend, MetricCode,
    NewCustomer, NewSubscription, Operation, PlanCode, SubscriptionKey, UsageEvent, UsageQuery,
};
use billing_sim::lago::LagoSim;
use billing_sim::{FaultConfig, SimOptions};

/// What the application decided for one event.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Counted,
    RetryLater,
    Resend,
    Hold,
    Fix,
}

/// The application code under test: record one request's usage and decide what to do with
/// the outcome (the README tour's match).
async fn bill_request(backend: &dyn BillingBackend, event: &UsageEvent) -> Decision {
    let outcome = backend.record_usage(std::slice::from_ref(event)).await;
    match outcome.into_iter().next() {
        Some(EventOutcome::Accepted | EventOutcome::Duplicate) => Decision::Counted,
        Some(EventOutcome::Rejected(e)) if e.is_temporary() => Decision::RetryLater,
        Some(EventOutcome::Rejected(_)) | None => Decision::Fix,
        Some(EventOutcome::Unknown(_)) if backend.capabilities().usage_dedup_by_event_id => {
            Decision::Resend
        }
        Some(EventOutcome::Unknown(_)) => Decision::Hold,
    }
}

/// A customer and a subscription on the sample catalog's starter plan.
async fn subscribed(backend: &dyn BillingBackend) -> SubscriptionKey {
    let acme = CustomerKey::new("acme").unwrap();
    backend
        .ensure_customer(&NewCustomer::new(acme.clone()).email("billing@acme.example"))
        .await
        .unwrap();
    let sub = SubscriptionKey::new("acme-main").unwrap();
    let plan = PlanCode::new("starter-monthly").unwrap();
    backend
        .ensure_subscription(&NewSubscription::new(sub.clone(), acme, plan))
        .await
        .unwrap();
    sub
}

fn event(sub: &SubscriptionKey, id: &str) -> UsageEvent {
    UsageEvent::new(
        EventId::new(id).unwrap(),
        sub.clone(),
        MetricCode::new("api_calls").unwrap(),
        10.into(),
    )
}

#[tokio::test]
async fn the_in_memory_backend_behaves_as_the_vendor_and_fails_as_scripted() {
    // BillaBear's capabilities: no deduplication, so a lost answer must be held.
    let backend = InMemoryBackend::with_sample_catalog()
        .with_capabilities(billing::billabear::capabilities());
    let sub = subscribed(&backend).await;
    backend
        .faults()
        .fail_next(Operation::RecordUsage, ErrorKind::RateLimited, 1)
        .lose_answer_next(Operation::RecordUsage, ErrorKind::Timeout, 1);
    assert_eq!(
        bill_request(&backend, &event(&sub, "r1")).await,
        Decision::RetryLater
    );
    assert_eq!(
        bill_request(&backend, &event(&sub, "r2")).await,
        Decision::Hold
    );
    assert_eq!(
        bill_request(&backend, &event(&sub, "r3")).await,
        Decision::Counted
    );

    // Lago's: the same lost answer is resent, and counted once.
    let backend =
        InMemoryBackend::with_sample_catalog().with_capabilities(billing::lago::capabilities());
    let sub = subscribed(&backend).await;
    backend
        .faults()
        .lose_answer_next(Operation::RecordUsage, ErrorKind::Timeout, 1);
    let e = event(&sub, "r1");
    assert_eq!(bill_request(&backend, &e).await, Decision::Resend);
    assert_eq!(bill_request(&backend, &e).await, Decision::Counted);
    let usage = backend.usage(&UsageQuery::current(sub)).await.unwrap();
    assert_eq!(
        usage.quantity(&MetricCode::new("api_calls").unwrap()),
        10.into()
    );
}

#[tokio::test]
async fn a_manual_clock_moves_periods_on() {
    let clock = ManualClock::starting_now();
    let backend = InMemoryBackend::with_sample_catalog().with_clock(clock.clock());
    let sub = subscribed(&backend).await;
    let first = backend
        .get_subscription(&sub)
        .await
        .unwrap()
        .current_period
        .unwrap();
    clock.advance(Duration::from_secs(40 * 86_400));
    let later = backend
        .get_subscription(&sub)
        .await
        .unwrap()
        .current_period
        .unwrap();
    assert!(later.start >= first.end, "{first:?} then {later:?}");
}

#[tokio::test]
async fn a_simulator_as_a_dev_dependency() {
    let sim = LagoSim::start(SimOptions::default()).await.unwrap();
    let config = BillingConfig::from_toml_str(&sim.billing_toml()).unwrap();
    let backend: Arc<dyn BillingBackend> = billing::connect_checked(&config).await.unwrap();
    let sub = subscribed(backend.as_ref()).await;
    assert_eq!(
        bill_request(backend.as_ref(), &event(&sub, "r1")).await,
        Decision::Counted
    );

    // Every usage request throttled: the client's own retries, then a temporary rejection.
    sim.server().faults().set(FaultConfig {
        rate_limit: 1.0,
        only_paths_containing: Some("/events".into()),
        ..FaultConfig::none()
    });
    let before = sim.server().log().len();
    assert_eq!(
        bill_request(backend.as_ref(), &event(&sub, "r2")).await,
        Decision::RetryLater
    );
    let sent = sim.server().log().len() - before;
    assert_eq!(
        sent, 5,
        "4 retries by the client before the application sees it"
    );
    sim.server().faults().set(FaultConfig::none());

    // The vendor's clock moves, and the subscription with it into its next period; the
    // request log shows what the application sent.
    let period = |s: billing::Subscription| s.current_period.expect("a running subscription");
    let first = period(backend.get_subscription(&sub).await.unwrap());
    sim.advance_clock(billing::chrono::Duration::days(31));
    let next = period(backend.get_subscription(&sub).await.unwrap());
    assert!(next.start >= first.end, "{first:?} then {next:?}");
    assert!(
        sim.server()
            .log()
            .snapshot()
            .iter()
            .any(|r| r.raw_path.ends_with("/events/batch"))
    );
    sim.reset();
    assert!(backend.get_subscription(&sub).await.unwrap_err().kind() == ErrorKind::NotFound);
}
