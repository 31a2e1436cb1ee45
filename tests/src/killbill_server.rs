//! Checks run the same way against the Kill Bill simulator and a real Kill Bill server, through
//! the server's own HTTP API where the library has no call for it (invoices, the test-mode
//! clock, raw paths):
//! - a migrated subscription (a start in the past and a billing anchor) is billed from the
//!   anchor only: after moving the server's clock past the anchor and one period further, no
//!   invoice item covers a day before the anchor, the first recurring item starts at the anchor,
//!   and usage recorded before the anchor is on no invoice;
//! - the server passes any path to its resources (a unit name with non-ASCII characters in
//!   `/1.0/kb/usages/{id}/{unit}`) and answers with its CORS headers, as stock Kill Bill does.

use std::sync::Arc;

use billing::chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use billing::rust_decimal::Decimal;
use billing::{
    BillingBackend, BillingConfig, Currency, CustomerKey, EventId, MetricCode, NewCustomer,
    NewSubscription, PlanCode, SubscriptionKey, SubscriptionStatus, UsageEvent,
};
use futures::FutureExt;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

/// A Kill Bill server (simulated or real) and the credentials of its test tenant.
#[derive(Debug, Clone)]
pub struct KbServer {
    /// The server root.
    pub base_url: String,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// Tenant API key.
    pub api_key: String,
    /// Tenant API secret.
    pub api_secret: String,
}

impl KbServer {
    /// A running simulator.
    pub fn sim(sim: &billing_sim::killbill::KillBillSim) -> Self {
        use billing_sim::killbill::KillBillSim as S;
        Self {
            base_url: sim.base_url(),
            username: S::USERNAME.into(),
            password: S::PASSWORD.into(),
            api_key: S::API_KEY.into(),
            api_secret: S::API_SECRET.into(),
        }
    }

    /// The real server named by `BILLING_TEST_KILLBILL_URL` (+ `_USERNAME`, `_PASSWORD`,
    /// `_API_KEY`, `_API_SECRET`, defaulting to Kill Bill's conventional ones).
    pub fn real_from_env() -> Option<Self> {
        let setting = |name: &str, default: &str| {
            std::env::var(format!("BILLING_TEST_KILLBILL_{name}"))
                .unwrap_or_else(|_| default.to_owned())
        };
        let base_url = std::env::var("BILLING_TEST_KILLBILL_URL").ok()?;
        Some(Self {
            base_url,
            username: setting("USERNAME", "admin"),
            password: setting("PASSWORD", "password"),
            api_key: setting("API_KEY", "bob"),
            api_secret: setting("API_SECRET", "lazar"),
        })
    }

    /// A backend through the `billing` facade.
    pub fn backend(&self) -> Arc<dyn BillingBackend> {
        let toml = format!(
            "provider = \"killbill\"\n\n[http]\ntotal_budget_ms = 120000\n\n[killbill]\n\
             base_url = {:?}\nusername = {:?}\npassword = {:?}\napi_key = {:?}\n\
             api_secret = {:?}\ncreated_by = \"billing-conformance\"\n",
            self.base_url, self.username, self.password, self.api_key, self.api_secret
        );
        billing::connect(&BillingConfig::from_toml_str(&toml).expect("Kill Bill settings"))
            .expect("a Kill Bill backend")
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{}{path}", self.base_url))
            .basic_auth(&self.username, Some(&self.password))
            .header("X-Killbill-ApiKey", &self.api_key)
            .header("X-Killbill-ApiSecret", &self.api_secret)
            .header("X-Killbill-CreatedBy", "billing-conformance")
    }

    async fn json(&self, method: Method, path: &str) -> Value {
        let resp = self.request(method.clone(), path).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{method} {path}");
        resp.json().await.unwrap()
    }

    /// The server's clock (`GET /1.0/kb/test/clock`, test mode).
    pub async fn now(&self) -> DateTime<Utc> {
        clock_time(&self.json(Method::GET, "/1.0/kb/test/clock").await)
    }

    /// Moves the server's clock and waits for its queues (`PUT /1.0/kb/test/clock`).
    pub async fn move_clock(&self, query: &str) -> DateTime<Utc> {
        let path = format!("/1.0/kb/test/clock?{query}&timeoutSec=30");
        clock_time(&self.json(Method::PUT, &path).await)
    }

    /// Back to real time (`POST /1.0/kb/test/clock` without a date).
    pub async fn reset_clock(&self) {
        self.json(Method::POST, "/1.0/kb/test/clock?timeoutSec=30")
            .await;
    }

    async fn account_id(&self, key: &str) -> String {
        let account = self
            .json(Method::GET, &format!("/1.0/kb/accounts?externalKey={key}"))
            .await;
        account["accountId"].as_str().unwrap().to_owned()
    }
}

fn clock_time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v["currentUtcTime"].as_str().unwrap())
        .unwrap()
        .to_utc()
}

fn date(v: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

fn prefix() -> String {
    format!("kbs{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// A migrated subscription is billed from its anchor only (see the module docs). Moves the
/// server's clock, and puts it back to real time whatever happens.
pub async fn migrated_subscription_bills_from_its_anchor(server: &KbServer) {
    server.reset_clock().await;
    let outcome = std::panic::AssertUnwindSafe(bills_from_the_anchor(server))
        .catch_unwind()
        .await;
    server.reset_clock().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn bills_from_the_anchor(server: &KbServer) {
    let backend = server.backend();
    let p = prefix();
    let customer = CustomerKey::new(format!("{p}-c")).unwrap();
    backend
        .create_customer(
            &NewCustomer::new(customer.clone())
                .email(format!("{p}@example.com"))
                .currency(Currency::USD),
        )
        .await
        .unwrap();
    let now = server.now().await;
    let start = now - Duration::days(20);
    // A whole second, mid-day: the day is what Kill Bill bills by.
    let anchor = (now + Duration::days(5))
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    let key = SubscriptionKey::new(format!("{p}-s")).unwrap();
    let sub = backend
        .create_subscription(
            &NewSubscription::new(
                key.clone(),
                customer.clone(),
                PlanCode::new("starter-monthly").unwrap(),
            )
            .starts_at(start)
            .billing_anchor(anchor),
        )
        .await
        .unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Active, "{sub:?}");
    assert_eq!(sub.billing_anchor, Some(anchor));
    assert_eq!(
        sub.current_period.map(|p| p.end),
        Some(anchor),
        "the lead-in ends there"
    );
    assert_eq!(
        sub.raw.as_ref().map(|r| r["sourceType"].clone()),
        Some(Value::from("MIGRATED"))
    );

    let api_calls = MetricCode::new("api_calls").unwrap();
    let event = |id: &str, at: DateTime<Utc>, q: i64| {
        UsageEvent::new(
            EventId::new(format!("{p}-{id}")).unwrap(),
            key.clone(),
            api_calls.clone(),
            Decimal::from(q),
        )
        .at(at)
    };
    // Usage in the lead-in: the old vendor bills it, this one must not.
    for outcome in backend
        .record_usage(&[event("lead-in", now - Duration::days(1), 7)])
        .await
    {
        assert!(outcome.is_recorded(), "{outcome:?}");
    }
    server.move_clock("days=6").await;
    for outcome in backend
        .record_usage(&[event("billed", anchor + Duration::hours(12), 3)])
        .await
    {
        assert!(outcome.is_recorded(), "{outcome:?}");
    }
    server.move_clock("months=1").await;

    let account = server.account_id(customer.as_str()).await;
    let invoices = server
        .json(
            Method::GET,
            &format!("/1.0/kb/accounts/{account}/invoices?includeInvoiceComponents=true"),
        )
        .await;
    let items: Vec<&Value> = invoices
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["items"].as_array().unwrap().iter())
        .collect();
    let anchor_day = anchor.date_naive();
    assert!(!items.is_empty(), "invoiced after the anchor: {invoices}");
    for item in &items {
        assert!(
            date(&item["startDate"]) >= anchor_day,
            "an item covers a day before the anchor {anchor_day}: {item}"
        );
    }
    let mut recurring: Vec<&&Value> = items
        .iter()
        .filter(|i| i["itemType"] == "RECURRING")
        .collect();
    recurring.sort_by_key(|i| date(&i["startDate"]));
    let first = recurring.first().expect("a recurring item");
    assert_eq!(date(&first["startDate"]), anchor_day, "{first}");
    let next_month = anchor_day.checked_add_months(Months::new(1)).unwrap();
    assert_eq!(
        date(&first["endDate"]),
        next_month,
        "a whole period on the anchor's day"
    );
    assert_eq!(
        first["amount"].as_f64(),
        Some(10.0),
        "not prorated: the period starts on the bill-cycle day ({})",
        anchor_day.day()
    );
    let usage: Vec<&&Value> = items.iter().filter(|i| i["itemType"] == "USAGE").collect();
    let billed: f64 = usage.iter().filter_map(|i| i["amount"].as_f64()).sum();
    assert!(
        (billed - 0.03).abs() < 1e-9,
        "only the 3 calls after the anchor are billed (0.03), not the 7 before: {usage:?}"
    );
    for item in &usage {
        assert_eq!(date(&item["startDate"]), anchor_day, "{item}");
        assert_eq!(date(&item["endDate"]), next_month, "{item}");
    }
}

/// A unit name with non-ASCII characters reaches the usage resource (no global request filter
/// refuses the path), and responses carry Kill Bill's CORS headers.
pub async fn any_path_reaches_the_resource_with_cors_headers(server: &KbServer) {
    let backend = server.backend();
    let p = prefix();
    let customer = CustomerKey::new(format!("{p}-c")).unwrap();
    backend
        .create_customer(&NewCustomer::new(customer.clone()).currency(Currency::USD))
        .await
        .unwrap();
    let key = SubscriptionKey::new(format!("{p}-s")).unwrap();
    let sub = backend
        .create_subscription(&NewSubscription::new(
            key,
            customer,
            PlanCode::new("starter-monthly").unwrap(),
        ))
        .await
        .unwrap();
    let unit = "requêtes_été";
    let day = server.now().await.date_naive();
    let body = serde_json::json!({
        "subscriptionId": sub.vendor_id,
        "trackingId": format!("{p}-t"),
        "unitUsageRecords": [{"unitType": unit, "usageRecords": [
            {"recordDate": format!("{day}T00:00:01.000Z"), "amount": 4}
        ]}],
    });
    let recorded = server
        .request(Method::POST, "/1.0/kb/usages")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(recorded.status(), StatusCode::CREATED);
    let mut url = reqwest::Url::parse(&server.base_url).unwrap();
    url.path_segments_mut()
        .unwrap()
        .extend(["1.0", "kb", "usages", sub.vendor_id.as_str(), unit]);
    url.query_pairs_mut()
        .append_pair("startDate", &day.to_string())
        .append_pair("endDate", &day.succ_opt().unwrap().to_string());
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    assert!(path.contains("requ%C3%AAtes"), "{path}");
    let resp = server
        .request(Method::GET, &path)
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    let headers = resp.headers().clone();
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("https://app.example"),
        "{headers:?}"
    );
    assert_eq!(
        headers
            .get("access-control-allow-credentials")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let rolled: Value = resp.json().await.unwrap();
    assert_eq!(rolled["rolledUpUnits"][0]["unitType"], unit, "{rolled}");
    assert_eq!(
        rolled["rolledUpUnits"][0]["amount"].as_f64(),
        Some(4.0),
        "{rolled}"
    );
    // Without an Origin, any origin is allowed.
    let healthcheck = reqwest::get(format!("{}/1.0/healthcheck", server.base_url))
        .await
        .unwrap();
    assert_eq!(
        healthcheck
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("*")
    );
}
