//! Data the measured runs need, created through the adapter before any clock starts: customers
//! with a subscription each, and usage events spread over them.

use std::collections::HashMap;

use anyhow::Context;
use billing::catalog::sample;
use billing::chrono::{DateTime, DurationRound, TimeDelta, Utc};
use billing::rust_decimal::Decimal;
use billing::{
    BillingBackend, BillingInterval, Currency, CustomerKey, EventId, MetricCode, NewCustomer,
    NewSubscription, PlanCode, SubscriptionKey, UsageEvent,
};

/// Subscriptions to send events to, with the vendor's id of each (what raw bodies name).
#[derive(Debug, Clone)]
pub struct Subscriptions {
    /// The keys, in creation order.
    pub keys: Vec<SubscriptionKey>,
    /// The vendor's id of each.
    pub vendor_ids: HashMap<SubscriptionKey, String>,
}

/// A customer `<prefix>-c<i>` (name, email, USD).
pub fn new_customer(prefix: &str, i: usize) -> anyhow::Result<NewCustomer> {
    let key = CustomerKey::new(format!("{prefix}-c{i}"))?;
    Ok(NewCustomer::new(key)
        .name(format!("Bench customer {i}"))
        .email(format!("{prefix}-c{i}@example.com"))
        .currency(Currency::USD))
}

/// Creates `count` customers `<prefix>-c<i>`, each subscribed to the starter plan under
/// `<prefix>-s<i>`.
pub async fn subscriptions(
    backend: &dyn BillingBackend,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Subscriptions> {
    let mut keys = Vec::with_capacity(count);
    let mut vendor_ids = HashMap::with_capacity(count);
    for i in 0..count {
        let customer = new_customer(prefix, i)?;
        backend
            .create_customer(&customer)
            .await
            .with_context(|| format!("create customer {}", customer.key))?;
        let key = SubscriptionKey::new(format!("{prefix}-s{i}"))?;
        let new = NewSubscription::new(key.clone(), customer.key, starter()?)
            .currency(Currency::USD)
            .interval(BillingInterval::Monthly);
        let sub = backend
            .create_subscription(&new)
            .await
            .with_context(|| format!("create subscription {key}"))?;
        vendor_ids.insert(key.clone(), sub.vendor_id);
        keys.push(key);
    }
    Ok(Subscriptions { keys, vendor_ids })
}

/// The sample catalog's starter plan.
pub fn starter() -> anyhow::Result<PlanCode> {
    Ok(PlanCode::new(sample::STARTER)?)
}

/// The sample catalog's pro plan.
pub fn pro() -> anyhow::Result<PlanCode> {
    Ok(PlanCode::new(sample::PRO)?)
}

/// The metered metric every event uses.
pub fn api_calls() -> anyhow::Result<MetricCode> {
    Ok(MetricCode::new(sample::API_CALLS)?)
}

/// Now, to the millisecond (every vendor's timestamps keep milliseconds at most).
pub fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}

/// `count` events with ids `<prefix><n>` (`n` zero-padded to 7 digits), round-robin over the
/// subscriptions, quantities 1 to 9, all stamped `at`.
pub fn events(
    prefix: &str,
    range: std::ops::Range<usize>,
    subs: &[SubscriptionKey],
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<UsageEvent>> {
    anyhow::ensure!(!subs.is_empty(), "no subscription to send events to");
    let metric = api_calls()?;
    range
        .map(|n| {
            let sub = subs[n % subs.len()].clone();
            let quantity = Decimal::from(n % 9 + 1);
            Ok(UsageEvent::new(
                EventId::new(format!("{prefix}{n:07}"))?,
                sub,
                metric.clone(),
                quantity,
            )
            .at(at))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_spread_and_numbered() {
        let subs = vec![
            SubscriptionKey::new("s0").unwrap_or_else(|_| unreachable!()),
            SubscriptionKey::new("s1").unwrap_or_else(|_| unreachable!()),
        ];
        let at = now_ms();
        let e = events("a-", 10..13, &subs, at).unwrap_or_default();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].id.as_str(), "a-0000010");
        assert_eq!(e[1].subscription, subs[1]);
        assert_eq!(e[2].quantity, Decimal::from(4));
        assert_eq!(e[0].timestamp, at);
    }
}
