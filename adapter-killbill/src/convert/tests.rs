//! Unit tests of the wire <-> domain conversions, on bodies recorded from a real server.

use super::*;
use billing_core::ErrorKind;

fn account(json: serde_json::Value) -> wire::Account {
    serde_json::from_value(json).unwrap()
}

fn subscription_json(json: serde_json::Value) -> wire::Subscription {
    serde_json::from_value(json).unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    parse_datetime(s).unwrap()
}

#[test]
fn dates_use_kill_bills_formats() {
    let at = t("2026-11-21T21:28:41.123Z");
    assert_eq!(fmt_datetime(at), "2026-11-21T21:28:41.123Z");
    assert_eq!(
        fmt_datetime(t("2026-11-21T21:28:41Z")),
        "2026-11-21T21:28:41.000Z"
    );
    // Milliseconds truncated, as the strftime form `%Y-%m-%dT%H:%M:%S%.3fZ` writes them.
    for s in [
        "2026-11-21T21:28:41.123999999Z",
        "0001-01-01T00:00:00.000000001Z",
        "0999-12-31T23:59:59.999999999Z",
        "9999-12-31T23:59:59.5Z",
    ] {
        let at = t(s);
        assert_eq!(
            fmt_datetime(at),
            at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "{s}"
        );
    }
    assert_eq!(t("2026-11-21T23:28:41+02:00"), t("2026-11-21T21:28:41Z"));
    assert_eq!(t("2026-12-21"), t("2026-12-21T00:00:00Z"));
    assert_eq!(fmt_date(parse_date("2026-12-21").unwrap()), "2026-12-21");
    assert!(parse_datetime("soon").is_none() && parse_date("2026-13-01").is_none());
    assert_eq!(time_of_day(at).to_string(), "21:28:41");
}

#[test]
fn accounts_become_customers() {
    // As observed on a real server right after creation.
    let a = account(serde_json::json!({
        "accountId": "d73a5112-7f09-4be8-a8d8-3bf8d3b2cb7f", "name": "Smoke One",
        "externalKey": "cust-1", "email": "one@example.com", "billCycleDayLocal": 0,
        "currency": "USD", "referenceTime": "2026-11-21T21:28:36.000Z", "timeZone": "UTC",
        "accountBalance": null, "auditLogs": []
    }));
    let c = customer(&a, false, None).unwrap();
    assert_eq!(c.key.as_str(), "cust-1");
    assert_eq!(c.vendor_id, "d73a5112-7f09-4be8-a8d8-3bf8d3b2cb7f");
    assert_eq!(c.currency, Some(Currency::USD));
    assert_eq!(c.status, CustomerStatus::Active);
    assert_eq!(c.created_at, Some(t("2026-11-21T21:28:36Z")));
    assert!(c.metadata.is_empty());
    assert_eq!(
        customer(&a, true, None).unwrap().status,
        CustomerStatus::Closed
    );
    let btc = account(serde_json::json!({"accountId": "x", "externalKey": "k", "currency": "BTC"}));
    assert_eq!(customer(&btc, false, None).unwrap().currency, None);
    for bad in [
        serde_json::json!({"externalKey": "k"}),
        serde_json::json!({"accountId": "x"}),
        serde_json::json!({"accountId": "x", "externalKey": " padded"}),
    ] {
        let e = customer(&account(bad), false, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
    }
}

#[test]
fn new_customers_and_updates() {
    let new = NewCustomer::new(CustomerKey::new("k").unwrap())
        .name("Ada")
        .currency(Currency::USD);
    let body = serde_json::to_value(account_for_create(&new)).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"externalKey": "k", "name": "Ada", "currency": "USD"}),
        "absent fields are left out"
    );
    let current = account(serde_json::json!({"name": "Ada", "email": "a@x.io", "currency": "USD"}));
    assert!(
        account_update(&current, &CustomerPatch::new())
            .unwrap()
            .is_none()
    );
    let same = CustomerPatch::new().name("Ada").currency(Currency::USD);
    assert!(
        account_update(&current, &same).unwrap().is_none(),
        "no change, no PUT"
    );
    let patch = CustomerPatch::new().email("b@x.io");
    let update = account_update(&current, &patch).unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&update).unwrap(),
        serde_json::json!({"email": "b@x.io"}),
        "partial: only the changed field"
    );
    let mut applied = current.clone();
    apply_update(&mut applied, &update);
    assert_eq!(applied.email.as_deref(), Some("b@x.io"));
    assert_eq!(applied.name.as_deref(), Some("Ada"));
    let e = account_update(&current, &CustomerPatch::new().currency(Currency::EUR)).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidInput,
        "a set currency is immutable"
    );
    let unset = account(serde_json::json!({"name": "Ada"}));
    let first = account_update(&unset, &CustomerPatch::new().currency(Currency::EUR)).unwrap();
    assert_eq!(
        first.unwrap().currency.as_deref(),
        Some("EUR"),
        "it can be set once"
    );
}

#[test]
fn column_limits() {
    assert!(check_account_fields(Some(&"n".repeat(100)), Some("a@b.co")).is_ok());
    let e = check_account_fields(Some(&"n".repeat(101)), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let long_email = format!("{}@example.com", "a".repeat(120));
    assert!(check_account_fields(None, Some(&long_email)).is_err());
}

#[test]
fn closed_is_the_latest_account_service_state() {
    let state = |name: &str, at: &str, kind: &str, service: &str| wire::BlockingState {
        blocked_id: Some("acc".into()),
        state_name: Some(name.into()),
        service: Some(service.into()),
        effective_date: Some(at.into()),
        kind: Some(kind.into()),
    };
    // As observed after a close: the subscriptions' states are listed too.
    let closed = vec![
        state(
            "ENT_STARTED",
            "2026-11-21T21:29:31.000Z",
            "SUBSCRIPTION",
            "entitlement-service",
        ),
        state(
            "ENT_CANCELLED",
            "2026-11-21T21:29:31.000Z",
            "SUBSCRIPTION",
            "entitlement-service",
        ),
        state(
            "CLOSE_ACCOUNT",
            "2026-11-21T21:29:35.000Z",
            "ACCOUNT",
            "account-service",
        ),
    ];
    assert!(is_closed(&closed, "acc"));
    assert!(is_closed(&closed, "ACC"), "ids compare case-insensitively");
    assert!(!is_closed(&closed, "other"));
    assert!(!is_closed(&closed[..2], "acc"));
    let mut reopened = closed.clone();
    reopened.push(state(
        "OPEN",
        "2026-11-22T00:00:00.000Z",
        "ACCOUNT",
        "account-service",
    ));
    assert!(!is_closed(&reopened, "acc"));
    let mut overdue = closed;
    overdue.push(state(
        "OD1",
        "2026-11-23T00:00:00.000Z",
        "ACCOUNT",
        "overdue-service",
    ));
    assert!(is_closed(&overdue, "acc"), "other services do not reopen");
    assert!(!is_closed(&[], "acc"));
}

#[test]
fn ids_come_from_the_location_header() {
    let url = |s: &str| Url::parse(s).unwrap();
    let id = "D73A5112-7F09-4BE8-A8D8-3BF8D3B2CB7F";
    assert_eq!(
        id_from_location(
            &url(&format!("http://127.0.0.1:8080/1.0/kb/accounts/{id}")),
            "accounts"
        )
        .unwrap(),
        id.to_ascii_lowercase()
    );
    for bad in [
        "http://h/1.0/kb/accounts/not-a-uuid",
        "http://h/1.0/kb/subscriptions/d73a5112-7f09-4be8-a8d8-3bf8d3b2cb7f",
        "http://h/",
    ] {
        assert_eq!(
            id_from_location(&url(bad), "accounts").unwrap_err().kind(),
            ErrorKind::Decode
        );
    }
}

/// The cancel-scheduled subscription observed on a real server (trimmed).
fn scheduled() -> wire::Subscription {
    subscription_json(serde_json::json!({
        "accountId": "a5f045d1-8747-43b5-88a2-a6b359fc470a",
        "subscriptionId": "35578924-25ee-45ef-95b7-02e999692819", "externalKey": "sub-4",
        "startDate": "2026-11-21T21:30:19.000Z", "billingPeriod": "MONTHLY",
        "planName": "starter-monthly", "state": "ACTIVE",
        "cancelledDate": "2026-12-21T21:30:18.000Z", "chargedThroughDate": "2026-12-21",
        "billingStartDate": "2026-11-21T21:30:19.000Z",
        "billingEndDate": "2026-12-21T21:30:18.000Z", "billCycleDayLocal": 21, "quantity": 1,
        "events": [
            {"eventType": "START_ENTITLEMENT", "effectiveDate": "2026-11-21T21:30:19.000Z", "plan": "starter-monthly"},
            {"eventType": "STOP_ENTITLEMENT", "effectiveDate": "2026-12-21T21:30:18.000Z", "plan": "starter-monthly"}
        ],
        "prices": [], "auditLogs": []
    }))
}

#[test]
fn states_are_normalised() {
    let now = t("2026-11-22T00:00:00Z");
    let customer_key = CustomerKey::new("cust").unwrap();
    let s = subscription(&scheduled(), customer_key.clone(), None, now, None).unwrap();
    assert_eq!(s.status, SubscriptionStatus::CancelScheduled);
    assert_eq!(s.raw_status, "ACTIVE");
    assert_eq!(s.ends_at, Some(t("2026-12-21T21:30:18Z")));
    assert_eq!(s.plan.as_str(), "starter-monthly");
    assert_eq!(s.vendor_id, "35578924-25ee-45ef-95b7-02e999692819");
    assert_eq!(s.started_at, Some(t("2026-11-21T21:30:19Z")));
    assert_eq!(s.current_period.unwrap().end, t("2026-12-21T21:30:19Z"));
    let with = |state: &str, cancelled: Option<&str>| {
        let mut j = scheduled();
        j.state = Some(state.into());
        j.cancelled_date = cancelled.map(str::to_owned);
        subscription(&j, customer_key.clone(), None, now, None).unwrap()
    };
    assert_eq!(with("ACTIVE", None).status, SubscriptionStatus::Active);
    assert!(with("ACTIVE", None).ends_at.is_none());
    assert_eq!(with("PENDING", None).status, SubscriptionStatus::Pending);
    assert_eq!(with("BLOCKED", None).status, SubscriptionStatus::Paused);
    let canceled = with("CANCELLED", Some("2026-11-21T21:30:19.000Z"));
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);
    assert_eq!(canceled.ends_at, Some(t("2026-11-21T21:30:19Z")));
    assert!(
        canceled.current_period.is_none(),
        "no current period once ended"
    );
    assert_eq!(with("EXPIRED", None).status, SubscriptionStatus::Canceled);
    assert_eq!(
        with("SOMETHING_NEW", None).status,
        SubscriptionStatus::Other
    );
    let mut broken = scheduled();
    broken.plan_name = None;
    assert_eq!(
        subscription(&broken, customer_key, None, now, None)
            .unwrap_err()
            .kind(),
        ErrorKind::Decode
    );
}

#[test]
fn a_pending_change_comes_from_a_future_change_event() {
    let now = t("2026-11-22T00:00:00Z");
    let mut j = scheduled();
    j.cancelled_date = None;
    let change = |at: &str, plan: &str| wire::SubscriptionEvent {
        event_type: Some("CHANGE".into()),
        effective_date: Some(at.into()),
        plan: Some(plan.into()),
    };
    assert!(scheduled_change(&j, now).is_none());
    // An immediate change already applied (the server's clock may be ahead of ours).
    j.events
        .push(change("2026-11-22T00:00:05.000Z", "starter-monthly"));
    assert!(scheduled_change(&j, now).is_none());
    j.events
        .push(change("2026-12-21T21:30:18.000Z", "pro-monthly"));
    let c = scheduled_change(&j, now).unwrap();
    assert_eq!(c.plan.as_str(), "pro-monthly");
    assert_eq!(c.at, Some(t("2026-12-21T21:30:18Z")));
    j.events
        .push(change("2026-11-10T00:00:00.000Z", "free-usage"));
    assert_eq!(
        scheduled_change(&j, now).unwrap().plan.as_str(),
        "pro-monthly",
        "past ones are history"
    );
}

#[test]
fn amounts_fit_decimal_18_9_exactly() {
    let ok = |s: &str| amount(s.parse().unwrap()).map(|r| r.get().to_owned());
    assert_eq!(ok("2.5").unwrap(), "2.5");
    assert_eq!(ok("0.100").unwrap(), "0.1");
    assert_eq!(ok("0").unwrap(), "0");
    assert_eq!(ok("-0").unwrap(), "0");
    assert_eq!(ok("999999999.999999999").unwrap(), "999999999.999999999");
    assert_eq!(ok("0.000000001").unwrap(), "0.000000001");
    for bad in [
        "0.0000000001",
        "1000000000",
        "0.0000000000001",
        "123456789012.5",
    ] {
        assert_eq!(
            ok(bad).unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{bad}"
        );
    }
}

#[test]
fn usage_bodies_carry_one_event_under_its_id() {
    let event = UsageEvent::new(
        billing_core::EventId::new("evt-1").unwrap(),
        SubscriptionKey::new("s").unwrap(),
        MetricCode::new("api_calls").unwrap(),
        "12.50".parse().unwrap(),
    )
    .at(t("2026-11-21T21:28:50.123Z"));
    let amount = amount(event.quantity).unwrap();
    let body = serde_json::to_string(&usage_body(
        "5f7fa154-4266-4b15-a077-dd422d3c1ebe",
        &event,
        &amount,
    ))
    .unwrap();
    assert_eq!(
        body,
        r#"{"subscriptionId":"5f7fa154-4266-4b15-a077-dd422d3c1ebe","trackingId":"evt-1","unitUsageRecords":[{"unitType":"api_calls","usageRecords":[{"recordDate":"2026-11-21T21:28:50.123Z","amount":12.5}]}]}"#
    );
}

#[test]
fn rolled_up_usage_becomes_exact_lines() {
    // As observed: sums with the column's 9 decimals, units in no particular order.
    let usage: wire::RolledUpUsage = serde_json::from_str(
        r#"{"subscriptionId":"x","startDate":"2026-11-21T00:00:00.000Z","endDate":"2026-11-22T00:00:00.000Z","rolledUpUnits":[{"unitType":"storage_gb","amount":0.125000000},{"unitType":"bananas","amount":0E-9},{"unitType":"api_calls","amount":6.500000000},{"unitType":"bad unit ","amount":1}]}"#,
    )
    .unwrap();
    let lines = usage_lines(&usage, None).unwrap();
    let names: Vec<(&str, String)> = lines
        .iter()
        .map(|l| (l.metric.as_str(), l.quantity.to_string()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("api_calls", "6.5".to_owned()),
            ("storage_gb", "0.125".to_owned())
        ],
        "zero totals and invalid names left out"
    );
    let api = MetricCode::new("api_calls").unwrap();
    let one = usage_lines(&usage, Some(&api)).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].quantity, "6.5".parse::<Decimal>().unwrap());
    let empty: wire::RolledUpUsage = serde_json::from_str(r#"{"rolledUpUnits":[]}"#).unwrap();
    let zero = usage_lines(&empty, Some(&api)).unwrap();
    assert_eq!((zero.len(), zero[0].quantity), (1, Decimal::ZERO));
    assert!(usage_lines(&empty, None).unwrap().is_empty());
    let broken: wire::RolledUpUsage =
        serde_json::from_str(r#"{"rolledUpUnits":[{"unitType":"x","amount":"many"}]}"#).unwrap();
    assert_eq!(
        usage_lines(&broken, None).unwrap_err().kind(),
        ErrorKind::Decode
    );
    // 0.1 + 0.2 summed by the server stays exact through the JSON number.
    let exact: wire::RolledUpUsage = serde_json::from_str(
        r#"{"rolledUpUnits":[{"unitType":"api_calls","amount":0.300000000}]}"#,
    )
    .unwrap();
    assert_eq!(
        usage_lines(&exact, Some(&api)).unwrap()[0].quantity,
        "0.3".parse::<Decimal>().unwrap()
    );
}

#[test]
fn catalog_units_and_plans() {
    let catalogs: Vec<wire::Catalog> = serde_json::from_value(serde_json::json!([
        {"name": "C", "units": [{"name": "api_calls", "prettyName": "api_calls"}],
         "products": [{"name": "Starter", "plans": [{"name": "starter-monthly", "phases": []}]}]},
        {"units": [{"name": "storage_gb"}, {}], "products": [{"plans": [{"name": "pro-monthly"}]}]}
    ]))
    .unwrap();
    let (units, plans) = catalog_names(&catalogs);
    assert_eq!(
        units.into_iter().collect::<Vec<_>>(),
        ["api_calls", "storage_gb"]
    );
    assert_eq!(
        plans.into_iter().collect::<Vec<_>>(),
        ["pro-monthly", "starter-monthly"]
    );
}
