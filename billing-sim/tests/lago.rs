//! The Lago simulator against the behaviour in `vendors/lago.md`, over real HTTP.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed request should fail the test

use billing_sim::lago::{LagoSim, rate_limit_headers};
use billing_sim::{FaultConfig, SimOptions};
use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

/// A simulator pinned to 2030-03-10T12:00:00Z and a client with the right key.
struct Lago {
    sim: LagoSim,
    http: reqwest::Client,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

impl Lago {
    async fn start() -> Self {
        let sim = LagoSim::start(SimOptions::default()).await.unwrap();
        sim.set_clock(at("2030-03-10T12:00:00Z"));
        Self {
            sim,
            http: reqwest::Client::new(),
        }
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.sim.api_url()));
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.raw(method, path, Some(LagoSim::API_KEY), body).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }

    async fn customer(&self, external_id: &str, fields: Value) -> Value {
        let mut body = fields;
        body["external_id"] = json!(external_id);
        let (status, v) = self.post("/customers", json!({ "customer": body })).await;
        assert_eq!(status, 200, "{v}");
        v["customer"].clone()
    }

    async fn subscribe(&self, customer: &str, id: &str, plan: &str) -> Value {
        let (status, v) = self
            .subscribe_with(
                json!({"external_customer_id": customer, "external_id": id, "plan_code": plan}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }

    async fn subscribe_with(&self, sub: Value) -> (u16, Value) {
        let (status, v) = self
            .post("/subscriptions", json!({ "subscription": sub }))
            .await;
        (status, v.get("subscription").cloned().unwrap_or(v))
    }

    async fn event(
        &self,
        sub: &str,
        tx: &str,
        code: &str,
        props: Value,
        ts: Value,
    ) -> (u16, Value) {
        self.post(
            "/events",
            json!({"event": {"transaction_id": tx, "external_subscription_id": sub, "code": code,
                              "properties": props, "timestamp": ts}}),
        )
        .await
    }
}

fn error(status: u16, error: &str, code: &str) -> Value {
    json!({"status": status, "error": error, "code": code})
}

fn unix(s: &str) -> Value {
    json!(at(s).timestamp())
}

fn is_iso_seconds(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 20 && s.ends_with('Z') && !s.contains('.')
}

#[tokio::test]
async fn auth_root_keys_and_unknown_routes() {
    let lago = Lago::start().await;
    let unauthorized = json!({"status": 401, "error": "Unauthorized"});
    assert_eq!(
        lago.raw(Method::GET, "/customers", None, None).await,
        (401, unauthorized.clone())
    );
    assert_eq!(
        lago.raw(Method::GET, "/customers", Some("nope"), None)
            .await,
        (401, unauthorized.clone())
    );
    // The scheme word is not checked: the second token is the key.
    let resp = lago
        .http
        .get(format!("{}/customers", lago.sim.api_url()))
        .header("authorization", format!("Token {}", LagoSim::API_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = lago
        .http
        .get(format!("{}/customers", lago.sim.api_url()))
        .header("authorization", LagoSim::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "a lone token has no second word");

    let (status, body) = lago.post("/customers", json!({"external_id": "x"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"status": 400, "error": "BadRequest: param is missing or the value is empty or invalid: customer"})
    );
    let (status, _) = lago.post("/customers", json!({"customer": {}})).await;
    assert_eq!(status, 400);
    let resp = lago
        .http
        .post(format!("{}/customers", lago.sim.api_url()))
        .bearer_auth(LagoSim::API_KEY)
        .header("content-type", "application/json")
        .body("{\"customer\": {")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"status": 400, "error": "Bad Request"})
    );

    let not_found = error(404, "Not Found", "resource_not_found");
    assert_eq!(
        lago.raw(Method::GET, "/nothing", None, None).await,
        (404, not_found.clone())
    );
    assert_eq!(
        lago.get("/customers/a/nothing").await,
        (404, not_found.clone())
    );
    assert_eq!(
        lago.call(Method::PATCH, "/customers", None).await,
        (404, not_found)
    );
}

#[tokio::test]
async fn read_only_keys_get_403_on_writes() {
    let lago = Lago::start().await;
    lago.sim.add_read_only_key("reader");
    let (status, _) = lago
        .raw(Method::GET, "/customers", Some("reader"), None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = lago
        .raw(
            Method::POST,
            "/customers",
            Some("reader"),
            Some(json!({"customer": {"external_id": "c"}})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            403,
            error(403, "Forbidden", "write_action_not_allowed_for_customer")
        )
    );
    let (status, body) = lago
        .raw(
            Method::POST,
            "/events",
            Some("reader"),
            Some(json!({"event": {}})),
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("write_action_not_allowed_for_event"))
    );
}

#[tokio::test]
async fn customer_upsert_writes_only_present_keys() {
    let lago = Lago::start().await;
    let created = lago
        .customer(
            "cus-1",
            json!({"name": "Ada", "email": "ada@example.com", "country": "fr", "currency": "EUR"}),
        )
        .await;
    assert!(is_iso_seconds(&created["created_at"]) && is_iso_seconds(&created["updated_at"]));
    assert_eq!(created["country"], "FR", "country is upper-cased");
    assert_eq!(created["metadata"], json!([]));
    assert!(created["billing_configuration"].is_object());
    assert_eq!(created["timezone"], Value::Null);

    let updated = lago.customer("cus-1", json!({"name": "Ada L."})).await;
    assert_eq!(updated["lago_id"], created["lago_id"]);
    assert_eq!(updated["name"], "Ada L.");
    assert_eq!(updated["email"], "ada@example.com", "omitted keys are kept");
    let cleared = lago
        .customer("cus-1", json!({"email": null, "timezone": "Europe/Paris"}))
        .await;
    assert_eq!(cleared["email"], Value::Null, "explicit null clears");
    assert_eq!(cleared["name"], "Ada L.");
    assert_eq!(cleared["timezone"], Value::Null, "timezone is premium-only");
    assert_eq!(lago.sim.customer_count(), 1);

    let (status, got) = lago.get("/customers/cus-1").await;
    assert_eq!(status, 200);
    assert_eq!(got["customer"]["lago_id"], created["lago_id"]);
}

#[tokio::test]
async fn customer_validation_errors() {
    let lago = Lago::start().await;
    let cases = [
        (
            json!({"name": "no id"}),
            "external_id",
            "value_is_mandatory",
        ),
        (
            json!({"external_id": "c", "email": "not-an-email"}),
            "email",
            "invalid_email_format",
        ),
        (
            json!({"external_id": "c", "currency": "usd"}),
            "currency",
            "value_is_invalid",
        ),
        (
            json!({"external_id": "c", "currency": "ABC"}),
            "currency",
            "value_is_invalid",
        ),
        (
            json!({"external_id": "c", "country": "XX"}),
            "country",
            "not_a_valid_country_code",
        ),
        (
            json!({"external_id": "c", "name": "n".repeat(256)}),
            "name",
            "value_is_too_long",
        ),
    ];
    for (body, field, code) in cases {
        let (status, v) = lago.post("/customers", json!({ "customer": body })).await;
        assert_eq!(status, 422, "{v}");
        assert_eq!(
            v,
            json!({"status": 422, "error": "Unprocessable Entity", "code": "validation_errors",
                   "error_details": {field: [code]}})
        );
    }
    assert_eq!(lago.sim.customer_count(), 0, "failed upserts write nothing");
    lago.customer(
        "c",
        json!({"email": "a@b.co,billing@b.co", "currency": "KWD"}),
    )
    .await;
}

#[tokio::test]
async fn metadata_is_replaced_with_ids_and_limited() {
    let lago = Lago::start().await;
    let c = lago
        .customer(
            "m",
            json!({"metadata": [
            {"key": "plan", "value": "gold", "display_in_invoice": true},
            {"key": "team", "value": "core"}]}),
        )
        .await;
    let md = c["metadata"].as_array().unwrap().clone();
    assert_eq!(md.len(), 2);
    assert!(
        md.iter()
            .all(|m| m["lago_id"].is_string() && is_iso_seconds(&m["created_at"]))
    );
    assert_eq!(md[1]["display_in_invoice"], false);
    let plan_id = md[0]["lago_id"].clone();

    // Omitting metadata leaves it alone.
    let same = lago.customer("m", json!({"name": "x"})).await;
    assert_eq!(same["metadata"], c["metadata"]);

    // Update by id, add one, drop the unreferenced one.
    let c2 = lago
        .customer(
            "m",
            json!({"metadata": [
            {"id": plan_id, "key": "plan", "value": "platinum"},
            {"key": "region", "value": "eu"}]}),
        )
        .await;
    let md2 = c2["metadata"].as_array().unwrap();
    assert_eq!(md2.len(), 2);
    assert_eq!(md2[0]["lago_id"], plan_id);
    assert_eq!(md2[0]["value"], "platinum");
    assert_eq!(md2[1]["key"], "region");

    // Re-sending an existing key without its id collides with the row still there.
    let (status, v) = lago
        .post(
            "/customers",
            json!({"customer": {"external_id": "m", "metadata": [{"key": "plan", "value": "x"}]}}),
        )
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"key": ["value_already_exist"]}))
    );

    let six: Vec<Value> = (0..6)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    let (status, v) = lago
        .post(
            "/customers",
            json!({"customer": {"external_id": "m", "metadata": six}}),
        )
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"metadata": ["invalid_count"]}))
    );
    let (status, v) = lago
        .post("/customers", json!({"customer": {"external_id": "m2", "metadata": [{"key": "k".repeat(21), "value": "v"}]}}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"key": ["value_is_too_long"]}))
    );
    let (status, v) = lago
        .post("/customers", json!({"customer": {"external_id": "m2", "metadata": [{"key": "k", "value": "v".repeat(101)}]}}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"value": ["value_is_too_long"]}))
    );
    assert_eq!(
        lago.sim.customer_count(),
        1,
        "a rejected metadata set creates no customer"
    );
    let five: Vec<Value> = (0..5)
        .map(|i| json!({"key": "k".repeat(19) + &i.to_string(), "value": "v".repeat(100)}))
        .collect();
    let c3 = lago.customer("m", json!({"metadata": five})).await;
    assert_eq!(c3["metadata"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn customer_get_delete_and_recreate() {
    let lago = Lago::start().await;
    let not_found = error(404, "Not Found", "customer_not_found");
    assert_eq!(lago.get("/customers/ghost").await, (404, not_found.clone()));
    let first = lago.customer("gone", json!({"name": "G"})).await;
    lago.subscribe("gone", "gone-active", "starter-monthly")
        .await;
    let (status, _) = lago
        .subscribe_with(json!({"external_customer_id": "gone", "external_id": "gone-future",
                               "plan_code": "starter-monthly", "subscription_at": "2030-06-01T00:00:00Z"}))
        .await;
    assert_eq!(status, 200);

    let (status, deleted) = lago.delete("/customers/gone").await;
    assert_eq!(status, 200);
    assert_eq!(deleted["customer"]["lago_id"], first["lago_id"]);
    assert_eq!(lago.get("/customers/gone").await, (404, not_found.clone()));
    assert_eq!(lago.delete("/customers/gone").await, (404, not_found));
    assert_eq!(
        lago.get("/subscriptions/gone-active?status=terminated")
            .await
            .0,
        200
    );
    assert_eq!(
        lago.get("/subscriptions/gone-future?status=canceled")
            .await
            .0,
        200
    );

    let again = lago.customer("gone", json!({})).await;
    assert_ne!(again["lago_id"], first["lago_id"]);
    assert_eq!(again["name"], Value::Null);
}

#[tokio::test]
async fn customer_list_pagination_envelope() {
    let lago = Lago::start().await;
    let (status, empty) = lago.get("/customers").await;
    assert_eq!(status, 200);
    assert_eq!(
        empty,
        json!({"customers": [], "meta": {"current_page": 0, "next_page": null, "prev_page": null,
                                          "total_pages": 0, "total_count": 0}})
    );
    for id in ["c1", "c2", "c3"] {
        lago.customer(id, json!({})).await;
    }
    let (_, p1) = lago.get("/customers?per_page=2").await;
    let ids: Vec<&str> = p1["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c3", "c2"], "newest first");
    assert_eq!(
        p1["meta"],
        json!({"current_page": 1, "next_page": 2, "prev_page": null, "total_pages": 2, "total_count": 3})
    );
    let (_, p2) = lago.get("/customers?per_page=2&page=2").await;
    assert_eq!(p2["customers"][0]["external_id"], "c1");
    assert_eq!(
        p2["meta"],
        json!({"current_page": 2, "next_page": null, "prev_page": 1, "total_pages": 2, "total_count": 3})
    );
    let (_, p3) = lago.get("/customers?per_page=2&page=3").await;
    assert_eq!(p3["customers"], json!([]));
    assert_eq!(p3["meta"]["next_page"], Value::Null);
    let (_, one) = lago.get("/customers?external_id=c2").await;
    assert_eq!(one["customers"].as_array().unwrap().len(), 1);
    assert_eq!(one["customers"][0]["external_id"], "c2");
    let (_, default) = lago.get("/customers").await;
    assert_eq!(
        default["meta"]["total_pages"], 1,
        "per_page defaults to 100"
    );
}

#[tokio::test]
async fn customer_paths_stop_at_dots_unless_encoded() {
    let lago = Lago::start().await;
    lago.customer("a.b", json!({})).await;
    lago.customer("a", json!({"name": "plain a"})).await;
    let (_, v) = lago.get("/customers/a.b").await;
    assert_eq!(v["customer"]["name"], "plain a", "`.b` is read as a format");
    let (status, v) = lago.get("/customers/a%2Eb").await;
    assert_eq!(
        (status, v["customer"]["external_id"].clone()),
        (200, json!("a.b"))
    );
    assert_eq!(lago.get("/customers/a.b@x.com").await.0, 404);
    let (_, listed) = lago.get("/customers?external_id=a.b").await;
    assert_eq!(listed["customers"][0]["external_id"], "a.b");
}

#[tokio::test]
async fn subscription_auto_creates_the_customer() {
    let lago = Lago::start().await;
    let sub = lago.subscribe("new-cust", "sub-1", "starter-monthly").await;
    assert_eq!(lago.sim.customer_count(), 1);
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["external_customer_id"], "new-cust");
    assert_eq!(sub["plan_amount_cents"], 1000);
    assert_eq!(sub["plan"]["code"], "starter-monthly");
    assert_eq!(sub["started_at"], "2030-03-10T12:00:00.000Z");
    assert_eq!(
        sub["current_billing_period_started_at"],
        "2030-03-10T12:00:00Z"
    );
    assert_eq!(
        sub["current_billing_period_ending_at"],
        "2030-03-31T23:59:59Z"
    );
    assert_eq!(sub["name"], Value::Null);
    let (_, c) = lago.get("/customers/new-cust").await;
    assert_eq!(c["customer"]["name"], Value::Null);
    assert_eq!(
        c["customer"]["currency"], "USD",
        "the first subscription sets the currency"
    );
    assert_eq!(sub["lago_customer_id"], c["customer"]["lago_id"]);
}

#[tokio::test]
async fn subscription_create_errors() {
    let lago = Lago::start().await;
    let (status, v) = lago
        .subscribe_with(
            json!({"external_customer_id": "c", "external_id": "s", "plan_code": "nope"}),
        )
        .await;
    assert_eq!(
        (status, v),
        (404, error(404, "Not Found", "plan_not_found"))
    );
    lago.subscribe("owner", "taken", "starter-monthly").await;
    let (status, v) = lago
        .subscribe_with(json!({"external_customer_id": "other", "external_id": "taken", "plan_code": "starter-monthly"}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"external_id": ["value_already_exist"]}))
    );
    let (status, v) = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "s", "plan_code": "starter-monthly", "billing_time": "weekly"}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"billing_time": ["value_is_invalid"]}))
    );
    let (status, v) = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "s", "plan_code": "starter-monthly", "subscription_at": "soon"}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"subscription_at": ["invalid_date"]}))
    );
    let (status, v) = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "s", "plan_code": "starter-monthly", "ending_at": "2030-03-10T23:00:00Z"}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"ending_at": ["invalid_date"]}))
    );
    let (status, v) = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "s", "plan_code": "starter-monthly", "plan_overrides": {"amount_cents": 1}}))
        .await;
    assert_eq!(
        (status, v),
        (403, error(403, "Forbidden", "feature_unavailable"))
    );
    let (status, v) = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "  ", "plan_code": "starter-monthly"}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"external_id": ["value_is_mandatory"]}))
    );
    let (status, v) = lago
        .subscribe_with(json!({"external_id": "s", "plan_code": "starter-monthly"}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"external_customer_id": ["value_is_mandatory"]}))
    );
}

#[tokio::test]
async fn same_plan_returns_the_existing_subscription() {
    let lago = Lago::start().await;
    let first = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": " s1 ", "plan_code": "starter-monthly", "name": "First"}))
        .await
        .1;
    assert_eq!(first["external_id"], "s1", "ids are stripped");
    let again = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "s1", "plan_code": "starter-monthly", "name": "Renamed"}))
        .await
        .1;
    assert_eq!(again["lago_id"], first["lago_id"]);
    assert_eq!(again["name"], "First", "nothing is updated");
    assert_eq!(lago.sim.subscription_row_count(), 1);
}

#[tokio::test]
async fn upgrade_applies_now_with_a_new_row() {
    let lago = Lago::start().await;
    let old = lago.subscribe("c", "up", "starter-monthly").await;
    lago.sim.advance_clock(Duration::hours(1));
    let new = lago.subscribe("c", "up", "pro-monthly").await;
    assert_ne!(new["lago_id"], old["lago_id"]);
    assert_eq!(new["status"], "active");
    assert_eq!(new["plan_code"], "pro-monthly");
    assert_eq!(new["previous_plan_code"], "starter-monthly");
    assert_eq!(new["subscription_at"], old["subscription_at"]);
    let (_, terminated) = lago.get("/subscriptions/up?status=terminated").await;
    assert_eq!(terminated["subscription"]["lago_id"], old["lago_id"]);
    assert_eq!(
        terminated["subscription"]["terminated_at"],
        "2030-03-10T13:00:00Z"
    );
    assert_eq!(terminated["subscription"]["next_plan_code"], "pro-monthly");
    let (_, active) = lago.get("/subscriptions/up").await;
    assert_eq!(active["subscription"]["lago_id"], new["lago_id"]);
    let (_, listed) = lago
        .get("/subscriptions?external_customer_id=c&status[]=active&status[]=terminated")
        .await;
    assert_eq!(listed["meta"]["total_count"], 2);
    let (_, default) = lago.get("/subscriptions?external_customer_id=c").await;
    assert_eq!(
        default["meta"]["total_count"], 1,
        "status defaults to active"
    );
}

#[tokio::test]
async fn downgrade_is_scheduled_for_the_next_period() {
    let lago = Lago::start().await;
    let pro = lago.subscribe("c", "down", "pro-monthly").await;
    let resp = lago.subscribe("c", "down", "starter-monthly").await;
    assert_eq!(resp["lago_id"], pro["lago_id"]);
    assert_eq!(resp["plan_code"], "pro-monthly");
    assert_eq!(resp["status"], "active");
    assert_eq!(resp["next_plan_code"], "starter-monthly");
    assert_eq!(resp["downgrade_plan_date"], "2030-04-01");
    let (status, pending) = lago.get("/subscriptions/down?status=pending").await;
    assert_eq!(status, 200);
    assert_eq!(pending["subscription"]["plan_code"], "starter-monthly");
    assert_eq!(pending["subscription"]["previous_plan_code"], "pro-monthly");

    lago.sim.advance_clock(Duration::days(22));
    let (_, now) = lago.get("/subscriptions/down").await;
    assert_eq!(now["subscription"]["plan_code"], "starter-monthly");
    assert_eq!(
        now["subscription"]["lago_id"],
        pending["subscription"]["lago_id"]
    );
    assert_eq!(
        now["subscription"]["started_at"],
        "2030-04-01T00:00:00.000Z"
    );
    assert_eq!(
        now["subscription"]["current_billing_period_started_at"],
        "2030-04-01T00:00:00Z"
    );
    let (_, old) = lago.get("/subscriptions/down?status=terminated").await;
    assert_eq!(old["subscription"]["lago_id"], pro["lago_id"]);
    assert_eq!(old["subscription"]["terminated_at"], "2030-04-01T00:00:00Z");
}

#[tokio::test]
async fn future_subscriptions_are_pending_until_their_date() {
    let lago = Lago::start().await;
    let (_, sub) = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "later", "plan_code": "starter-monthly",
                               "subscription_at": "2030-03-15T08:00:00Z", "billing_time": "anniversary"}))
        .await;
    assert_eq!(sub["status"], "pending");
    assert_eq!(sub["started_at"], Value::Null);
    assert_eq!(
        lago.get("/subscriptions/later").await.1,
        error(404, "Not Found", "subscription_not_found")
    );
    assert_eq!(lago.get("/subscriptions/later?status=pending").await.0, 200);
    let (_, list) = lago.get("/subscriptions").await;
    assert_eq!(list["meta"]["total_count"], 0);
    let (_, list) = lago.get("/subscriptions?status[]=pending").await;
    assert_eq!(list["meta"]["total_count"], 1);
    let (status, v) = lago
        .get("/customers/c/current_usage?external_subscription_id=later")
        .await;
    assert_eq!(
        (status, v),
        (
            405,
            error(405, "Method Not Allowed", "no_active_subscription")
        )
    );

    lago.sim.advance_clock(Duration::days(5));
    let (status, active) = lago.get("/subscriptions/later").await;
    assert_eq!(status, 200);
    assert_eq!(
        active["subscription"]["started_at"],
        "2030-03-15T08:00:00.000Z"
    );
    assert_eq!(
        active["subscription"]["current_billing_period_ending_at"],
        "2030-04-14T23:59:59Z"
    );

    let (_, s2) = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "never", "plan_code": "starter-monthly",
                               "subscription_at": "2031-01-01T00:00:00Z"}))
        .await;
    assert_eq!(s2["status"], "pending");
    assert_eq!(
        lago.delete("/subscriptions/never").await.0,
        404,
        "DELETE targets active by default"
    );
    let (status, canceled) = lago
        .call(Method::DELETE, "/subscriptions/never?status=pending", None)
        .await;
    assert_eq!(
        (status, canceled["subscription"]["status"].clone()),
        (200, json!("canceled"))
    );
    assert!(is_iso_seconds(&canceled["subscription"]["canceled_at"]));
    assert_eq!(
        lago.call(Method::DELETE, "/subscriptions/never?status=pending", None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn terminate_twice_gives_404_and_the_id_can_be_reused() {
    let lago = Lago::start().await;
    let first = lago.subscribe("c", "t", "starter-monthly").await;
    let (status, v) = lago.delete("/subscriptions/t").await;
    assert_eq!(status, 200);
    assert_eq!(v["subscription"]["status"], "terminated");
    assert_eq!(v["subscription"]["terminated_at"], "2030-03-10T12:00:00Z");
    assert_eq!(
        lago.delete("/subscriptions/t").await,
        (404, error(404, "Not Found", "subscription_not_found"))
    );
    let (status, v) = lago
        .get("/customers/c/current_usage?external_subscription_id=t")
        .await;
    assert_eq!(
        (status, v["code"].clone()),
        (405, json!("no_active_subscription"))
    );
    let again = lago.subscribe("c", "t", "starter-monthly").await;
    assert_ne!(again["lago_id"], first["lago_id"]);
    assert_eq!(again["previous_plan_code"], Value::Null);
}

#[tokio::test]
async fn ending_at_terminates_lazily() {
    let lago = Lago::start().await;
    lago.subscribe("c", "ends", "starter-monthly").await;
    let (status, v) = lago
        .put(
            "/subscriptions/ends",
            json!({"subscription": {"ending_at": "2030-03-10T20:00:00Z"}}),
        )
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"ending_at": ["invalid_date"]})),
        "today is too early"
    );
    let (status, v) = lago
        .put("/subscriptions/ends", json!({"subscription": {"ending_at": "2030-03-20T00:00:00Z", "name": "Named", "plan_code": "pro-monthly"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["subscription"]["ending_at"], "2030-03-20T00:00:00Z");
    assert_eq!(v["subscription"]["name"], "Named");
    assert_eq!(
        v["subscription"]["plan_code"], "starter-monthly",
        "PUT ignores plan_code"
    );
    lago.sim.advance_clock(Duration::days(11));
    assert_eq!(lago.get("/subscriptions/ends").await.0, 404);
    let (_, v) = lago.get("/subscriptions/ends?status=terminated").await;
    assert_eq!(v["subscription"]["terminated_at"], "2030-03-20T00:00:00Z");
    assert_eq!(
        lago.put(
            "/subscriptions/missing",
            json!({"subscription": {"name": "x"}})
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn subscription_ids_take_any_character_but_slash() {
    let lago = Lago::start().await;
    for id in ["a.b@x.com", "a/b", "sp ace+plus"] {
        lago.subscribe("c", id, "starter-monthly").await;
    }
    let (status, v) = lago.get("/subscriptions/a.b@x.com").await;
    assert_eq!(
        (status, v["subscription"]["external_id"].clone()),
        (200, json!("a.b@x.com"))
    );
    let (status, v) = lago.get("/subscriptions/a%2Fb").await;
    assert_eq!(
        (status, v["subscription"]["external_id"].clone()),
        (200, json!("a/b"))
    );
    let (status, _) = lago.get("/subscriptions/sp%20ace+plus").await;
    assert_eq!(status, 200, "`+` is literal in a path");
    let log = lago.sim.server().log().snapshot();
    assert!(
        log.iter()
            .any(|r| r.raw_path == "/api/v1/subscriptions/a%2Fb")
    );
}

#[tokio::test]
async fn customer_subscriptions_and_list_filters() {
    let lago = Lago::start().await;
    lago.subscribe("c1", "s1", "starter-monthly").await;
    lago.sim.advance_clock(Duration::minutes(1));
    lago.subscribe("c1", "s2", "pro-monthly").await;
    lago.subscribe("c2", "s3", "pro-monthly").await;
    let (_, v) = lago.get("/customers/c1/subscriptions").await;
    let ids: Vec<&str> = v["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s2", "s1"], "subscription_at DESC");
    assert!(v["subscriptions"][0].get("plan").is_none());
    let (_, v) = lago
        .get("/subscriptions?plan_code=pro-monthly&per_page=1")
        .await;
    assert_eq!(
        v["meta"],
        json!({"current_page": 1, "next_page": 2, "prev_page": null, "total_pages": 2, "total_count": 2})
    );
    assert_eq!(
        lago.get("/customers/nobody/subscriptions").await.1["code"],
        "customer_not_found"
    );
}

#[tokio::test]
async fn events_single_ingestion_and_duplicates() {
    let lago = Lago::start().await;
    let (status, v) = lago
        .event(
            "no-such-sub",
            "tx-1",
            "no_such_metric",
            json!({"quantity": 3}),
            json!("1900000000.123"),
        )
        .await;
    assert_eq!(status, 200, "nothing is checked at ingestion: {v}");
    let e = &v["event"];
    assert_eq!(e["timestamp"], "2030-03-17T17:46:40.123Z");
    assert_eq!(e["lago_customer_id"], Value::Null);
    assert_eq!(e["external_subscription_id"], "no-such-sub");
    assert_eq!(e["properties"], json!({"quantity": 3}));
    assert!(e["lago_id"].is_string());

    let (status, v) = lago
        .event("no-such-sub", "tx-1", "x", json!({}), json!(1))
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        v,
        json!({"status": 422, "error": "Unprocessable Entity", "code": "validation_errors",
               "error_details": {"transaction_id": ["value_already_exist"]}})
    );
    let (status, _) = lago
        .event("other-sub", "tx-1", "x", json!({}), json!(1))
        .await;
    assert_eq!(
        status, 200,
        "the same transaction_id under another subscription is fine"
    );

    let (status, v) = lago
        .event("s", "tx-2", "x", json!({}), json!("2030-03-10T12:00:00Z"))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"timestamp": ["invalid_format"]}))
    );
    let (status, v) = lago
        .post(
            "/events",
            json!({"event": {"external_subscription_id": "s", "timestamp": 1}}),
        )
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (
            422,
            json!({"transaction_id": ["value_is_mandatory"], "code": ["value_is_mandatory"]})
        )
    );
    let (status, v) = lago.post("/events", json!({"event": {"transaction_id": "tx-3", "external_subscription_id": "s", "code": "c"}})).await;
    assert_eq!(status, 200);
    assert_eq!(
        v["event"]["timestamp"], "2030-03-10T12:00:00.000Z",
        "missing timestamp: reception time"
    );
    assert_eq!(lago.sim.event_count(), 3);
    assert_eq!(
        lago.sim.events_for("no-such-sub"),
        vec![("tx-1".to_owned(), json!({"quantity": 3}))]
    );

    let (status, v) = lago.get("/events/tx-1").await;
    assert_eq!(
        (status, v["event"]["external_subscription_id"].clone()),
        (200, json!("no-such-sub"))
    );
    assert_eq!(
        lago.get("/events/none").await.1,
        error(404, "Not Found", "event_not_found")
    );
}

#[tokio::test]
async fn batch_is_all_or_nothing_with_index_keyed_errors() {
    let lago = Lago::start().await;
    let ev = |tx: &str, ts: Value| json!({"transaction_id": tx, "external_subscription_id": "s", "code": "api_calls", "timestamp": ts, "properties": {"quantity": "1"}});
    let (status, v) = lago
        .post("/events/batch", json!({"events": [ev("old", json!(1))]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["events"].as_array().unwrap().len(), 1);

    let batch = json!({"events": [
        ev("a", json!(1900000000)),
        ev("b", json!("yesterday")),
        ev("old", json!(1)),
        ev("a", json!(1900000001)),
        ev("c", json!(1900000002.5)),
    ]});
    let (status, v) = lago.post("/events/batch", batch).await;
    assert_eq!(status, 422);
    assert_eq!(
        v,
        json!({"status": 422, "error": "Unprocessable Entity", "code": "validation_errors", "error_details": {
            "1": {"timestamp": ["invalid_format"]},
            "2": {"transaction_id": ["value_already_exist"]},
            "3": {"transaction_id": ["value_already_exist"]}}})
    );
    assert_eq!(
        lago.sim.event_count(),
        1,
        "nothing of a failed batch is stored"
    );

    let many: Vec<Value> = (0..101).map(|i| ev(&format!("m{i}"), json!(1))).collect();
    let (status, v) = lago.post("/events/batch", json!({ "events": many })).await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"events": ["too_many_events"]}))
    );
    let (status, v) = lago.post("/events/batch", json!({"events": []})).await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"events": ["no_events"]}))
    );

    let hundred: Vec<Value> = (0..100)
        .map(|i| ev(&format!("h{i}"), json!(1900000000 + i)))
        .collect();
    let (status, v) = lago
        .post("/events/batch", json!({ "events": hundred.clone() }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["events"][99]["transaction_id"], "h99");
    assert_eq!(lago.sim.event_count(), 101);
    // A replayed successful batch fails entirely, every index a duplicate.
    let (status, v) = lago
        .post("/events/batch", json!({ "events": hundred }))
        .await;
    assert_eq!(status, 422);
    let details = v["error_details"].as_object().unwrap();
    assert_eq!(details.len(), 100);
    assert!(
        details
            .values()
            .all(|d| *d == json!({"transaction_id": ["value_already_exist"]}))
    );
}

#[tokio::test]
async fn current_usage_sums_exact_decimals_in_the_period() {
    let lago = Lago::start().await;
    lago.subscribe("cu", "use", "starter-monthly").await;
    let now = "2030-03-10T12:30:00Z";
    for (tx, code, q, ts) in [
        ("1", "api_calls", json!(0.1), unix(now)),
        ("2", "api_calls", json!("0.2"), unix(now)),
        ("3", "storage_gb", json!("12.5"), unix(now)),
        ("4", "api_calls", json!(1000), unix("2030-02-20T00:00:00Z")),
        ("5", "api_calls", json!(1000), unix("2030-03-10T11:00:00Z")),
        ("6", "api_calls", json!("abc"), unix(now)),
        ("7", "logins", json!(1), unix(now)),
    ] {
        let (status, v) = lago
            .event("use", tx, code, json!({ "quantity": q }), ts)
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, v) = lago
        .get("/customers/cu/current_usage?external_subscription_id=use")
        .await;
    assert_eq!(status, 200, "{v}");
    let u = &v["customer_usage"];
    assert_eq!(u["from_datetime"], "2030-03-10T12:00:00Z");
    assert_eq!(u["to_datetime"], "2030-03-31T23:59:59Z");
    assert_eq!(u["issuing_date"], "2030-04-01");
    assert_eq!(u["currency"], "USD");
    assert_eq!(u["lago_invoice_id"], Value::Null);
    let lines = u["charges_usage"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "one entry per charge");
    let api = lines
        .iter()
        .find(|l| l["billable_metric"]["code"] == "api_calls")
        .unwrap();
    assert_eq!(
        api["units"], "0.3",
        "before the start and last month do not count"
    );
    // The Postgres store counts only events whose property is numeric: "abc" is not.
    assert_eq!(api["events_count"], 2);
    assert_eq!(api["amount_cents"], 0);
    assert_eq!(api["billable_metric"]["aggregation_type"], "sum_agg");
    assert_eq!(api["charge"]["charge_model"], "standard");
    let storage = lines
        .iter()
        .find(|l| l["billable_metric"]["code"] == "storage_gb")
        .unwrap();
    assert_eq!(storage["units"], "12.5");
    assert_eq!(storage["amount_cents"], 125);
    assert_eq!(u["amount_cents"], 125);
    assert_eq!(u["total_amount_cents"], 125);

    let (_, v) = lago.get("/customers/cu/current_usage?external_subscription_id=use&billable_metric_code=storage_gb").await;
    assert_eq!(
        v["customer_usage"]["charges_usage"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, v) = lago
        .get("/customers/cu/current_usage?external_subscription_id=use&billable_metric_code=logins")
        .await;
    assert_eq!(
        (status, v),
        (404, error(404, "Not Found", "charge_not_found"))
    );
    assert_eq!(
        lago.get("/customers/nobody/current_usage?external_subscription_id=use")
            .await
            .0,
        404
    );
    lago.customer("other", json!({})).await;
    assert_eq!(
        lago.get("/customers/other/current_usage?external_subscription_id=use")
            .await
            .0,
        405
    );
    assert_eq!(
        lago.get("/customers/cu/current_usage?external_subscription_id=nope")
            .await
            .0,
        405
    );
    assert_eq!(lago.get("/customers/cu/current_usage").await.0, 405);
}

#[tokio::test]
async fn count_metric_through_created_catalog() {
    let lago = Lago::start().await;
    let (status, metric) = lago.get("/billable_metrics/logins").await;
    assert_eq!(status, 200);
    assert_eq!(metric["billable_metric"]["aggregation_type"], "count_agg");
    let (status, plan) = lago
        .post("/plans", json!({"plan": {"name": "Logins", "code": "logins-monthly", "interval": "monthly",
            "amount_cents": 0, "amount_currency": "USD", "pay_in_advance": false,
            "charges": [{"billable_metric_id": metric["billable_metric"]["lago_id"], "charge_model": "standard",
                         "properties": {"amount": "0.05"}}]}}))
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["plan"]["charges"][0]["billable_metric_code"], "logins");
    lago.subscribe("c", "l", "logins-monthly").await;
    for tx in ["a", "b", "c"] {
        assert_eq!(
            lago.event("l", tx, "logins", json!({}), unix("2030-03-10T13:00:00Z"))
                .await
                .0,
            200
        );
    }
    let (_, v) = lago
        .get("/customers/c/current_usage?external_subscription_id=l")
        .await;
    let line = &v["customer_usage"]["charges_usage"][0];
    assert_eq!(
        (line["units"].clone(), line["amount_cents"].clone()),
        (json!("3.0"), json!(15))
    );

    let (status, v) = lago
        .post("/billable_metrics", json!({"billable_metric": {"name": "Seats", "code": "seats", "aggregation_type": "sum_agg"}}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"field_name": ["value_is_mandatory"]}))
    );
    let (status, v) = lago
        .post("/billable_metrics", json!({"billable_metric": {"name": "Seats", "code": "logins", "aggregation_type": "count_agg"}}))
        .await;
    assert_eq!(
        (status, v["error_details"].clone()),
        (422, json!({"code": ["value_already_exist"]}))
    );
}

#[tokio::test]
async fn seeded_catalog_shapes() {
    let lago = Lago::start().await;
    let (_, plans) = lago.get("/plans").await;
    let codes: Vec<&str> = plans["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"starter-monthly") && codes.contains(&"pro-monthly"));
    assert_eq!(plans["meta"]["total_count"], 2);
    let (_, starter) = lago.get("/plans/starter-monthly").await;
    let p = &starter["plan"];
    assert_eq!(
        (
            p["amount_cents"].clone(),
            p["amount_currency"].clone(),
            p["interval"].clone()
        ),
        (json!(1000), json!("USD"), json!("monthly"))
    );
    assert_eq!(p["pay_in_advance"], false);
    let amounts: Vec<(Value, Value)> = p["charges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["billable_metric_code"].clone(),
                c["properties"]["amount"].clone(),
            )
        })
        .collect();
    assert_eq!(
        amounts,
        vec![
            (json!("api_calls"), json!("0.01")),
            (json!("storage_gb"), json!("0.10"))
        ]
    );
    assert_eq!(
        lago.get("/plans/pro-monthly").await.1["plan"]["amount_cents"],
        5000
    );
    let (_, metrics) = lago.get("/billable_metrics").await;
    assert_eq!(metrics["meta"]["total_count"], 3);
    for code in ["api_calls", "storage_gb"] {
        let (_, m) = lago.get(&format!("/billable_metrics/{code}")).await;
        assert_eq!(m["billable_metric"]["aggregation_type"], "sum_agg");
        assert_eq!(m["billable_metric"]["field_name"], "quantity");
    }
    assert_eq!(lago.get("/plans/nope").await.1["code"], "plan_not_found");
    assert_eq!(
        lago.get("/billable_metrics/nope").await.1["code"],
        "billable_metric_not_found"
    );
}

#[tokio::test]
async fn injected_429_carries_lago_cloud_headers() {
    let sim = LagoSim::start(SimOptions {
        faults: FaultConfig {
            rate_limit: 1.0,
            rate_limit_reset_secs: 3,
            ..FaultConfig::none()
        },
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}/customers", sim.api_url()))
        .bearer_auth(LagoSim::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-ratelimit-reset"], "3");
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(rate_limit_headers(9)["x-ratelimit-limit"], "50");
}

#[tokio::test]
async fn malformed_input_never_breaks_the_server() {
    let lago = Lago::start().await;
    let bodies = [
        json!(null),
        json!([]),
        json!("x"),
        json!(42),
        json!({"customer": {"external_id": ["a"], "metadata": [1, null, {"key": {}}], "net_payment_term": "x", "shipping_address": 3}}),
        json!({"subscription": {"external_customer_id": {}, "plan_code": [], "external_id": 1, "ending_at": 5}}),
        json!({"event": {"transaction_id": {}, "timestamp": {"a": 1}, "properties": [1]}}),
        json!({"events": [null, 1, "x", {"timestamp": 1e300}]}),
        json!({"events": {"0": {}}}),
        json!({"plan": {"charges": [1, {"billable_metric_id": null}]}}),
    ];
    let paths = [
        "/customers",
        "/subscriptions",
        "/events",
        "/events/batch",
        "/plans",
        "/billable_metrics",
    ];
    for path in paths {
        for body in &bodies {
            let (status, v) = lago.post(path, body.clone()).await;
            assert!(
                [200, 400, 404, 422].contains(&status),
                "{path} {body} -> {status} {v}"
            );
            assert!(v.is_object(), "{path} {body} -> {v}");
        }
    }
    for path in [
        "/customers?page=-1&per_page=abc",
        "/subscriptions?status[]=weird",
        "/customers/%FF",
        "/events?timestamp_from=bad",
    ] {
        let (status, _) = lago.get(path).await;
        assert!(status < 500, "{path} -> {status}");
    }
    assert_eq!(lago.get("/customers").await.0, 200, "still serving");
}

#[tokio::test]
async fn backdated_anniversary_and_upgrade_cancels_a_scheduled_downgrade() {
    let lago = Lago::start().await;
    let (status, sub) = lago
        .subscribe_with(json!({"external_customer_id": "c", "external_id": "ann", "plan_code": "pro-monthly",
                               "subscription_at": "2030-01-20T06:00:00Z", "billing_time": "anniversary"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["billing_time"], "anniversary");
    assert_eq!(sub["started_at"], "2030-01-20T06:00:00.000Z");
    assert_eq!(
        sub["current_billing_period_started_at"],
        "2030-02-20T00:00:00Z"
    );
    assert_eq!(
        sub["current_billing_period_ending_at"],
        "2030-03-19T23:59:59Z"
    );

    let down = lago.subscribe("c", "ann", "starter-monthly").await;
    assert_eq!(down["downgrade_plan_date"], "2030-03-20");
    let pending = lago.get("/subscriptions/ann?status=pending").await.1["subscription"].clone();
    // Re-sending the current plan is the idempotent case: the scheduled change stays.
    let same = lago.subscribe("c", "ann", "pro-monthly").await;
    assert_eq!(same["next_plan_code"], "starter-monthly");
    // A real upgrade applies now and cancels the scheduled change.
    let (status, _) = lago
        .post("/plans", json!({"plan": {"name": "Enterprise", "code": "enterprise-monthly", "interval": "monthly",
            "amount_cents": 9000, "amount_currency": "USD", "pay_in_advance": false, "charges": []}}))
        .await;
    assert_eq!(status, 200);
    let up = lago.subscribe("c", "ann", "enterprise-monthly").await;
    assert_eq!(up["previous_plan_code"], "pro-monthly");
    assert_eq!(up["next_plan_code"], Value::Null);
    assert_eq!(
        up["lago_id"],
        lago.get("/subscriptions/ann").await.1["subscription"]["lago_id"]
    );
    assert_eq!(lago.get("/subscriptions/ann?status=pending").await.0, 404);
    let (_, canceled) = lago.get("/subscriptions/ann?status=canceled").await;
    assert_eq!(canceled["subscription"]["lago_id"], pending["lago_id"]);
    assert_eq!(lago.sim.subscription_row_count(), 3);
}

#[tokio::test]
async fn events_list_and_resolution_after_processing() {
    let lago = Lago::start().await;
    let sub = lago.subscribe("c", "s", "starter-monthly").await;
    for (tx, ts) in [("a", "2030-03-10T12:00:01Z"), ("b", "2030-03-10T12:00:02Z")] {
        assert_eq!(
            lago.event("s", tx, "api_calls", json!({"quantity": 1}), unix(ts))
                .await
                .0,
            200
        );
    }
    assert_eq!(
        lago.event("x", "c", "logins", json!({}), unix("2030-03-10T12:00:03Z"))
            .await
            .0,
        200
    );
    let (_, v) = lago
        .get("/events?external_subscription_id=s&per_page=1")
        .await;
    assert_eq!(v["events"][0]["transaction_id"], "b", "newest first");
    assert_eq!(v["meta"]["total_count"], 2);
    assert_eq!(v["events"][0]["lago_subscription_id"], sub["lago_id"]);
    assert_eq!(v["events"][0]["lago_customer_id"], sub["lago_customer_id"]);
    let (_, v) = lago.get("/events?code=logins").await;
    assert_eq!(v["events"][0]["lago_subscription_id"], Value::Null);
}

#[tokio::test]
async fn standalone_handle_serves_until_dropped() {
    let sim = LagoSim::start(SimOptions::default()).await.unwrap();
    let url = format!("{}/plans", sim.api_url());
    let server = tokio::spawn(sim.into_server().wait());
    let resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth(LagoSim::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "state survives the handle");
    server.abort();
}
