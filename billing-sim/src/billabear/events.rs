//! `POST /events` (`Controller/Api/EventController`, `Dto/Request/Api/CreateEvent`).

use axum::response::Response;
use serde_json::Value;

use super::errors::{self, Step, Unhandled};
use super::router::Ctx;
use super::state::{Event, State};
use super::validate::{self as v, Violations, field, msg};

/// Validates the event; returns the (canonical subscription id, metric id) on success.
fn validate(
    state: &State,
    body: &serde_json::Map<String, Value>,
) -> Step<Result<(String, String), Violations>> {
    let mut vs = Violations::default();
    let event_id = field(body, "event_id");
    v::check_not_blank(&mut vs, "event_id", event_id);
    v::check_type(&mut vs, "event_id", event_id, &["string"]);

    let subscription = field(body, "subscription");
    v::check_not_blank(&mut vs, "subscription", subscription);
    let mut sub_id = None;
    if let Some(raw) = subscription.filter(|s| !v::is_blank(Some(s))) {
        // `Assert\Uuid` throws on non-scalars; `SubscriptionExists` uses `getById`, which
        // lets Doctrine's conversion error escape for a non-UUID string (500). Only `"0"`,
        // which PHP's `empty()` skips, gets a plain violation.
        let s = v::php_string(raw).ok_or(Unhandled)?;
        match v::uuid(&s) {
            Some(id) if state.subscriptions.contains_key(&id) => sub_id = Some(id),
            Some(_) => vs.add("subscription", msg::PLAN_MISSING),
            None if s == "0" => vs.add("subscription", msg::UUID),
            None => return Err(Unhandled),
        }
    }

    v::check_type(&mut vs, "properties", field(body, "properties"), &["array"]);

    let value = field(body, "value");
    v::check_not_blank(&mut vs, "value", value);
    v::check_type(&mut vs, "value", value, &["integer", "float"]);

    let code = field(body, "code");
    v::check_not_blank(&mut vs, "code", code);
    v::check_type(&mut vs, "code", code, &["string"]);
    let mut metric_id = None;
    if let Some(raw) = code.filter(|c| !v::is_blank(Some(c))) {
        let c = v::php_string(raw).ok_or(Unhandled)?;
        match state.catalog.metric_by_code(&c) {
            Some(m) if raw.is_string() => metric_id = Some(m.id.to_owned()),
            Some(_) => {}
            None if c == "0" => {}
            None => vs.add("code", format!("The code \"{c}\" does not exist.")),
        }
    }
    match (sub_id, metric_id) {
        (Some(s), Some(m)) if vs.is_empty() => Ok(Ok((s, m))),
        _ if vs.is_empty() => Err(Unhandled),
        _ => Ok(Err(vs)),
    }
}

/// `POST /events {event_id, subscription, code, value, properties}` -> 201 with an empty
/// body. Not idempotent: every accepted request is stored, duplicates included. The server
/// clock timestamps it; nothing checks that the subscription is active or meters `code`.
pub(crate) fn create(state: &mut State, ctx: &Ctx) -> Response {
    let Ok(body) = ctx.body() else {
        return ctx.unhandled();
    };
    let (subscription_id, metric_id) = match validate(state, &body) {
        Err(Unhandled) => return ctx.unhandled(),
        Ok(Err(vs)) => return errors::validation(&vs),
        Ok(Ok(ids)) => ids,
    };
    let Some(customer_id) = state
        .subscriptions
        .get(&subscription_id)
        .map(|s| s.customer_id.clone())
    else {
        return ctx.unhandled();
    };
    let event_id = field(&body, "event_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let code = field(&body, "code")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let value = field(&body, "value").and_then(Value::as_f64).unwrap_or(0.0);
    let properties = field(&body, "properties").cloned().unwrap_or(Value::Null);
    let seq = state.next_seq();
    state.events.push(Event {
        seq,
        event_id,
        subscription_id,
        customer_id,
        metric_id,
        code,
        value,
        properties,
    });
    errors::empty(201)
}
