//! Subscriptions (Kill Bill entitlements), addressed by their `externalKey`.

use async_trait::async_trait;
use billing_core::chrono::{DateTime, Datelike, Utc};
use billing_core::{
    CancelAt, ChangeAt, CustomerKey, Error, ErrorKind, NewSubscription, Operation, Page,
    PageRequest, PlanCode, Result, Start, Subscription, SubscriptionKey, SubscriptionStatus,
    SubscriptionStore,
};
use billing_http::{ApiRequest, Method};
use serde::Deserialize;

use super::KillBill;
use crate::convert;
use crate::error::{SUB_CANCEL_BAD_STATE, code_of_error};
use crate::pager::OffsetPage;
use crate::wire;

/// A cancel answered 500 with code 1031 (SUB_CANCEL_BAD_STATE) hit a subscription that is
/// already cancelled: cancelling twice is a success.
fn accept_already_cancelled<T>(result: Result<T>) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if code_of_error(&e) == Some(SUB_CANCEL_BAD_STATE) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A create's dates as Kill Bill takes them: `entitlementDate` (the service start),
/// `billingDate` (the billing anchor, or the start), `migrated=true` for a subscription that
/// was running before (its source type reads `MIGRATED`), and the anchor's day as the
/// subscription's own bill-cycle day. Without a start or an anchor, none is sent: the server
/// starts both now.
#[derive(Debug, Clone, Copy)]
struct CreateDates {
    entitlement: Option<DateTime<Utc>>,
    billing: Option<DateTime<Utc>>,
    migrated: bool,
    bill_cycle_day: Option<u32>,
}

impl CreateDates {
    fn of(new: &NewSubscription, capabilities: &billing_core::Capabilities) -> Result<Self> {
        let now = Utc::now();
        let start = new.check_dates(capabilities, now)?;
        let entitlement = start.at();
        // Kill Bill bills from `billingDate`, which defaults to now (not to the entitlement
        // date): a start without an anchor bills from the start.
        let billing = new.billing_anchor.or(entitlement);
        Ok(Self {
            entitlement,
            billing,
            migrated: matches!(start, Start::Past(_)),
            // Accounts this adapter creates are in UTC, where the anchor's day is its UTC day.
            bill_cycle_day: new.billing_anchor.map(|a| a.day()),
        })
    }

    fn apply(self, mut request: ApiRequest) -> ApiRequest {
        if let Some(t) = self.entitlement {
            request = request.query("entitlementDate", convert::fmt_datetime(t));
        }
        if let Some(t) = self.billing {
            request = request.query("billingDate", convert::fmt_datetime(t));
        }
        if self.migrated {
            request = request.query("migrated", "true");
        }
        request
    }
}

impl KillBill {
    /// For a change or cancel "at the end of the period": Kill Bill's END_OF_TERM policy when
    /// the server knows the term (a `chargedThroughDate`), otherwise the end of the current
    /// period as a `requestedDate` (a local date, which the server turns into that day at the
    /// account's reference time, as it does for END_OF_TERM). Without this, an END_OF_TERM
    /// request made before the first invoice, or on a usage-only plan, acts at once.
    fn at_period_end(
        &self,
        request: ApiRequest,
        sub: &wire::Subscription,
        policy_params: &[&'static str],
    ) -> ApiRequest {
        let tod = sub
            .account_id
            .as_ref()
            .and_then(|id| self.accounts.get(id))
            .and_then(|a| a.tod);
        match convert::usage_period(sub, tod, Utc::now()) {
            Some(p) if !convert::term_is_known(sub) => {
                let request = request.query("requestedDate", convert::fmt_date(p.end.date_naive()));
                // A cancel's billing follows the catalog unless told to use the same date.
                if policy_params.contains(&"entitlementPolicy") {
                    request.query("useRequestedDateForBilling", "true")
                } else {
                    request
                }
            }
            _ => policy_params
                .iter()
                .fold(request, |r, name| r.query(*name, "END_OF_TERM")),
        }
    }

    async fn create_sub(&self, new: &NewSubscription) -> Result<Subscription> {
        let op = Operation::CreateSubscription;
        let dates = CreateDates::of(new, &self.capabilities)?;
        // The customer first: an unknown one is NotFound, whatever the key.
        self.account_id(op, &new.customer).await?;
        // A duplicate key would reach the database's unique index and come back as a 500 with
        // the database's own text, so it is looked up first.
        match self.subscription_by_key(op, &new.key).await {
            Ok((existing, _)) => {
                // Whose it is: one read of the account unless it is cached.
                let owner = match existing.account_id.as_deref() {
                    Some(id) => self.account_ref(op, id).await.ok().map(|a| a.key),
                    None => None,
                };
                return Err(billing_core::raw::subscription_exists(
                    &new.key,
                    owner.as_ref(),
                ));
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let post = |account_id: String| async move {
            let body = wire::SubscriptionIn {
                account_id,
                plan_name: new.plan.as_str().to_owned(),
                external_key: new.key.as_str().to_owned(),
                bill_cycle_day_local: dates.bill_cycle_day,
            };
            let request = dates.apply(
                self.write(op, Method::POST, &["subscriptions"])?
                    .json(&body)?,
            );
            self.http.send_ok(request).await
        };
        let response = self
            .with_account_id(op, &new.customer, post)
            .await
            .map_err(|e| {
                // A create racing another one of the same key (the error parser reads the
                // database's unique index off the 500).
                if e.kind() == ErrorKind::AlreadyExists {
                    let taken = billing_core::raw::subscription_exists(&new.key, None);
                    e.with_message(taken.message().to_owned())
                } else {
                    e
                }
            })?;
        let (sub, raw) = match self.created_id(&response, "subscriptions") {
            Some(id) => self.subscription_by_id(op, &id).await?,
            None => self.subscription_by_key(op, &new.key).await?,
        };
        self.to_subscription(op, &sub, raw).await
    }

    async fn list_subs(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let op = Operation::ListSubscriptions;
        let offset = OffsetPage::of(page)?;
        let bundles = self
            .with_account_id(op, customer, |id| async move {
                let request = self.request(op, Method::GET, &["accounts", &id, "bundles"])?;
                self.fetch::<Vec<wire::Bundle>>(request).await
            })
            .await?
            .0;
        let tod = self
            .account_ids
            .get(customer)
            .and_then(|id| self.accounts.get(&id))
            .and_then(|a| a.tod);
        let now = Utc::now();
        let mut all = Vec::new();
        for raw in bundles.into_iter().flat_map(|b| b.subscriptions) {
            let sub = wire::Subscription::deserialize(&raw)
                .map_err(|e| Error::decode(format!("unexpected SubscriptionJson: {e}")))?;
            self.remember_subscription(&sub);
            all.push(convert::subscription(
                &sub,
                customer.clone(),
                tod,
                now,
                Some(raw),
            )?);
        }
        Ok(offset.slice(all))
    }

    async fn cancel_sub(&self, key: &SubscriptionKey, at: CancelAt) -> Result<Subscription> {
        let op = Operation::CancelSubscription;
        let id = match at {
            // No read first: an already cancelled subscription answers 500/1031, which is the
            // idempotent success the contract asks for.
            CancelAt::Now => {
                self.with_subscription_id(op, key, |id| async move {
                    let request = self
                        .write(op, Method::DELETE, &["subscriptions", &id])?
                        .query("entitlementPolicy", "IMMEDIATE")
                        .query("billingPolicy", "IMMEDIATE");
                    accept_already_cancelled(self.http.send_ok(request).await)?;
                    Ok(id)
                })
                .await?
            }
            // The current state decides: nothing to do once cancelled or already scheduled,
            // and the policy depends on whether the server knows the term.
            CancelAt::PeriodEnd => {
                let (sub, raw) = self.subscription_by_key(op, key).await?;
                let (status, _) = convert::status(&sub);
                if status.is_ended() || status == SubscriptionStatus::CancelScheduled {
                    return self.to_subscription(op, &sub, raw).await;
                }
                let id = sub
                    .subscription_id
                    .clone()
                    .ok_or_else(|| Error::decode("SubscriptionJson without subscriptionId"))?;
                let request = self.write(op, Method::DELETE, &["subscriptions", &id])?;
                let request =
                    self.at_period_end(request, &sub, &["entitlementPolicy", "billingPolicy"]);
                accept_already_cancelled(self.http.send_ok(request).await)?;
                id
            }
        };
        let (sub, raw) = self.subscription_by_id(op, &id).await?;
        self.to_subscription(op, &sub, raw).await
    }

    async fn change_sub(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let op = Operation::ChangePlan;
        let (sub, raw) = self.subscription_by_key(op, key).await?;
        let (status, _) = convert::status(&sub);
        if status.is_ended() {
            return Err(Error::conflict(format!("subscription `{key}` is canceled")));
        }
        if sub.plan_name.as_deref() == Some(plan.as_str()) {
            return self.to_subscription(op, &sub, raw).await;
        }
        let id = sub
            .subscription_id
            .clone()
            .ok_or_else(|| Error::decode("SubscriptionJson without subscriptionId"))?;
        let request = self
            .write(op, Method::PUT, &["subscriptions", &id])?
            .json(&wire::PlanChange {
                plan_name: plan.as_str().to_owned(),
            })?
            // A change is not resent after an unknown outcome: a second CHANGE event is not
            // harmless on every catalog.
            .idempotency(billing_http::Idempotency::NotIdempotent);
        let request = match at {
            // IMMEDIATE rather than `requestedDate=<now>`: the server's clock decides, so a
            // client clock ahead of the server's cannot turn "now" into a scheduled change.
            ChangeAt::Now => request.query("billingPolicy", "IMMEDIATE"),
            ChangeAt::PeriodEnd => self.at_period_end(request, &sub, &["billingPolicy"]),
            // The catalog's changePolicy decides.
            ChangeAt::VendorDefault => request,
        };
        self.http.send_ok(request).await?;
        let (sub, raw) = self.subscription_by_id(op, &id).await?;
        self.to_subscription(op, &sub, raw).await
    }

    async fn get_sub(&self, key: &SubscriptionKey) -> Result<Subscription> {
        let op = Operation::GetSubscription;
        let (sub, raw) = self.subscription_by_key(op, key).await?;
        self.to_subscription(op, &sub, raw).await
    }
}

#[async_trait]
impl SubscriptionStore for KillBill {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        self.create_sub(new).await
    }

    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        self.get_sub(key).await
    }

    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        self.list_subs(customer, page).await
    }

    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        self.cancel_sub(key, at).await
    }

    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        self.change_sub(key, plan, at).await
    }
}
