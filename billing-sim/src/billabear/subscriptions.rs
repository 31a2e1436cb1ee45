//! Starting, reading and listing subscriptions, and the plan catalog
//! (`CustomerSubscriptionController`, `SubscriptionController`, `SubscriptionPlanController`).

use std::ops::Bound;

use axum::response::Response;
use serde_json::{Map, Value};

use super::catalog::Plan;
use super::clock;
use super::errors::{self, Step, Unhandled};
use super::listing::{self, SizeError};
use super::router::Ctx;
use super::state::{State, Subscription};
use super::validate::{self as v, Violations, field, msg};
use super::wire;

/// `findById` on a customer: a non-UUID or unknown id is simply not found.
pub(crate) fn find_customer(state: &State, id: &str) -> Option<String> {
    v::uuid(id).filter(|id| state.customers.contains_key(id))
}

/// `findById` on a subscription: a non-UUID or unknown id is simply not found.
pub(crate) fn find_subscription(state: &State, id: &str) -> Option<String> {
    v::uuid(id).filter(|id| state.subscriptions.contains_key(id))
}

/// A plan by UUID or, when the identifier is not a UUID, by `code_name`.
fn resolve_plan<'a>(state: &'a State, identifier: &str) -> Option<&'a Plan> {
    match v::uuid(identifier) {
        Some(id) => state.catalog.plan(&id),
        None => state.catalog.plan_by_code(identifier),
    }
}

/// A scalar rendered as PHP's string cast; arrays, objects and null cannot be passed to a
/// `string` parameter (`TypeError`, i.e. 500).
fn string_arg(value: Option<&Value>) -> Step<String> {
    value.and_then(v::php_string).ok_or(Unhandled)
}

/// PHP `empty()`: also true for `"0"` and `0`.
fn php_empty(value: Option<&Value>) -> bool {
    v::is_blank(value)
        || matches!(value, Some(Value::String(s)) if s == "0")
        || value.and_then(Value::as_f64) == Some(0.0)
}

/// Validates `CreateSubscription`: the class-level `ValidPrice` first, then the properties.
fn validate_start(state: &State, body: &Map<String, Value>) -> Step<Violations> {
    let mut vs = Violations::default();
    let plan_raw = field(body, "subscription_plan");
    let price_raw = field(body, "price");
    let price_is_uuid = price_raw
        .and_then(v::php_string)
        .and_then(|p| v::uuid(&p))
        .is_some();
    if !price_is_uuid {
        // `Uuid::isValid($dto->getSubscriptionPlan())` throws a TypeError for null.
        let identifier = string_arg(plan_raw)?;
        if let Some(plan) = resolve_plan(state, &identifier) {
            // `getPriceForCurrencyAndSchedule(string, string)` with null: TypeError.
            let currency = string_arg(field(body, "currency"))?;
            let schedule = string_arg(field(body, "schedule"))?;
            if state
                .catalog
                .price_for(plan, &currency, &schedule)
                .is_none()
            {
                vs.add("price", msg::NO_VALID_PRICE);
            }
        }
    }
    v::check_not_blank(&mut vs, "subscription_plan", plan_raw);
    v::check_type(&mut vs, "subscription_plan", plan_raw, &["string"]);
    if !php_empty(plan_raw) && resolve_plan(state, &string_arg(plan_raw)?).is_none() {
        vs.add("subscription_plan", msg::PLAN_MISSING);
    }
    v::check_type(&mut vs, "price", price_raw, &["string"]);
    if !php_empty(price_raw) {
        let id = string_arg(price_raw)?;
        if v::uuid(&id)
            .and_then(|id| state.catalog.price(&id))
            .is_none()
        {
            vs.add("price", msg::PRICE_MISSING);
        }
    }
    v::check_type(&mut vs, "currency", field(body, "currency"), &["string"]);
    v::check_type(
        &mut vs,
        "card_token",
        field(body, "card_token"),
        &["string"],
    );
    let schedule = field(body, "schedule");
    v::check_choice(&mut vs, "schedule", schedule, &["week", "month", "year"]);
    v::check_type(&mut vs, "schedule", schedule, &["string"]);
    let payment_details = field(body, "payment_details");
    if !php_empty(payment_details) {
        let id = string_arg(payment_details)?;
        if v::uuid(&id).is_none_or(|id| !state.cards.contains_key(&id)) {
            vs.add("payment_details", msg::PAYMENT_DETAILS_MISSING);
        }
    }
    let seats = field(body, "seat_number");
    let non_positive = match seats {
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f <= 0.0),
        Some(Value::String(s)) => s.trim().parse::<f64>().is_ok_and(|f| f <= 0.0),
        _ => false,
    };
    if non_positive {
        vs.add("seat_number", msg::POSITIVE);
    }
    v::check_type(&mut vs, "seat_number", seats, &["integer"]);
    v::check_type(
        &mut vs,
        "deny_trial",
        field(body, "deny_trial"),
        &["boolean"],
    );
    v::check_type(&mut vs, "metadata", field(body, "metadata"), &["array"]);
    Ok(vs)
}

/// `POST /customer/{id}/subscription/start` -> 201 Subscription.
pub(crate) fn start(state: &mut State, ctx: &Ctx, customer_id: &str) -> Response {
    let Some(customer_id) = find_customer(state, customer_id) else {
        return errors::literal(404, "[]");
    };
    match start_checked(state, ctx, &customer_id) {
        Ok(resp) => resp,
        Err(Unhandled) => ctx.unhandled(),
    }
}

fn start_checked(state: &mut State, ctx: &Ctx, customer_id: &str) -> Step<Response> {
    let body = ctx.body()?;
    let vs = validate_start(state, &body)?;
    if !vs.is_empty() {
        return Ok(errors::validation(&vs));
    }
    let plan = resolve_plan(state, &string_arg(field(&body, "subscription_plan"))?)
        .ok_or(Unhandled)?
        .clone();

    // Payment method: card_token, then payment_details, then the default card.
    let card_token = field(&body, "card_token").and_then(v::php_string);
    if card_token.as_deref().is_some_and(v::php_truthy) {
        if !state.config.stripe_configured {
            return Ok(errors::json(
                406,
                &serde_json::json!({"error": "Unable to add card via token"}),
            ));
        }
        let card = uuid::Uuid::new_v4().to_string();
        state.cards.insert(card.clone(), customer_id.to_owned());
        if let Some(c) = state.customers.get_mut(customer_id) {
            c.default_card = Some(card);
        }
    } else if body.get("payment_details").is_some_and(|p| !p.is_null()) {
        let id = string_arg(field(&body, "payment_details"))?;
        v::uuid(&id)
            .filter(|id| state.cards.contains_key(id))
            .ok_or(Unhandled)?;
    } else if state
        .customers
        .get(customer_id)
        .is_none_or(|c| c.default_card.is_none())
    {
        return Ok(errors::json(
            406,
            &serde_json::json!({"error": "No default payment method"}),
        ));
    }

    let price_raw = field(&body, "price");
    let price = if !php_empty(price_raw) {
        let id = v::uuid(&string_arg(price_raw)?).ok_or(Unhandled)?;
        state.catalog.price(&id).ok_or(Unhandled)?.clone()
    } else {
        let currency = string_arg(field(&body, "currency"))?;
        let schedule = string_arg(field(&body, "schedule"))?;
        state
            .catalog
            .price_for(&plan, &currency, &schedule)
            .ok_or(Unhandled)?
            .clone()
    };

    // Inside the controller's try: a TypeError (seat_number: null) becomes `500 []`.
    let seat_number = match body.get("seat_number") {
        None => 1,
        Some(s) => match s.as_i64() {
            Some(n) => n,
            None => return Ok(errors::literal(500, "[]")),
        },
    };
    let charged = state
        .customers
        .get(customer_id)
        .is_some_and(|c| c.billing_type == "card");
    if charged && let Some(reason) = state.fail_next_charge.take() {
        return Ok(errors::reason(402, &reason));
    }
    let now = state.now();
    let sub = Subscription {
        id: uuid::Uuid::new_v4().to_string(),
        customer_id: customer_id.to_owned(),
        created_seq: state.next_seq(),
        plan_id: plan.id.to_owned(),
        price_id: price.id.to_owned(),
        seat_number,
        metadata: field(&body, "metadata").map_or(Value::Array(Vec::new()), v::php_array),
        status: "active".to_owned(),
        active: true,
        created_at: now,
        updated_at: now,
        ended_at: None,
        valid_until: clock::add_schedule(now, price.schedule),
        start_of_current_period: now,
    };
    state.invoice_usage(customer_id, price.id);
    state.note_due(sub.valid_until);
    let out = wire::subscription(&state.catalog, &sub);
    state.subscriptions.insert(sub.id.clone(), sub);
    Ok(errors::json(201, &out))
}

/// `GET /customer/{id}/subscription` (all) and `.../subscription/active` (the `active`
/// column): not paged, `has_more: false`, no `last_key`; 404 `[]`.
pub(crate) fn list_for_customer(state: &State, customer_id: &str, only_active: bool) -> Response {
    let Some(customer_id) = find_customer(state, customer_id) else {
        return errors::literal(404, "[]");
    };
    let data = state
        .subscriptions_of(&customer_id, only_active)
        .into_iter()
        .map(|s| wire::subscription(&state.catalog, s))
        .collect();
    errors::json(
        200,
        &wire::ListOut {
            data,
            has_more: false,
            last_key: None,
        },
    )
}

/// A keyset cursor from the query: falsy values are ignored; a non-UUID one makes Postgres
/// throw (500).
fn cursor(ctx: &Ctx, key: &str) -> Step<Option<String>> {
    match ctx.query(key).filter(|k| v::php_truthy(k)) {
        None => Ok(None),
        Some(k) => v::uuid(k).map(Some).ok_or(Unhandled),
    }
}

/// `GET /subscription?per_page&last_key&first_key&status&customer`.
pub(crate) fn list(state: &State, ctx: &Ctx) -> Response {
    let limit = match listing::page_size(ctx.query("per_page")) {
        Ok(n) => n,
        Err(SizeError::Below) => return errors::failed_reason(400, "per_page is below 1"),
        Err(SizeError::Above) => return errors::failed_reason(413, "per_page is above 100"),
    };
    let (Ok(last), Ok(first)) = (cursor(ctx, "last_key"), cursor(ctx, "first_key")) else {
        return ctx.unhandled();
    };
    let Ok(customer) = cursor(ctx, "customer") else {
        return ctx.unhandled();
    };
    let status = ctx.query("status").filter(|s| v::php_truthy(s));
    // Keyed by canonical id: already in `ORDER BY id` order. Without a `first_key`, start
    // right after `last_key`.
    let start = match (&first, &last) {
        (None, Some(l)) => Bound::Excluded(l.as_str()),
        _ => Bound::Unbounded,
    };
    let rows = state
        .subscriptions
        .range::<str, _>((start, Bound::Unbounded))
        .map(|(_, s)| s)
        .filter(|s| status.is_none_or(|st| s.status == st))
        .filter(|s| customer.as_deref().is_none_or(|c| s.customer_id == c))
        .map(|s| (s.id.as_str(), s));
    let page = listing::keyset(rows, false, limit, last.as_deref(), first.as_deref());
    errors::json(
        200,
        &wire::ListOut {
            data: page
                .items
                .into_iter()
                .map(|s| wire::subscription(&state.catalog, s))
                .collect(),
            has_more: page.has_more,
            last_key: page.last_key,
        },
    )
}

/// `GET /subscription/{id}` -> 200 Subscription, 404 `{}`.
pub(crate) fn get(state: &State, id: &str) -> Response {
    match find_subscription(state, id).and_then(|id| state.subscriptions.get(&id)) {
        Some(s) => errors::json(200, &wire::subscription(&state.catalog, s)),
        None => errors::literal(404, "{}"),
    }
}

/// `GET /subscription/plans?limit&last_key&first_key&key` (`CrudListTrait`): sorted DESC by
/// `key` (`id` by default; `name` and `code_name` also work, anything else throws), errors
/// worded with `per_page`, and an App list envelope with `first_key`.
pub(crate) fn plans(state: &State, ctx: &Ctx) -> Response {
    let limit = match listing::page_size(ctx.query("limit")) {
        Ok(n) => n,
        Err(SizeError::Below) => return errors::failed_reason(400, "per_page is below 1"),
        Err(SizeError::Above) => return errors::failed_reason(413, "per_page is above 100"),
    };
    let key = ctx.query("key").unwrap_or("id");
    let by_id = key == "id";
    fn sort_value<'a>(key: &str, p: &'a Plan) -> Option<&'a str> {
        match key {
            "id" => Some(&p.id),
            "name" => Some(&p.name),
            "code_name" | "codeName" => Some(&p.code_name),
            _ => None,
        }
    }
    let raw_cursor = |k: &str| ctx.query(k).filter(|c| v::php_truthy(c));
    let mut cursors = Vec::new();
    for k in ["last_key", "first_key"] {
        cursors.push(match raw_cursor(k) {
            None => None,
            Some(c) if !by_id => Some(c.to_owned()),
            Some(c) => match v::uuid(c) {
                Some(c) => Some(c),
                None => return ctx.unhandled(),
            },
        });
    }
    let mut rows = Vec::new();
    for p in &state.catalog.plans {
        match sort_value(key, p) {
            Some(sv) => rows.push((sv, p)),
            None => return ctx.unhandled(),
        }
    }
    rows.sort_by_key(|(k, _)| *k);
    let page = listing::keyset(
        rows.into_iter(),
        true,
        limit,
        cursors[0].as_deref(),
        cursors[1].as_deref(),
    );
    errors::json(
        200,
        &wire::AppListOut {
            data: page
                .items
                .into_iter()
                .map(|p| wire::plan(&state.catalog, p))
                .collect(),
            has_more: page.has_more,
            last_key: page.last_key,
            first_key: page.first_key,
        },
    )
}
