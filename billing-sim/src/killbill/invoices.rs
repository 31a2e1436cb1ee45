//! Invoices: what Kill Bill bills, as `GET /1.0/kb/accounts/{accountId}/invoices` shows it.
//!
//! Kill Bill invoices an account when one of its billing events falls due (a notification at
//! the billing start and at every bill-cycle date). The simulator has no notification queue:
//! when invoices are read, it first issues every invoice that fell due up to the clock, and
//! stores them, so ids and numbers stay stable between reads. What each invoice holds follows
//! the sample catalog:
//! - `RECURRING` items, in advance: from the billing start (`billingDate`, which is later than
//!   the entitlement start for a migrated subscription: nothing before it is billed) to the
//!   next bill-cycle date, then one per period. A first period shorter than a whole one is
//!   prorated by days, as `InvoiceDateUtils.calculateProRationBeforeFirstBillingPeriod` does,
//!   rounded half-up to the cent.
//! - `USAGE` items, in arrear: at the end of each billed period, one per usage section (even
//!   with no usage, as observed): a CONSUMABLE section bills the sum of the amounts recorded in
//!   `[period start, period end)` times the unit price, a CAPACITY one the largest amount at its
//!   tier's price (see `catalog::UsageType`), with Kill Bill's `itemDetails` (the tier's
//!   quantity and amount) and no `rate`.
//! - Items due on one date for one account make one invoice: `targetDate` is that date,
//!   `invoiceDate` the day it was issued (later than the target date when the clock jumped past
//!   it). A closed account (`AUTO_INVOICING_OFF`) gets no new invoice.
//! - As observed on the real server, the list carries the items (and the amounts, which are
//!   computed from them) only with `includeInvoiceComponents=true`: otherwise every invoice
//!   shows `items: []` and `0.00`.
//!
//! Not simulated: repairs and credits after a cancellation or plan change within an invoiced
//! period, fixed prices, payments (every invoice keeps its balance).

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use uuid::Uuid;

use super::auth::TenantCtx;
use super::errors::{KbError, KbResult};
use super::ids::path_id;
use super::reply::{Params, json};
use super::state::{Db, Sim, Subscription};
use super::timeline::{active_plan, periods, plan_named};
use super::wire::{AuditLogs, Num};

/// One stored invoice.
#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    id: Uuid,
    account_id: Uuid,
    number: u64,
    invoice_date: NaiveDate,
    target_date: NaiveDate,
    currency: String,
    items: Vec<Item>,
}

/// One stored invoice item.
#[derive(Debug, Clone)]
struct Item {
    id: Uuid,
    bundle_id: Uuid,
    subscription_id: Uuid,
    product: String,
    plan: String,
    phase: String,
    usage_name: Option<String>,
    item_type: &'static str,
    start: NaiveDate,
    end: NaiveDate,
    amount: Decimal,
    /// A recurring item's price (a usage item has none).
    rate: Option<Decimal>,
    /// A usage item's `itemDetails` JSON string.
    details: Option<String>,
    /// The effective date of the catalog version of the plan.
    catalog_effective_date: DateTime<Utc>,
}

/// How far a subscription has been invoiced: recurring items up to (excluding) `recurring`,
/// usage up to `usage`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Invoiced {
    recurring: Option<DateTime<Utc>>,
    usage: Option<DateTime<Utc>>,
}

/// One billing period of a subscription, as instants.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// The billing periods of `sub` that start before `until`, from its billing start, capped at
/// the billing end.
fn spans(sub: &Subscription, until: DateTime<Utc>) -> Vec<Span> {
    let billing_end = sub.cancellation.as_ref().map(|c| c.billing_end);
    let p = periods(sub);
    let mut out = Vec::new();
    let mut start = sub.billing_start;
    while start < until && billing_end.is_none_or(|e| start < e) && out.len() < 1200 {
        let end = p.end_of_period_at(start);
        if end <= start {
            break;
        }
        out.push(Span { start, end });
        start = end;
    }
    out
}

/// `price` for the days of `[start, end)` out of the whole period ending at `end`, when the
/// span is shorter than a month; the full price otherwise.
fn prorated(price: Decimal, start: NaiveDate, end: NaiveDate) -> Decimal {
    let whole_start = end
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(start);
    if start <= whole_start {
        return price;
    }
    let whole = (end - whole_start).num_days();
    let part = (end - start).num_days();
    if whole <= 0 {
        return price;
    }
    (price * Decimal::from(part) / Decimal::from(whole))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The items of `sub` that fell due by `now` and are not invoiced yet, with the due date of
/// each (in advance: the period's start; in arrear: its end). Advances the marks.
fn due_items(
    db: &Db,
    sub: &Subscription,
    invoiced: &mut Invoiced,
    now: DateTime<Utc>,
) -> Vec<(NaiveDate, Item)> {
    let mut out = Vec::new();
    let item = |span: &Span, plan: &str, item_type, amount, rate, details, usage_name| {
        let p = plan_named(sub, plan);
        Item {
            id: Uuid::new_v4(),
            bundle_id: sub.bundle_id,
            subscription_id: sub.id,
            product: p.product.to_owned(),
            plan: p.name.to_owned(),
            phase: p.phase_name(),
            usage_name,
            item_type,
            start: span.start.date_naive(),
            end: span.end.date_naive(),
            amount,
            rate,
            details,
            catalog_effective_date: sub.catalog.effective_date,
        }
    };
    for span in spans(
        sub,
        now.max(sub.billing_start) + chrono::Duration::milliseconds(1),
    ) {
        if span.start > now {
            break;
        }
        let plan = active_plan(sub, span.start);
        if invoiced.recurring.is_none_or(|r| span.start >= r) {
            if let Some(price) = plan_named(sub, &plan).recurring {
                let (from, to) = (span.start.date_naive(), span.end.date_naive());
                let amount = prorated(price, from, to);
                // The rate as the `decimal(15,9)` column keeps it.
                let mut rate = price;
                rate.rescale(9);
                let recurring = item(&span, &plan, "RECURRING", amount, Some(rate), None, None);
                out.push((from, recurring));
            }
            invoiced.recurring = Some(span.end);
        }
        if span.end <= now && invoiced.usage.is_none_or(|u| span.start >= u) {
            let rows = db.usage.get(&sub.id).map(Vec::as_slice).unwrap_or_default();
            for usage in plan_named(sub, &plan).usages {
                let in_span: Vec<Decimal> = rows
                    .iter()
                    .filter(|r| r.unit_type == usage.unit)
                    .filter(|r| span.start <= r.record_date && r.record_date < span.end)
                    .map(|r| r.amount)
                    .collect();
                // BigDecimal arithmetic: the stored quantities keep 9 decimals, no row is a
                // plain 0, and the tier amount carries both scales. CONSUMABLE sums the
                // records, CAPACITY keeps the largest and bills its tier's price.
                let quantity = usage.usage_type.aggregate(in_span);
                let tier_amount = usage.billed(quantity);
                let amount =
                    tier_amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                let details = serde_json::json!({
                    "tierDetails": [{
                        "tier": 1,
                        "tierUnit": usage.unit,
                        "tierPrice": Num(usage.price),
                        "tierBlockSize": 1,
                        "quantity": Num(quantity),
                        "amount": Num(tier_amount),
                    }],
                    "amount": Num(tier_amount),
                })
                .to_string();
                out.push((
                    span.end.date_naive(),
                    item(
                        &span,
                        &plan,
                        "USAGE",
                        amount,
                        None,
                        Some(details),
                        Some(usage.name.clone()),
                    ),
                ));
            }
            invoiced.usage = Some(span.end);
        }
    }
    out
}

/// Issues every invoice of `account` that fell due by `now`.
fn issue_due(db: &mut Db, account: Uuid, now: DateTime<Utc>) {
    let (closed, currency) = match db.accounts.get(&account) {
        Some(a) => (a.is_closed(), a.data.currency.clone().unwrap_or_default()),
        None => return,
    };
    if closed {
        return;
    }
    let subs: Vec<Subscription> = db
        .bundles_of_account(account)
        .iter()
        .flat_map(|b| db.subscriptions_of_bundle(b.id))
        .cloned()
        .collect();
    // The first invoice sets the account's bill-cycle day (ACCOUNT alignment): the day of the
    // subscription whose billing started first.
    if let Some(bcd) = subs
        .iter()
        .filter(|s| s.billing_start <= now && plan_named(s, &s.plans[0].plan).recurring.is_some())
        .min_by_key(|s| s.billing_start)
        .and_then(|s| s.bcd)
        && let Some(a) = db.accounts.get_mut(&account)
        && a.data.bill_cycle_day_local == 0
    {
        a.data.bill_cycle_day_local = i32::try_from(bcd).unwrap_or(1);
    }
    let mut due: Vec<(NaiveDate, Item)> = Vec::new();
    for sub in &subs {
        let mut marks = db.invoiced.get(&sub.id).copied().unwrap_or_default();
        due.extend(due_items(db, sub, &mut marks, now));
        db.invoiced.insert(sub.id, marks);
    }
    due.sort_by_key(|(date, _)| *date);
    let mut dates: Vec<NaiveDate> = due.iter().map(|(d, _)| *d).collect();
    dates.dedup();
    for date in dates {
        let items: Vec<Item> = due
            .iter()
            .filter(|(d, _)| *d == date)
            .map(|(_, i)| i.clone())
            .collect();
        let number = db.record_id();
        db.invoices.push(Invoice {
            id: Uuid::new_v4(),
            account_id: account,
            number,
            invoice_date: now.date_naive(),
            target_date: date,
            currency: currency.clone(),
            items,
        });
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InvoiceOut {
    amount: Num,
    currency: String,
    status: &'static str,
    credit_adj: Num,
    refund_adj: Num,
    invoice_id: Uuid,
    invoice_date: String,
    target_date: String,
    invoice_number: String,
    balance: Num,
    account_id: Uuid,
    bundle_keys: Option<String>,
    credits: Option<Vec<ItemOut>>,
    items: Vec<ItemOut>,
    tracking_ids: Vec<String>,
    is_parent_invoice: bool,
    parent_invoice_id: Option<Uuid>,
    parent_account_id: Option<Uuid>,
    audit_logs: AuditLogs,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemOut {
    invoice_item_id: Uuid,
    invoice_id: Uuid,
    linked_invoice_item_id: Option<Uuid>,
    account_id: Uuid,
    child_account_id: Option<Uuid>,
    bundle_id: Uuid,
    subscription_id: Uuid,
    product_name: String,
    plan_name: String,
    phase_name: String,
    usage_name: Option<String>,
    pretty_product_name: Option<String>,
    pretty_plan_name: Option<String>,
    pretty_phase_name: Option<String>,
    pretty_usage_name: Option<String>,
    item_type: &'static str,
    description: String,
    start_date: String,
    end_date: String,
    amount: Num,
    rate: Option<Num>,
    currency: String,
    quantity: Option<Num>,
    item_details: Option<String>,
    catalog_effective_date: String,
    child_items: Option<Vec<ItemOut>>,
    audit_logs: AuditLogs,
}

fn invoice_json(invoice: &Invoice, with_items: bool) -> InvoiceOut {
    let zero = Num(Decimal::new(0, 2));
    let shown: &[Item] = if with_items { &invoice.items } else { &[] };
    let mut amount: Decimal = shown.iter().map(|i| i.amount).sum();
    amount.rescale(2);
    let items = shown
        .iter()
        .map(|i| ItemOut {
            invoice_item_id: i.id,
            invoice_id: invoice.id,
            linked_invoice_item_id: None,
            account_id: invoice.account_id,
            child_account_id: None,
            bundle_id: i.bundle_id,
            subscription_id: i.subscription_id,
            product_name: i.product.clone(),
            plan_name: i.plan.clone(),
            phase_name: i.phase.clone(),
            usage_name: i.usage_name.clone(),
            pretty_product_name: Some(i.product.clone()),
            pretty_plan_name: Some(i.plan.clone()),
            pretty_phase_name: Some(i.phase.clone()),
            pretty_usage_name: i.usage_name.clone(),
            item_type: i.item_type,
            description: i.usage_name.clone().unwrap_or_else(|| i.phase.clone()),
            start_date: i.start.format("%Y-%m-%d").to_string(),
            end_date: i.end.format("%Y-%m-%d").to_string(),
            amount: Num(i.amount),
            rate: i.rate.map(Num),
            currency: invoice.currency.clone(),
            quantity: None,
            item_details: i.details.clone(),
            catalog_effective_date: super::time::fmt_datetime(i.catalog_effective_date),
            child_items: None,
            audit_logs: Vec::new(),
        })
        .collect();
    InvoiceOut {
        amount: Num(amount),
        currency: invoice.currency.clone(),
        status: "COMMITTED",
        credit_adj: zero,
        refund_adj: zero,
        invoice_id: invoice.id,
        invoice_date: invoice.invoice_date.format("%Y-%m-%d").to_string(),
        target_date: invoice.target_date.format("%Y-%m-%d").to_string(),
        invoice_number: invoice.number.to_string(),
        balance: Num(amount),
        account_id: invoice.account_id,
        bundle_keys: None,
        credits: None,
        items,
        tracking_ids: Vec::new(),
        is_parent_invoice: false,
        parent_invoice_id: None,
        parent_account_id: None,
        audit_logs: Vec::new(),
    }
}

/// `GET /1.0/kb/accounts/{accountId}/invoices[?includeInvoiceComponents=true]`: the account's
/// invoices, oldest first (with their items only when asked). 404 for an unknown account.
pub(crate) async fn for_account(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let with_items = Params::parse(query.as_deref()).bool_or("includeInvoiceComponents", false);
    let now = sim.clock.now();
    let mut db = sim.db();
    if db.account(tenant.id, id).is_none() {
        return Err(KbError::object_does_not_exist(id, "ACCOUNT"));
    }
    issue_due(&mut db, id, now);
    let out: Vec<InvoiceOut> = db
        .invoices
        .iter()
        .filter(|i| i.account_id == id)
        .map(|i| invoice_json(i, with_items))
        .collect();
    Ok(json(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_short_first_period_is_prorated_by_days() {
        let ten = Decimal::new(1000, 2);
        assert_eq!(prorated(ten, d("2026-03-10"), d("2026-04-10")), ten);
        // 10 of the 31 days from March 10 to April 10.
        assert_eq!(
            prorated(ten, d("2026-03-31"), d("2026-04-10")),
            Decimal::new(323, 2)
        );
    }
}
