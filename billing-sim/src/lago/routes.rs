//! The route table and the request pipeline shared by every endpoint: bearer-key auth, key
//! scopes (403), body parsing, one lock on the state, and Lago's 404 for unknown routes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State as AxumState};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use http::{Method, header};
use serde_json::Value;

use super::errors::{ApiError, ok_json};
use super::request::Call;
use super::state::State;
use super::{catalog, customers, events, subscription_queries, subscriptions, usage};

/// An endpoint: synchronous work on the locked state.
type Endpoint = fn(&mut State, &Call) -> Result<Value, ApiError>;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    ReadWrite,
    ReadOnly,
}

/// State shared by the handlers and the [`super::LagoSim`] handle.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    state: Arc<Mutex<State>>,
    keys: Arc<Mutex<HashMap<String, Access>>>,
}

impl Shared {
    pub(crate) fn new(state: State, key: &str) -> Self {
        let mut keys = HashMap::new();
        keys.insert(key.to_owned(), Access::ReadWrite);
        Self {
            state: Arc::new(Mutex::new(state)),
            keys: Arc::new(Mutex::new(keys)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add_key(&self, key: String, access: Access) {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, access);
    }

    fn access(&self, key: &str) -> Option<Access> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .copied()
    }
}

fn add(
    router: MethodRouter<Shared>,
    method: MethodFilter,
    resource: &'static str,
    endpoint: Endpoint,
) -> MethodRouter<Shared> {
    router.on(
        method,
        move |AxumState(shared): AxumState<Shared>, req: Request| {
            dispatch(shared, req, resource, endpoint)
        },
    )
}

fn one(method: MethodFilter, resource: &'static str, endpoint: Endpoint) -> MethodRouter<Shared> {
    add(MethodRouter::new(), method, resource, endpoint)
}

use MethodFilter as M;

/// The Lago API under `/api/v1`.
pub(crate) fn router(shared: Shared) -> Router {
    let customers_root = add(
        one(M::GET, "customer", customers::list),
        M::POST,
        "customer",
        customers::upsert,
    );
    let customer = add(
        one(M::GET, "customer", customers::show),
        M::DELETE,
        "customer",
        customers::delete,
    );
    let subscriptions_root = add(
        one(M::GET, "subscription", subscription_queries::list),
        M::POST,
        "subscription",
        subscriptions::create,
    );
    let subscription = add(
        add(
            one(M::GET, "subscription", subscription_queries::show),
            M::PUT,
            "subscription",
            subscription_queries::update,
        ),
        M::DELETE,
        "subscription",
        subscription_queries::terminate,
    );
    let events_root = add(
        one(M::GET, "event", events::list),
        M::POST,
        "event",
        events::create,
    );
    let metrics = add(
        one(M::GET, "billable_metric", catalog::list_metrics),
        M::POST,
        "billable_metric",
        catalog::create_metric,
    );
    let plans = add(
        one(M::GET, "plan", catalog::list_plans),
        M::POST,
        "plan",
        catalog::create_plan,
    );
    Router::new()
        .route("/api/v1/customers", customers_root)
        .route("/api/v1/customers/{id}", customer)
        .route(
            "/api/v1/customers/{id}/current_usage",
            one(M::GET, "customer_usage", usage::current),
        )
        .route(
            "/api/v1/customers/{id}/subscriptions",
            one(
                M::GET,
                "subscription",
                subscription_queries::list_for_customer,
            ),
        )
        .route("/api/v1/subscriptions", subscriptions_root)
        .route("/api/v1/subscriptions/{id}", subscription)
        .route("/api/v1/events", events_root)
        .route("/api/v1/events/batch", one(M::POST, "event", events::batch))
        .route("/api/v1/events/{id}", one(M::GET, "event", events::show))
        .route("/api/v1/billable_metrics", metrics)
        .route(
            "/api/v1/billable_metrics/{code}",
            one(M::GET, "billable_metric", catalog::show_metric),
        )
        .route("/api/v1/plans", plans)
        .route(
            "/api/v1/plans/{code}",
            one(M::GET, "plan", catalog::show_plan),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(shared)
}

/// Rails' catch-all route: no auth, 404 `resource_not_found`.
async fn not_found() -> Response {
    ApiError::NotFound("resource_not_found").into_response()
}

async fn dispatch(
    shared: Shared,
    req: Request,
    resource: &'static str,
    endpoint: Endpoint,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return ApiError::BadRequest.into_response();
    };
    // lago-api takes the second space-separated token; the scheme word is not checked.
    let key = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().nth(1));
    let write = parts.method != Method::GET;
    match key.and_then(|k| shared.access(k)) {
        None => return ApiError::Unauthorized.into_response(),
        Some(Access::ReadOnly) if write => {
            let code = format!("write_action_not_allowed_for_{resource}");
            return ApiError::Forbidden(code).into_response();
        }
        Some(_) => {}
    }
    let call = match Call::new(parts.uri.path(), parts.uri.query(), &parts.headers, &body) {
        Ok(call) => call,
        Err(e) => return e.into_response(),
    };
    let result = {
        let mut state = shared.lock();
        endpoint(&mut state, &call)
    };
    match result {
        Ok(value) => ok_json(&value),
        Err(e) => e.into_response(),
    }
}
