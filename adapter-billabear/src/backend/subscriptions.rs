//! Subscriptions: the key lives in the subscription's metadata (with the customer's key, since
//! the JSON has no customer id). Every write is answered `201`/`202` and read back.

use async_trait::async_trait;
use billing_core::{
    CancelAt, ChangeAt, CustomerKey, Error, NewSubscription, Operation, Page, PageRequest,
    PlanCode, Result, Subscription, SubscriptionKey, SubscriptionStore,
};
use billing_http::Method;
use billing_http::decode_value;
use chrono::Utc;
use serde_json::Value;

use super::{BillaBear, Record};
use crate::convert;
use crate::pager;
use crate::wire;

impl BillaBear {
    /// Reads a subscription back after a `202` and refreshes the cache.
    async fn read_back(
        &self,
        op: Operation,
        id: &str,
        key: &SubscriptionKey,
        customer: Option<&CustomerKey>,
    ) -> Result<Subscription> {
        let record = self.fetch_subscription(op, id).await?;
        let entry = self
            .remember(&record.wire, customer)
            .map(|(_, e)| e)
            .ok_or_else(|| {
                Error::decode(format!(
                    "BillaBear subscription {id} lost its `{}` metadata",
                    convert::META_KEY
                ))
            })?;
        self.to_subscription(record, &entry, key)
    }

    async fn create_subscription_inner(&self, new: &NewSubscription) -> Result<Subscription> {
        let op = Operation::CreateSubscription;
        // BillaBear starts every subscription now and charges its first period at once.
        new.check_dates(&self.capabilities, Utc::now())?;
        let schedule = match new.interval.or(self.default_interval) {
            None => None,
            Some(i) => Some(convert::schedule_of(i).ok_or_else(|| {
                Error::invalid_input(format!(
                    "BillaBear prices are weekly, monthly or yearly, not {i:?}"
                ))
            })?),
        };
        let currency = new.currency.or(self.default_currency);
        let customer_id = self.customer_id(op, &new.customer).await?;
        let plan = self.find_plan(op, &new.plan).await?;
        // No idempotency key and no lookup by metadata: make sure the key is unused first.
        let existing = match self.subscriptions.get(&new.key) {
            Some(entry) => Some(entry),
            None => self
                .scan_subscriptions(op, &new.key)
                .await?
                .map(|(_, entry)| entry),
        };
        if let Some(entry) = existing {
            return Err(billing_core::raw::subscription_exists(
                &new.key,
                entry.customer.as_ref(),
            ));
        }
        let price = convert::choose_price(&plan, currency.map(|c| c.code()), schedule)?;
        let body = wire::StartSubscription {
            subscription_plan: &plan.id,
            price: &price.id,
            seat_number: 1,
            metadata: convert::subscription_metadata(&new.key, &new.customer),
        };
        let raw: Value = self
            .send_json(
                op,
                Method::POST,
                &["customer", &customer_id, "subscription", "start"],
                &body,
            )
            .await?
            .json()?;
        let w: wire::Subscription = decode_value(&raw, "BillaBear subscription")?;
        let (_, entry) = self
            .remember(&w, Some(&new.customer))
            .ok_or_else(|| Error::decode("BillaBear did not keep the subscription's metadata"))?;
        self.to_subscription(Record { wire: w, raw }, &entry, &new.key)
    }

    async fn get_subscription_inner(&self, key: &SubscriptionKey) -> Result<Subscription> {
        let (record, entry) = self
            .subscription_record(Operation::GetSubscription, key)
            .await?;
        self.to_subscription(record, &entry, key)
    }

    async fn list_subscriptions_inner(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let op = Operation::ListSubscriptions;
        let query = pager::page_query(page)?;
        let customer_id = self.customer_id(op, customer).await?;
        let mut params = query.params("per_page");
        params.push(("customer", customer_id));
        let list: wire::List<Value> = self
            .get_as(op, &["subscription"], params, "subscription list")
            .await?;
        let next = pager::next_cursor(&list)?;
        let now = Utc::now();
        let mut items = Vec::with_capacity(list.data.len());
        for raw in list.data {
            let w: wire::Subscription = decode_value(&raw, "BillaBear subscription")?;
            // Subscriptions created outside this library have no key: they are not listed.
            if self.remember(&w, Some(customer)).is_none() {
                continue;
            }
            items.push(convert::subscription(&w, raw, customer.clone(), now)?);
        }
        Ok(Page::new(items, next))
    }

    async fn cancel_subscription_inner(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        let op = Operation::CancelSubscription;
        let (record, entry) = self.subscription_record(op, key).await?;
        let id = record.wire.id.clone();
        let current = self.to_subscription(record, &entry, key)?;
        match (current.status, at) {
            (billing_core::SubscriptionStatus::Canceled, _)
            | (billing_core::SubscriptionStatus::CancelScheduled, CancelAt::PeriodEnd) => {
                return Ok(current);
            }
            _ => {}
        }
        let body = wire::Cancel {
            when: match at {
                CancelAt::Now => "instantly",
                CancelAt::PeriodEnd => "end-of-run",
            },
            refund_type: "none",
        };
        self.send_json(op, Method::POST, &["subscription", &id, "cancel"], &body)
            .await?;
        self.read_back(op, &id, key, entry.customer.as_ref()).await
    }

    async fn change_plan_inner(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let op = Operation::ChangePlan;
        match at {
            ChangeAt::Now => {}
            ChangeAt::PeriodEnd => {
                return Err(Error::unsupported(
                    "BillaBear applies a `next-cycle` plan change immediately, so a change at \
                     period end cannot be honoured",
                ));
            }
            _ => {
                return Err(Error::unsupported(
                    "BillaBear has no default timing for a plan change; use ChangeAt::Now",
                ));
            }
        }
        let (record, entry) = self.subscription_record(op, key).await?;
        let new_plan = self.find_plan(op, plan).await?;
        let id = record.wire.id.clone();
        let current_price = record.wire.price.clone();
        let current = self.to_subscription(record, &entry, key)?;
        if current.status.is_ended() {
            return Err(Error::conflict(format!("subscription `{key}` is canceled")));
        }
        if &current.plan == plan {
            return Ok(current);
        }
        let price =
            convert::replacement_price(&new_plan, current_price.as_ref()).ok_or_else(|| {
                Error::invalid_input(format!(
                    "plan `{plan}` has no price in the subscription's currency and schedule"
                ))
            })?;
        let body = wire::ChangePlan {
            plan: &new_plan.id,
            price: &price.id,
            when: "instantly",
        };
        self.send_json(op, Method::POST, &["subscription", &id, "plan"], &body)
            .await?;
        self.read_back(op, &id, key, entry.customer.as_ref()).await
    }
}

#[async_trait]
impl SubscriptionStore for BillaBear {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        self.create_subscription_inner(new).await
    }

    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        self.get_subscription_inner(key).await
    }

    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        self.list_subscriptions_inner(customer, page).await
    }

    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        self.cancel_subscription_inner(key, at).await
    }

    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        self.change_plan_inner(key, plan, at).await
    }
}
