//! The in-memory backend: the reference implementation of every behaviour of the contract, and
//! the embedded default (`provider = "memory"`), so applications and examples run with no server.

mod period;
mod state;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::Decimal;

use crate::backend::{
    BackendInfo, BillingBackend, CustomerStore, SubscriptionStore, UsageReader, UsageRecorder,
};
use crate::capabilities::Capabilities;
use crate::catalog::{Catalog, Plan};
use crate::customer::{Customer, CustomerPatch, CustomerStatus, NewCustomer};
use crate::error::{Error, Result};
use crate::key::{CustomerKey, PlanCode, SubscriptionKey};
use crate::layer::WithErrorContext;
use crate::money::Money;
use crate::page::{MAX_PAGE_LIMIT, Page, PageRequest};
use crate::subscription::{
    CancelAt, ChangeAt, NewSubscription, ScheduledChange, Subscription, SubscriptionStatus,
};
use crate::usage::{EventOutcome, UsageEvent, UsageLine, UsagePeriod, UsageQuery, UsageSummary};

use period::current_period;
use state::{State, StoredEvent};

const NAME: &str = "memory";

/// A source of the current time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A complete backend held in memory, safe to share between tasks.
///
/// It supports everything ([`Capabilities::full`]), removes customers on delete, decides
/// `ChangeAt::VendorDefault` as Lago does (upgrades by annualised base fee apply now, downgrades
/// at period end), and prices usage with the catalog's unit prices. Its errors carry the backend
/// name `memory` and the operation ([`ErrorContext`](crate::layer::ErrorContext)).
#[derive(Debug)]
pub struct InMemoryBackend {
    inner: WithErrorContext<Memory>,
}

/// The backend itself; [`InMemoryBackend`] adds the error context.
struct Memory {
    state: Mutex<State>,
    catalog: Catalog,
    capabilities: Capabilities,
    clock: Clock,
}

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryBackend")
            .field("plans", &self.catalog.plans().count())
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryBackend {
    fn default() -> Self {
        Self::with_sample_catalog()
    }
}

impl InMemoryBackend {
    /// A backend with the given catalog.
    pub fn new(catalog: Catalog) -> Self {
        let memory = Memory {
            state: Mutex::new(State::default()),
            catalog,
            capabilities: Capabilities::full(),
            clock: Arc::new(Utc::now),
        };
        Self {
            inner: WithErrorContext::new(memory),
        }
    }

    /// A backend with [`Catalog::sample`].
    pub fn with_sample_catalog() -> Self {
        Self::new(Catalog::sample())
    }

    /// Replaces the clock (for tests that move time forward).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.inner.get_mut().clock = clock;
        self
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.get_ref().catalog
    }
}

crate::delegate_backend!(InMemoryBackend => inner);

impl Memory {
    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written (every mutation is
        // a single insert or field assignment), so a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn plan(&self, code: &PlanCode) -> Result<&Plan> {
        self.catalog
            .plan(code)
            .ok_or_else(|| Error::not_found(format!("no plan `{code}`")))
    }

    /// Applies scheduled cancellations and plan changes whose time has come.
    fn settle(&self, sub: &mut Subscription) {
        let now = self.now();
        if let Some(change) = &sub.scheduled_change
            && change.at.is_some_and(|at| at <= now)
        {
            sub.plan = change.plan.clone();
            sub.scheduled_change = None;
        }
        if sub.status == SubscriptionStatus::CancelScheduled
            && sub.ends_at.is_some_and(|e| e <= now)
        {
            set_status(sub, SubscriptionStatus::Canceled);
        }
        if let (Some(start), Ok(plan)) = (sub.started_at, self.plan(&sub.plan))
            && !sub.status.is_ended()
        {
            sub.current_period = Some(current_period(start, plan.interval, now));
        }
    }

    fn settled(&self, state: &mut State, key: &SubscriptionKey) -> Result<Subscription> {
        let sub = state
            .subscription_mut(key)
            .ok_or_else(|| Error::not_found(format!("no subscription `{key}`")))?;
        self.settle(sub);
        Ok(sub.clone())
    }

    fn check_metadata(&self, metadata: &crate::Metadata) -> Result<()> {
        match &self.capabilities.customer_metadata {
            Some(limits) => limits.check(metadata),
            None if metadata.is_empty() => Ok(()),
            None => Err(Error::unsupported("customer metadata")),
        }
    }

    fn record_one(&self, state: &mut State, event: &UsageEvent) -> EventOutcome {
        let reject = EventOutcome::Rejected;
        if let Err(e) = event.validate() {
            return reject(e);
        }
        if state.subscription(&event.subscription).is_none() {
            return reject(Error::not_found(format!(
                "no subscription `{}`",
                event.subscription
            )));
        }
        if self.catalog.metric(&event.metric).is_none() {
            return reject(Error::not_found(format!("no metric `{}`", event.metric)));
        }
        if let Some(sub) = state.subscription_mut(&event.subscription) {
            self.settle(sub);
        }
        if state.is_canceled(&event.subscription) {
            return reject(Error::conflict(format!(
                "subscription `{}` is canceled",
                event.subscription
            )));
        }
        let stored = StoredEvent {
            timestamp: event.timestamp,
            metric: event.metric.clone(),
            quantity: event.quantity,
        };
        if state.record(&event.subscription, &event.id, stored) {
            EventOutcome::Accepted
        } else {
            EventOutcome::Duplicate
        }
    }
}

fn set_status(sub: &mut Subscription, status: SubscriptionStatus) {
    sub.status = status;
    sub.raw_status = raw_status(status).to_owned();
}

fn raw_status(status: SubscriptionStatus) -> &'static str {
    match status {
        SubscriptionStatus::Pending => "pending",
        SubscriptionStatus::Trialing => "trialing",
        SubscriptionStatus::Active => "active",
        SubscriptionStatus::CancelScheduled => "cancel_scheduled",
        SubscriptionStatus::Canceled => "canceled",
        SubscriptionStatus::PastDue => "past_due",
        SubscriptionStatus::Paused => "paused",
        _ => "other",
    }
}

fn annualised_minor(plan: &Plan) -> i128 {
    use crate::subscription::BillingInterval::*;
    let per_year = match plan.interval {
        Weekly => 52,
        Monthly => 12,
        Quarterly => 4,
        Yearly => 1,
        // A future interval would be reviewed here; treat it as yearly until then.
        #[allow(unreachable_patterns)]
        _ => 1,
    };
    i128::from(plan.base_fee.minor) * per_year
}

#[async_trait]
impl CustomerStore for Memory {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        new.validate()?;
        self.check_metadata(&new.metadata)?;
        let mut state = self.lock();
        if state.customer(&new.key).is_some() {
            return Err(Error::already_exists(format!(
                "customer `{}` already exists",
                new.key
            )));
        }
        let mut customer = Customer::from_new(new, format!("mem-cus-{}", new.key));
        customer.created_at = Some(self.now());
        state.insert_customer(customer.clone());
        Ok(customer)
    }

    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        self.lock()
            .customer(key)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no customer `{key}`")))
    }

    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        patch.validate()?;
        if let Some(m) = &patch.metadata {
            self.check_metadata(m)?;
        }
        let mut state = self.lock();
        let customer = state
            .customer_mut(key)
            .ok_or_else(|| Error::not_found(format!("no customer `{key}`")))?;
        patch.apply_to(customer);
        Ok(customer.clone())
    }

    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        let mut state = self.lock();
        if state.customer(key).is_none() {
            return Err(Error::not_found(format!("no customer `{key}`")));
        }
        let now = self.now();
        for sub_key in state.subscription_keys_of(key) {
            if let Some(sub) = state.subscription_mut(&sub_key)
                && !sub.status.is_ended()
            {
                set_status(sub, SubscriptionStatus::Canceled);
                sub.ends_at = Some(now);
                sub.scheduled_change = None;
                sub.current_period = None;
            }
        }
        if let Some(mut removed) = state.remove_customer(key) {
            removed.status = CustomerStatus::Closed;
        }
        Ok(())
    }

    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let limit = crate::page::page_limit(page, MAX_PAGE_LIMIT)?;
        self.lock().customer_page(page, limit)
    }
}

#[async_trait]
impl SubscriptionStore for Memory {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        let mut state = self.lock();
        if state.customer(&new.customer).is_none() {
            return Err(Error::not_found(format!("no customer `{}`", new.customer)));
        }
        let plan = self.plan(&new.plan)?;
        if state.subscription(&new.key).is_some() {
            return Err(Error::already_exists(format!(
                "subscription `{}` already exists",
                new.key
            )));
        }
        // Whole milliseconds, like event timestamps: an event recorded right after the
        // subscription was created must fall inside its first period.
        let now = self.now().trunc_subsecs(3);
        let sub = Subscription {
            key: new.key.clone(),
            vendor_id: format!("mem-sub-{}", new.key),
            customer: new.customer.clone(),
            plan: plan.code.clone(),
            status: SubscriptionStatus::Active,
            raw_status: raw_status(SubscriptionStatus::Active).to_owned(),
            started_at: Some(now),
            current_period: Some(current_period(now, plan.interval, now)),
            ends_at: None,
            scheduled_change: None,
            raw: None,
        };
        state.insert_subscription(sub.clone());
        Ok(sub)
    }

    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        self.settled(&mut self.lock(), key)
    }

    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        let limit = crate::page::page_limit(page, MAX_PAGE_LIMIT)?;
        let mut state = self.lock();
        if state.customer(customer).is_none() {
            return Err(Error::not_found(format!("no customer `{customer}`")));
        }
        let keys = state.subscription_page(customer, page, limit)?;
        let mut items = Vec::with_capacity(keys.items.len());
        for key in &keys.items {
            items.push(self.settled(&mut state, key)?);
        }
        Ok(Page::new(items, keys.next))
    }

    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        let mut state = self.lock();
        let mut sub = self.settled(&mut state, key)?;
        let now = self.now();
        match (sub.status, at) {
            (SubscriptionStatus::Canceled, _) => return Ok(sub),
            (SubscriptionStatus::CancelScheduled, CancelAt::PeriodEnd) => return Ok(sub),
            (_, CancelAt::Now) => {
                set_status(&mut sub, SubscriptionStatus::Canceled);
                sub.ends_at = Some(now);
                sub.current_period = None;
            }
            (_, CancelAt::PeriodEnd) => {
                set_status(&mut sub, SubscriptionStatus::CancelScheduled);
                sub.ends_at = Some(sub.current_period.map_or(now, |p| p.end));
            }
        }
        sub.scheduled_change = None;
        if let Some(stored) = state.subscription_mut(key) {
            *stored = sub.clone();
        }
        Ok(sub)
    }

    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        let mut state = self.lock();
        let mut sub = self.settled(&mut state, key)?;
        let new_plan = self.plan(plan)?;
        if sub.status.is_ended() {
            return Err(Error::conflict(format!("subscription `{key}` is canceled")));
        }
        if &sub.plan == plan {
            return Ok(sub);
        }
        let now_applies = match at {
            ChangeAt::Now => true,
            ChangeAt::PeriodEnd => false,
            ChangeAt::VendorDefault => {
                let current = self.plan(&sub.plan)?;
                annualised_minor(new_plan) >= annualised_minor(current)
            }
        };
        if now_applies {
            sub.plan = plan.clone();
            sub.scheduled_change = None;
        } else {
            sub.scheduled_change = Some(ScheduledChange {
                plan: plan.clone(),
                at: sub.current_period.map(|p| p.end),
            });
        }
        if let Some(stored) = state.subscription_mut(key) {
            *stored = sub.clone();
        }
        Ok(sub)
    }
}

#[async_trait]
impl UsageRecorder for Memory {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let mut state = self.lock();
        events
            .iter()
            .map(|e| self.record_one(&mut state, e))
            .collect()
    }
}

#[async_trait]
impl UsageReader for Memory {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        query.validate()?;
        if let Some(m) = &query.metric
            && self.catalog.metric(m).is_none()
        {
            return Err(Error::not_found(format!("no metric `{m}`")));
        }
        let mut state = self.lock();
        let sub = self.settled(&mut state, &query.subscription)?;
        let period = match query.period {
            UsagePeriod::Range { from, to } => crate::Period {
                start: from,
                end: to,
            },
            UsagePeriod::Current => match (sub.current_period, sub.started_at) {
                (Some(p), _) => p,
                // A canceled subscription's last period ends when it ended.
                (None, Some(start)) => {
                    let plan = self.plan(&sub.plan)?;
                    let end = sub.ends_at.unwrap_or_else(|| self.now());
                    let mut p = current_period(start, plan.interval, end);
                    p.end = p.end.min(end);
                    p
                }
                (None, None) => return Err(Error::unexpected("subscription has no start")),
            },
        };
        let plan = self.plan(&sub.plan)?;
        let mut totals: std::collections::BTreeMap<crate::MetricCode, Decimal> =
            std::collections::BTreeMap::new();
        if let Some(m) = &query.metric {
            totals.insert(m.clone(), Decimal::ZERO);
        }
        for e in state.events_of(&query.subscription) {
            if !period.contains(e.timestamp) {
                continue;
            }
            if query.metric.as_ref().is_some_and(|m| m != &e.metric) {
                continue;
            }
            *totals.entry(e.metric.clone()).or_default() += e.quantity;
        }
        let mut lines = Vec::with_capacity(totals.len());
        for (metric, quantity) in totals {
            if query.metric.is_none() && quantity.is_zero() {
                continue;
            }
            let amount = match plan.charge(&metric) {
                Some(c) => Some(Money::from_major_rounded(
                    c.unit_price * quantity,
                    plan.base_fee.currency,
                )?),
                None => None,
            };
            lines.push(UsageLine::new(metric, quantity, amount));
        }
        Ok(UsageSummary::new(period, lines))
    }
}

impl BillingBackend for Memory {
    fn info(&self) -> BackendInfo {
        BackendInfo::new(NAME, None)
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
}

#[cfg(test)]
mod tests;
