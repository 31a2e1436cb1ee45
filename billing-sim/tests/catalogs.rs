//! A catalog file (`catalogs/example.toml`: count, sum, max, unique count, latest and weighted
//! sum metrics) served by each simulator, driven through the vendor's own HTTP API: every
//! aggregation gives the totals the vendor's rules give (lago-api's Postgres event store,
//! BillaBear's `EventRepository`, Kill Bill's usage invoicing), one assertion per aggregation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use billing_sim::billabear::{BillaBearSim, BillaBearSimConfig};
use billing_sim::killbill::{KillBillSim, KillBillSimConfig};
use billing_sim::lago::{LagoSim, LagoSimConfig};
use billing_sim::{Catalog, CatalogError, SimOptions};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

fn example() -> Catalog {
    Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogs/example.toml")).unwrap()
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

// ---------------------------------------------------------------- Lago

struct Lago {
    sim: LagoSim,
    http: reqwest::Client,
}

impl Lago {
    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, v) = send(
            self.http
                .post(format!("{}{path}", self.sim.api_url()))
                .bearer_auth(LagoSim::API_KEY)
                .json(&body),
        )
        .await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    async fn subscribe(&self, id: &str, plan: &str) {
        self.post(
            "/subscriptions",
            json!({"subscription": {"external_customer_id": "acme", "external_id": id,
                   "plan_code": plan, "subscription_at": "2026-03-01T00:00:00Z"}}),
        )
        .await;
    }

    async fn events(&self, sub: &str, code: &str, items: &[(DateTime<Utc>, Value)]) {
        let events: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(i, (t, properties))| {
                json!({"transaction_id": format!("{sub}-{code}-{i}"), "external_subscription_id": sub,
                       "code": code, "timestamp": t.timestamp(), "properties": properties})
            })
            .collect();
        self.post("/events/batch", json!({ "events": events }))
            .await;
    }

    /// The current usage line of `metric` in `sub`: (units, total_aggregated_units,
    /// events_count, amount_cents).
    async fn usage(&self, sub: &str, metric: &str) -> (String, String, u64, i64) {
        let (status, v) = send(
            self.http
                .get(format!(
                    "{}/customers/acme/current_usage?external_subscription_id={sub}",
                    self.sim.api_url()
                ))
                .bearer_auth(LagoSim::API_KEY),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let line = v["customer_usage"]["charges_usage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["billable_metric"]["code"] == metric)
            .unwrap_or_else(|| panic!("no {metric} in {v}"))
            .clone();
        (
            line["units"].as_str().unwrap().to_owned(),
            line["total_aggregated_units"].as_str().unwrap().to_owned(),
            line["events_count"].as_u64().unwrap(),
            line["amount_cents"].as_i64().unwrap(),
        )
    }
}

async fn lago() -> Lago {
    let config = LagoSimConfig {
        catalog: example(),
        ..LagoSimConfig::default()
    };
    let sim = LagoSim::start_with(SimOptions::default(), config)
        .await
        .unwrap();
    sim.set_clock(at(20, 12));
    let lago = Lago {
        sim,
        http: reqwest::Client::new(),
    };
    lago.post(
        "/customers",
        json!({"customer": {"external_id": "acme", "currency": "USD"}}),
    )
    .await;
    lago
}

#[tokio::test]
async fn lago_installs_every_metric_and_plan_of_the_file() {
    let lago = lago().await;
    let (_, metrics) = send(
        lago.http
            .get(format!("{}/billable_metrics", lago.sim.api_url()))
            .bearer_auth(LagoSim::API_KEY),
    )
    .await;
    let kinds: Vec<(String, String)> = metrics["billable_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["code"].as_str().unwrap().to_owned(),
                m["aggregation_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("api_calls", "sum_agg"),
        ("peak_storage_gb", "max_agg"),
        ("logins", "count_agg"),
        ("active_users", "unique_count_agg"),
        ("seats", "latest_agg"),
        ("storage_gb_time", "weighted_sum_agg"),
    ] {
        assert!(
            kinds.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {kinds:?}"
        );
    }
    let (_, plan) = send(
        lago.http
            .get(format!("{}/plans/growth-monthly", lago.sim.api_url()))
            .bearer_auth(LagoSim::API_KEY),
    )
    .await;
    assert_eq!(plan["plan"]["amount_cents"], 9900);
    assert_eq!(plan["plan"]["charges"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn lago_count() {
    let lago = lago().await;
    lago.subscribe("g1", "growth-monthly").await;
    let before_start = at(1, 0) - chrono::Duration::seconds(1);
    lago.events(
        "g1",
        "logins",
        &[
            (at(2, 0), json!({})),
            (at(3, 0), json!({"x": 1})),
            (at(4, 0), json!({})),
            (before_start, json!({})),
        ],
    )
    .await;
    // Every event of the period, whatever its properties; none from before the start.
    assert_eq!(
        lago.usage("g1", "logins").await,
        ("3.0".into(), "3.0".into(), 3, 3)
    );
}

#[tokio::test]
async fn lago_sum_and_max_read_numeric_properties_only() {
    let lago = lago().await;
    lago.subscribe("t1", "team-monthly").await;
    lago.events(
        "t1",
        "api_calls",
        &[
            (at(2, 0), json!({"quantity": 1.5})),
            (at(3, 0), json!({"quantity": "2"})),
            (at(4, 0), json!({"quantity": "abc"})),
        ],
    )
    .await;
    lago.events(
        "t1",
        "peak_storage_gb",
        &[
            (at(2, 0), json!({"gb": 5})),
            (at(3, 0), json!({"gb": "12.5"})),
            (at(4, 0), json!({"gb": 7})),
            (at(5, 0), json!({"gb": "1e3"})),
        ],
    )
    .await;
    // 3.5 x 0.02 = 0.07; "abc" counts in neither the sum nor events_count.
    assert_eq!(
        lago.usage("t1", "api_calls").await,
        ("3.5".into(), "3.5".into(), 2, 7)
    );
    // "1e3" fails the store's numeric pattern: the maximum is 12.5 (x 0.50 = 6.25).
    assert_eq!(
        lago.usage("t1", "peak_storage_gb").await,
        ("12.5".into(), "12.5".into(), 3, 625)
    );
}

#[tokio::test]
async fn lago_unique_count_adds_and_removes() {
    let lago = lago().await;
    lago.subscribe("g1", "growth-monthly").await;
    let user = |u: &str| json!({ "user_id": u });
    lago.events(
        "g1",
        "active_users",
        &[
            (at(2, 0), user("alice")),
            (at(2, 1), user("bob")),
            (at(2, 2), user("alice")),
            (
                at(2, 3),
                json!({"user_id": "carol", "operation_type": "remove"}),
            ),
            (
                at(2, 4),
                json!({"user_id": "bob", "operation_type": "remove"}),
            ),
            (at(2, 5), json!({"user_id": 42})),
            (at(2, 6), user("42")),
        ],
    )
    .await;
    // alice, and 42 (a number and a string print alike); bob was removed, carol never added.
    assert_eq!(
        lago.usage("g1", "active_users").await,
        ("2.0".into(), "2.0".into(), 2, 800)
    );
}

#[tokio::test]
async fn lago_latest_is_the_last_by_timestamp() {
    let lago = lago().await;
    lago.subscribe("g1", "growth-monthly").await;
    lago.events(
        "g1",
        "seats",
        &[
            (at(2, 0), json!({"seats": 3})),
            (at(5, 0), json!({"seats": "5"})),
            (at(3, 0), json!({"seats": 4})),
        ],
    )
    .await;
    assert_eq!(
        lago.usage("g1", "seats").await,
        ("5.0".into(), "5.0".into(), 3, 5000)
    );
}

#[tokio::test]
async fn lago_weighted_sum_weights_by_time() {
    let lago = lago().await;
    lago.subscribe("s1", "storage-monthly").await;
    lago.events(
        "s1",
        "storage_gb_time",
        &[
            (at(1, 0), json!({"gb": 10})),
            (at(16, 0), json!({"gb": 20})),
        ],
    )
    .await;
    // 10 GB for 15 of March's 31 days, 30 GB for 16: 10 x 15/31 + 30 x 16/31, each term a
    // PostgreSQL numeric division (16 decimals here). 20.32... x 0.25 = 5.08.
    assert_eq!(
        lago.usage("s1", "storage_gb_time").await,
        ("20.3225806451612903".into(), "30.0".into(), 2, 508)
    );
}

// ---------------------------------------------------------------- BillaBear

struct Bear {
    sim: BillaBearSim,
    http: reqwest::Client,
    customer: String,
}

impl Bear {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(
            self.http
                .post(format!("{}{path}", self.sim.api_url()))
                .header("X-API-Key", BillaBearSim::API_KEY)
                .json(&body),
        )
        .await
    }

    /// Subscribes the customer to the usage price of `metric` in `plan`.
    async fn subscribe(&self, plan: &str, metric: &str) -> String {
        let (_, plans) = send(
            self.http
                .get(format!("{}/subscription/plans", self.sim.api_url()))
                .header("X-API-Key", BillaBearSim::API_KEY),
        )
        .await;
        let price = plans["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code_name"] == plan)
            .and_then(|p| {
                p["prices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["metric"]["code"] == metric)
            })
            .unwrap_or_else(|| panic!("no {metric} price in {plan}: {plans}"))["id"]
            .clone();
        let (status, sub) = self
            .post(
                &format!("/customer/{}/subscription/start", self.customer),
                json!({"subscription_plan": plan, "price": price}),
            )
            .await;
        assert_eq!(status, 201, "{sub}");
        sub["id"].as_str().unwrap().to_owned()
    }

    async fn event(&self, sub: &str, event_id: &str, code: &str, value: f64, properties: Value) {
        let (status, v) = self
            .post(
                "/events",
                json!({"event_id": event_id, "subscription": sub, "code": code,
                       "value": value, "properties": properties}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }

    /// The cost estimate's `(usage, amount)` for the metric named `name`.
    async fn usage(&self, name: &str) -> (f64, i64) {
        let (status, v) = send(
            self.http
                .get(format!(
                    "{}/customer/{}/costs",
                    self.sim.api_url(),
                    self.customer
                ))
                .header("X-API-Key", BillaBearSim::API_KEY),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let line = v["costs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {v}"))
            .clone();
        (
            line["usage"].as_f64().unwrap(),
            line["amount"].as_i64().unwrap(),
        )
    }
}

async fn bear() -> Bear {
    let config = BillaBearSimConfig {
        catalog: example(),
        ..BillaBearSimConfig::default()
    };
    let sim = BillaBearSim::start_with(SimOptions::default(), config)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let (status, c) = send(
        http.post(format!("{}/customer", sim.api_url()))
            .header("X-API-Key", BillaBearSim::API_KEY)
            .json(&json!({"email": "acme@example.org"})),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    Bear {
        sim,
        http,
        customer: c["id"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn billabear_count_counts_event_ids() {
    let bear = bear().await;
    let sub = bear.subscribe("growth-monthly", "logins").await;
    for id in ["e1", "e2", "e2"] {
        bear.event(&sub, id, "logins", 1.0, json!({})).await;
    }
    // COUNT(DISTINCT event_id): the resent e2 counts once. 2 x 1 cent.
    assert_eq!(bear.usage("Logins").await, (2.0, 2));
}

#[tokio::test]
async fn billabear_sum_adds_values_once_per_event_id() {
    let bear = bear().await;
    let sub = bear.subscribe("team-monthly", "api_calls").await;
    bear.event(&sub, "a", "api_calls", 1.5, json!({"quantity": 100}))
        .await;
    bear.event(&sub, "b", "api_calls", 2.0, json!({})).await;
    bear.event(&sub, "b", "api_calls", 2.0, json!({})).await;
    // The event's `value`, not a property; the duplicate b once. 3.5 x 2 cents = 7.
    assert_eq!(bear.usage("API calls").await, (3.5, 7));
}

#[tokio::test]
async fn billabear_max_compares_property_text() {
    let bear = bear().await;
    let sub = bear.subscribe("team-monthly", "peak_storage_gb").await;
    for (id, gb) in [("a", json!("9")), ("b", json!(10)), ("c", json!("12.5"))] {
        bear.event(&sub, id, "peak_storage_gb", 0.0, json!({ "gb": gb }))
            .await;
    }
    // MAX over `properties->>'gb'` as text: "9" > "12.5" > "10". 9 x 50 cents.
    assert_eq!(bear.usage("Peak storage (GB)").await, (9.0, 450));
    // The counter adds each window's maximum: a later, smaller value still adds up.
    bear.event(&sub, "d", "peak_storage_gb", 0.0, json!({"gb": 2}))
        .await;
    assert_eq!(bear.usage("Peak storage (GB)").await, (11.0, 550));
}

#[tokio::test]
async fn billabear_unique_count_counts_distinct_values() {
    let bear = bear().await;
    let sub = bear.subscribe("growth-monthly", "active_users").await;
    let events = [
        ("a", json!({"user_id": "alice"})),
        ("b", json!({"user_id": "bob"})),
        ("c", json!({"user_id": "alice"})),
        ("d", json!({})),
    ];
    for (id, properties) in events {
        bear.event(&sub, id, "active_users", 1.0, properties).await;
    }
    // COUNT(DISTINCT properties->>'user_id'): NULL is not counted. 2 x 400 cents.
    assert_eq!(bear.usage("Active users").await, (2.0, 800));
}

#[tokio::test]
async fn billabear_latest_never_moves_the_counter() {
    let bear = bear().await;
    let sub = bear.subscribe("growth-monthly", "seats").await;
    bear.event(&sub, "a", "seats", 1.0, json!({"seats": 3}))
        .await;
    // No calculator supports `latest` (MetricProvider throws): the estimate stays at 0.
    assert_eq!(bear.usage("Seats").await, (0.0, 0));
}

// ---------------------------------------------------------------- Kill Bill

struct Kb {
    sim: KillBillSim,
    http: reqwest::Client,
}

impl Kb {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.sim.base_url()))
            .basic_auth(KillBillSim::USERNAME, Some(KillBillSim::PASSWORD))
            .header("X-Killbill-ApiKey", KillBillSim::API_KEY)
            .header("X-Killbill-ApiSecret", KillBillSim::API_SECRET)
            .header("X-Killbill-CreatedBy", "test")
    }

    /// POSTs `body` and returns the id at the end of the `Location`.
    async fn create(&self, path: &str, body: Value) -> String {
        let resp = self
            .req(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{path}");
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        location.rsplit('/').next().unwrap().to_owned()
    }

    async fn get(&self, path: &str) -> Value {
        let (status, v) = send(
            self.req(reqwest::Method::GET, path)
                .header("Accept", "application/json"),
        )
        .await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    async fn record(
        &self,
        sub: &str,
        tracking: &str,
        unit: &str,
        records: &[(DateTime<Utc>, f64)],
    ) {
        let records: Vec<Value> = records
            .iter()
            .map(|(t, amount)| json!({"recordDate": t.to_rfc3339(), "amount": amount}))
            .collect();
        let resp = self
            .req(reqwest::Method::POST, "/1.0/kb/usages")
            .json(&json!({"subscriptionId": sub, "trackingId": tracking,
                          "unitUsageRecords": [{"unitType": unit, "usageRecords": records}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
}

#[tokio::test]
async fn killbill_sums_consumable_usage_and_keeps_the_capacity_peak() {
    let config = KillBillSimConfig {
        catalog: example(),
        ..KillBillSimConfig::default()
    };
    let sim = KillBillSim::start_with(SimOptions::default(), config)
        .await
        .unwrap();
    let kb = Kb {
        sim,
        http: reqwest::Client::new(),
    };
    // The file's Kill Bill part: two units, one plan with a CONSUMABLE and a CAPACITY usage.
    let catalog = kb.get("/1.0/kb/catalog").await;
    assert_eq!(catalog[0]["name"], "Example");
    let units: Vec<&str> = catalog[0]["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["api_calls", "peak_storage_gb"]);

    let account = kb
        .create(
            "/1.0/kb/accounts",
            json!({"name": "Acme", "externalKey": "acme", "currency": "USD"}),
        )
        .await;
    let sub = kb
        .create(
            "/1.0/kb/subscriptions",
            json!({"accountId": account, "planName": "team-monthly"}),
        )
        .await;
    let usages =
        kb.get(&format!("/1.0/kb/subscriptions/{sub}")).await["prices"][0]["usagePrices"].clone();
    let types: Vec<(&str, &str)> = usages
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["usageName"].as_str().unwrap(),
                u["usageType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("team-monthly-api-calls", "CONSUMABLE"),
            ("team-monthly-peak-storage-gb", "CAPACITY")
        ]
    );

    let now = kb.sim.now();
    let soon = |h: i64| now + chrono::Duration::hours(h);
    kb.record(&sub, "t1", "api_calls", &[(soon(1), 1.5), (soon(2), 2.0)])
        .await;
    kb.record(
        &sub,
        "t2",
        "peak_storage_gb",
        &[(soon(1), 5.0), (soon(2), 12.5), (soon(3), 7.0)],
    )
    .await;
    // The usage API sums rows per unit, whatever the section's type (as the server's DAO does).
    let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let rolled = kb
        .get(&format!(
            "/1.0/kb/usages/{sub}?startDate={}&endDate={}",
            day(now),
            day(now + chrono::Duration::days(3))
        ))
        .await;
    let sums: Vec<(String, f64)> = rolled["rolledUpUnits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["unitType"].as_str().unwrap().to_owned(),
                u["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sums,
        [
            ("api_calls".to_owned(), 3.5),
            ("peak_storage_gb".to_owned(), 24.5)
        ]
    );

    // Invoicing at the period's end: CONSUMABLE bills the sum, CAPACITY the peak.
    kb.sim.advance_clock(chrono::Duration::days(40));
    let invoices = kb
        .get(&format!(
            "/1.0/kb/accounts/{account}/invoices?includeInvoiceComponents=true"
        ))
        .await;
    let usage_items: Vec<(String, f64, f64)> = invoices
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["items"].as_array().unwrap().clone())
        .filter(|i| i["itemType"] == "USAGE")
        .map(|i| {
            // The billed quantity is in the item's details (a JSON string), as on the server.
            let details: Value = serde_json::from_str(i["itemDetails"].as_str().unwrap()).unwrap();
            (
                i["usageName"].as_str().unwrap().to_owned(),
                details["tierDetails"][0]["quantity"].as_f64().unwrap(),
                i["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        usage_items,
        [
            ("team-monthly-api-calls".to_owned(), 3.5, 0.07),
            ("team-monthly-peak-storage-gb".to_owned(), 12.5, 0.5)
        ]
    );
}

#[test]
fn vendors_refuse_what_they_cannot_express() {
    let everything = example();
    let mut all = everything.clone();
    for m in &mut all.metrics {
        m.vendors = None;
    }
    for p in &mut all.plans {
        p.vendors = None;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let refused = |e: std::io::Error| {
        e.into_inner()
            .and_then(|inner| inner.downcast::<CatalogError>().ok())
            .is_some_and(|c| matches!(*c, CatalogError::Unsupported { .. }))
    };
    runtime.block_on(async {
        let kb = KillBillSim::start_with(
            SimOptions::default(),
            KillBillSimConfig {
                catalog: all.clone(),
                ..KillBillSimConfig::default()
            },
        )
        .await;
        assert!(refused(kb.unwrap_err()), "Kill Bill has no count");
        let bb = BillaBearSim::start_with(
            SimOptions::default(),
            BillaBearSimConfig {
                catalog: all.clone(),
                ..BillaBearSimConfig::default()
            },
        )
        .await;
        assert!(refused(bb.unwrap_err()), "BillaBear has no weighted sum");
        let lago = LagoSim::start_with(
            SimOptions::default(),
            LagoSimConfig {
                catalog: all,
                ..LagoSimConfig::default()
            },
        )
        .await;
        assert!(lago.is_ok(), "Lago has every aggregation");
    });
}
