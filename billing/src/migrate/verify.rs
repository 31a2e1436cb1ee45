//! Checking a migration's result: every live source customer and subscription exists in the
//! target under the same key, with the mapped plan and a matching status, and each running
//! subscription's next billing date in the target is the end of its current period in the
//! source (where one vendor stops billing, the other starts).

use billing_core::chrono::{DateTime, Utc};
use billing_core::{
    BillingBackend, BillingExt, CustomerStatus, Result, Subscription, SubscriptionStatus,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::plans::PlanMap;

/// Subscriptions whose billing dates do not line up, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCount {
    /// How many.
    pub count: u64,
    /// Their keys.
    pub keys: Vec<String>,
}

impl KeyCount {
    fn push(&mut self, key: &str) {
        self.count += 1;
        self.keys.push(key.to_owned());
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Every missing object or mismatched plan, owner or status; empty when the copy is
    /// complete.
    pub problems: Vec<String>,
    /// Running subscriptions whose next billing date in the target (the end of its current
    /// period) is not the day their current period ends in the source: the days between would
    /// be billed twice, or by neither vendor.
    pub period_mismatches: KeyCount,
}

impl Verification {
    /// No problem and no period mismatch.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.period_mismatches.count == 0
    }
}

fn status_matches(source: &Subscription, target: &Subscription) -> bool {
    use SubscriptionStatus::*;
    source.status == target.status
        || matches!(
            (source.status, target.status),
            (Pending | Trialing | PastDue, Active | Trialing) | (Active, Trialing)
        )
        // The source was told to stop where the target starts billing.
        || (source.status == CancelScheduled
            && matches!(target.status, Active | Trialing)
            && same_day(source.ends_at, next_billing(target)))
}

fn check(source: &Subscription, target: &Subscription, plans: &PlanMap) -> Option<String> {
    let plan = plans.map(&source.plan);
    if target.plan != plan {
        return Some(format!(
            "subscription {}: plan {} in the target, expected {plan}",
            source.key, target.plan
        ));
    }
    if target.customer != source.customer {
        return Some(format!(
            "subscription {}: belongs to {} in the target, expected {}",
            source.key, target.customer, source.customer
        ));
    }
    if !status_matches(source, target) {
        return Some(format!(
            "subscription {}: {:?} in the target, {:?} in the source",
            source.key, target.status, source.status
        ));
    }
    None
}

/// When the target bills next: the end of its current (or lead-in) period.
fn next_billing(s: &Subscription) -> Option<DateTime<Utc>> {
    s.current_period.map(|p| p.end)
}

/// Vendors bill by day (Kill Bill turns its dates into instants at the account's time of day):
/// billing dates match when they fall on the same UTC day.
fn same_day(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.date_naive() == b.date_naive())
}

/// Whether the target starts billing on the day the source's current period ends (only asked
/// of subscriptions that are running in the source).
fn periods_line_up(source: &Subscription, target: &Subscription) -> bool {
    same_day(source.billed_until(), next_billing(target))
}

/// Compares the source with the target. Closed customers and canceled subscriptions are not
/// expected in the target; pending ones are not billing yet, so only their presence is checked.
///
/// # Errors
/// A listing or read error other than `NotFound`.
pub async fn verify(
    from: &dyn BillingBackend,
    to: &dyn BillingBackend,
    plans: &PlanMap,
    page_size: u32,
) -> Result<Verification> {
    let mut out = Verification::default();
    let mut customers = from.customers(page_size);
    while let Some(customer) = customers.try_next().await? {
        if customer.status == CustomerStatus::Closed {
            continue;
        }
        match to.get_customer(&customer.key).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                out.problems.push(format!(
                    "customer {} is missing in the target",
                    customer.key
                ));
                continue;
            }
            Err(e) => return Err(e),
        }
        let mut subs = from.subscriptions(&customer.key, page_size);
        while let Some(source) = subs.try_next().await? {
            if source.status == SubscriptionStatus::Canceled {
                continue;
            }
            match to.get_subscription(&source.key).await {
                Ok(target) => {
                    out.problems.extend(check(&source, &target, plans));
                    if source.status != SubscriptionStatus::Pending
                        && !periods_line_up(&source, &target)
                    {
                        out.period_mismatches.push(source.key.as_str());
                    }
                }
                Err(e) if e.is_not_found() => {
                    out.problems.push(format!(
                        "subscription {} is missing in the target",
                        source.key
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}
