//! The catalog: the seeded billable metrics and plans, and the `/billable_metrics` and `/plans`
//! endpoints (list, show, and create for setting up more).

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{ApiError, FieldErrors, push_error as push};
use super::request::{Call, Param, truthy};
use super::state::{Charge, Metric, Plan, State};
use super::time::Interval;
use super::wire;
use crate::catalog::{Aggregation, Catalog, CatalogError, Vendor};
use crate::iso::is_currency;

/// Installs `catalog` (already restricted to Lago's part): its metrics, then its plans with a
/// standard charge per usage charge, in file order, as `POST /billable_metrics` and
/// `POST /plans` would create them.
///
/// # Errors
/// [`CatalogError::Unsupported`] for a recurring count, max or latest metric (Lago's
/// `validate_recurring`), or a currency Lago does not know.
pub(crate) fn install(state: &mut State, catalog: &Catalog) -> Result<(), CatalogError> {
    let lago = Vendor::Lago;
    let mut metrics = Vec::new();
    for m in &catalog.metrics {
        let aggregation = m.aggregation;
        if m.lago.recurring && !aggregation.may_recur() {
            return Err(CatalogError::unsupported(
                lago,
                format!(
                    "metric `{}`: a {} metric cannot be recurring",
                    m.code,
                    m.aggregation.as_str()
                ),
            ));
        }
        metrics.push(Metric {
            lago_id: Uuid::new_v4(),
            name: m.display_name().to_owned(),
            code: m.code.clone(),
            description: None,
            aggregation,
            field_name: m
                .field
                .clone()
                .filter(|_| aggregation != Aggregation::Count),
            recurring: m.lago.recurring,
            created_at: state.clock.tick(),
        });
    }
    let mut plans = Vec::new();
    for p in &catalog.plans {
        if !is_currency(&p.currency) {
            return Err(CatalogError::unsupported(
                lago,
                format!("plan `{}`: unknown currency {}", p.code, p.currency),
            ));
        }
        let created_at = state.clock.tick();
        let charges = p
            .charges
            .iter()
            .map(|c| Charge {
                lago_id: Uuid::new_v4(),
                code: c.metric.clone(),
                metric_code: c.metric.clone(),
                amount: c.unit_price,
                amount_text: c.unit_price.to_string(),
                invoice_display_name: None,
                created_at,
            })
            .collect();
        plans.push(Plan {
            lago_id: Uuid::new_v4(),
            name: p.display_name().to_owned(),
            code: p.code.clone(),
            interval: p.interval,
            amount_cents: p.amount_cents,
            amount_currency: p.currency.clone(),
            pay_in_advance: false,
            description: None,
            invoice_display_name: None,
            charges,
            created_at,
        });
    }
    state.metrics = metrics;
    state.plans = plans;
    Ok(())
}

/// `GET /billable_metrics`, newest first.
pub(crate) fn list_metrics(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let (page, per_page) = call.query.pagination();
    let all: Vec<Value> = state.metrics.iter().rev().map(wire::metric).collect();
    let (items, meta) = wire::paginate(all, page, per_page);
    Ok(json!({"billable_metrics": items, "meta": meta}))
}

/// `GET /billable_metrics/{code}`.
pub(crate) fn show_metric(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let code = call.segment(1)?;
    let m = state
        .metric(&code)
        .ok_or(ApiError::NotFound("billable_metric_not_found"))?;
    Ok(json!({"billable_metric": wire::metric(m)}))
}

/// `GET /plans`, newest first.
pub(crate) fn list_plans(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let (page, per_page) = call.query.pagination();
    let all: Vec<Value> = state
        .plans
        .iter()
        .rev()
        .map(|p| wire::plan(state, p))
        .collect();
    let (items, meta) = wire::paginate(all, page, per_page);
    Ok(json!({"plans": items, "meta": meta}))
}

/// `GET /plans/{code}`.
pub(crate) fn show_plan(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let code = call.segment(1)?;
    let p = state
        .plan(&code)
        .ok_or(ApiError::NotFound("plan_not_found"))?;
    Ok(json!({"plan": wire::plan(state, p)}))
}

fn required(m: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> String {
    match Param::of(m, key).text() {
        Some(s) => s.to_owned(),
        None => {
            push(errors, key, "value_is_mandatory");
            String::new()
        }
    }
}

/// `POST /billable_metrics`: count, sum, max, unique_count, latest and weighted_sum
/// aggregations (`custom_agg` is premium: not simulated).
pub(crate) fn create_metric(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let m = call.root("billable_metric")?;
    let mut errors = FieldErrors::new();
    let name = required(m, "name", &mut errors);
    let code = required(m, "code", &mut errors);
    if !code.is_empty() && state.metric(&code).is_some() {
        push(&mut errors, "code", "value_already_exist");
    }
    let aggregation = Param::of(m, "aggregation_type")
        .text()
        .and_then(Aggregation::from_lago_type);
    if aggregation.is_none() {
        push(&mut errors, "aggregation_type", "value_is_invalid");
    }
    let field_name = Param::of(m, "field_name").text().map(str::to_owned);
    if aggregation.is_some_and(|a| a != Aggregation::Count) && field_name.is_none() {
        push(&mut errors, "field_name", "value_is_mandatory");
    }
    let recurring = truthy(m.get("recurring")).unwrap_or(false);
    if recurring && aggregation.is_some_and(|a| !a.may_recur()) {
        push(
            &mut errors,
            "recurring",
            "not_compatible_with_aggregation_type",
        );
    }
    if aggregation == Some(Aggregation::WeightedSum)
        && Param::of(m, "weighted_interval").text() != Some("seconds")
    {
        push(&mut errors, "weighted_interval", "value_is_invalid");
    }
    let (Some(aggregation), true) = (aggregation, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let created_at = state.clock.tick();
    let metric = Metric {
        lago_id: Uuid::new_v4(),
        name,
        code,
        description: Param::of(m, "description").text().map(str::to_owned),
        aggregation,
        field_name: field_name.filter(|_| aggregation != Aggregation::Count),
        recurring,
        created_at,
    };
    let body = json!({"billable_metric": wire::metric(&metric)});
    state.metrics.push(metric);
    Ok(body)
}

/// `POST /plans` with standard charges referencing metrics by lago_id.
pub(crate) fn create_plan(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let m = call.root("plan")?;
    let mut errors = FieldErrors::new();
    let name = required(m, "name", &mut errors);
    let code = required(m, "code", &mut errors);
    if !code.is_empty() && state.plan(&code).is_some() {
        push(&mut errors, "code", "value_already_exist");
    }
    let interval = Param::of(m, "interval").text().and_then(Interval::parse);
    if interval.is_none() {
        push(&mut errors, "interval", "value_is_invalid");
    }
    let amount_cents = m.get("amount_cents").and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    if amount_cents.is_none_or(|a| a < 0) {
        push(&mut errors, "amount_cents", "value_is_invalid");
    }
    let currency = Param::of(m, "amount_currency").text().map(str::to_owned);
    if !currency.as_deref().is_some_and(is_currency) {
        push(&mut errors, "amount_currency", "value_is_invalid");
    }
    let pay_in_advance = truthy(m.get("pay_in_advance"));
    if pay_in_advance.is_none() {
        push(&mut errors, "pay_in_advance", "value_is_invalid");
    }
    let created_at = state.clock.now();
    let mut charges = Vec::new();
    for c in m
        .get("charges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(c) = c.as_object() else { continue };
        let metric_id = Param::of(c, "billable_metric_id");
        let metric = state
            .metrics
            .iter()
            .find(|x| Some(x.lago_id.to_string().as_str()) == metric_id.text())
            .ok_or(ApiError::NotFound("billable_metric_not_found"))?;
        if Param::of(c, "charge_model").text() != Some("standard") {
            push(&mut errors, "charge_model", "value_is_invalid");
        }
        let text = c
            .get("properties")
            .and_then(|p| p.get("amount"))
            .and_then(Value::as_str)
            .map(str::trim);
        let amount = text
            .and_then(|a| Decimal::from_str(a).ok())
            .filter(|a| !a.is_sign_negative());
        let (Some(amount), Some(text)) = (amount, text) else {
            push(&mut errors, "amount", "invalid_amount");
            continue;
        };
        charges.push(Charge {
            lago_id: Uuid::new_v4(),
            code: Param::of(c, "code")
                .text()
                .map_or_else(|| metric.code.clone(), str::to_owned),
            metric_code: metric.code.clone(),
            amount,
            amount_text: text.to_owned(),
            invoice_display_name: Param::of(c, "invoice_display_name")
                .text()
                .map(str::to_owned),
            created_at,
        });
    }
    let (Some(interval), Some(amount_cents), Some(currency), Some(pay_in_advance), true) = (
        interval,
        amount_cents,
        currency,
        pay_in_advance,
        errors.is_empty(),
    ) else {
        return Err(ApiError::Validation(errors));
    };
    let created_at = state.clock.tick();
    let plan = Plan {
        lago_id: Uuid::new_v4(),
        name,
        code,
        interval,
        amount_cents,
        amount_currency: currency,
        pay_in_advance,
        description: Param::of(m, "description").text().map(str::to_owned),
        invoice_display_name: Param::of(m, "invoice_display_name")
            .text()
            .map(str::to_owned),
        charges,
        created_at,
    };
    let body = json!({"plan": wire::plan(state, &plan)});
    state.plans.push(plan);
    Ok(body)
}
