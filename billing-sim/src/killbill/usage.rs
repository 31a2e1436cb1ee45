//! `UsageResource`: recording usage (`POST /1.0/kb/usages`, one subscription per request,
//! accepted or rejected as a whole, deduplicated by `trackingId`) and reading the sums back
//! (`GET /1.0/kb/usages/{subscriptionId}[/{unitType}]`, range `[startDate, endDate)`).

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderMap, StatusCode};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::auth::{TenantCtx, created_by, require_json};
use super::errors::{ILLEGAL_ARGUMENT, JSON_MAPPING, KbError, KbResult, USAGE_API};
use super::ids::path_id;
use super::reply::{Params, created_without_location, json_with};
use super::state::{Sim, UsageRow};
use super::time::{fmt_datetime, parse_joda};
use super::wire::{Num, RolledUpUnitOut, RolledUpUsageOut, UsageIn, parse_body};

/// Fractional digits of the `amount decimal(18, 9)` column.
const SCALE: u32 = 9;
/// `tracking_id varchar(128)`.
const TRACKING_ID_MAX: usize = 128;

fn mapping_error(message: String) -> KbError {
    KbError::json(StatusCode::BAD_REQUEST, JSON_MAPPING, None, message)
}

/// Jackson's `BigDecimal` binding: a JSON number (exact digits) or a numeric string.
fn bind_amount(raw: &RawValue) -> KbResult<Decimal> {
    let text = raw.get().trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| {
            mapping_error(format!(
                "Cannot deserialize value of type `java.math.BigDecimal` from {}",
                raw.get()
            ))
        })
}

/// Joda's `DateTime` binding: an ISO string, or epoch milliseconds.
fn bind_date(raw: &RawValue) -> KbResult<DateTime<Utc>> {
    let text = raw.get().trim();
    if let Some(s) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return parse_joda(s)
            .map(|p| p.instant())
            .ok_or_else(|| mapping_error(format!("Invalid format: \"{s}\"")));
    }
    text.parse::<i64>()
        .ok()
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .ok_or_else(|| {
            mapping_error(format!(
                "Cannot deserialize value of type `org.joda.time.DateTime` from {text}"
            ))
        })
}

/// The value MySQL stores in `decimal(18, 9)`: rounded to 9 places; more than 9 integer digits
/// do not fit.
fn to_column(amount: Decimal) -> KbResult<Decimal> {
    let mut stored = amount.round_dp_with_strategy(SCALE, RoundingStrategy::MidpointAwayFromZero);
    stored.rescale(SCALE);
    if stored.abs() >= Decimal::from(1_000_000_000u64) {
        return Err(KbError::json(
            StatusCode::BAD_REQUEST,
            ILLEGAL_ARGUMENT,
            None,
            format!("UsageRecordJson amount {amount} does not fit the amount column decimal(18,9)"),
        ));
    }
    Ok(stored)
}

/// One record as Jackson bound it (either value may be missing).
type BoundRecord = (Option<DateTime<Utc>>, Option<Decimal>);

struct Row {
    unit_type: String,
    record_date: DateTime<Utc>,
    amount: Decimal,
}

/// Binds and validates the body as `recordUsage` does, in the same order.
fn validated_rows(body: &[u8]) -> KbResult<(Uuid, Option<String>, Vec<Row>)> {
    let input: Option<UsageIn> = parse_body(body)?;
    // Jackson binds every record before the resource runs.
    let mut bound: Vec<Vec<BoundRecord>> = Vec::new();
    if let Some(units) = input.as_ref().and_then(|i| i.unit_usage_records.as_ref()) {
        for unit in units {
            let mut records = Vec::new();
            for r in unit.usage_records.iter().flatten() {
                let date = r.record_date.as_deref().map(bind_date).transpose()?;
                let amount = r.amount.as_deref().map(bind_amount).transpose()?;
                records.push((date, amount));
            }
            bound.push(records);
        }
    }
    let input = input.ok_or_else(|| {
        KbError::illegal_argument("SubscriptionUsageRecordJson body should be specified")
    })?;
    let subscription_id = input.subscription_id.ok_or_else(|| {
        KbError::illegal_argument("SubscriptionUsageRecordJson subscriptionId needs to be set")
    })?;
    let units = input.unit_usage_records.ok_or_else(|| {
        KbError::illegal_argument("SubscriptionUsageRecordJson unitUsageRecords needs to be set")
    })?;
    if units.is_empty() {
        return Err(KbError::illegal_argument(
            "json.getUnitUsageRecords() is empty",
        ));
    }
    let mut rows = Vec::new();
    for (unit, records) in units.into_iter().zip(bound) {
        let unit_type = unit.unit_type.filter(|u| !u.is_empty()).ok_or_else(|| {
            KbError::illegal_argument("UnitUsageRecordJson unitType need to be set")
        })?;
        match &unit.usage_records {
            None => return Err(KbError::null_pointer()),
            Some(r) if r.is_empty() => {
                return Err(KbError::illegal_argument(
                    "UnitUsageRecordJson usageRecords must have at least one element.",
                ));
            }
            Some(_) => {}
        }
        for (date, amount) in records {
            let amount = amount.ok_or_else(|| {
                KbError::illegal_argument("UsageRecordJson amount needs to be set")
            })?;
            let record_date = date.ok_or_else(|| {
                KbError::illegal_argument("UsageRecordJson recordDate needs to be set")
            })?;
            rows.push(Row {
                unit_type: unit_type.clone(),
                record_date,
                amount,
            });
        }
    }
    Ok((subscription_id, input.tracking_id, rows))
}

/// `POST /1.0/kb/usages`: 201, empty body, no `Location`.
pub(crate) async fn record(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> KbResult<Response> {
    require_json(&headers, &body)?;
    let (subscription_id, tracking_id, rows) = validated_rows(&body)?;
    created_by(&headers)?;
    let mut db = sim.db();
    let sub = db
        .subscription(tenant.id, subscription_id)
        .ok_or_else(|| KbError::object_does_not_exist(subscription_id, "SUBSCRIPTION"))?;
    if let Some(end) = sub.cancellation.as_ref().map(|c| c.entitlement_end)
        && rows.iter().any(|r| r.record_date > end)
    {
        return Err(KbError::bare_bad_request());
    }
    let tracking_id = match tracking_id.filter(|t| !t.is_empty()) {
        None => Uuid::new_v4().to_string(),
        Some(t) if db.tracking_ids.contains(&(subscription_id, t.clone())) => {
            return Err(KbError::json(
                StatusCode::BAD_REQUEST,
                USAGE_API,
                Some(50000),
                format!("A usage record with tracking ID {t} already exists"),
            ));
        }
        Some(t) => t,
    };
    if tracking_id.chars().count() > TRACKING_ID_MAX {
        return Err(KbError::value_too_long("TRACKING_ID", TRACKING_ID_MAX));
    }
    let stored: Vec<UsageRow> = rows
        .into_iter()
        .map(|r| {
            Ok(UsageRow {
                unit_type: r.unit_type,
                record_date: r.record_date,
                amount: to_column(r.amount)?,
                tracking_id: tracking_id.clone(),
            })
        })
        .collect::<KbResult<_>>()?;
    db.usage_rows += stored.len();
    db.usage.entry(subscription_id).or_default().extend(stored);
    db.tracking_ids.insert((subscription_id, tracking_id));
    Ok(created_without_location())
}

fn range(params: &Params) -> KbResult<(DateTime<Utc>, DateTime<Utc>)> {
    let (Some(start), Some(end)) = (params.get("startDate"), params.get("endDate")) else {
        return Err(KbError::bare_bad_request());
    };
    let parse = |s: &str| {
        parse_joda(s)
            .map(|p| p.instant())
            .ok_or_else(|| KbError::illegal_argument(format!("Invalid format: \"{s}\"")))
    };
    Ok((parse(start)?, parse(end)?))
}

fn rolled_up(
    sim: &Sim,
    tenant: Uuid,
    subscription_id: Uuid,
    unit_type: Option<&str>,
    params: &Params,
) -> KbResult<Response> {
    let (start, end) = range(params)?;
    let db = sim.db();
    if db.subscription(tenant, subscription_id).is_none() {
        return Err(KbError::object_does_not_exist(
            subscription_id,
            "SUBSCRIPTION",
        ));
    }
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in db.usage.get(&subscription_id).into_iter().flatten() {
        if row.record_date >= start
            && row.record_date < end
            && unit_type.is_none_or(|u| u == row.unit_type)
        {
            let sum = sums.entry(row.unit_type.clone()).or_insert(Decimal::ZERO);
            *sum = sum.checked_add(row.amount).unwrap_or(Decimal::MAX);
        }
    }
    let out = RolledUpUsageOut {
        subscription_id,
        start_date: fmt_datetime(start),
        end_date: fmt_datetime(end),
        rolled_up_units: sums
            .into_iter()
            .map(|(unit_type, mut amount)| {
                amount.rescale(SCALE);
                RolledUpUnitOut {
                    unit_type,
                    amount: Num(amount),
                }
            })
            .collect(),
    };
    Ok(json_with(StatusCode::OK, &out))
}

/// `GET /1.0/kb/usages/{subscriptionId}/{unitType}?startDate&endDate`.
pub(crate) async fn get_unit(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path((segment, unit_type)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    rolled_up(
        &sim,
        tenant.id,
        id,
        Some(&unit_type),
        &Params::parse(query.as_deref()),
    )
}

/// `GET /1.0/kb/usages/{subscriptionId}?startDate&endDate`: every unit.
pub(crate) async fn get_all(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    rolled_up(&sim, tenant.id, id, None, &Params::parse(query.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn amounts_bind_exactly_and_fit_the_column() {
        assert_eq!(bind_amount(&raw("0.1")).unwrap(), Decimal::new(1, 1));
        assert_eq!(bind_amount(&raw("\"12.5\"")).unwrap(), Decimal::new(125, 1));
        assert_eq!(bind_amount(&raw("1e2")).unwrap(), Decimal::from(100));
        assert!(bind_amount(&raw("true")).is_err());
        assert_eq!(
            to_column(Decimal::from_str("333333333.333333333").unwrap())
                .unwrap()
                .to_string(),
            "333333333.333333333"
        );
        assert_eq!(
            to_column(Decimal::from_str("0.0000000005").unwrap())
                .unwrap()
                .to_string(),
            "0.000000001"
        );
        assert!(to_column(Decimal::from(1_000_000_000u64)).is_err());
    }

    #[test]
    fn dates_bind_from_strings_and_millis() {
        assert_eq!(
            bind_date(&raw("\"2024-05-01T10:00:00Z\"")).unwrap(),
            bind_date(&raw("1714557600000")).unwrap()
        );
        assert!(bind_date(&raw("\"soon\"")).is_err());
    }
}
