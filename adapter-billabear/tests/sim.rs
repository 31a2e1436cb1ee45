//! BillaBear-specific rules, checked against the BillaBear simulator: exact-match lookups
//! despite `LIKE` wildcards, PUTs that never reset fields, payment errors, events that are
//! never resent, the time tolerance, the cost estimate read by metric name, and what each
//! operation costs in requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use adapter_billabear::{BillaBearBackend, BillaBearConfig};
use billing_core::chrono::{Duration as Span, Utc};
use billing_core::{
    BillingExt, CancelAt, ChangeAt, CustomerKey, CustomerPatch, CustomerStatus, CustomerStore,
    ErrorKind, EventId, EventOutcome, MetricCode, NewCustomer, NewSubscription, PageRequest,
    PlanCode, SubscriptionKey, SubscriptionStatus, SubscriptionStore, UsageEvent, UsageQuery,
    UsageReader, UsageRecorder,
};
use billing_http::{HttpConfig, SecretString};
use billing_sim::billabear::{BillaBearSim, BillaBearSimConfig, catalog};
use billing_sim::{FaultConfig, SimOptions};
use serde_json::{Value, json};

struct World {
    sim: BillaBearSim,
    backend: BillaBearBackend,
    http: reqwest::Client,
}

impl World {
    async fn start() -> Self {
        Self::with(BillaBearSimConfig::default(), HttpConfig::default()).await
    }

    async fn with(sim_config: BillaBearSimConfig, http: HttpConfig) -> Self {
        let sim = BillaBearSim::start_with(SimOptions::default(), sim_config)
            .await
            .unwrap();
        let backend = Self::backend_for(&sim, &http);
        Self {
            sim,
            backend,
            http: reqwest::Client::new(),
        }
    }

    /// A second backend on the same server: same data, empty caches.
    fn backend_for(sim: &BillaBearSim, http: &HttpConfig) -> BillaBearBackend {
        let config = BillaBearConfig::new(sim.api_url(), SecretString::from(BillaBearSim::API_KEY));
        BillaBearBackend::new(&config, http).unwrap()
    }

    fn cold(&self) -> BillaBearBackend {
        Self::backend_for(&self.sim, &HttpConfig::default())
    }

    fn requests(&self) -> usize {
        self.sim.server().log().len()
    }

    async fn raw(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/{path}", self.sim.api_url()))
            .header("X-API-Key", BillaBearSim::API_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn customer(&self, key: &str) -> billing_core::Customer {
        self.backend
            .create_customer(&new_customer(key))
            .await
            .unwrap()
    }

    async fn subscribe(&self, customer: &str, key: &str) -> billing_core::Subscription {
        self.backend
            .create_subscription(&NewSubscription::new(
                sk(key),
                ck(customer),
                PlanCode::new(catalog::PLAN_STARTER_CODE).unwrap(),
            ))
            .await
            .unwrap()
    }
}

fn ck(s: &str) -> CustomerKey {
    CustomerKey::new(s).unwrap()
}

fn sk(s: &str) -> SubscriptionKey {
    SubscriptionKey::new(s).unwrap()
}

fn api_calls() -> MetricCode {
    MetricCode::new(catalog::METRIC_API_CALLS_CODE).unwrap()
}

fn storage_gb() -> MetricCode {
    MetricCode::new(catalog::METRIC_STORAGE_GB_CODE).unwrap()
}

fn new_customer(key: &str) -> NewCustomer {
    let email: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { 'x' })
        .collect();
    NewCustomer::new(ck(key))
        .name(format!("Customer {key}"))
        .email(format!("{email}@example.com"))
}

fn event(id: &str, sub: &str, metric: MetricCode, q: &str) -> UsageEvent {
    UsageEvent::new(
        EventId::new(id).unwrap(),
        sk(sub),
        metric,
        q.parse().unwrap(),
    )
}

fn kind(o: &EventOutcome) -> Option<ErrorKind> {
    o.error_kind().cloned()
}

#[tokio::test]
async fn lookups_keep_only_the_exact_reference_despite_like_wildcards() {
    let w = World::start().await;
    // `k_1` as a LIKE pattern also matches `kx1` and `ak_1b`; `k%` matches all of them.
    for key in ["kx1", "ak_1b", "k_1", "k_10"] {
        w.customer(key).await;
    }
    let cold = w.cold();
    let got = cold.get_customer(&ck("k_1")).await.unwrap();
    assert_eq!(got.key.as_str(), "k_1");
    assert_eq!(got.name.as_deref(), Some("Customer k_1"));
    assert_eq!(
        cold.get_customer(&ck("k%")).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
    assert_eq!(
        cold.get_customer(&ck("k_")).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
    // A key whose pattern matches others is still free.
    cold.create_customer(&new_customer("k%")).await.unwrap();
    assert_eq!(
        w.cold()
            .create_customer(&new_customer("k_1"))
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::AlreadyExists
    );
    assert_eq!(w.sim.customer_count(), 5, "never a second customer per key");
}

#[tokio::test]
async fn customers_made_elsewhere_with_the_same_reference_are_a_conflict() {
    let w = World::start().await;
    for _ in 0..2 {
        let (status, _) = w
            .raw(
                reqwest::Method::POST,
                "customer",
                Some(json!({"email": "twin@example.com", "reference": "twin"})),
            )
            .await;
        assert_eq!(status, 201);
    }
    assert_eq!(
        w.backend
            .get_customer(&ck("twin"))
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::Conflict
    );
    assert_eq!(
        w.backend
            .create_customer(&new_customer("twin"))
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::Conflict
    );
    assert_eq!(w.sim.customer_count(), 2);
    // Keyless customers made elsewhere are not listed.
    w.raw(
        reqwest::Method::POST,
        "customer",
        Some(json!({"email": "nokey@example.com"})),
    )
    .await;
    let all: Vec<_> = futures_collect(&w.backend).await;
    assert_eq!(all.len(), 2);
}

async fn futures_collect(b: &BillaBearBackend) -> Vec<billing_core::Customer> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(1);
    loop {
        let p = b.list_customers(&page).await.unwrap();
        out.extend(p.items);
        match p.next {
            Some(c) => page = PageRequest::after(c, 1),
            None => return out,
        }
    }
}

#[tokio::test]
async fn updates_never_reset_fields_the_patch_does_not_name() {
    let w = World::start().await;
    let c = w.customer("full").await;
    let id = c.vendor_id.clone();
    // Fields this library does not model, set by another client.
    let full = json!({
        "email": "full@example.com",
        "name": "Full Name",
        "reference": "full",
        "address": {"company_name": "Acme GmbH", "street_line_one": "Main St 1",
                    "street_line_two": null, "city": "Berlin", "region": "BE",
                    "country": "DE", "postcode": "10115"},
        "locale": "de",
        "brand": "default",
        "billing_type": "invoice",
        "tax_number": "DE123456789",
        "standard_tax_rate": 19.0,
        "invoice_format": "zugferd_v1",
        "marketing_opt_in": true,
        "metadata": {"billing.key": "full", "billing.currency": "EUR", "tier": "gold"}
    });
    let (status, before) = w
        .raw(reqwest::Method::PUT, &format!("customer/{id}"), Some(full))
        .await;
    assert_eq!(status, 202);

    let updated = w
        .backend
        .update_customer(&c.key, &CustomerPatch::new().email("new@example.com"))
        .await
        .unwrap();
    assert_eq!(updated.email.as_deref(), Some("new@example.com"));
    assert_eq!(updated.currency, Some(billing_core::Currency::EUR));
    assert_eq!(
        updated.metadata.get("tier").map(String::as_str),
        Some("gold")
    );
    let (_, after) = w
        .raw(reqwest::Method::GET, &format!("customer/{id}"), None)
        .await;
    for field in [
        "name",
        "reference",
        "external_reference",
        "address",
        "locale",
        "brand",
        "billing_type",
        "tax_number",
        "standard_tax_rate",
        "invoice_format",
        "marketing_opt_in",
        "metadata",
        "status",
    ] {
        assert_eq!(after[field], before[field], "{field} was reset");
    }

    let mut meta = billing_core::Metadata::new();
    meta.insert("tier".into(), "platinum".into());
    w.backend
        .update_customer(&c.key, &CustomerPatch::new().name("Renamed").metadata(meta))
        .await
        .unwrap();
    let (_, after) = w
        .raw(reqwest::Method::GET, &format!("customer/{id}"), None)
        .await;
    assert_eq!(after["name"], "Renamed");
    assert_eq!(after["email"], "new@example.com");
    assert_eq!(after["address"], before["address"]);
    assert_eq!(
        after["metadata"],
        json!({"billing.key": "full", "billing.currency": "EUR", "tier": "platinum"}),
        "the reserved entries survive a metadata replacement"
    );

    // Reserved metadata keys are refused before any request.
    let n = w.requests();
    let mut bad = billing_core::Metadata::new();
    bad.insert("billing.key".into(), "other".into());
    assert_eq!(
        w.backend
            .update_customer(&c.key, &CustomerPatch::new().metadata(bad))
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::InvalidInput
    );
    assert_eq!(w.requests(), n);
}

#[tokio::test]
async fn a_missing_card_or_a_failed_charge_is_payment_required() {
    let w = World::with(
        BillaBearSimConfig {
            customers_have_default_card: false,
            ..BillaBearSimConfig::default()
        },
        HttpConfig::default(),
    )
    .await;
    let c = w.customer("nocard").await;
    let new = NewSubscription::new(
        sk("nocard-sub"),
        c.key.clone(),
        PlanCode::new(catalog::PLAN_STARTER_CODE).unwrap(),
    );
    let e = w.backend.create_subscription(&new).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::PaymentRequired, "{e}");
    assert!(!e.is_temporary());
    assert_eq!(e.vendor().and_then(|v| v.status), Some(406));
    assert_eq!(w.sim.subscription_count(), 0);

    w.sim.register_card(&c.vendor_id).unwrap();
    w.sim.fail_next_charge("card_declined");
    let e = w.backend.create_subscription(&new).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::PaymentRequired, "{e}");
    assert_eq!(e.vendor().and_then(|v| v.status), Some(402));
    let s = w.backend.create_subscription(&new).await.unwrap();
    assert_eq!(s.status, SubscriptionStatus::Active);
}

#[tokio::test]
async fn an_event_that_may_have_been_stored_is_never_resent() {
    let http = HttpConfig {
        timeout_ms: 400,
        total_budget_ms: 2_000,
        retry_base_delay_ms: 10,
        ..HttpConfig::default()
    };
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
    assert!(
        matches!(&out[0], EventOutcome::Rejected(e) if !e.is_temporary()),
        "{out:?}"
    );
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
    assert_eq!(kind(&out[0]), Some(ErrorKind::Timeout), "{out:?}");
    assert!(!out[0].clone().into_result().unwrap_err().is_temporary());
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

async fn start_raw(w: &World, customer_id: &str, key: &str, customer: &str, price: &str) -> String {
    let (status, body) = w
        .raw(
            reqwest::Method::POST,
            &format!("customer/{customer_id}/subscription/start"),
            Some(json!({
                "subscription_plan": catalog::PLAN_STARTER_CODE,
                "price": price,
                "metadata": {"billing.key": key, "billing.customer": customer}
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn costs_are_read_by_metric_name_and_shared_counters_are_unsupported() {
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

    // A second api_calls subscription shares the customer's counter.
    w.subscribe("costs", "calls-2").await;
    for key in ["calls", "calls-2"] {
        assert_eq!(
            w.backend
                .usage(&UsageQuery::current(sk(key)))
                .await
                .unwrap_err()
                .kind(),
            &ErrorKind::Unsupported
        );
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
        &ErrorKind::Unsupported
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

#[tokio::test]
async fn delete_cancels_every_running_subscription_and_disables() {
    let w = World::start().await;
    let c = w.customer("gone").await;
    w.subscribe("gone", "g1").await;
    w.subscribe("gone", "g2").await;
    w.backend
        .cancel_subscription(&sk("g2"), CancelAt::PeriodEnd)
        .await
        .unwrap();
    let keyless = start_raw(&w, &c.vendor_id, "", "", catalog::STARTER_BASE_PRICE_ID).await;
    w.backend.delete_customer(&c.key).await.unwrap();
    for key in ["g1", "g2"] {
        let s = w.backend.get_subscription(&sk(key)).await.unwrap();
        assert_eq!(s.status, SubscriptionStatus::Canceled, "{key}");
    }
    let (_, raw) = w
        .raw(
            reqwest::Method::GET,
            &format!("subscription/{keyless}"),
            None,
        )
        .await;
    assert_eq!(
        raw["status"], "cancelled",
        "subscriptions made elsewhere end too"
    );
    let closed = w.backend.get_customer(&c.key).await.unwrap();
    assert_eq!(closed.status, CustomerStatus::Closed);
    let n = w.requests();
    w.backend.delete_customer(&c.key).await.unwrap();
    assert_eq!(
        w.requests() - n,
        2,
        "GET, list: nothing left to cancel or disable"
    );
}

#[tokio::test]
async fn period_end_cancellations_end_at_the_period_end() {
    let w = World::start().await;
    w.customer("pe").await;
    let s = w.subscribe("pe", "pe-sub").await;
    let c = w
        .backend
        .cancel_subscription(&s.key, CancelAt::PeriodEnd)
        .await
        .unwrap();
    assert_eq!(c.status, SubscriptionStatus::CancelScheduled);
    assert_eq!(c.raw_status, "pending_cancel");
    assert_eq!(c.ends_at, s.current_period.map(|p| p.end));
    assert_eq!(c.current_period, s.current_period, "it runs until then");
    let n = w.requests();
    let again = w
        .backend
        .cancel_subscription(&s.key, CancelAt::PeriodEnd)
        .await
        .unwrap();
    assert_eq!(again.ends_at, c.ends_at);
    assert_eq!(w.requests() - n, 1, "already scheduled: read, nothing sent");
}

#[tokio::test]
async fn plan_changes_keep_the_metered_metric_and_are_found_by_a_cold_backend() {
    let w = World::start().await;
    let c = w.customer("pc").await;
    start_raw(
        &w,
        &c.vendor_id,
        "pc-storage",
        "pc",
        catalog::STARTER_STORAGE_GB_PRICE_ID,
    )
    .await;
    let cold = w.cold();
    let pro = PlanCode::new(catalog::PLAN_PRO_CODE).unwrap();
    let changed = cold
        .change_plan(&sk("pc-storage"), &pro, ChangeAt::Now)
        .await
        .unwrap();
    assert_eq!(changed.plan, pro);
    assert_eq!(changed.customer, c.key);
    let raw = changed.raw.unwrap();
    assert_eq!(raw["price"]["id"], catalog::PRO_STORAGE_GB_PRICE_ID);
    // Before any request: the timings BillaBear cannot honour.
    let n = w.requests();
    for at in [ChangeAt::PeriodEnd, ChangeAt::VendorDefault] {
        assert_eq!(
            cold.change_plan(&sk("pc-storage"), &pro, at)
                .await
                .unwrap_err()
                .kind(),
            &ErrorKind::Unsupported
        );
    }
    assert_eq!(w.requests(), n);
}

macro_rules! requests_of {
    ($w:expr, $e:expr) => {{
        let n = $w.requests();
        let _ = $e;
        $w.requests() - n
    }};
}

/// Requests per operation with warm caches (the crate docs' table).
#[tokio::test]
async fn requests_per_operation_with_warm_caches() {
    let w = World::start().await;
    let pro = PlanCode::new(catalog::PLAN_PRO_CODE).unwrap();
    // Cold create: one lookup page, one POST.
    assert_eq!(requests_of!(w, w.customer("r").await), 2);
    // Warm create of a taken key: no request at all.
    assert_eq!(
        requests_of!(w, {
            let e = w
                .backend
                .create_customer(&new_customer("r"))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::AlreadyExists);
        }),
        0
    );
    assert_eq!(
        requests_of!(w, w.backend.get_customer(&ck("r")).await.unwrap()),
        1
    );
    let patch = CustomerPatch::new().name("R");
    assert_eq!(
        requests_of!(
            w,
            w.backend.update_customer(&ck("r"), &patch).await.unwrap()
        ),
        2
    );
    // First subscription: the plans (once per backend), the uniqueness walk (one page), the
    // start.
    assert_eq!(requests_of!(w, w.subscribe("r", "r1").await), 3);
    w.customer("q").await;
    assert_eq!(requests_of!(w, w.subscribe("q", "r2").await), 2);
    assert_eq!(
        requests_of!(w, w.backend.get_subscription(&sk("r1")).await.unwrap()),
        1
    );
    let events: Vec<UsageEvent> = (0..5)
        .map(|i| event(&format!("r{i}"), "r1", api_calls(), "1"))
        .collect();
    assert_eq!(
        requests_of!(w, {
            let out = w.backend.record_usage(&events).await;
            assert!(out.iter().all(EventOutcome::is_recorded), "{out:?}");
        }),
        5,
        "one request per event"
    );
    let q = UsageQuery::current(sk("r1"));
    assert_eq!(requests_of!(w, w.backend.usage(&q).await.unwrap()), 2);
    assert_eq!(
        requests_of!(
            w,
            w.backend
                .change_plan(&sk("r1"), &pro, ChangeAt::Now)
                .await
                .unwrap()
        ),
        3
    );
    assert_eq!(
        requests_of!(
            w,
            w.backend
                .cancel_subscription(&sk("r1"), CancelAt::Now)
                .await
                .unwrap()
        ),
        3
    );
    assert_eq!(
        requests_of!(
            w,
            w.backend
                .list_subscriptions(&ck("r"), &PageRequest::first(10))
                .await
                .unwrap()
        ),
        1
    );
    // Cold: a fresh backend finds the subscription by walking the subscription list.
    let cold = w.cold();
    let s = cold.get_subscription(&sk("r2")).await;
    assert_eq!(s.unwrap().customer.as_str(), "q");
    assert_eq!(
        requests_of!(w, w.cold().get_subscription(&sk("r2")).await.unwrap()),
        1,
        "one page of /subscription holds them all"
    );
    assert_eq!(
        requests_of!(w, w.cold().get_customer(&ck("r")).await.unwrap()),
        1,
        "one page of the reference filter"
    );
}
