//! `GET /customers/{external_customer_id}/current_usage`: the current billing period of one
//! active subscription, one entry per plan charge, aggregated with exact decimals.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

use super::aggregation;
use super::errors::ApiError;
use super::request::Call;
use super::state::{Charge, Event, State, Status, Subscription};
use super::time::{Interval, fmt_date, fmt_s, period_containing};
use super::wire;
use crate::iso::exponent;

/// Ruby's `BigDecimal#to_s` under ActiveSupport: `"1.0"`, `"12.5"`, `"0.3"`.
pub(crate) fn units_string(d: Decimal) -> String {
    let d = d.normalize();
    if d.scale() == 0 {
        format!("{d}.0")
    } else {
        d.to_string()
    }
}

/// The standard charge model: units x amount per unit, in minor units, rounded half up.
pub(crate) fn amount_cents(units: Decimal, charge: &Charge, currency: &str) -> i64 {
    let scale = Decimal::from(10_i64.pow(exponent(currency)));
    units
        .checked_mul(charge.amount)
        .and_then(|a| a.checked_mul(scale))
        .map(|a| a.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero))
        .and_then(|a| a.to_i64())
        .unwrap_or(i64::MAX)
}

/// The aggregation window of the current period `[from, to]` (inclusive, whole seconds):
/// the weighted sum's end is the period's end (Lago's end of day, `ceil`ed), or the
/// termination instant; its duration is the full period's in days.
fn window(
    state: &State,
    sub: &Subscription,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> aggregation::Window {
    let interval = state
        .plan(&sub.plan_code)
        .map_or(Interval::Monthly, |p| p.interval);
    let (start, end) = period_containing(interval, sub.anniversary, sub.subscription_at, to);
    let to_ceil = if to + Duration::seconds(1) == end {
        end
    } else {
        to
    };
    aggregation::Window {
        from,
        to,
        to_ceil,
        period_days: (end - start).num_days(),
    }
}

/// `GET /customers/{id}/current_usage?external_subscription_id=&billable_metric_code=`.
pub(crate) fn current(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    state.settle();
    let customer_key = call.customer_segment(1, true)?;
    let customer = state
        .live_customer(&customer_key)
        .ok_or(ApiError::NotFound("resource_not_found"))?;
    let q = &call.query;
    let external_id = q.get("external_subscription_id").unwrap_or("");
    let sub = state
        .rows_of(external_id)
        .map(|i| &state.subscriptions[i])
        .find(|s| s.status == Status::Active && s.customer == customer)
        .ok_or(ApiError::MethodNotAllowed("no_active_subscription"))?;
    let plan = state
        .plan(&sub.plan_code)
        .ok_or(ApiError::NotFound("plan_not_found"))?;
    let metric_code = q.present("billable_metric_code");
    let charge_code = q.present("charge_code");
    let charge_id = q.present("charge_id");
    let charges: Vec<&Charge> = plan
        .charges
        .iter()
        .filter(|c| {
            metric_code.is_none_or(|m| c.metric_code == m)
                && charge_code.is_none_or(|code| c.code == code)
                && charge_id.is_none_or(|id| c.lago_id.to_string() == id)
        })
        .collect();
    if charges.is_empty() && (metric_code.is_some() || charge_code.is_some() || charge_id.is_some())
    {
        return Err(ApiError::NotFound("charge_not_found"));
    }
    let (from, to) = wire::billing_period(state, sub);
    let window = window(state, sub, from, to);
    let up_to_end: Vec<&Event> = state
        .events_of(external_id)
        .filter(|e| e.timestamp <= to)
        .collect();
    let currency = plan.amount_currency.clone();
    let mut total = 0_i64;
    let mut lines = Vec::new();
    for charge in charges {
        let Some(metric) = state.metric(&charge.metric_code) else {
            continue;
        };
        let events: Vec<&Event> = up_to_end
            .iter()
            .copied()
            .filter(|e| e.code == metric.code)
            .collect();
        let aggregate = aggregation::aggregate(metric, &events, window);
        let units = aggregate.units;
        let cents = amount_cents(units, charge, &currency);
        total = total.saturating_add(cents);
        lines.push(json!({
            "units": units_string(units),
            "total_aggregated_units": units_string(aggregate.total),
            "events_count": aggregate.events_count.trunc().to_u64().unwrap_or(0),
            "amount_cents": cents,
            "amount_currency": currency,
            "pricing_unit_details": null,
            "charge": {
                "lago_id": charge.lago_id.to_string(),
                "code": charge.code,
                "charge_model": "standard",
                "invoice_display_name": charge.invoice_display_name,
            },
            "billable_metric": {
                "lago_id": metric.lago_id.to_string(),
                "name": metric.name,
                "code": metric.code,
                "aggregation_type": metric.aggregation.lago_type(),
            },
            "filters": [],
            "grouped_usage": [],
            "presentation_breakdowns": [],
        }));
    }
    Ok(json!({"customer_usage": {
        "from_datetime": fmt_s(from),
        "to_datetime": fmt_s(to),
        "issuing_date": fmt_date((to + Duration::seconds(1)).date_naive()),
        "currency": currency,
        "amount_cents": total,
        "taxes_amount_cents": 0,
        "total_amount_cents": total,
        "lago_invoice_id": null,
        "charges_usage": lines,
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_look_like_ruby_bigdecimal() {
        assert_eq!(units_string(Decimal::new(10, 1)), "1.0");
        assert_eq!(units_string(Decimal::from(12)), "12.0");
        assert_eq!(units_string(Decimal::new(125, 1)), "12.5");
        assert_eq!(units_string(Decimal::new(300, 3)), "0.3");
        let sum = Decimal::new(1, 1) + Decimal::new(2, 1);
        assert_eq!(units_string(sum), "0.3");
    }
}
