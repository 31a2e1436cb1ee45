//! The Kill Bill simulator over HTTP: each behaviour an adapter relies on, as
//! `shared/vendors/killbill.md` and the observed real server describe it.
// Helpers outside `#[test]` functions panic on purpose: a failed request fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_sim::SimOptions;
use billing_sim::killbill::KillBillSim;
use chrono::TimeZone;
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

struct Kb {
    sim: KillBillSim,
    http: reqwest::Client,
}

impl Kb {
    async fn start() -> Self {
        let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
        // A fixed mid-morning time: tests that move the clock by hours must not cross midnight
        // depending on when they run.
        sim.set_clock(
            chrono::Utc
                .with_ymd_and_hms(2026, 3, 10, 10, 0, 0)
                .single()
                .unwrap(),
        );
        Kb {
            sim,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// A request with basic auth, tenant headers and CreatedBy.
    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.bare(method, path)
            .basic_auth(KillBillSim::USERNAME, Some(KillBillSim::PASSWORD))
            .header("X-Killbill-ApiKey", KillBillSim::API_KEY)
            .header("X-Killbill-ApiSecret", KillBillSim::API_SECRET)
            .header("X-Killbill-CreatedBy", "test")
    }

    fn bare(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    async fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().await.unwrap()
    }

    async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Response {
        self.req(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn put(&self, path: &str, body: Value) -> Response {
        self.req(Method::PUT, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn delete(&self, path: &str) -> Response {
        self.req(Method::DELETE, path).send().await.unwrap()
    }

    async fn create_account(&self, key: &str) -> String {
        let resp = self
            .post(
                "/1.0/kb/accounts",
                json!({"name": key, "email": "a@example.com", "currency": "USD", "externalKey": key}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        id_from_location(&resp)
    }

    async fn create_subscription(&self, account: &str, key: &str, plan: &str) -> String {
        let resp = self
            .post(
                "/1.0/kb/subscriptions",
                json!({"accountId": account, "planName": plan, "externalKey": key}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        id_from_location(&resp)
    }

    async fn subscription(&self, id: &str) -> Value {
        self.get_json(&format!("/1.0/kb/subscriptions/{id}")).await
    }

    async fn record(
        &self,
        sub: &str,
        tracking: &str,
        unit: &str,
        date: &str,
        amount: &str,
    ) -> Response {
        let body = format!(
            r#"{{"subscriptionId":"{sub}","trackingId":"{tracking}","unitUsageRecords":[{{"unitType":"{unit}","usageRecords":[{{"recordDate":"{date}","amount":{amount}}}]}}]}}"#
        );
        self.req(Method::POST, "/1.0/kb/usages")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

fn id_from_location(resp: &Response) -> String {
    let location = resp.headers()["location"].to_str().unwrap();
    location.rsplit('/').next().unwrap().to_owned()
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Asserts that a Joda date-time in `value` falls in `[before, after]`: the simulator's clock
/// moves with real time, as the server's does.
fn assert_between(value: &Value, before: DateTime<Utc>, after: DateTime<Utc>) {
    let t = ts(value.as_str().unwrap());
    assert!(before <= t && t <= after, "{t} not in [{before}, {after}]");
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

async fn error(resp: Response, status: StatusCode) -> Value {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    for key in [
        "className",
        "code",
        "message",
        "causeClassName",
        "causeMessage",
    ] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    assert_eq!(body["stackTrace"], json!([]));
    body
}

async fn html(resp: Response, status: StatusCode) -> String {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "text/html;charset=utf-8");
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("<!doctype html>"), "{text}");
    text
}

#[tokio::test]
async fn account_create_is_201_with_empty_body_and_full_location() {
    let kb = Kb::start().await;
    let before = kb.sim.now();
    let resp = kb
        .post(
            "/1.0/kb/accounts",
            json!({"name": "A", "currency": "USD", "externalKey": "c1"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/1.0/kb/accounts/", kb.sim.base_url())));
    assert_eq!(resp.text().await.unwrap(), "");
    let id = location.rsplit('/').next().unwrap();
    let account = kb.get_json(&format!("/1.0/kb/accounts/{id}")).await;
    assert_eq!(account["accountId"], id);
    assert_eq!(account["externalKey"], "c1");
    assert_eq!(account["billCycleDayLocal"], 0);
    assert_eq!(account["timeZone"], "UTC");
    assert_between(&account["referenceTime"], before, kb.sim.now());
    assert_eq!(account["isMigrated"], Value::Null);
    assert_eq!(account["accountBalance"], Value::Null);
    assert_eq!(account["auditLogs"], json!([]));
    assert_eq!(kb.sim.account_count(), 1);

    let dup = kb
        .post(
            "/1.0/kb/accounts",
            json!({"name": "B", "externalKey": "c1"}),
        )
        .await;
    let body = error(dup, StatusCode::CONFLICT).await;
    assert_eq!(body["code"], 3000);
    assert_eq!(body["message"], "Account already exists for key c1");
    assert_eq!(kb.sim.account_count(), 1);
}

#[tokio::test]
async fn account_lookups_and_their_errors() {
    let kb = Kb::start().await;
    let id = kb.create_account("c1").await;
    let by_key = kb.get_json("/1.0/kb/accounts?externalKey=c1").await;
    assert_eq!(by_key["accountId"], id.as_str());

    let body = error(
        kb.get("/1.0/kb/accounts?externalKey=nope").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["code"], 3003);

    // Unknown id: the tenant-context lookup fails first (observed), code null.
    let body = error(
        kb.get("/1.0/kb/accounts/00000000-0000-0000-0000-000000000001")
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["code"], Value::Null);
    assert!(
        body["className"]
            .as_str()
            .unwrap()
            .ends_with("$ObjectDoesNotExist")
    );

    // Path not matching \w+-\w+-\w+-\w+-\w+: no resource, a container page.
    html(
        kb.get("/1.0/kb/accounts/not-a-uuid").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Matching the pattern but not a UUID: 400 JSON.
    let body = error(
        kb.get("/1.0/kb/accounts/zz-b-c-d-e").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["className"], "java.lang.IllegalArgumentException");
}

#[tokio::test]
async fn account_update_is_partial_and_refuses_immutable_fields() {
    let kb = Kb::start().await;
    let id = kb.create_account("c1").await;
    let path = format!("/1.0/kb/accounts/{id}");
    let resp = kb
        .put(&path, json!({"name": "Renamed", "email": null}))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let account = kb.get_json(&path).await;
    assert_eq!(account["name"], "Renamed");
    assert_eq!(account["email"], "a@example.com", "null fields are ignored");
    assert_eq!(account["currency"], "USD");

    // Same values are fine; different ones are refused.
    let same = kb
        .put(
            &path,
            json!({"externalKey": "c1", "currency": "USD", "timeZone": "UTC"}),
        )
        .await;
    assert_eq!(same.status(), StatusCode::NO_CONTENT);
    for body in [
        json!({"externalKey": "c2"}),
        json!({"currency": "EUR"}),
        json!({"timeZone": "Europe/Paris"}),
    ] {
        let err = error(kb.put(&path, body.clone()).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(
            err["className"], "java.lang.IllegalArgumentException",
            "{body}"
        );
    }
    // The BCD can be set once (the first subscription sets it), then not changed.
    kb.create_subscription(&id, "s1", "starter-monthly").await;
    let bcd = kb.get_json(&path).await["billCycleDayLocal"]
        .as_i64()
        .unwrap();
    assert!(bcd >= 1);
    let other = if bcd == 1 { 2 } else { 1 };
    let err = error(
        kb.put(&path, json!({"billCycleDayLocal": other})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("BCD"));
    assert_eq!(kb.get_json(&path).await["externalKey"], "c1");
}

#[tokio::test]
async fn closing_an_account_keeps_it_readable_and_marks_it_closed() {
    let kb = Kb::start().await;
    let id = kb.create_account("c1").await;
    let sub = kb.create_subscription(&id, "s1", "starter-monthly").await;
    let path = format!("/1.0/kb/accounts/{id}");
    let before = kb.get_json(&path).await;

    let resp = kb
        .delete(&format!("{path}?cancelAllSubscriptions=true"))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        kb.get_json(&path).await,
        before,
        "AccountJson has no closed flag"
    );

    let tags = kb.get_json(&format!("{path}/tags")).await;
    assert_eq!(tags[0]["tagDefinitionName"], "AUTO_INVOICING_OFF");
    assert_eq!(
        tags[0]["tagDefinitionId"],
        "00000000-0000-0000-0000-000000000002"
    );
    let block = kb.get_json(&format!("{path}/block")).await;
    let close = block
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["stateName"] == "CLOSE_ACCOUNT")
        .expect("CLOSE_ACCOUNT blocking state");
    assert_eq!(close["service"], "account-service");
    assert_eq!(close["type"], "ACCOUNT");
    assert_eq!(close["blockedId"], id.as_str());
    assert_eq!(close["isBlockChange"], true);
    let only_account = kb
        .get_json(&format!("{path}/block?blockingStateTypes=ACCOUNT"))
        .await;
    assert_eq!(only_account.as_array().unwrap().len(), 1);

    let s = kb.subscription(&sub).await;
    assert_eq!(s["state"], "CANCELLED");
    assert!(
        s["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["eventType"] == "SERVICE_STATE_CHANGE"
                && e["serviceStateName"] == "CLOSE_ACCOUNT")
    );

    let list = kb.get_json("/1.0/kb/accounts/pagination").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "closed accounts stay listed"
    );
    assert_eq!(
        kb.delete(&path).await.status(),
        StatusCode::NO_CONTENT,
        "closing twice"
    );
    let blocked = kb
        .post(
            "/1.0/kb/subscriptions",
            json!({"accountId": id, "planName": "starter-monthly"}),
        )
        .await;
    assert_eq!(error(blocked, StatusCode::BAD_REQUEST).await["code"], 6000);
    let dup = kb
        .post("/1.0/kb/accounts", json!({"externalKey": "c1"}))
        .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT, "the key stays taken");
}

#[tokio::test]
async fn pagination_headers_and_stopping() {
    let kb = Kb::start().await;
    for i in 0..5 {
        kb.create_account(&format!("c{i}")).await;
    }
    let mut next = Some("/1.0/kb/accounts/pagination?offset=0&limit=2".to_owned());
    let mut keys = Vec::new();
    let mut pages = 0;
    while let Some(path) = next {
        let resp = kb.get(&path).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers().clone();
        assert_eq!(h["x-killbill-pagination-totalnbrecords"], "5");
        assert_eq!(h["x-killbill-pagination-maxnbrecords"], "5");
        let offset: usize = h["x-killbill-pagination-currentoffset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(offset, pages * 2);
        next = h
            .get("x-killbill-pagination-nextpageuri")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            h.contains_key("x-killbill-pagination-nextoffset"),
            next.is_some()
        );
        if let Some(uri) = &next {
            assert!(uri.starts_with(&format!(
                "/1.0/kb/accounts/pagination?offset={}&limit=2&",
                offset + 2
            )));
            assert!(uri.contains("audit=NONE"));
        }
        let page: Vec<Value> = resp.json().await.unwrap();
        keys.extend(
            page.iter()
                .map(|a| a["externalKey"].as_str().unwrap().to_owned()),
        );
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(keys, ["c0", "c1", "c2", "c3", "c4"]);
    // A non-numeric offset fails JAX-RS param conversion: 404 page.
    html(
        kb.get("/1.0/kb/accounts/pagination?offset=x").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn subscription_create_read_and_list() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let resp = kb
        .post(
            "/1.0/kb/subscriptions",
            json!({"accountId": account, "planName": "starter-monthly", "externalKey": "s1"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/1.0/kb/subscriptions/", kb.sim.base_url())));
    assert_eq!(resp.text().await.unwrap(), "");
    let id = location.rsplit('/').next().unwrap().to_owned();

    let now = kb.sim.now();
    let raw = kb
        .get("/1.0/kb/subscriptions?externalKey=s1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        raw.contains(r#""recurringPrice":10.00"#),
        "exact decimals: {raw}"
    );
    let s: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(s["subscriptionId"], id.as_str());
    assert_eq!(s["accountId"], account.as_str());
    assert_eq!(s["externalKey"], "s1");
    assert_eq!(
        s["bundleExternalKey"], s["bundleId"],
        "bundle key defaults to its id"
    );
    assert_eq!(s["planName"], "starter-monthly");
    assert_eq!(s["productName"], "Starter");
    assert_eq!(s["productCategory"], "BASE");
    assert_eq!(s["billingPeriod"], "MONTHLY");
    assert_eq!(s["priceList"], "DEFAULT");
    assert_eq!(s["phaseType"], "EVERGREEN");
    assert_eq!(s["state"], "ACTIVE");
    assert_eq!(s["startDate"], fmt(now));
    assert_eq!(s["billingStartDate"], fmt(now));
    assert_eq!(s["cancelledDate"], Value::Null);
    assert_eq!(s["billingEndDate"], Value::Null);
    let month_later = now.checked_add_months(chrono::Months::new(1)).unwrap();
    assert_eq!(
        s["chargedThroughDate"],
        month_later.format("%Y-%m-%d").to_string()
    );
    let types: Vec<&str> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["START_ENTITLEMENT", "START_BILLING"]);

    let body = error(
        kb.get("/1.0/kb/subscriptions?externalKey=nope").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["code"], 1083);

    // Bundles list every subscription of the account, cancelled ones included.
    let second = kb.create_subscription(&account, "s2", "pro-monthly").await;
    assert_eq!(
        kb.delete(&format!(
            "/1.0/kb/subscriptions/{second}?entitlementPolicy=IMMEDIATE"
        ))
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let bundles = kb
        .get_json(&format!("/1.0/kb/accounts/{account}/bundles"))
        .await;
    let subs: Vec<(String, String)> = bundles
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["subscriptions"].as_array().unwrap().clone())
        .map(|s| {
            (
                s["externalKey"].as_str().unwrap().to_owned(),
                s["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        subs,
        [
            ("s1".to_owned(), "ACTIVE".to_owned()),
            ("s2".to_owned(), "CANCELLED".to_owned())
        ]
    );
    assert!(bundles[0]["timeline"]["events"].is_array());
}

#[tokio::test]
async fn subscription_create_errors() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let mixed = kb
        .post(
            "/1.0/kb/subscriptions",
            json!({"accountId": account, "planName": "starter-monthly", "productName": "Starter"}),
        )
        .await;
    let body = error(mixed, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        body["message"],
        "SubscriptionJson productName should not be set when planName is specified"
    );
    let unknown_plan = kb
        .post(
            "/1.0/kb/subscriptions",
            json!({"accountId": account, "planName": "gold-monthly"}),
        )
        .await;
    assert_eq!(
        error(unknown_plan, StatusCode::BAD_REQUEST).await["code"],
        2021
    );
    let unknown_account = kb
        .post(
            "/1.0/kb/subscriptions",
            json!({"accountId": "00000000-0000-0000-0000-0000000000ff", "planName": "starter-monthly"}),
        )
        .await;
    assert_eq!(unknown_account.status(), StatusCode::NOT_FOUND);

    kb.create_subscription(&account, "s1", "starter-monthly")
        .await;
    let dup = kb
        .post(
            "/1.0/kb/subscriptions",
            json!({"accountId": account, "planName": "pro-monthly", "externalKey": "s1"}),
        )
        .await;
    let body = error(dup, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert_eq!(body["className"], "java.lang.RuntimeException");
    assert_eq!(body["code"], Value::Null);
    assert_eq!(kb.sim.subscription_count(), 1);

    let with_bundle = json!({"accountId": account, "planName": "starter-monthly", "externalKey": "s2", "bundleExternalKey": "b1"});
    assert_eq!(
        kb.post("/1.0/kb/subscriptions", with_bundle).await.status(),
        StatusCode::CREATED
    );
    let second_base = json!({"accountId": account, "planName": "pro-monthly", "externalKey": "s3", "bundleExternalKey": "b1"});
    let body = error(
        kb.post("/1.0/kb/subscriptions", second_base).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["code"], 1015);
}

#[tokio::test]
async fn cancel_end_of_term_versus_immediate() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let eot = kb
        .create_subscription(&account, "eot", "starter-monthly")
        .await;
    let imm = kb
        .create_subscription(&account, "imm", "starter-monthly")
        .await;
    // The term ends on the bill-cycle day at the account's reference time of day.
    let reference = kb.get_json(&format!("/1.0/kb/accounts/{account}")).await["referenceTime"]
        .as_str()
        .map(ts)
        .unwrap();
    let term_end = fmt(reference
        .checked_add_months(chrono::Months::new(1))
        .unwrap());

    let resp = kb
        .delete(&format!(
            "/1.0/kb/subscriptions/{eot}?entitlementPolicy=END_OF_TERM&billingPolicy=END_OF_TERM"
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let s = kb.subscription(&eot).await;
    assert_eq!(s["state"], "ACTIVE", "a scheduled cancel stays ACTIVE");
    assert_eq!(s["cancelledDate"], term_end.as_str());
    assert_eq!(s["billingEndDate"], term_end.as_str());
    let last: Vec<&str> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(&last[2..], ["STOP_ENTITLEMENT", "STOP_BILLING"]);

    let resp = kb
        .delete(&format!(
            "/1.0/kb/subscriptions/{imm}?entitlementPolicy=IMMEDIATE"
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let s = kb.subscription(&imm).await;
    assert_eq!(s["state"], "CANCELLED");
    assert_eq!(
        s["cancelledDate"], s["startDate"],
        "dated at the start on the start day"
    );
    assert_eq!(
        s["billingEndDate"],
        term_end.as_str(),
        "billing follows the catalog's END_OF_TERM"
    );

    kb.sim.advance_clock(Duration::days(31));
    let s = kb.subscription(&eot).await;
    assert_eq!(s["state"], "CANCELLED");
    assert_eq!(s["cancelledDate"], term_end.as_str());
}

#[tokio::test]
async fn cancelling_twice() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let sub = kb
        .create_subscription(&account, "s1", "starter-monthly")
        .await;
    let path = format!("/1.0/kb/subscriptions/{sub}");
    // A pending END_OF_TERM cancel can be replaced by an IMMEDIATE one (observed).
    assert_eq!(
        kb.delete(&format!("{path}?entitlementPolicy=END_OF_TERM"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        kb.delete(&format!("{path}?entitlementPolicy=IMMEDIATE"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(kb.subscription(&sub).await["state"], "CANCELLED");
    for query in ["?entitlementPolicy=IMMEDIATE", ""] {
        let body = error(
            kb.delete(&format!("{path}{query}")).await,
            StatusCode::INTERNAL_SERVER_ERROR,
        )
        .await;
        assert_eq!(body["code"], 1031);
        assert_eq!(
            body["className"],
            "org.killbill.billing.entitlement.api.EntitlementApiException"
        );
    }
    // No parameters: the entitlement stops at once, billing at the end of the term.
    let other = kb
        .create_subscription(&account, "s2", "starter-monthly")
        .await;
    let before = kb.sim.now();
    kb.delete(&format!("/1.0/kb/subscriptions/{other}")).await;
    let s = kb.subscription(&other).await;
    assert_eq!(s["state"], "CANCELLED");
    assert_between(&s["cancelledDate"], before, kb.sim.now());
    assert_ne!(s["billingEndDate"], s["cancelledDate"]);
}

#[tokio::test]
async fn change_plan_now_or_at_end_of_term() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let now_sub = kb
        .create_subscription(&account, "now", "starter-monthly")
        .await;
    let eot_sub = kb
        .create_subscription(&account, "eot", "starter-monthly")
        .await;
    let pro = json!({"planName": "pro-monthly"});

    let before = kb.sim.now();
    let resp = kb
        .put(
            &format!("/1.0/kb/subscriptions/{now_sub}?billingPolicy=IMMEDIATE"),
            pro.clone(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let s = kb.subscription(&now_sub).await;
    assert_eq!(s["planName"], "pro-monthly");
    assert_eq!(s["productName"], "Pro");
    let change = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventType"] == "CHANGE")
        .unwrap()
        .clone();
    assert_between(&change["effectiveDate"], before, kb.sim.now());

    let resp = kb
        .put(
            &format!("/1.0/kb/subscriptions/{eot_sub}?billingPolicy=END_OF_TERM"),
            pro.clone(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let s = kb.subscription(&eot_sub).await;
    assert_eq!(s["planName"], "starter-monthly", "the change is pending");
    let change = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventType"] == "CHANGE")
        .unwrap()
        .clone();
    assert_eq!(change["plan"], "pro-monthly");
    let effective = ts(change["effectiveDate"].as_str().unwrap());
    assert!(effective > kb.sim.now());
    assert_eq!(
        effective.format("%Y-%m-%d").to_string(),
        s["chargedThroughDate"].as_str().unwrap()
    );
    kb.sim.advance_clock(Duration::days(32));
    assert_eq!(kb.subscription(&eot_sub).await["planName"], "pro-monthly");

    let both = kb
        .put(
            &format!(
                "/1.0/kb/subscriptions/{eot_sub}?billingPolicy=IMMEDIATE&requestedDate=2030-01-01"
            ),
            pro.clone(),
        )
        .await;
    let body = error(both, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        body["message"],
        "Only one of requestedDate or billingPolicy should be specified"
    );

    // Pending cancel: 400/1022. Cancelled: 400/6000 (observed; the notes say 500/1021).
    kb.delete(&format!(
        "/1.0/kb/subscriptions/{eot_sub}?entitlementPolicy=END_OF_TERM"
    ))
    .await;
    let body = error(
        kb.put(
            &format!("/1.0/kb/subscriptions/{eot_sub}?billingPolicy=IMMEDIATE"),
            pro.clone(),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["code"], 1022);
    kb.delete(&format!(
        "/1.0/kb/subscriptions/{now_sub}?entitlementPolicy=IMMEDIATE"
    ))
    .await;
    let body = error(
        kb.put(
            &format!("/1.0/kb/subscriptions/{now_sub}?billingPolicy=IMMEDIATE"),
            pro,
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["code"], 6000);
}

#[tokio::test]
async fn usage_is_deduplicated_by_tracking_id_and_accepted_as_a_whole() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let sub = kb
        .create_subscription(&account, "s1", "starter-monthly")
        .await;
    let date = fmt(kb.sim.now());
    let resp = kb.record(&sub, "evt-1", "api_calls", &date, "2.5").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.text().await.unwrap(), "");

    let dup = kb.record(&sub, "evt-1", "api_calls", &date, "7").await;
    let body = error(dup, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        body["className"],
        "org.killbill.billing.usage.api.UsageApiException"
    );
    assert_eq!(body["code"], 50000);
    assert_eq!(
        body["message"],
        "A usage record with tracking ID evt-1 already exists"
    );
    assert_eq!(kb.sim.usage_record_count(), 1);

    // A batch: one trackingId for every row of the POST; a repeat is rejected whole.
    let batch = json!({"subscriptionId": sub, "trackingId": "batch", "unitUsageRecords": [
        {"unitType": "api_calls", "usageRecords": [{"recordDate": date, "amount": 1}, {"recordDate": date, "amount": 2}]},
        {"unitType": "storage_gb", "usageRecords": [{"recordDate": date, "amount": 0.5}]}]});
    assert_eq!(
        kb.post("/1.0/kb/usages", batch.clone()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        kb.post("/1.0/kb/usages", batch).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(kb.sim.usage_record_count(), 4);
    let rows = kb.sim.usage_records_for(&sub);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].0, "evt-1");
    assert_eq!(
        rows[3],
        ("batch".into(), "storage_gb".into(), Decimal::new(5, 1))
    );

    // The same trackingId on another subscription is accepted.
    let other = kb
        .create_subscription(&account, "s2", "starter-monthly")
        .await;
    let resp = kb.record(&other, "evt-1", "api_calls", &date, "1").await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    // A record that fails validation rejects the whole POST.
    let bad = json!({"subscriptionId": sub, "trackingId": "bad", "unitUsageRecords": [
        {"unitType": "api_calls", "usageRecords": [{"recordDate": date, "amount": 1}]},
        {"unitType": "storage_gb", "usageRecords": [{"recordDate": date}]}]});
    let body = error(
        kb.post("/1.0/kb/usages", bad).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["message"], "UsageRecordJson amount needs to be set");
    assert_eq!(kb.sim.usage_record_count(), 5);
}

#[tokio::test]
async fn usage_validation_errors() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let sub = kb
        .create_subscription(&account, "s1", "starter-monthly")
        .await;
    let date = fmt(kb.sim.now());
    let cases = [
        (
            json!({"unitUsageRecords": []}),
            "SubscriptionUsageRecordJson subscriptionId needs to be set",
        ),
        (
            json!({"subscriptionId": sub, "unitUsageRecords": []}),
            "json.getUnitUsageRecords() is empty",
        ),
        (
            json!({"subscriptionId": sub, "unitUsageRecords": [{"usageRecords": [{"recordDate": date, "amount": 1}]}]}),
            "UnitUsageRecordJson unitType need to be set",
        ),
        (
            json!({"subscriptionId": sub, "unitUsageRecords": [{"unitType": "api_calls", "usageRecords": []}]}),
            "UnitUsageRecordJson usageRecords must have at least one element.",
        ),
    ];
    for (body, message) in cases {
        let err = error(
            kb.post("/1.0/kb/usages", body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(err["message"], message);
    }
    // decimal(18,9): ten integer digits do not fit; nine fractional digits are kept exactly.
    let too_big = kb
        .record(&sub, "big", "api_calls", &date, "1234567890")
        .await;
    error(too_big, StatusCode::BAD_REQUEST).await;
    let fine = kb
        .record(&sub, "fine", "api_calls", &date, "333333333.333333333")
        .await;
    assert_eq!(fine.status(), StatusCode::CREATED);
    assert_eq!(
        kb.sim.usage_records_for(&sub)[0].2,
        "333333333.333333333".parse::<Decimal>().unwrap()
    );
    let unknown = kb
        .record(
            "00000000-0000-0000-0000-0000000000aa",
            "x",
            "api_calls",
            &date,
            "1",
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn usage_after_the_subscription_end_is_a_bare_400() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let sub = kb
        .create_subscription(&account, "s1", "starter-monthly")
        .await;
    let start = ts(kb.subscription(&sub).await["startDate"].as_str().unwrap());
    kb.sim.advance_clock(Duration::hours(2));
    kb.delete(&format!(
        "/1.0/kb/subscriptions/{sub}?entitlementPolicy=IMMEDIATE"
    ))
    .await;
    // IMMEDIATE means today at the account's reference time, no earlier than the start: on the
    // start day the entitlement ends at the start, so usage recorded since is refused.
    let end = ts(kb.subscription(&sub).await["cancelledDate"]
        .as_str()
        .unwrap());
    assert_eq!(end, start);
    let text = html(
        kb.record(
            &sub,
            "late",
            "api_calls",
            &fmt(start + Duration::minutes(1)),
            "1",
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(text.contains("HTTP Status 400"));
    assert_eq!(kb.sim.usage_record_count(), 0);
    let ok = kb.record(&sub, "at-end", "api_calls", &fmt(end), "1").await;
    assert_eq!(
        ok.status(),
        StatusCode::CREATED,
        "the end itself is not after the end"
    );
}

#[tokio::test]
async fn rolled_up_usage_sums_exactly_over_a_half_open_range() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let sub = kb
        .create_subscription(&account, "s1", "starter-monthly")
        .await;
    let t0 = "2030-01-01T00:00:00.000Z";
    kb.record(&sub, "a", "api_calls", t0, "0.1").await;
    kb.record(&sub, "b", "api_calls", "2030-01-15T12:00:00Z", "0.2")
        .await;
    kb.record(&sub, "c", "api_calls", "2030-02-01T00:00:00Z", "100")
        .await;
    kb.record(&sub, "d", "storage_gb", "2030-01-02", "0.125")
        .await;

    let raw = kb
        .get(&format!(
            "/1.0/kb/usages/{sub}/api_calls?startDate=2030-01-01&endDate=2030-02-01"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(raw.contains(r#""amount":0.300000000"#), "{raw}");
    let v: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["subscriptionId"], sub.as_str());
    assert_eq!(v["startDate"], "2030-01-01T00:00:00.000Z");
    assert_eq!(v["endDate"], "2030-02-01T00:00:00.000Z");
    assert_eq!(v["rolledUpUnits"].as_array().unwrap().len(), 1);
    let sum: Decimal = v["rolledUpUnits"][0]["amount"].to_string().parse().unwrap();
    assert_eq!(sum, Decimal::new(3, 1));

    // The end is exclusive, the start inclusive; date-times work too.
    let next = kb
        .get(&format!(
            "/1.0/kb/usages/{sub}/api_calls?startDate=2030-02-01T00:00:00Z&endDate=2030-03-01"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(next.contains(r#""amount":100.000000000"#), "{next}");

    let all = kb
        .get_json(&format!(
            "/1.0/kb/usages/{sub}?startDate=2030-01-01&endDate=2030-02-01"
        ))
        .await;
    let units: Vec<&str> = all["rolledUpUnits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unitType"].as_str().unwrap())
        .collect();
    assert_eq!(units.len(), 2);
    assert!(units.contains(&"api_calls") && units.contains(&"storage_gb"));

    let empty = kb
        .get_json(&format!(
            "/1.0/kb/usages/{sub}/api_calls?startDate=2020-01-01&endDate=2020-02-01"
        ))
        .await;
    assert_eq!(empty["rolledUpUnits"], json!([]));

    for query in ["?startDate=2030-01-01", "?endDate=2030-01-01", ""] {
        html(
            kb.get(&format!("/1.0/kb/usages/{sub}/api_calls{query}"))
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let bad_date = kb
        .get(&format!(
            "/1.0/kb/usages/{sub}?startDate=soon&endDate=2030-01-01"
        ))
        .await;
    error(bad_date, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn authentication_and_audit_headers() {
    let kb = Kb::start().await;
    let path = "/1.0/kb/accounts?externalKey=x";
    let no_basic = kb
        .bare(Method::GET, path)
        .header("X-Killbill-ApiKey", "bob")
        .header("X-Killbill-ApiSecret", "lazar")
        .send()
        .await
        .unwrap();
    assert_eq!(no_basic.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        no_basic.headers()["www-authenticate"],
        "BASIC realm=\"application\""
    );
    assert_eq!(no_basic.text().await.unwrap(), "");

    let wrong_password = kb
        .bare(Method::GET, path)
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);

    let no_tenant = kb
        .bare(Method::GET, path)
        .basic_auth("admin", Some("password"))
        .send()
        .await
        .unwrap();
    let text = html(no_tenant, StatusCode::UNAUTHORIZED).await;
    assert!(
        text.contains("Make sure to set the X-Killbill-ApiKey and X-Killbill-ApiSecret headers")
    );

    let wrong_secret = kb
        .bare(Method::GET, path)
        .basic_auth("admin", Some("password"))
        .header("X-Killbill-ApiKey", "bob")
        .header("X-Killbill-ApiSecret", "nope")
        .send()
        .await
        .unwrap();
    html(wrong_secret, StatusCode::UNAUTHORIZED).await;

    let no_created_by = kb
        .bare(Method::POST, "/1.0/kb/accounts")
        .basic_auth("admin", Some("password"))
        .header("X-Killbill-ApiKey", "bob")
        .header("X-Killbill-ApiSecret", "lazar")
        .json(&json!({"externalKey": "x"}))
        .send()
        .await
        .unwrap();
    let body = error(no_created_by, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        body["message"],
        "Header X-Killbill-CreatedBy needs to be set"
    );
    assert_eq!(kb.sim.account_count(), 0);

    let health = kb
        .bare(Method::GET, "/1.0/healthcheck")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn tenants_are_isolated() {
    let kb = Kb::start().await;
    kb.create_account("shared-key").await;
    let create = kb
        .bare(Method::POST, "/1.0/kb/tenants")
        .basic_auth("admin", Some("password"))
        .header("X-Killbill-CreatedBy", "test")
        .json(&json!({"apiKey": "alice", "apiSecret": "secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::CREATED);
    assert!(
        create.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/1.0/kb/tenants/")
    );
    let dup = kb
        .post(
            "/1.0/kb/tenants",
            json!({"apiKey": "alice", "apiSecret": "x"}),
        )
        .await;
    assert_eq!(error(dup, StatusCode::CONFLICT).await["code"], 20000);

    let as_alice = |method: Method, path: &str| {
        kb.bare(method, path)
            .basic_auth("admin", Some("password"))
            .header("X-Killbill-ApiKey", "alice")
            .header("X-Killbill-ApiSecret", "secret")
            .header("X-Killbill-CreatedBy", "test")
    };
    let missing = as_alice(Method::GET, "/1.0/kb/accounts?externalKey=shared-key")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let created = as_alice(Method::POST, "/1.0/kb/accounts")
        .json(&json!({"externalKey": "shared-key"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "keys are unique per tenant"
    );
    let versions: Value = as_alice(Method::GET, "/1.0/kb/catalog/versions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        versions,
        json!([]),
        "a new tenant has only the empty template"
    );
}

#[tokio::test]
async fn catalog_and_faults() {
    let kb = Kb::start().await;
    let versions = kb.get_json("/1.0/kb/catalog/versions").await;
    assert_eq!(versions, json!(["2020-01-01T00:00:00.000Z"]));
    // Without `Accept: application/json` the server answers XML (observed with curl's `*/*`).
    let xml = kb.get("/1.0/kb/catalog").await;
    assert_eq!(xml.status(), StatusCode::OK);
    assert_eq!(xml.headers()["content-type"], "text/xml");
    let text = xml.text().await.unwrap();
    assert!(
        text.starts_with("<?xml") && text.contains("<unit name=\"api_calls\""),
        "{text}"
    );
    let catalog: Value = kb
        .req(Method::GET, "/1.0/kb/catalog")
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let units: Vec<&str> = catalog[0]["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["api_calls", "storage_gb"]);
    let plans: Vec<Value> = catalog[0]["products"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["plans"].as_array().unwrap().clone())
        .collect();
    let starter = plans
        .iter()
        .find(|p| p["name"] == "starter-monthly")
        .unwrap();
    assert_eq!(starter["billingPeriod"], "MONTHLY");
    let usages = starter["phases"][0]["usages"].as_array().unwrap();
    assert_eq!(usages.len(), 2);
    assert_eq!(usages[0]["tiers"][0]["blocks"][0]["unit"], "api_calls");
    assert!(plans.iter().any(|p| p["name"] == "pro-monthly"));
    // A catalog Kill Bill refuses: CAT_INVALID_FOR_TENANT.
    let upload = kb
        .req(Method::POST, "/1.0/kb/catalog/xml")
        .header("Content-Type", "text/xml")
        .header("X-Killbill-CreatedBy", "test")
        .body("<catalog/>")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::BAD_REQUEST);
    let refused: Value = upload.json().await.unwrap();
    assert_eq!(refused["code"], 2080);

    kb.sim.server().faults().set(billing_sim::FaultConfig {
        rate_limit: 1.0,
        rate_limit_reset_secs: 3,
        ..billing_sim::FaultConfig::none()
    });
    let limited = kb.get("/1.0/kb/catalog").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "3");
    assert!(!kb.sim.server().log().is_empty());
}

#[tokio::test]
async fn malformed_input_gets_an_answer() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let sub = kb
        .create_subscription(&account, "s1", "starter-monthly")
        .await;
    let bodies = [
        "",
        "null",
        "[]",
        "{",
        "\"x\"",
        r#"{"currency":"XYZ"}"#,
        r#"{"referenceTime":"yesterday"}"#,
        r#"{"timeZone":"not a zone"}"#,
        r#"{"accountId":"nope","planName":"starter-monthly"}"#,
        r#"{"productCategory":"GOLD"}"#,
        r#"{"subscriptionId":"00000000-0000-0000-0000-000000000000","unitUsageRecords":[{"unitType":"u","usageRecords":[{"recordDate":true,"amount":1}]}]}"#,
        r#"{"unitUsageRecords":[{"unitType":"u","usageRecords":[{"recordDate":"2024-01-01T10:00+€1","amount":"1e999"}]}]}"#,
        r#"{"unitUsageRecords":[{"unitType":"u","usageRecords":null}]}"#,
    ];
    let paths = [
        (Method::POST, "/1.0/kb/accounts".to_owned()),
        (Method::PUT, format!("/1.0/kb/accounts/{account}")),
        (Method::POST, "/1.0/kb/subscriptions".to_owned()),
        (
            Method::PUT,
            format!("/1.0/kb/subscriptions/{sub}?requestedDate=%ZZ"),
        ),
        (Method::POST, "/1.0/kb/usages".to_owned()),
        (Method::POST, "/1.0/kb/tenants".to_owned()),
    ];
    for (method, path) in &paths {
        for body in bodies {
            let resp = kb
                .req(method.clone(), path)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {path} {body}: {e}"));
            assert!(
                resp.status().is_client_error() || resp.status().is_success(),
                "{method} {path} {body}: {}",
                resp.status()
            );
        }
    }
    for path in [
        "/1.0/kb/accounts/a-b-c-d-e",
        "/1.0/kb/accounts/%E2%82%AC-b-c-d-e",
        "/1.0/kb/usages/a-b-c-d-e/x?startDate=2024-13-45&endDate=x",
        "/1.0/kb/accounts/pagination?offset=-3&limit=-2",
        "/1.0/kb/subscriptions?externalKey",
        "/1.0/kb/nothing/here",
    ] {
        let resp = kb.get(path).await;
        assert!(
            resp.status().is_client_error() || resp.status().is_success(),
            "{path}"
        );
    }
    let cancel = kb
        .delete(&format!(
            "/1.0/kb/subscriptions/{sub}?requestedDate=1999-01-01&entitlementPolicy=SOMETIME"
        ))
        .await;
    assert_eq!(
        cancel.status(),
        StatusCode::NOT_FOUND,
        "bad enum query param"
    );
}

#[tokio::test]
async fn bundle_keys_uncancel_and_the_test_clock() {
    let kb = Kb::start().await;
    let account = kb.create_account("c1").await;
    let first = json!({"accountId": account, "planName": "starter-monthly", "externalKey": "s1", "bundleExternalKey": "b1"});
    let resp = kb.post("/1.0/kb/subscriptions", first).await;
    let s1 = id_from_location(&resp);
    kb.delete(&format!(
        "/1.0/kb/subscriptions/{s1}?entitlementPolicy=IMMEDIATE"
    ))
    .await;
    // The bundle is unused now: its key moves to the new bundle, the old one is renamed.
    let second = json!({"accountId": account, "planName": "pro-monthly", "externalKey": "s2", "bundleExternalKey": "b1"});
    assert_eq!(
        kb.post("/1.0/kb/subscriptions", second).await.status(),
        StatusCode::CREATED
    );
    let active = kb.get_json("/1.0/kb/bundles?externalKey=b1").await;
    assert_eq!(active.as_array().unwrap().len(), 1);
    assert_eq!(active[0]["subscriptions"][0]["externalKey"], "s2");
    let all = kb
        .get_json("/1.0/kb/bundles?externalKey=b1&includedDeleted=true")
        .await;
    let keys: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["externalKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(
        keys[0].starts_with("kbcncl-") && keys[0].ends_with(":b1"),
        "{keys:?}"
    );
    let missing = kb.get("/1.0/kb/bundles?externalKey=nope").await;
    assert_eq!(error(missing, StatusCode::NOT_FOUND).await["code"], 1084);

    // A pending cancellation can be undone; a finished one cannot.
    let s3 = kb
        .create_subscription(&account, "s3", "starter-monthly")
        .await;
    let path = format!("/1.0/kb/subscriptions/{s3}");
    kb.delete(&format!("{path}?entitlementPolicy=END_OF_TERM"))
        .await;
    assert_eq!(
        kb.req(Method::PUT, &format!("{path}/uncancel"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let s = kb.subscription(&s3).await;
    assert_eq!(s["cancelledDate"], Value::Null);
    assert_eq!(s["billingEndDate"], Value::Null);
    let again = kb
        .req(Method::PUT, &format!("{path}/uncancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(error(again, StatusCode::BAD_REQUEST).await["code"], 8004);
}

#[tokio::test]
async fn the_test_clock_moves_with_real_time_and_can_be_set_and_moved() {
    let kb = Kb::start().await;
    let clock_at = |v: &Value| ts(v["currentUtcTime"].as_str().unwrap());

    let before = kb.sim.now();
    let clock = kb.get_json("/1.0/kb/test/clock").await;
    assert_between(
        &clock["currentUtcTime"],
        before,
        kb.sim.now() + Duration::seconds(1),
    );
    assert_eq!(clock["timeZone"], "UTC");
    assert_eq!(clock["localDate"], "2026-03-10");

    // PUT moves it by days, weeks, months or years (checked in that order: days win) and answers
    // the time.
    let moved = kb.put("/1.0/kb/test/clock?days=3", json!(null)).await;
    assert_eq!(moved.status(), StatusCode::OK);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["localDate"], "2026-03-13");
    let days_win: Value = kb
        .put("/1.0/kb/test/clock?months=1&days=2", json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(days_win["localDate"], "2026-03-15");
    let months: Value = kb
        .put("/1.0/kb/test/clock?months=1", json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(months["localDate"], "2026-04-15");
    assert!(clock_at(&months) > clock_at(&moved));

    // POST sets it; it then moves on with real time. Without a date it is real time again.
    let set: Value = kb
        .post(
            "/1.0/kb/test/clock?requestedDate=2027-01-31T08:00:00.000Z",
            json!(null),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(set["localDate"], "2027-01-31");
    let t = clock_at(&set);
    assert!(t >= ts("2027-01-31T08:00:00Z") && t < ts("2027-01-31T08:01:00Z"));
    let end_of_month: Value = kb
        .put("/1.0/kb/test/clock?months=1", json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        end_of_month["localDate"], "2027-02-28",
        "Joda plusMonths clamps the day"
    );
    let bad = kb
        .post("/1.0/kb/test/clock?requestedDate=tomorrow", json!(null))
        .await;
    assert_eq!(
        error(bad, StatusCode::BAD_REQUEST).await["className"],
        "java.lang.IllegalArgumentException"
    );
    let real: Value = kb
        .post("/1.0/kb/test/clock", json!(null))
        .await
        .json()
        .await
        .unwrap();
    let wall = chrono::Utc::now();
    assert!((clock_at(&real) - wall).num_seconds().abs() < 60);

    // A subscription starts when it is created, not when the simulator started.
    let account = kb.create_account("late").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let sub = kb
        .create_subscription(&account, "late-sub", "starter-monthly")
        .await;
    let started = ts(kb.subscription(&sub).await["startDate"].as_str().unwrap());
    assert!(
        started > clock_at(&real),
        "{started} after {}",
        clock_at(&real)
    );
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    k.sort();
    k
}

/// The sequence recorded on the real server for its `sub-1` (OBSERVED.md): change to pro now,
/// cancel END_OF_TERM, then IMMEDIATE, then a third time.
#[tokio::test]
async fn replays_the_observed_subscription_history() {
    let kb = Kb::start().await;
    let account = kb.create_account("cust-1").await;
    let start = kb.sim.now();
    let sub = kb
        .create_subscription(&account, "sub-1", "starter-monthly")
        .await;
    let path = format!("/1.0/kb/subscriptions/{sub}");
    kb.sim.advance_clock(Duration::seconds(22));
    let pro = json!({"planName": "pro-monthly"});
    kb.put(&format!("{path}?billingPolicy=IMMEDIATE"), pro)
        .await;
    kb.sim.advance_clock(Duration::seconds(20));
    kb.delete(&format!("{path}?entitlementPolicy=END_OF_TERM"))
        .await;
    let term_end = fmt(start.checked_add_months(chrono::Months::new(1)).unwrap());
    let s = kb.subscription(&sub).await;
    assert_eq!(
        (&s["state"], &s["cancelledDate"]),
        (&json!("ACTIVE"), &json!(term_end))
    );
    kb.delete(&format!("{path}?entitlementPolicy=IMMEDIATE"))
        .await;
    let s = kb.subscription(&sub).await;
    assert_eq!(s["state"], "CANCELLED");
    assert_eq!(s["planName"], "pro-monthly");
    assert_eq!(s["cancelledDate"], fmt(start));
    assert_eq!(s["billingEndDate"], term_end.as_str());
    assert_eq!(s["chargedThroughDate"], term_end[..10].to_owned().as_str());
    let events: Vec<(&str, &str)> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap(),
                e["plan"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("START_ENTITLEMENT", "starter-monthly"),
            ("START_BILLING", "starter-monthly"),
            ("STOP_ENTITLEMENT", "pro-monthly"),
            ("CHANGE", "pro-monthly"),
            ("STOP_BILLING", "pro-monthly"),
        ]
    );
    let prices: Vec<&str> = s["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["planName"].as_str().unwrap())
        .collect();
    assert_eq!(prices, ["starter-monthly", "pro-monthly"]);
    assert_eq!(
        kb.delete(&format!("{path}?entitlementPolicy=IMMEDIATE"))
            .await
            .status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );

    // The JSON shapes carry exactly the observed fields.
    assert_eq!(
        keys(&s),
        sorted(&[
            "accountId",
            "bundleId",
            "bundleExternalKey",
            "subscriptionId",
            "externalKey",
            "startDate",
            "productName",
            "productCategory",
            "billingPeriod",
            "phaseType",
            "priceList",
            "planName",
            "state",
            "sourceType",
            "cancelledDate",
            "chargedThroughDate",
            "billingStartDate",
            "billingEndDate",
            "billCycleDayLocal",
            "quantity",
            "events",
            "priceOverrides",
            "prices",
            "auditLogs",
        ])
    );
    assert_eq!(
        keys(&s["events"][0]),
        sorted(&[
            "eventId",
            "billingPeriod",
            "effectiveDate",
            "catalogEffectiveDate",
            "plan",
            "product",
            "priceList",
            "eventType",
            "isBlockedBilling",
            "isBlockedEntitlement",
            "serviceName",
            "serviceStateName",
            "phase",
            "auditLogs",
        ])
    );
    let account_json = kb.get_json(&format!("/1.0/kb/accounts/{account}")).await;
    assert_eq!(
        keys(&account_json),
        sorted(&[
            "accountId",
            "name",
            "firstNameLength",
            "externalKey",
            "email",
            "billCycleDayLocal",
            "currency",
            "parentAccountId",
            "isPaymentDelegatedToParent",
            "paymentMethodId",
            "referenceTime",
            "timeZone",
            "address1",
            "address2",
            "postalCode",
            "company",
            "city",
            "state",
            "country",
            "locale",
            "phone",
            "notes",
            "isMigrated",
            "accountBalance",
            "accountCBA",
            "auditLogs",
        ])
    );
    assert_eq!(account_json["billCycleDayLocal"], s["billCycleDayLocal"]);
}

#[tokio::test]
async fn a_migrated_subscription_is_invoiced_from_its_billing_date() {
    let kb = Kb::start().await;
    let account = kb.create_account("mig").await;
    // The clock reads 2026-03-10 10:00: started in February, billed from March 20.
    let resp = kb
        .post(
            "/1.0/kb/subscriptions?entitlementDate=2026-02-14T09:00:00.000Z\
             &billingDate=2026-03-20T12:00:00.000Z&migrated=true",
            json!({"accountId": account, "planName": "starter-monthly",
                   "externalKey": "mig-s", "billCycleDayLocal": 20}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let sub_id = id_from_location(&resp);
    let s = kb.subscription(&sub_id).await;
    assert_eq!(s["state"], "ACTIVE", "the entitlement started in February");
    assert_eq!(s["sourceType"], "MIGRATED");
    assert_eq!(s["startDate"], "2026-02-14T09:00:00.000Z");
    assert_eq!(s["billingStartDate"], "2026-03-20T12:00:00.000Z");
    assert_eq!(
        s["billCycleDayLocal"],
        Value::Null,
        "observed: null until billing starts"
    );
    assert_eq!(s["chargedThroughDate"], Value::Null);
    let invoices_path =
        format!("/1.0/kb/accounts/{account}/invoices?includeInvoiceComponents=true");
    assert_eq!(
        kb.get_json(&invoices_path).await,
        json!([]),
        "nothing billed yet"
    );

    kb.record(
        &sub_id,
        "before",
        "api_calls",
        "2026-03-12T00:00:00.000Z",
        "7",
    )
    .await;
    kb.sim.advance_clock(Duration::days(11));
    kb.record(
        &sub_id,
        "after",
        "api_calls",
        "2026-03-25T00:00:00.000Z",
        "3",
    )
    .await;
    kb.sim.advance_clock(Duration::days(31));
    let invoices = kb.get_json(&invoices_path).await;
    let invoices = invoices.as_array().unwrap();
    assert_eq!(invoices.len(), 2, "{invoices:?}");
    assert_eq!(invoices[0]["targetDate"], "2026-03-20");
    assert_eq!(invoices[0]["amount"], json!(10.00));
    let first = &invoices[0]["items"][0];
    assert_eq!(first["itemType"], "RECURRING");
    assert_eq!(
        (first["startDate"].as_str(), first["endDate"].as_str()),
        (Some("2026-03-20"), Some("2026-04-20"))
    );
    let usage: Vec<&Value> = invoices[1]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["itemType"] == "USAGE")
        .collect();
    assert_eq!(usage.len(), 2, "one per usage section, even without usage");
    let calls = usage
        .iter()
        .find(|i| i["usageName"] == "starter-monthly-api-calls")
        .unwrap();
    assert_eq!(
        calls["amount"],
        json!(0.03),
        "only the usage since the billing date"
    );
    assert_eq!(calls["rate"], Value::Null);
    let account_json = kb.get_json(&format!("/1.0/kb/accounts/{account}")).await;
    assert_eq!(account_json["billCycleDayLocal"], 20);
    // Without includeInvoiceComponents the list has no items, and so no amounts (observed).
    let bare = kb
        .get_json(&format!("/1.0/kb/accounts/{account}/invoices"))
        .await;
    assert_eq!(bare[0]["items"], json!([]));
    assert_eq!(bare[0]["amount"], json!(0.00));
}
