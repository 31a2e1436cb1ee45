//! Subscriptions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::key::{CustomerKey, PlanCode, SubscriptionKey};
use crate::money::Currency;

/// A half-open time interval `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

impl Period {
    /// Whether `t` falls in `[start, end)`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// How often a plan bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BillingInterval {
    /// Every week.
    Weekly,
    /// Every month.
    Monthly,
    /// Every three months.
    Quarterly,
    /// Every year.
    Yearly,
}

/// A subscription's state, normalised across vendors. The vendor's own word is kept in
/// [`Subscription::raw_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubscriptionStatus {
    /// Created, starts in the future.
    Pending,
    /// In a free trial.
    Trialing,
    /// Running.
    Active,
    /// Running, and set to end at [`Subscription::ends_at`].
    CancelScheduled,
    /// Ended.
    Canceled,
    /// Running, but a payment is overdue.
    PastDue,
    /// Paused or blocked by the vendor.
    Paused,
    /// A vendor state with no equivalent here; see `raw_status`.
    Other,
}

impl SubscriptionStatus {
    /// Whether the subscription has ended for good.
    pub fn is_ended(self) -> bool {
        self == SubscriptionStatus::Canceled
    }
}

/// When a cancellation takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelAt {
    /// Immediately.
    Now,
    /// At the end of the current billing period.
    PeriodEnd,
}

/// When a plan change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAt {
    /// Immediately.
    Now,
    /// At the end of the current billing period.
    PeriodEnd,
    /// Whenever the vendor's own rules say (Lago: upgrades now, downgrades at period end). The
    /// returned subscription shows which happened.
    VendorDefault,
}

/// A plan change that has been scheduled but has not happened yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledChange {
    /// The plan the subscription will move to.
    pub plan: PlanCode,
    /// When, if the vendor says.
    pub at: Option<DateTime<Utc>>,
}

/// A subscription to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewSubscription {
    /// The application's key for the subscription.
    pub key: SubscriptionKey,
    /// The customer it belongs to; must exist.
    pub customer: CustomerKey,
    /// The plan; must exist in the backend's catalog.
    pub plan: PlanCode,
    /// Selects the plan's price by currency, for vendors whose plans carry several prices
    /// (BillaBear). Backends whose plans have one price ignore it.
    pub currency: Option<Currency>,
    /// Selects the plan's price by billing interval, like `currency`.
    pub interval: Option<BillingInterval>,
}

impl NewSubscription {
    /// A subscription of `customer` to `plan`, under `key`.
    pub fn new(key: SubscriptionKey, customer: CustomerKey, plan: PlanCode) -> Self {
        Self {
            key,
            customer,
            plan,
            currency: None,
            interval: None,
        }
    }

    /// Selects the price by currency.
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }

    /// Selects the price by billing interval.
    pub fn interval(mut self, interval: BillingInterval) -> Self {
        self.interval = Some(interval);
        self
    }
}

/// A subscription as the backend stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subscription {
    /// The application's key.
    pub key: SubscriptionKey,
    /// The vendor's own id of the current row (Lago `lago_id`, Kill Bill `subscriptionId`,
    /// BillaBear `id`). Lago gives a new id on an immediate plan change.
    pub vendor_id: String,
    /// The customer's key.
    pub customer: CustomerKey,
    /// The plan in effect now.
    pub plan: PlanCode,
    /// Normalised state.
    pub status: SubscriptionStatus,
    /// The vendor's own state string.
    pub raw_status: String,
    /// When it started (or will start).
    pub started_at: Option<DateTime<Utc>>,
    /// The current billing period, when the vendor tells it.
    pub current_period: Option<Period>,
    /// When it ends or ended: set by a cancellation.
    pub ends_at: Option<DateTime<Utc>>,
    /// A plan change waiting for its date.
    pub scheduled_change: Option<ScheduledChange>,
    /// The vendor's raw JSON, for fields this library does not model.
    pub raw: Option<serde_json::Value>,
}

impl Subscription {
    /// A subscription as a backend read it: the identifying fields and the status, with no
    /// dates, no scheduled change and no raw JSON (set those fields afterwards). For backends
    /// outside this crate, which cannot use a struct expression on this non-exhaustive type.
    pub fn new(
        key: SubscriptionKey,
        vendor_id: impl Into<String>,
        customer: CustomerKey,
        plan: PlanCode,
        status: SubscriptionStatus,
        raw_status: impl Into<String>,
    ) -> Self {
        Self {
            key,
            vendor_id: vendor_id.into(),
            customer,
            plan,
            status,
            raw_status: raw_status.into(),
            started_at: None,
            current_period: None,
            ends_at: None,
            scheduled_change: None,
            raw: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_subscription_has_only_the_identifying_fields() {
        let s = Subscription::new(
            SubscriptionKey::new("s").unwrap(),
            "v1",
            CustomerKey::new("c").unwrap(),
            PlanCode::new("p").unwrap(),
            SubscriptionStatus::Active,
            "active",
        );
        assert_eq!(s.vendor_id, "v1");
        assert_eq!(s.raw_status, "active");
        assert!(s.started_at.is_none() && s.current_period.is_none() && s.raw.is_none());
    }
}
