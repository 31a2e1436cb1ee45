//! Pure conversions between BillaBear's JSON and the domain types. No I/O here.

use std::collections::BTreeMap;

use billing_core::{
    BillingInterval, Currency, Customer, CustomerKey, CustomerPatch, CustomerStatus, Error,
    Metadata, MetricCode, Period, PlanCode, Result, Subscription, SubscriptionKey,
    SubscriptionStatus,
};
use chrono::{DateTime, Datelike, Days, Duration, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Number, Value};

use crate::wire;

/// Metadata keys starting with this are the adapter's own; callers cannot set them.
pub const RESERVED_PREFIX: &str = "billing.";
/// Customer and subscription metadata: the application's key (for customers, a mirror of
/// `reference`).
pub const META_KEY: &str = "billing.key";
/// Customer metadata: the customer's currency (BillaBear customers have none).
pub const META_CURRENCY: &str = "billing.currency";
/// Subscription metadata: the customer's key (BillaBear subscriptions carry no customer id).
pub const META_CUSTOMER: &str = "billing.customer";

/// The most significant digits an event value or a usage total keeps exactly: BillaBear stores
/// them as IEEE doubles, which round-trip 15 decimal digits.
pub const MAX_SIGNIFICANT_DIGITS: u32 = 15;

/// Refuses caller metadata that uses the adapter's reserved keys.
///
/// # Errors
/// `InvalidInput` naming the key.
pub fn check_user_metadata(metadata: &Metadata) -> Result<()> {
    match metadata.keys().find(|k| k.starts_with(RESERVED_PREFIX)) {
        Some(k) => Err(Error::invalid_input(format!(
            "metadata key {k:?} is reserved (keys starting with {RESERVED_PREFIX:?} are the BillaBear adapter's)"
        ))),
        None => Ok(()),
    }
}

/// The metadata object written for a customer: the caller's entries plus the key and currency.
pub fn customer_metadata(
    key: &CustomerKey,
    currency: Option<Currency>,
    user: &Metadata,
) -> Map<String, Value> {
    let mut map: Map<String, Value> = user
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    map.insert(META_KEY.to_owned(), Value::String(key.as_str().to_owned()));
    if let Some(c) = currency {
        map.insert(META_CURRENCY.to_owned(), Value::String(c.code().to_owned()));
    }
    map
}

/// Metadata as strings. BillaBear returns an object, or `[]` when empty (a PHP array); values
/// written by other clients may be numbers or nested JSON, which are kept as JSON text.
pub fn metadata_strings(value: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone(), json_text(v));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                out.insert(i.to_string(), json_text(v));
            }
        }
        _ => {}
    }
    out
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The customer key of a BillaBear customer: its `reference`, or the mirror in its metadata
/// when the reference is empty. `None` for customers this library did not create.
pub fn customer_key_of(w: &wire::Customer) -> Option<CustomerKey> {
    w.reference
        .as_deref()
        .filter(|r| !r.is_empty())
        .and_then(|r| CustomerKey::new(r).ok())
        .or_else(|| {
            metadata_strings(&w.metadata)
                .get(META_KEY)
                .and_then(|k| CustomerKey::new(k.as_str()).ok())
        })
}

/// A domain customer from BillaBear's JSON (`raw` is kept as the escape hatch).
///
/// # Errors
/// `Decode` if the customer has no usable key.
pub fn customer(w: &wire::Customer, raw: Value) -> Result<Customer> {
    let key = customer_key_of(w).ok_or_else(|| {
        Error::decode(format!(
            "BillaBear customer {} has no reference usable as a customer key",
            w.id
        ))
    })?;
    let mut metadata = metadata_strings(&w.metadata);
    let currency = metadata
        .get(META_CURRENCY)
        .and_then(|c| Currency::from_code(c).ok());
    metadata.retain(|k, _| !k.starts_with(RESERVED_PREFIX));
    let status = match w.status.as_deref() {
        Some("disabled") => CustomerStatus::Closed,
        _ => CustomerStatus::Active,
    };
    let mut c =
        billing_core::raw::customer_from_new(&billing_core::NewCustomer::new(key), w.id.clone());
    c.name = w.name.clone().filter(|n| !n.is_empty());
    c.email = w.email.clone().filter(|e| !e.is_empty());
    c.currency = currency;
    c.metadata = metadata;
    c.status = status;
    c.raw = Some(raw);
    Ok(c)
}

/// The body of `PUT /customer/{id}` that applies `patch` to the customer as last read.
///
/// The PUT replaces the whole record: every field it omits is reset (`reference`, `name`,
/// `tax_number`, `metadata`, `address`, `locale`, `brand`, `billing_type`...). So the body is
/// the current record itself with the patched fields replaced. Response-only fields (`id`,
/// `status`) are dropped, and `external_reference` is left out because the server keeps it
/// when omitted. The customer `type` is not returned by BillaBear, so a PUT resets it to
/// `individual` whatever this function does.
///
/// # Errors
/// `Decode` if the current record is not a JSON object.
pub fn update_body(
    current: &Value,
    key: &CustomerKey,
    patch: &CustomerPatch,
) -> Result<Map<String, Value>> {
    let Value::Object(current) = current else {
        return Err(Error::decode("BillaBear customer is not a JSON object"));
    };
    let mut body = current.clone();
    for response_only in ["id", "status", "external_reference"] {
        body.remove(response_only);
    }
    body.insert("reference".into(), Value::String(key.as_str().to_owned()));
    if let Some(email) = &patch.email {
        body.insert("email".into(), Value::String(email.clone()));
    }
    if let Some(name) = &patch.name {
        body.insert("name".into(), Value::String(name.clone()));
    }
    let existing = match current.get("metadata") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut metadata = match &patch.metadata {
        Some(user) => {
            let mut m: Map<String, Value> = existing
                .into_iter()
                .filter(|(k, _)| k.starts_with(RESERVED_PREFIX))
                .collect();
            m.extend(
                user.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone()))),
            );
            m
        }
        None => existing,
    };
    metadata.insert(META_KEY.into(), Value::String(key.as_str().to_owned()));
    if let Some(currency) = patch.currency {
        metadata.insert(
            META_CURRENCY.into(),
            Value::String(currency.code().to_owned()),
        );
    }
    body.insert("metadata".into(), Value::Object(metadata));
    // The response renders an unset country as ""; send it back as unset.
    if let Some(Value::Object(address)) = body.get_mut("address")
        && address.get("country").and_then(Value::as_str) == Some("")
    {
        address.insert("country".into(), Value::Null);
    }
    Ok(body)
}

/// The metadata object written for a subscription.
pub fn subscription_metadata(key: &SubscriptionKey, customer: &CustomerKey) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(META_KEY.into(), Value::String(key.as_str().to_owned()));
    map.insert(
        META_CUSTOMER.into(),
        Value::String(customer.as_str().to_owned()),
    );
    map
}

/// The subscription key and customer key stored in a subscription's metadata.
pub fn subscription_keys(metadata: &Value) -> (Option<SubscriptionKey>, Option<CustomerKey>) {
    let m = metadata_strings(metadata);
    (
        m.get(META_KEY)
            .and_then(|k| SubscriptionKey::new(k.as_str()).ok()),
        m.get(META_CUSTOMER)
            .and_then(|k| CustomerKey::new(k.as_str()).ok()),
    )
}

/// The metric a subscription's price meters, if it is a usage price.
pub fn metered_metric(w: &wire::Subscription) -> Option<&wire::Metric> {
    w.price
        .as_ref()
        .filter(|p| p.usage)
        .and_then(|p| p.metric.as_ref())
}

/// Parses an RFC 3339 time as the server writes it.
pub fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The normalised status. `pending_cancel` whose `ended_at` has passed is `Canceled`: the
/// server never moves it on by itself, but the subscription has ended.
pub fn status(
    raw: &str,
    ended_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> SubscriptionStatus {
    match raw {
        "active" => SubscriptionStatus::Active,
        "trial_active" => SubscriptionStatus::Trialing,
        "pending_cancel" if ended_at.is_some_and(|e| e <= now) => SubscriptionStatus::Canceled,
        "pending_cancel" => SubscriptionStatus::CancelScheduled,
        "cancelled" => SubscriptionStatus::Canceled,
        "overdue_payment_open" => SubscriptionStatus::PastDue,
        "overdue_payment_disabled" | "paused" | "blocked" => SubscriptionStatus::Paused,
        _ => SubscriptionStatus::Other,
    }
}

/// A domain subscription from BillaBear's JSON. `customer` comes from the subscription's
/// metadata or from the listing it was found in (the JSON has no customer id).
///
/// # Errors
/// `Decode` if the subscription has no key in its metadata or no plan.
pub fn subscription(
    w: &wire::Subscription,
    raw: Value,
    customer: CustomerKey,
    now: DateTime<Utc>,
) -> Result<Subscription> {
    let (key, _) = subscription_keys(&w.metadata);
    let key = key.ok_or_else(|| {
        Error::decode(format!(
            "BillaBear subscription {} has no `{META_KEY}` metadata",
            w.id
        ))
    })?;
    let plan = w
        .plan
        .as_ref()
        .and_then(|p| PlanCode::new(p.code_name.as_str()).ok())
        .ok_or_else(|| {
            Error::decode(format!(
                "BillaBear subscription {} has no plan code_name",
                w.id
            ))
        })?;
    let created = parse_time(w.created_at.as_deref());
    let ended = parse_time(w.ended_at.as_deref());
    let valid_until = parse_time(w.valid_until.as_deref());
    let status = status(&w.status, ended, now);
    let schedule = w
        .price
        .as_ref()
        .and_then(|p| p.schedule.as_deref())
        .or(w.schedule.as_deref());
    let current_period = match (status, created, valid_until, schedule) {
        (SubscriptionStatus::Canceled, ..) => None,
        (_, Some(c), Some(v), Some(s)) => current_period(c, v, s),
        _ => None,
    };
    let mut sub = Subscription::new(key, w.id.clone(), customer, plan, status, w.status.clone());
    sub.started_at = created;
    sub.current_period = current_period;
    sub.ends_at = ended;
    sub.raw = Some(raw);
    Ok(sub)
}

/// The BillaBear schedule of a billing interval (BillaBear has no quarterly prices).
pub fn schedule_of(interval: BillingInterval) -> Option<&'static str> {
    match interval {
        BillingInterval::Weekly => Some("week"),
        BillingInterval::Monthly => Some("month"),
        BillingInterval::Yearly => Some("year"),
        _ => None,
    }
}

/// `$date->modify('+1 <schedule>')` as PHP computes it: a month later on the same day number,
/// overflowing into the next month (Jan 31 + 1 month = Mar 3, or Mar 2 in a leap year).
pub fn next_renewal(at: DateTime<Utc>, schedule: &str) -> Option<DateTime<Utc>> {
    let months = match schedule {
        "week" => return at.checked_add_signed(Duration::days(7)),
        "month" => 1,
        "year" => 12,
        _ => return None,
    };
    let date = at.date_naive();
    let total = date.year().checked_mul(12)? + i32::try_from(date.month0()).ok()? + months;
    let month = u32::try_from(total.rem_euclid(12)).ok()? + 1;
    let first = NaiveDate::from_ymd_opt(total.div_euclid(12), month, 1)?;
    let day = first.checked_add_days(Days::new(u64::from(date.day0())))?;
    Some(day.and_time(at.time()).and_utc())
}

fn previous_renewal(at: DateTime<Utc>, schedule: &str) -> Option<DateTime<Utc>> {
    match schedule {
        "week" => at.checked_sub_signed(Duration::days(7)),
        "month" => at.checked_sub_months(Months::new(1)),
        "year" => at.checked_sub_months(Months::new(12)),
        _ => None,
    }
}

/// The longest walk from the start to the current period (a weekly subscription of 190 years).
const MAX_RENEWALS: usize = 10_000;

/// The current period `[start, valid_until)`. BillaBear's JSON has no period start, so it is
/// rebuilt: periods chain from `created_at` by the price's schedule (PHP date arithmetic)
/// until one ends at `valid_until`. When none does (an immediate plan change restarted the
/// period), the start is one schedule before `valid_until`, but never before `created_at`.
pub fn current_period(
    created: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    schedule: &str,
) -> Option<Period> {
    if valid_until <= created {
        return None;
    }
    let mut start = created;
    for _ in 0..MAX_RENEWALS {
        let next = next_renewal(start, schedule)?;
        if next == valid_until {
            return Some(Period {
                start,
                end: valid_until,
            });
        }
        if next > valid_until {
            break;
        }
        start = next;
    }
    let back = previous_renewal(valid_until, schedule)?;
    Some(Period {
        start: back.max(created),
        end: valid_until,
    })
}

/// Picks the price of `plan` a new subscription gets, as the server's
/// `getPriceForCurrencyAndSchedule` would: the first recurring price with that currency and
/// schedule. A currency or schedule not given is taken from the plan when all its recurring
/// prices share one.
///
/// # Errors
/// `InvalidInput` when the choice is ambiguous or no price matches.
pub fn choose_price<'a>(
    plan: &'a wire::Plan,
    currency: Option<&str>,
    schedule: Option<&str>,
) -> Result<&'a wire::Price> {
    let recurring: Vec<&wire::Price> = plan
        .prices
        .iter()
        .filter(|p| p.schedule.is_some())
        .collect();
    let pick = |given: Option<&str>, of: &dyn Fn(&wire::Price) -> String, what: &str| {
        if let Some(g) = given {
            return Ok(g.to_owned());
        }
        let mut all: Vec<String> = recurring.iter().map(|p| of(p)).collect();
        all.sort();
        all.dedup();
        match all.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::invalid_input(format!(
                "plan `{}` has no recurring price",
                plan.code_name
            ))),
            many => Err(Error::invalid_input(format!(
                "plan `{}` has prices in several {what}s ({}): choose one on the subscription \
                 or in billabear.default_{}",
                plan.code_name,
                many.join(", "),
                if what == "currency" {
                    "currency"
                } else {
                    "interval"
                },
            ))),
        }
    };
    let currency = pick(currency, &|p| p.currency.to_ascii_uppercase(), "currency")?;
    let schedule = pick(
        schedule,
        &|p| p.schedule.clone().unwrap_or_default(),
        "schedule",
    )?;
    recurring
        .into_iter()
        .find(|p| {
            p.currency.eq_ignore_ascii_case(&currency)
                && p.schedule
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&schedule))
        })
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "plan `{}` has no {currency} price per {schedule}",
                plan.code_name
            ))
        })
}

/// The price of `plan` that replaces `current` on a plan change: same currency and schedule,
/// and the same metered metric when the new plan has one, so metering goes on unchanged.
pub fn replacement_price<'a>(
    plan: &'a wire::Plan,
    current: Option<&wire::Price>,
) -> Option<&'a wire::Price> {
    let current = current?;
    let same_terms = |p: &&wire::Price| {
        p.currency.eq_ignore_ascii_case(&current.currency)
            && p.schedule.is_some()
            && p.schedule == current.schedule
    };
    let metric = |p: &wire::Price| {
        p.metric
            .as_ref()
            .filter(|_| p.usage)
            .map(|m| m.code.clone())
    };
    plan.prices
        .iter()
        .filter(same_terms)
        .find(|p| metric(p) == metric(current))
        .or_else(|| plan.prices.iter().find(same_terms))
}

fn significant_digits(d: Decimal) -> u32 {
    let mut m = d.normalize().mantissa().unsigned_abs();
    let mut n = 0;
    while m > 0 {
        m /= 10;
        n += 1;
    }
    n
}

/// An event quantity as the JSON number BillaBear stores (as a double): an integer when it is
/// whole, otherwise the double that prints back as exactly the same decimal.
///
/// # Errors
/// `InvalidInput` for more than [`MAX_SIGNIFICANT_DIGITS`] significant digits, which a double
/// cannot keep exactly (the quantity would be rounded silently).
pub fn event_value(quantity: Decimal) -> Result<Number> {
    let q = quantity.normalize();
    if significant_digits(q) > MAX_SIGNIFICANT_DIGITS {
        return Err(Error::invalid_input(format!(
            "quantity {quantity} has more than {MAX_SIGNIFICANT_DIGITS} significant digits; \
             BillaBear stores event values as floating point and would round it"
        )));
    }
    if q.scale() == 0
        && let Ok(i) = i64::try_from(q.mantissa())
    {
        return Ok(Number::from(i));
    }
    let exact = || Error::invalid_input(format!("quantity {quantity} cannot be sent exactly"));
    let f: f64 = q.to_string().parse().map_err(|_| exact())?;
    let back: Decimal = format!("{f}").parse().map_err(|_| exact())?;
    if back != q {
        return Err(exact());
    }
    Number::from_f64(f).ok_or_else(exact)
}

/// A usage total from the float BillaBear returns, rounded to [`MAX_SIGNIFICANT_DIGITS`]
/// significant digits, which removes the binary noise of summing doubles
/// (`0.1 + 0.2 = 0.30000000000000004` reads as `0.3`). Exact as long as the true total has at
/// most that many significant digits.
///
/// # Errors
/// `Decode` for a value that is not finite or is out of range.
pub fn usage_quantity(usage: f64) -> Result<Decimal> {
    if !usage.is_finite() {
        return Err(Error::decode(format!("usage {usage} is not a number")));
    }
    if usage.abs() < 1e-28 {
        return Ok(Decimal::ZERO);
    }
    let text = format!("{:.*e}", (MAX_SIGNIFICANT_DIGITS - 1) as usize, usage);
    Decimal::from_scientific(&text)
        .map(|d| d.normalize())
        .map_err(|e| Error::decode(format!("usage {usage} is out of range: {e}")))
}

/// Whether `s` is a hyphenated UUID, the only id form the server compares without throwing.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The metric code of a wire metric, if it is a valid code.
pub fn metric_code(m: &wire::Metric) -> Option<MetricCode> {
    MetricCode::new(m.code.as_str()).ok()
}

#[cfg(test)]
mod tests;
