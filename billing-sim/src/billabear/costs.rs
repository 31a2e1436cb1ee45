//! The cost estimate (`GET /customer/{id}/costs`, `CostsController` + `CostEstimator`) and the
//! running counters behind it (`MetricCounterUpdater`, run by a per-minute cron in the server).

use std::collections::HashSet;

use axum::response::Response;
use serde_json::Value;

use super::catalog::Metric;
use super::errors;
use super::state::{Event, State};
use super::subscriptions::find_customer;
use super::wire::{CostOut, CostsOut, MetricCostOut};

/// `MetricCounterUpdater::updateForSubscription` for every active usage-priced subscription of
/// the customer, in insertion order. Each adds the aggregate ([`window_value`]) of the
/// subscription's events (for the price's metric) that arrived since the shared (customer,
/// metric) counter was last touched, then marks the counter as up to date. Two subscriptions
/// of one customer on the same metric therefore share one counter, and the second one updated
/// sees an empty window, as in the server. When the server's update throws (see
/// [`window_value`]), the counter is left as it was, window included.
pub(crate) fn update_customer(state: &mut State, customer_id: &str) {
    let subs: Vec<(String, String)> = state
        .subscriptions_of(customer_id, true)
        .into_iter()
        .map(|s| (s.id.clone(), s.price_id.clone()))
        .collect();
    for (sub_id, price_id) in subs {
        let Some(metric_id) = state
            .catalog
            .price(&price_id)
            .and_then(|p| p.metric_id.clone())
        else {
            continue;
        };
        let Some(metric) = state.catalog.metric(&metric_id).cloned() else {
            continue;
        };
        let seen = state.current_seq();
        let key = (customer_id.to_owned(), metric_id.clone());
        let since = state
            .counters
            .get(&key)
            .and_then(|c| c.seen_seq)
            .unwrap_or(0);
        // Events are stored in sequence order: skip straight to the window.
        let from = state.events.partition_point(|e| e.seq <= since);
        let window: Vec<&Event> = state.events[from..]
            .iter()
            .filter(|e| {
                e.subscription_id == sub_id
                    && e.metric_id == metric_id
                    && e.customer_id == customer_id
            })
            .collect();
        let Some(value) = window_value(&metric, &window) else {
            continue;
        };
        let counter = state.counters.entry(key).or_default();
        counter.value += value;
        counter.seen_seq = Some(seen);
    }
}

/// `EventRepository::create{Count,Sum,Max,CountUnique}Sql` over one window, as the calculator
/// returns it (a PHP float): one row per `event_id` (`DISTINCT ON (event_id)`, the first one
/// stored kept), then `count`: the number of event ids; `sum`: the sum of `value`; `max`: the
/// largest `properties->>aggregation_property` compared as TEXT (byte order, so `'9' > '10'`),
/// then read as a number; `unique_count`: the number of distinct non-null property texts. An
/// empty window gives 0. `None` where the server's update throws: `latest` (no calculator
/// supports it: `MetricProvider` throws), and a `max` whose window has only missing values or
/// a non-numeric maximum (a `float` return type receiving `null` or such a string).
pub(crate) fn window_value(metric: &Metric, events: &[&Event]) -> Option<f64> {
    let mut seen = HashSet::new();
    let rows: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| seen.insert(e.event_id.as_str()))
        .collect();
    let property = metric.aggregation_property.as_deref().unwrap_or("");
    let texts = || {
        rows.iter()
            .filter_map(|e| property_text(&e.properties, property))
    };
    match metric.aggregation_method {
        "count" => Some(rows.len() as f64),
        "sum" => Some(rows.iter().map(|e| e.value).sum()),
        "unique_count" => Some(texts().collect::<HashSet<String>>().len() as f64),
        "max" if rows.is_empty() => Some(0.0),
        "max" => texts().max().and_then(|t| php_float(&t)),
        _ => None,
    }
}

/// `properties->>key`: a string as is, other values as JSON text, `None` for missing or null.
fn property_text(properties: &Value, key: &str) -> Option<String> {
    match properties.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// PHP's coercion of a string returned as `float`: a numeric string (surrounding whitespace
/// allowed) is its value, a leading-numeric one (`"12abc"`) its numeric prefix, anything else
/// a `TypeError` (`None`).
fn php_float(text: &str) -> Option<f64> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let bytes = t.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let int_end = digits_from(end);
    let mut mantissa_end = int_end;
    if bytes.get(int_end) == Some(&b'.') {
        mantissa_end = digits_from(int_end + 1);
    }
    let has_digits = int_end > end || mantissa_end > int_end + 1;
    if !has_digits {
        return None;
    }
    end = mantissa_end;
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut exp = end + 1;
        if matches!(bytes.get(exp), Some(b'+' | b'-')) {
            exp += 1;
        }
        let exp_end = digits_from(exp);
        if exp_end > exp {
            end = exp_end;
        }
    }
    t.get(..end)?.parse().ok()
}

/// What the per-minute cron does: update every customer's counters.
pub(crate) fn update_all(state: &mut State) {
    let customers: Vec<String> = state.customers.keys().cloned().collect();
    for c in customers {
        update_customer(state, &c);
    }
}

/// `GET /customer/{id}/costs` -> 200 `{"total":{"amount","currency"},"costs":[...]}` with one
/// item per ACTIVE subscription that has a usage price, named after the metric, reading the
/// shared (customer, metric) counter; 404 with an empty body.
pub(crate) fn get(state: &mut State, customer_id: &str) -> Response {
    let Some(customer_id) = find_customer(state, customer_id) else {
        return errors::empty(404);
    };
    if state.config.counters_auto_update {
        update_customer(state, &customer_id);
    }
    let mut costs = Vec::new();
    let mut total: Option<CostOut> = None;
    for sub in state.subscriptions_of(&customer_id, true) {
        let Some(price) = state.catalog.price(&sub.price_id) else {
            continue;
        };
        let Some(metric) = price
            .metric_id
            .as_deref()
            .and_then(|m| state.catalog.metric(m))
        else {
            continue;
        };
        let usage = state
            .counters
            .get(&(customer_id.clone(), metric.id.clone()))
            .map_or(0.0, |c| c.value);
        // Brick\Money's multipliedBy with RoundingMode::HALF_CEILING.
        let amount = (usage * price.amount as f64 + 0.5).floor() as i64;
        match &mut total {
            None => {
                total = Some(CostOut {
                    amount,
                    currency: price.currency.clone(),
                })
            }
            Some(t) if t.currency == price.currency => t.amount = t.amount.saturating_add(amount),
            // Brick\Money MoneyMismatchException.
            Some(_) => return errors::empty(500),
        }
        costs.push(MetricCostOut {
            name: metric.name.clone(),
            amount,
            currency: price.currency.clone(),
            usage,
        });
    }
    let total = total.unwrap_or(CostOut {
        amount: 0,
        currency: String::new(),
    });
    errors::json(200, &CostsOut { total, costs })
}
