//! Which dates a migrated subscription carries, and what to do when the target cannot take
//! them: so that every day is billed by exactly one vendor.
//!
//! A running source subscription is created in the target with its service start
//! (`started_at`) and, as billing anchor, the end of its current period in the source: the
//! source has billed up to there, the target bills from there. A pending one keeps its future
//! start and needs no anchor.

use billing_core::chrono::{DateTime, Utc};
use billing_core::{Capabilities, ErrorKind, NewSubscription, Subscription, SubscriptionStatus};

/// The dates a migrated subscription carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Carried {
    /// The service start.
    pub(super) starts_at: Option<DateTime<Utc>>,
    /// Where the source's billing stops and the target's begins.
    pub(super) billing_anchor: Option<DateTime<Utc>>,
}

/// The dates to carry for `source`, or why they cannot be known.
pub(super) fn carried(source: &Subscription, now: DateTime<Utc>) -> Result<Carried, String> {
    if source.status == SubscriptionStatus::Pending {
        return Ok(Carried {
            starts_at: source.started_at,
            billing_anchor: None,
        });
    }
    match source.billed_until() {
        Some(end) if end > now => Ok(Carried {
            starts_at: source.started_at,
            billing_anchor: Some(end),
        }),
        Some(end) => Err(format!(
            "the source's current period ended at {end}, before now: read it again"
        )),
        None => Err(
            "the source does not tell where its current period ends, so the target \
                     cannot be told where to start billing"
                .to_owned(),
        ),
    }
}

/// What the target can take of `new`'s dates.
pub(super) enum Fit {
    /// All of them.
    Exact,
    /// Only without the anchor (and, if the target cannot start in the past either, without
    /// the start): the target will bill from `bills_from`, days the source has billed.
    DoubleBilled {
        /// The request the target can take.
        new: Box<NewSubscription>,
        /// Why, for the report.
        reason: String,
    },
    /// Not even that.
    Refused(String),
}

/// Checks `new` against the target's capabilities; with `accept_double_billing`, drops what
/// the target cannot honour (the anchor, then the start) and says what that costs.
pub(super) fn fit(
    new: &NewSubscription,
    target: &Capabilities,
    target_name: &'static str,
    accept_double_billing: bool,
    now: DateTime<Utc>,
) -> Fit {
    let refusal = match new.check_dates(target, now) {
        Ok(_) => return Fit::Exact,
        Err(e) if e.kind() != ErrorKind::Unsupported => {
            return Fit::Refused(format!("{target_name}: {e}"));
        }
        Err(e) => format!("{target_name}: {e}"),
    };
    let lost = match new.billing_anchor {
        Some(anchor) => format!(
            "the target cannot take the billing anchor {anchor} (where the source's billing \
             stops): {refusal}"
        ),
        None => refusal.clone(),
    };
    if !accept_double_billing {
        return Fit::Refused(format!(
            "{lost}; it would bill days the source has billed (allow it with the \
             accept-double-billing option)"
        ));
    }
    let mut relaxed = new.clone();
    relaxed.billing_anchor = None;
    if relaxed.check_dates(target, now).is_err() {
        relaxed.starts_at = None;
    }
    match relaxed.check_dates(target, now) {
        Ok(start) => {
            let from = start
                .at()
                .map_or_else(|| "now".to_owned(), |t| t.to_string());
            Fit::DoubleBilled {
                new: Box::new(relaxed),
                reason: format!("{lost}; created billing from {from} (double billing accepted)"),
            }
        }
        Err(e) => Fit::Refused(format!("{target_name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::chrono::Duration;
    use billing_core::{CustomerKey, Period, PlanCode, SubscriptionKey};

    fn running(end: DateTime<Utc>) -> Subscription {
        let mut s = Subscription::new(
            SubscriptionKey::new("s").unwrap(),
            "v",
            CustomerKey::new("c").unwrap(),
            PlanCode::new("p").unwrap(),
            SubscriptionStatus::Active,
            "active",
        );
        s.started_at = Some(end - Duration::days(45));
        s.current_period = Some(Period {
            start: end - Duration::days(30),
            end,
        });
        s
    }

    fn new_with(start: DateTime<Utc>, anchor: DateTime<Utc>) -> NewSubscription {
        NewSubscription::new(
            SubscriptionKey::new("s").unwrap(),
            CustomerKey::new("c").unwrap(),
            PlanCode::new("p").unwrap(),
        )
        .starts_at(start)
        .billing_anchor(anchor)
    }

    #[test]
    fn a_running_subscription_carries_its_start_and_period_end() {
        let now = Utc::now();
        let s = running(now + Duration::days(3));
        assert_eq!(
            carried(&s, now),
            Ok(Carried {
                starts_at: s.started_at,
                billing_anchor: Some(now + Duration::days(3)),
            })
        );
        let mut unknown = s.clone();
        unknown.current_period = None;
        assert!(carried(&unknown, now).is_err());
    }

    #[test]
    fn a_target_without_anchors_refuses_unless_double_billing_is_accepted() {
        let now = Utc::now();
        let new = new_with(now - Duration::days(40), now + Duration::days(3));
        let mut caps = Capabilities::full();
        assert!(matches!(fit(&new, &caps, "t", false, now), Fit::Exact));
        caps.subscription_billing_anchor = false;
        assert!(matches!(fit(&new, &caps, "t", false, now), Fit::Refused(_)));
        match fit(&new, &caps, "t", true, now) {
            Fit::DoubleBilled { new, .. } => {
                assert!(new.billing_anchor.is_none());
                assert!(new.starts_at.is_some(), "the start is kept where it can be");
            }
            _ => panic!("expected double billing"),
        }
        caps.subscription_start_past = false;
        match fit(&new, &caps, "t", true, now) {
            Fit::DoubleBilled { new, .. } => assert!(new.starts_at.is_none()),
            _ => panic!("expected double billing"),
        }
    }
}
