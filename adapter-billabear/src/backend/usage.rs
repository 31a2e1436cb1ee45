//! Usage: `POST /events` one event at a time (no batch endpoint, no deduplication, no client
//! timestamps), and the current period's totals from the cost estimate.

use std::collections::HashMap;

use async_trait::async_trait;
use billing_core::raw::Outcomes;
use billing_core::{
    Currency, Error, ErrorKind, EventOutcome, MetricCode, Money, Operation, Result,
    SubscriptionKey, UsageEvent, UsageLine, UsagePeriod, UsageQuery, UsageReader, UsageRecorder,
    UsageSummary,
};
use billing_http::{Method, failed_event, ordered_fanout};
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::Number;

use super::{BillaBear, SubRef};
use crate::convert;
use crate::wire;

/// One event ready to send: its index in the batch, its subscription's id and its value.
struct Ready<'a> {
    index: usize,
    subscription_id: &'a str,
    value: Number,
}

/// The outcome of an event whose request failed: `Unknown` when the request may have been
/// applied (timeout, connection lost after sending, 502/504), with an error that is not
/// temporary, since BillaBear stores every copy it receives and a resend could count the event
/// twice; otherwise `Rejected`.
fn event_failure(e: Error, deduplicates: bool) -> EventOutcome {
    // `400 {"errors": {"code": ...}}`: no metric has this code; `subscription`: no such
    // subscription (the adapter resolved it, so it vanished in between).
    let fields = e.vendor().and_then(|v| v.code.clone()).unwrap_or_default();
    if e.vendor().and_then(|v| v.status) == Some(400)
        && fields
            .split(',')
            .any(|f| f == "code" || f == "subscription")
    {
        return EventOutcome::Rejected(e.with_kind(ErrorKind::NotFound));
    }
    failed_event(e, deduplicates)
}

impl BillaBear {
    /// Why an event for `metric` cannot go to a subscription metering `entry.metric`.
    async fn metric_rejection(
        &self,
        entry: &SubRef,
        key: &SubscriptionKey,
        metric: &MetricCode,
    ) -> Error {
        match self.find_metric(Operation::RecordUsage, metric).await {
            Err(e) => e,
            Ok(None) => Error::not_found(format!("no metric `{metric}`")),
            Ok(Some(_)) => Error::invalid_input(format!(
                "subscription `{key}` {}, not `{metric}`: BillaBear would store the event but \
                 never bill it",
                match &entry.metric {
                    Some(m) => format!("meters `{}`", m.code),
                    None => "has no usage price".to_owned(),
                }
            )),
        }
    }

    async fn send_event(&self, event: &UsageEvent, ready: Ready<'_>) -> EventOutcome {
        let body = wire::Event {
            event_id: event.id.as_str(),
            subscription: ready.subscription_id,
            code: event.metric.as_str(),
            value: ready.value,
            properties: &event.properties,
        };
        // A POST is `NotIdempotent`: the client resends it only if the connection was refused.
        match self
            .send_json(Operation::RecordUsage, Method::POST, &["events"], &body)
            .await
        {
            Ok(_) => EventOutcome::Accepted,
            Err(e) => event_failure(e, self.capabilities.usage_dedup_by_event_id),
        }
    }

    async fn record(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let op = Operation::RecordUsage;
        let mut outcomes = Outcomes::new(events);
        let now = Utc::now();
        let tolerance = chrono::Duration::from_std(self.tolerance).unwrap_or(chrono::Duration::MAX);
        let mut values: Vec<Option<Number>> = vec![None; events.len()];
        for i in outcomes.pending() {
            let e = &events[i];
            let off = e.timestamp.signed_duration_since(now);
            if off.abs() > tolerance {
                outcomes.reject(
                    i,
                    Error::unsupported(format!(
                        "event `{}` is {}s from now, beyond the {}s tolerance: BillaBear \
                             records every event at the time it receives it",
                        e.id,
                        off.num_seconds(),
                        tolerance.num_seconds()
                    )),
                );
                continue;
            }
            match convert::event_value(e.quantity) {
                Ok(v) => values[i] = Some(v),
                Err(err) => outcomes.reject(i, err),
            }
        }

        // Resolve each subscription key once per batch.
        let mut entries: HashMap<&SubscriptionKey, Result<SubRef>> = HashMap::new();
        for i in outcomes.pending() {
            let key = &events[i].subscription;
            if !entries.contains_key(key) {
                entries.insert(key, self.sub_ref(op, key).await);
            }
        }
        let mut rejections: HashMap<(&SubscriptionKey, &MetricCode), Error> = HashMap::new();
        let mut ready = Vec::new();
        for i in outcomes.pending() {
            let e = &events[i];
            let entry = match entries.get(&e.subscription) {
                Some(Ok(entry)) => entry,
                Some(Err(err)) => {
                    outcomes.reject(i, err.clone());
                    continue;
                }
                None => {
                    outcomes.reject(i, Error::unexpected("subscription was not resolved"));
                    continue;
                }
            };
            if entry.metric.as_ref().map(|m| m.code.as_str()) != Some(e.metric.as_str()) {
                let err = match rejections.get(&(&e.subscription, &e.metric)) {
                    Some(err) => err.clone(),
                    None => {
                        let err = self
                            .metric_rejection(entry, &e.subscription, &e.metric)
                            .await;
                        rejections.insert((&e.subscription, &e.metric), err.clone());
                        err
                    }
                };
                outcomes.reject(i, err);
                continue;
            }
            let Some(value) = values.get_mut(i).and_then(Option::take) else {
                outcomes.reject(i, Error::unexpected("event value was not prepared"));
                continue;
            };
            ready.push(Ready {
                index: i,
                subscription_id: &entry.id,
                value,
            });
        }

        let results = ordered_fanout(ready, self.concurrency(), |r: Ready<'_>| {
            let index = r.index;
            let event = &events[index];
            async move { (index, self.send_event(event, r).await) }
        })
        .await;
        for (i, outcome) in results {
            outcomes.set(i, outcome);
        }
        outcomes.finish()
    }

    async fn usage_inner(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let op = Operation::Usage;
        query.validate()?;
        if let UsagePeriod::Range { .. } = query.period {
            return Err(Error::unsupported(
                "BillaBear has no usage query by time range; only the current period's cost \
                 estimate",
            ));
        }
        let (record, entry) = self.subscription_record(op, &query.subscription).await?;
        let metered = convert::metered_metric(&record.wire).cloned();
        let subscription = self.to_subscription(record, &entry, &query.subscription)?;
        if let Some(m) = &query.metric
            && metered.as_ref().map(|x| x.code.as_str()) != Some(m.as_str())
            && self.find_metric(op, m).await?.is_none()
        {
            return Err(Error::not_found(format!("no metric `{m}`")));
        }
        let Some(period) = subscription.current_period else {
            return Err(Error::conflict(format!(
                "subscription `{}` has ended; BillaBear's cost estimate covers only running \
                     subscriptions",
                query.subscription
            )));
        };
        let wanted = |code: &str| query.metric.as_ref().is_none_or(|m| m.as_str() == code);
        let mut lines = Vec::new();
        match metered.as_ref().filter(|m| wanted(&m.code)) {
            None => {}
            Some(metric) => {
                let customer = Self::customer_of(&entry, &query.subscription)?;
                let customer_id = self.customer_id(op, &customer).await?;
                let costs: wire::Costs = self
                    .get_as(
                        op,
                        &["customer", &customer_id, "costs"],
                        Vec::new(),
                        "cost estimate",
                    )
                    .await?;
                let matching: Vec<&wire::MetricCost> = costs
                    .costs
                    .iter()
                    .filter(|c| c.name == metric.name)
                    .collect();
                let (quantity, amount) = match matching.as_slice() {
                    [] => (Decimal::ZERO, None),
                    [one] => (
                        convert::usage_quantity(one.usage)?,
                        Currency::from_code(&one.currency)
                            .ok()
                            .map(|c| Money::from_minor(one.amount, c)),
                    ),
                    several => {
                        return Err(Error::conflict(format!(
                            "customer `{customer}` has {} running subscriptions metering `{}`: \
                             BillaBear keeps one usage counter per customer and metric, which \
                             then counts neither `{}` alone nor their sum",
                            several.len(),
                            metric.code,
                            query.subscription
                        )));
                    }
                };
                if let Some(code) = convert::metric_code(metric)
                    && (query.metric.is_some() || !quantity.is_zero())
                {
                    lines.push(UsageLine::new(code, quantity, amount));
                }
            }
        }
        if let Some(m) = &query.metric
            && lines.is_empty()
        {
            lines.push(UsageLine::new(m.clone(), Decimal::ZERO, None));
        }
        Ok(UsageSummary::new(period, lines))
    }
}

#[async_trait]
impl UsageRecorder for BillaBear {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        self.record(events).await
    }
}

#[async_trait]
impl UsageReader for BillaBear {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        self.usage_inner(query).await
    }
}
