//! Pure conversions between Kill Bill's JSON ([`crate::wire`]) and the domain types, plus the
//! billing-period arithmetic Kill Bill leaves to its clients. No HTTP here.

use std::collections::BTreeSet;
use std::str::FromStr;

use billing_core::chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, SubsecRound, Utc};
use billing_core::rust_decimal::Decimal;
use billing_core::{
    Currency, Customer, CustomerKey, CustomerPatch, CustomerStatus, Error, MetricCode, NewCustomer,
    PlanCode, Result, ScheduledChange, Subscription, SubscriptionKey, SubscriptionStatus,
    UsageEvent, UsageLine,
};
use serde_json::value::RawValue;
use url::Url;

use crate::wire;

/// Longest account name Kill Bill stores (`accounts.name varchar(100)`).
pub const MAX_NAME_CHARS: usize = 100;
/// Longest account email Kill Bill stores (`accounts.email varchar(128)`).
pub const MAX_EMAIL_CHARS: usize = 128;
/// Fractional digits of the usage `amount decimal(18,9)` column.
const AMOUNT_SCALE: u32 = 9;

// ---------------------------------------------------------------------------------------------
// Dates

/// A Joda `DateTime` as Kill Bill writes it: `2026-11-21T21:28:41.000Z`.
pub fn fmt_datetime(t: DateTime<Utc>) -> String {
    // The same text as `%Y-%m-%dT%H:%M:%S%.3fZ`, without parsing a format string per call.
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A local date: `2026-11-21`.
pub fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// An ISO date-time with an offset; a bare date is midnight UTC (the server runs in GMT).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| parse_date(s).map(|d| d.and_time(NaiveTime::MIN).and_utc()))
}

/// A local date (`2026-12-21`).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn opt_datetime(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().and_then(parse_datetime)
}

/// The time of day of an instant, whole seconds (Kill Bill keeps no more).
pub fn time_of_day(t: DateTime<Utc>) -> NaiveTime {
    t.trunc_subsecs(0).time()
}

// ---------------------------------------------------------------------------------------------
// Customers

/// Kill Bill's own column limits, checked before sending.
///
/// # Errors
/// `InvalidInput` naming the field.
pub fn check_account_fields(name: Option<&str>, email: Option<&str>) -> Result<()> {
    if name.is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
        return Err(Error::invalid_input(format!(
            "customer name is longer than the {MAX_NAME_CHARS} characters Kill Bill stores"
        )));
    }
    if email.is_some_and(|e| e.chars().count() > MAX_EMAIL_CHARS) {
        return Err(Error::invalid_input(format!(
            "email is longer than the {MAX_EMAIL_CHARS} characters Kill Bill stores"
        )));
    }
    Ok(())
}

/// The AccountJson of a new customer.
pub fn account_for_create(new: &NewCustomer) -> wire::AccountIn {
    wire::AccountIn {
        external_key: Some(new.key.as_str().to_owned()),
        name: new.name.clone(),
        email: new.email.clone(),
        currency: new.currency.map(|c| c.code().to_owned()),
    }
}

/// The partial AccountJson that applies `patch` to `current`, or `None` when nothing changes.
///
/// # Errors
/// `InvalidInput` if the patch changes a currency that is already set (Kill Bill refuses it).
pub fn account_update(
    current: &wire::Account,
    patch: &CustomerPatch,
) -> Result<Option<wire::AccountIn>> {
    let mut update = wire::AccountIn::default();
    if let Some(currency) = patch.currency {
        match current.currency.as_deref() {
            Some(c) if c == currency.code() => {}
            Some(c) => {
                return Err(Error::invalid_input(format!(
                    "Kill Bill cannot change an account's currency once set ({c} -> {currency})"
                )));
            }
            None => update.currency = Some(currency.code().to_owned()),
        }
    }
    if let Some(name) = &patch.name
        && current.name.as_ref() != Some(name)
    {
        update.name = Some(name.clone());
    }
    if let Some(email) = &patch.email
        && current.email.as_ref() != Some(email)
    {
        update.email = Some(email.clone());
    }
    let empty = update.name.is_none() && update.email.is_none() && update.currency.is_none();
    Ok((!empty).then_some(update))
}

/// `current` with an update applied, as the server will store it.
pub fn apply_update(current: &mut wire::Account, update: &wire::AccountIn) {
    if let Some(name) = &update.name {
        current.name = Some(name.clone());
    }
    if let Some(email) = &update.email {
        current.email = Some(email.clone());
    }
    if let Some(currency) = &update.currency {
        current.currency = Some(currency.clone());
    }
}

/// The customer an account is.
///
/// # Errors
/// `Decode` if the account has no id or its external key is not a valid key.
pub fn customer(
    account: &wire::Account,
    closed: bool,
    raw: Option<serde_json::Value>,
) -> Result<Customer> {
    let id = account
        .account_id
        .clone()
        .ok_or_else(|| Error::decode("AccountJson without accountId"))?;
    let key = account
        .external_key
        .as_deref()
        .ok_or_else(|| Error::decode(format!("account {id} has no externalKey")))
        .and_then(|k| {
            CustomerKey::new(k).map_err(|e| {
                Error::decode(format!("account {id}: externalKey is not a valid key: {e}"))
            })
        })?;
    let mut new = NewCustomer::new(key);
    new.name = account.name.clone();
    new.email = account.email.clone();
    new.currency = account
        .currency
        .as_deref()
        .and_then(|c| Currency::from_code(c).ok());
    let mut c = billing_core::raw::customer_from_new(&new, id);
    c.status = if closed {
        CustomerStatus::Closed
    } else {
        CustomerStatus::Active
    };
    c.created_at = opt_datetime(&account.reference_time);
    c.raw = raw;
    Ok(c)
}

/// Whether an account's blocking states say it is closed: the latest `account-service` state of
/// the account itself is `CLOSE_ACCOUNT` (what `DELETE /accounts/{id}` adds). Effective dates
/// are compared with each other, never with the local clock, so clock skew cannot hide a close.
pub fn is_closed(states: &[wire::BlockingState], account_id: &str) -> bool {
    states
        .iter()
        .filter(|s| s.kind.as_deref() == Some("ACCOUNT"))
        .filter(|s| s.service.as_deref() == Some("account-service"))
        .filter(|s| {
            s.blocked_id
                .as_deref()
                .is_none_or(|b| b.eq_ignore_ascii_case(account_id))
        })
        .enumerate()
        .max_by_key(|(i, s)| (opt_datetime(&s.effective_date), *i))
        .is_some_and(|(_, s)| s.state_name.as_deref() == Some("CLOSE_ACCOUNT"))
}

/// The id in a `Location` header: the UUID after `/<collection>/`.
///
/// # Errors
/// `Decode` if the URL does not end with `<collection>/<uuid>`.
pub fn id_from_location(url: &Url, collection: &str) -> Result<String> {
    let bad = || {
        Error::decode(format!(
            "unexpected Location {url} (expected .../{collection}/<uuid>)"
        ))
    };
    let mut segments: Vec<&str> = url.path_segments().ok_or_else(bad)?.collect();
    while segments.last() == Some(&"") {
        segments.pop();
    }
    let (id, parent) = match segments.as_slice() {
        [.., parent, id] => (*id, *parent),
        _ => return Err(bad()),
    };
    if parent != collection {
        return Err(bad());
    }
    let uuid = uuid::Uuid::try_parse(id).map_err(|_| bad())?;
    Ok(uuid.hyphenated().to_string())
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

/// How a subscription's state reads in the domain, with its end.
pub fn status(sub: &wire::Subscription) -> (SubscriptionStatus, Option<DateTime<Utc>>) {
    let cancelled = opt_datetime(&sub.cancelled_date);
    match sub.state.as_deref().unwrap_or("") {
        "PENDING" => (SubscriptionStatus::Pending, cancelled),
        "ACTIVE" if cancelled.is_some() => (SubscriptionStatus::CancelScheduled, cancelled),
        "ACTIVE" => (SubscriptionStatus::Active, None),
        "BLOCKED" => (SubscriptionStatus::Paused, cancelled),
        "CANCELLED" | "EXPIRED" => (
            SubscriptionStatus::Canceled,
            cancelled.or_else(|| opt_datetime(&sub.billing_end_date)),
        ),
        _ => (SubscriptionStatus::Other, cancelled),
    }
}

/// A plan change waiting for its date: the earliest future `CHANGE` event to another plan.
pub fn scheduled_change(sub: &wire::Subscription, now: DateTime<Utc>) -> Option<ScheduledChange> {
    sub.events
        .iter()
        .filter(|e| e.event_type.as_deref() == Some("CHANGE"))
        .filter_map(|e| Some((opt_datetime(&e.effective_date)?, e.plan.as_deref()?)))
        .filter(|(at, plan)| *at > now && Some(*plan) != sub.plan_name.as_deref())
        .min_by_key(|(at, _)| *at)
        .and_then(|(at, plan)| {
            Some(ScheduledChange {
                plan: PlanCode::new(plan).ok()?,
                at: Some(at),
            })
        })
}

/// The subscription a SubscriptionJson is. `tod` is the account's reference time of day, when
/// known (it turns Kill Bill's local billing dates into instants).
///
/// # Errors
/// `Decode` if the id, key or plan is missing or invalid.
pub fn subscription(
    sub: &wire::Subscription,
    customer: CustomerKey,
    tod: Option<NaiveTime>,
    now: DateTime<Utc>,
    raw: Option<serde_json::Value>,
) -> Result<Subscription> {
    let id = sub
        .subscription_id
        .clone()
        .ok_or_else(|| Error::decode("SubscriptionJson without subscriptionId"))?;
    let key = sub
        .external_key
        .as_deref()
        .ok_or_else(|| Error::decode(format!("subscription {id} has no externalKey")))
        .and_then(|k| {
            SubscriptionKey::new(k)
                .map_err(|e| Error::decode(format!("subscription {id}: bad externalKey: {e}")))
        })?;
    let plan = sub
        .plan_name
        .as_deref()
        .ok_or_else(|| Error::decode(format!("subscription {id} has no planName")))
        .and_then(|p| {
            PlanCode::new(p)
                .map_err(|e| Error::decode(format!("subscription {id}: bad planName: {e}")))
        })?;
    let (status, ends_at) = status(sub);
    let current_period = (!status.is_ended())
        .then(|| usage_period(sub, tod, now))
        .flatten();
    let scheduled_change = (!status.is_ended())
        .then(|| scheduled_change(sub, now))
        .flatten();
    let mut s = Subscription::new(
        key,
        id,
        customer,
        plan,
        status,
        sub.state.clone().unwrap_or_default(),
    );
    s.started_at = opt_datetime(&sub.start_date);
    s.billing_anchor = opt_datetime(&sub.billing_start_date);
    s.current_period = current_period;
    s.ends_at = ends_at;
    s.scheduled_change = scheduled_change;
    s.raw = raw;
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// Usage

/// A quantity as the JSON number Kill Bill stores exactly in `decimal(18,9)`.
///
/// # Errors
/// `InvalidInput` for more than 9 decimal places or 9 integer digits: the server would round
/// or refuse it.
pub fn amount(quantity: Decimal) -> Result<Box<RawValue>> {
    let q = quantity.normalize();
    if q.scale() > AMOUNT_SCALE {
        return Err(Error::invalid_input(format!(
            "quantity {quantity} has more than {AMOUNT_SCALE} decimal places; Kill Bill stores decimal(18,9)"
        )));
    }
    if q.abs() >= Decimal::from(1_000_000_000_u64) {
        return Err(Error::invalid_input(format!(
            "quantity {quantity} has more than 9 integer digits; Kill Bill stores decimal(18,9)"
        )));
    }
    let text = if q.is_zero() {
        "0".to_owned()
    } else {
        q.to_string()
    };
    RawValue::from_string(text).map_err(|e| Error::unexpected(format!("amount {quantity}: {e}")))
}

/// The usage POST of one event: its id is the request's `trackingId`, `amount` its quantity as
/// [`amount`] checked and wrote it.
pub fn usage_body<'a>(
    subscription_id: &'a str,
    event: &'a UsageEvent,
    amount: &'a RawValue,
) -> wire::UsageIn<'a> {
    wire::UsageIn {
        subscription_id,
        tracking_id: event.id.as_str(),
        unit_usage_records: [wire::UnitUsageRecords {
            unit_type: event.metric.as_str(),
            usage_records: [wire::UsageRecord {
                record_date: fmt_datetime(event.timestamp),
                amount,
            }],
        }],
    }
}

fn parse_amount(raw: Option<&RawValue>) -> Result<Decimal> {
    let Some(raw) = raw else {
        return Ok(Decimal::ZERO);
    };
    let text = raw.get().trim().trim_matches('"');
    if text == "null" {
        return Ok(Decimal::ZERO);
    }
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map(|d| d.normalize())
        .map_err(|_| Error::decode(format!("usage amount {text:?} is not a decimal")))
}

/// The lines of a usage summary: exactly `metric` (zero if absent) when one is asked for,
/// otherwise every unit with a non-zero total (units whose names are not valid metric codes are
/// left out).
///
/// # Errors
/// `Decode` for an amount that is not a number.
pub fn usage_lines(
    usage: &wire::RolledUpUsage,
    metric: Option<&MetricCode>,
) -> Result<Vec<UsageLine>> {
    let mut totals: std::collections::BTreeMap<String, Decimal> = Default::default();
    for unit in &usage.rolled_up_units {
        let Some(name) = unit.unit_type.as_deref() else {
            continue;
        };
        let amount = parse_amount(unit.amount.as_deref())?;
        let total = totals.entry(name.to_owned()).or_default();
        *total = total
            .checked_add(amount)
            .ok_or_else(|| Error::decode("usage total overflows"))?;
    }
    if let Some(m) = metric {
        let q = totals.get(m.as_str()).copied().unwrap_or_default();
        return Ok(vec![UsageLine::new(m.clone(), q.normalize(), None)]);
    }
    Ok(totals
        .into_iter()
        .filter(|(_, q)| !q.is_zero())
        .filter_map(|(name, q)| {
            Some(UsageLine::new(
                MetricCode::new(name).ok()?,
                q.normalize(),
                None,
            ))
        })
        .collect())
}

/// The unit and plan names of every catalog version.
pub fn catalog_names(catalogs: &[wire::Catalog]) -> (BTreeSet<String>, BTreeSet<String>) {
    let units = catalogs
        .iter()
        .flat_map(|c| &c.units)
        .filter_map(|u| u.name.clone())
        .collect();
    let plans = catalogs
        .iter()
        .flat_map(|c| &c.products)
        .flat_map(|p| &p.plans)
        .filter_map(|p| p.name.clone())
        .collect();
    (units, plans)
}

mod period;

pub use period::{term_is_known, usage_period};

#[cfg(test)]
mod tests;
