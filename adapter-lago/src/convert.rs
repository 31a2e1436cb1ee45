//! Pure functions between Lago's JSON and the domain types. No HTTP here; every rule is
//! unit-tested, without HTTP, in `tests/convert.rs`.

use std::collections::BTreeMap;

use billing_core::rust_decimal::Decimal;
use billing_core::{
    Currency, Customer, CustomerKey, CustomerPatch, CustomerStatus, Error, ErrorKind, Metadata,
    MetricCode, Money, NewCustomer, Period, PlanCode, Result, ScheduledChange, Subscription,
    SubscriptionKey, SubscriptionStatus, UsageEvent, UsageLine, UsageSummary,
};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::wire;

/// The backend's name in errors and traces.
pub const BACKEND: &str = "lago";

fn decode(what: &str, e: impl std::fmt::Display) -> Error {
    Error::decode(format!("cannot decode the Lago {what}: {e}"))
}

// ---- time ----

/// Parses Lago's timestamps: ISO 8601 with or without fraction, or a bare date (midnight UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn time_field(s: Option<&String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| parse_time(s))
}

/// ISO 8601 to the second, as Lago writes and reads dates (`2024-01-31T23:59:59Z`).
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An event timestamp: Unix seconds with millisecond precision as a decimal string
/// (`"1700000000.123"`), the form Lago parses exactly (`BigDecimal(x.to_s)`).
pub fn event_timestamp(t: DateTime<Utc>) -> String {
    Decimal::new(t.timestamp_millis(), 3).to_string()
}

/// Lago reports the end of a period as its last second (`...T23:59:59Z`, an inclusive
/// `end_of_day` shown without its fraction); the domain's periods are half-open, so the end is
/// one second later.
pub fn exclusive_end(inclusive: DateTime<Utc>) -> DateTime<Utc> {
    inclusive + Duration::seconds(1)
}

// ---- customers ----

/// A customer from Lago's customer object (kept whole in `raw`).
///
/// # Errors
/// `Decode` if the object lacks `lago_id` or `external_id`, or its key is not a valid
/// [`CustomerKey`].
pub fn customer(raw: Value) -> Result<Customer> {
    let w = billing_http::decode_value::<wire::Customer>(&raw, "Lago customer")?;
    let key = CustomerKey::new(w.external_id.clone()).map_err(|e| decode("customer key", e))?;
    let metadata = w
        .metadata
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.key, m.value.unwrap_or_default()))
        .collect();
    let mut c = billing_core::raw::customer_from_new(&NewCustomer::new(key), w.lago_id);
    c.name = w.name.filter(|s| !s.is_empty());
    c.email = w.email.filter(|s| !s.is_empty());
    c.currency = w.currency.and_then(|code| Currency::from_code(&code).ok());
    c.metadata = metadata;
    c.status = CustomerStatus::Active;
    c.created_at = time_field(w.created_at.as_ref());
    c.raw = Some(raw);
    Ok(c)
}

/// The `created_at` (to the second) and `lago_id` of a raw customer, for list bookkeeping.
pub fn customer_position(raw: &Value) -> (Option<i64>, String) {
    let created = raw
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .map(|t| t.timestamp());
    let id = raw
        .get("lago_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    (created, id)
}

/// The ids of a customer's metadata entries by key, read from its raw JSON.
pub fn metadata_ids(customer: &Customer) -> BTreeMap<String, String> {
    let entries = customer
        .raw
        .as_ref()
        .and_then(|r| r.get("metadata"))
        .and_then(|m| serde_json::from_value::<Vec<wire::Metadatum>>(m.clone()).ok())
        .unwrap_or_default();
    entries.into_iter().map(|m| (m.key, m.lago_id)).collect()
}

/// The metadata array for a write that replaces the set with `metadata`: entries whose key
/// already exists carry that entry's `id` (updated in place), new keys have none, and existing
/// entries left out are deleted by Lago.
pub fn metadata_input(
    metadata: &Metadata,
    existing_ids: &BTreeMap<String, String>,
) -> Vec<wire::MetadatumInput> {
    metadata
        .iter()
        .map(|(k, v)| wire::MetadatumInput {
            id: existing_ids.get(k).cloned(),
            key: k.clone(),
            value: v.clone(),
            display_in_invoice: false,
        })
        .collect()
}

/// The upsert body creating `new`.
pub fn create_input(new: &NewCustomer) -> wire::CustomerInput {
    wire::CustomerInput {
        external_id: new.key.as_str().to_owned(),
        name: new.name.clone(),
        email: new.email.clone(),
        currency: new.currency.map(|c| c.code().to_owned()),
        metadata: (!new.metadata.is_empty())
            .then(|| metadata_input(&new.metadata, &BTreeMap::new())),
    }
}

/// The upsert body applying `patch` to `current`: only the keys whose value changes. `None`
/// when nothing changes.
pub fn patch_input(current: &Customer, patch: &CustomerPatch) -> Option<wire::CustomerInput> {
    let changed = |new: &Option<String>, old: &Option<String>| {
        new.as_ref().filter(|n| Some(*n) != old.as_ref()).cloned()
    };
    let input = wire::CustomerInput {
        external_id: current.key.as_str().to_owned(),
        name: changed(&patch.name, &current.name),
        email: changed(&patch.email, &current.email),
        currency: patch
            .currency
            .filter(|c| Some(*c) != current.currency)
            .map(|c| c.code().to_owned()),
        metadata: patch
            .metadata
            .as_ref()
            .filter(|m| **m != current.metadata)
            .map(|m| metadata_input(m, &metadata_ids(current))),
    };
    let any = input.name.is_some()
        || input.email.is_some()
        || input.currency.is_some()
        || input.metadata.is_some();
    any.then_some(input)
}

// ---- subscriptions ----

/// The typed view of a raw subscription row.
///
/// # Errors
/// `Decode` if required fields are missing.
pub fn subscription_row(raw: &Value) -> Result<wire::Subscription> {
    billing_http::decode_value(raw, "Lago subscription")
}

/// Whether a row has ended for good.
pub fn is_ended(row: &wire::Subscription) -> bool {
    matches!(row.status.as_str(), "terminated" | "canceled")
}

/// Whether the row stands for its subscription key in a listing. One key can span several rows:
/// the row an upgrade replaced (terminated, with `next_plan_code`) and a scheduled downgrade
/// (pending, or canceled, with `previous_plan_code`) are represented by the current row.
pub fn is_representative(row: &wire::Subscription) -> bool {
    match row.status.as_str() {
        "terminated" => row.next_plan_code.is_none(),
        "pending" | "canceled" => row.previous_plan_code.is_none(),
        _ => true,
    }
}

/// Among the rows of one key, the one that is the subscription now: the active row, else a
/// pending one that is not a scheduled downgrade, else the most recently ended one.
pub fn current_row(rows: &[wire::Subscription]) -> Option<usize> {
    let started = |r: &wire::Subscription| time_field(r.started_at.as_ref());
    let ended = |r: &wire::Subscription| {
        time_field(r.terminated_at.as_ref()).or_else(|| time_field(r.canceled_at.as_ref()))
    };
    let pick = |filter: &dyn Fn(&wire::Subscription) -> bool,
                order: &dyn Fn(&wire::Subscription) -> Option<DateTime<Utc>>| {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| filter(r))
            .max_by_key(|(_, r)| order(r))
            .map(|(i, _)| i)
    };
    pick(&|r| r.status == "active", &started)
        .or_else(|| pick(&|r| r.status == "pending" && is_representative(r), &started))
        .or_else(|| pick(&|r| is_ended(r) && is_representative(r), &ended))
        .or_else(|| pick(&|_| true, &ended))
}

/// The normalised status of a row: `terminated` and `canceled` are `Canceled`, `active` with an
/// `ending_at` is `CancelScheduled`, `pending` is `Pending`, anything else (`incomplete`) is
/// `Other`.
pub fn status(row: &wire::Subscription) -> SubscriptionStatus {
    match row.status.as_str() {
        "active" if row.ending_at.is_some() => SubscriptionStatus::CancelScheduled,
        "active" => SubscriptionStatus::Active,
        "pending" => SubscriptionStatus::Pending,
        "terminated" | "canceled" => SubscriptionStatus::Canceled,
        _ => SubscriptionStatus::Other,
    }
}

/// A subscription from one raw row (kept whole in `raw`).
///
/// # Errors
/// `Decode` if required fields are missing or a key or plan code is not valid.
pub fn subscription(raw: Value) -> Result<Subscription> {
    let row = subscription_row(&raw)?;
    let key =
        SubscriptionKey::new(row.external_id.clone()).map_err(|e| decode("subscription key", e))?;
    let customer = row
        .external_customer_id
        .clone()
        .ok_or_else(|| decode("subscription", "no external_customer_id"))
        .and_then(|c| CustomerKey::new(c).map_err(|e| decode("customer key", e)))?;
    let plan = PlanCode::new(row.plan_code.clone()).map_err(|e| decode("plan code", e))?;
    let status = status(&row);
    let period_start = time_field(row.current_billing_period_started_at.as_ref());
    let period_last = time_field(row.current_billing_period_ending_at.as_ref());
    let current_period = match (status.is_ended(), period_start, period_last) {
        (false, Some(start), Some(last)) => Some(Period {
            start,
            end: exclusive_end(last).max(start),
        }),
        _ => None,
    };
    let ending_at = time_field(row.ending_at.as_ref());
    let ends_at = match row.status.as_str() {
        "terminated" => time_field(row.terminated_at.as_ref()).or(ending_at),
        "canceled" => time_field(row.canceled_at.as_ref()).or(ending_at),
        // An end set at the period's last second is the end of the period.
        _ => match (ending_at, period_last, current_period) {
            (Some(e), Some(last), Some(p)) if e == last => Some(p.end),
            (e, _, _) => e,
        },
    };
    let scheduled_change = match (&row.next_plan_code, status.is_ended()) {
        (Some(next), false) => Some(ScheduledChange {
            plan: PlanCode::new(next.clone()).map_err(|e| decode("plan code", e))?,
            at: time_field(row.downgrade_plan_date.as_ref()),
        }),
        _ => None,
    };
    let started_at =
        time_field(row.started_at.as_ref()).or_else(|| time_field(row.subscription_at.as_ref()));
    let mut s = Subscription::new(key, row.lago_id, customer, plan, status, row.status);
    s.started_at = started_at;
    s.current_period = current_period;
    s.ends_at = ends_at;
    s.scheduled_change = scheduled_change;
    s.raw = Some(raw);
    Ok(s)
}

// ---- events ----

/// How a billable metric turns events into units, as far as recording is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metering {
    /// `count_agg`: each event counts 1, the quantity must be 1.
    Count,
    /// `unique_count_agg`: counts distinct values of the property `field`, which the caller
    /// supplies in the event's properties; the quantity must be 1.
    UniqueCount {
        /// The property counted.
        field: String,
    },
    /// Sum, max, latest, weighted sum: the quantity is sent as the property `field`.
    Value {
        /// The property aggregated.
        field: String,
    },
    /// An aggregation whose input the adapter cannot place (`custom_agg`, or no field name).
    Unsupported {
        /// The aggregation type.
        aggregation: String,
    },
}

/// How events of `metric` are recorded.
pub fn metering(metric: &wire::BillableMetric) -> Metering {
    let aggregation = metric.aggregation_type.clone().unwrap_or_default();
    let field = metric.field_name.clone().filter(|f| !f.trim().is_empty());
    match (aggregation.as_str(), field) {
        ("count_agg", _) => Metering::Count,
        ("unique_count_agg", Some(field)) => Metering::UniqueCount { field },
        ("custom_agg", _) | (_, None) => Metering::Unsupported { aggregation },
        (_, Some(field)) => Metering::Value { field },
    }
}

/// The wire event for `event` of a metric metered as `metering`.
///
/// # Errors
/// `InvalidInput` for a quantity other than 1 on a count metric, a missing unique-count
/// property, or a property that collides with the quantity's field; `Unsupported` for a metric
/// whose aggregation cannot take a quantity.
pub fn event_input(event: &UsageEvent, metering: &Metering) -> Result<wire::EventInput> {
    let mut properties: Map<String, Value> = event
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let metric = event.metric.as_str();
    match metering {
        Metering::Count | Metering::UniqueCount { .. } if event.quantity != Decimal::ONE => {
            return Err(Error::invalid_input(format!(
                "event {}: metric `{metric}` counts events, so the quantity must be 1, not {}",
                event.id, event.quantity
            )));
        }
        Metering::Count => {}
        Metering::UniqueCount { field } => {
            if !properties.contains_key(field) {
                return Err(Error::invalid_input(format!(
                    "event {}: metric `{metric}` counts distinct values of the property \
                     `{field}`, which the event lacks",
                    event.id
                )));
            }
        }
        Metering::Value { field } => {
            if properties.contains_key(field) {
                return Err(Error::invalid_input(format!(
                    "event {}: the property `{field}` carries the quantity of metric `{metric}`; \
                     do not set it",
                    event.id
                )));
            }
            let q = if event.quantity.is_zero() {
                Decimal::ZERO
            } else {
                event.quantity.normalize()
            };
            properties.insert(field.clone(), Value::String(q.to_string()));
        }
        Metering::Unsupported { aggregation } => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "event {}: metric `{metric}` aggregates with `{aggregation}`, which takes no \
                     quantity this adapter can send",
                    event.id
                ),
            ));
        }
    }
    Ok(wire::EventInput {
        transaction_id: event.id.as_str().to_owned(),
        external_subscription_id: event.subscription.as_str().to_owned(),
        code: metric.to_owned(),
        timestamp: event_timestamp(event.timestamp),
        properties,
    })
}

// ---- usage ----

/// A decimal from Lago's `units` (a string such as `"12.5"`, or a number).
pub fn decimal(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

/// The summary of a current-usage answer. With `metric`, exactly one line for it (zero when no
/// charge reports it); otherwise one line per metric with non-zero units. A metric reported by
/// several charges counts the same events in each, so the units must agree and are taken once;
/// the amounts are added.
///
/// # Errors
/// `Decode` for a missing period or unreadable units; `Unexpected` when the charges of one
/// metric disagree on its units (filtered charges: there is no single total).
pub fn usage_summary(
    usage: &wire::CustomerUsage,
    metric: Option<&MetricCode>,
) -> Result<UsageSummary> {
    let from = time_field(usage.from_datetime.as_ref());
    let to = time_field(usage.to_datetime.as_ref());
    let (Some(start), Some(last)) = (from, to) else {
        return Err(decode("usage", "no from_datetime or to_datetime"));
    };
    let period = Period {
        start,
        end: exclusive_end(last).max(start),
    };
    let mut by_metric: BTreeMap<&str, (Decimal, Option<Money>)> = BTreeMap::new();
    for charge in &usage.charges_usage {
        let units = charge
            .units
            .as_ref()
            .map_or(Some(Decimal::ZERO), decimal)
            .ok_or_else(|| decode("usage", "units are not a decimal"))?;
        let amount = match (charge.amount_cents, charge.amount_currency.as_deref()) {
            (Some(cents), Some(code)) => Currency::from_code(code)
                .ok()
                .map(|c| Money::from_minor(cents, c)),
            _ => None,
        };
        let code = charge.billable_metric.code.as_str();
        match by_metric.get_mut(code) {
            None => {
                by_metric.insert(code, (units, amount));
            }
            Some((seen, _)) if *seen != units => {
                return Err(Error::unexpected(format!(
                    "metric `{code}` is used by several charges that report different units \
                     ({seen} and {units}); Lago gives no single total"
                )));
            }
            Some((_, total)) => {
                *total = match (total.take(), amount) {
                    (Some(a), Some(b)) if a.currency == b.currency => Some(Money::from_minor(
                        a.minor.saturating_add(b.minor),
                        a.currency,
                    )),
                    _ => None,
                };
            }
        }
    }
    let lines = match metric {
        Some(m) => {
            let (quantity, amount) = by_metric
                .remove(m.as_str())
                .unwrap_or((Decimal::ZERO, None));
            vec![UsageLine::new(m.clone(), quantity, amount)]
        }
        None => by_metric
            .into_iter()
            .filter(|(_, (q, _))| !q.is_zero())
            .filter_map(|(code, (q, amount))| {
                MetricCode::new(code)
                    .ok()
                    .map(|m| UsageLine::new(m, q.normalize(), amount))
            })
            .collect(),
    };
    Ok(UsageSummary::new(period, lines))
}
