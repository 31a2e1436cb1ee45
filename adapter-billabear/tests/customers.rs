//! Customer and subscription rules, checked against the BillaBear simulator: exact-match
//! lookups despite `LIKE` wildcards, PUTs that never reset fields, payment errors, delete,
//! plan changes, and what each operation costs in requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use adapter_billabear::BillaBearBackend;
use billing_core::{
    CancelAt, ChangeAt, CustomerPatch, CustomerStatus, CustomerStore, ErrorKind, EventOutcome,
    NewSubscription, PageRequest, PlanCode, SubscriptionStatus, SubscriptionStore, UsageEvent,
    UsageQuery, UsageReader, UsageRecorder,
};
use billing_http::HttpConfig;
use billing_sim::billabear::{BillaBearSimConfig, catalog};
use common::*;
use serde_json::json;

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
        ErrorKind::NotFound
    );
    assert_eq!(
        cold.get_customer(&ck("k_")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // A key whose pattern matches others is still free.
    cold.create_customer(&new_customer("k%")).await.unwrap();
    assert_eq!(
        w.cold()
            .create_customer(&new_customer("k_1"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
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
        ErrorKind::Conflict
    );
    assert_eq!(
        w.backend
            .create_customer(&new_customer("twin"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
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
        ErrorKind::InvalidInput
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
    assert_eq!(e.kind(), ErrorKind::PaymentRequired, "{e}");
    assert!(!e.is_temporary());
    assert_eq!(e.vendor().and_then(|v| v.status), Some(406));
    assert_eq!(w.sim.subscription_count(), 0);

    w.sim.register_card(&c.vendor_id).unwrap();
    w.sim.fail_next_charge("card_declined");
    let e = w.backend.create_subscription(&new).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PaymentRequired, "{e}");
    assert_eq!(e.vendor().and_then(|v| v.status), Some(402));
    let s = w.backend.create_subscription(&new).await.unwrap();
    assert_eq!(s.status, SubscriptionStatus::Active);
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
            ErrorKind::Unsupported
        );
    }
    assert_eq!(w.requests(), n);
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
            assert_eq!(e.kind(), ErrorKind::AlreadyExists);
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

#[tokio::test]
async fn a_listed_page_saves_the_customer_lookup_afterwards() {
    let w = World::start().await;
    for key in ["walk-0", "walk-1", "walk-2"] {
        w.customer(key).await;
    }
    let w = &w;
    let cost = |b: BillaBearBackend| async move {
        let mark = w.requests();
        b.list_subscriptions(&ck("walk-1"), &PageRequest::first(10))
            .await
            .unwrap();
        w.requests() - mark
    };
    let unlisted = cost(w.cold()).await;
    let listed = w.cold();
    let page = listed.list_customers(&PageRequest::first(3)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(cost(listed).await, unlisted - 1, "no lookup by reference");
}
