//! Usage events, their outcomes, and usage queries.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::key::{EventId, MetricCode, SubscriptionKey};
use crate::money::Money;
use crate::subscription::Period;

/// One metered event.
///
/// The `id` is the idempotency key: recording the same id twice for the same subscription counts
/// once (on backends with `Capabilities::usage_dedup_by_event_id`). The timestamp is fixed when
/// the event is built, so a retry resends exactly the same event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsageEvent {
    /// Idempotency key.
    pub id: EventId,
    /// The subscription it is billed to.
    pub subscription: SubscriptionKey,
    /// What was used.
    pub metric: MetricCode,
    /// How much; never negative.
    pub quantity: Decimal,
    /// When it happened, in milliseconds.
    pub timestamp: DateTime<Utc>,
    /// Extra dimensions (flat string map), passed to vendors that support them.
    pub properties: BTreeMap<String, String>,
}

impl UsageEvent {
    /// An event that happened now.
    pub fn new(
        id: EventId,
        subscription: SubscriptionKey,
        metric: MetricCode,
        quantity: Decimal,
    ) -> Self {
        Self {
            id,
            subscription,
            metric,
            quantity,
            timestamp: Utc::now().trunc_subsecs(3),
            properties: BTreeMap::new(),
        }
    }

    /// Sets when it happened (truncated to milliseconds, the finest precision vendors keep).
    pub fn at(mut self, timestamp: DateTime<Utc>) -> Self {
        self.timestamp = timestamp.trunc_subsecs(3);
        self
    }

    /// Adds a property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Checks what every backend requires: a non-negative quantity and well-formed properties.
    ///
    /// # Errors
    /// `InvalidInput` naming the problem.
    pub fn validate(&self) -> Result<()> {
        if self.quantity.is_sign_negative() && !self.quantity.is_zero() {
            return Err(Error::invalid_input(format!(
                "event {}: quantity {} is negative",
                self.id, self.quantity
            )));
        }
        for key in self.properties.keys() {
            if key.is_empty() || key.chars().any(char::is_control) {
                return Err(Error::invalid_input(format!(
                    "event {}: property key {key:?} is empty or has control characters",
                    self.id
                )));
            }
        }
        Ok(())
    }
}

/// What happened to one event of a `record_usage` call.
///
/// Four outcomes, and only the first two mean "counted":
///
/// | outcome | counted? | what to do |
/// |---|---|---|
/// | `Accepted` | yes, now | nothing |
/// | `Duplicate` | yes, earlier | nothing |
/// | `Rejected(e)` | **no** | resend later if `e.is_temporary()`, otherwise fix the event |
/// | `Unknown(e)` | **maybe** | see below |
///
/// `Unknown` means the request may have been applied but its answer was lost: a timeout after
/// the request was sent, a connection lost after the write, or a 502/504 from a gateway in front
/// of the vendor. It is never reported as `Rejected`. What to do depends on the vendor:
///
/// - Where [`Capabilities::usage_dedup_by_event_id`](crate::Capabilities) is true (Lago, Kill
///   Bill, the in-memory backend), resend the same event: the vendor answers `Duplicate` if the
///   first copy arrived, so it is counted once. The error's `is_temporary()` is then true.
/// - Where it is false (BillaBear), a resend may count the event twice: hold the event for a
///   decision (check the vendor's records, then resend or drop it). The error's
///   `is_temporary()` is then false, so a generic retry loop does not resend it.
///
/// `billing::outbox` does exactly this on its own.
#[derive(Debug, Clone)]
pub enum EventOutcome {
    /// Recorded now.
    Accepted,
    /// Already recorded earlier (same id, same subscription); not counted again.
    Duplicate,
    /// Not recorded. A [temporary](Error::is_temporary) error may be retried with the same event.
    Rejected(Error),
    /// Maybe recorded: the request may have been applied, but its answer was lost (timeout after
    /// sending, connection lost after the write, 502 or 504). The error says how it was lost.
    /// Resend only where the backend deduplicates by event id; see [`EventOutcome`].
    Unknown(Error),
}

/// A successful outcome of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded now.
    Accepted,
    /// Already recorded earlier.
    Duplicate,
}

impl EventOutcome {
    /// `Accepted` or `Duplicate`: the event is counted. False for `Unknown`, whose event may or
    /// may not be.
    pub fn is_recorded(&self) -> bool {
        matches!(self, EventOutcome::Accepted | EventOutcome::Duplicate)
    }

    /// Applies `f` to the error of a `Rejected` or `Unknown` outcome; other outcomes are
    /// returned as they are.
    pub fn map_err(self, f: impl FnOnce(Error) -> Error) -> Self {
        match self {
            EventOutcome::Rejected(e) => EventOutcome::Rejected(f(e)),
            EventOutcome::Unknown(e) => EventOutcome::Unknown(f(e)),
            other => other,
        }
    }

    /// `Rejected`: the event is not counted.
    pub fn is_rejected(&self) -> bool {
        matches!(self, EventOutcome::Rejected(_))
    }

    /// `Unknown`: the event may or may not be counted (the answer was lost after the request
    /// may have been applied).
    pub fn is_unknown(&self) -> bool {
        matches!(self, EventOutcome::Unknown(_))
    }

    /// The error of a `Rejected` or `Unknown` outcome.
    pub fn error(&self) -> Option<&Error> {
        match self {
            EventOutcome::Rejected(e) | EventOutcome::Unknown(e) => Some(e),
            EventOutcome::Accepted | EventOutcome::Duplicate => None,
        }
    }

    /// The error kind of a `Rejected` or `Unknown` outcome (tell them apart with
    /// [`EventOutcome::is_unknown`]).
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.error().map(Error::kind)
    }

    /// Turns the outcome into a `Result`.
    ///
    /// # Errors
    /// The error of a `Rejected` or an `Unknown` outcome. The `Result` cannot tell them apart:
    /// match on the outcome itself (or check [`EventOutcome::is_unknown`] first) where it
    /// matters.
    pub fn into_result(self) -> Result<Recorded> {
        match self {
            EventOutcome::Accepted => Ok(Recorded::Accepted),
            EventOutcome::Duplicate => Ok(Recorded::Duplicate),
            EventOutcome::Rejected(e) | EventOutcome::Unknown(e) => Err(e),
        }
    }
}

/// Which time window a usage query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsagePeriod {
    /// The subscription's current billing period.
    Current,
    /// `[from, to)` by event timestamp.
    Range {
        /// Inclusive start.
        from: DateTime<Utc>,
        /// Exclusive end.
        to: DateTime<Utc>,
    },
}

/// A usage question: how much of what, for which subscription, over which window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsageQuery {
    /// The subscription.
    pub subscription: SubscriptionKey,
    /// Only this metric, or every metric with usage.
    pub metric: Option<MetricCode>,
    /// The window.
    pub period: UsagePeriod,
}

impl UsageQuery {
    /// Usage of every metric in the current period.
    pub fn current(subscription: SubscriptionKey) -> Self {
        Self {
            subscription,
            metric: None,
            period: UsagePeriod::Current,
        }
    }

    /// Usage of every metric in `[from, to)`.
    pub fn range(subscription: SubscriptionKey, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            subscription,
            metric: None,
            period: UsagePeriod::Range { from, to },
        }
    }

    /// Restricts the query to one metric.
    pub fn metric(mut self, metric: MetricCode) -> Self {
        self.metric = Some(metric);
        self
    }

    /// Checks the window.
    ///
    /// # Errors
    /// `InvalidInput` if a range does not end after it starts.
    pub fn validate(&self) -> Result<()> {
        if let UsagePeriod::Range { from, to } = self.period
            && to <= from
        {
            return Err(Error::invalid_input(format!(
                "usage range must end after it starts ({from} .. {to})"
            )));
        }
        Ok(())
    }
}

/// Usage of one metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsageLine {
    /// The metric.
    pub metric: MetricCode,
    /// The exact total quantity.
    pub quantity: Decimal,
    /// What it costs, when the backend prices it.
    pub amount: Option<Money>,
}

impl UsageLine {
    /// A line.
    pub fn new(metric: MetricCode, quantity: Decimal, amount: Option<Money>) -> Self {
        Self {
            metric,
            quantity,
            amount,
        }
    }
}

/// The answer to a [`UsageQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsageSummary {
    /// The window actually covered, `[period.start, period.end)`.
    pub period: Period,
    /// One line per metric: exactly the queried metric when the query names one (zero if nothing
    /// was recorded), otherwise every metric with a non-zero quantity, sorted by metric code.
    pub lines: Vec<UsageLine>,
}

impl UsageSummary {
    /// A summary; lines are sorted by metric code.
    pub fn new(period: Period, mut lines: Vec<UsageLine>) -> Self {
        lines.sort_by(|a, b| a.metric.cmp(&b.metric));
        Self { period, lines }
    }

    /// The total quantity of `metric` (zero when absent).
    pub fn quantity(&self, metric: &MetricCode) -> Decimal {
        self.lines
            .iter()
            .filter(|l| &l.metric == metric)
            .map(|l| l.quantity)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(q: &str) -> UsageEvent {
        UsageEvent::new(
            EventId::new("e1").unwrap(),
            SubscriptionKey::new("s1").unwrap(),
            MetricCode::new("api_calls").unwrap(),
            q.parse().unwrap(),
        )
    }

    #[test]
    fn negative_quantity_is_invalid_but_zero_is_fine() {
        assert!(event("-1").validate().is_err());
        assert!(event("0").validate().is_ok());
        assert!(event("-0").validate().is_ok());
        assert!(event("0.000000001").validate().is_ok());
    }

    #[test]
    fn timestamps_are_milliseconds() {
        let t = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        let e = event("1").at(t);
        assert_eq!(e.timestamp.timestamp_subsec_nanos(), 123_000_000);
    }

    #[test]
    fn an_unknown_outcome_is_neither_recorded_nor_rejected() {
        let lost = EventOutcome::Unknown(Error::new(ErrorKind::Timeout, "answer lost"));
        assert!(lost.is_unknown());
        assert!(!lost.is_recorded());
        assert!(!lost.is_rejected());
        assert_eq!(lost.error_kind(), Some(ErrorKind::Timeout));
        assert!(lost.into_result().is_err());
        let refused = EventOutcome::Rejected(Error::invalid_input("bad"));
        assert!(refused.is_rejected() && !refused.is_unknown() && !refused.is_recorded());
        assert!(EventOutcome::Duplicate.is_recorded() && EventOutcome::Accepted.is_recorded());
        assert_eq!(EventOutcome::Accepted.error_kind(), None);
    }

    #[test]
    fn ranges_must_be_forward() {
        let s = SubscriptionKey::new("s").unwrap();
        let t = Utc::now();
        assert!(UsageQuery::range(s.clone(), t, t).validate().is_err());
        assert!(
            UsageQuery::range(s, t, t + chrono::Duration::seconds(1))
                .validate()
                .is_ok()
        );
    }
}
