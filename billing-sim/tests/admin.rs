//! The admin API (`/__sim`) of each simulator, over HTTP: the description, reset, the clock
//! (billing periods, scheduled terminations and future starts move with it), faults and the
//! request log; and the same controls from Rust.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use billing_sim::billabear::BillaBearSim;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;
use billing_sim::{FaultConfig, SimInfo, SimOptions};
use chrono::{DateTime, Utc};
use reqwest::{Client, Method};
use serde_json::{Value, json};

async fn call(http: &Client, method: Method, url: &str, body: Option<Value>) -> (u16, String) {
    let mut req = http.request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn admin(
    http: &Client,
    info: &SimInfo,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, text) = call(http, method, &format!("{}{path}", info.admin_url), body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn advance(http: &Client, info: &SimInfo, days: i64) -> (u16, Value) {
    let body = json!({ "days": days });
    admin(http, info, Method::POST, "/clock/advance", Some(body)).await
}

fn rfc3339(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .to_utc()
}

async fn lago_get(http: &Client, sim: &LagoSim, path: &str) -> (u16, Value) {
    let resp = http
        .get(format!("{}{path}", sim.api_url()))
        .bearer_auth(LagoSim::API_KEY)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn lago_post(http: &Client, sim: &LagoSim, path: &str, body: Value) -> (u16, Value) {
    let resp = http
        .post(format!("{}{path}", sim.api_url()))
        .bearer_auth(LagoSim::API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn lago_admin_controls_over_http() {
    let sim = LagoSim::start(SimOptions::default()).await.unwrap();
    let http = Client::new();
    let info = sim.info();
    let (status, described) = admin(&http, &info, Method::GET, "", None).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_value::<SimInfo>(described).unwrap(), info);
    assert_eq!(info.url, sim.api_url());
    assert_eq!(info.credentials["api_key"], LagoSim::API_KEY);
    assert!(
        info.env
            .contains(&format!("BILLING_LAGO_BASE_URL={}", sim.api_url()))
    );

    // The clock moves forward and a scheduled termination happens.
    let (_, clock) = admin(&http, &info, Method::GET, "/clock", None).await;
    let start = rfc3339(&clock["now"]);
    let ending = (start + chrono::Duration::days(3))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    let (status, v) = lago_post(
        &http,
        &sim,
        "/subscriptions",
        json!({"subscription": {"external_customer_id": "c", "external_id": "s",
               "plan_code": "starter-monthly", "ending_at": ending}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, moved) = advance(&http, &info, 5).await;
    assert_eq!(status, 200);
    let after = rfc3339(&moved["now"]);
    assert!(after - start >= chrono::Duration::days(5));
    assert_eq!(
        lago_get(&http, &sim, "/subscriptions/s").await.0,
        404,
        "terminated"
    );
    let (_, v) = lago_get(&http, &sim, "/subscriptions/s?status=terminated").await;
    assert_eq!(v["subscription"]["status"], "terminated");
    for bad in [
        json!({"days": -1}),
        json!({}),
        json!({"weeks": 1}),
        json!("soon"),
    ] {
        let (status, v) = admin(&http, &info, Method::POST, "/clock/advance", Some(bad)).await;
        assert_eq!(status, 400, "{v}");
        assert!(v["error"].is_string());
    }

    // The request log, as JSON lines, without admin requests.
    let (status, text) = call(
        &http,
        Method::GET,
        &format!("{}/requests", info.admin_url),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[0]["method"], "POST");
    assert_eq!(lines[0]["path"], "/api/v1/subscriptions");
    assert_eq!(lines[0]["json"]["subscription"]["external_id"], "s");
    assert_eq!(lines[2]["query"], "status=terminated");
    let (_, text) = call(
        &http,
        Method::GET,
        &format!("{}/requests?since=2", info.admin_url),
        None,
    )
    .await;
    assert_eq!(text.lines().count(), 1);

    // Faults: set, counted, cleared; admin requests are never faulted.
    let (status, v) = admin(
        &http,
        &info,
        Method::PUT,
        "/faults",
        Some(json!({"error_503": 1.0})),
    )
    .await;
    assert_eq!(
        (status, v["config"]["error_503"].as_f64()),
        (200, Some(1.0))
    );
    assert_eq!(lago_get(&http, &sim, "/customers").await.0, 503);
    let (_, v) = admin(&http, &info, Method::GET, "/faults", None).await;
    assert_eq!(v["counts"]["server_errors"], 1);
    let (status, _) = admin(&http, &info, Method::DELETE, "/faults", None).await;
    assert_eq!(status, 200);
    assert_eq!(lago_get(&http, &sim, "/customers").await.0, 200);
    assert_eq!(
        admin(
            &http,
            &info,
            Method::PUT,
            "/faults",
            Some(json!({"rate": 2}))
        )
        .await
        .0,
        400
    );

    // Reset: data, clock, log and faults back to the start.
    sim.server().faults().set(FaultConfig {
        error_500: 1.0,
        ..FaultConfig::none()
    });
    let (status, _) = admin(&http, &info, Method::POST, "/reset", None).await;
    assert_eq!(status, 204);
    assert_eq!(sim.server().log().len(), 0);
    assert_eq!(sim.server().faults().config(), FaultConfig::none());
    let (_, v) = lago_get(&http, &sim, "/customers").await;
    assert_eq!(v["customers"], json!([]));
    let (_, v) = lago_get(&http, &sim, "/plans").await;
    assert_eq!(v["plans"].as_array().unwrap().len(), 2, "the catalog stays");
    assert!(
        sim.now() < after - chrono::Duration::days(4),
        "the clock is back"
    );

    // Unknown routes and methods.
    assert_eq!(admin(&http, &info, Method::GET, "/nope", None).await.0, 404);
    assert_eq!(
        admin(&http, &info, Method::GET, "/reset", None).await.0,
        405
    );
}

#[tokio::test]
async fn billabear_periods_renew_with_the_admin_clock() {
    let sim = BillaBearSim::start(SimOptions::default()).await.unwrap();
    let http = Client::new();
    let info = sim.info();
    assert_eq!(info.vendor, "billabear");
    let key = |r: reqwest::RequestBuilder| r.header("X-API-Key", BillaBearSim::API_KEY);
    let customer: Value = key(http.post(format!("{}/customer", sim.api_url())))
        .json(&json!({"email": "a@example.org"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = customer["id"].as_str().unwrap();
    let sub: Value = key(http.post(format!(
        "{}/customer/{id}/subscription/start",
        sim.api_url()
    )))
    .json(&json!({"subscription_plan": "starter-monthly", "currency": "USD", "schedule": "month"}))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let until = rfc3339(&sub["valid_until"]);
    let (status, _) = advance(&http, &info, 32).await;
    assert_eq!(status, 200);
    let renewed: Value = key(http.get(format!(
        "{}/subscription/{}",
        sim.api_url(),
        sub["id"].as_str().unwrap()
    )))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(rfc3339(&renewed["valid_until"]) > until, "{renewed}");
    sim.reset();
    assert_eq!(sim.customer_count(), 0);
    assert_eq!(sim.subscription_count(), 0);
}

#[tokio::test]
async fn killbill_future_start_begins_with_the_admin_clock() {
    let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
    let http = Client::new();
    let info = sim.info();
    assert_eq!(
        info.credentials["tenants"][0]["api_key"],
        KillBillSim::API_KEY
    );
    let kb = |m: Method, path: &str| {
        http.request(m, format!("{}{path}", sim.base_url()))
            .basic_auth(KillBillSim::USERNAME, Some(KillBillSim::PASSWORD))
            .header("X-Killbill-ApiKey", KillBillSim::API_KEY)
            .header("X-Killbill-ApiSecret", KillBillSim::API_SECRET)
            .header("X-Killbill-CreatedBy", "test")
    };
    let created = kb(Method::POST, "/1.0/kb/accounts")
        .json(&json!({"name": "A", "externalKey": "a", "currency": "USD"}))
        .send()
        .await
        .unwrap();
    let account = created.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let start = (sim.now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let created = kb(
        Method::POST,
        &format!("/1.0/kb/subscriptions?entitlementDate={start}&billingDate={start}"),
    )
    .json(&json!({"accountId": account, "planName": "starter-monthly"}))
    .send()
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let sub = created.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let state = |v: Value| v["state"].as_str().unwrap().to_owned();
    let read = || async {
        kb(Method::GET, &format!("/1.0/kb/subscriptions/{sub}"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(state(read().await), "PENDING");
    let (status, _) = advance(&http, &info, 4).await;
    assert_eq!(status, 200);
    assert_eq!(state(read().await), "ACTIVE");
    // The test-mode clock resource reads the same clock.
    let clock: Value = kb(Method::GET, "/1.0/kb/test/clock")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, ours) = admin(&http, &info, Method::GET, "/clock", None).await;
    let gap = rfc3339(&ours["now"]) - rfc3339(&clock["currentUtcTime"]);
    assert!(gap.num_seconds().abs() <= 2, "{clock} {ours}");
    let (status, _) = admin(&http, &info, Method::POST, "/reset", None).await;
    assert_eq!(status, 204);
    assert_eq!(sim.account_count(), 0);
    assert!(
        (sim.now() - Utc::now()).num_seconds().abs() <= 2,
        "the clock is real time again"
    );
}
