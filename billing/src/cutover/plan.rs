//! The cutover plan: per subscription key, the instant at which billing moves from the source
//! vendor to the target. Kept in a JSON file, so a restarted application routes the same way.

use std::collections::BTreeMap;
use std::path::Path;

use billing_core::chrono::{DateTime, Utc};
use billing_core::{
    BillingBackend, BillingExt, CustomerStatus, Error, Result, SubscriptionKey, SubscriptionStatus,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

/// Which vendor an event, a read or a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The vendor billing until the cutover instant.
    Source,
    /// The vendor billing from the cutover instant on.
    Target,
}

/// Per subscription, the instant billing moves to the target: before it the source bills (its
/// current period ends there), at and after it the target does (it is the target's billing
/// anchor). Subscriptions not in the plan live in the target only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutoverPlan {
    /// Format version.
    pub version: u32,
    /// Subscription key -> the instant billing moves.
    pub instants: BTreeMap<SubscriptionKey, DateTime<Utc>>,
}

const VERSION: u32 = 1;

impl CutoverPlan {
    /// An empty plan.
    pub fn new() -> Self {
        Self {
            version: VERSION,
            instants: BTreeMap::new(),
        }
    }

    /// Adds (or moves) a subscription's instant.
    pub fn insert(&mut self, key: SubscriptionKey, at: DateTime<Utc>) -> &mut Self {
        self.instants.insert(key, at);
        self
    }

    /// The instant billing moves for `key`, if it is in the plan.
    pub fn instant(&self, key: &SubscriptionKey) -> Option<DateTime<Utc>> {
        self.instants.get(key).copied()
    }

    /// The vendor that bills `key` at `at`: the source before the subscription's instant, the
    /// target at and after it, and the target for a subscription not in the plan.
    pub fn side_at(&self, key: &SubscriptionKey, at: DateTime<Utc>) -> Side {
        match self.instant(key) {
            Some(instant) if at < instant => Side::Source,
            _ => Side::Target,
        }
    }

    /// Whether `key` is in the plan and its instant is still ahead of `now`.
    pub fn is_cutting_over(&self, key: &SubscriptionKey, now: DateTime<Utc>) -> bool {
        self.instant(key).is_some_and(|i| now < i)
    }

    /// The plan of a finished migration: for each live source subscription that is in the
    /// target, the target's billing anchor (where the migration made the target start billing)
    /// or, when the target shows none, the end of the source's current period.
    ///
    /// # Errors
    /// A listing or read error other than `NotFound`.
    pub async fn from_backends(
        source: &dyn BillingBackend,
        target: &dyn BillingBackend,
        page_size: u32,
    ) -> Result<Self> {
        let mut plan = Self::new();
        let mut customers = source.customers(page_size);
        while let Some(customer) = customers.try_next().await? {
            if customer.status == CustomerStatus::Closed {
                continue;
            }
            let mut subs = source.subscriptions(&customer.key, page_size);
            while let Some(sub) = subs.try_next().await? {
                if sub.status == SubscriptionStatus::Canceled {
                    continue;
                }
                let in_target = match target.get_subscription(&sub.key).await {
                    Ok(t) => t,
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => return Err(e),
                };
                let instant = in_target
                    .billing_anchor
                    .filter(|a| Some(*a) != in_target.started_at)
                    .or(sub.billed_until());
                if let Some(at) = instant {
                    plan.insert(sub.key.clone(), at);
                }
            }
        }
        Ok(plan)
    }

    /// Reads a plan file.
    ///
    /// # Errors
    /// `Config` naming the file if it cannot be read or is not a plan of this version.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(&name, format!("cannot read the cutover plan: {e}")))?;
        let plan: Self = serde_json::from_str(&text)
            .map_err(|e| Error::config(&name, format!("not a cutover plan: {e}")))?;
        if plan.version != VERSION {
            return Err(Error::config(
                &name,
                format!("cutover plan version {} is not {VERSION}", plan.version),
            ));
        }
        Ok(plan)
    }

    /// Writes the plan file atomically and durably (a crash leaves the old plan or the new).
    ///
    /// # Errors
    /// `Unexpected` if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::unexpected(format!("cannot serialise the cutover plan: {e}")))?;
        crate::durable::write_atomically(path, &bytes).map_err(|e| {
            Error::unexpected(format!("cannot write {}: {e}", path.display())).with_source(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::chrono::Duration;

    #[test]
    fn routes_by_the_instant_and_round_trips_through_a_file() {
        let at = Utc::now();
        let key = SubscriptionKey::new("s").unwrap();
        let mut plan = CutoverPlan::new();
        plan.insert(key.clone(), at);
        assert_eq!(
            plan.side_at(&key, at - Duration::milliseconds(1)),
            Side::Source
        );
        assert_eq!(
            plan.side_at(&key, at),
            Side::Target,
            "at the instant: the target"
        );
        assert_eq!(plan.side_at(&key, at + Duration::days(1)), Side::Target);
        let other = SubscriptionKey::new("new").unwrap();
        assert_eq!(plan.side_at(&other, at - Duration::days(9)), Side::Target);

        let dir = std::env::temp_dir().join(format!("billing-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plan.json");
        plan.save(&path).unwrap();
        assert_eq!(CutoverPlan::load(&path).unwrap(), plan);
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(
            CutoverPlan::load(&path).unwrap_err().kind(),
            billing_core::ErrorKind::Config
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
