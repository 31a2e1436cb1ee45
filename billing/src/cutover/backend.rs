//! [`CutoverBackend`]: one `BillingBackend` over the vendor a business is leaving and the one it
//! is moving to.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use billing_core::chrono::{DateTime, Utc};
use billing_core::layer::WithErrorContext;
use billing_core::{
    BackendInfo, BillingBackend, CancelAt, Capabilities, ChangeAt, Customer, CustomerKey,
    CustomerPatch, CustomerStore, Error, ErrorKind, EventOutcome, NewCustomer, NewSubscription,
    Operation, Page, PageRequest, PlanCode, Result, Subscription, SubscriptionKey,
    SubscriptionStore, UsageEvent, UsageQuery, UsageReader, UsageRecorder, UsageSummary,
};

use super::capabilities::intersect;
use super::plan::CutoverPlan;
use super::usage;

/// The name a cutover backend reports.
pub const NAME: &str = "cutover";

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A backend over a `source` (the vendor billing until each subscription's cutover instant) and
/// a `target` (billing from it on), routed by a [`CutoverPlan`].
///
/// # What goes where
/// - **Usage events** go to the vendor that bills their timestamp: before the subscription's
///   instant the source, at or after it the target; a subscription not in the plan is the
///   target's. Every [`UsageEvent`] carries its timestamp from the moment it is built
///   (`UsageEvent::new` stamps the current time), so the vendor records the instant the route
///   was chosen by, and a retry of the same event goes the same way. A batch split across both
///   is sent to both at once and answered with one outcome per event, in order.
/// - **Usage reads** come from the vendor that bills the window: the current period from the
///   source until the instant and from the target after it; a range across the instant from
///   both, each for its side, summed.
/// - **Customer writes** (create, update, delete) go to the target, then the source, so neither
///   drifts. Reads and listings come from the target.
/// - **New subscriptions** live in the target only. Reads and listings come from the target.
/// - **Cancelling or changing the plan** of a subscription in the plan goes to the target, then
///   the source, for as long as the cutover lasts for it (cancellations always, so a late cancel
///   also stops the source if it still runs). `CancelAt::Now` ends it at once in both (the
///   source credits or keeps its billed period by its own rules). `CancelAt::PeriodEnd` ends it
///   at the end of the source's period, which is the target's billing anchor: the target never
///   bills it. `ChangeAt::Now` moves both at once (the target bills the new plan from the
///   anchor); `ChangeAt::PeriodEnd` moves it at the instant in both, so the target bills the new
///   plan from its first period. After the instant, plan changes go to the target alone.
/// - **A failure on one side is reported, never hidden:** if the target refuses, nothing is sent
///   to the source; if the target applied a write and the source refused it, the call fails
///   with the source's error kind and a message saying the target holds the change, so the
///   caller can retry the source or undo the target. (A source that already holds the state,
///   `AlreadyExists` on a create or `NotFound` on a delete, is not a failure.)
///
/// Capabilities are the intersection of both vendors' wherever a call goes to both
/// ([`super::intersect`]).
pub struct CutoverBackend {
    inner: WithErrorContext<Cutover>,
}

/// The cutover itself; [`CutoverBackend`] wraps it so that its own errors carry the backend
/// name `cutover` and the operation (errors of either vendor keep theirs).
struct Cutover {
    source: Arc<dyn BillingBackend>,
    target: Arc<dyn BillingBackend>,
    plan: CutoverPlan,
    capabilities: Capabilities,
    clock: Clock,
}

impl fmt::Debug for CutoverBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl fmt::Debug for Cutover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CutoverBackend")
            .field("source", &self.source.info())
            .field("target", &self.target.info())
            .field("subscriptions_in_plan", &self.plan.instants.len())
            .finish_non_exhaustive()
    }
}

impl CutoverBackend {
    /// A cutover from `source` to `target` by `plan`, on the system clock.
    pub fn new(
        source: Arc<dyn BillingBackend>,
        target: Arc<dyn BillingBackend>,
        plan: CutoverPlan,
    ) -> Self {
        let capabilities = intersect(source.capabilities(), target.capabilities());
        let cutover = Cutover {
            source,
            target,
            plan,
            capabilities,
            clock: Arc::new(Utc::now),
        };
        Self {
            inner: WithErrorContext::new(cutover),
        }
    }

    /// Decides "now" with `clock` instead of the system clock (for tests, and for simulated
    /// vendors whose clocks were moved).
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.inner.get_mut().clock = Arc::new(clock);
        self
    }

    /// The plan it routes by.
    pub fn plan(&self) -> &CutoverPlan {
        &self.inner.get_ref().plan
    }

    /// The vendor billing until the cutover instants.
    pub fn source(&self) -> &Arc<dyn BillingBackend> {
        &self.inner.get_ref().source
    }

    /// The vendor billing from them on.
    pub fn target(&self) -> &Arc<dyn BillingBackend> {
        &self.inner.get_ref().target
    }
}

billing_core::raw::delegate_backend!(CutoverBackend => inner);

impl Cutover {
    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Runs `write` on the target, then on the source. `settled` says which source errors mean
    /// the source already holds the outcome.
    async fn both<T, F, Fut>(
        &self,
        op: Operation,
        settled: impl Fn(&Error) -> bool,
        write: F,
    ) -> Result<T>
    where
        F: Fn(Arc<dyn BillingBackend>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let applied = write(self.target.clone()).await?;
        match write(self.source.clone()).await {
            Ok(_) => Ok(applied),
            Err(e) if settled(&e) => Ok(applied),
            Err(e) => Err(source_failed(op, e)),
        }
    }

    /// Whether a write on `key` still concerns the source.
    fn in_cutover(&self, key: &SubscriptionKey) -> bool {
        self.plan.is_cutting_over(key, self.now())
    }
}

/// The error of a write the target applied and the source refused: the source's kind,
/// temporariness and vendor detail, and a message saying the target holds the change.
fn source_failed(op: Operation, e: Error) -> Error {
    let mut out = Error::new(
        e.kind(),
        format!(
            "{} was applied to the target vendor, but the source vendor failed (retry it \
             there, or undo it in the target): {e}",
            op.as_str()
        ),
    )
    .with_temporary(e.is_temporary());
    if let Some(v) = e.vendor() {
        out = out.with_vendor(v.clone());
    }
    out.with_source(e)
}

fn nothing_settled(_: &Error) -> bool {
    false
}

/// `Unsupported` before any request unless both vendors can do what the call sends to both.
fn require(supported: bool, what: &str) -> Result<()> {
    if supported {
        Ok(())
    } else {
        Err(Error::unsupported(format!(
            "{what}: one of the two vendors of the cutover cannot"
        )))
    }
}

/// Metadata both vendors can hold, checked before anything is sent to either.
fn check_metadata(caps: &Capabilities, metadata: &billing_core::Metadata) -> Result<()> {
    match caps.customer_metadata {
        Some(limits) => limits.check(metadata),
        None if metadata.is_empty() => Ok(()),
        None => require(false, "customer metadata"),
    }
}

#[async_trait]
impl CustomerStore for Cutover {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        check_metadata(&self.capabilities, &new.metadata)?;
        if self.capabilities.customer_email_required && new.email.is_none() {
            return Err(Error::invalid_input(
                "an email address is required: one of the two vendors of the cutover needs one",
            ));
        }
        self.both(
            Operation::CreateCustomer,
            |e| e.kind() == ErrorKind::AlreadyExists,
            |b| async move { b.create_customer(new).await },
        )
        .await
    }

    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        self.target.get_customer(key).await
    }

    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        require(self.capabilities.customer_update, "customer update")?;
        if let Some(metadata) = &patch.metadata {
            check_metadata(&self.capabilities, metadata)?;
        }
        self.both(Operation::UpdateCustomer, nothing_settled, |b| async move {
            b.update_customer(key, patch).await
        })
        .await
    }

    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        require(
            self.capabilities.customer_delete.is_some(),
            "customer deletion",
        )?;
        self.both(
            Operation::DeleteCustomer,
            Error::is_not_found,
            |b| async move { b.delete_customer(key).await },
        )
        .await
    }

    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        self.target.list_customers(page).await
    }
}

#[async_trait]
impl SubscriptionStore for Cutover {
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        self.target.create_subscription(new).await
    }

    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        self.target.get_subscription(key).await
    }

    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>> {
        self.target.list_subscriptions(customer, page).await
    }

    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        if self.plan.instant(key).is_none() {
            return self.target.cancel_subscription(key, at).await;
        }
        let supported = match at {
            CancelAt::Now => self.capabilities.cancel_now,
            CancelAt::PeriodEnd => self.capabilities.cancel_at_period_end,
        };
        require(supported, "this cancellation")?;
        self.both(
            Operation::CancelSubscription,
            nothing_settled,
            |b| async move { b.cancel_subscription(key, at).await },
        )
        .await
    }

    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        if !self.in_cutover(key) {
            return self.target.change_plan(key, plan, at).await;
        }
        let supported = match at {
            ChangeAt::Now => self.capabilities.change_plan_now,
            ChangeAt::PeriodEnd => self.capabilities.change_plan_at_period_end,
            ChangeAt::VendorDefault => self.capabilities.change_plan_vendor_default,
        };
        require(supported, "this plan change")?;
        self.both(Operation::ChangePlan, nothing_settled, |b| async move {
            b.change_plan(key, plan, at).await
        })
        .await
    }
}

#[async_trait]
impl UsageRecorder for Cutover {
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        usage::record(
            &self.plan,
            self.source.as_ref(),
            self.target.as_ref(),
            events,
        )
        .await
    }
}

#[async_trait]
impl UsageReader for Cutover {
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary> {
        let mut summary = usage::read(
            &self.plan,
            self.source.as_ref(),
            self.target.as_ref(),
            query,
            self.now(),
        )
        .await?;
        if !self.capabilities.usage_amounts {
            // One side does not price usage: no line is priced, whichever side it came from.
            for line in &mut summary.lines {
                line.amount = None;
            }
        }
        Ok(summary)
    }
}

#[async_trait]
impl BillingBackend for Cutover {
    /// Both vendors are checked (the source, then the target): calls go to both during a
    /// cutover. An error names the side's own setting.
    async fn check(&self) -> Result<()> {
        self.source.check().await?;
        self.target.check().await
    }

    fn info(&self) -> BackendInfo {
        let describe = |b: &dyn BillingBackend| {
            let i = b.info();
            match i.endpoint {
                Some(e) => format!("{} {e}", i.name),
                None => i.name.to_owned(),
            }
        };
        BackendInfo::new(
            NAME,
            Some(format!(
                "{} -> {}",
                describe(self.source.as_ref()),
                describe(self.target.as_ref())
            )),
        )
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
}
