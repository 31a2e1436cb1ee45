//! Request dispatch: Symfony's routing (unknown routes 404 before authentication), the API key
//! firewall, query and body parsing done by hand so that no axum rejection ever answers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State as AxumState};
use axum::response::Response;
use http::{HeaderMap, Method};
use serde_json::{Map, Value};

use super::errors::{self, Step, Unhandled};
use super::state::{self, Shared, State};
use super::{costs, customers, events, lifecycle, subscriptions};

/// Largest request body accepted (the real server's PHP limit is far larger; this only
/// bounds memory).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// What a handler gets besides the state.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Bytes,
}

impl Ctx {
    /// `$request->get(key)` for a query parameter: the last occurrence wins, as in PHP.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The body as `serializer->deserialize(..., 'json')` sees it: invalid or empty JSON and
    /// scalars throw (500); a JSON array decodes to a PHP array whose integer keys match no
    /// property, so it acts as `{}`.
    pub fn body(&self) -> Step<Map<String, Value>> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(Value::Array(_)) => Ok(Map::new()),
            _ => Err(Unhandled),
        }
    }

    /// The 500 page of an uncaught exception.
    pub fn unhandled(&self) -> Response {
        errors::unhandled(&self.headers)
    }
}

/// The routes, as (method, pattern). `{}` matches one path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    CustomerCreate,
    CustomerList,
    CustomerGet,
    CustomerUpdate,
    CustomerDisable,
    CustomerEnable,
    CustomerCosts,
    SubscriptionStart,
    CustomerSubscriptions,
    CustomerSubscriptionsActive,
    SubscriptionList,
    SubscriptionPlans,
    SubscriptionGet,
    SubscriptionCancel,
    SubscriptionChangePlan,
    EventCreate,
}

const ROUTES: &[(Method, &str, Route)] = &[
    (Method::POST, "customer", Route::CustomerCreate),
    (Method::GET, "customer", Route::CustomerList),
    (Method::GET, "customer/{}", Route::CustomerGet),
    (Method::PUT, "customer/{}", Route::CustomerUpdate),
    (Method::POST, "customer/{}/disable", Route::CustomerDisable),
    (Method::POST, "customer/{}/enable", Route::CustomerEnable),
    (Method::GET, "customer/{}/costs", Route::CustomerCosts),
    (
        Method::POST,
        "customer/{}/subscription/start",
        Route::SubscriptionStart,
    ),
    (
        Method::GET,
        "customer/{}/subscription",
        Route::CustomerSubscriptions,
    ),
    (
        Method::GET,
        "customer/{}/subscription/active",
        Route::CustomerSubscriptionsActive,
    ),
    (Method::GET, "subscription", Route::SubscriptionList),
    // Declared with priority 99 in the server, so it wins over `subscription/{id}`.
    (Method::GET, "subscription/plans", Route::SubscriptionPlans),
    (Method::GET, "subscription/{}", Route::SubscriptionGet),
    (
        Method::POST,
        "subscription/{}/cancel",
        Route::SubscriptionCancel,
    ),
    (
        Method::POST,
        "subscription/{}/plan",
        Route::SubscriptionChangePlan,
    ),
    (Method::POST, "events", Route::EventCreate),
];

/// The router: everything goes through [`dispatch`].
pub(crate) fn router(shared: Shared) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

async fn dispatch(AxumState(shared): AxumState<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return errors::symfony_error(&parts.headers, 413);
    };
    let Some(rest) = parts.uri.path().strip_prefix("/api/v1/") else {
        return errors::symfony_error(&parts.headers, 404);
    };
    let segments: Vec<String> = rest.split('/').map(percent_decode).collect();
    let mut path_matched = false;
    let mut found = None;
    for (method, pattern, route) in ROUTES {
        if let Some(params) = match_pattern(pattern, &segments) {
            path_matched = true;
            if *method == parts.method || (*method == Method::GET && parts.method == Method::HEAD) {
                found = Some((*route, params));
                break;
            }
        }
    }
    let Some((route, params)) = found else {
        let status = if path_matched { 405 } else { 404 };
        return errors::symfony_error(&parts.headers, status);
    };
    let api_key = state::lock(&shared).config.api_key.clone();
    if !authenticated(&parts.headers, &api_key) {
        return errors::unauthorized();
    }
    let ctx = Ctx {
        query: parse_query(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
    };
    let mut state = state::lock(&shared);
    state.settle();
    handle(&mut state, &ctx, route, &params)
}

fn handle(state: &mut State, ctx: &Ctx, route: Route, params: &[String]) -> Response {
    let id = params.first().map_or("", String::as_str);
    match route {
        Route::CustomerCreate => customers::create(state, ctx),
        Route::CustomerList => customers::list(state, ctx),
        Route::CustomerGet => customers::get(state, ctx, id),
        Route::CustomerUpdate => customers::update(state, ctx, id),
        Route::CustomerDisable => customers::set_status(state, ctx, id, "disabled"),
        Route::CustomerEnable => customers::set_status(state, ctx, id, "active"),
        Route::CustomerCosts => costs::get(state, id),
        Route::SubscriptionStart => subscriptions::start(state, ctx, id),
        Route::CustomerSubscriptions => subscriptions::list_for_customer(state, id, false),
        Route::CustomerSubscriptionsActive => subscriptions::list_for_customer(state, id, true),
        Route::SubscriptionList => subscriptions::list(state, ctx),
        Route::SubscriptionPlans => subscriptions::plans(state, ctx),
        Route::SubscriptionGet => subscriptions::get(state, id),
        Route::SubscriptionCancel => lifecycle::cancel(state, ctx, id),
        Route::SubscriptionChangePlan => lifecycle::change_plan(state, ctx, id),
        Route::EventCreate => events::create(state, ctx),
    }
}

/// The path parameters if `segments` match `pattern`. Symfony's default requirement for a
/// parameter is `[^/]+`, so a parameter never matches an empty segment.
fn match_pattern(pattern: &str, segments: &[String]) -> Option<Vec<String>> {
    let parts: Vec<&str> = pattern.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in parts.iter().zip(segments) {
        if *p == "{}" {
            if s.is_empty() {
                return None;
            }
            params.push(s.clone());
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

/// `X-API-KEY` (any case) must equal the key exactly.
fn authenticated(headers: &HeaderMap, api_key: &str) -> bool {
    headers
        .get("x-api-key")
        .is_some_and(|v| v.as_bytes() == api_key.as_bytes())
}

/// `parse_str`: `&`-separated pairs, `+` is a space, percent escapes decoded.
fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes; invalid escapes and invalid UTF-8 are kept or replaced, never fail.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_matching() {
        assert_eq!(percent_decode("a%2Fb%20c%"), "a/b c%");
        assert_eq!(percent_decode("%41%4"), "A%4");
        let q = parse_query("limit=5&reference=a+b&limit=7&x");
        assert_eq!(q.len(), 4);
        assert_eq!(q[1].1, "a b");
        let segs: Vec<String> = "customer/abc/costs".split('/').map(String::from).collect();
        assert_eq!(
            match_pattern("customer/{}/costs", &segs),
            Some(vec!["abc".to_owned()])
        );
        assert_eq!(match_pattern("customer/{}", &segs), None);
    }
}
