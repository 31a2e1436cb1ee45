//! Unit tests of the pure conversions.
use super::*;
use chrono::TimeZone;
use serde_json::json;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn at(y: i32, m: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, 12, 30, 0).single().unwrap()
}

fn ck(s: &str) -> CustomerKey {
    CustomerKey::new(s).unwrap()
}

fn wire_customer(v: &Value) -> wire::Customer {
    serde_json::from_value(v.clone()).unwrap()
}

fn customer_json() -> Value {
    json!({
        "id": "6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00",
        "name": "Ada",
        "email": "ada@example.com",
        "reference": "cust-1",
        "external_reference": "cus_123",
        "address": {"company_name": "Acme", "street_line_one": null, "street_line_two": null,
                    "city": "Berlin", "region": null, "country": "", "postcode": "10115"},
        "status": "new",
        "brand": "default",
        "locale": "de",
        "billing_type": "invoice",
        "tax_number": "DE123",
        "standard_tax_rate": 19.0,
        "invoice_format": "zugferd_v1",
        "marketing_opt_in": true,
        "metadata": {"tier": "gold", "billing.key": "cust-1", "billing.currency": "EUR"}
    })
}

#[test]
fn customers_hide_reserved_metadata_and_map_status() {
    let raw = customer_json();
    let c = customer(&wire_customer(&raw), raw.clone()).unwrap();
    assert_eq!(c.key.as_str(), "cust-1");
    assert_eq!(c.currency, Some(Currency::EUR));
    assert_eq!(c.metadata.len(), 1);
    assert_eq!(c.metadata["tier"], "gold");
    assert_eq!(c.status, CustomerStatus::Active);
    let mut disabled = raw.clone();
    disabled["status"] = json!("disabled");
    disabled["metadata"] = json!([]);
    let c = customer(&wire_customer(&disabled), disabled.clone()).unwrap();
    assert_eq!(c.status, CustomerStatus::Closed);
    assert!(c.metadata.is_empty() && c.currency.is_none());
    let mut keyless = raw;
    keyless["reference"] = Value::Null;
    keyless["metadata"] = json!({"billing.key": "from-meta"});
    assert_eq!(
        customer_key_of(&wire_customer(&keyless)).unwrap().as_str(),
        "from-meta"
    );
    keyless["metadata"] = json!({});
    assert!(customer(&wire_customer(&keyless), keyless.clone()).is_err());
}

#[test]
fn reserved_metadata_is_refused_and_written() {
    let mut m = Metadata::new();
    m.insert("tier".into(), "gold".into());
    assert!(check_user_metadata(&m).is_ok());
    let written = customer_metadata(&ck("k"), Some(Currency::USD), &m);
    assert_eq!(written[META_KEY], "k");
    assert_eq!(written[META_CURRENCY], "USD");
    m.insert("billing.key".into(), "x".into());
    assert!(check_user_metadata(&m).is_err());
    assert_eq!(
        metadata_strings(&json!({"n": 1, "o": {"a": true}, "s": "t"})),
        BTreeMap::from([
            ("n".to_owned(), "1".to_owned()),
            ("o".to_owned(), "{\"a\":true}".to_owned()),
            ("s".to_owned(), "t".to_owned())
        ])
    );
}

#[test]
fn update_body_keeps_every_field_the_patch_does_not_name() {
    let current = customer_json();
    let body = update_body(
        &current,
        &ck("cust-1"),
        &CustomerPatch::new().email("new@example.com"),
    )
    .unwrap();
    for kept in [
        "name",
        "address",
        "brand",
        "locale",
        "billing_type",
        "tax_number",
        "standard_tax_rate",
        "invoice_format",
        "marketing_opt_in",
    ] {
        if kept == "address" {
            assert_eq!(body[kept]["city"], current[kept]["city"]);
            assert_eq!(
                body[kept]["country"],
                Value::Null,
                "\"\" goes back as unset"
            );
        } else {
            assert_eq!(body[kept], current[kept], "{kept}");
        }
    }
    assert_eq!(body["email"], "new@example.com");
    assert_eq!(
        body["reference"], "cust-1",
        "the reference is always resent"
    );
    assert_eq!(body["metadata"], current["metadata"]);
    for dropped in ["id", "status", "external_reference"] {
        assert!(!body.contains_key(dropped), "{dropped}");
    }

    let mut replaced = Metadata::new();
    replaced.insert("tier".into(), "platinum".into());
    let body = update_body(
        &current,
        &ck("cust-1"),
        &CustomerPatch::new()
            .metadata(replaced)
            .currency(Currency::USD),
    )
    .unwrap();
    assert_eq!(
        Value::Object(body["metadata"].as_object().unwrap().clone()),
        json!({"tier": "platinum", "billing.key": "cust-1", "billing.currency": "USD"})
    );
    assert_eq!(body["email"], current["email"]);
    assert!(update_body(&json!([]), &ck("k"), &CustomerPatch::new()).is_err());
}

fn subscription_json(status: &str, ended: Option<&str>) -> Value {
    json!({
        "id": "0b9d1f6c-1111-4222-8333-444455556666",
        "schedule": "month",
        "created_at": "2025-01-31T12:30:00+00:00",
        "updated_at": "2025-01-31T12:30:00+00:00",
        "ended_at": ended,
        "valid_until": "2025-03-03T12:30:00+00:00",
        "plan": {"id": "p", "name": "Starter", "code_name": "starter-monthly", "prices": []},
        "price": {"id": "pr", "amount": 1, "currency": "USD", "schedule": "month", "usage": true,
                  "metric": {"id": "m", "name": "API calls", "code": "api_calls"}},
        "seat_number": 1,
        "metadata": {"billing.key": "sub-1", "billing.customer": "cust-1"},
        "status": status
    })
}

#[test]
fn subscriptions_and_statuses() {
    let now = at(2025, 2, 10);
    let raw = subscription_json("active", None);
    let w: wire::Subscription = serde_json::from_value(raw.clone()).unwrap();
    let (key, customer) = subscription_keys(&w.metadata);
    assert_eq!(key.unwrap().as_str(), "sub-1");
    let s = subscription(&w, raw, customer.unwrap(), now).unwrap();
    assert_eq!(s.status, SubscriptionStatus::Active);
    assert_eq!(s.plan.as_str(), "starter-monthly");
    assert_eq!(
        s.current_period,
        Some(Period {
            start: at(2025, 1, 31),
            end: at(2025, 3, 3)
        }),
        "PHP's Jan 31 + 1 month is Mar 3"
    );
    assert_eq!(metered_metric(&w).unwrap().name, "API calls");

    let raw = subscription_json("pending_cancel", Some("2025-03-03T12:30:00+00:00"));
    let w: wire::Subscription = serde_json::from_value(raw.clone()).unwrap();
    let s = subscription(&w, raw.clone(), ck("c"), now).unwrap();
    assert_eq!(s.status, SubscriptionStatus::CancelScheduled);
    assert_eq!(s.ends_at, Some(at(2025, 3, 3)));
    let later = subscription(&w, raw, ck("c"), at(2025, 3, 4)).unwrap();
    assert_eq!(
        later.status,
        SubscriptionStatus::Canceled,
        "its end has passed"
    );
    assert!(later.current_period.is_none());

    assert_eq!(status("cancelled", None, now), SubscriptionStatus::Canceled);
    assert_eq!(
        status("trial_active", None, now),
        SubscriptionStatus::Trialing
    );
    assert_eq!(
        status("overdue_payment_open", None, now),
        SubscriptionStatus::PastDue
    );
    assert_eq!(status("blocked", None, now), SubscriptionStatus::Paused);
    assert_eq!(status("weird", None, now), SubscriptionStatus::Other);

    let mut keyless = subscription_json("active", None);
    keyless["metadata"] = json!([]);
    let w: wire::Subscription = serde_json::from_value(keyless.clone()).unwrap();
    assert!(subscription(&w, keyless, ck("c"), now).is_err());
}

#[test]
fn periods_follow_php_date_arithmetic() {
    assert_eq!(next_renewal(at(2025, 1, 31), "month"), Some(at(2025, 3, 3)));
    assert_eq!(next_renewal(at(2024, 1, 31), "month"), Some(at(2024, 3, 2)));
    assert_eq!(
        next_renewal(at(2025, 12, 15), "month"),
        Some(at(2026, 1, 15))
    );
    assert_eq!(next_renewal(at(2024, 2, 29), "year"), Some(at(2025, 3, 1)));
    assert_eq!(next_renewal(at(2025, 2, 25), "week"), Some(at(2025, 3, 4)));
    assert_eq!(next_renewal(at(2025, 2, 25), "one-off"), None);
    // Renewed twice: the third period.
    let p = current_period(at(2025, 1, 15), at(2025, 4, 15), "month").unwrap();
    assert_eq!((p.start, p.end), (at(2025, 3, 15), at(2025, 4, 15)));
    // Restarted by a plan change: one schedule back, not before the creation.
    let p = current_period(at(2025, 1, 15), at(2025, 6, 20), "month").unwrap();
    assert_eq!(p.start, at(2025, 5, 20));
    let p = current_period(at(2025, 1, 15), at(2025, 1, 20), "month").unwrap();
    assert_eq!(p.start, at(2025, 1, 15));
    assert!(current_period(at(2025, 1, 15), at(2025, 1, 15), "month").is_none());
}

fn plan(prices: Value) -> wire::Plan {
    serde_json::from_value(json!({"id": "p", "name": "P", "code_name": "pro", "prices": prices}))
        .unwrap()
}

fn price(id: &str, currency: &str, schedule: &str, metric: Option<&str>) -> Value {
    json!({"id": id, "amount": 1, "currency": currency, "schedule": schedule,
           "usage": metric.is_some(),
           "metric": metric.map(|m| json!({"id": m, "name": m, "code": m}))})
}

#[test]
fn prices_are_chosen_like_the_server_does() {
    let p = plan(json!([
        price("a", "USD", "month", Some("api_calls")),
        price("b", "USD", "month", Some("storage_gb")),
        price("c", "USD", "month", None),
    ]));
    assert_eq!(choose_price(&p, None, None).unwrap().id, "a");
    assert_eq!(
        choose_price(&p, Some("usd"), Some("month")).unwrap().id,
        "a"
    );
    assert!(choose_price(&p, Some("EUR"), None).is_err());
    assert!(choose_price(&p, None, Some("year")).is_err());
    let multi = plan(json!([
        price("a", "USD", "month", None),
        price("b", "EUR", "year", None),
    ]));
    assert!(
        choose_price(&multi, None, Some("month")).is_err(),
        "ambiguous currency"
    );
    assert_eq!(
        choose_price(&multi, Some("EUR"), Some("year")).unwrap().id,
        "b"
    );
    assert!(choose_price(&plan(json!([])), None, None).is_err());

    let current: wire::Price =
        serde_json::from_value(price("x", "USD", "month", Some("storage_gb"))).unwrap();
    assert_eq!(replacement_price(&p, Some(&current)).unwrap().id, "b");
    let fixed: wire::Price = serde_json::from_value(price("y", "USD", "month", None)).unwrap();
    assert_eq!(replacement_price(&p, Some(&fixed)).unwrap().id, "c");
    let eur: wire::Price = serde_json::from_value(price("z", "EUR", "month", None)).unwrap();
    assert!(replacement_price(&p, Some(&eur)).is_none());
}

#[test]
fn event_values_are_exact_or_refused() {
    assert_eq!(event_value(d("5")).unwrap().to_string(), "5");
    assert_eq!(event_value(d("5.000")).unwrap().to_string(), "5");
    assert_eq!(event_value(d("-0")).unwrap().to_string(), "0");
    assert_eq!(event_value(d("2.5")).unwrap().as_f64(), Some(2.5));
    assert_eq!(event_value(d("0.1")).unwrap().as_f64(), Some(0.1));
    assert_eq!(
        event_value(d("0.0000000000001")).unwrap().as_f64(),
        Some(1e-13)
    );
    assert!(event_value(d("123456789012345")).is_ok());
    assert!(event_value(d("1234567890123456")).is_err());
    assert!(event_value(d("0.1234567890123456")).is_err());
    assert!(event_value(d("79228162514264337593543950335")).is_err());
    assert!(event_value(d("0.0000000000000000000000000001")).is_ok());
}

#[test]
fn usage_floats_read_back_as_exact_decimals() {
    assert_eq!(usage_quantity(0.1 + 0.2).unwrap(), d("0.3"));
    assert_eq!(usage_quantity(250.0).unwrap(), d("250"));
    assert_eq!(usage_quantity(3.5).unwrap(), d("3.5"));
    assert_eq!(usage_quantity(0.0).unwrap(), Decimal::ZERO);
    assert_eq!(usage_quantity(1e-13 + 5.0).unwrap(), d("5.0000000000001"));
    let mut sum = 0.0;
    for _ in 0..1000 {
        sum += 0.001;
    }
    assert_eq!(usage_quantity(sum).unwrap(), d("1"));
    assert!(usage_quantity(f64::NAN).is_err());
    assert!(usage_quantity(f64::INFINITY).is_err());
    assert!(usage_quantity(1e300).is_err());
    assert_eq!(usage_quantity(1e-300).unwrap(), Decimal::ZERO);
}

#[test]
fn uuids() {
    assert!(is_uuid("6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00"));
    assert!(!is_uuid("6f1c1e2a1b2c4d3e8f4a5b6c7d8e9f00"));
    assert!(!is_uuid("../../x"));
    assert!(!is_uuid(""));
}
