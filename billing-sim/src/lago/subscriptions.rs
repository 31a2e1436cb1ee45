//! `POST /subscriptions`: creation (with the customer auto-created when unknown), the idempotent
//! same-plan case, and plan changes (upgrade now, downgrade at the end of the period).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{ApiError, FieldErrors, push_error};
use super::request::{Call, Param, truthy};
use super::state::{State, Status, Subscription};
use super::time::{parse_iso, start_of_day};
use super::wire;

/// Reads an ISO 8601 date-time parameter: `Ok(None)` when absent, null or blank.
pub(crate) fn date_param(m: &Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>, ()> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => parse_iso(s).map(Some).ok_or(()),
        Some(_) => Err(()),
    }
}

/// Lago's `valid_ending_at?`: the ending date must be after today and after the subscription
/// date (dates, not instants).
pub(crate) fn ending_at_ok(
    ending_at: DateTime<Utc>,
    subscription_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    ending_at.date_naive() > now.date_naive()
        && ending_at.date_naive() > subscription_at.date_naive()
}

/// Checks `on_termination_credit_note` and `on_termination_invoice` values.
pub(crate) fn termination_options(m: &Map<String, Value>, errors: &mut FieldErrors) {
    if let Some(v) = Param::of(m, "on_termination_credit_note").text()
        && !matches!(v, "credit" | "refund" | "offset" | "skip")
    {
        push_error(errors, "on_termination_credit_note", "invalid_value");
    }
    if let Some(v) = Param::of(m, "on_termination_invoice").text()
        && !matches!(v, "generate" | "skip")
    {
        push_error(errors, "on_termination_invoice", "invalid_value");
    }
}

fn name_param(m: &Map<String, Value>) -> String {
    Param::of(m, "name")
        .text()
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// `POST /subscriptions`.
pub(crate) fn create(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let m = call.root("subscription")?;
    state.settle();
    let now = state.now();
    let plan = Param::of(m, "plan_code")
        .text()
        .and_then(|code| state.plan(code))
        .cloned()
        .ok_or(ApiError::NotFound("plan_not_found"))?;
    let mut errors = FieldErrors::new();
    let subscription_at = match date_param(m, "subscription_at") {
        Ok(t) => t.unwrap_or(now),
        Err(()) => {
            push_error(&mut errors, "subscription_at", "invalid_date");
            now
        }
    };
    let ending_at = match date_param(m, "ending_at") {
        Ok(Some(e)) if !ending_at_ok(e, subscription_at, now) => {
            push_error(&mut errors, "ending_at", "invalid_date");
            None
        }
        Ok(e) => e,
        Err(()) => {
            push_error(&mut errors, "ending_at", "invalid_date");
            None
        }
    };
    termination_options(m, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if m.contains_key("plan_overrides") {
        return Err(ApiError::Forbidden("feature_unavailable".into()));
    }
    let Some(customer_key) = Param::of(m, "external_customer_id")
        .text()
        .map(|s| s.trim().to_owned())
    else {
        return Err(ApiError::field(
            "external_customer_id",
            "value_is_mandatory",
        ));
    };
    let anniversary = match Param::of(m, "billing_time").text() {
        None => false,
        Some("calendar") => false,
        Some("anniversary") => true,
        Some(_) => return Err(ApiError::field("billing_time", "value_is_invalid")),
    };
    // The customer is saved before anything else can fail: an unknown one is created bare.
    let customer = match state.live_customer(&customer_key) {
        Some(i) => i,
        None => state.insert_customer(&customer_key),
    };
    if let Some(c) = state.customers.get_mut(customer)
        && c.fields
            .get("currency")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        c.fields
            .insert("currency".into(), plan.amount_currency.as_str().into());
    }
    let external_id = Param::of(m, "external_id")
        .text()
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let current = editable(state, customer, &external_id);
    let Some(current) = current else {
        if state
            .rows_of(&external_id)
            .any(|i| state.subscriptions[i].status == Status::Active)
        {
            return Err(ApiError::field("external_id", "value_already_exist"));
        }
        if external_id.is_empty() {
            return Err(ApiError::field("external_id", "value_is_mandatory"));
        }
        let idx = insert_new(
            state,
            m,
            customer,
            &plan.code,
            &external_id,
            anniversary,
            subscription_at,
            ending_at,
        );
        return Ok(json!({"subscription": wire::subscription(state, idx, true)}));
    };
    let current_plan_code = state.subscriptions[current].plan_code.clone();
    if current_plan_code == plan.code {
        return Ok(json!({"subscription": wire::subscription(state, current, true)}));
    }
    let current_yearly = state
        .plan(&current_plan_code)
        .map_or(0, |p| p.yearly_amount_cents());
    let upgrade = plan.yearly_amount_cents() >= current_yearly;
    if state.subscriptions[current].status == Status::Pending {
        // A future subscription: its plan is swapped in place.
        let name = name_param(m);
        let s = &mut state.subscriptions[current];
        s.plan_code = plan.code.clone();
        if !name.is_empty() {
            s.name = name;
        }
        return Ok(json!({"subscription": wire::subscription(state, current, true)}));
    }
    let ending_at_param = m.contains_key("ending_at").then_some(ending_at);
    let idx = if upgrade {
        upgrade_now(state, m, current, &plan.code, ending_at_param)
    } else {
        schedule_downgrade(state, m, current, &plan.code, ending_at_param);
        current
    };
    Ok(json!({"subscription": wire::subscription(state, idx, true)}))
}

/// The customer's active or future (not a scheduled downgrade) row with this external_id.
fn editable(state: &State, customer: usize, external_id: &str) -> Option<usize> {
    state
        .rows_of(external_id)
        .filter(|&i| {
            let s = &state.subscriptions[i];
            s.customer == customer
                && (s.status == Status::Active
                    || (s.status == Status::Pending && s.previous.is_none()))
        })
        .max_by_key(|&i| state.subscriptions[i].started_at)
}

fn blank_row(
    state: &mut State,
    m: &Map<String, Value>,
    customer: usize,
    plan_code: &str,
    external_id: &str,
) -> Subscription {
    let created_at = state.clock.tick();
    let payment_method = m.get("payment_method").and_then(Value::as_object);
    let pm = |k: &str| payment_method.and_then(|p| Param::of(p, k).text().map(str::to_owned));
    Subscription {
        lago_id: Uuid::new_v4(),
        external_id: external_id.to_owned(),
        customer,
        plan_code: plan_code.to_owned(),
        name: name_param(m),
        status: Status::Pending,
        anniversary: false,
        subscription_at: created_at,
        started_at: None,
        ending_at: None,
        terminated_at: None,
        canceled_at: None,
        created_at,
        previous: None,
        scheduled_start: None,
        on_termination_credit_note: Param::of(m, "on_termination_credit_note")
            .text()
            .map(str::to_owned),
        on_termination_invoice: Param::of(m, "on_termination_invoice")
            .text()
            .unwrap_or("generate")
            .to_owned(),
        progressive_billing_disabled: truthy(m.get("progressive_billing_disabled"))
            .unwrap_or(false),
        consolidate_invoice: truthy(m.get("consolidate_invoice")).unwrap_or(false),
        purchase_order_number: Param::of(m, "purchase_order_number")
            .text()
            .map(str::to_owned),
        payment_method_id: pm("payment_method_id"),
        payment_method_type: pm("payment_method_type"),
    }
}

/// A brand-new row: active now if the subscription date is today or past, pending otherwise.
#[allow(clippy::too_many_arguments)]
fn insert_new(
    state: &mut State,
    m: &Map<String, Value>,
    customer: usize,
    plan_code: &str,
    external_id: &str,
    anniversary: bool,
    subscription_at: DateTime<Utc>,
    ending_at: Option<DateTime<Utc>>,
) -> usize {
    let today = start_of_day(state.now());
    let mut row = blank_row(state, m, customer, plan_code, external_id);
    row.anniversary = anniversary;
    row.subscription_at = subscription_at;
    row.ending_at = ending_at;
    if start_of_day(subscription_at) <= today {
        row.status = Status::Active;
        row.started_at = Some(subscription_at);
    }
    state.push_subscription(row)
}

/// Upgrade: the current row is terminated now and a new row (new lago_id, same external_id)
/// starts now. A scheduled downgrade is canceled.
fn upgrade_now(
    state: &mut State,
    m: &Map<String, Value>,
    current: usize,
    plan_code: &str,
    ending_at: Option<Option<DateTime<Utc>>>,
) -> usize {
    let now = state.now();
    if let Some(next) = state.next_of(current)
        && state.subscriptions[next].status == Status::Pending
    {
        state.cancel(next, now);
    }
    state.terminate(current, now);
    let old = state.subscriptions[current].clone();
    let mut row = blank_row(state, m, old.customer, plan_code, &old.external_id);
    row.status = Status::Active;
    row.started_at = Some(now);
    row.previous = Some(current);
    row.anniversary = old.anniversary;
    row.subscription_at = old.subscription_at;
    row.ending_at = ending_at.unwrap_or(old.ending_at);
    if !m.contains_key("consolidate_invoice") {
        row.consolidate_invoice = old.consolidate_invoice;
    }
    state.push_subscription(row)
}

/// Downgrade: a pending row follows the current one from the start of the next billing period
/// (replacing any earlier scheduled change); the current row stays active meanwhile.
fn schedule_downgrade(
    state: &mut State,
    m: &Map<String, Value>,
    current: usize,
    plan_code: &str,
    ending_at: Option<Option<DateTime<Utc>>>,
) {
    let now = state.now();
    if let Some(next) = state.next_of(current)
        && state.subscriptions[next].status == Status::Pending
    {
        state.cancel(next, now);
    }
    let old = state.subscriptions[current].clone();
    let (_, period_end) = wire::billing_period(state, &old);
    let mut row = blank_row(state, m, old.customer, plan_code, &old.external_id);
    row.previous = Some(current);
    row.anniversary = old.anniversary;
    row.subscription_at = old.subscription_at;
    row.ending_at = ending_at.unwrap_or(old.ending_at);
    row.scheduled_start = Some(period_end + chrono::Duration::seconds(1));
    if !m.contains_key("consolidate_invoice") {
        row.consolidate_invoice = old.consolidate_invoice;
    }
    state.push_subscription(row);
}
