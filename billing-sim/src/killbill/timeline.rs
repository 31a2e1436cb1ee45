//! What a subscription looks like at a given instant: its entitlement state, active plan,
//! charged-through date and event stream, rendered as SubscriptionJson and BundleJson.
//!
//! Invoicing is not simulated; the simulator behaves as if every in-advance recurring charge
//! was invoiced at the start of its period, so `chargedThroughDate` is the end of the current
//! monthly period (none for a usage-only plan, as no recurring item moves it). The real server
//! invoices asynchronously: right after a create it shows `chargedThroughDate: null` for about
//! a second.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::state::Account;
use rust_decimal::Decimal;

use super::catalog::{self, Plan};
use super::state::{Bundle, Db, Subscription};
use super::time::{Periods, fmt_date, fmt_datetime};
use super::wire::{
    BlockPriceOut, BundleOut, BundleTimelineOut, EventOut, Num, PhasePriceOut, SubscriptionOut,
    TierPriceOut, UsagePriceOut,
};

/// The plan named `name` in the subscription's catalog (a synthetic empty plan if the catalog
/// no longer has it).
pub(crate) fn plan_named(sub: &Subscription, name: &str) -> Plan {
    sub.catalog.plan_named(name)
}

/// EntitlementState at `now`: PENDING before the start, CANCELLED once the entitlement ended,
/// ACTIVE otherwise (a cancellation scheduled in the future keeps it ACTIVE).
pub(crate) fn state(sub: &Subscription, now: DateTime<Utc>) -> &'static str {
    if now < sub.entitlement_start {
        "PENDING"
    } else if sub
        .cancellation
        .as_ref()
        .is_some_and(|c| c.entitlement_end <= now)
    {
        "CANCELLED"
    } else {
        "ACTIVE"
    }
}

/// The name of the plan in force at `now` (Kill Bill's "last active plan", a billing notion:
/// after the billing end, the last plan before it; an entitlement cancelled before a plan
/// change still names the new plan while billing continues, as observed).
pub(crate) fn active_plan(sub: &Subscription, now: DateTime<Utc>) -> String {
    let at = match &sub.cancellation {
        Some(c) if c.billing_end <= now => c.billing_end - Duration::milliseconds(1),
        _ => now,
    };
    sub.plans
        .iter()
        .rev()
        .find(|p| p.effective <= at)
        .or_else(|| sub.plans.first())
        .map(|p| p.plan.clone())
        .unwrap_or_default()
}

/// What a subscription's JSON needs from its account.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountView {
    /// The account's currency (prices are listed only when it has one).
    pub(crate) currency: Option<String>,
    /// The account's bill-cycle day (0: not set).
    pub(crate) bcd: i32,
    /// When the account was closed.
    pub(crate) closed_at: Option<DateTime<Utc>>,
}

impl AccountView {
    /// The view of `account` (an empty view if the account is gone).
    pub(crate) fn of(account: Option<&Account>) -> Self {
        account.map_or_else(Self::default, |a| AccountView {
            currency: a.data.currency.clone(),
            bcd: a.data.bill_cycle_day_local,
            closed_at: a.closed_at(),
        })
    }
}

/// The subscription's monthly billing periods (its own BCD, else the start's day).
pub(crate) fn periods(sub: &Subscription) -> Periods {
    use chrono::Datelike;
    Periods {
        start: sub.billing_start,
        bcd: sub.bcd.unwrap_or_else(|| sub.billing_start.day()),
        time_of_day: sub.reference_tod,
    }
}

/// The end of the invoiced period at `now`, as an instant (what END_OF_TERM means), or `None`
/// when nothing is invoiced in advance (pending billing, usage-only plan, billing ended).
pub(crate) fn charged_through(sub: &Subscription, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if now < sub.billing_start {
        return None;
    }
    let at = match &sub.cancellation {
        Some(c) if c.billing_end <= now => c.billing_end - Duration::milliseconds(1),
        _ => now,
    };
    if at < sub.billing_start {
        return None;
    }
    let plan = plan_named(sub, &active_plan(sub, at));
    plan.recurring?;
    Some(periods(sub).end_of_period_at(at))
}

/// `chargedThroughDate` (a LocalDate).
fn charged_through_date(sub: &Subscription, now: DateTime<Utc>) -> Option<NaiveDate> {
    charged_through(sub, now).map(|t| t.date_naive())
}

struct RawEvent {
    at: DateTime<Utc>,
    order: u8,
    id: uuid::Uuid,
    kind: &'static str,
    service: &'static str,
    service_state: &'static str,
    plan: String,
    blocked_entitlement: bool,
}

fn event_out(sub: &Subscription, e: RawEvent) -> EventOut {
    let plan = plan_named(sub, &e.plan);
    EventOut {
        event_id: e.id,
        billing_period: Some(plan.billing_period().to_owned()),
        effective_date: fmt_datetime(e.at),
        catalog_effective_date: fmt_datetime(sub.catalog.effective_date),
        plan: Some(e.plan.clone()),
        product: Some(plan.product.clone()),
        price_list: Some(catalog::PRICE_LIST.to_owned()),
        event_type: e.kind,
        is_blocked_billing: false,
        is_blocked_entitlement: e.blocked_entitlement,
        service_name: e.service,
        service_state_name: e.service_state,
        phase: Some(plan.phase_name()),
        audit_logs: Vec::new(),
    }
}

/// The plan a stop or state-change event names: the one in force at `at`, or at `now` if that
/// is later (observed: an IMMEDIATE cancel dated back to the start, after a plan change, names
/// the new plan on its STOP_ENTITLEMENT).
fn plan_at(sub: &Subscription, at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let at = at.max(now);
    sub.plans
        .iter()
        .rev()
        .find(|p| p.effective <= at)
        .or_else(|| sub.plans.first())
        .map(|p| p.plan.clone())
        .unwrap_or_default()
}

/// The subscription's events, past and future, ordered as Kill Bill orders them (effective
/// date, then event type; at the same instant the account's SERVICE_STATE_CHANGE comes before
/// STOP_BILLING, as observed).
pub(crate) fn events(
    sub: &Subscription,
    account_closed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<EventOut> {
    let first_plan = sub
        .plans
        .first()
        .map(|p| p.plan.clone())
        .unwrap_or_default();
    let mut raw = vec![
        RawEvent {
            at: sub.entitlement_start,
            order: 0,
            id: sub.start_entitlement_event_id,
            kind: "START_ENTITLEMENT",
            service: "entitlement-service",
            service_state: "ENT_STARTED",
            plan: first_plan.clone(),
            blocked_entitlement: false,
        },
        RawEvent {
            at: sub.billing_start,
            order: 10,
            id: sub.start_billing_event_id,
            kind: "START_BILLING",
            service: "billing-service",
            service_state: "START_BILLING",
            plan: first_plan,
            blocked_entitlement: false,
        },
    ];
    for change in sub.plans.iter().skip(1) {
        raw.push(RawEvent {
            at: change.effective,
            order: 70,
            id: change.event_id,
            kind: "CHANGE",
            service: "entitlement+billing-service",
            service_state: "CHANGE",
            plan: change.plan.clone(),
            blocked_entitlement: false,
        });
    }
    if let Some(c) = &sub.cancellation {
        raw.push(RawEvent {
            at: c.entitlement_end,
            order: 80,
            id: c.entitlement_event_id,
            kind: "STOP_ENTITLEMENT",
            service: "entitlement-service",
            service_state: "ENT_CANCELLED",
            plan: plan_at(sub, c.entitlement_end, now),
            blocked_entitlement: true,
        });
        raw.push(RawEvent {
            at: c.billing_end,
            order: 90,
            id: c.billing_event_id,
            kind: "STOP_BILLING",
            service: "billing-service",
            service_state: "STOP_BILLING",
            plan: plan_at(sub, c.billing_end, now),
            blocked_entitlement: false,
        });
    }
    if let Some(at) = account_closed_at {
        raw.push(RawEvent {
            at,
            order: 85,
            // A stable id derived from the subscription (the blocking state is the account's).
            id: uuid::Uuid::from_u128(sub.id.as_u128() ^ 0x0c10_5e00_0000_4000_8000_0000_0000_0000),
            kind: "SERVICE_STATE_CHANGE",
            service: "account-service",
            service_state: "CLOSE_ACCOUNT",
            plan: plan_at(sub, at, now),
            blocked_entitlement: false,
        });
    }
    raw.sort_by_key(|e| (e.at, e.order));
    raw.into_iter().map(|e| event_out(sub, e)).collect()
}

fn phase_price(plan: &Plan) -> PhasePriceOut {
    PhasePriceOut {
        plan_name: plan.name.clone(),
        phase_name: plan.phase_name(),
        phase_type: "EVERGREEN",
        fixed_price: None,
        recurring_price: plan.recurring.map(Num),
        usage_prices: plan
            .usages
            .iter()
            .map(|u| UsagePriceOut {
                usage_name: u.name.clone(),
                usage_type: u.usage_type.as_str(),
                billing_mode: "IN_ARREAR",
                tier_block_policy: u.tier_block_policy.clone(),
                tier_prices: vec![TierPriceOut {
                    block_prices: vec![BlockPriceOut {
                        unit_name: u.unit.clone(),
                        size: Num(Decimal::ONE),
                        price: Num(u.price),
                        max: Num(Decimal::NEGATIVE_ONE),
                    }],
                }],
            })
            .collect(),
    }
}

/// SubscriptionJson at `now` (`prices` is empty when the account has no currency).
pub(crate) fn subscription_json(
    sub: &Subscription,
    bundle_key: &str,
    account: &AccountView,
    now: DateTime<Utc>,
) -> SubscriptionOut {
    let plan = plan_named(sub, &active_plan(sub, now));
    let mut prices: Vec<PhasePriceOut> = Vec::new();
    if account.currency.is_some() {
        let mut last: Option<&str> = None;
        for seg in &sub.plans {
            if last != Some(seg.plan.as_str()) {
                prices.push(phase_price(&plan_named(sub, &seg.plan)));
                last = Some(seg.plan.as_str());
            }
        }
    }
    SubscriptionOut {
        account_id: sub.account_id,
        bundle_id: sub.bundle_id,
        bundle_external_key: bundle_key.to_owned(),
        subscription_id: sub.id,
        external_key: sub.external_key.clone(),
        start_date: fmt_datetime(sub.entitlement_start),
        product_name: plan.product.clone(),
        product_category: plan.category(),
        billing_period: plan.billing_period(),
        phase_type: "EVERGREEN",
        price_list: catalog::PRICE_LIST,
        plan_name: plan.name.clone(),
        state: state(sub, now),
        source_type: if sub.migrated { "MIGRATED" } else { "NATIVE" },
        cancelled_date: sub
            .cancellation
            .as_ref()
            .map(|c| fmt_datetime(c.entitlement_end)),
        charged_through_date: charged_through_date(sub, now).map(fmt_date),
        billing_start_date: fmt_datetime(sub.billing_start),
        billing_end_date: sub
            .cancellation
            .as_ref()
            .map(|c| fmt_datetime(c.billing_end)),
        // Observed: null until billing has started (the bill-cycle day is a billing event).
        bill_cycle_day_local: (now >= sub.billing_start)
            .then(|| {
                sub.bcd
                    .or_else(|| u32::try_from(account.bcd).ok().filter(|b| *b > 0))
            })
            .flatten(),
        quantity: sub.quantity,
        events: events(sub, account.closed_at, now),
        prices,
        price_overrides: None,
        audit_logs: Vec::new(),
    }
}

/// BundleJson: the bundle's subscriptions (cancelled ones included) and its timeline.
pub(crate) fn bundle_json(db: &Db, bundle: &Bundle, now: DateTime<Utc>) -> BundleOut {
    let account = AccountView::of(db.accounts.get(&bundle.account_id));
    let subs = db.subscriptions_of_bundle(bundle.id);
    let subscriptions: Vec<SubscriptionOut> = subs
        .iter()
        .map(|s| subscription_json(s, &bundle.external_key, &account, now))
        .collect();
    let mut timeline: Vec<EventOut> = subs
        .iter()
        .flat_map(|s| events(s, account.closed_at, now))
        .collect();
    timeline.sort_by(|a, b| a.effective_date.cmp(&b.effective_date));
    BundleOut {
        account_id: bundle.account_id,
        bundle_id: bundle.id,
        external_key: bundle.external_key.clone(),
        subscriptions,
        timeline: BundleTimelineOut {
            account_id: bundle.account_id,
            bundle_id: bundle.id,
            external_key: bundle.external_key.clone(),
            events: timeline,
            audit_logs: Vec::new(),
        },
        audit_logs: Vec::new(),
    }
}
