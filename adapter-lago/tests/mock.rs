//! Answers the simulator never gives, from a mock server (wiremock): a 429 with
//! `X-RateLimit-Reset`, a batch refused for a reason other than a duplicate, HTML error pages,
//! and a customer deleted by another process while an update is under way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapter_lago::{LagoBackend, LagoConfig};
use billing_core::{
    CustomerKey, CustomerPatch, CustomerStore, ErrorKind, EventId, EventOutcome, MetricCode,
    SubscriptionKey, UsageEvent, UsageRecorder,
};
use billing_http::HttpConfig;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers with `template` and notes when each request arrived.
#[derive(Clone)]
struct Timed {
    template: ResponseTemplate,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for Timed {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        self.template.clone()
    }
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A Lago with one billable metric and one subscription (`s1` of customer `c1`).
async fn lago_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/billable_metrics"))
        .respond_with(ok(json!({
            "billable_metrics": [{"code": "api_calls", "aggregation_type": "sum_agg",
                                  "field_name": "quantity"}],
            "meta": {"current_page": 1, "next_page": null}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/subscriptions"))
        .respond_with(ok(json!({
            "subscriptions": [{"lago_id": "l1", "external_id": "s1", "external_customer_id": "c1",
                               "plan_code": "p", "status": "active"}],
            "meta": {"current_page": 1, "next_page": null}
        })))
        .mount(&server)
        .await;
    server
}

/// Mounts `answers` for `verb route`, each used once and in order, then `then` for every
/// later request; returns the arrival times of them all.
async fn scripted(
    server: &MockServer,
    verb: &str,
    route: &str,
    answers: Vec<ResponseTemplate>,
    then: ResponseTemplate,
) -> Arc<Mutex<Vec<Instant>>> {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let timed = |template| Timed {
        template,
        arrivals: arrivals.clone(),
    };
    for (i, answer) in answers.into_iter().enumerate() {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(timed(answer))
            .up_to_n_times(1)
            .with_priority(u8::try_from(i + 1).unwrap())
            .mount(server)
            .await;
    }
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(timed(then))
        .with_priority(100)
        .mount(server)
        .await;
    arrivals
}

fn backend(server: &MockServer) -> LagoBackend {
    let http = HttpConfig::default()
        .with_max_retries(2)
        .with_retry_base_delay(Duration::from_millis(10));
    LagoBackend::new(
        &LagoConfig::new(format!("{}/api/v1", server.uri()), "mock-key".into()),
        &http,
    )
    .unwrap()
}

fn event(id: &str) -> UsageEvent {
    UsageEvent::new(
        EventId::new(id).unwrap(),
        SubscriptionKey::new("s1").unwrap(),
        MetricCode::new("api_calls").unwrap(),
        1.into(),
    )
}

async fn bodies(server: &MockServer, route: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == route)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

#[tokio::test]
async fn rate_limits_wait_for_the_reset_and_bad_events_leave_the_rest_recorded() {
    let server = lago_server().await;
    let arrivals = scripted(
        &server,
        "POST",
        "/api/v1/events/batch",
        vec![
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-reset", "1")
                .insert_header("x-ratelimit-remaining", "0"),
            ResponseTemplate::new(422).set_body_json(
                json!({"status": 422, "error": "Unprocessable Entity", "code": "validation_errors",
                       "error_details": {"1": {"code": ["value_is_invalid"]}}}),
            ),
        ],
        ok(json!({"events": []})),
    )
    .await;
    let lago = backend(&server);
    let outcomes = lago
        .record_usage(&[event("a"), event("b"), event("c")])
        .await;
    let kinds: Vec<Option<ErrorKind>> = outcomes.iter().map(|o| o.error_kind()).collect();
    assert_eq!(kinds, [None, Some(ErrorKind::InvalidInput), None]);
    assert!(matches!(outcomes[0], EventOutcome::Accepted));
    let batches = bodies(&server, "/api/v1/events/batch").await;
    assert_eq!(
        batches.len(),
        3,
        "429, retried into the 422, then the valid rest"
    );
    let arrivals = arrivals.lock().unwrap().clone();
    assert!(
        arrivals[1] - arrivals[0] >= Duration::from_millis(900),
        "the retry waited for X-RateLimit-Reset"
    );
    assert_eq!(batches[0], batches[1], "a retry resends the same body");
    let rest: Vec<&str> = batches[2]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["transaction_id"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["a", "c"]);
}

#[tokio::test]
async fn html_and_empty_error_pages_become_typed_errors() {
    let server = lago_server().await;
    let gateway =
        || ResponseTemplate::new(502).set_body_string("<html><body>Bad Gateway</body></html>");
    scripted(
        &server,
        "GET",
        "/api/v1/customers",
        vec![
            gateway(),
            gateway(),
            ResponseTemplate::new(502),
            ResponseTemplate::new(401).set_body_string(r#"{"status":401,"error":"Unauthorized"}"#),
        ],
        ResponseTemplate::new(200).set_body_string("[]"),
    )
    .await;
    let lago = backend(&server);
    let key = CustomerKey::new("c1").unwrap();
    let e = lago.get_customer(&key).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.is_temporary());
    assert!(!e.to_string().contains("mock-key"));
    let e = lago.get_customer(&key).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    let e = lago.get_customer(&key).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
}

#[tokio::test]
async fn a_batch_refused_as_a_whole_rejects_every_event() {
    let server = lago_server().await;
    scripted(
        &server,
        "POST",
        "/api/v1/events/batch",
        vec![],
        ResponseTemplate::new(422).set_body_string(
            r#"{"status":422,"error":"Unprocessable Entity","code":"validation_errors","error_details":{"events":["too_many_events"]}}"#,
        ),
    )
    .await;
    let lago = backend(&server);
    let outcomes = lago.record_usage(&[event("a"), event("b")]).await;
    assert!(
        outcomes
            .iter()
            .all(|o| o.error_kind() == Some(ErrorKind::InvalidInput)),
        "{outcomes:?}"
    );
}

fn customer(lago_id: &str, name: &str) -> Value {
    json!({"lago_id": lago_id, "external_id": "c1", "name": name, "email": null,
           "currency": "USD", "metadata": [], "created_at": "2026-01-01T00:00:00Z"})
}

/// Lago has no update-only call: an update reads the customer, then upserts. When another
/// process deletes the customer in between, the upsert creates a new one (a new Lago id): the
/// update reports `Conflict` naming it instead of success (the documented limit of
/// `customer_writes_atomic = false`).
#[tokio::test]
async fn an_update_racing_a_delete_elsewhere_is_a_conflict() {
    let server = lago_server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/customers"))
        .respond_with(ok(json!({
            "customers": [customer("lago-old", "Old")],
            "meta": {"current_page": 1, "next_page": null}
        })))
        .mount(&server)
        .await;
    // Between the read and the upsert, the customer was deleted elsewhere: the upsert answers
    // with a customer Lago just created.
    Mock::given(method("POST"))
        .and(path("/api/v1/customers"))
        .respond_with(ok(json!({"customer": customer("lago-new", "New")})))
        .mount(&server)
        .await;
    let lago = backend(&server);
    let key = CustomerKey::new("c1").unwrap();
    let e = lago
        .update_customer(&key, &CustomerPatch::new().name("New"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.message().contains("lago-new"), "{e}");
    assert_eq!(e.backend(), Some("lago"));
}
