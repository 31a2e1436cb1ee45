//! The BillaBear simulator over HTTP, as an adapter sees it.
// Helpers outside `#[test]` functions panic on purpose: a failed request is a failed test.
#![allow(clippy::unwrap_used)]

use billing_sim::SimOptions;
use billing_sim::billabear::catalog::{
    METRIC_API_CALLS_ID, PLAN_PRO_ID, PLAN_STARTER_CODE, PLAN_STARTER_ID, PRO_API_CALLS_PRICE_ID,
    PRO_BASE_PRICE_ID, STARTER_API_CALLS_PRICE_ID, STARTER_BASE_PRICE_ID,
    STARTER_STORAGE_GB_PRICE_ID,
};
use billing_sim::billabear::{BillaBearSim, BillaBearSimConfig, rate_limit_headers};
use billing_sim::{FaultConfig, SimOptions as Options};
use reqwest::Method;
use serde_json::{Value, json};

struct Api {
    sim: BillaBearSim,
    http: reqwest::Client,
}

/// A response: status, raw body, and the body parsed as JSON (Null when it is not JSON).
struct Resp {
    status: u16,
    text: String,
    json: Value,
}

impl Api {
    async fn start() -> Self {
        Self::with(BillaBearSimConfig::default()).await
    }

    async fn with(config: BillaBearSimConfig) -> Self {
        let sim = BillaBearSim::start_with(SimOptions::default(), config)
            .await
            .unwrap();
        Self {
            sim,
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        key: Option<&str>,
    ) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.sim.api_url(), path));
        if let Some(key) = key {
            req = req.header("X-API-Key", key);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, text, json }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, Some(BillaBearSim::API_KEY))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        let body = body.to_string();
        self.send(Method::POST, path, Some(&body), Some(BillaBearSim::API_KEY))
            .await
    }

    async fn put(&self, path: &str, body: Value) -> Resp {
        let body = body.to_string();
        self.send(Method::PUT, path, Some(&body), Some(BillaBearSim::API_KEY))
            .await
    }

    async fn raw_post(&self, path: &str, body: &str) -> Resp {
        self.send(Method::POST, path, Some(body), Some(BillaBearSim::API_KEY))
            .await
    }

    async fn customer(&self, body: Value) -> String {
        let r = self.post("/customer", body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_str().unwrap().to_owned()
    }

    async fn subscribe(&self, customer: &str, body: Value) -> Value {
        let r = self
            .post(&format!("/customer/{customer}/subscription/start"), body)
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json
    }

    async fn monthly(&self, customer: &str) -> String {
        let sub = self
            .subscribe(
                customer,
                json!({"subscription_plan": PLAN_STARTER_CODE, "currency": "USD", "schedule": "month"}),
            )
            .await;
        sub["id"].as_str().unwrap().to_owned()
    }

    async fn event(&self, sub: &str, event_id: &str, code: &str, value: Value) -> Resp {
        self.post(
            "/events",
            json!({"event_id": event_id, "subscription": sub, "code": code, "value": value}),
        )
        .await
    }

    async fn costs(&self, customer: &str) -> Value {
        let r = self.get(&format!("/customer/{customer}/costs")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    }
}

fn is_uuid_v4(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 4) && s.len() == 36
}

#[tokio::test]
async fn every_api_route_needs_the_api_key() {
    let api = Api::start().await;
    let missing = api.send(Method::GET, "/customer", None, None).await;
    assert_eq!((missing.status, missing.text.as_str()), (401, "[]"));
    let wrong = api
        .send(Method::POST, "/events", Some("{}"), Some("nope"))
        .await;
    assert_eq!((wrong.status, wrong.text.as_str()), (401, "[]"));
    // Header names are case-insensitive: the helper sends `X-API-Key`.
    assert_eq!(api.get("/customer").await.status, 200);
    let bearer = api
        .http
        .get(format!("{}/customer", api.sim.api_url()))
        .bearer_auth(BillaBearSim::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401, "Authorization: Bearer is not read");
    // Unknown routes are 404 before the firewall runs.
    let unknown = api.send(Method::GET, "/customers", None, None).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn create_and_get_customer() {
    let api = Api::start().await;
    let r = api
        .post(
            "/customer",
            json!({"id": "ignored", "email": "ann@example.org", "reference": "app-1",
                   "address": {"city": "Berlin", "country": "DE"}, "metadata": {}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = &r.json;
    let id = c["id"].as_str().unwrap();
    assert!(is_uuid_v4(id), "{id}");
    assert_eq!(c["status"], "new");
    assert_eq!(c["reference"], "app-1");
    assert_eq!(c["name"], Value::Null);
    assert_eq!(c["metadata"], json!([]), "an empty PHP array");
    assert!(
        c["external_reference"]
            .as_str()
            .unwrap()
            .starts_with("cus_")
    );
    assert_eq!(c["locale"], "en");
    assert_eq!(c["brand"], "default");
    assert_eq!(c["billing_type"], "card");
    assert_eq!(c["marketing_opt_in"], false);
    assert_eq!(c["address"]["country"], "DE");
    assert_eq!(c["address"]["region"], Value::Null);
    assert!(c.get("type").is_none() && c.get("digital_tax_rate").is_none());

    let got = api.get(&format!("/customer/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json, r.json);
    let upper = api.get(&format!("/customer/{}", id.to_uppercase())).await;
    assert_eq!(
        upper.status, 200,
        "Postgres compares UUIDs case-insensitively"
    );

    let no_country = api.customer(json!({"email": "b@example.org"})).await;
    let got = api.get(&format!("/customer/{no_country}")).await;
    assert_eq!(
        got.json["address"]["country"], "",
        "the getter returns '' when unset"
    );

    let missing = api
        .get("/customer/6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00")
        .await;
    assert_eq!((missing.status, missing.text.as_str()), (404, "[]"));
    assert_eq!(api.get("/customer/not-a-uuid").await.status, 500);
    assert_eq!(api.sim.customer_count(), 2);
}

#[tokio::test]
async fn customer_validation_and_serializer_errors() {
    let api = Api::start().await;
    let r = api
        .post(
            "/customer",
            json!({"billing_type": "cash", "address": {"country": "XX"}, "invoice_format": "xrechnung",
                   "marketing_opt_in": "yes", "standard_tax_rate": -1}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let e = &r.json["errors"];
    assert_eq!(e["email"], "This value should not be blank.");
    assert_eq!(
        e["billingType"],
        "The value you selected is not a valid choice."
    );
    assert_eq!(e["address.country"], "This value is not a valid country.");
    assert_eq!(
        e["invoice_format"],
        "The value you selected is not a valid choice."
    );
    assert_eq!(
        e["marketing_opt_in"],
        "This value should be of type boolean."
    );
    assert_eq!(
        e["standard_tax_rate"],
        "This value should be either positive or zero."
    );
    let bad_email = api.post("/customer", json!({"email": "nope"})).await;
    assert_eq!(
        bad_email.json["errors"]["email"],
        "This value is not a valid email address."
    );

    // The serializer throws before validation: 500, never a 400.
    assert_eq!(api.raw_post("/customer", "{not json").await.status, 500);
    assert_eq!(api.raw_post("/customer", "").await.status, 500);
    assert_eq!(
        api.post("/customer", json!({"email": 123})).await.status,
        500
    );
    assert_eq!(
        api.post(
            "/customer",
            json!({"email": "a@example.org", "address": {"city": 5}})
        )
        .await
        .status,
        500
    );
    assert_eq!(
        api.post(
            "/customer",
            json!({"email": "a@example.org", "brand": "other"})
        )
        .await
        .status,
        500,
        "an unknown brand code throws in the data mapper"
    );
    assert_eq!(api.sim.customer_count(), 0);
}

#[tokio::test]
async fn stripe_not_configured_rejects_customer_writes() {
    let api = Api::with(BillaBearSimConfig {
        stripe_configured: false,
        ..BillaBearSimConfig::default()
    })
    .await;
    let r = api
        .post("/customer", json!({"email": "a@example.org"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"errors": {"stripe": "The stripe is not configured."}})
    );
}

#[tokio::test]
async fn put_is_a_full_replace() {
    let api = Api::start().await;
    let id = api
        .customer(
            json!({"email": "a@example.org", "name": "Ann", "reference": "app-1",
            "external_reference": "cus_given", "billing_type": "invoice", "locale": "de",
            "tax_number": "DE123", "standard_tax_rate": 19, "invoice_format": "zugferd_v1",
            "marketing_opt_in": true, "metadata": {"app_key": "app-1"},
            "address": {"company_name": "ACME", "country": "DE"}}),
        )
        .await;
    let before = api.get(&format!("/customer/{id}")).await.json;
    assert_eq!(before["standard_tax_rate"], json!(19.0));
    assert_eq!(before["external_reference"], "cus_given");
    assert_eq!(
        api.post(&format!("/customer/{id}/disable"), json!({}))
            .await
            .status,
        202
    );

    let r = api
        .put(
            &format!("/customer/{id}"),
            json!({"email": "new@example.org"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let c = &r.json;
    assert_eq!(c["email"], "new@example.org");
    for reset_to_null in [
        "reference",
        "name",
        "tax_number",
        "standard_tax_rate",
        "invoice_format",
    ] {
        assert_eq!(c[reset_to_null], Value::Null, "{reset_to_null}");
    }
    assert_eq!(c["metadata"], json!([]));
    assert_eq!(c["locale"], "en");
    assert_eq!(c["brand"], "default");
    assert_eq!(c["billing_type"], "card");
    assert_eq!(c["marketing_opt_in"], false);
    assert_eq!(c["address"]["company_name"], Value::Null);
    assert_eq!(c["address"]["country"], "");
    assert_eq!(c["external_reference"], "cus_given", "kept when omitted");
    assert_eq!(c["status"], "disabled", "never touched by PUT");
    assert_eq!(api.get(&format!("/customer/{id}")).await.json, r.json);

    let missing = api
        .put(
            "/customer/6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00",
            json!({"email": "x@example.org"}),
        )
        .await;
    assert_eq!((missing.status, missing.text.as_str()), (404, "[]"));
    let invalid = api.put(&format!("/customer/{id}"), json!({})).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(api.put("/customer/nope", json!({})).await.status, 500);
}

#[tokio::test]
async fn disable_and_enable() {
    let api = Api::start().await;
    let id = api.customer(json!({"email": "a@example.org"})).await;
    let r = api
        .post(&format!("/customer/{id}/disable"), json!({}))
        .await;
    assert_eq!((r.status, r.text.as_str()), (202, "{}"));
    assert_eq!(
        api.get(&format!("/customer/{id}")).await.json["status"],
        "disabled"
    );
    let r = api.post(&format!("/customer/{id}/enable"), json!({})).await;
    assert_eq!((r.status, r.text.as_str()), (202, "{}"));
    assert_eq!(
        api.get(&format!("/customer/{id}")).await.json["status"],
        "active"
    );
    let r = api
        .post(
            "/customer/6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00/disable",
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (404, r#"{"success":false}"#));
}

#[tokio::test]
async fn list_filters_are_substring_likes() {
    let api = Api::start().await;
    for (email, reference, country) in [
        ("a@example.org", "user_1", "DE"),
        ("b@example.org", "user-1", "GB"),
        ("c@example.org", "xuser_1x", "DE"),
        ("d@example.org", "USER_1", "DE"),
    ] {
        api.customer(
            json!({"email": email, "reference": reference, "address": {"country": country}}),
        )
        .await;
    }
    let refs = |r: &Resp| -> Vec<String> {
        let mut v: Vec<String> = r.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["reference"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let r = api.get("/customer?reference=user_1&limit=100").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        refs(&r),
        ["user-1", "user_1", "xuser_1x"],
        "`_` matches any character"
    );
    let r = api.get("/customer?reference=user%25&country=DE").await;
    assert_eq!(refs(&r), ["user_1", "xuser_1x"]);
    let r = api.get("/customer?email=example&country=GB").await;
    assert_eq!(refs(&r), ["user-1"]);
    let r = api.get("/customer?reference=").await;
    assert_eq!(
        r.json["data"].as_array().unwrap().len(),
        4,
        "empty filters are ignored"
    );
}

#[tokio::test]
async fn customer_keyset_pagination() {
    let api = Api::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            api.customer(json!({"email": format!("c{i}@example.org")}))
                .await,
        );
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut url = "/customer?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let r = api.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages += 1;
        let data = r.json["data"].as_array().unwrap();
        seen.extend(data.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        assert_eq!(r.json["last_key"], data.last().unwrap()["id"]);
        if !r.json["has_more"].as_bool().unwrap() {
            break;
        }
        url = format!(
            "/customer?limit=2&last_key={}",
            r.json["last_key"].as_str().unwrap()
        );
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "ORDER BY id ASC, every row once");

    let past_end = api.get(&format!("/customer?last_key={}", ids[4])).await;
    assert_eq!(past_end.json["data"], json!([]));
    assert_eq!(past_end.json["has_more"], false);
    assert!(
        past_end.json.get("last_key").is_none(),
        "omitted on empty pages: {}",
        past_end.text
    );

    let too_big = api.get("/customer?limit=101").await;
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.json, json!({"reason": "limit is above 100"}));
    let zero = api.get("/customer?limit=0").await;
    assert_eq!(
        (zero.status, zero.json.clone()),
        (400, json!({"reason": "limit is below 1"}))
    );
    assert_eq!(api.get("/customer?limit=abc").await.status, 400);
    assert_eq!(api.get("/customer?limit=100").await.status, 200);
    assert_eq!(api.get("/customer?last_key=zzz").await.status, 500);
}

#[tokio::test]
async fn start_with_currency_and_schedule_meters_api_calls() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let sub = api
        .subscribe(
            &customer,
            json!({"subscription_plan": PLAN_STARTER_CODE, "currency": "usd", "schedule": "month",
                   "seat_numbrers": 5, "metadata": {"app_key": "s-1"}}),
        )
        .await;
    assert!(is_uuid_v4(sub["id"].as_str().unwrap()));
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["schedule"], "month");
    assert_eq!(sub["seat_number"], 1, "the spec's seat_numbrers is ignored");
    assert_eq!(sub["metadata"], json!({"app_key": "s-1"}));
    assert_eq!(sub["ended_at"], Value::Null);
    assert_eq!(sub["plan"]["id"], PLAN_STARTER_ID);
    assert_eq!(sub["plan"]["code_name"], PLAN_STARTER_CODE);
    assert_eq!(sub["plan"]["prices"].as_array().unwrap().len(), 3);
    assert_eq!(sub["price"]["id"], STARTER_API_CALLS_PRICE_ID);
    assert_eq!(sub["price"]["usage"], true);
    assert_eq!(sub["price"]["metric"]["code"], "api_calls");
    assert_eq!(sub["price"]["metric"]["name"], "API calls");
    assert_eq!(sub["price"]["metric"]["id"], METRIC_API_CALLS_ID);
    assert_eq!(sub["price"]["metric_type"], "resettable");
    assert!(sub.get("customer").is_none() && sub.get("start_of_current_period").is_none());
    let created =
        chrono::DateTime::parse_from_rfc3339(sub["created_at"].as_str().unwrap()).unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(sub["valid_until"].as_str().unwrap()).unwrap();
    assert!((28..=31).contains(&(until - created).num_days()));
    assert!(sub["created_at"].as_str().unwrap().ends_with("+00:00"));

    let list = api.get(&format!("/customer/{customer}/subscription")).await;
    assert_eq!(list.json["has_more"], false);
    assert!(list.json.get("last_key").is_none());
    assert_eq!(list.json["data"][0]["id"], sub["id"]);
    let id = sub["id"].as_str().unwrap();
    assert_eq!(api.get(&format!("/subscription/{id}")).await.json, sub);
}

#[tokio::test]
async fn start_variants_and_errors() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let by_uuid = api
        .subscribe(
            &customer,
            json!({"subscription_plan": PLAN_STARTER_ID, "price": STARTER_STORAGE_GB_PRICE_ID}),
        )
        .await;
    assert_eq!(by_uuid["price"]["metric"]["code"], "storage_gb");
    // An explicit price is not checked against the plan.
    let mixed = api
        .subscribe(
            &customer,
            json!({"subscription_plan": PLAN_STARTER_CODE, "price": PRO_BASE_PRICE_ID}),
        )
        .await;
    assert_eq!(mixed["plan"]["code_name"], PLAN_STARTER_CODE);
    assert_eq!(mixed["price"]["amount"], 5000);
    assert_eq!(mixed["price"]["metric"], Value::Null);

    let path = format!("/customer/{customer}/subscription/start");
    let eur = api
        .post(
            &path,
            json!({"subscription_plan": PLAN_STARTER_CODE, "currency": "EUR", "schedule": "month"}),
        )
        .await;
    assert_eq!(eur.status, 400);
    assert_eq!(
        eur.json,
        json!({"errors": {"price": "No valid price found"}})
    );
    let unknown_plan = api
        .post(
            &path,
            json!({"subscription_plan": "gold", "currency": "USD", "schedule": "month"}),
        )
        .await;
    assert_eq!(
        unknown_plan.json["errors"]["subscription_plan"],
        "Subscription plan does not exist"
    );
    let seats = api
        .post(&path, json!({"subscription_plan": PLAN_STARTER_CODE, "price": STARTER_BASE_PRICE_ID, "seat_number": 0}))
        .await;
    assert_eq!(
        seats.json["errors"]["seat_number"],
        "This value should be positive."
    );
    let no_price = api
        .post(&path, json!({"subscription_plan": PLAN_STARTER_CODE}))
        .await;
    assert_eq!(
        no_price.status, 500,
        "getPriceForCurrencyAndSchedule(null, null)"
    );
    assert_eq!(api.raw_post(&path, "[").await.status, 500);

    let missing = api
        .post(
            "/customer/6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00/subscription/start",
            json!({"subscription_plan": PLAN_STARTER_CODE, "currency": "USD", "schedule": "month"}),
        )
        .await;
    assert_eq!((missing.status, missing.text.as_str()), (404, "[]"));
    assert_eq!(api.sim.subscription_count(), 2);
}

#[tokio::test]
async fn no_card_gives_406_and_failed_charge_402() {
    let api = Api::with(BillaBearSimConfig {
        customers_have_default_card: false,
        ..BillaBearSimConfig::default()
    })
    .await;
    let customer = api
        .customer(json!({"email": "a@example.org", "billing_type": "invoice"}))
        .await;
    let body =
        json!({"subscription_plan": PLAN_STARTER_CODE, "currency": "USD", "schedule": "month"});
    let path = format!("/customer/{customer}/subscription/start");
    let r = api.post(&path, body.clone()).await;
    assert_eq!(r.status, 406, "a card is needed even for invoice billing");
    assert_eq!(r.json, json!({"error": "No default payment method"}));

    let card = api.sim.register_card(&customer).unwrap();
    assert_eq!(
        api.sim.default_card(&customer).as_deref(),
        Some(card.as_str())
    );
    let with_details = api
        .post(
            &path,
            json!({"subscription_plan": PLAN_STARTER_CODE, "currency": "USD", "schedule": "month", "payment_details": card}),
        )
        .await;
    assert_eq!(with_details.status, 201);

    let card_customer = api.customer(json!({"email": "b@example.org"})).await;
    let card_path = format!("/customer/{card_customer}/subscription/start");
    let with_token = api
        .post(
            &card_path,
            json!({"subscription_plan": PLAN_STARTER_CODE, "currency": "USD", "schedule": "month", "card_token": "tok_visa"}),
        )
        .await;
    assert_eq!(with_token.status, 201);
    api.sim.fail_next_charge("insufficient_funds");
    let declined = api.post(&card_path, body.clone()).await;
    assert_eq!(declined.status, 402);
    assert_eq!(declined.json, json!({"reason": "insufficient_funds"}));
    assert_eq!(
        api.sim.subscription_count(),
        2,
        "the failed start rolled back"
    );
    assert_eq!(
        api.post(&card_path, body).await.status,
        201,
        "only the next charge fails"
    );
}

#[tokio::test]
async fn cancel_end_of_run_and_instantly() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let a = api.monthly(&customer).await;
    let b = api.monthly(&customer).await;

    let r = api
        .post(&format!("/subscription/{a}/cancel"), json!({}))
        .await;
    assert_eq!((r.status, r.text.as_str()), (202, "{}"));
    let sa = api.get(&format!("/subscription/{a}")).await.json;
    assert_eq!(sa["status"], "pending_cancel");
    assert_eq!(sa["ended_at"], sa["valid_until"]);

    let r = api
        .post(
            &format!("/subscription/{b}/cancel"),
            json!({"when": "instantly", "refund_type": "none"}),
        )
        .await;
    assert_eq!(r.status, 202);
    let sb = api.get(&format!("/subscription/{b}")).await.json;
    assert_eq!(sb["status"], "cancelled");
    assert_eq!(sb["ended_at"], sb["valid_until"]);

    let active = api
        .get(&format!("/customer/{customer}/subscription/active"))
        .await;
    let ids: Vec<&str> = active.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [a.as_str()],
        "pending_cancel stays active, cancelled does not"
    );
    let all = api.get(&format!("/customer/{customer}/subscription")).await;
    assert_eq!(all.json["data"].as_array().unwrap().len(), 2);

    let bad = api
        .post(
            &format!("/subscription/{a}/cancel"),
            json!({"when": "tomorrow"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["success"], false);
    assert_eq!(
        bad.json["errors"]["when"],
        "The value you selected is not a valid choice."
    );
    let dated = api
        .post(
            &format!("/subscription/{a}/cancel"),
            json!({"when": "specific-date", "date": "2031-05-04"}),
        )
        .await;
    assert_eq!(dated.status, 202);
    let sa = api.get(&format!("/subscription/{a}")).await.json;
    assert_eq!(sa["valid_until"], "2031-05-04T00:00:00+00:00");
    let undated = api
        .post(
            &format!("/subscription/{a}/cancel"),
            json!({"when": "specific-date"}),
        )
        .await;
    assert_eq!(undated.status, 424);
    assert_eq!(undated.json["class"], "TypeError");

    let missing = api
        .post(
            "/subscription/6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00/cancel",
            json!({}),
        )
        .await;
    assert_eq!((missing.status, missing.text.as_str()), (404, "{}"));
    let get_missing = api.get("/subscription/not-a-uuid").await;
    assert_eq!((get_missing.status, get_missing.text.as_str()), (404, "{}"));
}

#[tokio::test]
async fn change_plan_by_uuid_only() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let sub = api.monthly(&customer).await;
    let path = format!("/subscription/{sub}/plan");
    let r = api
        .post(
            &path,
            json!({"plan": PLAN_PRO_ID, "price": PRO_API_CALLS_PRICE_ID, "when": "next-cycle"}),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (202, "[]"));
    let s = api.get(&format!("/subscription/{sub}")).await.json;
    assert_eq!(
        s["plan"]["id"], PLAN_PRO_ID,
        "the server switches at once, even for next-cycle"
    );
    assert_eq!(s["price"]["id"], PRO_API_CALLS_PRICE_ID);

    let by_code = api
        .post(&path, json!({"plan": PLAN_STARTER_CODE, "price": STARTER_API_CALLS_PRICE_ID, "when": "instantly"}))
        .await;
    assert_eq!(
        by_code.status, 500,
        "a code_name passes validation, then findById throws"
    );
    let unknown = api
        .post(
            &path,
            json!({"plan": "gold", "price": STARTER_API_CALLS_PRICE_ID, "when": "instantly"}),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.json["errors"]["plan"],
        "Subscription plan does not exist"
    );
    let bad_when = api
        .post(&path, json!({"plan": PLAN_STARTER_ID, "price": STARTER_API_CALLS_PRICE_ID, "when": "next_cycle"}))
        .await;
    assert_eq!(
        bad_when.json["errors"]["when"],
        "The value you selected is not a valid choice."
    );
    let missing = api
        .post(
            "/subscription/6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00/plan",
            json!({"plan": PLAN_PRO_ID, "price": PRO_API_CALLS_PRICE_ID, "when": "instantly"}),
        )
        .await;
    assert_eq!((missing.status, missing.text.as_str()), (404, "[]"));
}

#[tokio::test]
async fn events_are_stored_not_deduplicated() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let sub = api.monthly(&customer).await;
    let r = api.event(&sub, "evt-1", "api_calls", json!(10)).await;
    assert_eq!((r.status, r.text.as_str()), (201, ""));
    let again = api.event(&sub, "evt-1", "api_calls", json!(10)).await;
    assert_eq!(again.status, 201, "a duplicate is accepted again");
    assert_eq!(
        api.event(&sub, "evt-2", "api_calls", json!(-2.5))
            .await
            .status,
        201
    );
    assert_eq!(
        api.event(&sub, "evt-3", "storage_gb", json!(0))
            .await
            .status,
        201
    );
    let extra = api
        .post(
            "/events",
            json!({"event_id": "evt-4", "subscription": sub, "code": "api_calls",
                                "value": 1, "customer": "ignored", "timestamp": 1}),
        )
        .await;
    assert_eq!(extra.status, 201, "extra keys are ignored");
    assert_eq!(api.sim.event_count(), 5);
    assert_eq!(api.sim.distinct_event_ids(), 4);
    let stored = api.sim.events_for(&sub);
    assert_eq!(
        stored[0],
        ("evt-1".to_owned(), "api_calls".to_owned(), 10.0)
    );
    assert_eq!(stored[1], stored[0]);

    let unknown_code = api.event(&sub, "e", "nope", json!(1)).await;
    assert_eq!(unknown_code.status, 400);
    assert_eq!(
        unknown_code.json["errors"]["code"],
        "The code \"nope\" does not exist."
    );
    let bad_value = api.event(&sub, "e", "api_calls", json!("5")).await;
    assert_eq!(
        bad_value.json["errors"]["value"],
        "This value should be of type integer|float."
    );
    let blank = api
        .post(
            "/events",
            json!({"subscription": sub, "code": "api_calls", "value": 1}),
        )
        .await;
    assert_eq!(
        blank.json["errors"]["event_id"],
        "This value should not be blank."
    );
    let unknown_sub = api
        .event(
            "6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00",
            "e",
            "api_calls",
            json!(1),
        )
        .await;
    assert_eq!(unknown_sub.status, 400);
    assert!(unknown_sub.json["errors"]["subscription"].is_string());
    assert_eq!(
        api.event("not-a-uuid", "e", "api_calls", json!(1))
            .await
            .status,
        500
    );
    assert_eq!(api.raw_post("/events", "{").await.status, 500);
    assert_eq!(api.sim.event_count(), 5);
}

#[tokio::test]
async fn costs_by_metric_name_with_total() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let empty = api.costs(&customer).await;
    assert_eq!(
        empty,
        json!({"total": {"amount": 0, "currency": ""}, "costs": []})
    );

    let sub = api.monthly(&customer).await;
    for (id, value) in [("e1", 100), ("e1", 100), ("e2", 50)] {
        assert_eq!(
            api.event(&sub, id, "api_calls", json!(value)).await.status,
            201
        );
    }
    // storage_gb is not this subscription's metric: stored, never counted.
    api.event(&sub, "e3", "storage_gb", json!(7)).await;
    let costs = api.costs(&customer).await;
    assert_eq!(
        costs,
        json!({"total": {"amount": 150, "currency": "USD"},
               "costs": [{"name": "API calls", "amount": 150, "currency": "USD", "usage": 150.0}]}),
        "duplicates collapse within one counter update"
    );

    let storage = api
        .subscribe(
            &customer,
            json!({"subscription_plan": PLAN_STARTER_ID, "price": STARTER_STORAGE_GB_PRICE_ID}),
        )
        .await;
    let storage = storage["id"].as_str().unwrap();
    api.event(storage, "s1", "storage_gb", json!(2.5)).await;
    // A base-price subscription has no usage price: no costs item.
    api.subscribe(
        &customer,
        json!({"subscription_plan": PLAN_STARTER_ID, "price": STARTER_BASE_PRICE_ID}),
    )
    .await;
    let costs = api.costs(&customer).await;
    assert_eq!(costs["costs"].as_array().unwrap().len(), 2);
    assert_eq!(costs["costs"][1]["name"], "Storage (GB)");
    assert_eq!(costs["costs"][1]["amount"], 25);
    assert_eq!(costs["total"]["amount"], 175);

    api.post(
        &format!("/subscription/{sub}/cancel"),
        json!({"when": "instantly"}),
    )
    .await;
    let costs = api.costs(&customer).await;
    assert_eq!(
        costs["costs"].as_array().unwrap().len(),
        1,
        "only active subscriptions"
    );

    let missing = api
        .get("/customer/6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00/costs")
        .await;
    assert_eq!((missing.status, missing.text.as_str()), (404, ""));
    assert_eq!(api.get("/customer/nope/costs").await.status, 404);
}

#[tokio::test]
async fn counters_lag_until_the_cron_runs() {
    let api = Api::with(BillaBearSimConfig {
        counters_auto_update: false,
        ..BillaBearSimConfig::default()
    })
    .await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let sub = api.monthly(&customer).await;
    api.event(&sub, "e1", "api_calls", json!(5)).await;
    api.event(&sub, "e1", "api_calls", json!(5)).await;
    let lagging = api.costs(&customer).await;
    assert_eq!(
        lagging["costs"][0]["usage"], 0.0,
        "the counter has not run yet"
    );
    assert_eq!(lagging["total"]["currency"], "USD");

    api.sim.update_counters();
    assert_eq!(api.costs(&customer).await["costs"][0]["usage"], 5.0);

    // The same event id after the counter ran is counted again.
    api.event(&sub, "e1", "api_calls", json!(5)).await;
    api.sim.update_counters();
    assert_eq!(api.costs(&customer).await["costs"][0]["usage"], 10.0);
    api.sim.update_counters();
    assert_eq!(
        api.costs(&customer).await["costs"][0]["usage"],
        10.0,
        "idempotent"
    );
}

#[tokio::test]
async fn one_counter_per_customer_and_metric() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let a = api.monthly(&customer).await;
    api.event(&a, "e1", "api_calls", json!(30)).await;
    assert_eq!(api.costs(&customer).await["costs"][0]["usage"], 30.0);

    // Starting another api_calls subscription invoices it, which resets the shared counter.
    let b = api.monthly(&customer).await;
    let costs = api.costs(&customer).await;
    assert_eq!(
        costs["costs"].as_array().unwrap().len(),
        2,
        "one item per subscription"
    );
    assert_eq!(costs["costs"][0]["usage"], 0.0);
    api.event(&a, "e2", "api_calls", json!(4)).await;
    api.event(&b, "e3", "api_calls", json!(6)).await;
    let costs = api.costs(&customer).await;
    // `a` is updated first and moves the shared counter's mark: `b`'s event is never counted.
    assert_eq!(costs["costs"][0]["usage"], 4.0);
    assert_eq!(
        costs["costs"][1]["usage"], 4.0,
        "both items read the same counter"
    );
    assert_eq!(costs["total"]["amount"], 8);

    // Neither a disabled customer nor a cancelled subscription stops event intake.
    api.post(&format!("/customer/{customer}/disable"), json!({}))
        .await;
    api.post(
        &format!("/subscription/{a}/cancel"),
        json!({"when": "instantly"}),
    )
    .await;
    assert_eq!(api.event(&a, "e4", "api_calls", json!(1)).await.status, 201);
    assert_eq!(api.sim.events_for(&a).len(), 3);
}

#[tokio::test]
async fn periods_renew_with_the_clock_and_reset_usage() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let sub = api.monthly(&customer).await;
    let first = api.get(&format!("/subscription/{sub}")).await.json;
    api.event(&sub, "e1", "api_calls", json!(40)).await;
    assert_eq!(api.costs(&customer).await["total"]["amount"], 40);

    api.sim.advance_clock(chrono::Duration::days(32));
    let renewed = api.get(&format!("/subscription/{sub}")).await.json;
    assert_eq!(renewed["status"], "active");
    assert_ne!(renewed["valid_until"], first["valid_until"]);
    assert_eq!(
        api.costs(&customer).await["costs"][0]["usage"],
        0.0,
        "the invoice reset the counter"
    );

    // An end-of-run cancellation is never completed by the server.
    api.post(&format!("/subscription/{sub}/cancel"), json!({}))
        .await;
    api.sim.advance_clock(chrono::Duration::days(62));
    let after = api.get(&format!("/subscription/{sub}")).await.json;
    assert_eq!(after["status"], "pending_cancel");
    assert_eq!(after["valid_until"], renewed["valid_until"], "no renewal");
}

#[tokio::test]
async fn global_subscription_list_and_plans() {
    let api = Api::start().await;
    let c1 = api.customer(json!({"email": "a@example.org"})).await;
    let c2 = api.customer(json!({"email": "b@example.org"})).await;
    for c in [&c1, &c1, &c2] {
        api.monthly(c).await;
    }
    let r = api.get("/subscription?per_page=2").await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
    assert_eq!(r.json["has_more"], true);
    let next = api
        .get(&format!(
            "/subscription?per_page=2&last_key={}",
            r.json["last_key"].as_str().unwrap()
        ))
        .await;
    assert_eq!(next.json["data"].as_array().unwrap().len(), 1);
    let all_ids: Vec<String> = api.get("/subscription").await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let previous = api
        .get(&format!(
            "/subscription?per_page=1&first_key={}",
            all_ids[2]
        ))
        .await;
    assert_eq!(
        previous.json["data"][0]["id"],
        all_ids[0].as_str(),
        "Parthenon reverses before cutting: the row next to the cursor is skipped"
    );
    assert_eq!(previous.json["has_more"], true);
    let mine = api.get(&format!("/subscription?customer={c2}")).await;
    assert_eq!(mine.json["data"].as_array().unwrap().len(), 1);
    let limit_param = api.get("/subscription?limit=1").await;
    assert_eq!(
        limit_param.json["data"].as_array().unwrap().len(),
        3,
        "`limit` is not read here"
    );
    let too_big = api.get("/subscription?per_page=101").await;
    assert_eq!(too_big.status, 413);
    assert_eq!(
        too_big.json,
        json!({"success": false, "reason": "per_page is above 100"})
    );

    let plans = api.get("/subscription/plans").await;
    assert_eq!(plans.status, 200);
    let data = plans.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], PLAN_PRO_ID, "sorted by id DESC");
    assert_eq!(plans.json["first_key"], PLAN_PRO_ID);
    assert_eq!(plans.json["last_key"], PLAN_STARTER_ID);
    let starter = &data[1];
    assert_eq!(starter["code_name"], PLAN_STARTER_CODE);
    assert_eq!(starter["product"]["name"], "Starter");
    assert_eq!(starter["prices"][0]["id"], STARTER_API_CALLS_PRICE_ID);
    assert_eq!(starter["prices"][0]["metric"]["code"], "api_calls");
    assert_eq!(starter["prices"][2]["amount"], 1000);
    assert_eq!(starter["prices"][2]["metric"], Value::Null);
    let page = api.get("/subscription/plans?limit=1").await;
    assert_eq!(page.json["has_more"], true);
    let zero = api.get("/subscription/plans?limit=0").await;
    assert_eq!(
        zero.json,
        json!({"success": false, "reason": "per_page is below 1"})
    );
}

#[tokio::test]
async fn rate_limit_faults_carry_retry_after() {
    let headers = rate_limit_headers(7);
    assert_eq!(headers["retry-after"], "7");
    let sim = BillaBearSim::start(Options {
        faults: FaultConfig {
            rate_limit: 1.0,
            rate_limit_reset_secs: 3,
            ..FaultConfig::none()
        },
        ..Options::default()
    })
    .await
    .unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}/customer", sim.api_url()))
        .header("X-API-KEY", BillaBearSim::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "3");
    assert_eq!(sim.server().log().len(), 1);
}

#[tokio::test]
async fn garbage_never_panics_the_server() {
    let api = Api::start().await;
    let customer = api.customer(json!({"email": "a@example.org"})).await;
    let sub = api.monthly(&customer).await;
    let bodies = [
        "",
        "null",
        "5",
        "\"x\"",
        "[]",
        "[1,2]",
        "{}",
        "{\"a\":",
        "\u{0}",
        r#"{"email": [], "metadata": "x", "address": 5}"#,
        r#"{"subscription_plan": [], "price": {}, "seat_number": null}"#,
        r#"{"subscription_plan": "starter-monthly", "price": 5, "currency": [], "schedule": 1}"#,
        r#"{"event_id": {}, "subscription": [], "code": 1, "value": null, "properties": 3}"#,
        r#"{"when": [], "date": {}, "plan": [], "price": true}"#,
        r#"{"when": "instantly", "date": 5, "plan": 1.5, "price": "0"}"#,
    ];
    let paths = [
        "/customer".to_owned(),
        format!("/customer/{customer}"),
        format!("/customer/{customer}/subscription/start"),
        format!("/subscription/{sub}/cancel"),
        format!("/subscription/{sub}/plan"),
        "/events".to_owned(),
    ];
    for path in &paths {
        for body in bodies {
            for method in [Method::POST, Method::PUT] {
                let r = api
                    .send(method, path, Some(body), Some(BillaBearSim::API_KEY))
                    .await;
                assert!(r.status >= 200 && r.status < 600, "{path} {body}");
            }
        }
    }
    for query in [
        "limit=%FF",
        "last_key=%",
        "limit=1e3",
        "per_page=-1&first_key=x",
        "key=nope",
    ] {
        for path in ["/customer", "/subscription", "/subscription/plans"] {
            let r = api.get(&format!("{path}?{query}")).await;
            assert!(r.status >= 200 && r.status < 600);
        }
    }
    // The server still answers normally.
    assert_eq!(api.get(&format!("/customer/{customer}")).await.status, 200);
}
