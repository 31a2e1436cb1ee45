//! The simulator's JSON shapes, written from `vendors/lago.md` (serializers of lago-api): the
//! customer, subscription, event, plan and billable metric objects, and the pagination envelope.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::state::{Aggregation, Customer, Event, Metric, Plan, State, Status, Subscription};
use super::time::{fmt_date, fmt_ms, fmt_s, period_containing};

/// Scalar customer attributes, by API name, as the serializer lists them.
pub(crate) const CUSTOMER_SCALARS: &[&str] = &[
    "billing_entity_code",
    "account_type",
    "name",
    "firstname",
    "lastname",
    "customer_type",
    "country",
    "address_line1",
    "address_line2",
    "state",
    "zipcode",
    "email",
    "city",
    "url",
    "phone",
    "logo_url",
    "legal_name",
    "legal_number",
    "currency",
    "tax_identification_number",
    "timezone",
    "net_payment_term",
    "external_salesforce_id",
    "finalize_zero_amount_invoice",
    "skip_invoice_custom_sections",
];

/// `shipping_address` attributes.
pub(crate) const SHIPPING_FIELDS: &[&str] = &[
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zipcode",
    "country",
];

/// Which variant of the customer object to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomerView {
    /// Show, create/update and delete: adds taxes, integration customers, custom sections and
    /// error details.
    Full,
    /// List: adds taxes and integration customers.
    List,
}

fn opt_s(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| fmt_s(t).into())
}

fn opt_str(s: Option<&String>) -> Value {
    s.map_or(Value::Null, |s| s.as_str().into())
}

/// The customer object.
pub(crate) fn customer(c: &Customer, view: CustomerView) -> Value {
    let mut o = Map::new();
    o.insert("lago_id".into(), c.lago_id.to_string().into());
    o.insert("external_id".into(), c.external_id.as_str().into());
    o.insert("sequential_id".into(), c.sequential_id.into());
    o.insert(
        "slug".into(),
        format!("SIM-0001-{:03}", c.sequential_id).into(),
    );
    o.insert("created_at".into(), fmt_s(c.created_at).into());
    o.insert("updated_at".into(), fmt_s(c.updated_at).into());
    for key in CUSTOMER_SCALARS {
        o.insert(
            (*key).into(),
            c.fields.get(*key).cloned().unwrap_or(Value::Null),
        );
    }
    o.insert("applicable_timezone".into(), "UTC".into());
    let mut billing = Map::new();
    for key in [
        "invoice_grace_period",
        "payment_provider",
        "payment_provider_code",
        "document_locale",
    ] {
        billing.insert(
            key.into(),
            c.billing.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    for (key, default) in [
        (
            "subscription_invoice_issuing_date_anchor",
            "current_period_end",
        ),
        (
            "subscription_invoice_issuing_date_adjustment",
            "align_with_finalization_date",
        ),
    ] {
        let v = c
            .billing
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.into());
        billing.insert(key.into(), v);
    }
    o.insert("billing_configuration".into(), Value::Object(billing));
    let mut shipping = Map::new();
    for key in SHIPPING_FIELDS {
        shipping.insert(
            (*key).into(),
            c.shipping.get(*key).cloned().unwrap_or(Value::Null),
        );
    }
    o.insert("shipping_address".into(), Value::Object(shipping));
    let metadata: Vec<Value> = c
        .metadata
        .iter()
        .map(|m| {
            json!({
                "lago_id": m.lago_id.to_string(),
                "key": m.key,
                "value": m.value,
                "display_in_invoice": m.display_in_invoice,
                "created_at": fmt_s(m.created_at),
            })
        })
        .collect();
    o.insert("metadata".into(), Value::Array(metadata));
    o.insert("taxes".into(), json!([]));
    o.insert("integration_customers".into(), json!([]));
    if view == CustomerView::Full {
        o.insert("applicable_invoice_custom_sections".into(), json!([]));
        o.insert("error_details".into(), json!([]));
    }
    Value::Object(o)
}

/// The current billing period of a subscription row as `(from, to)`, both inclusive, the way the
/// serializer and current usage report it: the period containing now (for a terminated row, its
/// termination time), starting no earlier than `started_at` and ending no later than
/// `terminated_at`.
pub(crate) fn billing_period(state: &State, s: &Subscription) -> (DateTime<Utc>, DateTime<Utc>) {
    let now = state.now();
    let reference = match (s.status, s.terminated_at, s.started_at) {
        (Status::Terminated, Some(t), _) => t.min(now),
        (_, _, Some(started)) => started.max(now),
        _ => now,
    };
    let interval = state
        .plan(&s.plan_code)
        .map_or(super::time::Interval::Monthly, |p| p.interval);
    let (start, end) = period_containing(interval, s.anniversary, s.subscription_at, reference);
    let from = s.started_at.map_or(start, |st| st.max(start));
    let mut to = end - Duration::seconds(1);
    if let Some(t) = s.terminated_at {
        to = to.min(t);
    }
    (from, to.max(from))
}

/// The subscription object; `with_plan` adds `plan{...}` (show, create, update, delete).
pub(crate) fn subscription(state: &State, idx: usize, with_plan: bool) -> Value {
    let Some(s) = state.subscriptions.get(idx) else {
        return Value::Null;
    };
    let customer = state.customers.get(s.customer);
    let plan = state.plan(&s.plan_code);
    let previous = s.previous.and_then(|p| state.subscriptions.get(p));
    let next = state.next_of(idx).and_then(|n| state.subscriptions.get(n));
    let downgrade_date = next
        .filter(|n| n.status == Status::Pending)
        .and_then(|n| n.scheduled_start)
        .map(|t| fmt_date(t.date_naive()));
    let (from, to) = billing_period(state, s);
    let mut o = json!({
        "lago_id": s.lago_id.to_string(),
        "external_id": s.external_id,
        "lago_customer_id": customer.map(|c| c.lago_id.to_string()),
        "external_customer_id": customer.map(|c| c.external_id.clone()),
        "name": (!s.name.is_empty()).then_some(s.name.as_str()),
        "plan_code": s.plan_code,
        "plan_amount_cents": plan.map(|p| p.amount_cents),
        "plan_amount_currency": plan.map(|p| p.amount_currency.clone()),
        "status": s.status.as_str(),
        "billing_time": if s.anniversary { "anniversary" } else { "calendar" },
        "subscription_at": fmt_s(s.subscription_at),
        "started_at": s.started_at.map(fmt_ms),
        "trial_ended_at": null,
        "ending_at": opt_s(s.ending_at),
        "terminated_at": opt_s(s.terminated_at),
        "canceled_at": opt_s(s.canceled_at),
        "created_at": fmt_s(s.created_at),
        "previous_plan_code": previous.map(|p| p.plan_code.clone()),
        "next_plan_code": next.map(|n| n.plan_code.clone()),
        "downgrade_plan_date": downgrade_date,
        "current_billing_period_started_at": fmt_s(from),
        "current_billing_period_ending_at": fmt_s(to),
        "on_termination_credit_note": opt_str(s.on_termination_credit_note.as_ref()),
        "on_termination_invoice": s.on_termination_invoice,
        "progressive_billing_disabled": s.progressive_billing_disabled,
        "consolidate_invoice": s.consolidate_invoice,
        "purchase_order_number": opt_str(s.purchase_order_number.as_ref()),
        "cancellation_reason": null,
        "activated_at": s.started_at.map(fmt_s),
        "payment_method": {
            "payment_method_id": opt_str(s.payment_method_id.as_ref()),
            "payment_method_type": opt_str(s.payment_method_type.as_ref()),
        },
        "activation_rules": [],
    });
    if with_plan && let (Some(p), Some(obj)) = (plan, o.as_object_mut()) {
        obj.insert("plan".into(), self::plan(state, p));
        obj.insert("entitlements".into(), json!([]));
    }
    o
}

/// The billable metric object.
pub(crate) fn metric(m: &Metric) -> Value {
    json!({
        "lago_id": m.lago_id.to_string(),
        "name": m.name,
        "code": m.code,
        "description": m.description,
        "aggregation_type": m.aggregation.lago_type(),
        "weighted_interval": (m.aggregation == Aggregation::WeightedSum).then_some("seconds"),
        "recurring": m.recurring,
        "rounding_function": null,
        "rounding_precision": null,
        "created_at": fmt_s(m.created_at),
        "field_name": m.field_name,
        "expression": null,
        "filters": [],
    })
}

/// The plan object with its charges.
pub(crate) fn plan(state: &State, p: &Plan) -> Value {
    let charges: Vec<Value> = p
        .charges
        .iter()
        .map(|c| {
            json!({
                "lago_id": c.lago_id.to_string(),
                "lago_billable_metric_id": state.metric(&c.metric_code).map(|m| m.lago_id.to_string()),
                "billable_metric_code": c.metric_code,
                "code": c.code,
                "invoice_display_name": c.invoice_display_name,
                "created_at": fmt_s(c.created_at),
                "charge_model": "standard",
                "pay_in_advance": false,
                "invoiceable": true,
                "regroup_paid_fees": null,
                "prorated": false,
                "min_amount_cents": 0,
                "properties": {"amount": c.amount_text},
                "filters": [],
                "taxes": [],
                "applied_pricing_unit": null,
                "accepts_target_wallet": false,
                "lago_parent_id": null,
            })
        })
        .collect();
    json!({
        "lago_id": p.lago_id.to_string(),
        "name": p.name,
        "invoice_display_name": p.invoice_display_name,
        "created_at": fmt_s(p.created_at),
        "code": p.code,
        "interval": p.interval.as_str(),
        "description": p.description,
        "amount_cents": p.amount_cents,
        "amount_currency": p.amount_currency,
        "trial_period": 0.0,
        "pay_in_advance": p.pay_in_advance,
        "bill_charges_monthly": null,
        "bill_fixed_charges_monthly": null,
        "minimum_commitment": null,
        "charges": charges,
        "fixed_charges": [],
        "taxes": [],
        "usage_thresholds": [],
        "entitlements": [],
        "metadata": null,
    })
}

/// The event object. `resolved` holds the customer and subscription lago_ids once processing
/// has linked the event (never in the ingestion response: processing is asynchronous).
pub(crate) fn event(e: &Event, resolved: Option<(String, String)>) -> Value {
    let (customer, subscription) = resolved.map_or((Value::Null, Value::Null), |(c, s)| {
        (Value::String(c), Value::String(s))
    });
    json!({
        "lago_id": e.lago_id.to_string(),
        "transaction_id": e.transaction_id,
        "lago_customer_id": customer,
        "code": e.code,
        "timestamp": fmt_ms(e.timestamp),
        "precise_total_amount_cents": e.precise_total_amount_cents,
        "properties": e.properties,
        "lago_subscription_id": subscription,
        "external_subscription_id": e.external_subscription_id,
        "created_at": fmt_s(e.created_at),
    })
}

/// One page of `items` (1-based `page`) and Lago's `meta` envelope: exactly `current_page,
/// next_page, prev_page, total_pages, total_count`. An empty result gives `current_page: 0`;
/// a page beyond the last gives an empty array with null `next_page` and `prev_page`
/// (Kaminari's out-of-range rule).
pub(crate) fn paginate<T>(items: Vec<T>, page: usize, per_page: usize) -> (Vec<T>, Value) {
    let total = items.len();
    let per_page = per_page.max(1);
    let total_pages = total.div_ceil(per_page);
    let start = (page - 1).saturating_mul(per_page);
    let slice: Vec<T> = items.into_iter().skip(start).take(per_page).collect();
    let out_of_range = page > total_pages;
    let meta = if total == 0 {
        json!({"current_page": 0, "next_page": null, "prev_page": null,
               "total_pages": 0, "total_count": 0})
    } else {
        json!({
            "current_page": page,
            "next_page": (!out_of_range && page < total_pages).then_some(page + 1),
            "prev_page": (!out_of_range && page > 1).then_some(page - 1),
            "total_pages": total_pages,
            "total_count": total,
        })
    };
    (slice, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_envelope() {
        let (items, meta) = paginate((1..=5).collect::<Vec<_>>(), 2, 2);
        assert_eq!(items, vec![3, 4]);
        assert_eq!(
            meta,
            json!({"current_page":2,"next_page":3,"prev_page":1,"total_pages":3,"total_count":5})
        );
        let (items, meta) = paginate((1..=5).collect::<Vec<_>>(), 4, 2);
        assert!(items.is_empty());
        assert_eq!(meta["next_page"], Value::Null);
        let (_, meta) = paginate(Vec::<u8>::new(), 1, 100);
        assert_eq!(meta["current_page"], 0);
        assert_eq!(meta["total_pages"], 0);
    }
}
