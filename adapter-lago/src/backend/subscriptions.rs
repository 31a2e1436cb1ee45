//! [`SubscriptionStore`] for Lago.

use std::collections::HashSet;

use async_trait::async_trait;
use billing_core::{
    CancelAt, ChangeAt, CustomerKey, Error, ErrorKind, NewSubscription, Operation, Page,
    PageRequest, PlanCode, Result, Subscription, SubscriptionKey, SubscriptionStore,
};
use billing_http::{ApiRequest, Idempotency, Method};
use chrono::{SubsecRound, Utc};
use serde_json::Value;

use super::{ALL_STATUSES, Lago};
use crate::convert;
use crate::error::{ErrorBody, field_errors};
use crate::pager::{self, MAX_PER_PAGE, Position};
use crate::wire;

/// Greatest common divisor (for re-counting a page position with a smaller page size).
fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The position to fetch for a cursor made with one page size and a request for at most
/// `limit` items: the same offset, counted in pages no larger than `limit`.
fn resize(position: Position, limit: u32) -> Position {
    if position.per_page <= limit {
        return position;
    }
    let offset = (position.page - 1) * u64::from(position.per_page);
    let size = if offset == 0 {
        u64::from(limit)
    } else {
        gcd(offset, u64::from(limit))
    };
    Position {
        page: offset / size + 1,
        per_page: u32::try_from(size).unwrap_or(limit),
    }
}

fn not_found(key: &SubscriptionKey) -> Error {
    Error::not_found(format!("no subscription `{key}`"))
}

impl Lago {
    /// The current row of a key, or `NotFound`.
    async fn require_subscription(
        &self,
        key: &SubscriptionKey,
        op: Operation,
    ) -> Result<(wire::Subscription, Value)> {
        self.find_subscription(key, op)
            .await?
            .ok_or_else(|| not_found(key))
    }

    /// Decodes a `{"subscription": ...}` answer.
    fn subscription_answer(&self, response: &billing_http::ApiResponse) -> Result<Subscription> {
        let envelope: wire::SubscriptionEnvelope = response.json()?;
        let s = convert::subscription(envelope.subscription)?;
        self.subscription_customers
            .insert(s.key.clone(), s.customer.clone());
        Ok(s)
    }

    /// `DELETE /subscriptions/{key}` (with `status=pending` for one that has not started):
    /// `None` on 404 (nothing left to end).
    async fn terminate(
        &self,
        key: &SubscriptionKey,
        pending: bool,
        op: Operation,
    ) -> Result<Option<Subscription>> {
        let mut request = ApiRequest::new(
            op,
            Method::DELETE,
            self.url(&["subscriptions", key.as_str()])?,
        );
        if pending {
            request = request.query("status", "pending");
        }
        let response = self.client.send(request).await?;
        if response.status.as_u16() == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(self.client.error(op, &response));
        }
        self.subscription_answer(&response).map(Some)
    }

    /// Ends a subscription now. An already ended one is returned unchanged.
    async fn cancel_now(&self, key: &SubscriptionKey, op: Operation) -> Result<Subscription> {
        // Optimistic: most subscriptions cancelled are active, and then one request does it.
        if let Some(s) = self.terminate(key, false, op).await? {
            return Ok(s);
        }
        for _ in 0..2 {
            let (row, raw) = self.require_subscription(key, op).await?;
            if convert::is_ended(&row) {
                return convert::subscription(raw);
            }
            let pending = row.status == "pending";
            if let Some(s) = self.terminate(key, pending, op).await? {
                return Ok(s);
            }
        }
        Err(Error::conflict(format!(
            "subscription `{key}` changed while it was being canceled"
        )))
    }

    /// Schedules the end of a subscription at the end of its current billing period:
    /// `PUT /subscriptions/{key}` with `ending_at` = `current_billing_period_ending_at`.
    async fn cancel_at_period_end(
        &self,
        key: &SubscriptionKey,
        op: Operation,
    ) -> Result<Subscription> {
        let (row, raw) = self.require_subscription(key, op).await?;
        if convert::is_ended(&row) {
            return convert::subscription(raw);
        }
        if row.status == "pending" {
            // Not started: it has no current period, and ending it before it starts is the same
            // as cancelling it now.
            return self.cancel_now(key, op).await;
        }
        let Some(period_end) = row.current_billing_period_ending_at.clone() else {
            return Err(Error::unexpected(format!(
                "Lago gave no current billing period for `{key}`"
            )));
        };
        if row.ending_at.as_deref().and_then(convert::parse_time)
            == convert::parse_time(&period_end)
        {
            return convert::subscription(raw);
        }
        let body = wire::SubscriptionUpdateBody {
            subscription: wire::SubscriptionUpdate {
                ending_at: period_end,
            },
        };
        let request = ApiRequest::new(op, Method::PUT, self.url(&["subscriptions", key.as_str()])?)
            .json(&body)?;
        let response = self.client.send(request).await?;
        if response.status.as_u16() == 422 {
            let details = ErrorBody::parse(&response.body).error_details;
            let invalid_date = details.as_ref().is_some_and(|d| {
                field_errors(d)
                    .get("ending_at")
                    .is_some_and(|codes| codes.iter().any(|c| c == "invalid_date"))
            });
            if invalid_date {
                // Lago wants `ending_at` on a later date than today: on the last day of a
                // period the end can no longer be scheduled.
                return Err(self
                    .client
                    .error(op, &response)
                    .with_kind(ErrorKind::Conflict));
            }
        }
        if !response.is_success() {
            return Err(self.client.error(op, &response));
        }
        self.subscription_answer(&response)
    }

    /// `POST /subscriptions`: a creation, or a plan change for an existing key. Safe to resend:
    /// Lago returns the existing row unchanged when the key already has the plan, so a resend
    /// after a lost answer gives the same result.
    async fn post_subscription(
        &self,
        input: wire::SubscriptionInput,
        op: Operation,
    ) -> Result<Subscription> {
        let plan = input.plan_code.clone();
        let request = ApiRequest::new(op, Method::POST, self.url(&["subscriptions"])?)
            .json(&wire::SubscriptionBody {
                subscription: input,
            })?
            .idempotency(Idempotency::Idempotent);
        let response = self.client.send(request).await?;
        if response.status.as_u16() == 422 {
            let taken = ErrorBody::parse(&response.body)
                .error_details
                .as_ref()
                .is_some_and(|d| {
                    field_errors(d)
                        .get("external_id")
                        .is_some_and(|c| c.iter().any(|c| c == "value_already_exist"))
                });
            if taken {
                return Err(self
                    .client
                    .error(op, &response)
                    .with_kind(ErrorKind::AlreadyExists));
            }
        }
        if !response.is_success() {
            let error = self.client.error(op, &response);
            if error.vendor().and_then(|v| v.code.as_deref()) == Some("plan_not_found") {
                // Lago's answer names no plan: say which one.
                return Err(error.with_message(format!("no plan `{plan}`")));
            }
            return Err(error);
        }
        self.subscription_answer(&response)
    }
}

#[async_trait]
impl SubscriptionStore for Lago {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        let op = Operation::CreateSubscription;
        let now = Utc::now().trunc_subsecs(0);
        let start = new.check_dates(&self.capabilities, now)?;
        // Lago would create an unknown customer on the fly: check it exists.
        if self.find_customer(&new.customer, op).await?.is_none() {
            return Err(Error::not_found(format!("no customer `{}`", new.customer)));
        }
        // Lago only refuses a key that is active elsewhere, and returns the existing row for the
        // same customer and plan: check the key in every status.
        if let Some((row, _)) = self.subscription_rows(&new.key, op).await?.first() {
            let owner =
                (row.external_customer_id.as_deref()).and_then(|c| CustomerKey::new(c).ok());
            return Err(billing_core::raw::subscription_exists(
                &new.key,
                owner.as_ref(),
            ));
        }
        let input = wire::SubscriptionInput {
            external_customer_id: new.customer.as_str().to_owned(),
            plan_code: new.plan.as_str().to_owned(),
            external_id: new.key.as_str().to_owned(),
            billing_time: Some("calendar".to_owned()),
            // Now, to the second: events stamped right after creation then always fall in the
            // first period (Lago counts events from the exact start). A past start is active at
            // once with `started_at` back-dated; a future one is pending until its day.
            subscription_at: Some(convert::format_time(
                start.at().map_or(now, |t| t.trunc_subsecs(0)),
            )),
        };
        self.post_subscription(input, op).await
    }

    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        let op = Operation::GetSubscription;
        let (_, raw) = self.require_subscription(key, op).await?;
        convert::subscription(raw)
    }

    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let op = Operation::ListSubscriptions;
        let limit = billing_core::raw::page_limit(page, MAX_PER_PAGE)?;
        let position = resize(pager::subscription_position(page)?, limit);
        let filters: Vec<(&str, String)> = ALL_STATUSES
            .iter()
            .map(|s| ("status[]", (*s).to_owned()))
            .collect();
        let list: wire::SubscriptionList = pager::fetch(
            &self.client,
            op,
            pager::Route::Nested,
            self.customer_url(customer, &["subscriptions"])?,
            &filters,
            position,
        )
        .await
        .map_err(|e| {
            if e.is_not_found() {
                Error::not_found(format!("no customer `{customer}`"))
            } else {
                e
            }
        })?;
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        for raw in list.subscriptions {
            let row = convert::subscription_row(&raw)?;
            // One key can span several rows (plan changes): list only the row that stands for it.
            if !convert::is_representative(&row) || !seen.insert(row.external_id.clone()) {
                continue;
            }
            match convert::subscription(raw) {
                Ok(s) => items.push(s),
                Err(e) => {
                    tracing::warn!(target: "billing_lago", error = %e, "skipping a subscription this library cannot represent");
                }
            }
        }
        Ok(Page::new(
            items,
            pager::next_subscription_cursor(position, list.meta.next_page),
        ))
    }

    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        let op = Operation::CancelSubscription;
        match at {
            CancelAt::Now => self.cancel_now(key, op).await,
            CancelAt::PeriodEnd => self.cancel_at_period_end(key, op).await,
        }
    }

    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let op = Operation::ChangePlan;
        match at {
            ChangeAt::VendorDefault => {}
            ChangeAt::Now | ChangeAt::PeriodEnd => {
                return Err(Error::unsupported(
                    "Lago decides when a plan change applies (upgrades now, downgrades at the end \
                     of the period); use ChangeAt::VendorDefault",
                ));
            }
        }
        let (row, raw) = self.require_subscription(key, op).await?;
        if convert::is_ended(&row) {
            return Err(Error::conflict(format!("subscription `{key}` is canceled")));
        }
        if row.plan_code == plan.as_str() {
            return convert::subscription(raw);
        }
        let Some(customer) = row.external_customer_id.clone() else {
            return Err(Error::decode(format!(
                "Lago gave no customer for subscription `{key}`"
            )));
        };
        let input = wire::SubscriptionInput {
            external_customer_id: customer,
            plan_code: plan.as_str().to_owned(),
            external_id: key.as_str().to_owned(),
            billing_time: None,
            subscription_at: None,
        };
        self.post_subscription(input, op).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resized_positions_keep_the_offset() {
        let p = |page, per_page| Position { page, per_page };
        assert_eq!(resize(p(3, 10), 20), p(3, 10));
        assert_eq!(resize(p(1, 100), 7), p(1, 7));
        assert_eq!(resize(p(3, 10), 4), p(6, 4), "offset 20 in pages of 4");
        assert_eq!(resize(p(2, 10), 5), p(3, 5));
        assert_eq!(resize(p(2, 10), 3), p(11, 1));
    }
}
