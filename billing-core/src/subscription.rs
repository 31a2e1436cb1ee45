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
    /// When the service starts; `None` is now. A start in the past makes a subscription that
    /// has been running since then (a migrated one: see `billing_anchor` for what is billed); a
    /// start in the future makes a `Pending` subscription that starts then. See
    /// [`crate::Capabilities::subscription_start_past`] and `subscription_start_future`.
    pub starts_at: Option<DateTime<Utc>>,
    /// The first instant the backend may bill: nothing before it is billed (the vendor the
    /// subscription comes from has billed it), and billing periods are aligned so that one
    /// begins there. Until then the subscription is in an unbilled lead-in whose period ends
    /// at the anchor. `None`: the backend bills as it bills any new subscription from its
    /// start. See [`crate::Capabilities::subscription_billing_anchor`].
    pub billing_anchor: Option<DateTime<Utc>>,
}

impl NewSubscription {
    /// `existing` if it is the subscription this asks for (same key's customer and plan), so a
    /// create that met `AlreadyExists` may go on with it.
    ///
    /// # Errors
    /// `Conflict` naming the customer who holds the key, or both plans, when it is not.
    pub fn check_existing(&self, existing: Subscription) -> crate::Result<Subscription> {
        if existing.customer != self.customer {
            return Err(crate::Error::conflict(format!(
                "subscription `{}` belongs to customer `{}`, not `{}`",
                self.key, existing.customer, self.customer
            )));
        }
        if existing.plan != self.plan {
            return Err(crate::Error::conflict(format!(
                "subscription `{}` of customer `{}` is on plan `{}`, not `{}`",
                self.key, self.customer, existing.plan, self.plan
            )));
        }
        Ok(existing)
    }

    /// A subscription of `customer` to `plan`, under `key`.
    pub fn new(key: SubscriptionKey, customer: CustomerKey, plan: PlanCode) -> Self {
        Self {
            key,
            customer,
            plan,
            currency: None,
            interval: None,
            starts_at: None,
            billing_anchor: None,
        }
    }

    /// Starts the service at `at` (in the past or the future) instead of now.
    pub fn starts_at(mut self, at: DateTime<Utc>) -> Self {
        self.starts_at = Some(at);
        self
    }

    /// Bills nothing before `at`; billing periods begin there.
    pub fn billing_anchor(mut self, at: DateTime<Utc>) -> Self {
        self.billing_anchor = Some(at);
        self
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
    /// When the service started (or will start).
    pub started_at: Option<DateTime<Utc>>,
    /// When billing starts or started: the billing anchor given at creation, or the vendor's
    /// own start of billing. Before it the subscription is in an unbilled lead-in and
    /// `current_period` ends there. `None` when the vendor has no billing start apart from
    /// `started_at`.
    pub billing_anchor: Option<DateTime<Utc>>,
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
    /// Where its vendor's billing of it stops for now: the end of a scheduled cancellation, else
    /// the end of the current period (so the first day another vendor may bill it from).
    /// `None` when neither is known.
    pub fn billed_until(&self) -> Option<DateTime<Utc>> {
        let period_end = self.current_period.map(|p| p.end);
        match self.status {
            SubscriptionStatus::CancelScheduled => self.ends_at.or(period_end),
            _ => period_end,
        }
    }

    /// A subscription with the required fields; the optional ones start empty and can be set
    /// afterwards (adapters outside this crate cannot use a struct literal).
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
            billing_anchor: None,
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
    fn new_leaves_optional_fields_empty() {
        let s = Subscription::new(
            SubscriptionKey::new("s").unwrap(),
            "v1",
            CustomerKey::new("c").unwrap(),
            PlanCode::new("p").unwrap(),
            SubscriptionStatus::Active,
            "active",
        );
        assert_eq!(
            (s.vendor_id.as_str(), s.raw_status.as_str()),
            ("v1", "active")
        );
        assert!(s.started_at.is_none() && s.ends_at.is_none() && s.raw.is_none());
    }

    /// A scheduled cancellation ends the billing at its end; without one known, the current
    /// period's end still stands (a vendor that does not tell the cancellation's date).
    #[test]
    fn billed_until_is_the_cancellation_or_the_period_end() {
        let at = |d: u32| chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, d, 0, 0, 0).unwrap();
        let mut s = Subscription::new(
            SubscriptionKey::new("s").unwrap(),
            "v",
            CustomerKey::new("c").unwrap(),
            PlanCode::new("p").unwrap(),
            SubscriptionStatus::Active,
            "active",
        );
        assert_eq!(s.billed_until(), None);
        s.current_period = Some(Period {
            start: at(1),
            end: at(31),
        });
        assert_eq!(s.billed_until(), Some(at(31)));
        s.status = SubscriptionStatus::CancelScheduled;
        assert_eq!(
            s.billed_until(),
            Some(at(31)),
            "the cancellation's date not told"
        );
        s.ends_at = Some(at(20));
        assert_eq!(s.billed_until(), Some(at(20)));
    }
}
