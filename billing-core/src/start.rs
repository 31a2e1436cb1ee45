//! When a new subscription starts and when billing may begin: what a [`NewSubscription`] asks
//! of a backend, checked the same way by every backend before any request is sent.

use chrono::{DateTime, Duration, Utc};

use crate::capabilities::Capabilities;
use crate::error::{Error, Result};
use crate::subscription::NewSubscription;

/// A start this close to now counts as now: clocks of client and vendor differ by seconds, and
/// a caller that passes `Utc::now()` means "now".
pub const START_NOW_TOLERANCE: Duration = Duration::seconds(10);

/// When a new subscription's service starts, relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Now (no start given, or one within [`START_NOW_TOLERANCE`] of now).
    Now,
    /// Running since then.
    Past(DateTime<Utc>),
    /// `Pending` until then.
    Future(DateTime<Utc>),
}

impl Start {
    /// The instant, when one was given.
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Start::Now => None,
            Start::Past(t) | Start::Future(t) => Some(t),
        }
    }
}

impl NewSubscription {
    /// Classifies the start and checks the dates against what `backend` can honour.
    ///
    /// # Errors
    /// - `InvalidInput` if the billing anchor is before the start (or before now, when the
    ///   start is now).
    /// - `Unsupported` naming what the backend cannot honour: a past start, a future start or a
    ///   billing anchor, per [`Capabilities`]. Never a silent start today.
    pub fn check_dates(&self, capabilities: &Capabilities, now: DateTime<Utc>) -> Result<Start> {
        let start = match self.starts_at {
            None => Start::Now,
            Some(t) if (t - now).abs() <= START_NOW_TOLERANCE => Start::Now,
            Some(t) if t < now => Start::Past(t),
            Some(t) => Start::Future(t),
        };
        if let Some(anchor) = self.billing_anchor {
            let service_start = start.at().unwrap_or(now);
            if anchor + START_NOW_TOLERANCE < service_start {
                return Err(Error::invalid_input(format!(
                    "the billing anchor {anchor} is before the start {service_start}: nothing \
                     can be billed before the service starts"
                )));
            }
            if !capabilities.subscription_billing_anchor {
                return Err(Error::unsupported(
                    "a billing anchor (billing that begins later than the service): this \
                     backend bills from the start",
                ));
            }
        }
        match start {
            Start::Past(_) if !capabilities.subscription_start_past => Err(Error::unsupported(
                "a start in the past: this backend starts subscriptions now",
            )),
            Start::Future(_) if !capabilities.subscription_start_future => Err(Error::unsupported(
                "a start in the future: this backend starts subscriptions now",
            )),
            _ => Ok(start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::key::{CustomerKey, PlanCode, SubscriptionKey};

    fn new() -> NewSubscription {
        NewSubscription::new(
            SubscriptionKey::new("s").unwrap(),
            CustomerKey::new("c").unwrap(),
            PlanCode::new("p").unwrap(),
        )
    }

    fn none() -> Capabilities {
        let mut c = Capabilities::full();
        c.subscription_start_past = false;
        c.subscription_start_future = false;
        c.subscription_billing_anchor = false;
        c
    }

    #[test]
    fn starts_are_classified_with_a_tolerance() {
        let now = Utc::now();
        let full = Capabilities::full();
        assert_eq!(new().check_dates(&full, now).unwrap(), Start::Now);
        let near = new().starts_at(now - Duration::seconds(3));
        assert_eq!(near.check_dates(&none(), now).unwrap(), Start::Now);
        let past = now - Duration::days(3);
        assert_eq!(
            new().starts_at(past).check_dates(&full, now).unwrap(),
            Start::Past(past)
        );
        let future = now + Duration::days(3);
        assert_eq!(
            new().starts_at(future).check_dates(&full, now).unwrap(),
            Start::Future(future)
        );
    }

    #[test]
    fn what_the_backend_cannot_honour_is_unsupported() {
        let now = Utc::now();
        for new in [
            new().starts_at(now - Duration::days(3)),
            new().starts_at(now + Duration::days(3)),
            new().billing_anchor(now + Duration::days(3)),
        ] {
            let e = new.check_dates(&none(), now).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{new:?}");
        }
    }

    #[test]
    fn an_anchor_before_the_start_is_invalid() {
        let now = Utc::now();
        let bad = new()
            .starts_at(now - Duration::days(3))
            .billing_anchor(now - Duration::days(4));
        let e = bad.check_dates(&none(), now).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "checked before support");
        let before_now = new().billing_anchor(now - Duration::days(1));
        let e = before_now
            .check_dates(&Capabilities::full(), now)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let ok = new()
            .starts_at(now - Duration::days(10))
            .billing_anchor(now - Duration::days(2));
        assert!(ok.check_dates(&Capabilities::full(), now).is_ok());
    }
}
