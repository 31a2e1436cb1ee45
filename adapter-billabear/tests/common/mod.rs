//! What the simulator tests share: a simulator with a backend on it, raw access to the
//! simulator, and small constructors.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use adapter_billabear::{BillaBearBackend, BillaBearConfig};
use billing_core::{
    CustomerKey, CustomerStore, ErrorKind, EventId, EventOutcome, MetricCode, NewCustomer,
    NewSubscription, PlanCode, SubscriptionKey, SubscriptionStore, UsageEvent,
};
use billing_http::{HttpConfig, SecretString};
use billing_sim::SimOptions;
use billing_sim::billabear::{BillaBearSim, BillaBearSimConfig, catalog};
use serde_json::{Value, json};

/// Requests the simulator received while `$e` ran.
#[macro_export]
macro_rules! requests_of {
    ($w:expr, $e:expr) => {{
        let n = $w.requests();
        let _ = $e;
        $w.requests() - n
    }};
}

pub struct World {
    pub sim: BillaBearSim,
    pub backend: BillaBearBackend,
    pub http: reqwest::Client,
}

impl World {
    pub async fn start() -> Self {
        Self::with(BillaBearSimConfig::default(), HttpConfig::default()).await
    }

    pub async fn with(sim_config: BillaBearSimConfig, http: HttpConfig) -> Self {
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
    pub fn backend_for(sim: &BillaBearSim, http: &HttpConfig) -> BillaBearBackend {
        let config = BillaBearConfig::new(sim.api_url(), SecretString::from(BillaBearSim::API_KEY));
        BillaBearBackend::new(&config, http).unwrap()
    }

    pub fn cold(&self) -> BillaBearBackend {
        Self::backend_for(&self.sim, &HttpConfig::default())
    }

    pub fn requests(&self) -> usize {
        self.sim.server().log().len()
    }

    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
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

    pub async fn customer(&self, key: &str) -> billing_core::Customer {
        self.backend
            .create_customer(&new_customer(key))
            .await
            .unwrap()
    }

    pub async fn subscribe(&self, customer: &str, key: &str) -> billing_core::Subscription {
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

pub fn ck(s: &str) -> CustomerKey {
    CustomerKey::new(s).unwrap()
}

pub fn sk(s: &str) -> SubscriptionKey {
    SubscriptionKey::new(s).unwrap()
}

pub fn api_calls() -> MetricCode {
    MetricCode::new(catalog::METRIC_API_CALLS_CODE).unwrap()
}

pub fn storage_gb() -> MetricCode {
    MetricCode::new(catalog::METRIC_STORAGE_GB_CODE).unwrap()
}

pub fn new_customer(key: &str) -> NewCustomer {
    let email: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { 'x' })
        .collect();
    NewCustomer::new(ck(key))
        .name(format!("Customer {key}"))
        .email(format!("{email}@example.com"))
}

pub fn event(id: &str, sub: &str, metric: MetricCode, q: &str) -> UsageEvent {
    UsageEvent::new(
        EventId::new(id).unwrap(),
        sk(sub),
        metric,
        q.parse().unwrap(),
    )
}

pub fn kind(o: &EventOutcome) -> Option<ErrorKind> {
    o.error_kind()
}

pub async fn start_raw(
    w: &World,
    customer_id: &str,
    key: &str,
    customer: &str,
    price: &str,
) -> String {
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
