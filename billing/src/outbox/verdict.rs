//! What one delivery attempt's outcome means for the delivery: done, retry later, dead letter,
//! or held for an operator. Pure functions, so every rule is unit-tested.

use std::time::Duration;

use billing_core::{Error, EventOutcome};

use super::retry::RetryPolicy;
use super::store::{Millis, Settlement, StoredError};

/// Longest message kept with a delivery.
const MAX_MESSAGE_CHARS: usize = 2_000;

/// The stored form of an error.
pub(crate) fn stored(error: &Error, unknown: bool) -> StoredError {
    let mut message = if unknown {
        format!(
            "outcome unknown (the answer was lost after the request may have been applied): {error}"
        )
    } else {
        error.to_string()
    };
    if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
        message.truncate(cut);
    }
    StoredError {
        kind: error.kind().to_string(),
        status: error.vendor().and_then(|v| v.status),
        code: error.vendor().and_then(|v| v.code.clone()),
        message,
    }
}

fn later(now: Millis, wait: Duration) -> Millis {
    now.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
}

/// The settlement of a delivery after its `attempts`-th attempt ended with `outcome`, on a
/// destination that deduplicates by event id (`dedup`) or not.
pub(crate) fn settlement(
    outcome: &EventOutcome,
    attempts: u32,
    dedup: bool,
    policy: &RetryPolicy,
    now: Millis,
) -> Settlement {
    // Not before the vendor's Retry-After, when it asked for one.
    let retry = |e: &Error, unknown: bool| {
        let error = stored(e, unknown);
        if policy.allows_another(attempts) {
            Settlement::Retry {
                at: later(now, policy.delay(attempts, e.retry_after())),
                error,
            }
        } else {
            let mut error = error;
            error.message = format!("gave up after {attempts} attempts: {}", error.message);
            Settlement::DeadLetter(error)
        }
    };
    match outcome {
        EventOutcome::Accepted | EventOutcome::Duplicate => Settlement::Done,
        EventOutcome::Rejected(e) if e.is_temporary() => retry(e, false),
        EventOutcome::Rejected(e) => Settlement::DeadLetter(stored(e, false)),
        // Resending is safe: the vendor answers Duplicate if the first copy arrived.
        EventOutcome::Unknown(e) if dedup => retry(e, true),
        // A resend could count it twice: an operator decides.
        EventOutcome::Unknown(e) => Settlement::HeldUnknown(stored(e, true)),
    }
}

/// The settlement of a delivery that another process claimed and never settled (it stopped
/// while sending): on a deduplicating destination it is simply sent again.
pub(crate) fn abandoned(dedup: bool) -> Option<Settlement> {
    (!dedup).then(|| {
        Settlement::HeldUnknown(StoredError {
            kind: "unknown outcome".to_owned(),
            status: None,
            code: None,
            message: "a delivering process stopped while sending this event (its lease \
                      expired), so the destination may have it; it does not deduplicate by \
                      event id, so it is held instead of resent"
                .to_owned(),
        })
    })
}

/// The settlement of an event the store holds but cannot decode (written by an incompatible
/// version, or damaged).
pub(crate) fn undecodable(error: &serde_json::Error) -> Settlement {
    Settlement::DeadLetter(StoredError {
        kind: "decode error".to_owned(),
        status: None,
        code: None,
        message: format!("the stored event cannot be decoded: {error}"),
    })
}

/// Whether a batch's settlements say the destination is failing as a whole (every delivery
/// goes back to wait, none went through): then the destination pauses before its next batch.
pub(crate) fn destination_failing(settlements: &[Settlement]) -> bool {
    !settlements.is_empty()
        && settlements
            .iter()
            .all(|s| matches!(s, Settlement::Retry { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::{ErrorKind, VendorDetail};

    fn policy(max_attempts: Option<u32>) -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts,
        }
    }

    fn temporary() -> Error {
        Error::new(ErrorKind::Unavailable, "down").with_vendor(VendorDetail::status(503))
    }

    #[test]
    fn counted_outcomes_are_done() {
        for o in [EventOutcome::Accepted, EventOutcome::Duplicate] {
            assert_eq!(settlement(&o, 1, false, &policy(None), 0), Settlement::Done);
        }
    }

    #[test]
    fn a_temporary_rejection_is_retried_later_until_the_attempts_run_out() {
        let o = EventOutcome::Rejected(temporary());
        match settlement(&o, 1, false, &policy(Some(2)), 1_000) {
            Settlement::Retry { at, error } => {
                assert!((1_050..=1_100).contains(&at), "{at}");
                assert_eq!(error.kind, "unavailable");
                assert_eq!(error.status, Some(503));
            }
            other => panic!("{other:?}"),
        }
        match settlement(&o, 2, false, &policy(Some(2)), 1_000) {
            Settlement::DeadLetter(error) => assert!(error.message.contains("2 attempts")),
            other => panic!("{other:?}"),
        }
    }

    /// A vendor that asked for a wait (429 with Retry-After) gets it, within `max_delay`.
    #[test]
    fn a_retry_waits_at_least_as_long_as_the_vendor_asked() {
        let throttled = Error::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Duration::from_millis(700));
        let o = EventOutcome::Rejected(throttled);
        match settlement(&o, 1, false, &policy(None), 1_000) {
            Settlement::Retry { at, .. } => assert_eq!(at, 1_700),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_permanent_rejection_is_a_dead_letter_with_its_vendor_detail() {
        let e = Error::invalid_input("bad metric")
            .with_vendor(VendorDetail::status(422).with_code("metric_not_found"));
        match settlement(&EventOutcome::Rejected(e), 1, true, &policy(None), 0) {
            Settlement::DeadLetter(error) => {
                assert_eq!(error.kind, "invalid input");
                assert_eq!(error.status, Some(422));
                assert_eq!(error.code.as_deref(), Some("metric_not_found"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_outcome_is_resent_only_where_the_vendor_deduplicates() {
        let o = EventOutcome::Unknown(Error::new(ErrorKind::Timeout, "lost"));
        assert!(matches!(
            settlement(&o, 1, true, &policy(None), 0),
            Settlement::Retry { .. }
        ));
        match settlement(&o, 1, false, &policy(None), 0) {
            Settlement::HeldUnknown(error) => {
                assert_eq!(error.kind, "timeout");
                assert!(error.message.contains("outcome unknown"));
            }
            other => panic!("{other:?}"),
        }
        assert!(abandoned(true).is_none());
        assert!(matches!(abandoned(false), Some(Settlement::HeldUnknown(_))));
    }

    #[test]
    fn only_a_batch_that_failed_whole_pauses_the_destination() {
        let retry = Settlement::Retry {
            at: 0,
            error: StoredError::default(),
        };
        assert!(destination_failing(&[retry.clone(), retry.clone()]));
        assert!(!destination_failing(&[retry, Settlement::Done]));
        assert!(!destination_failing(&[]));
    }
}
