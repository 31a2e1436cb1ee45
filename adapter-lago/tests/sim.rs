//! The Lago-specific rules of the adapter, checked against the Lago simulator over HTTP: exact
//! requests, request counts, and what Lago's quirks turn into.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use adapter_lago::{LagoBackend, LagoConfig};
use billing_core::rust_decimal::Decimal;
use billing_core::{
    BillingBackend, CancelAt, CustomerKey, CustomerPatch, CustomerStore, ErrorKind, EventId,
    EventOutcome, Metadata, MetricCode, NewCustomer, NewSubscription, PlanCode, SubscriptionKey,
    SubscriptionStore, UsageEvent, UsageQuery, UsageReader, UsageRecorder,
};
use billing_http::HttpConfig;
use billing_sim::lago::LagoSim;
use billing_sim::{RecordedRequest, SimOptions};
use serde_json::Value;

struct World {
    sim: LagoSim,
    lago: LagoBackend,
}

impl World {
    async fn start() -> Self {
        let sim = LagoSim::start(SimOptions::default()).await.unwrap();
        let lago = LagoBackend::new(
            &LagoConfig::new(sim.api_url(), LagoSim::API_KEY.into()),
            &HttpConfig::default(),
        )
        .unwrap();
        Self { sim, lago }
    }

    fn requests(&self) -> Vec<RecordedRequest> {
        self.sim.server().log().snapshot()
    }

    fn sent(&self) -> usize {
        self.sim.server().log().len()
    }

    fn batches_since(&self, from: usize) -> Vec<Value> {
        self.requests()[from..]
            .iter()
            .filter(|r| r.method == "POST" && r.raw_path.ends_with("/events/batch"))
            .map(|r| r.json().unwrap())
            .collect()
    }

    async fn subscribed(&self, name: &str) -> SubscriptionKey {
        let customer = CustomerKey::new(name).unwrap();
        self.lago
            .create_customer(&NewCustomer::new(customer.clone()).name(name))
            .await
            .unwrap();
        let key = SubscriptionKey::new(format!("{name}-sub")).unwrap();
        self.lago
            .create_subscription(&NewSubscription::new(
                key.clone(),
                customer,
                PlanCode::new("starter-monthly").unwrap(),
            ))
            .await
            .unwrap();
        key
    }
}

fn api_calls() -> MetricCode {
    MetricCode::new("api_calls").unwrap()
}

fn event(id: &str, sub: &SubscriptionKey, q: &str) -> UsageEvent {
    UsageEvent::new(
        EventId::new(id).unwrap(),
        sub.clone(),
        api_calls(),
        q.parse().unwrap(),
    )
}

fn kinds(outcomes: &[EventOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            EventOutcome::Accepted => "accepted".into(),
            EventOutcome::Duplicate => "duplicate".into(),
            EventOutcome::Rejected(e) => format!("{:?}", e.kind()),
            EventOutcome::Unknown(e) => format!("unknown {:?}", e.kind()),
        })
        .collect()
}

#[tokio::test]
async fn a_repeated_event_is_a_duplicate_and_the_rest_of_its_batch_is_resent() {
    let w = World::start().await;
    let sub = w.subscribed("dup").await;
    let first = event("e1", &sub, "1");
    assert_eq!(
        kinds(&w.lago.record_usage(std::slice::from_ref(&first)).await),
        ["accepted"]
    );

    let before = w.sent();
    let batch = [
        event("e0", &sub, "2"),
        first.clone(),
        event("e2", &sub, "3"),
    ];
    let outcomes = w.lago.record_usage(&batch).await;
    assert_eq!(kinds(&outcomes), ["accepted", "duplicate", "accepted"]);
    let bodies = w.batches_since(before);
    assert_eq!(bodies.len(), 2, "the refused batch, then the valid rest");
    assert_eq!(bodies[0]["events"].as_array().unwrap().len(), 3);
    let resent = bodies[1]["events"].as_array().unwrap();
    assert_eq!(resent.len(), 2);
    assert_eq!(
        resent[0], bodies[0]["events"][0],
        "resent with exactly the same JSON"
    );
    assert_eq!(resent[1], bodies[0]["events"][2]);
    let stored = w.sim.events_for(sub.as_str());
    assert_eq!(stored.len(), 3, "{stored:?}");

    // Only duplicates: one request, every event Duplicate.
    let before = w.sent();
    assert_eq!(
        kinds(&w.lago.record_usage(&batch).await),
        ["duplicate", "duplicate", "duplicate"]
    );
    assert_eq!(w.sent() - before, 1);
}

#[tokio::test]
async fn large_batches_are_chunked_and_a_warm_cache_costs_one_request() {
    let w = World::start().await;
    let sub = w.subscribed("bulk").await;
    let events: Vec<UsageEvent> = (0..250)
        .map(|i| event(&format!("b{i}"), &sub, "1"))
        .collect();
    let before = w.sent();
    let outcomes = w.lago.record_usage(&events).await;
    assert!(outcomes.iter().all(|o| matches!(o, EventOutcome::Accepted)));
    let sizes: Vec<usize> = w
        .batches_since(before)
        .iter()
        .map(|b| b["events"].as_array().unwrap().len())
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [50, 100, 100]);

    // The subscription's customer and the metric catalog are cached now.
    let before = w.sent();
    let batch: Vec<UsageEvent> = (0..10)
        .map(|i| event(&format!("w{i}"), &sub, "0.5"))
        .collect();
    assert!(
        w.lago
            .record_usage(&batch)
            .await
            .iter()
            .all(EventOutcome::is_recorded)
    );
    assert_eq!(w.sent() - before, 1, "one request per batch once warm");

    let before = w.sent();
    let u = w
        .lago
        .usage(&UsageQuery::current(sub.clone()).metric(api_calls()))
        .await
        .unwrap();
    assert_eq!(u.quantity(&api_calls()), Decimal::from(255));
    assert_eq!(
        w.sent() - before,
        1,
        "one request per usage query once warm"
    );
}

#[tokio::test]
async fn events_carry_the_quantity_and_a_millisecond_timestamp() {
    let w = World::start().await;
    let sub = w.subscribed("wire").await;
    let at = billing_core::chrono::DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
    let before = w.sent();
    let e = event("t1", &sub, "2.50").at(at).property("region", "eu");
    assert!(w.lago.record_usage(&[e]).await[0].is_recorded());
    let body = &w.batches_since(before)[0]["events"][0];
    assert_eq!(body["timestamp"], "1700000000.123");
    assert_eq!(body["properties"]["quantity"], "2.5");
    assert_eq!(body["properties"]["region"], "eu");
    assert_eq!(body["external_subscription_id"], sub.as_str());
    assert!(body.get("external_customer_id").is_none());
}

#[tokio::test]
async fn unknown_subscriptions_and_metrics_are_refused_before_sending() {
    let w = World::start().await;
    let sub = w.subscribed("known").await;
    let ghost = SubscriptionKey::new("ghost").unwrap();
    let mut unknown_metric = event("m1", &sub, "1");
    unknown_metric.metric = MetricCode::new("no_such_metric").unwrap();
    let before = w.sent();
    let outcomes = w
        .lago
        .record_usage(&[
            event("g1", &ghost, "1"),
            unknown_metric,
            event("ok", &sub, "1"),
        ])
        .await;
    assert_eq!(kinds(&outcomes), ["NotFound", "NotFound", "accepted"]);
    let bodies = w.batches_since(before);
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0]["events"].as_array().unwrap().len(),
        1,
        "only the valid event"
    );
}

#[tokio::test]
async fn count_metrics_take_one_event_per_unit() {
    let w = World::start().await;
    let sub = w.subscribed("logins").await;
    let logins = MetricCode::new("logins").unwrap();
    let mut one = event("l1", &sub, "1");
    one.metric = logins.clone();
    let mut two = event("l2", &sub, "2");
    two.metric = logins.clone();
    let outcomes = w.lago.record_usage(&[one, two]).await;
    assert_eq!(kinds(&outcomes), ["accepted", "InvalidInput"]);
    // The seeded plans do not charge `logins`: its usage is one zero line.
    let u = w
        .lago
        .usage(&UsageQuery::current(sub).metric(logins.clone()))
        .await
        .unwrap();
    assert_eq!(u.lines.len(), 1);
    assert_eq!(u.lines[0].metric, logins);
    assert!(u.lines[0].quantity.is_zero());
}

#[tokio::test]
async fn a_subscription_never_creates_its_customer() {
    let w = World::start().await;
    let customers = w.sim.customer_count();
    let before = w.sent();
    let e = w
        .lago
        .create_subscription(&NewSubscription::new(
            SubscriptionKey::new("orphan").unwrap(),
            CustomerKey::new("nobody").unwrap(),
            PlanCode::new("starter-monthly").unwrap(),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(w.sim.customer_count(), customers);
    assert!(
        w.requests()[before..].iter().all(|r| r.method == "GET"),
        "nothing was posted"
    );
}

#[tokio::test]
async fn metadata_entries_keep_their_ids_on_update() {
    let w = World::start().await;
    let key = CustomerKey::new("meta").unwrap();
    let created = w
        .lago
        .create_customer(
            &NewCustomer::new(key.clone())
                .metadata("tier", "gold")
                .metadata("region", "eu"),
        )
        .await
        .unwrap();
    let id_of = |c: &billing_core::Customer, k: &str| -> String {
        c.raw.as_ref().unwrap()["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == k)
            .map(|m| m["lago_id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let tier_id = id_of(&created, "tier");
    let mut replaced = Metadata::new();
    replaced.insert("tier".into(), "platinum".into());
    replaced.insert("seats".into(), "10".into());
    let before = w.sent();
    let updated = w
        .lago
        .update_customer(&key, &CustomerPatch::new().metadata(replaced.clone()))
        .await
        .unwrap();
    assert_eq!(updated.metadata, replaced);
    assert_eq!(id_of(&updated, "tier"), tier_id, "updated in place");
    let post = w.requests()[before..]
        .iter()
        .find(|r| r.method == "POST")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        post["customer"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["external_id", "metadata"],
        "only what changes is sent"
    );
    // Six entries are refused before sending.
    let mut six = Metadata::new();
    for i in 0..6 {
        six.insert(format!("k{i}"), "v".into());
    }
    let before = w.sent();
    let e = w
        .lago
        .update_customer(&key, &CustomerPatch::new().metadata(six))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(w.sent(), before);
}

#[tokio::test]
async fn dotted_keys_are_addressed_with_encoded_dots() {
    let w = World::start().await;
    let key = CustomerKey::new("ada.lovelace@example.com").unwrap();
    w.lago
        .create_customer(&NewCustomer::new(key.clone()))
        .await
        .unwrap();
    // A customer whose key is a prefix up to the dot must not be the one addressed.
    w.lago
        .create_customer(&NewCustomer::new(CustomerKey::new("ada").unwrap()))
        .await
        .unwrap();
    let sub = SubscriptionKey::new("ada.sub").unwrap();
    w.lago
        .create_subscription(&NewSubscription::new(
            sub.clone(),
            key.clone(),
            PlanCode::new("starter-monthly").unwrap(),
        ))
        .await
        .unwrap();
    let u = w
        .lago
        .usage(&UsageQuery::current(sub.clone()))
        .await
        .unwrap();
    assert!(u.lines.is_empty());
    let before = w.sent();
    w.lago.delete_customer(&key).await.unwrap();
    let paths: Vec<String> = w.requests()[before..]
        .iter()
        .map(|r| r.raw_path.clone())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p == "/api/v1/customers/ada%2Elovelace%40example%2Ecom"),
        "{paths:?}"
    );
    assert_eq!(
        w.lago.get_customer(&key).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(
        w.lago
            .get_customer(&CustomerKey::new("ada").unwrap())
            .await
            .is_ok()
    );
    let s = w.lago.get_subscription(&sub).await.unwrap();
    assert_eq!(s.status, billing_core::SubscriptionStatus::Canceled);
}

#[tokio::test]
async fn cancelling_on_the_last_day_of_a_period_is_a_conflict() {
    let w = World::start().await;
    let sub = w.subscribed("lastday").await;
    w.sim.set_clock(
        billing_core::chrono::DateTime::parse_from_rfc3339("2031-01-31T10:00:00Z")
            .unwrap()
            .into(),
    );
    let e = w
        .lago
        .cancel_subscription(&sub, CancelAt::PeriodEnd)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let now = w
        .lago
        .cancel_subscription(&sub, CancelAt::Now)
        .await
        .unwrap();
    assert_eq!(now.status, billing_core::SubscriptionStatus::Canceled);
}

#[tokio::test]
async fn capabilities_and_identity() {
    let w = World::start().await;
    let caps = w.lago.capabilities();
    assert_eq!(caps.usage_batch_max, 100);
    assert!(!caps.usage_range && !caps.change_plan_now && caps.change_plan_vendor_default);
    assert_eq!(w.lago.info().name, "lago");
    assert!(!format!("{:?}", w.lago).contains(LagoSim::API_KEY));
}

#[tokio::test]
async fn retries_after_server_errors_and_lost_answers_never_count_an_event_twice() {
    let sim = LagoSim::start(SimOptions {
        seed: 7,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let http = HttpConfig::default()
        .with_max_retries(10)
        .with_retry_base_delay(std::time::Duration::from_millis(5))
        .with_max_retry_delay(std::time::Duration::from_millis(50));
    let lago = LagoBackend::new(
        &LagoConfig::new(sim.api_url(), LagoSim::API_KEY.into()),
        &http,
    )
    .unwrap();
    let w = World { sim, lago };
    let sub = w.subscribed("flaky").await;
    w.sim.server().faults().set(billing_sim::FaultConfig {
        error_503: 0.25,
        drop_after: 0.25,
        only_paths_containing: Some("/events/batch".into()),
        ..billing_sim::FaultConfig::none()
    });
    let mut recorded = 0;
    for round in 0..5 {
        let batch: Vec<UsageEvent> = (0..10)
            .map(|i| event(&format!("f{round}-{i}"), &sub, "1"))
            .collect();
        let outcomes = w.lago.record_usage(&batch).await;
        assert!(
            outcomes.iter().all(EventOutcome::is_recorded),
            "{:?}",
            kinds(&outcomes)
        );
        recorded += outcomes.len();
    }
    let counts = w.sim.server().faults().counts();
    assert!(
        counts.server_errors + counts.dropped_after > 0,
        "faults were injected: {counts:?}"
    );
    w.sim
        .server()
        .faults()
        .set(billing_sim::FaultConfig::none());
    assert_eq!(
        w.sim.events_for(sub.as_str()).len(),
        recorded,
        "each event stored once"
    );
    let u = w
        .lago
        .usage(&UsageQuery::current(sub).metric(api_calls()))
        .await
        .unwrap();
    assert_eq!(u.quantity(&api_calls()), Decimal::from(50));
}

#[tokio::test]
async fn a_batch_whose_answers_were_all_lost_is_unknown_and_safe_to_resend() {
    let sim = LagoSim::start(SimOptions::default()).await.unwrap();
    let http = HttpConfig::default()
        .with_max_retries(2)
        .with_retry_base_delay(std::time::Duration::from_millis(5))
        .with_max_retry_delay(std::time::Duration::from_millis(20));
    let lago = LagoBackend::new(
        &LagoConfig::new(sim.api_url(), LagoSim::API_KEY.into()),
        &http,
    )
    .unwrap();
    let w = World { sim, lago };
    let sub = w.subscribed("lost").await;
    // Warm the metric and subscription caches, so only the batch POST meets the fault.
    w.lago.record_usage(&[event("warm", &sub, "0")]).await;
    w.sim.server().faults().set(billing_sim::FaultConfig {
        drop_after: 1.0,
        only_paths_containing: Some("/events/batch".into()),
        ..billing_sim::FaultConfig::none()
    });
    let batch: Vec<UsageEvent> = (0..3).map(|i| event(&format!("l{i}"), &sub, "2")).collect();
    let from = w.sent();
    let outcomes = w.lago.record_usage(&batch).await;
    // Stored each time, the answer lost each time, until the client's retries ran out.
    assert_eq!(w.batches_since(from).len(), 3, "one POST and two retries");
    for o in &outcomes {
        assert!(
            matches!(o, EventOutcome::Unknown(e) if e.is_temporary()),
            "never Rejected, safe to resend: {:?}",
            kinds(&outcomes)
        );
        assert!(!o.is_recorded());
    }
    w.sim
        .server()
        .faults()
        .set(billing_sim::FaultConfig::none());
    let again = w.lago.record_usage(&batch).await;
    assert!(
        again.iter().all(|o| matches!(o, EventOutcome::Duplicate)),
        "{:?}",
        kinds(&again)
    );
    let stored: Vec<String> = w
        .sim
        .events_for(sub.as_str())
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| id.starts_with('l'))
        .collect();
    assert_eq!(stored, ["l0", "l1", "l2"], "each event stored once");
}
