//! Cancelling (`DELETE /1.0/kb/subscriptions/{id}`) and changing the plan of a subscription
//! (`PUT /1.0/kb/subscriptions/{id}`), with Kill Bill's policies and error codes.
//!
//! The sample catalog's rules are END_OF_TERM for both the cancel and the change policy (as in
//! the project's `catalog.xml`): they apply when a request names no policy and no date.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use uuid::Uuid;

use super::auth::{TenantCtx, created_by, require_json};
use super::catalog::{self, CatalogMiss, KbCatalog};
use super::errors::{
    BLOCKING_API, CATALOG_API, ENTITLEMENT_API, KbError, KbResult, SUBSCRIPTION_BASE_API,
};
use super::ids::path_id;
use super::reply::{Params, no_content};
use super::state::{Cancellation, PlanSegment, Sim, Subscription};
use super::time::{Parsed, at_reference_time, fmt_datetime, parse_joda, resolve_requested};
use super::timeline::{charged_through, periods, state};
use super::wire::{SubscriptionIn, parse_body};

const ENTITLEMENT_POLICIES: [&str; 2] = ["IMMEDIATE", "END_OF_TERM"];
const BILLING_POLICIES: [&str; 3] = ["START_OF_TERM", "END_OF_TERM", "IMMEDIATE"];

/// When billing stops (or a change takes effect).
#[derive(Debug, Clone, Copy)]
pub(crate) enum BillingPolicy {
    /// Now.
    Immediate,
    /// At the charged-through date (now if nothing is charged in advance).
    EndOfTerm,
    /// At the start of the current period.
    StartOfTerm,
    /// At this instant.
    At(DateTime<Utc>),
}

impl BillingPolicy {
    fn parse(s: &str) -> Self {
        match s {
            "IMMEDIATE" => BillingPolicy::Immediate,
            "START_OF_TERM" => BillingPolicy::StartOfTerm,
            _ => BillingPolicy::EndOfTerm,
        }
    }

    /// The instant this policy designates for `sub` at `now`.
    pub(crate) fn resolve(self, sub: &Subscription, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            BillingPolicy::Immediate => now,
            BillingPolicy::EndOfTerm => charged_through(sub, now).unwrap_or(now),
            BillingPolicy::StartOfTerm => periods(sub).start_of_period_at(now),
            BillingPolicy::At(t) => t,
        }
    }
}

/// Records a cancellation: the entitlement ends at `entitlement_end`, billing as `billing`
/// says. Plan changes scheduled after the billing end are dropped.
pub(crate) fn cancel_at(
    sub: &mut Subscription,
    now: DateTime<Utc>,
    entitlement_end: DateTime<Utc>,
    billing: BillingPolicy,
) {
    let billing_end = billing.resolve(sub, now).max(sub.billing_start);
    let mut first = true;
    sub.plans.retain(|p| {
        let keep = first || p.effective <= billing_end;
        first = false;
        keep
    });
    sub.cancellation = Some(Cancellation {
        entitlement_end,
        billing_end,
        entitlement_event_id: Uuid::new_v4(),
        billing_event_id: Uuid::new_v4(),
    });
}

/// An unknown subscription id fails the tenant-context lookup (`ObjectDoesNotExist`, 404).
fn unknown_subscription(id: Uuid) -> KbError {
    KbError::object_does_not_exist(id, "SUBSCRIPTION")
}

fn parse_date_param(value: &str) -> KbResult<Parsed> {
    parse_joda(value)
        .ok_or_else(|| KbError::illegal_argument(format!("Invalid format: \"{value}\"")))
}

fn invalid_requested_date(date: DateTime<Utc>, start: DateTime<Utc>) -> KbError {
    KbError::json(
        StatusCode::BAD_REQUEST,
        ENTITLEMENT_API,
        Some(1001),
        format!(
            "Requested date {} is not allowed to be prior to the previous transition {}",
            fmt_datetime(date),
            fmt_datetime(start)
        ),
    )
}

/// `DELETE /1.0/kb/subscriptions/{subscriptionId}`: 204; 500 with code 1031 when the
/// subscription is already cancelled.
pub(crate) async fn cancel(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let params = Params::parse(query.as_deref());
    let entitlement_policy = params.enum_opt("entitlementPolicy", &ENTITLEMENT_POLICIES)?;
    let billing_policy = params.enum_opt("billingPolicy", &BILLING_POLICIES)?;
    let use_requested_for_billing = params.bool_or("useRequestedDateForBilling", false);
    params.long_or("callTimeoutSec", 5)?;
    let requested = params
        .get("requestedDate")
        .map(parse_date_param)
        .transpose();
    created_by(&headers)?;
    let requested = requested?;
    let now = sim.clock.now();
    let mut db = sim.db();
    if db.subscription(tenant.id, id).is_none() {
        return Err(unknown_subscription(id));
    }
    let sub = db
        .subscriptions
        .get_mut(&id)
        .ok_or_else(|| unknown_subscription(id))?;
    let reference_tod = sub.reference_tod;
    let catalog_billing = BillingPolicy::EndOfTerm;
    let start = sub.entitlement_start;
    // A policy resolves to a local date (today, or the charged-through date), which Kill Bill
    // turns into that day at the account's reference time, no earlier than the start: an
    // IMMEDIATE cancel on the start day is dated at the start (observed).
    let today = at_reference_time(now.date_naive(), reference_tod);
    let (entitlement_end, billing) = match (entitlement_policy, billing_policy) {
        (None, None) => match requested {
            None => (now, catalog_billing),
            Some(Parsed::DateTime(t)) => (t, BillingPolicy::At(t)),
            Some(date) => {
                let t = resolve_requested(date, reference_tod);
                let billing = if use_requested_for_billing {
                    BillingPolicy::At(t)
                } else {
                    catalog_billing
                };
                (t, billing)
            }
        },
        (Some(ent), billing) => {
            let t = match ent {
                "IMMEDIATE" => today,
                _ => charged_through(sub, now).unwrap_or(today),
            };
            // `getLocalDateFromEntitlementPolicy` never goes before the start.
            (
                t.max(start),
                billing.map_or(catalog_billing, BillingPolicy::parse),
            )
        }
        (None, Some(billing)) => {
            let t = requested.map_or(now, |r| {
                at_reference_time(r.instant().date_naive(), reference_tod)
            });
            (t, BillingPolicy::parse(billing))
        }
    };
    if entitlement_end.date_naive() < start.date_naive() {
        return Err(invalid_requested_date(entitlement_end, start));
    }
    let entitlement_end = entitlement_end.max(start);
    if state(sub, now) == "CANCELLED" {
        return Err(KbError::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            ENTITLEMENT_API,
            Some(1031),
            format!("Subscription {id} is in state CANCELLED: Failed to cancel"),
        ));
    }
    cancel_at(sub, now, entitlement_end, billing);
    Ok(no_content())
}

/// The target plan of a change: by name, or by product, billing period and price list.
fn target_plan(
    tenant_catalog: Option<&KbCatalog>,
    input: &SubscriptionIn,
) -> Result<catalog::Plan, CatalogMiss> {
    match &input.plan_name {
        Some(name) => catalog::find_plan(tenant_catalog, name),
        None => catalog::find_plan_by_spec(
            tenant_catalog,
            input.product_name.as_deref().unwrap_or(""),
            input.billing_period.as_deref().unwrap_or(""),
            input.price_list.as_deref().unwrap_or(""),
        ),
    }
}

fn require(value: &Option<String>, message: &str) -> KbResult<()> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(()),
        _ => Err(KbError::illegal_argument(message)),
    }
}

/// `PUT /1.0/kb/subscriptions/{subscriptionId}`: 204. `requestedDate` or `billingPolicy`
/// (not both) decide when the change applies; without either, the catalog's END_OF_TERM.
pub(crate) async fn change_plan(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let params = Params::parse(query.as_deref());
    let billing_policy = params.enum_opt("billingPolicy", &BILLING_POLICIES)?;
    params.long_or("callTimeoutSec", 3)?;
    require_json(&headers, &body)?;
    let input: Option<SubscriptionIn> = parse_body(&body)?;
    if let Some(i) = &input {
        super::subscriptions::check_enums(i)?;
    }
    let input = input
        .ok_or_else(|| KbError::illegal_argument("SubscriptionJson body should be specified"))?;
    if input.plan_name.is_none() {
        require(
            &input.product_name,
            "SubscriptionJson productName needs to be set",
        )?;
        require(
            &input.billing_period,
            "SubscriptionJson billingPeriod needs to be set",
        )?;
        require(
            &input.price_list,
            "SubscriptionJson priceList needs to be set",
        )?;
    }
    let requested_raw = params.get("requestedDate");
    if requested_raw.is_some() && billing_policy.is_some() {
        return Err(KbError::illegal_argument(
            "Only one of requestedDate or billingPolicy should be specified",
        ));
    }
    created_by(&headers)?;
    let requested = requested_raw.map(parse_date_param).transpose()?;
    let now = sim.clock.now();
    let mut db = sim.db();
    let tenant_catalog = db.catalog_of(tenant.id);
    let (account_closed, account_id) = {
        let sub = db
            .subscription(tenant.id, id)
            .ok_or_else(|| unknown_subscription(id))?;
        let account = db.accounts.get(&sub.account_id);
        (account.is_some_and(|a| a.is_closed()), sub.account_id)
    };
    let sub = db
        .subscriptions
        .get_mut(&id)
        .ok_or_else(|| unknown_subscription(id))?;
    let sub_state = state(sub, now);
    let effective = match (requested, billing_policy) {
        (Some(r), _) => resolve_requested(r, sub.reference_tod),
        (None, Some(p)) => BillingPolicy::parse(p).resolve(sub, now),
        (None, None) => BillingPolicy::EndOfTerm.resolve(sub, now),
    };
    // A cancelled subscription carries the ENT_CANCELLED blocking state, which blocks changes:
    // the real server answers 400/6000 here (observed), not the 500/1021 of the notes.
    if sub_state == "CANCELLED" {
        return Err(KbError::json(
            StatusCode::BAD_REQUEST,
            BLOCKING_API,
            Some(6000),
            format!("The action Change is block on this Subscription with id={id}"),
        ));
    }
    if sub_state != "ACTIVE" || effective < sub.entitlement_start {
        return Err(KbError::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            ENTITLEMENT_API,
            Some(1021),
            format!("Subscription {id} is in state {sub_state}: Failed to change plan"),
        ));
    }
    let plan = target_plan(tenant_catalog.as_deref(), &input).map_err(|miss| {
        KbError::json(
            StatusCode::BAD_REQUEST,
            CATALOG_API,
            Some(miss.code),
            miss.message,
        )
    })?;
    if sub.cancellation.is_some() {
        return Err(KbError::json(
            StatusCode::BAD_REQUEST,
            SUBSCRIPTION_BASE_API,
            Some(1022),
            format!("Subscription {id} is future cancelled: Failed to change plan"),
        ));
    }
    if account_closed {
        return Err(KbError::json(
            StatusCode::BAD_REQUEST,
            BLOCKING_API,
            Some(6000),
            format!("The action Change is block on this Account with id={account_id}"),
        ));
    }
    // A new change replaces any pending one, and anything scheduled after it.
    let mut first = true;
    sub.plans.retain(|p| {
        let keep = first || (p.effective <= now && p.effective < effective);
        first = false;
        keep
    });
    sub.plans.push(PlanSegment {
        effective,
        plan: plan.name.to_owned(),
        event_id: Uuid::new_v4(),
    });
    sub.plans.sort_by_key(|p| p.effective);
    Ok(no_content())
}

/// `PUT /1.0/kb/subscriptions/{subscriptionId}/uncancel`: 204 while a cancellation is pending
/// (back to no `cancelledDate`/`billingEndDate`); 400 with code 8004 otherwise.
pub(crate) async fn uncancel(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    created_by(&headers)?;
    let now = sim.clock.now();
    let mut db = sim.db();
    if db.subscription(tenant.id, id).is_none() {
        return Err(unknown_subscription(id));
    }
    let sub = db
        .subscriptions
        .get_mut(&id)
        .ok_or_else(|| unknown_subscription(id))?;
    match &sub.cancellation {
        Some(c) if c.entitlement_end > now => {
            sub.cancellation = None;
            Ok(no_content())
        }
        _ => Err(KbError::json(
            StatusCode::BAD_REQUEST,
            ENTITLEMENT_API,
            Some(8004),
            format!(
                "Subscription (entitlement) {id} was not previously cancelled or is not in a pending cancelled state: Failed to uncancel plan"
            ),
        )),
    }
}
