//! A loopback proxy in front of a simulator that spoils every answer the way a broken server,
//! proxy or load balancer would: truncated JSON, wrong JSON types, an HTML page, an empty body,
//! a body over the client's size limit, or any bytes a test gives. The request still reaches
//! the simulator, so its state moves on as if the answer had been good.
//!
//! Mutating real answers keeps the tests vendor-agnostic while the broken bodies keep each
//! vendor's own shapes, the ones its decoders expect.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;

/// How answers are spoiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Passed through untouched.
    None,
    /// The first half of the body.
    TruncateHalf,
    /// All but the last byte.
    TruncateLast,
    /// Every JSON leaf replaced by a value of another type (strings become numbers, numbers
    /// strings, booleans strings, `null` an object), arrays become objects.
    WrongTypes,
    /// The JSON wrapped in an array.
    WrappedInArray,
    /// An HTML error page, `Content-Type: text/html`.
    Html,
    /// No body at all.
    Empty,
    /// The body preceded by whitespace beyond `billing_http::MAX_BODY_BYTES`.
    Huge,
    /// These bytes instead of the body.
    Replace(Bytes),
    /// One node of the JSON body (chosen by the seed) replaced by an odd value (chosen by the
    /// seed too), then the text cut at a seed-chosen length one time in four: the vendor's own
    /// shapes, slightly wrong.
    Perturb(u64),
    /// The status and the body replaced by these.
    Status(u16, Bytes),
}

impl Mutation {
    /// The mutations every adapter's answers are put through.
    pub fn all() -> Vec<Mutation> {
        vec![
            Mutation::TruncateHalf,
            Mutation::TruncateLast,
            Mutation::WrongTypes,
            Mutation::WrappedInArray,
            Mutation::Html,
            Mutation::Empty,
            Mutation::Huge,
            Mutation::Replace(Bytes::from_static(b"null")),
            Mutation::Replace(Bytes::from_static(b"[]")),
            Mutation::Replace(Bytes::from_static(b"{}")),
        ]
    }

    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            Mutation::Replace(b) if b.len() <= 16 => {
                format!("replace({})", String::from_utf8_lossy(b))
            }
            Mutation::Replace(b) => format!("replace({} bytes)", b.len()),
            Mutation::Status(s, b) => format!("status {s} with {}", String::from_utf8_lossy(b)),
            other => format!("{other:?}"),
        }
    }
}

/// An HTML error page, as a proxy or load balancer sends.
pub const HTML: &str = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>\
                    <body><h1>Oops</h1><p>Something went wrong {\"error\": </p></body></html>";

#[derive(Clone)]
struct Shared {
    upstream: String,
    client: reqwest::Client,
    mutation: Arc<Mutex<Mutation>>,
    huge_padding: Bytes,
}

/// A running proxy. Stops when the runtime does.
#[derive(Debug, Clone)]
pub struct SpoilingProxy {
    origin: String,
    mutation: Arc<Mutex<Mutation>>,
}

impl SpoilingProxy {
    /// Proxies `upstream` (an origin, `http://127.0.0.1:<port>`) on an ephemeral port.
    ///
    /// # Panics
    /// If no port can be bound.
    pub async fn start(upstream: &str) -> Self {
        let mutation = Arc::new(Mutex::new(Mutation::None));
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            mutation: mutation.clone(),
            huge_padding: Bytes::from(vec![b' '; billing_http::MAX_BODY_BYTES + 1]),
        };
        let app = Router::new().fallback(forward).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { origin, mutation }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Spoils answers from now on.
    pub fn set(&self, mutation: Mutation) {
        *self.mutation.lock().unwrap_or_else(PoisonError::into_inner) = mutation;
    }
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    let upstream = shared
        .client
        .request(parts.method.clone(), format!("{}{path}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(upstream) = upstream else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    let body = upstream.bytes().await.unwrap_or_default();
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    let mutation = shared
        .mutation
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let (status, body) = spoil(&mutation, status, &mut headers, body, &shared.huge_padding);
    (status, headers, body).into_response()
}

fn spoil(
    mutation: &Mutation,
    status: StatusCode,
    headers: &mut HeaderMap,
    body: Bytes,
    padding: &Bytes,
) -> (StatusCode, Bytes) {
    let html = |headers: &mut HeaderMap| {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        Bytes::from_static(HTML.as_bytes())
    };
    let body = match mutation {
        Mutation::None => body,
        Mutation::TruncateHalf => body.slice(..body.len() / 2),
        Mutation::TruncateLast => body.slice(..body.len().saturating_sub(1)),
        Mutation::WrongTypes => match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Bytes::from(wrong_types(v).to_string()),
            Err(_) => body,
        },
        Mutation::WrappedInArray => match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Bytes::from(Value::Array(vec![v]).to_string()),
            Err(_) => body,
        },
        Mutation::Html => html(headers),
        Mutation::Empty => Bytes::new(),
        Mutation::Huge => {
            let mut all = padding.to_vec();
            all.extend_from_slice(&body);
            Bytes::from(all)
        }
        Mutation::Replace(bytes) => bytes.clone(),
        Mutation::Perturb(seed) => perturb(&body, *seed),
        Mutation::Status(code, bytes) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_GATEWAY);
            headers.remove(header::LOCATION);
            return (status, bytes.clone());
        }
    };
    (status, body)
}

/// Values that break assumptions: absent, empty, negative, huge, wrongly typed, nested.
fn odd_value(n: u64) -> Value {
    use serde_json::json;
    match n % 12 {
        0 => Value::Null,
        1 => json!(""),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(1e308),
        5 => json!(true),
        6 => json!([]),
        7 => json!({}),
        8 => json!("x".repeat(10_000)),
        9 => json!("1970-13-45T99:99:99Z"),
        10 => json!([[[[[[[[[[[]]]]]]]]]]]),
        _ => json!({"data": [null], "id": {}}),
    }
}

fn node_count(v: &Value) -> u64 {
    1 + match v {
        Value::Array(items) => items.iter().map(node_count).sum(),
        Value::Object(map) => map.values().map(node_count).sum(),
        _ => 0,
    }
}

/// Replaces the node numbered `target` (pre-order) by `with`; `next` counts nodes on the way.
fn replace_node(v: &mut Value, target: u64, next: &mut u64, with: &Value) {
    if *next == target {
        *v = with.clone();
        *next += node_count(v);
        return;
    }
    *next += 1;
    match v {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| replace_node(i, target, next, with)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|i| replace_node(i, target, next, with)),
        _ => {}
    }
}

/// See [`Mutation::Perturb`].
pub fn perturb(body: &[u8], seed: u64) -> Bytes {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            let target = seed % node_count(&v);
            replace_node(&mut v, target, &mut 0, &odd_value(seed / 7));
            v.to_string().into_bytes()
        }
        Err(_) => body.to_vec(),
    };
    let cut = if (seed >> 20).is_multiple_of(4) {
        usize::try_from(seed >> 22).unwrap_or(0) % (text.len() + 1)
    } else {
        text.len()
    };
    Bytes::from(text[..cut].to_vec())
}

/// Every leaf replaced by a value of another type; arrays become objects keyed by index.
pub fn wrong_types(value: Value) -> Value {
    match value {
        Value::Null => serde_json::json!({"unexpected": true}),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => serde_json::json!(s.len()),
        Value::Array(items) => Value::Object(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), wrong_types(v)))
                .collect(),
        ),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, wrong_types(v))).collect())
        }
    }
}

/// One call of every trait method on fresh objects: a customer `<name>` with subscription
/// `<name>-sub` made through `setup` (answers untouched), then every call through `run`'s
/// backend after `spoil()`. With `warm`, `run` first reads the objects and records an event
/// (answers untouched), filling whatever caches the adapter keeps. Returns each call's name and
/// result.
pub async fn every_operation(
    setup: &crate::Ctx,
    run: &crate::Ctx,
    name: &str,
    warm: bool,
    spoil: impl Fn(),
) -> Vec<(&'static str, billing::Result<()>)> {
    use billing::{BillingExt, CancelAt, ChangeAt, CustomerPatch, PageRequest, UsageQuery};
    let sub = setup.subscribed(name, setup.starter()).await;
    let customer = sub.customer.clone();
    let ctx = run;
    let b = ctx.backend();
    if warm {
        let _ = b.get_customer(&customer).await;
        let _ = b.get_subscription(&sub.key).await;
        let warmup = ctx.event(&format!("{name}-warm"), &sub.key, ctx.api_calls(), "1");
        let _ = b.record_one(&warmup).await;
        let _ = b.usage(&UsageQuery::current(sub.key.clone())).await;
    }
    spoil();
    fn ok<T>(r: billing::Result<T>) -> billing::Result<()> {
        r.map(|_| ())
    }
    let change_at = if ctx.caps().change_plan_now {
        ChangeAt::Now
    } else {
        ChangeAt::VendorDefault
    };
    let event = ctx.event(&format!("{name}-ev"), &sub.key, ctx.api_calls(), "3");
    let new_sub = billing::NewSubscription::new(
        ctx.subscription_key(&format!("{name}-sub2")),
        customer.clone(),
        ctx.starter(),
    );
    vec![
        (
            "create_customer",
            ok(b.create_customer(&ctx.new_customer(&format!("{name}-new")))
                .await),
        ),
        ("get_customer", ok(b.get_customer(&customer).await)),
        (
            "update_customer",
            ok(
                b.update_customer(&customer, &CustomerPatch::new().name("Renamed"))
                    .await,
            ),
        ),
        (
            "list_customers",
            ok(b.list_customers(&PageRequest::first(10)).await),
        ),
        (
            "list_subscriptions",
            ok(b.list_subscriptions(&customer, &PageRequest::first(10))
                .await),
        ),
        ("get_subscription", ok(b.get_subscription(&sub.key).await)),
        (
            "create_subscription",
            ok(b.create_subscription(&new_sub).await),
        ),
        (
            "change_plan",
            ok(b.change_plan(&sub.key, &ctx.pro(), change_at).await),
        ),
        ("record_usage", b.record_one(&event).await.map(|_| ())),
        (
            "usage",
            ok(b.usage(&UsageQuery::current(sub.key.clone())).await),
        ),
        (
            "cancel_subscription",
            ok(b.cancel_subscription(&sub.key, CancelAt::Now).await),
        ),
        ("delete_customer", ok(b.delete_customer(&customer).await)),
    ]
}
