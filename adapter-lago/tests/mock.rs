//! Answers the simulator never gives, from a scripted server: a 429 with `X-RateLimit-Reset`,
//! a batch refused for a reason other than a duplicate, HTML error pages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapter_lago::{LagoBackend, LagoConfig};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use billing_core::{
    CustomerKey, CustomerStore, ErrorKind, EventId, EventOutcome, MetricCode, SubscriptionKey,
    UsageEvent, UsageRecorder,
};
use billing_http::HttpConfig;
use serde_json::{Value, json};

type Scripted = (u16, Vec<(&'static str, &'static str)>, String);

#[derive(Clone, Default)]
struct Mock {
    batches: Arc<Mutex<VecDeque<Scripted>>>,
    customers: Arc<Mutex<VecDeque<Scripted>>>,
    received: Arc<Mutex<Vec<(String, Value, Instant)>>>,
}

fn json_response(status: u16, headers: &[(&'static str, &'static str)], body: String) -> Response {
    let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (k, v) in headers {
        r.headers_mut().insert(*k, v.parse().unwrap());
    }
    r
}

async fn handle(State(mock): State<Mock>, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let parsed = serde_json::from_slice(&body).unwrap_or(Value::Null);
    mock.received
        .lock()
        .unwrap()
        .push((path.clone(), parsed, Instant::now()));
    let next = |q: &Arc<Mutex<VecDeque<Scripted>>>| q.lock().unwrap().pop_front();
    let ok = |v: Value| json_response(200, &[], v.to_string());
    match path.as_str() {
        "/api/v1/billable_metrics" => ok(json!({
            "billable_metrics": [{"code": "api_calls", "aggregation_type": "sum_agg",
                                  "field_name": "quantity"}],
            "meta": {"current_page": 1, "next_page": null}
        })),
        "/api/v1/subscriptions" => ok(json!({
            "subscriptions": [{"lago_id": "l1", "external_id": "s1", "external_customer_id": "c1",
                               "plan_code": "p", "status": "active"}],
            "meta": {"current_page": 1, "next_page": null}
        })),
        "/api/v1/events/batch" => match next(&mock.batches) {
            Some((status, headers, body)) => json_response(status, &headers, body),
            None => ok(json!({"events": []})),
        },
        "/api/v1/customers" => match next(&mock.customers) {
            Some((status, headers, body)) => json_response(status, &headers, body),
            None => ok(json!({"customers": [], "meta": {"current_page": 0, "next_page": null}})),
        },
        _ => json_response(
            404,
            &[],
            r#"{"status":404,"error":"Not Found","code":"resource_not_found"}"#.into(),
        ),
    }
}

async fn start(mock: Mock) -> LagoBackend {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(handle).with_state(mock);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let http = HttpConfig::default()
        .with_max_retries(2)
        .with_retry_base_delay(std::time::Duration::from_millis(10));
    LagoBackend::new(
        &LagoConfig::new(format!("http://{addr}/api/v1"), "mock-key".into()),
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

#[tokio::test]
async fn rate_limits_wait_for_the_reset_and_bad_events_leave_the_rest_recorded() {
    let mock = Mock::default();
    mock.batches.lock().unwrap().extend([
        (
            429,
            vec![("x-ratelimit-reset", "1"), ("x-ratelimit-remaining", "0")],
            String::new(),
        ),
        (
            422,
            vec![],
            json!({"status": 422, "error": "Unprocessable Entity", "code": "validation_errors",
                   "error_details": {"1": {"code": ["value_is_invalid"]}}})
            .to_string(),
        ),
    ]);
    let lago = start(mock.clone()).await;
    let outcomes = lago
        .record_usage(&[event("a"), event("b"), event("c")])
        .await;
    let kinds: Vec<Option<ErrorKind>> = outcomes.iter().map(|o| o.error_kind()).collect();
    assert_eq!(kinds, [None, Some(ErrorKind::InvalidInput), None]);
    assert!(matches!(outcomes[0], EventOutcome::Accepted));
    let batches: Vec<(Value, Instant)> = mock
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == "/api/v1/events/batch")
        .map(|(_, b, t)| (b.clone(), *t))
        .collect();
    assert_eq!(
        batches.len(),
        3,
        "429, retried into the 422, then the valid rest"
    );
    assert!(
        batches[1].1 - batches[0].1 >= Duration::from_millis(900),
        "the retry waited for X-RateLimit-Reset"
    );
    assert_eq!(batches[0].0, batches[1].0, "a retry resends the same body");
    let rest: Vec<&str> = batches[2].0["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["transaction_id"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["a", "c"]);
}

#[tokio::test]
async fn html_and_empty_error_pages_become_typed_errors() {
    let mock = Mock::default();
    mock.customers.lock().unwrap().extend([
        (
            502,
            vec![],
            "<html><body>Bad Gateway</body></html>".to_owned(),
        ),
        (
            502,
            vec![],
            "<html><body>Bad Gateway</body></html>".to_owned(),
        ),
        (502, vec![], String::new()),
        (
            401,
            vec![],
            r#"{"status":401,"error":"Unauthorized"}"#.to_owned(),
        ),
        (200, vec![], "[]".to_owned()),
    ]);
    let lago = start(mock.clone()).await;
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
    let mock = Mock::default();
    mock.batches.lock().unwrap().push_back((
        422,
        vec![],
        r#"{"status":422,"error":"Unprocessable Entity","code":"validation_errors","error_details":{"events":["too_many_events"]}}"#.to_owned(),
    ));
    let lago = start(mock).await;
    let outcomes = lago.record_usage(&[event("a"), event("b")]).await;
    assert!(
        outcomes
            .iter()
            .all(|o| o.error_kind() == Some(ErrorKind::InvalidInput)),
        "{outcomes:?}"
    );
}
