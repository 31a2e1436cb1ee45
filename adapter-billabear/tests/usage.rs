//! Usage rules, checked against the BillaBear simulator: events that may have been stored are
//! never resent, the time tolerance, metrics a subscription does not meter, the cost estimate
//! read by metric name, and its lag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use adapter_billabear::{BillaBearBackend, BillaBearConfig};
use billing_core::chrono::{Duration as Span, Utc};
use billing_core::{
    BillingExt, CancelAt, ErrorKind, EventOutcome, MetricCode, SubscriptionStore, UsageQuery,
    UsageReader, UsageRecorder,
};
use billing_http::{HttpConfig, SecretString};
use billing_sim::FaultConfig;
use billing_sim::billabear::{BillaBearSim, BillaBearSimConfig, catalog};
use common::*;

#[tokio::test]
async fn an_event_that_may_have_been_stored_is_never_resent() {
    let http = HttpConfig::default()
        .with_timeout(std::time::Duration::from_millis(400))
        .with_total_budget(std::time::Duration::from_millis(2_000))
        .with_retry_base_delay(std::time::Duration::from_millis(10));
    let w = World::with(BillaBearSimConfig::default(), http).await;
    w.customer("ev").await;
    let sub = w.subscribe("ev", "ev-sub").await;
    let sub_id = sub.vendor_id.clone();
    let only_events = |f: FaultConfig| FaultConfig {
        only_paths_containing: Some("/events".into()),
        ..f
    };

    // Stored, then the connection drops before the answer.
    w.sim.server().faults().set(only_events(FaultConfig {
        drop_after: 1.0,
        ..FaultConfig::none()
    }));
    let n = w.requests();
    let out = w
        .backend
        .record_usage(&[event("e1", "ev-sub", api_calls(), "1")])
        .await;
    // Unknown, never Rejected: the event may be counted. Not temporary: BillaBear does not
    // deduplicate, so a generic retry loop must not resend it.
    assert!(
        matches!(&out[0], EventOutcome::Unknown(e) if !e.is_temporary()),
        "{out:?}"
    );
    assert!(!out[0].is_recorded() && !out[0].is_rejected());
    assert_eq!(w.requests() - n, 1, "sent once, never again");
    assert_eq!(w.sim.events_for(&sub_id).len(), 1, "stored once");

    // Stored, then the answer comes too late.
    w.sim.server().faults().set(only_events(FaultConfig {
        slow_after: 1.0,
        latency: Duration::from_millis(1_500),
        ..FaultConfig::none()
    }));
    let n = w.requests();
    let out = w
        .backend
        .record_usage(&[event("e2", "ev-sub", api_calls(), "1")])
        .await;
    assert!(
        matches!(&out[0], EventOutcome::Unknown(e) if e.kind() == ErrorKind::Timeout && !e.is_temporary()),
        "{out:?}"
    );
    assert_eq!(w.requests() - n, 1);
    assert_eq!(w.sim.events_for(&sub_id).len(), 2);

    // A 503 was not processed: temporary, not resent by the adapter, safe for the caller.
    w.sim.server().faults().set(only_events(FaultConfig {
        error_503: 1.0,
        ..FaultConfig::none()
    }));
    let n = w.requests();
    let e3 = event("e3", "ev-sub", api_calls(), "1");
    let out = w.backend.record_usage(std::slice::from_ref(&e3)).await;
    assert!(
        matches!(&out[0], EventOutcome::Rejected(e) if e.is_temporary()),
        "{out:?}"
    );
    assert_eq!(w.requests() - n, 1);
    w.sim.server().faults().set(FaultConfig::none());
    assert!(matches!(
        w.backend.record_usage(&[e3]).await[0],
        EventOutcome::Accepted
    ));
    assert_eq!(w.sim.events_for(&sub_id).len(), 3);

    // Repeats inside one batch are sent once.
    let e4 = event("e4", "ev-sub", api_calls(), "2");
    let n = w.requests();
    let out = w.backend.record_usage(&[e4.clone(), e4]).await;
    assert!(matches!(
        out[..],
        [EventOutcome::Accepted, EventOutcome::Duplicate]
    ));
    assert_eq!(w.requests() - n, 1);
    let stored = w.sim.events_for(&sub_id);
    assert_eq!(stored.last().map(|e| e.2), Some(2.0));
}

#[tokio::test]
async fn timestamps_beyond_the_tolerance_are_refused_before_sending() {
    let w = World::start().await;
    w.customer("t").await;
    w.subscribe("t", "t-sub").await;
    let n = w.requests();
    let now = Utc::now();
    let out = w
        .backend
        .record_usage(&[
            event("old", "t-sub", api_calls(), "1").at(now - Span::minutes(10)),
            event("future", "t-sub", api_calls(), "1").at(now + Span::minutes(10)),
            event("recent", "t-sub", api_calls(), "1").at(now - Span::minutes(2)),
        ])
        .await;
    assert_eq!(kind(&out[0]), Some(ErrorKind::Unsupported));
    assert_eq!(kind(&out[1]), Some(ErrorKind::Unsupported));
    assert!(matches!(out[2], EventOutcome::Accepted), "{out:?}");
    assert_eq!(w.requests() - n, 1, "only the recent event is sent");

    // A tighter tolerance from the configuration.
    let config = BillaBearConfig::new(w.sim.api_url(), SecretString::from(BillaBearSim::API_KEY))
        .event_time_tolerance(Duration::from_secs(30));
    let strict = BillaBearBackend::new(&config, &HttpConfig::default()).unwrap();
    let out = strict
        .record_usage(&[event("r2", "t-sub", api_calls(), "1").at(now - Span::minutes(2))])
        .await;
    assert_eq!(kind(&out[0]), Some(ErrorKind::Unsupported));
}

#[tokio::test]
async fn metrics_the_price_does_not_meter_are_refused() {
    let w = World::start().await;
    w.customer("m").await;
    w.subscribe("m", "m-sub").await;
    let n = w.requests();
    let out = w
        .backend
        .record_usage(&[
            event("s1", "m-sub", storage_gb(), "1"),
            event("s2", "m-sub", storage_gb(), "1"),
            event(
                "x1",
                "m-sub",
                MetricCode::new("no_such_metric").unwrap(),
                "1",
            ),
            event("q", "m-sub", api_calls(), "0.12345678901234567"),
        ])
        .await;
    assert_eq!(kind(&out[0]), Some(ErrorKind::InvalidInput));
    assert_eq!(kind(&out[1]), Some(ErrorKind::InvalidInput));
    assert_eq!(kind(&out[2]), Some(ErrorKind::NotFound));
    assert_eq!(
        kind(&out[3]),
        Some(ErrorKind::InvalidInput),
        "would be rounded"
    );
    assert_eq!(
        w.requests() - n,
        1,
        "one catalog refresh for the unknown metric, no event sent"
    );
    assert_eq!(w.sim.event_count(), 0);
}

#[tokio::test]
async fn costs_are_read_by_metric_name_and_shared_counters_are_a_conflict() {
    let w = World::start().await;
    let c = w.customer("costs").await;
    w.subscribe("costs", "calls").await;
    // A storage_gb subscription, made with an explicit price outside the adapter.
    start_raw(
        &w,
        &c.vendor_id,
        "storage",
        "costs",
        catalog::STARTER_STORAGE_GB_PRICE_ID,
    )
    .await;
    let out = w
        .backend
        .record_usage(&[
            event("c1", "calls", api_calls(), "0.1"),
            event("c2", "calls", api_calls(), "0.2"),
            event("g1", "storage", storage_gb(), "1.5"),
        ])
        .await;
    assert!(out.iter().all(EventOutcome::is_recorded), "{out:?}");

    let calls = w
        .backend
        .usage(&UsageQuery::current(sk("calls")))
        .await
        .unwrap();
    assert_eq!(calls.lines.len(), 1);
    assert_eq!(calls.lines[0].metric, api_calls());
    assert_eq!(calls.lines[0].quantity, "0.3".parse().unwrap());
    let storage = w
        .backend
        .usage(&UsageQuery::current(sk("storage")))
        .await
        .unwrap();
    assert_eq!(storage.quantity(&storage_gb()), "1.5".parse().unwrap());
    let amount = storage.lines[0].amount.unwrap();
    assert_eq!((amount.minor, amount.currency.code()), (15, "USD"));
    let other = w
        .backend
        .usage(&UsageQuery::current(sk("storage")).metric(api_calls()))
        .await
        .unwrap();
    assert_eq!(other.lines.len(), 1);
    assert!(
        other.lines[0].quantity.is_zero(),
        "not this subscription's metric"
    );

    // A second api_calls subscription shares the customer's counter, which then counts
    // neither subscription alone: a conflict with the customer's state, not a missing
    // capability (the same query answered a moment ago).
    w.subscribe("costs", "calls-2").await;
    for key in ["calls", "calls-2"] {
        let e = w
            .backend
            .usage(&UsageQuery::current(sk(key)))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
        assert!(e.message().contains("api_calls"), "{e}");
    }
    assert!(
        w.backend
            .usage(&UsageQuery::current(sk("storage")))
            .await
            .is_ok()
    );
    // A canceled subscription is not covered by the estimate.
    w.backend
        .cancel_subscription(&sk("calls-2"), CancelAt::Now)
        .await
        .unwrap();
    assert!(
        w.backend
            .usage(&UsageQuery::current(sk("calls")))
            .await
            .is_ok()
    );
    assert_eq!(
        w.backend
            .usage(&UsageQuery::current(sk("calls-2")))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict,
        "an ended subscription is not in the estimate"
    );
}

#[tokio::test]
async fn the_estimate_lags_until_the_counters_are_updated() {
    let w = World::with(
        BillaBearSimConfig {
            counters_auto_update: false,
            ..BillaBearSimConfig::default()
        },
        HttpConfig::default(),
    )
    .await;
    w.customer("lag").await;
    w.subscribe("lag", "lag-sub").await;
    w.backend
        .record_one(&event("l1", "lag-sub", api_calls(), "4"))
        .await
        .unwrap();
    let q = UsageQuery::current(sk("lag-sub")).metric(api_calls());
    assert!(
        w.backend.usage(&q).await.unwrap().lines[0]
            .quantity
            .is_zero()
    );
    w.sim.update_counters();
    assert_eq!(
        w.backend.usage(&q).await.unwrap().quantity(&api_calls()),
        "4".parse().unwrap()
    );
}
