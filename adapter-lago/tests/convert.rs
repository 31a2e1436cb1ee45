//! Unit tests of the pure wire <-> domain conversions (`adapter_lago::convert`): no HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use adapter_lago::convert::*;
use adapter_lago::wire;
use billing_core::EventId;
use billing_core::rust_decimal::Decimal;
use billing_core::{
    Currency, CustomerKey, CustomerPatch, ErrorKind, Metadata, MetricCode, Money, NewCustomer,
    SubscriptionKey, SubscriptionStatus, UsageEvent,
};
use chrono::DateTime;
use serde_json::{Value, json};

fn raw_customer() -> Value {
    json!({
        "lago_id": "1a901a90-1a90-1a90-1a90-1a901a901a90",
        "external_id": "acme",
        "name": "Acme",
        "email": "billing@acme.test",
        "currency": "EUR",
        "created_at": "2022-04-29T08:59:51Z",
        "metadata": [
            {"lago_id": "m1", "key": "tier", "value": "gold", "display_in_invoice": false,
             "created_at": "2022-04-29T08:59:51Z"},
            {"lago_id": "m2", "key": "region", "value": "eu", "display_in_invoice": true,
             "created_at": "2022-04-29T08:59:51Z"}
        ],
        "sequential_id": 1,
        "billing_configuration": {"payment_provider": null}
    })
}

#[test]
fn customer_from_wire() {
    let c = customer(raw_customer()).unwrap();
    assert_eq!(c.key.as_str(), "acme");
    assert_eq!(c.vendor_id, "1a901a90-1a90-1a90-1a90-1a901a901a90");
    assert_eq!(c.name.as_deref(), Some("Acme"));
    assert_eq!(c.currency, Some(Currency::EUR));
    assert_eq!(c.metadata.get("tier").map(String::as_str), Some("gold"));
    assert_eq!(
        c.created_at.unwrap().to_rfc3339(),
        "2022-04-29T08:59:51+00:00"
    );
    assert_eq!(
        customer_position(c.raw.as_ref().unwrap()),
        (Some(1_651_222_791), c.vendor_id.clone())
    );
    // Tolerant: nulls, missing metadata, unknown currency.
    let bare = json!({"lago_id": "x", "external_id": "k", "name": null, "currency": "???"});
    let c = customer(bare).unwrap();
    assert!(c.name.is_none() && c.currency.is_none() && c.metadata.is_empty());
    assert!(customer(json!({"external_id": "k"})).is_err());
    assert!(customer(json!({"lago_id": "x", "external_id": ""})).is_err());
}

#[test]
fn create_body_has_only_what_is_set() {
    let new = NewCustomer::new(CustomerKey::new("k").unwrap())
        .name("N")
        .metadata("a", "1");
    let body = serde_json::to_value(wire::CustomerBody {
        customer: create_input(&new),
    })
    .unwrap();
    assert_eq!(
        body,
        json!({"customer": {"external_id": "k", "name": "N",
            "metadata": [{"key": "a", "value": "1", "display_in_invoice": false}]}})
    );
}

#[test]
fn patch_sends_only_changes_and_keeps_metadata_ids() {
    let current = customer(raw_customer()).unwrap();
    assert!(patch_input(&current, &CustomerPatch::new()).is_none());
    assert!(
        patch_input(&current, &CustomerPatch::new().name("Acme")).is_none(),
        "no change"
    );
    let p = patch_input(
        &current,
        &CustomerPatch::new().name("New").currency(Currency::EUR),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        json!({"external_id": "acme", "name": "New"})
    );
    let mut md = Metadata::new();
    md.insert("tier".into(), "platinum".into());
    md.insert("seats".into(), "10".into());
    let p = patch_input(&current, &CustomerPatch::new().metadata(md)).unwrap();
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        json!({"external_id": "acme", "metadata": [
            {"key": "seats", "value": "10", "display_in_invoice": false},
            {"id": "m1", "key": "tier", "value": "platinum", "display_in_invoice": false}
        ]})
    );
    assert_eq!(metadata_ids(&current).len(), 2);
}

fn row(v: Value) -> wire::Subscription {
    subscription_row(&v).unwrap()
}

fn sub_json(status: &str) -> Value {
    json!({
        "lago_id": "s1", "external_id": "sub", "external_customer_id": "acme",
        "plan_code": "starter", "status": status,
        "subscription_at": "2024-01-10T00:00:00Z", "started_at": "2024-01-10T00:00:00.000Z",
        "ending_at": null, "terminated_at": null, "canceled_at": null,
        "previous_plan_code": null, "next_plan_code": null, "downgrade_plan_date": null,
        "current_billing_period_started_at": "2024-01-10T00:00:00Z",
        "current_billing_period_ending_at": "2024-01-31T23:59:59Z"
    })
}

#[test]
fn statuses_are_normalised() {
    let s = subscription(sub_json("active")).unwrap();
    assert_eq!(s.status, SubscriptionStatus::Active);
    assert_eq!(s.raw_status, "active");
    let p = s.current_period.unwrap();
    assert_eq!(format_time(p.end), "2024-02-01T00:00:00Z", "exclusive end");
    assert!(s.ends_at.is_none() && s.scheduled_change.is_none());

    let mut v = sub_json("active");
    v["ending_at"] = json!("2024-01-31T23:59:59Z");
    let s = subscription(v).unwrap();
    assert_eq!(s.status, SubscriptionStatus::CancelScheduled);
    assert_eq!(
        s.ends_at,
        Some(p.end),
        "an end at the period's last second is the period end"
    );

    let mut v = sub_json("terminated");
    v["terminated_at"] = json!("2024-01-20T10:00:00Z");
    let s = subscription(v).unwrap();
    assert_eq!(s.status, SubscriptionStatus::Canceled);
    assert_eq!(format_time(s.ends_at.unwrap()), "2024-01-20T10:00:00Z");
    assert!(s.current_period.is_none());

    let mut v = sub_json("canceled");
    v["canceled_at"] = json!("2024-01-05T10:00:00Z");
    assert_eq!(
        subscription(v).unwrap().status,
        SubscriptionStatus::Canceled
    );
    assert_eq!(
        subscription(sub_json("pending")).unwrap().status,
        SubscriptionStatus::Pending
    );
    assert_eq!(
        subscription(sub_json("incomplete")).unwrap().status,
        SubscriptionStatus::Other
    );

    let mut v = sub_json("active");
    v["next_plan_code"] = json!("cheap");
    v["downgrade_plan_date"] = json!("2024-02-01");
    let s = subscription(v).unwrap();
    let change = s.scheduled_change.unwrap();
    assert_eq!(change.plan.as_str(), "cheap");
    assert_eq!(format_time(change.at.unwrap()), "2024-02-01T00:00:00Z");
    assert!(subscription(json!({"external_id": "x"})).is_err());
}

#[test]
fn one_row_stands_for_each_key() {
    let mut upgraded_from = sub_json("terminated");
    upgraded_from["next_plan_code"] = json!("pro");
    upgraded_from["terminated_at"] = json!("2024-01-15T00:00:00Z");
    let mut current = sub_json("active");
    current["plan_code"] = json!("pro");
    current["previous_plan_code"] = json!("starter");
    let mut downgrade = sub_json("pending");
    downgrade["previous_plan_code"] = json!("pro");
    let rows = [row(upgraded_from), row(downgrade), row(current)];
    assert!(!is_representative(&rows[0]));
    assert!(!is_representative(&rows[1]));
    assert!(is_representative(&rows[2]));
    assert_eq!(current_row(&rows), Some(2));

    let mut old = sub_json("terminated");
    old["terminated_at"] = json!("2024-01-02T00:00:00Z");
    let mut newer = sub_json("terminated");
    newer["terminated_at"] = json!("2024-01-03T00:00:00Z");
    assert_eq!(current_row(&[row(old), row(newer)]), Some(1));
    assert_eq!(current_row(&[row(sub_json("pending"))]), Some(0));
    assert_eq!(current_row(&[]), None);
}

fn event(q: &str) -> UsageEvent {
    UsageEvent::new(
        EventId::new("e1").unwrap(),
        SubscriptionKey::new("sub").unwrap(),
        MetricCode::new("api_calls").unwrap(),
        q.parse().unwrap(),
    )
    .at(DateTime::from_timestamp_millis(1_700_000_000_123).unwrap())
}

#[test]
fn event_bodies() {
    let sum = Metering::Value {
        field: "quantity".into(),
    };
    let e = event("2.50").property("region", "eu");
    let w = event_input(&e, &sum).unwrap();
    assert_eq!(
        serde_json::to_value(&w).unwrap(),
        json!({"transaction_id": "e1", "external_subscription_id": "sub", "code": "api_calls",
               "timestamp": "1700000000.123",
               "properties": {"region": "eu", "quantity": "2.5"}})
    );
    assert_eq!(
        event_input(&event("0.0000000000001"), &sum)
            .unwrap()
            .properties["quantity"],
        "0.0000000000001"
    );
    assert_eq!(
        event_input(&event("-0"), &sum).unwrap().properties["quantity"],
        "0"
    );
    let clash = event("1").property("quantity", "9");
    assert_eq!(
        event_input(&clash, &sum).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );

    assert!(
        event_input(&event("1"), &Metering::Count)
            .unwrap()
            .properties
            .is_empty()
    );
    assert_eq!(
        event_input(&event("2"), &Metering::Count)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let unique = Metering::UniqueCount {
        field: "user".into(),
    };
    assert!(event_input(&event("1"), &unique).is_err());
    assert!(event_input(&event("1").property("user", "u1"), &unique).is_ok());
    let custom = Metering::Unsupported {
        aggregation: "custom_agg".into(),
    };
    assert_eq!(
        event_input(&event("1"), &custom).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn metering_from_metrics() {
    let m = |agg: &str, field: Option<&str>| wire::BillableMetric {
        code: "m".into(),
        aggregation_type: Some(agg.into()),
        field_name: field.map(str::to_owned),
    };
    assert_eq!(metering(&m("count_agg", None)), Metering::Count);
    assert_eq!(
        metering(&m("sum_agg", Some("quantity"))),
        Metering::Value {
            field: "quantity".into()
        }
    );
    assert!(matches!(
        metering(&m("sum_agg", None)),
        Metering::Unsupported { .. }
    ));
    assert!(matches!(
        metering(&m("custom_agg", Some("x"))),
        Metering::Unsupported { .. }
    ));
    assert_eq!(
        metering(&m("unique_count_agg", Some("user"))),
        Metering::UniqueCount {
            field: "user".into()
        }
    );
}

#[test]
fn timestamps() {
    let t = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
    assert_eq!(event_timestamp(t), "1700000000.123");
    assert_eq!(
        event_timestamp(DateTime::from_timestamp_millis(1_700_000_000_000).unwrap()),
        "1700000000.000"
    );
    assert_eq!(
        event_timestamp(DateTime::from_timestamp_millis(-1500).unwrap()),
        "-1.500"
    );
    assert_eq!(
        parse_time("2022-04-29T08:59:51.998Z")
            .unwrap()
            .timestamp_subsec_millis(),
        998
    );
    assert_eq!(
        format_time(parse_time("2024-02-01").unwrap()),
        "2024-02-01T00:00:00Z"
    );
    assert!(parse_time("yesterday").is_none());
}

fn usage(charges: Value) -> wire::CustomerUsage {
    serde_json::from_value(json!({
        "from_datetime": "2024-01-10T00:00:00Z", "to_datetime": "2024-01-31T23:59:59Z",
        "issuing_date": "2024-02-01", "currency": "USD", "amount_cents": 5,
        "charges_usage": charges
    }))
    .unwrap()
}

fn charge(code: &str, units: Value, cents: i64) -> Value {
    json!({"units": units, "events_count": 1, "amount_cents": cents, "amount_currency": "USD",
           "charge": {"lago_id": "c", "code": null, "charge_model": "standard"},
           "billable_metric": {"lago_id": "b", "name": code, "code": code,
                               "aggregation_type": "sum_agg"},
           "filters": [], "grouped_usage": []})
}

#[test]
fn usage_lines() {
    let api = MetricCode::new("api_calls").unwrap();
    let storage = MetricCode::new("storage_gb").unwrap();
    let u = usage(json!([
        charge("api_calls", json!("12.5"), 13),
        charge("storage_gb", json!("0.0"), 0)
    ]));
    let all = usage_summary(&u, None).unwrap();
    assert_eq!(all.lines.len(), 1, "non-zero lines only");
    assert_eq!(all.quantity(&api), "12.5".parse().unwrap());
    assert_eq!(
        all.lines[0].amount,
        Some(Money::from_minor(13, Currency::USD))
    );
    assert_eq!(format_time(all.period.end), "2024-02-01T00:00:00Z");
    let one = usage_summary(&u, Some(&storage)).unwrap();
    assert_eq!(one.lines.len(), 1);
    assert!(one.lines[0].quantity.is_zero());
    let absent = MetricCode::new("logins").unwrap();
    let none = usage_summary(&u, Some(&absent)).unwrap();
    assert_eq!(
        (none.lines.len(), none.quantity(&absent)),
        (1, Decimal::ZERO)
    );

    let twice = usage(json!([
        charge("api_calls", json!(3), 3),
        charge("api_calls", json!("3.0"), 6)
    ]));
    let s = usage_summary(&twice, None).unwrap();
    assert_eq!(s.quantity(&api), Decimal::from(3));
    assert_eq!(s.lines[0].amount, Some(Money::from_minor(9, Currency::USD)));
    let split = usage(json!([
        charge("api_calls", json!("1"), 1),
        charge("api_calls", json!("2"), 2)
    ]));
    assert_eq!(
        usage_summary(&split, None).unwrap_err().kind(),
        ErrorKind::Unexpected
    );
    let bad = usage(json!([charge("api_calls", json!("lots"), 1)]));
    assert_eq!(
        usage_summary(&bad, None).unwrap_err().kind(),
        ErrorKind::Decode
    );
}
