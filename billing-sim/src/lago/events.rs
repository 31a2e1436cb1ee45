//! `/events`: single and batch ingestion (Postgres-store behaviour: duplicates are refused with
//! 422, batches are all or nothing), and reading raw events back.

use std::collections::HashSet;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{ApiError, FieldErrors, push_error};
use super::request::{Call, Param};
use super::state::{Event, State, Status};
use super::time::parse_iso;
use super::wire;

/// Largest accepted batch (`LAGO_EVENTS_BATCH_MAX_LENGTH` default).
pub(crate) const BATCH_MAX: usize = 100;

/// Parses Lago's event timestamp: Unix seconds as an integer, a float or a numeric string,
/// kept to the millisecond. `None` when it is not a number (ISO strings included).
pub(crate) fn parse_timestamp(v: &Value) -> Option<DateTime<Utc>> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    let secs = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()?;
    let millis = secs.checked_mul(Decimal::from(1000))?.trunc().to_i64()?;
    Utc.timestamp_millis_opt(millis).single()
}

/// Validates one event payload; `seen` holds the keys already taken earlier in the same batch.
fn validate(
    state: &mut State,
    m: &Map<String, Value>,
    seen: &mut HashSet<(Option<String>, String)>,
) -> Result<Event, FieldErrors> {
    let mut errors = FieldErrors::new();
    let transaction_id = Param::of(m, "transaction_id").text().map(str::to_owned);
    if transaction_id.is_none() {
        push_error(&mut errors, "transaction_id", "value_is_mandatory");
    }
    let code = Param::of(m, "code").text().map(str::to_owned);
    if code.is_none() {
        push_error(&mut errors, "code", "value_is_mandatory");
    }
    let external_subscription_id = Param::of(m, "external_subscription_id")
        .text()
        .map(str::to_owned);
    let timestamp = match m.get("timestamp") {
        None | Some(Value::Null) => Some(state.now()),
        Some(Value::String(s)) if s.trim().is_empty() => Some(state.now()),
        Some(v) => parse_timestamp(v),
    };
    if timestamp.is_none() {
        push_error(&mut errors, "timestamp", "invalid_format");
    }
    let precise = match Param::of(m, "precise_total_amount_cents") {
        Param::Text(s) => {
            if Decimal::from_str(s.trim()).is_err() {
                push_error(
                    &mut errors,
                    "precise_total_amount_cents",
                    "value_is_invalid",
                );
            }
            Some(s)
        }
        _ => None,
    };
    if let Some(tx) = &transaction_id {
        let key = (external_subscription_id.clone(), tx.clone());
        if state.has_event(key.0.as_deref(), tx) || !seen.insert(key) {
            push_error(&mut errors, "transaction_id", "value_already_exist");
        }
    }
    let (Some(transaction_id), Some(code), Some(timestamp), true) =
        (transaction_id, code, timestamp, errors.is_empty())
    else {
        return Err(errors);
    };
    let properties = match m.get("properties") {
        Some(Value::Object(p)) => Value::Object(p.clone()),
        _ => Value::Object(Map::new()),
    };
    Ok(Event {
        lago_id: Uuid::new_v4(),
        transaction_id,
        external_subscription_id,
        code,
        timestamp,
        properties,
        precise_total_amount_cents: precise,
        created_at: state.clock.tick(),
    })
}

/// `POST /events`. Neither the subscription nor the metric code is checked.
pub(crate) fn create(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let m = call.root("event")?;
    let event = validate(state, m, &mut HashSet::new()).map_err(ApiError::Validation)?;
    let body = json!({"event": wire::event(&event, None)});
    state.insert_event(event);
    Ok(body)
}

/// `POST /events/batch`: at most 100 events, all stored or none; errors keyed by the
/// zero-based index as a string.
pub(crate) fn batch(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let items = match call.body.get("events") {
        Some(Value::Array(items)) => items,
        _ => return Err(ApiError::MissingRoot("events")),
    };
    if items.is_empty() {
        return Err(ApiError::field("events", "no_events"));
    }
    if items.len() > BATCH_MAX {
        return Err(ApiError::field("events", "too_many_events"));
    }
    let empty = Map::new();
    let mut seen = HashSet::new();
    let mut events = Vec::with_capacity(items.len());
    let mut errors = Map::new();
    for (i, item) in items.iter().enumerate() {
        match validate(state, item.as_object().unwrap_or(&empty), &mut seen) {
            Ok(e) => events.push(e),
            Err(e) => {
                errors.insert(i.to_string(), Value::Object(e));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let body: Vec<Value> = events.iter().map(|e| wire::event(e, None)).collect();
    for e in events {
        state.insert_event(e);
    }
    Ok(json!({"events": body}))
}

/// The customer and subscription lago_ids an event resolves to once processed: the row of its
/// external subscription id that was running at the event's timestamp.
fn resolve(state: &State, e: &Event) -> Option<(String, String)> {
    let ext = e.external_subscription_id.as_deref()?;
    let s = state
        .rows_of(ext)
        .rev()
        .map(|i| &state.subscriptions[i])
        .find(|s| {
            s.status != Status::Canceled
                && s.started_at.is_some_and(|st| st <= e.timestamp)
                && s.terminated_at.is_none_or(|t| e.timestamp <= t)
        })?;
    let c = state.customers.get(s.customer)?;
    Some((c.lago_id.to_string(), s.lago_id.to_string()))
}

/// `GET /events/{transaction_id}`: the first match, whatever the subscription.
pub(crate) fn show(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let tx = call.segment(1)?;
    let e = state
        .events
        .iter()
        .find(|e| e.transaction_id == tx)
        .ok_or(ApiError::NotFound("event_not_found"))?;
    Ok(json!({"event": wire::event(e, resolve(state, e))}))
}

/// `GET /events`: `external_subscription_id`, `code`, `timestamp_from`, `timestamp_to`,
/// ordered by timestamp, newest first.
pub(crate) fn list(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let q = &call.query;
    let (page, per_page) = q.pagination();
    let sub = q.present("external_subscription_id");
    let code = q.present("code");
    let from = q.present("timestamp_from").and_then(parse_iso);
    let to = q.present("timestamp_to").and_then(parse_iso);
    let mut rows: Vec<&Event> = state
        .events
        .iter()
        .filter(|e| {
            sub.is_none_or(|s| e.external_subscription_id.as_deref() == Some(s))
                && code.is_none_or(|c| e.code == c)
                && from.is_none_or(|f| e.timestamp >= f)
                && to.is_none_or(|t| e.timestamp <= t)
        })
        .collect();
    rows.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
    let (items, meta) = wire::paginate(rows, page, per_page);
    let items: Vec<Value> = items
        .into_iter()
        .map(|e| wire::event(e, resolve(state, e)))
        .collect();
    Ok(json!({"events": items, "meta": meta}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let t = |v: Value| parse_timestamp(&v).map(crate::lago::time::fmt_ms);
        assert_eq!(
            t(json!("1651240791.123")).as_deref(),
            Some("2022-04-29T13:59:51.123Z")
        );
        assert_eq!(
            t(json!(1651240791)).as_deref(),
            Some("2022-04-29T13:59:51.000Z")
        );
        assert_eq!(
            t(json!(1651240791.5)).as_deref(),
            Some("2022-04-29T13:59:51.500Z")
        );
        assert_eq!(t(json!("2022-04-29T08:59:51Z")), None);
        assert_eq!(t(json!(true)), None);
        assert_eq!(t(json!("79228162514264337593543950335")), None);
        assert_eq!(t(json!(1e300)), None);
        for odd in [
            "1e-100",
            "1e100",
            "9e99999999999",
            "-1e-99999999999",
            "1e",
            "e5",
            ".",
        ] {
            let _ = t(json!(odd));
        }
    }
}
