//! The vendor endpoints the catalog features use, checked against the vendors' own API
//! descriptions (`../shared/specs`, read in place): each simulator serves the example catalog
//! (`billing-sim/catalogs/example.toml`), a client goes through what the catalog tests do
//! (Kill Bill: catalog upload, versions, usage, invoices; Lago: metrics, plans,
//! batched events, current usage; BillaBear: plans, subscription start, events, cost estimate),
//! and every request the simulator received must be an operation of the description with its
//! required body fields. Admin requests (`/__sim`) are not vendor requests and never reach the
//! log. Without the descriptions the tests are reported as ignored (and `prerequisites.rs` fails
//! under `CI=true`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::Path;

use billing_conformance::spec::{SentRequest, Spec, killbill_documented_error, required_specs_dir};
use billing_sim::billabear::{BillaBearSim, BillaBearSimConfig};
use billing_sim::killbill::{KillBillSim, KillBillSimConfig};
use billing_sim::lago::{LagoSim, LagoSimConfig};
use billing_sim::{Catalog, RequestLog, SimOptions};
use reqwest::{Client, Method};
use serde_json::{Value, json};

fn example() -> Catalog {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Catalog::load(&root.join("billing-sim/catalogs/example.toml")).unwrap()
}

/// Every request in `log` is an operation of `spec` with its required body fields.
fn assert_conforms(spec: &Spec, log: &RequestLog) {
    let requests = log.snapshot();
    assert!(requests.len() >= 4, "only {} requests", requests.len());
    let mut out: Vec<String> = requests
        .iter()
        .filter_map(|r| {
            spec.violation(&SentRequest {
                method: r.method.to_string(),
                path: r.raw_path.clone(),
                body: r.json(),
            })
        })
        .filter(|v| !killbill_documented_error(v))
        .collect();
    out.sort();
    out.dedup();
    assert!(
        out.is_empty(),
        "not in the description:\n{}",
        out.join("\n")
    );
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    match location {
        Some(l) => (status, json!({ "location": l })),
        None => (status, body),
    }
}

#[tokio::test]
#[cfg_attr(
    not(billing_specs),
    ignore = "needs the vendors' API descriptions in ../shared/specs"
)]
async fn kill_bill_catalog_endpoints_match_the_description() {
    let dir = required_specs_dir();
    let spec = Spec::load(&dir.join("killbill/kbswagger.yaml"), "").unwrap();
    let config = KillBillSimConfig {
        catalog: example(),
        ..KillBillSimConfig::default()
    };
    let sim = KillBillSim::start_with(SimOptions::default(), config)
        .await
        .unwrap();
    let http = Client::new();
    let kb = |m: Method, path: &str| {
        http.request(m, format!("{}{path}", sim.base_url()))
            .basic_auth(KillBillSim::USERNAME, Some(KillBillSim::PASSWORD))
            .header("X-Killbill-ApiKey", KillBillSim::API_KEY)
            .header("X-Killbill-ApiSecret", KillBillSim::API_SECRET)
            .header("X-Killbill-CreatedBy", "spec-check")
            .header("Accept", "application/json")
    };
    let id = |v: &Value| {
        v["location"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let (_, account) = send(kb(Method::POST, "/1.0/kb/accounts").json(&json!(
        {"name": "A", "externalKey": "a", "currency": "USD"})))
    .await;
    let account = id(&account);
    let (_, sub) = send(kb(Method::POST, "/1.0/kb/subscriptions").json(&json!(
        {"accountId": account, "planName": "team-monthly"})))
    .await;
    let sub = id(&sub);
    let (status, _) = send(kb(Method::POST, "/1.0/kb/usages").json(&json!({
        "subscriptionId": sub, "trackingId": "t1",
        "unitUsageRecords": [{"unitType": "peak_storage_gb",
                              "usageRecords": [{"recordDate": sim.now().to_rfc3339(), "amount": 3}]}]})))
    .await;
    assert_eq!(status, 201);
    let xml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/killbill/catalog.xml"),
    )
    .unwrap();
    let upload = kb(Method::POST, "/1.0/kb/catalog/xml")
        .header("Content-Type", "text/xml")
        .body(
            xml.replace("BillingConformance", "Example")
                .replace("2020-01-01", "2021-01-01"),
        );
    assert_eq!(send(upload).await.0, 201);
    for path in [
        "/1.0/kb/catalog".to_owned(),
        "/1.0/kb/catalog/versions".to_owned(),
        "/1.0/kb/catalog/xml".to_owned(),
        format!("/1.0/kb/subscriptions/{sub}"),
        format!("/1.0/kb/usages/{sub}?startDate=2020-01-01&endDate=2099-01-01"),
        format!("/1.0/kb/accounts/{account}/invoices"),
    ] {
        assert_eq!(send(kb(Method::GET, &path)).await.0, 200, "{path}");
    }
    assert_conforms(&spec, sim.server().log());
}

#[tokio::test]
#[cfg_attr(
    not(billing_specs),
    ignore = "needs the vendors' API descriptions in ../shared/specs"
)]
async fn lago_catalog_endpoints_match_the_description() {
    let dir = required_specs_dir();
    let spec = Spec::load(&dir.join("lago/openapi.yaml"), "/api/v1").unwrap();
    let config = LagoSimConfig {
        catalog: example(),
        ..LagoSimConfig::default()
    };
    let sim = LagoSim::start_with(SimOptions::default(), config)
        .await
        .unwrap();
    let http = Client::new();
    let lago = |m: Method, path: &str| {
        http.request(m, format!("{}{path}", sim.api_url()))
            .bearer_auth(LagoSim::API_KEY)
    };
    let writes = [
        (
            "/customers",
            json!({"customer": {"external_id": "acme", "currency": "USD"}}),
        ),
        (
            "/subscriptions",
            json!({"subscription": {"external_customer_id": "acme",
            "external_id": "g1", "plan_code": "growth-monthly"}}),
        ),
        (
            "/events/batch",
            json!({"events": [{"transaction_id": "e1", "code": "active_users",
            "external_subscription_id": "g1", "properties": {"user_id": "alice"}}]}),
        ),
        (
            "/events",
            json!({"event": {"transaction_id": "e2", "code": "seats",
            "external_subscription_id": "g1", "properties": {"seats": 3}}}),
        ),
    ];
    for (path, body) in writes {
        assert_eq!(
            send(lago(Method::POST, path).json(&body)).await.0,
            200,
            "{path}"
        );
    }
    for path in [
        "/billable_metrics",
        "/billable_metrics/storage_gb_time",
        "/plans",
        "/plans/growth-monthly",
        "/customers/acme/current_usage?external_subscription_id=g1",
    ] {
        assert_eq!(send(lago(Method::GET, path)).await.0, 200, "{path}");
    }
    assert_conforms(&spec, sim.server().log());
}

#[tokio::test]
#[cfg_attr(
    not(billing_specs),
    ignore = "needs the vendors' API descriptions in ../shared/specs"
)]
async fn billabear_catalog_endpoints_match_the_description() {
    let dir = required_specs_dir();
    let spec = Spec::load(&dir.join("billabear/src/openapi.yaml"), "/api/v1").unwrap();
    let config = BillaBearSimConfig {
        catalog: example(),
        ..BillaBearSimConfig::default()
    };
    let sim = BillaBearSim::start_with(SimOptions::default(), config)
        .await
        .unwrap();
    let http = Client::new();
    let bb = |m: Method, path: &str| {
        http.request(m, format!("{}{path}", sim.api_url()))
            .header("X-API-Key", BillaBearSim::API_KEY)
    };
    let (_, customer) =
        send(bb(Method::POST, "/customer").json(&json!({"email": "a@example.org"}))).await;
    let customer = customer["id"].as_str().unwrap().to_owned();
    let (_, plans) = send(bb(Method::GET, "/subscription/plans")).await;
    let price = plans["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code_name"] == "growth-monthly")
        .and_then(|p| {
            p["prices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["metric"]["code"] == "active_users")
        })
        .unwrap()["id"]
        .clone();
    let (status, sub) = send(
        bb(
            Method::POST,
            &format!("/customer/{customer}/subscription/start"),
        )
        .json(&json!({"subscription_plan": "growth-monthly", "price": price})),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let (status, _) = send(bb(Method::POST, "/events").json(&json!({"event_id": "e1",
        "subscription": sub["id"], "code": "active_users", "value": 1,
        "properties": {"user_id": "alice"}})))
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        send(bb(Method::GET, &format!("/customer/{customer}/costs")))
            .await
            .0,
        200
    );
    assert_conforms(&spec, sim.server().log());
}
