//! Pure functions between Lago's JSON and the domain types. No HTTP here; every rule is
//! unit-tested below.

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
    Error::decode(format!("cannot decode the Lago {what}: {e}")).with_backend(BACKEND)
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
    let w: wire::Customer =
        serde_json::from_value(raw.clone()).map_err(|e| decode("customer", e))?;
    let key = CustomerKey::new(w.external_id.clone()).map_err(|e| decode("customer key", e))?;
    let metadata = w
        .metadata
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.key, m.value.unwrap_or_default()))
        .collect();
    let mut c = Customer::from_new(&NewCustomer::new(key), w.lago_id);
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
    serde_json::from_value(raw.clone()).map_err(|e| decode("subscription", e))
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
                ))
                .with_backend(BACKEND));
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

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::EventId;
    use serde_json::json;

    fn raw_customer() -> Value {
        json!({
            "lago_id": "1a901a90-1a90-1a90-1a90-1a901a901a90",
            "external_id": "acme",
            "name": "Acme",
            "email": "billing@acme.test",
            "currency": "EUR",
            "created_at": "2022-04-29T08:59:51Z",
            "metadata": [
                {"lago_id": "m1", "key": "tier", "value": "gold", "display_in_invoice": false,
                 "created_at": "2022-04-29T08:59:51Z"},
                {"lago_id": "m2", "key": "region", "value": "eu", "display_in_invoice": true,
                 "created_at": "2022-04-29T08:59:51Z"}
            ],
            "sequential_id": 1,
            "billing_configuration": {"payment_provider": null}
        })
    }

    #[test]
    fn customer_from_wire() {
        let c = customer(raw_customer()).unwrap();
        assert_eq!(c.key.as_str(), "acme");
        assert_eq!(c.vendor_id, "1a901a90-1a90-1a90-1a90-1a901a901a90");
        assert_eq!(c.name.as_deref(), Some("Acme"));
        assert_eq!(c.currency, Some(Currency::EUR));
        assert_eq!(c.metadata.get("tier").map(String::as_str), Some("gold"));
        assert_eq!(
            c.created_at.unwrap().to_rfc3339(),
            "2022-04-29T08:59:51+00:00"
        );
        assert_eq!(
            customer_position(c.raw.as_ref().unwrap()),
            (Some(1_651_222_791), c.vendor_id.clone())
        );
        // Tolerant: nulls, missing metadata, unknown currency.
        let bare = json!({"lago_id": "x", "external_id": "k", "name": null, "currency": "???"});
        let c = customer(bare).unwrap();
        assert!(c.name.is_none() && c.currency.is_none() && c.metadata.is_empty());
        assert!(customer(json!({"external_id": "k"})).is_err());
        assert!(customer(json!({"lago_id": "x", "external_id": ""})).is_err());
    }

    #[test]
    fn create_body_has_only_what_is_set() {
        let new = NewCustomer::new(CustomerKey::new("k").unwrap())
            .name("N")
            .metadata("a", "1");
        let body = serde_json::to_value(wire::CustomerBody {
            customer: create_input(&new),
        })
        .unwrap();
        assert_eq!(
            body,
            json!({"customer": {"external_id": "k", "name": "N",
                "metadata": [{"key": "a", "value": "1", "display_in_invoice": false}]}})
        );
    }

    #[test]
    fn patch_sends_only_changes_and_keeps_metadata_ids() {
        let current = customer(raw_customer()).unwrap();
        assert!(patch_input(&current, &CustomerPatch::new()).is_none());
        assert!(
            patch_input(&current, &CustomerPatch::new().name("Acme")).is_none(),
            "no change"
        );
        let p = patch_input(
            &current,
            &CustomerPatch::new().name("New").currency(Currency::EUR),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"external_id": "acme", "name": "New"})
        );
        let mut md = Metadata::new();
        md.insert("tier".into(), "platinum".into());
        md.insert("seats".into(), "10".into());
        let p = patch_input(&current, &CustomerPatch::new().metadata(md)).unwrap();
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"external_id": "acme", "metadata": [
                {"key": "seats", "value": "10", "display_in_invoice": false},
                {"id": "m1", "key": "tier", "value": "platinum", "display_in_invoice": false}
            ]})
        );
        assert_eq!(metadata_ids(&current).len(), 2);
    }

    fn row(v: Value) -> wire::Subscription {
        subscription_row(&v).unwrap()
    }

    fn sub_json(status: &str) -> Value {
        json!({
            "lago_id": "s1", "external_id": "sub", "external_customer_id": "acme",
            "plan_code": "starter", "status": status,
            "subscription_at": "2024-01-10T00:00:00Z", "started_at": "2024-01-10T00:00:00.000Z",
            "ending_at": null, "terminated_at": null, "canceled_at": null,
            "previous_plan_code": null, "next_plan_code": null, "downgrade_plan_date": null,
            "current_billing_period_started_at": "2024-01-10T00:00:00Z",
            "current_billing_period_ending_at": "2024-01-31T23:59:59Z"
        })
    }

    #[test]
    fn statuses_are_normalised() {
        let s = subscription(sub_json("active")).unwrap();
        assert_eq!(s.status, SubscriptionStatus::Active);
        assert_eq!(s.raw_status, "active");
        let p = s.current_period.unwrap();
        assert_eq!(format_time(p.end), "2024-02-01T00:00:00Z", "exclusive end");
        assert!(s.ends_at.is_none() && s.scheduled_change.is_none());

        let mut v = sub_json("active");
        v["ending_at"] = json!("2024-01-31T23:59:59Z");
        let s = subscription(v).unwrap();
        assert_eq!(s.status, SubscriptionStatus::CancelScheduled);
        assert_eq!(
            s.ends_at,
            Some(p.end),
            "an end at the period's last second is the period end"
        );

        let mut v = sub_json("terminated");
        v["terminated_at"] = json!("2024-01-20T10:00:00Z");
        let s = subscription(v).unwrap();
        assert_eq!(s.status, SubscriptionStatus::Canceled);
        assert_eq!(format_time(s.ends_at.unwrap()), "2024-01-20T10:00:00Z");
        assert!(s.current_period.is_none());

        let mut v = sub_json("canceled");
        v["canceled_at"] = json!("2024-01-05T10:00:00Z");
        assert_eq!(
            subscription(v).unwrap().status,
            SubscriptionStatus::Canceled
        );
        assert_eq!(
            subscription(sub_json("pending")).unwrap().status,
            SubscriptionStatus::Pending
        );
        assert_eq!(
            subscription(sub_json("incomplete")).unwrap().status,
            SubscriptionStatus::Other
        );

        let mut v = sub_json("active");
        v["next_plan_code"] = json!("cheap");
        v["downgrade_plan_date"] = json!("2024-02-01");
        let s = subscription(v).unwrap();
        let change = s.scheduled_change.unwrap();
        assert_eq!(change.plan.as_str(), "cheap");
        assert_eq!(format_time(change.at.unwrap()), "2024-02-01T00:00:00Z");
        assert!(subscription(json!({"external_id": "x"})).is_err());
    }

    #[test]
    fn one_row_stands_for_each_key() {
        let mut upgraded_from = sub_json("terminated");
        upgraded_from["next_plan_code"] = json!("pro");
        upgraded_from["terminated_at"] = json!("2024-01-15T00:00:00Z");
        let mut current = sub_json("active");
        current["plan_code"] = json!("pro");
        current["previous_plan_code"] = json!("starter");
        let mut downgrade = sub_json("pending");
        downgrade["previous_plan_code"] = json!("pro");
        let rows = [row(upgraded_from), row(downgrade), row(current)];
        assert!(!is_representative(&rows[0]));
        assert!(!is_representative(&rows[1]));
        assert!(is_representative(&rows[2]));
        assert_eq!(current_row(&rows), Some(2));

        let mut old = sub_json("terminated");
        old["terminated_at"] = json!("2024-01-02T00:00:00Z");
        let mut newer = sub_json("terminated");
        newer["terminated_at"] = json!("2024-01-03T00:00:00Z");
        assert_eq!(current_row(&[row(old), row(newer)]), Some(1));
        assert_eq!(current_row(&[row(sub_json("pending"))]), Some(0));
        assert_eq!(current_row(&[]), None);
    }

    fn event(q: &str) -> UsageEvent {
        UsageEvent::new(
            EventId::new("e1").unwrap(),
            SubscriptionKey::new("sub").unwrap(),
            MetricCode::new("api_calls").unwrap(),
            q.parse().unwrap(),
        )
        .at(DateTime::from_timestamp_millis(1_700_000_000_123).unwrap())
    }

    #[test]
    fn event_bodies() {
        let sum = Metering::Value {
            field: "quantity".into(),
        };
        let e = event("2.50").property("region", "eu");
        let w = event_input(&e, &sum).unwrap();
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            json!({"transaction_id": "e1", "external_subscription_id": "sub", "code": "api_calls",
                   "timestamp": "1700000000.123",
                   "properties": {"region": "eu", "quantity": "2.5"}})
        );
        assert_eq!(
            event_input(&event("0.0000000000001"), &sum)
                .unwrap()
                .properties["quantity"],
            "0.0000000000001"
        );
        assert_eq!(
            event_input(&event("-0"), &sum).unwrap().properties["quantity"],
            "0"
        );
        let clash = event("1").property("quantity", "9");
        assert_eq!(
            event_input(&clash, &sum).unwrap_err().kind(),
            &ErrorKind::InvalidInput
        );

        assert!(
            event_input(&event("1"), &Metering::Count)
                .unwrap()
                .properties
                .is_empty()
        );
        assert_eq!(
            event_input(&event("2"), &Metering::Count)
                .unwrap_err()
                .kind(),
            &ErrorKind::InvalidInput
        );
        let unique = Metering::UniqueCount {
            field: "user".into(),
        };
        assert!(event_input(&event("1"), &unique).is_err());
        assert!(event_input(&event("1").property("user", "u1"), &unique).is_ok());
        let custom = Metering::Unsupported {
            aggregation: "custom_agg".into(),
        };
        assert_eq!(
            event_input(&event("1"), &custom).unwrap_err().kind(),
            &ErrorKind::Unsupported
        );
    }

    #[test]
    fn metering_from_metrics() {
        let m = |agg: &str, field: Option<&str>| wire::BillableMetric {
            code: "m".into(),
            aggregation_type: Some(agg.into()),
            field_name: field.map(str::to_owned),
        };
        assert_eq!(metering(&m("count_agg", None)), Metering::Count);
        assert_eq!(
            metering(&m("sum_agg", Some("quantity"))),
            Metering::Value {
                field: "quantity".into()
            }
        );
        assert!(matches!(
            metering(&m("sum_agg", None)),
            Metering::Unsupported { .. }
        ));
        assert!(matches!(
            metering(&m("custom_agg", Some("x"))),
            Metering::Unsupported { .. }
        ));
        assert_eq!(
            metering(&m("unique_count_agg", Some("user"))),
            Metering::UniqueCount {
                field: "user".into()
            }
        );
    }

    #[test]
    fn timestamps() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        assert_eq!(event_timestamp(t), "1700000000.123");
        assert_eq!(
            event_timestamp(DateTime::from_timestamp_millis(1_700_000_000_000).unwrap()),
            "1700000000.000"
        );
        assert_eq!(
            event_timestamp(DateTime::from_timestamp_millis(-1500).unwrap()),
            "-1.500"
        );
        assert_eq!(
            parse_time("2022-04-29T08:59:51.998Z")
                .unwrap()
                .timestamp_subsec_millis(),
            998
        );
        assert_eq!(
            format_time(parse_time("2024-02-01").unwrap()),
            "2024-02-01T00:00:00Z"
        );
        assert!(parse_time("yesterday").is_none());
    }

    fn usage(charges: Value) -> wire::CustomerUsage {
        serde_json::from_value(json!({
            "from_datetime": "2024-01-10T00:00:00Z", "to_datetime": "2024-01-31T23:59:59Z",
            "issuing_date": "2024-02-01", "currency": "USD", "amount_cents": 5,
            "charges_usage": charges
        }))
        .unwrap()
    }

    fn charge(code: &str, units: Value, cents: i64) -> Value {
        json!({"units": units, "events_count": 1, "amount_cents": cents, "amount_currency": "USD",
               "charge": {"lago_id": "c", "code": null, "charge_model": "standard"},
               "billable_metric": {"lago_id": "b", "name": code, "code": code,
                                   "aggregation_type": "sum_agg"},
               "filters": [], "grouped_usage": []})
    }

    #[test]
    fn usage_lines() {
        let api = MetricCode::new("api_calls").unwrap();
        let storage = MetricCode::new("storage_gb").unwrap();
        let u = usage(json!([
            charge("api_calls", json!("12.5"), 13),
            charge("storage_gb", json!("0.0"), 0)
        ]));
        let all = usage_summary(&u, None).unwrap();
        assert_eq!(all.lines.len(), 1, "non-zero lines only");
        assert_eq!(all.quantity(&api), "12.5".parse().unwrap());
        assert_eq!(
            all.lines[0].amount,
            Some(Money::from_minor(13, Currency::USD))
        );
        assert_eq!(format_time(all.period.end), "2024-02-01T00:00:00Z");
        let one = usage_summary(&u, Some(&storage)).unwrap();
        assert_eq!(one.lines.len(), 1);
        assert!(one.lines[0].quantity.is_zero());
        let absent = MetricCode::new("logins").unwrap();
        let none = usage_summary(&u, Some(&absent)).unwrap();
        assert_eq!(
            (none.lines.len(), none.quantity(&absent)),
            (1, Decimal::ZERO)
        );

        let twice = usage(json!([
            charge("api_calls", json!(3), 3),
            charge("api_calls", json!("3.0"), 6)
        ]));
        let s = usage_summary(&twice, None).unwrap();
        assert_eq!(s.quantity(&api), Decimal::from(3));
        assert_eq!(s.lines[0].amount, Some(Money::from_minor(9, Currency::USD)));
        let split = usage(json!([
            charge("api_calls", json!("1"), 1),
            charge("api_calls", json!("2"), 2)
        ]));
        assert_eq!(
            usage_summary(&split, None).unwrap_err().kind(),
            &ErrorKind::Unexpected
        );
        let bad = usage(json!([charge("api_calls", json!("lots"), 1)]));
        assert_eq!(
            usage_summary(&bad, None).unwrap_err().kind(),
            &ErrorKind::Decode
        );
    }
}
