//! [`UsageRecorder`] and [`UsageReader`] for Lago.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use billing_core::raw::Outcomes;
use billing_core::{
    CustomerKey, Error, EventOutcome, MetricCode, Operation, Result, SubscriptionKey, UsageEvent,
    UsagePeriod, UsageQuery, UsageReader, UsageRecorder, UsageSummary,
};
use billing_http::{ApiRequest, Idempotency, Method, failed_event, ordered_fanout};

use super::{BATCH_MAX, Lago};
use crate::convert;
use crate::error::{BatchErrors, ErrorBody, batch_errors, describe, only_duplicate};
use crate::wire;

/// What happened to each event of one chunk, by its index in the call.
type ChunkOutcomes = Vec<(usize, EventOutcome)>;

impl Lago {
    /// Sends one chunk (at most [`BATCH_MAX`] events) to `POST /events/batch`. Lago refuses a
    /// batch with any bad event as a whole and names the bad ones by index: those are answered
    /// (`Duplicate` for a repeated transaction id alone, `Rejected` otherwise) and the rest is
    /// sent again, with exactly the same JSON.
    async fn send_chunk(&self, chunk: Vec<(usize, wire::EventInput)>) -> ChunkOutcomes {
        let op = Operation::RecordUsage;
        let dedup = self.capabilities.usage_dedup_by_event_id;
        let mut outcomes = Vec::with_capacity(chunk.len());
        let mut remaining = chunk;
        while !remaining.is_empty() {
            let body = wire::EventBatch {
                events: remaining.iter().map(|(_, e)| e).collect(),
            };
            let request = match self.url(&["events", "batch"]).and_then(|url| {
                ApiRequest::new(op, Method::POST, url)
                    .json(&body)
                    .map(|r| r.idempotency(Idempotency::Idempotent))
            }) {
                Ok(r) => r,
                Err(e) => {
                    outcomes.extend(
                        remaining
                            .iter()
                            .map(|(i, _)| (*i, EventOutcome::Rejected(e.clone()))),
                    );
                    return outcomes;
                }
            };
            // A transport failure or a 502/504 after the client's retries: the batch may have
            // been applied, so its events are `Unknown` (safe to resend: Lago deduplicates by
            // transaction id).
            let response = match self.client.send(request).await {
                Ok(r) => r,
                Err(e) => {
                    outcomes.extend(
                        remaining
                            .iter()
                            .map(|(i, _)| (*i, failed_event(e.clone(), dedup))),
                    );
                    return outcomes;
                }
            };
            if response.is_success() {
                outcomes.extend(remaining.iter().map(|(i, _)| (*i, EventOutcome::Accepted)));
                return outcomes;
            }
            let error = self.client.error(op, &response);
            let per_index = match (response.status.as_u16(), batch_errors(&response.body)) {
                (422, BatchErrors::PerIndex(map)) => map,
                _ => {
                    outcomes.extend(
                        remaining
                            .iter()
                            .map(|(i, _)| (*i, failed_event(error.clone(), dedup))),
                    );
                    return outcomes;
                }
            };
            let sent = remaining.len();
            let mut rest = Vec::with_capacity(sent);
            for (position, (index, event)) in remaining.into_iter().enumerate() {
                match per_index.get(&position) {
                    None => rest.push((index, event)),
                    Some(errors) if only_duplicate(errors) => {
                        outcomes.push((index, EventOutcome::Duplicate));
                    }
                    Some(errors) => {
                        let e = Error::invalid_input(format!(
                            "event {}: {}",
                            event.transaction_id,
                            describe(errors)
                        ));
                        let e = match error.vendor() {
                            Some(v) => e.with_vendor(v.clone()),
                            None => e,
                        };
                        outcomes.push((index, EventOutcome::Rejected(e)));
                    }
                }
            }
            if rest.len() == sent {
                // The errors named no event of this request: nothing would change on a resend.
                outcomes.extend(
                    rest.iter()
                        .map(|(i, _)| (*i, EventOutcome::Rejected(error.clone()))),
                );
                return outcomes;
            }
            remaining = rest;
        }
        outcomes
    }

    /// For each subscription key, its customer, `None` if Lago has no such subscription, or the
    /// error of the lookup.
    async fn resolve_subscriptions(
        &self,
        keys: Vec<SubscriptionKey>,
    ) -> HashMap<SubscriptionKey, Result<Option<CustomerKey>>> {
        let op = Operation::RecordUsage;
        let results = ordered_fanout(keys.clone(), self.client.concurrency(), |key| async move {
            self.customer_of(&key, op).await
        })
        .await;
        keys.into_iter().zip(results).collect()
    }
}

#[async_trait]
impl UsageRecorder for Lago {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let op = Operation::RecordUsage;
        let mut outcomes = Outcomes::new(events);
        // Indices from `Outcomes` are in range; pair each with its event once.
        let pending: Vec<(usize, &UsageEvent)> = outcomes
            .pending()
            .into_iter()
            .filter_map(|i| events.get(i).map(|e| (i, e)))
            .collect();
        let pending_indices: Vec<usize> = pending.iter().map(|(i, _)| *i).collect();
        if pending.is_empty() {
            return outcomes.finish();
        }
        // The metric catalog: Lago would accept an unknown code and ignore it.
        let codes: BTreeSet<&str> = pending.iter().map(|(_, e)| e.metric.as_str()).collect();
        let codes: Vec<&str> = codes.into_iter().collect();
        let meterings = match self.meterings(&codes, op).await {
            Ok(m) => m,
            Err(e) => {
                outcomes.reject_pending(&pending_indices, &e);
                return outcomes.finish();
            }
        };
        // The subscriptions: Lago would accept an unknown one and drop its events.
        let keys: BTreeSet<&SubscriptionKey> =
            pending.iter().map(|(_, e)| &e.subscription).collect();
        let subscriptions = self
            .resolve_subscriptions(keys.into_iter().cloned().collect())
            .await;
        let mut ready = Vec::with_capacity(pending.len());
        for &(i, event) in &pending {
            let Some(Some(metering)) = meterings.get(event.metric.as_str()) else {
                outcomes.reject(
                    i,
                    Error::not_found(format!("Lago has no billable metric `{}`", event.metric)),
                );
                continue;
            };
            match subscriptions.get(&event.subscription) {
                Some(Ok(Some(_))) => {}
                Some(Err(e)) => {
                    outcomes.reject(i, e.clone());
                    continue;
                }
                Some(Ok(None)) | None => {
                    outcomes.reject(
                        i,
                        Error::not_found(format!("no subscription `{}`", event.subscription)),
                    );
                    continue;
                }
            }
            match convert::event_input(event, metering) {
                Ok(input) => ready.push((i, input)),
                Err(e) => outcomes.reject(i, e),
            }
        }
        // Moved into chunks, not copied.
        let mut chunks: Vec<Vec<(usize, wire::EventInput)>> =
            Vec::with_capacity(ready.len().div_ceil(BATCH_MAX));
        let mut ready = ready.into_iter().peekable();
        while ready.peek().is_some() {
            chunks.push(ready.by_ref().take(BATCH_MAX).collect());
        }
        let sent = ordered_fanout(chunks, self.client.concurrency(), |chunk| {
            self.send_chunk(chunk)
        })
        .await;
        for (i, outcome) in sent.into_iter().flatten() {
            outcomes.set(i, outcome);
        }
        outcomes.finish()
    }
}

#[async_trait]
impl UsageReader for Lago {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let op = Operation::Usage;
        if let UsagePeriod::Range { .. } = query.period {
            return Err(Error::unsupported(
                "Lago reports usage only per billing period (current_usage); it has no total \
                 over an arbitrary window",
            ));
        }
        query.validate()?;
        if let Some(metric) = &query.metric {
            let known = self.meterings(&[metric.as_str()], op).await?;
            if !matches!(known.get(metric.as_str()), Some(Some(_))) {
                return Err(Error::not_found(format!(
                    "Lago has no billable metric `{metric}`"
                )));
            }
        }
        let customer = self
            .customer_of(&query.subscription, op)
            .await?
            .ok_or_else(|| Error::not_found(format!("no subscription `{}`", query.subscription)))?;
        match self
            .current_usage(&customer, &query.subscription, query.metric.as_ref())
            .await
        {
            Err(e)
                if query.metric.is_some()
                    && e.vendor().and_then(|v| v.code.as_deref()) == Some("charge_not_found") =>
            {
                // The metric exists but the plan does not charge it: zero, over the period Lago
                // reports for the subscription's other charges.
                let usage = self
                    .current_usage(&customer, &query.subscription, None)
                    .await?;
                convert::usage_summary(&usage, query.metric.as_ref())
            }
            Err(e) => Err(e),
            Ok(usage) => convert::usage_summary(&usage, query.metric.as_ref()),
        }
    }
}

impl Lago {
    /// `GET /customers/{customer}/current_usage?external_subscription_id=&billable_metric_code=`.
    async fn current_usage(
        &self,
        customer: &CustomerKey,
        subscription: &SubscriptionKey,
        metric: Option<&MetricCode>,
    ) -> Result<wire::CustomerUsage> {
        let op = Operation::Usage;
        let mut request = ApiRequest::new(
            op,
            Method::GET,
            self.customer_url(customer, &["current_usage"])?,
        )
        .query("external_subscription_id", subscription.as_str())
        .query("apply_taxes", "false");
        if let Some(m) = metric {
            request = request.query("billable_metric_code", m.as_str());
        }
        let response = self.client.send(request).await?;
        if response.is_success() {
            let envelope: wire::CustomerUsageEnvelope = response.json()?;
            return Ok(envelope.customer_usage);
        }
        let error = self.client.error(op, &response);
        let code = ErrorBody::parse(&response.body).code;
        if response.status.as_u16() == 404 && code.as_deref() != Some("charge_not_found") {
            // The customer is gone (deleted with its subscriptions): forget the mapping.
            self.subscription_customers.remove(subscription);
        }
        Err(error)
    }
}
