//! `/subscriptions/{external_id}` (show, update, terminate) and the subscription lists
//! (`GET /subscriptions`, `GET /customers/{external_id}/subscriptions`).

use std::cmp::Reverse;

use serde_json::{Value, json};

use super::errors::{ApiError, FieldErrors, push_error};
use super::request::{Call, Param, truthy};
use super::state::{State, Status};
use super::subscriptions::{date_param, ending_at_ok, termination_options};
use super::time::start_of_day;
use super::wire;

fn status_named(name: &str) -> Option<Status> {
    Some(match name {
        "pending" => Status::Pending,
        "active" => Status::Active,
        "terminated" => Status::Terminated,
        "canceled" => Status::Canceled,
        _ => return None,
    })
}

/// The row `GET /subscriptions/{external_id}?status=` designates: status defaults to active;
/// among several matches the most recently terminated or started one wins.
fn find(state: &State, external_id: &str, status: Option<&str>) -> Result<usize, ApiError> {
    let wanted = status_named(status.unwrap_or("active"));
    state
        .rows_of(external_id)
        .filter(|&i| Some(state.subscriptions[i].status) == wanted)
        .max_by_key(|&i| {
            let s = &state.subscriptions[i];
            (
                s.terminated_at.or(s.canceled_at).or(s.started_at),
                s.created_at,
            )
        })
        .ok_or(ApiError::NotFound("subscription_not_found"))
}

/// `GET /subscriptions/{external_id}?status=`.
pub(crate) fn show(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    state.settle();
    let id = call.segment(1)?;
    let idx = find(state, &id, call.query.present("status"))?;
    Ok(json!({"subscription": wire::subscription(state, idx, true)}))
}

/// `GET /subscriptions`: `external_customer_id`, `plan_code`, `external_id`, `status[]`
/// (default `["active"]`), ordered `subscription_at DESC, created_at DESC`.
pub(crate) fn list(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    state.settle();
    let customer = call
        .query
        .present("external_customer_id")
        .map(str::to_owned);
    list_where(state, call, |state, i| {
        customer.as_deref().is_none_or(|c| {
            let s = &state.subscriptions[i];
            state
                .customers
                .get(s.customer)
                .is_some_and(|x| x.external_id == c)
        })
    })
}

/// `GET /customers/{external_id}/subscriptions`: the same filters for one live customer.
pub(crate) fn list_for_customer(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    state.settle();
    let id = call.customer_segment(1, true)?;
    let customer = state
        .live_customer(&id)
        .ok_or(ApiError::NotFound("customer_not_found"))?;
    list_where(state, call, |state, i| {
        state.subscriptions[i].customer == customer
    })
}

fn list_where(
    state: &State,
    call: &Call,
    keep: impl Fn(&State, usize) -> bool,
) -> Result<Value, ApiError> {
    let q = &call.query;
    let (page, per_page) = q.pagination();
    let mut statuses: Vec<Option<Status>> =
        q.list("status").iter().map(|s| status_named(s)).collect();
    if statuses.is_empty() {
        statuses.push(Some(Status::Active));
    }
    let plan_code = q.present("plan_code");
    let external_id = q.present("external_id");
    let mut rows: Vec<usize> = (0..state.subscriptions.len())
        .filter(|&i| {
            let s = &state.subscriptions[i];
            statuses.contains(&Some(s.status))
                && plan_code.is_none_or(|p| s.plan_code == p)
                && external_id.is_none_or(|e| s.external_id == e)
                && keep(state, i)
        })
        .collect();
    rows.sort_by_key(|&i| {
        let s = &state.subscriptions[i];
        (Reverse(s.subscription_at), Reverse(s.created_at), s.lago_id)
    });
    let (items, meta) = wire::paginate(rows, page, per_page);
    let items: Vec<Value> = items
        .into_iter()
        .map(|i| wire::subscription(state, i, false))
        .collect();
    Ok(json!({"subscriptions": items, "meta": meta}))
}

/// `PUT /subscriptions/{external_id}?status=`: name, ending_at, subscription_at (future
/// subscriptions only), termination options, purchase order number, invoice consolidation.
/// `plan_code` is not a field here and is ignored.
pub(crate) fn update(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let m = call.root("subscription")?;
    state.settle();
    let id = call.segment(1)?;
    let idx = find(state, &id, call.query.present("status"))?;
    if m.contains_key("plan_overrides") {
        return Err(ApiError::Forbidden("feature_unavailable".into()));
    }
    let now = state.now();
    let row = state.subscriptions[idx].clone();
    let future = row.status == Status::Pending && row.previous.is_none();
    let mut errors = FieldErrors::new();
    let mut subscription_at = row.subscription_at;
    if future && m.contains_key("subscription_at") {
        match date_param(m, "subscription_at") {
            Ok(Some(t)) => subscription_at = t,
            _ => push_error(&mut errors, "subscription_at", "invalid_date"),
        }
    }
    let mut ending_at = row.ending_at;
    if m.contains_key("ending_at") {
        match date_param(m, "ending_at") {
            Ok(None) => ending_at = None,
            Ok(Some(e)) if ending_at_ok(e, subscription_at, now) => ending_at = Some(e),
            _ => push_error(&mut errors, "ending_at", "invalid_date"),
        }
    }
    termination_options(m, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let s = &mut state.subscriptions[idx];
    if let Some(name) = Param::of(m, "name").update() {
        s.name = name.map(|n| n.trim().to_owned()).unwrap_or_default();
    }
    s.ending_at = ending_at;
    s.subscription_at = subscription_at;
    if future && start_of_day(subscription_at) <= start_of_day(now) {
        s.status = Status::Active;
        s.started_at = Some(subscription_at);
    }
    if let Some(v) = Param::of(m, "on_termination_credit_note").update() {
        s.on_termination_credit_note = v;
    }
    if let Some(v) = Param::of(m, "on_termination_invoice").text() {
        s.on_termination_invoice = v.to_owned();
    }
    if let Some(v) = Param::of(m, "purchase_order_number").update() {
        s.purchase_order_number = v;
    }
    if let Some(b) = truthy(m.get("consolidate_invoice")) {
        s.consolidate_invoice = b;
    }
    if let Some(b) = truthy(m.get("progressive_billing_disabled")) {
        s.progressive_billing_disabled = b;
    }
    state.note_due(idx);
    Ok(json!({"subscription": wire::subscription(state, idx, true)}))
}

/// `DELETE /subscriptions/{external_id}?status=`: terminates the active row (or, with
/// `status=pending`, cancels the pending one). Nothing left to end gives 404.
pub(crate) fn terminate(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    state.settle();
    let id = call.segment(1)?;
    let pending = call.query.get("status") == Some("pending");
    let idx = find(state, &id, Some(if pending { "pending" } else { "active" }))?;
    let mut errors = FieldErrors::new();
    if let Some(v) = call.query.present("on_termination_invoice")
        && !matches!(v, "generate" | "skip")
    {
        push_error(&mut errors, "on_termination_invoice", "invalid_value");
    }
    if let Some(v) = call.query.present("on_termination_credit_note")
        && !matches!(v, "credit" | "refund" | "offset" | "skip")
    {
        push_error(&mut errors, "on_termination_credit_note", "invalid_value");
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = state.now();
    if let Some(v) = call.query.present("on_termination_invoice") {
        state.subscriptions[idx].on_termination_invoice = v.to_owned();
    }
    if let Some(v) = call.query.present("on_termination_credit_note") {
        state.subscriptions[idx].on_termination_credit_note = Some(v.to_owned());
    }
    if pending {
        state.cancel(idx, now);
    } else {
        state.terminate(idx, now);
    }
    Ok(json!({"subscription": wire::subscription(state, idx, true)}))
}
