//! Billable metric aggregation, as lago-api's Postgres event store computes it
//! (`Events::Stores::PostgresStore`, `BillableMetrics::Aggregations::*Service`,
//! `Events::Stores::Postgres::{UniqueCountQuery, WeightedSumQuery}`):
//!
//! - events of the external subscription id and metric code with
//!   `from <= timestamp <= to`; recurring sum and unique count metrics have no lower bound;
//! - sum, max, latest and weighted sum only read events whose property exists and whose text
//!   (`properties->>field`) matches `^-?\d+(\.\d+)?$` (a JSON number always does); the others
//!   count in neither the value nor `events_count`;
//! - count: the number of events; sum: the sum; max: the maximum, 0 without events; latest:
//!   the value of the event with the latest timestamp (ingestion order breaks ties), 0 when
//!   negative or absent;
//! - unique count: per distinct property text, the `operation_type` (`add` unless given)
//!   changes in timestamp order, each `add` after a non-`add` counting +1 and each other
//!   operation after an `add` -1 (an initial `remove` counts nothing); an event without the
//!   property joins the one group of missing values, as SQL's `PARTITION BY` groups NULLs;
//!   `events_count` is the result;
//! - weighted sum: the running total, starting from the initial value at `from`, weighted by
//!   the seconds it held until the next event or the period's end, over the period's full
//!   length (its days times 86,400); each term is a PostgreSQL `numeric` division (at least 16
//!   significant digits) and the result is rounded up to 20 decimals. Recurring: the initial
//!   value is the total of every earlier event (what Lago caches at each invoice).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::state::{Aggregation, Event, Metric};

/// What an aggregation gives for one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Aggregate {
    /// The billable units (`units`).
    pub(crate) units: Decimal,
    /// `total_aggregated_units` (differs from `units` for weighted sums only).
    pub(crate) total: Decimal,
    /// `events_count`.
    pub(crate) events_count: Decimal,
}

/// The boundaries of the aggregation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// `charges_from_datetime`.
    pub(crate) from: DateTime<Utc>,
    /// `charges_to_datetime` (inclusive).
    pub(crate) to: DateTime<Utc>,
    /// The end of the period as the weighted sum uses it (`to_datetime.ceil`).
    pub(crate) to_ceil: DateTime<Utc>,
    /// `charges_duration` in days (the full billing period).
    pub(crate) period_days: i64,
}

/// `properties->>field` of an event: the text of the value (numbers as PostgreSQL prints a
/// `numeric`, without exponent), `None` when missing or JSON `null`.
fn property_text(e: &Event, field: &str) -> Option<String> {
    match e.properties.get(field)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => {
            let text = n.to_string();
            Some(
                Decimal::from_str(&text)
                    .or_else(|_| Decimal::from_scientific(&text))
                    .map_or(text, |d| d.to_string()),
            )
        }
        other => Some(other.to_string()),
    }
}

/// The store's `numeric_condition`: `^-?\d+(\.\d+)?$`.
fn is_numeric_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

/// The property as a number, if the store's numeric condition accepts it.
fn numeric(e: &Event, field: &str) -> Option<Decimal> {
    let text = property_text(e, field)?;
    if !is_numeric_text(&text) {
        return None;
    }
    Decimal::from_str(&text).ok()
}

/// Aggregates `events`: every event of the subscription and code up to `window.to`, in
/// ingestion order (older events are used by recurring metrics only).
pub(crate) fn aggregate(metric: &Metric, events: &[&Event], window: Window) -> Aggregate {
    let field = metric.field_name.as_deref().unwrap_or("");
    let in_window = |e: &&&Event| e.timestamp >= window.from && e.timestamp <= window.to;
    let from_boundary = |e: &&&Event| metric.recurring || e.timestamp >= window.from;
    let plain = |units: Decimal, count: usize| Aggregate {
        units,
        total: units,
        events_count: Decimal::from(count),
    };
    match metric.aggregation {
        Aggregation::Count => {
            let n = events.iter().filter(in_window).count();
            plain(Decimal::from(n), n)
        }
        Aggregation::Sum => {
            let values: Vec<Decimal> = events
                .iter()
                .filter(|e| e.timestamp <= window.to)
                .filter(from_boundary)
                .filter_map(|e| numeric(e, field))
                .collect();
            let sum = values
                .iter()
                .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(*v))
                .unwrap_or(Decimal::MAX);
            plain(sum, values.len())
        }
        Aggregation::Max => {
            let values: Vec<Decimal> = events
                .iter()
                .filter(in_window)
                .filter_map(|e| numeric(e, field))
                .collect();
            let max = values.iter().copied().max().unwrap_or(Decimal::ZERO);
            plain(max, values.len())
        }
        Aggregation::Latest => {
            let values: Vec<(DateTime<Utc>, usize, Decimal)> = events
                .iter()
                .enumerate()
                .filter(|(_, e)| in_window(e))
                .filter_map(|(i, e)| Some((e.timestamp, i, numeric(e, field)?)))
                .collect();
            let latest = values
                .iter()
                .max_by_key(|(t, i, _)| (*t, *i))
                .map_or(Decimal::ZERO, |(_, _, v)| *v);
            plain(latest.max(Decimal::ZERO), values.len())
        }
        Aggregation::UniqueCount => {
            let chosen: Vec<&Event> = events
                .iter()
                .filter(|e| e.timestamp <= window.to)
                .filter(from_boundary)
                .copied()
                .collect();
            let n = unique_count(&chosen, field);
            plain(n, usize::try_from(n.trunc().mantissa()).unwrap_or(0))
        }
        Aggregation::WeightedSum => weighted_sum(metric, events, field, window),
    }
}

/// `UniqueCountQuery#query` (see the module docs).
fn unique_count(events: &[&Event], field: &str) -> Decimal {
    let mut ordered: Vec<(usize, &Event)> = events.iter().copied().enumerate().collect();
    ordered.sort_by_key(|(i, e)| (e.timestamp, *i));
    let mut last_operation: HashMap<Option<String>, String> = HashMap::new();
    let mut total = 0_i64;
    for (_, e) in ordered {
        let operation = match e.properties.get("operation_type") {
            None | Some(Value::Null) => "add".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let previous = last_operation
            .insert(property_text(e, field), operation.clone())
            .unwrap_or_else(|| "remove".to_owned());
        if previous != operation {
            total += if operation == "add" { 1 } else { -1 };
        }
    }
    Decimal::from(total)
}

/// `WeightedSumQuery#query` (see the module docs).
fn weighted_sum(metric: &Metric, events: &[&Event], field: &str, window: Window) -> Aggregate {
    let initial = if metric.recurring {
        events
            .iter()
            .filter(|e| e.timestamp < window.from)
            .filter_map(|e| numeric(e, field))
            .fold(Decimal::ZERO, |acc, v| acc.checked_add(v).unwrap_or(acc))
    } else {
        Decimal::ZERO
    };
    let mut rows: Vec<(DateTime<Utc>, usize, Decimal)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.timestamp >= window.from && e.timestamp <= window.to)
        .filter_map(|(i, e)| Some((e.timestamp, i + 1, numeric(e, field)?)))
        .collect();
    let count = rows.len();
    rows.push((window.from, 0, initial));
    rows.push((window.to_ceil, usize::MAX, Decimal::ZERO));
    rows.sort_by_key(|(t, i, _)| (*t, *i));
    let period_secs = Decimal::from(window.period_days.saturating_mul(86_400).max(1));
    let mut running = Decimal::ZERO;
    let mut weighted = Decimal::ZERO;
    let mut variation = Decimal::ZERO;
    for (i, (at, _, difference)) in rows.iter().enumerate() {
        running = running.checked_add(*difference).unwrap_or(running);
        variation = variation.checked_add(*difference).unwrap_or(variation);
        let next = rows.get(i + 1).map_or(window.to_ceil, |r| r.0);
        let micros = (next - *at).num_microseconds().unwrap_or(0);
        if micros == 0 {
            continue;
        }
        let seconds = Decimal::new(micros, 6);
        let term = running
            .checked_mul(seconds)
            .map_or(Decimal::ZERO, |product| pg_div(product, period_secs));
        weighted = weighted.checked_add(term).unwrap_or(weighted);
    }
    let units = weighted.round_dp_with_strategy(20, RoundingStrategy::ToPositiveInfinity);
    let variation = variation - initial;
    Aggregate {
        units,
        total: if metric.recurring {
            initial + variation
        } else {
            variation
        },
        events_count: Decimal::from(count),
    }
}

/// PostgreSQL's `numeric` division: the quotient rounded (half away from zero) to the scale
/// `select_div_scale` picks, enough for 16 significant digits and at least either input's
/// scale.
pub(crate) fn pg_div(dividend: Decimal, divisor: Decimal) -> Decimal {
    let Some(quotient) = dividend.checked_div(divisor) else {
        return Decimal::ZERO;
    };
    if dividend.is_zero() {
        return Decimal::ZERO;
    }
    // Weight (base-10000 digit position of the leading digit) and leading base-10000 digit.
    let weight_and_first = |d: Decimal| {
        let mut weight = 0_i64;
        let mut v = d.abs();
        let base = Decimal::from(10_000);
        while v >= base {
            v /= base;
            weight += 1;
        }
        while v < Decimal::ONE {
            v *= base;
            weight -= 1;
        }
        (weight, v.trunc())
    };
    let (w1, f1) = weight_and_first(dividend);
    let (w2, f2) = weight_and_first(divisor);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = (16 - qweight * 4)
        .max(i64::from(dividend.scale()))
        .max(i64::from(divisor.scale()))
        .clamp(0, 28);
    quotient.round_dp_with_strategy(
        u32::try_from(rscale).unwrap_or(28),
        RoundingStrategy::MidpointAwayFromZero,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde_json::json;
    use uuid::Uuid;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    fn metric(aggregation: Aggregation, recurring: bool) -> Metric {
        Metric {
            lago_id: Uuid::new_v4(),
            name: "m".into(),
            code: "m".into(),
            description: None,
            aggregation,
            field_name: (aggregation != Aggregation::Count).then(|| "v".to_owned()),
            recurring,
            created_at: at(1, 0),
        }
    }

    fn event(t: DateTime<Utc>, properties: Value) -> Event {
        Event {
            lago_id: Uuid::new_v4(),
            transaction_id: Uuid::new_v4().to_string(),
            external_subscription_id: Some("s".into()),
            code: "m".into(),
            timestamp: t,
            properties,
            precise_total_amount_cents: None,
            created_at: t,
        }
    }

    /// March 2026: 31 days.
    fn march() -> Window {
        Window {
            from: at(1, 0),
            to: at(31, 23) + Duration::seconds(3599),
            to_ceil: Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
            period_days: 31,
        }
    }

    fn run(aggregation: Aggregation, recurring: bool, events: &[Event]) -> Aggregate {
        let refs: Vec<&Event> = events.iter().collect();
        aggregate(&metric(aggregation, recurring), &refs, march())
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn numeric_text_is_the_stores_regex() {
        for ok in ["0", "12", "-3", "1.5", "-0.25"] {
            assert!(is_numeric_text(ok), "{ok}");
        }
        for bad in [
            "", "1.", ".5", "+1", "1e3", " 1", "1 ", "abc", "--1", "1.2.3",
        ] {
            assert!(!is_numeric_text(bad), "{bad}");
        }
    }

    #[test]
    fn count_sum_max_latest() {
        let events = [
            event(at(2, 0), json!({"v": 5})),
            event(at(3, 0), json!({"v": "2.5"})),
            event(at(4, 0), json!({"v": "1e3"})),
            event(at(5, 0), json!({"v": -1})),
            event(at(6, 0), json!({})),
            event(at(1, 0) - Duration::seconds(1), json!({"v": 100})),
        ];
        let count = run(Aggregation::Count, false, &events);
        assert_eq!((count.units, count.events_count), (d("5"), d("5")));
        let sum = run(Aggregation::Sum, false, &events);
        assert_eq!((sum.units, sum.events_count), (d("6.5"), d("3")));
        let recurring_sum = run(Aggregation::Sum, true, &events);
        assert_eq!(recurring_sum.units, d("106.5"));
        let max = run(Aggregation::Max, false, &events);
        assert_eq!((max.units, max.events_count), (d("5"), d("3")));
        let latest = run(Aggregation::Latest, false, &events);
        assert_eq!(
            (latest.units, latest.events_count),
            (d("0"), d("3")),
            "-1 gives 0"
        );
        let latest = run(Aggregation::Latest, false, &events[..2]);
        assert_eq!(latest.units, d("2.5"));
        assert_eq!(run(Aggregation::Max, false, &[]).units, Decimal::ZERO);
    }

    #[test]
    fn unique_count_follows_operation_types() {
        let events = [
            event(at(2, 0), json!({"v": "alice"})),
            event(at(2, 1), json!({"v": "alice"})),
            event(at(2, 2), json!({"v": "bob"})),
            event(at(2, 3), json!({"v": "carol", "operation_type": "remove"})),
            event(at(2, 4), json!({"v": "bob", "operation_type": "remove"})),
            event(at(2, 5), json!({"v": 7})),
            event(at(2, 6), json!({"v": "7"})),
        ];
        // alice, and "7" (number and string print alike); bob left; carol never came.
        let u = run(Aggregation::UniqueCount, false, &events);
        assert_eq!((u.units, u.events_count), (d("2"), d("2")));
        let missing = [event(at(2, 0), json!({})), event(at(2, 1), json!({"w": 1}))];
        assert_eq!(run(Aggregation::UniqueCount, false, &missing).units, d("1"));
    }

    #[test]
    fn weighted_sum_weights_by_time_held() {
        // 10 from the 1st for 31 days, then 20 more on the 16th for 16 days: 10 + 20*16/31.
        let events = [
            event(at(1, 0), json!({"v": 10})),
            event(at(16, 0), json!({"v": 20})),
        ];
        let w = run(Aggregation::WeightedSum, false, &events);
        // Each term is a numeric division to 16 decimals here: 4.8387096774193548 + 15.4838709677419355.
        assert_eq!(w.units, d("20.3225806451612903"));
        assert_eq!((w.total, w.events_count), (d("30"), d("2")));
        let empty = run(Aggregation::WeightedSum, false, &[]);
        assert_eq!(empty.units, Decimal::ZERO);
        // Recurring: what was there before the period counts from its start.
        let before = [event(at(1, 0) - Duration::days(3), json!({"v": 4}))];
        let r = run(Aggregation::WeightedSum, true, &before);
        assert_eq!((r.units, r.total, r.events_count), (d("4"), d("4"), d("0")));
    }

    #[test]
    fn pg_division_scale() {
        // 1/3: the quotient's leading base-10000 digit is below the unit, so 20 decimals.
        assert_eq!(pg_div(d("1"), d("3")), d("0.33333333333333333333"));
        assert_eq!(
            pg_div(d("432000.000000"), d("2678400")),
            d("0.16129032258064516129")
        );
        assert_eq!(pg_div(d("10"), d("4")), d("2.5000000000000000"));
    }
}
