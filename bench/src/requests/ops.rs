//! The trait methods whose requests section 3 counts, and how each is called on a fixture.

use billing::chrono::{Duration, Utc};
use billing::{
    BillingBackend, CancelAt, ChangeAt, CustomerKey, CustomerPatch, ErrorKind, EventOutcome,
    NewSubscription, PageRequest, SubscriptionKey, UsageQuery,
};
use serde::Serialize;

use crate::fixture;

/// A trait method (with its variant, where the variant changes the cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `create_customer`.
    CreateCustomer,
    /// `get_customer`.
    GetCustomer,
    /// `update_customer` (the name).
    UpdateCustomer,
    /// `delete_customer` (a customer with one running subscription).
    DeleteCustomer,
    /// `list_customers`, first page of 100.
    ListCustomers,
    /// `create_subscription`.
    CreateSubscription,
    /// `get_subscription`.
    GetSubscription,
    /// `list_subscriptions`, first page of 100.
    ListSubscriptions,
    /// `cancel_subscription(Now)`.
    CancelNow,
    /// `cancel_subscription(PeriodEnd)`.
    CancelPeriodEnd,
    /// `change_plan` to the pro plan (Now, else VendorDefault, else PeriodEnd).
    ChangePlan,
    /// `record_usage` with one event.
    RecordUsageOne,
    /// `record_usage` with 100 events.
    RecordUsageBatch,
    /// `usage` over the current period (a range where that is unsupported).
    Usage,
}

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 14] = [
        Op::CreateCustomer,
        Op::GetCustomer,
        Op::UpdateCustomer,
        Op::DeleteCustomer,
        Op::ListCustomers,
        Op::CreateSubscription,
        Op::GetSubscription,
        Op::ListSubscriptions,
        Op::CancelNow,
        Op::CancelPeriodEnd,
        Op::ChangePlan,
        Op::RecordUsageOne,
        Op::RecordUsageBatch,
        Op::Usage,
    ];

    /// How the report names it.
    pub fn label(self) -> &'static str {
        match self {
            Op::CreateCustomer => "create_customer",
            Op::GetCustomer => "get_customer",
            Op::UpdateCustomer => "update_customer",
            Op::DeleteCustomer => "delete_customer",
            Op::ListCustomers => "list_customers (page)",
            Op::CreateSubscription => "create_subscription",
            Op::GetSubscription => "get_subscription",
            Op::ListSubscriptions => "list_subscriptions (page)",
            Op::CancelNow => "cancel_subscription Now",
            Op::CancelPeriodEnd => "cancel_subscription PeriodEnd",
            Op::ChangePlan => "change_plan",
            Op::RecordUsageOne => "record_usage, 1 event",
            Op::RecordUsageBatch => "record_usage, 100 events",
            Op::Usage => "usage",
        }
    }

    /// Events sent by the operation (for requests per event).
    pub fn events(self) -> usize {
        match self {
            Op::RecordUsageOne => 1,
            Op::RecordUsageBatch => 100,
            _ => 0,
        }
    }
}

/// The keys one measurement works on: an existing customer with a running subscription, and
/// unused keys for creates. `tag` keeps event ids and new keys unique.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// An existing customer.
    pub customer: CustomerKey,
    /// Its running subscription (starter plan).
    pub subscription: SubscriptionKey,
    /// A unique tag for new keys.
    pub tag: String,
}

/// Runs `op` on `fx`. `Ok(None)` is a success; `Ok(Some(note))` a success worth a note; an
/// `Unsupported` refusal is `Ok(Some("unsupported"))`.
pub async fn perform(
    op: Op,
    b: &dyn BillingBackend,
    fx: &Fixture,
) -> anyhow::Result<Option<String>> {
    match call(op, b, fx).await {
        Ok(note) => Ok(note),
        Err(e)
            if e.downcast_ref::<billing::Error>()
                .is_some_and(|e| e.kind() == ErrorKind::Unsupported) =>
        {
            Ok(Some("unsupported".to_owned()))
        }
        Err(e) => Err(e.context(op.label())),
    }
}

async fn call(op: Op, b: &dyn BillingBackend, fx: &Fixture) -> anyhow::Result<Option<String>> {
    let caps = b.capabilities().clone();
    Ok(match op {
        Op::CreateCustomer => {
            let new = fixture::new_customer(&format!("{}-new", fx.tag), 0)?;
            b.create_customer(&new).await?;
            None
        }
        Op::GetCustomer => {
            b.get_customer(&fx.customer).await?;
            None
        }
        Op::UpdateCustomer => {
            let patch = CustomerPatch::new().name(format!("Renamed {}", fx.tag));
            b.update_customer(&fx.customer, &patch).await?;
            None
        }
        Op::DeleteCustomer => {
            b.delete_customer(&fx.customer).await?;
            None
        }
        Op::ListCustomers => {
            let page = b.list_customers(&PageRequest::first(100)).await?;
            Some(format!("{} items", page.items.len()))
        }
        Op::CreateSubscription => {
            let key = SubscriptionKey::new(format!("{}-new-sub", fx.tag))?;
            let new = NewSubscription::new(key, fx.customer.clone(), fixture::starter()?)
                .currency(billing::Currency::USD)
                .interval(billing::BillingInterval::Monthly);
            b.create_subscription(&new).await?;
            None
        }
        Op::GetSubscription => {
            b.get_subscription(&fx.subscription).await?;
            None
        }
        Op::ListSubscriptions => {
            let page = b
                .list_subscriptions(&fx.customer, &PageRequest::first(100))
                .await?;
            Some(format!("{} items", page.items.len()))
        }
        Op::CancelNow => {
            b.cancel_subscription(&fx.subscription, CancelAt::Now)
                .await?;
            None
        }
        Op::CancelPeriodEnd => {
            b.cancel_subscription(&fx.subscription, CancelAt::PeriodEnd)
                .await?;
            None
        }
        Op::ChangePlan => {
            let at = if caps.change_plan_now {
                ChangeAt::Now
            } else if caps.change_plan_vendor_default {
                ChangeAt::VendorDefault
            } else {
                ChangeAt::PeriodEnd
            };
            b.change_plan(&fx.subscription, &fixture::pro()?, at)
                .await?;
            Some(format!("{at:?}"))
        }
        Op::RecordUsageOne | Op::RecordUsageBatch => {
            let events = fixture::events(
                &format!("{}-e", fx.tag),
                0..op.events(),
                std::slice::from_ref(&fx.subscription),
                fixture::now_ms(),
            )?;
            let outcomes = b.record_usage(&events).await;
            match outcomes
                .into_iter()
                .find(|o| !matches!(o, EventOutcome::Accepted))
            {
                Some(EventOutcome::Rejected(e)) => return Err(e.into()),
                Some(other) => Some(format!("{other:?}")),
                None => None,
            }
        }
        Op::Usage => {
            let query = if caps.usage_current_period {
                UsageQuery::current(fx.subscription.clone())
            } else {
                let now = Utc::now();
                UsageQuery::range(fx.subscription.clone(), now - Duration::hours(1), now)
            };
            b.usage(&query.metric(fixture::api_calls()?)).await?;
            None
        }
    })
}
