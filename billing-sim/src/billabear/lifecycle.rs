//! Cancelling a subscription and changing its plan (`SubscriptionController`).

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::clock;
use super::errors::{self, Step, Unhandled};
use super::router::Ctx;
use super::state::State;
use super::subscriptions::find_subscription;
use super::validate::{self as v, Violations, msg};

/// A DTO property with a default: absent keeps the default, an explicit `null` replaces it.
fn with_default<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    default: &'a Value,
) -> Option<&'a Value> {
    match body.get(key) {
        None => Some(default),
        Some(Value::Null) => None,
        Some(other) => Some(other),
    }
}

/// `Assert\Date` / `Assert\DateTime`: null and `''` pass, non-scalars throw (500).
fn check_date(
    vs: &mut Violations,
    path: &str,
    value: Option<&Value>,
    rfc3339_ms: bool,
) -> Step<()> {
    let Some(value) = value else {
        return Ok(());
    };
    let s = v::php_string(value).ok_or(Unhandled)?;
    if s.is_empty() {
        return Ok(());
    }
    let ok = if rfc3339_ms {
        // `DATE_RFC3339_EXTENDED`: `Y-m-d\TH:i:s.vP`.
        chrono::DateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.3f%:z").is_ok() && s.len() == 29
    } else {
        v::date(&s).is_some()
    };
    if !ok {
        vs.add(path, if rfc3339_ms { msg::DATETIME } else { msg::DATE });
    }
    Ok(())
}

/// `when` / `refund_type`: Choice, NotBlank, Type(string).
fn check_enum(vs: &mut Violations, path: &str, value: Option<&Value>, choices: &[&str]) {
    v::check_choice(vs, path, value, choices);
    v::check_not_blank(vs, path, value);
    v::check_type(vs, path, value, &["string"]);
}

/// `POST /subscription/{id}/cancel` -> 202 `{}`; 400 `{"success":false,"errors":{...}}`;
/// 404 `{}`. The cancellation workflow runs synchronously:
/// - `end-of-run` (default): `pending_cancel`, `ended_at = valid_until`;
/// - `instantly`: `cancelled`, inactive, `ended_at = valid_until = now`;
/// - `specific-date`: `pending_cancel`, `ended_at = valid_until = date` (midnight UTC); without
///   a `date` the workflow throws a `TypeError`: 424 `{"error": ..., "class": "TypeError"}`.
pub(crate) fn cancel(state: &mut State, ctx: &Ctx, id: &str) -> Response {
    let Some(id) = find_subscription(state, id) else {
        return errors::literal(404, "{}");
    };
    let Ok(body) = ctx.body() else {
        return ctx.unhandled();
    };
    let (end_of_run, none) = (json!("end-of-run"), json!("none"));
    let when = with_default(&body, "when", &end_of_run);
    let refund = with_default(&body, "refund_type", &none);
    let date = v::field(&body, "date");
    let mut vs = Violations::default();
    check_enum(
        &mut vs,
        "when",
        when,
        &["end-of-run", "instantly", "specific-date"],
    );
    if check_date(&mut vs, "date", date, false).is_err() {
        return ctx.unhandled();
    }
    check_enum(&mut vs, "refund_type", refund, &["none", "prorate", "full"]);
    if !vs.is_empty() {
        return errors::json(400, &json!({"success": false, "errors": vs.to_json()}));
    }
    let specific = date
        .and_then(v::php_string)
        .filter(|d| v::php_truthy(d))
        .and_then(|d| v::date(&d))
        .map(clock::midnight);
    let now = state.now();
    let Some(sub) = state.subscriptions.get_mut(&id) else {
        return errors::literal(404, "{}");
    };
    match when.and_then(Value::as_str) {
        Some("end-of-run") => {
            sub.status = "pending_cancel".to_owned();
            sub.ended_at = Some(sub.valid_until);
        }
        Some("instantly") => {
            sub.status = "cancelled".to_owned();
            sub.active = false;
            sub.ended_at = Some(now);
            sub.valid_until = now;
        }
        _ => {
            let Some(at) = specific else {
                return errors::json(
                    424,
                    &json!({
                        "error": "BillaBear\\Subscription\\InvoiceSubscriptionManager::cancelSubscriptionOnDate(): Argument #2 ($dateTime) must be of type DateTimeInterface, null given",
                        "class": "TypeError",
                    }),
                );
            };
            sub.status = "pending_cancel".to_owned();
            sub.ended_at = Some(at);
            sub.valid_until = at;
        }
    }
    sub.updated_at = now;
    errors::literal(202, "{}")
}

/// `POST /subscription/{id}/plan {plan, price, when}` -> 202 `[]`; 404 `[]`.
///
/// As in the server: the plan and price are switched IMMEDIATELY for every `when`
/// (`next-cycle` and `specific-date` only skip the prorated charge); `instantly` also restarts
/// the period when the new price's schedule differs. `plan` must be a UUID: a `code_name`
/// passes validation and then throws in `findById` (500). The `PriceIsValidForPlan`
/// constraint never fires on this endpoint (its validator only handles the admin app's DTO),
/// so a price of another product is accepted.
pub(crate) fn change_plan(state: &mut State, ctx: &Ctx, id: &str) -> Response {
    let Some(id) = find_subscription(state, id) else {
        return errors::literal(404, "[]");
    };
    match change_plan_checked(state, ctx, &id) {
        Ok(resp) => resp,
        Err(Unhandled) => ctx.unhandled(),
    }
}

fn change_plan_checked(state: &mut State, ctx: &Ctx, id: &str) -> Step<Response> {
    let body = ctx.body()?;
    let when = v::field(&body, "when");
    let price = v::field(&body, "price");
    let plan = v::field(&body, "plan");
    let mut vs = Violations::default();
    check_enum(
        &mut vs,
        "when",
        when,
        &["next-cycle", "instantly", "specific-date"],
    );
    check_date(&mut vs, "date", v::field(&body, "date"), true)?;
    v::check_not_blank(&mut vs, "price", price);
    let price_str = price
        .map(|p| v::php_string(p).ok_or(Unhandled))
        .transpose()?;
    let price_found = price_str
        .as_deref()
        .and_then(v::uuid)
        .and_then(|p| state.catalog.price(&p).cloned());
    if price_str
        .as_deref()
        .is_some_and(|p| !p.is_empty() && p != "0")
        && price_found.is_none()
    {
        vs.add("price", msg::PRICE_MISSING);
    }
    v::check_not_blank(&mut vs, "plan", plan);
    let plan_str = plan
        .map(|p| v::php_string(p).ok_or(Unhandled))
        .transpose()?;
    if let Some(p) = plan_str.as_deref().filter(|p| !p.is_empty() && *p != "0") {
        let exists = match v::uuid(p) {
            Some(uuid) => state.catalog.plan(&uuid).is_some(),
            None => state.catalog.plan_by_code(p).is_some(),
        };
        if !exists {
            vs.add("plan", msg::PLAN_MISSING);
        }
    }
    if !vs.is_empty() {
        return Ok(errors::validation(&vs));
    }
    let new_price = price_found.ok_or(Unhandled)?;
    let new_plan = plan_str
        .as_deref()
        .and_then(v::uuid)
        .and_then(|p| state.catalog.plan(&p).cloned())
        .ok_or(Unhandled)?;
    let now = state.now();
    let old_schedule = state
        .subscriptions
        .get(id)
        .and_then(|s| state.catalog.price(&s.price_id))
        .map(|p| p.schedule);
    let Some(sub) = state.subscriptions.get_mut(id) else {
        return Ok(errors::literal(404, "[]"));
    };
    let mut due = None;
    if when.and_then(Value::as_str) == Some("instantly") && old_schedule != Some(new_price.schedule)
    {
        sub.valid_until = clock::add_schedule(now, new_price.schedule);
        sub.start_of_current_period = now;
        due = Some(sub.valid_until);
    }
    sub.price_id = new_price.id.to_owned();
    sub.plan_id = new_plan.id.to_owned();
    sub.updated_at = now;
    if let Some(due) = due {
        state.note_due(due);
    }
    Ok(errors::literal(202, "[]"))
}
