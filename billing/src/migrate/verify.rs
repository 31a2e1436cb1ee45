//! Checking a migration's result: every live source customer and subscription exists in the
//! target under the same key, with the mapped plan and a matching status.

use billing_core::{
    BillingBackend, BillingExt, CustomerStatus, Result, Subscription, SubscriptionStatus,
};
use futures::TryStreamExt;

use super::plans::PlanMap;

fn status_matches(source: SubscriptionStatus, target: SubscriptionStatus) -> bool {
    use SubscriptionStatus::*;
    source == target
        || matches!(
            (source, target),
            (Pending | Trialing | PastDue, Active | Trialing) | (Active, Trialing)
        )
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
    if !status_matches(source.status, target.status) {
        return Some(format!(
            "subscription {}: {:?} in the target, {:?} in the source",
            source.key, target.status, source.status
        ));
    }
    None
}

/// Lists every difference between the source and the target; empty when the migration is
/// complete. Closed customers and canceled subscriptions are not expected in the target.
///
/// # Errors
/// A listing or read error other than `NotFound`.
pub async fn verify(
    from: &dyn BillingBackend,
    to: &dyn BillingBackend,
    plans: &PlanMap,
    page_size: u32,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut customers = from.customers(page_size);
    while let Some(customer) = customers.try_next().await? {
        if customer.status == CustomerStatus::Closed {
            continue;
        }
        match to.get_customer(&customer.key).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                problems.push(format!(
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
                Ok(target) => problems.extend(check(&source, &target, plans)),
                Err(e) if e.is_not_found() => {
                    problems.push(format!(
                        "subscription {} is missing in the target",
                        source.key
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(problems)
}
