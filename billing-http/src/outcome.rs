//! Whether a failed request may still have taken effect: the question a client must answer
//! before resending a write that the vendor does not deduplicate.

use billing_core::{Error, ErrorKind, EventOutcome};

/// Whether the request behind `error` may have reached the server and been applied, so that
/// resending it could apply it twice.
///
/// - A response from the server itself (any status but 502 and 504) means its outcome is
///   known: an error status was not applied.
/// - A 502 or 504 comes from a gateway that may have forwarded the request before giving up.
/// - A timeout or a connection lost without a response may have happened after the server
///   applied the request; a connection that was refused never carried it.
/// - Errors raised before sending (`InvalidInput`, `Unsupported`, ...) are not unknown.
pub fn outcome_unknown(error: &Error) -> bool {
    match error.vendor().and_then(|v| v.status) {
        Some(status) => matches!(status, 502 | 504),
        None => {
            matches!(error.kind(), ErrorKind::Timeout | ErrorKind::Unavailable)
                && !never_sent(error)
        }
    }
}

/// The outcome of a usage event whose request failed with `error`, on a vendor that
/// deduplicates by event id (`deduplicates`) or not.
///
/// - [`EventOutcome::Unknown`] when the request may have been applied ([`outcome_unknown`]).
///   Its error is temporary exactly when the vendor deduplicates: resending the event is then
///   safe (it is counted once), and otherwise it may be counted twice, so a caller's generic
///   retry loop must not resend it.
/// - [`EventOutcome::Rejected`] with the error unchanged otherwise.
pub fn failed_event(error: Error, deduplicates: bool) -> EventOutcome {
    if outcome_unknown(&error) {
        EventOutcome::Unknown(error.with_temporary(deduplicates))
    } else {
        EventOutcome::Rejected(error)
    }
}

/// The cause of an error raised before the request left: the time budget ran out while it
/// waited for a free slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NeverSent;

impl std::fmt::Display for NeverSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request was never sent")
    }
}

impl std::error::Error for NeverSent {}

/// Whether the request surely never left: it waited for a slot in vain, or the connection was
/// refused.
fn never_sent(error: &Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        if s.downcast_ref::<NeverSent>().is_some() {
            return true;
        }
        if let Some(r) = s.downcast_ref::<reqwest::Error>() {
            return r.is_connect();
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use billing_core::{Operation, VendorDetail};
    use http::Method;
    use tokio::net::TcpListener;

    use crate::{ApiRequest, Credentials, Endpoint, HttpClient, HttpConfig, VendorErrors};

    #[derive(Debug)]
    struct NoDetail;
    impl VendorErrors for NoDetail {
        fn detail(&self, status: http::StatusCode, _: &[u8]) -> VendorDetail {
            VendorDetail::status(status.as_u16())
        }
        fn is_not_found_body(&self, _: &[u8], _: &VendorDetail) -> bool {
            true
        }
    }

    fn client(base: &str) -> HttpClient {
        let config = HttpConfig::default()
            .with_timeout(std::time::Duration::from_millis(300))
            .with_connect_timeout(std::time::Duration::from_millis(300))
            .with_total_budget(std::time::Duration::from_millis(600))
            .with_max_retries(1)
            .with_retry_base_delay(std::time::Duration::from_millis(10));
        HttpClient::new(
            "test",
            Endpoint::parse("x", base, false).unwrap(),
            Credentials::none(),
            config,
            NoDetail,
        )
        .unwrap()
    }

    async fn post(base: &str) -> Error {
        let c = client(base);
        let req = ApiRequest::new(
            Operation::RecordUsage,
            Method::POST,
            c.endpoint().url(&["events"]).unwrap(),
        );
        c.send(req).await.unwrap_err()
    }

    #[test]
    fn statuses_and_local_errors() {
        let with = |s| Error::new(ErrorKind::Unavailable, "x").with_vendor(VendorDetail::status(s));
        assert!(outcome_unknown(&with(502)));
        assert!(outcome_unknown(&with(504)));
        assert!(!outcome_unknown(&with(503)));
        assert!(!outcome_unknown(&with(500)));
        assert!(!outcome_unknown(&Error::invalid_input("x")));
        assert!(outcome_unknown(&Error::new(ErrorKind::Timeout, "x")));
        let queued = Error::new(ErrorKind::Timeout, "no slot").with_source(NeverSent);
        assert!(
            !outcome_unknown(&queued),
            "a request that waited in vain never left"
        );
    }

    #[test]
    fn a_lost_answer_is_an_unknown_outcome_never_a_rejection() {
        let lost = || Error::new(ErrorKind::Timeout, "x");
        match failed_event(lost(), true) {
            EventOutcome::Unknown(e) => assert!(e.is_temporary(), "safe to resend"),
            other => panic!("{other:?}"),
        }
        match failed_event(lost(), false) {
            EventOutcome::Unknown(e) => assert!(!e.is_temporary(), "a resend may double it"),
            other => panic!("{other:?}"),
        }
        let gateway =
            Error::new(ErrorKind::Unavailable, "x").with_vendor(VendorDetail::status(504));
        assert!(failed_event(gateway, true).is_unknown());
        let refused =
            Error::new(ErrorKind::Unavailable, "x").with_vendor(VendorDetail::status(503));
        match failed_event(refused, false) {
            EventOutcome::Rejected(e) => assert!(e.is_temporary()),
            other => panic!("{other:?}"),
        }
        assert!(failed_event(Error::invalid_input("x"), true).is_rejected());
    }

    #[tokio::test]
    async fn a_refused_connection_never_carried_the_request() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = post(&format!("http://{addr}")).await;
        assert!(!outcome_unknown(&e), "{e}");
    }

    #[tokio::test]
    async fn a_dropped_or_silent_connection_may_have_carried_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    // Let the request arrive, then hang up without answering.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    drop(s);
                });
            }
        });
        let e = post(&format!("http://{addr}")).await;
        assert!(outcome_unknown(&e), "{e}");

        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        let e = tokio::time::timeout(Duration::from_secs(5), post(&format!("http://{addr}")))
            .await
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(outcome_unknown(&e), "{e}");
    }
}
