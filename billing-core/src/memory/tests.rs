//! Behaviour the conformance suite cannot reach: scheduled changes taking effect over time.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::TimeZone;

use super::*;
use crate::catalog::sample;
use crate::error::{ErrorKind, Operation};

/// A backend on a [`ManualClock`] standing at 2026-01-10, and the clock's time in seconds
/// (set by the tests through `set_secs`).
fn clocked() -> (InMemoryBackend, Arc<AtomicI64>) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap());
    let t = Arc::new(AtomicI64::new(clock.now().timestamp()));
    let (tc, manual) = (t.clone(), clock.clone());
    // The tests move time by storing seconds; the clock follows them.
    let follow: Clock = Arc::new(move || {
        let at = Utc
            .timestamp_opt(tc.load(Ordering::SeqCst), 0)
            .single()
            .unwrap();
        manual.set(at);
        manual.now()
    });
    (InMemoryBackend::with_sample_catalog().with_clock(follow), t)
}

#[tokio::test]
async fn a_manual_clock_moves_periods_and_faults_fail_per_operation() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 31, 23, 0, 0).unwrap());
    let b = InMemoryBackend::with_sample_catalog().with_clock(clock.clock());
    let s = subscribed(&b).await;
    let before = b
        .get_subscription(&s)
        .await
        .unwrap()
        .current_period
        .unwrap();
    clock.advance(std::time::Duration::from_secs(31 * 86_400));
    let after = b
        .get_subscription(&s)
        .await
        .unwrap()
        .current_period
        .unwrap();
    assert!(after.start >= before.end, "{before:?} then {after:?}");

    b.faults()
        .fail_next(Operation::GetSubscription, ErrorKind::Unavailable, 1);
    let e = b.get_subscription(&s).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(e.backend(), Some("memory"));
    assert_eq!(e.operation(), Some(Operation::GetSubscription));
    assert!(b.get_subscription(&s).await.is_ok(), "used up");
}

#[tokio::test]
async fn a_closing_backend_keeps_the_customer_and_its_key() {
    let mut caps = Capabilities::full();
    caps.customer_delete = Some(CustomerDeletion::Close);
    let b = InMemoryBackend::with_sample_catalog().with_capabilities(caps);
    let s = subscribed(&b).await;
    let c = CustomerKey::new("c").unwrap();
    b.delete_customer(&c).await.unwrap();
    assert_eq!(
        b.get_customer(&c).await.unwrap().status,
        CustomerStatus::Closed
    );
    assert_eq!(
        b.get_subscription(&s).await.unwrap().status,
        SubscriptionStatus::Canceled
    );
    b.delete_customer(&c).await.unwrap();
    let again = b.create_customer(&NewCustomer::new(c)).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyExists);
}

async fn subscribed(b: &InMemoryBackend) -> SubscriptionKey {
    let c = CustomerKey::new("c").unwrap();
    b.create_customer(&NewCustomer::new(c.clone()))
        .await
        .unwrap();
    let s = SubscriptionKey::new("s").unwrap();
    b.create_subscription(&NewSubscription::new(
        s.clone(),
        c,
        PlanCode::new(sample::PRO).unwrap(),
    ))
    .await
    .unwrap();
    s
}

#[tokio::test]
async fn scheduled_cancel_and_change_take_effect_at_period_end() {
    let (b, t) = clocked();
    let s = subscribed(&b).await;
    let starter = PlanCode::new(sample::STARTER).unwrap();
    let changed = b
        .change_plan(&s, &starter, ChangeAt::VendorDefault)
        .await
        .unwrap();
    assert_eq!(changed.plan.as_str(), sample::PRO, "a downgrade waits");
    let at = changed.scheduled_change.unwrap().at.unwrap();
    assert_eq!(at, Utc.with_ymd_and_hms(2026, 2, 10, 0, 0, 0).unwrap());

    t.store(at.timestamp() + 1, Ordering::SeqCst);
    let after = b.get_subscription(&s).await.unwrap();
    assert_eq!(after.plan, starter);
    assert!(after.scheduled_change.is_none());
    assert_eq!(after.current_period.unwrap().start, at);

    let canceled = b
        .cancel_subscription(&s, CancelAt::PeriodEnd)
        .await
        .unwrap();
    assert_eq!(canceled.status, SubscriptionStatus::CancelScheduled);
    t.store(canceled.ends_at.unwrap().timestamp(), Ordering::SeqCst);
    assert_eq!(
        b.get_subscription(&s).await.unwrap().status,
        SubscriptionStatus::Canceled
    );
}

#[tokio::test]
async fn usage_current_period_excludes_previous_periods() {
    let (b, t) = clocked();
    let s = subscribed(&b).await;
    let m = crate::MetricCode::new(sample::API_CALLS).unwrap();
    let start = Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap();
    let ev = |id: &str, ts| {
        UsageEvent::new(
            crate::EventId::new(id).unwrap(),
            s.clone(),
            m.clone(),
            Decimal::ONE,
        )
        .at(ts)
    };
    t.store(
        Utc.with_ymd_and_hms(2026, 2, 15, 0, 0, 0)
            .unwrap()
            .timestamp(),
        Ordering::SeqCst,
    );
    let outcomes = b
        .record_usage(&[
            ev("old", start + chrono::Duration::days(1)),
            ev("new", Utc.with_ymd_and_hms(2026, 2, 12, 0, 0, 0).unwrap()),
        ])
        .await;
    assert!(outcomes.iter().all(EventOutcome::is_recorded));
    let summary = b.usage(&UsageQuery::current(s)).await.unwrap();
    assert_eq!(summary.quantity(&m), Decimal::ONE);
    assert_eq!(
        summary.period.start,
        Utc.with_ymd_and_hms(2026, 2, 10, 0, 0, 0).unwrap()
    );
}
