//! Usage: one `POST /1.0/kb/usages` per event, with the event id as `trackingId` (see the crate
//! docs for why), and rolled-up sums over a window.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use billing_core::chrono::Utc;
use billing_core::raw::Outcomes;
use billing_core::{
    Error, EventOutcome, MetricCode, Operation, Period, Result, SubscriptionKey, UsageEvent,
    UsagePeriod, UsageQuery, UsageReader, UsageRecorder, UsageSummary,
};
use billing_http::{Idempotency, Method, StatusCode, failed_event, ordered_fanout};

use serde_json::value::RawValue;

use super::KillBill;
use crate::convert;
use crate::error::{TRACKING_ID_ALREADY_EXISTS, code_of_error};
use crate::wire;

/// What a failed usage POST means for its event.
fn outcome_of_error(e: Error, deduplicates: bool) -> EventOutcome {
    if code_of_error(&e) == Some(TRACKING_ID_ALREADY_EXISTS) {
        return EventOutcome::Duplicate;
    }
    // Only an answer that was read (`InvalidInput`), not one that could not be (`Decode`: a
    // body over the size limit keeps the status but says nothing).
    let bare_400 = e.kind() == billing_core::ErrorKind::InvalidInput
        && e.vendor().is_some_and(|v| {
            v.status == Some(StatusCode::BAD_REQUEST.as_u16()) && v.code.is_none()
        });
    if bare_400 {
        // The only 400 Kill Bill answers without a JSON body here (an HTML page on Tomcat):
        // a record dated after the subscription's end.
        let vendor = e.vendor().cloned().unwrap_or_default();
        return EventOutcome::Rejected(
            Error::conflict(
                "Kill Bill refused the event: it is dated after the subscription ended",
            )
            .with_vendor(vendor),
        );
    }
    // A transport failure or a 502/504 after the client's retries: the POST may have been
    // applied, so the event is `Unknown` (safe to resend: the trackingId deduplicates it).
    failed_event(e, deduplicates)
}

impl KillBill {
    /// One event, one POST: `trackingId` is the event id, so the server's duplicate check is
    /// exactly per event. Safe to resend by construction. The subscription's id was resolved
    /// (and cached) before: an unknown subscription never gets here. `amount` is the event's
    /// quantity as [`convert::amount`] checked it.
    async fn post_event(&self, event: &UsageEvent, amount: &RawValue) -> EventOutcome {
        let op = Operation::RecordUsage;
        let send = |id: String| async move {
            let request = self
                .write(op, Method::POST, &["usages"])?
                .json(&convert::usage_body(&id, event, amount))?
                .idempotency(Idempotency::Idempotent);
            self.http.send_ok(request).await
        };
        match self
            .with_subscription_id(op, &event.subscription, send)
            .await
        {
            Ok(_) => EventOutcome::Accepted,
            Err(e) => outcome_of_error(e, self.capabilities.usage_dedup_by_event_id),
        }
    }

    async fn record(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let op = Operation::RecordUsage;
        let mut outcomes = Outcomes::new(events);
        // Quantities Kill Bill would round or refuse: decided here, nothing sent. The others'
        // amounts are written once, here.
        let mut amounts = Vec::new();
        for i in outcomes.pending() {
            match convert::amount(events[i].quantity) {
                Ok(a) => amounts.push((i, a)),
                Err(e) => outcomes.reject(i, e),
            }
        }
        // Subscription UUIDs, each key resolved once (cached afterwards).
        let keys: Vec<SubscriptionKey> = amounts
            .iter()
            .map(|&(i, _)| &events[i].subscription)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let resolved = ordered_fanout(keys.clone(), self.http.concurrency(), |k| async move {
            self.subscription_id(op, &k).await
        })
        .await;
        let ids: BTreeMap<SubscriptionKey, Result<String>> =
            keys.into_iter().zip(resolved).collect();
        // Kill Bill stores any unitType; the catalog's units say which metrics exist.
        let metrics: BTreeSet<&MetricCode> =
            amounts.iter().map(|&(i, _)| &events[i].metric).collect();
        let mut known: BTreeMap<&MetricCode, Result<bool>> = BTreeMap::new();
        for m in metrics {
            known.insert(m, self.has_unit(op, m.as_str()).await);
        }
        let mut sendable = Vec::with_capacity(amounts.len());
        for (i, amount) in amounts {
            let event = &events[i];
            match ids.get(&event.subscription) {
                Some(Ok(_)) => match known.get(&event.metric) {
                    Some(Ok(true)) => sendable.push((i, amount)),
                    Some(Ok(false)) | None => outcomes.reject(
                        i,
                        Error::not_found(format!(
                            "no metric `{}` in the Kill Bill catalog",
                            event.metric
                        )),
                    ),
                    Some(Err(e)) => outcomes.reject(i, e.clone()),
                },
                Some(Err(e)) => outcomes.reject(i, e.clone()),
                None => {}
            }
        }
        let sent = ordered_fanout(
            sendable,
            self.http.concurrency(),
            |(i, amount)| async move { (i, self.post_event(&events[i], &amount).await) },
        )
        .await;
        for (i, outcome) in sent {
            outcomes.set(i, outcome);
        }
        outcomes.finish()
    }

    async fn summary(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let op = Operation::Usage;
        query.validate()?;
        if let Some(m) = &query.metric
            && !self.has_unit(op, m.as_str()).await?
        {
            return Err(Error::not_found(format!(
                "no metric `{m}` in the Kill Bill catalog"
            )));
        }
        let (id, period) = match query.period {
            UsagePeriod::Range { from, to } => (
                None,
                Period {
                    start: from,
                    end: to,
                },
            ),
            UsagePeriod::Current => {
                let (sub, _) = self.subscription_by_key(op, &query.subscription).await?;
                let account = match sub.account_id.as_deref() {
                    Some(a) => Some(self.account_ref(op, a).await?),
                    None => None,
                };
                let period =
                    convert::usage_period(&sub, account.and_then(|a| a.tod), Utc::now())
                        .ok_or_else(|| Error::decode("SubscriptionJson without a start date"))?;
                let id = sub
                    .subscription_id
                    .ok_or_else(|| Error::decode("SubscriptionJson without subscriptionId"))?;
                (Some(id), period)
            }
        };
        let get = |id: String| async move {
            let mut segments = vec!["usages", id.as_str()];
            if let Some(m) = &query.metric {
                segments.push(m.as_str());
            }
            let request = self
                .request(op, Method::GET, &segments)?
                .query("startDate", convert::fmt_datetime(period.start))
                .query("endDate", convert::fmt_datetime(period.end));
            self.fetch::<wire::RolledUpUsage>(request).await
        };
        let (usage, _) = match id {
            Some(id) => get(id).await?,
            None => {
                self.with_subscription_id(op, &query.subscription, get)
                    .await?
            }
        };
        Ok(UsageSummary::new(
            period,
            convert::usage_lines(&usage, query.metric.as_ref())?,
        ))
    }
}

#[async_trait]
impl UsageRecorder for KillBill {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        self.record(events).await
    }
}

#[async_trait]
impl UsageReader for KillBill {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        self.summary(query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::{ErrorKind, VendorDetail};

    const DEDUP: bool = true;

    #[test]
    fn kill_bill_deduplicates_event_ids() {
        assert_eq!(crate::capabilities().usage_dedup_by_event_id, DEDUP);
    }

    #[test]
    fn only_a_read_bare_400_means_dated_after_the_end() {
        let page = Error::new(ErrorKind::InvalidInput, "HTTP Bad Request")
            .with_vendor(VendorDetail::status(400));
        assert!(matches!(
            outcome_of_error(page, DEDUP),
            EventOutcome::Rejected(e) if e.kind() == ErrorKind::Conflict
        ));
        let unreadable = Error::decode("response body is larger than 16777216 bytes")
            .with_vendor(VendorDetail::status(400));
        assert!(matches!(
            outcome_of_error(unreadable, DEDUP),
            EventOutcome::Rejected(e) if e.kind() == ErrorKind::Decode
        ));
    }

    #[test]
    fn a_lost_answer_is_unknown_and_safe_to_resend() {
        let lost = Error::new(ErrorKind::Timeout, "POST /1.0/kb/usages: timed out");
        assert!(matches!(
            outcome_of_error(lost, DEDUP),
            EventOutcome::Unknown(e) if e.is_temporary()
        ));
        let gateway = Error::new(ErrorKind::Unavailable, "bad gateway")
            .with_vendor(VendorDetail::status(502));
        assert!(outcome_of_error(gateway, DEDUP).is_unknown());
        let refused = Error::new(ErrorKind::Unavailable, "unavailable")
            .with_vendor(VendorDetail::status(503));
        assert!(outcome_of_error(refused, DEDUP).is_rejected());
    }
}
