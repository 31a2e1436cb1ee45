//! The cost estimate (`GET /customer/{id}/costs`, `CostsController` + `CostEstimator`) and the
//! running counters behind it (`MetricCounterUpdater`, run by a per-minute cron in the server).

use std::collections::HashSet;

use axum::response::Response;

use super::errors;
use super::state::State;
use super::subscriptions::find_customer;
use super::wire::{CostOut, CostsOut, MetricCostOut};

/// `MetricCounterUpdater::updateForSubscription` for every active usage-priced subscription of
/// the customer, in insertion order. Each adds the aggregate of the subscription's events
/// (for the price's metric) that arrived since the shared (customer, metric) counter was last
/// touched, collapsing duplicate `event_id`s within that window (`DISTINCT ON (event_id)`,
/// first stored row kept), then marks the counter as up to date. Two subscriptions of one
/// customer on the same metric therefore share one counter, and the second one updated sees
/// an empty window, as in the server.
pub(crate) fn update_customer(state: &mut State, customer_id: &str) {
    let subs: Vec<(String, String)> = state
        .subscriptions_of(customer_id, true)
        .into_iter()
        .map(|s| (s.id.clone(), s.price_id.clone()))
        .collect();
    for (sub_id, price_id) in subs {
        let Some(price) = state.catalog.price(&price_id) else {
            continue;
        };
        let Some(metric_id) = price.metric_id else {
            continue;
        };
        let method = state
            .catalog
            .metric(metric_id)
            .map_or("sum", |m| m.aggregation_method);
        let seen = state.current_seq();
        let counter = state
            .counters
            .entry((customer_id.to_owned(), metric_id.to_owned()))
            .or_default();
        let since = counter.seen_seq.unwrap_or(0);
        let mut distinct = HashSet::new();
        let mut total = 0.0;
        // Events are stored in sequence order: skip straight to the window.
        let from = state.events.partition_point(|e| e.seq <= since);
        for e in state.events[from..].iter().filter(|e| {
            e.subscription_id == sub_id && e.metric_id == metric_id && e.customer_id == customer_id
        }) {
            if distinct.insert(e.event_id.as_str()) {
                total += if method == "count" { 1.0 } else { e.value };
            }
        }
        counter.value += total;
        counter.seen_seq = Some(seen);
    }
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
        let Some(metric) = price.metric_id.and_then(|m| state.catalog.metric(m)) else {
            continue;
        };
        let usage = state
            .counters
            .get(&(customer_id.clone(), metric.id.to_owned()))
            .map_or(0.0, |c| c.value);
        let amount = (usage * price.amount as f64).round() as i64;
        match &mut total {
            None => {
                total = Some(CostOut {
                    amount,
                    currency: price.currency.to_owned(),
                })
            }
            Some(t) if t.currency == price.currency => t.amount = t.amount.saturating_add(amount),
            // Brick\Money MoneyMismatchException.
            Some(_) => return errors::empty(500),
        }
        costs.push(MetricCostOut {
            name: metric.name.to_owned(),
            amount,
            currency: price.currency.to_owned(),
            usage,
        });
    }
    let total = total.unwrap_or(CostOut {
        amount: 0,
        currency: String::new(),
    });
    errors::json(200, &CostsOut { total, costs })
}
