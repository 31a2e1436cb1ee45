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
use crate::capabilities::{Capabilities, CustomerDeletion};
use crate::catalog::{Catalog, Plan};
use crate::customer::{Customer, CustomerPatch, CustomerStatus, NewCustomer};
use crate::error::{Error, Result};
use crate::faults::{FaultInjection, Faults, Faulty};
use crate::key::{CustomerKey, PlanCode, SubscriptionKey};
use crate::layer::{Layer, WithErrorContext};
use crate::money::Money;
use crate::page::{MAX_PAGE_LIMIT, Page, PageRequest};
use crate::start::Start;
use crate::subscription::{
    CancelAt, ChangeAt, NewSubscription, ScheduledChange, Subscription, SubscriptionStatus,
};
use crate::usage::{EventOutcome, UsageEvent, UsageLine, UsagePeriod, UsageQuery, UsageSummary};

use period::{billing_period, current_period};
use state::{State, StoredEvent};

const NAME: &str = "memory";

/// Without `usage_backdated`, how far from now an event's timestamp may be (BillaBear's default
/// tolerance).
const BACKDATE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(300);

/// A source of the current time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A complete backend held in memory, safe to share between tasks: the embedded default and a
/// test double for applications.
///
/// By default it supports everything ([`Capabilities::full`]), removes customers on delete,
/// decides `ChangeAt::VendorDefault` as Lago does (upgrades by annualised base fee apply now,
/// downgrades at period end), and prices usage with the catalog's unit prices. Its errors carry
/// the backend name `memory` and the operation.
///
/// As a test double it can
/// - take any [`Capabilities`], a vendor's real set included (each adapter exports its own as
///   `capabilities()`), and then behaves as the contract says for each flag: `Unsupported` for
///   what is switched off, customers closed rather than removed, duplicates counted again without
///   deduplication, timestamps far from now refused without backdating;
/// - fail calls as a [`Faults`] script says, per operation ([`InMemoryBackend::faults`]);
/// - run on a clock the test moves ([`ManualClock`]).
///
/// ```
/// use billing_core::memory::{InMemoryBackend, ManualClock};
/// use billing_core::{Capabilities, CustomerDeletion, ErrorKind, Operation};
///
/// let mut caps = Capabilities::full();
/// caps.customer_delete = Some(CustomerDeletion::Close);
/// caps.usage_range = false;
/// let clock = ManualClock::starting_now();
/// let backend = InMemoryBackend::default()
///     .with_capabilities(caps)
///     .with_clock(clock.clock());
/// backend.faults().fail_next(Operation::RecordUsage, ErrorKind::RateLimited, 1);
/// clock.advance(std::time::Duration::from_secs(3600));
/// ```
#[derive(Debug)]
pub struct InMemoryBackend {
    inner: WithErrorContext<Faulty<Memory>>,
}

/// The backend itself; [`InMemoryBackend`] adds fault injection and the error context.
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
            .field("capabilities", &self.capabilities)
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
            inner: WithErrorContext::new(FaultInjection::default().layer(memory)),
        }
    }

    /// A backend with [`Catalog::sample`].
    pub fn with_sample_catalog() -> Self {
        Self::new(Catalog::sample())
    }

    /// Behaves as a backend with these capabilities (see the type's docs), for example a
    /// vendor's: `InMemoryBackend::default().with_capabilities(adapter_killbill::capabilities())`.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.memory_mut().capabilities = capabilities;
        self
    }

    /// Replaces the clock (for tests that move time forward; see [`ManualClock`]).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.memory_mut().clock = clock;
        self
    }

    /// The failure script: calls fail as it says, per operation, before reaching the backend
    /// (or after, with the answer lost). Empty at first; change it at any time.
    pub fn faults(&self) -> &Faults {
        self.inner.get_ref().faults()
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.get_ref().get_ref().catalog
    }

    fn memory_mut(&mut self) -> &mut Memory {
        self.inner.get_mut().get_mut()
    }
}

/// A clock a test sets and moves: `clock()` gives the [`Clock`] for
/// [`InMemoryBackend::with_clock`]; clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A clock standing at the current time (it does not move by itself).
    pub fn starting_now() -> Self {
        Self::new(Utc::now())
    }

    /// The time it shows.
    pub fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the time.
    pub fn set(&self, at: DateTime<Utc>) {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    /// Moves the time forward (a duration too large to represent leaves it unchanged).
    pub fn advance(&self, by: std::time::Duration) {
        if let Ok(by) = chrono::Duration::from_std(by) {
            let mut now = self
                .now
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *now = now.checked_add_signed(by).unwrap_or(*now);
        }
    }

    /// The [`Clock`] reading this one.
    pub fn clock(&self) -> Clock {
        let this = self.clone();
        Arc::new(move || this.now())
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
        if sub.status == SubscriptionStatus::Pending && sub.started_at.is_some_and(|s| s <= now) {
            set_status(sub, SubscriptionStatus::Active);
        }
        if let (Some(start), Ok(plan)) = (sub.started_at, self.plan(&sub.plan))
            && !sub.status.is_ended()
        {
            sub.current_period = Some(billing_period(
                start,
                sub.billing_anchor,
                plan.interval,
                now,
            ));
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

    /// Without `usage_per_subscription`, usage is counted per customer and metric: a query is
    /// answered only when no other running subscription of the customer meters a metric it
    /// covers, and is a `Conflict` naming that subscription otherwise.
    fn check_only_meter(
        &self,
        state: &mut State,
        sub: &Subscription,
        plan: &Plan,
        metric: Option<&crate::MetricCode>,
    ) -> Result<()> {
        let covered: Vec<&crate::MetricCode> = match metric {
            Some(m) => vec![m],
            None => plan.charges.iter().map(|c| &c.metric).collect(),
        };
        for other in state.subscription_keys_of(&sub.customer) {
            if other == sub.key {
                continue;
            }
            let Ok(other) = self.settled(state, &other) else {
                continue;
            };
            let Ok(other_plan) = self.plan(&other.plan) else {
                continue;
            };
            if !other.status.is_ended()
                && let Some(m) = covered.iter().find(|m| other_plan.charge(m).is_some())
            {
                return Err(Error::conflict(format!(
                    "subscription `{}` of customer `{}` also meters `{m}`, and this backend \
                     counts usage per customer and metric: `{}`'s own usage cannot be told apart",
                    other.key, sub.customer, sub.key
                )));
            }
        }
        Ok(())
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
        let now = self.now();
        let timestamp = if self.capabilities.usage_backdated {
            event.timestamp
        } else {
            // Attributed to the time of receipt; a timestamp too far from it is refused.
            let off = (event.timestamp - now).abs();
            if off > chrono::Duration::from_std(BACKDATE_TOLERANCE).unwrap_or(chrono::Duration::MAX)
            {
                return reject(Error::unsupported(format!(
                    "this backend stamps events with the time it receives them; event {} is \
                     dated more than {} s away",
                    event.id,
                    BACKDATE_TOLERANCE.as_secs()
                )));
            }
            now.trunc_subsecs(3)
        };
        let stored = StoredEvent {
            timestamp,
            metric: event.metric.clone(),
            quantity: event.quantity,
        };
        let dedup = self.capabilities.usage_dedup_by_event_id;
        if state.record(&event.subscription, &event.id, stored, dedup) {
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
        if self.capabilities.customer_email_required && new.email.is_none() {
            return Err(Error::invalid_input(
                "this backend requires an email address for every customer",
            ));
        }
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
        if !self.capabilities.customer_update {
            return Err(Error::unsupported("updating customers"));
        }
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
        let Some(deletion) = self.capabilities.customer_delete else {
            return Err(Error::unsupported("deleting customers"));
        };
        let mut state = self.lock();
        match state.customer(key) {
            None => return Err(Error::not_found(format!("no customer `{key}`"))),
            Some(c) if c.status == CustomerStatus::Closed => return Ok(()),
            Some(_) => {}
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
        match deletion {
            CustomerDeletion::Remove => {
                state.remove_customer(key);
            }
            CustomerDeletion::Close => {
                if let Some(c) = state.customer_mut(key) {
                    c.status = CustomerStatus::Closed;
                }
            }
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
        // Whole milliseconds, like event timestamps: an event recorded right after the
        // subscription was created must fall inside its first period.
        let now = self.now().trunc_subsecs(3);
        let start = new.check_dates(&self.capabilities, now)?;
        let mut state = self.lock();
        if state.customer(&new.customer).is_none() {
            return Err(Error::not_found(format!("no customer `{}`", new.customer)));
        }
        let plan = self.plan(&new.plan)?;
        if let Some(existing) = state.subscription(&new.key) {
            return Err(crate::raw::subscription_exists(
                &new.key,
                Some(&existing.customer),
            ));
        }
        let started_at = start.at().map_or(now, |t| t.trunc_subsecs(3));
        let status = match start {
            Start::Future(_) => SubscriptionStatus::Pending,
            Start::Now | Start::Past(_) => SubscriptionStatus::Active,
        };
        let billing_anchor = new.billing_anchor.map(|a| a.trunc_subsecs(3));
        let sub = Subscription {
            key: new.key.clone(),
            vendor_id: format!("mem-sub-{}", new.key),
            customer: new.customer.clone(),
            plan: plan.code.clone(),
            status,
            raw_status: raw_status(status).to_owned(),
            started_at: Some(started_at),
            billing_anchor: Some(billing_anchor.unwrap_or(started_at)),
            current_period: Some(billing_period(
                started_at,
                billing_anchor,
                plan.interval,
                now,
            )),
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
        let allowed = match at {
            CancelAt::Now => self.capabilities.cancel_now,
            CancelAt::PeriodEnd => self.capabilities.cancel_at_period_end,
        };
        if !allowed {
            return Err(Error::unsupported(format!("cancelling {at:?}")));
        }
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
        let allowed = match at {
            ChangeAt::Now => self.capabilities.change_plan_now,
            ChangeAt::PeriodEnd => self.capabilities.change_plan_at_period_end,
            ChangeAt::VendorDefault => self.capabilities.change_plan_vendor_default,
        };
        if !allowed {
            return Err(Error::unsupported(format!("changing plans {at:?}")));
        }
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
        // A repeat within the batch is never recorded twice, with or without deduplication
        // (the adapters never send it).
        let mut batch = std::collections::HashSet::new();
        events
            .iter()
            .map(|e| {
                if !batch.insert((&e.subscription, &e.id)) && e.validate().is_ok() {
                    return EventOutcome::Duplicate;
                }
                self.record_one(&mut state, e)
            })
            .collect()
    }
}

#[async_trait]
impl UsageReader for Memory {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let allowed = match query.period {
            UsagePeriod::Current => self.capabilities.usage_current_period,
            UsagePeriod::Range { .. } => self.capabilities.usage_range,
        };
        if !allowed {
            return Err(Error::unsupported(format!("usage over {:?}", query.period)));
        }
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
        if !self.capabilities.usage_per_subscription {
            self.check_only_meter(&mut state, &sub, plan, query.metric.as_ref())?;
        }
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
                Some(c) if self.capabilities.usage_amounts => Some(Money::from_major_rounded(
                    c.unit_price * quantity,
                    plan.base_fee.currency,
                )?),
                _ => None,
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
