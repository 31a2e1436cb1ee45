//! The traits every backend implements.
//!
//! Each method's `# Behavior` section is the contract; the conformance suite
//! (`billing-conformance`) checks every sentence of it against every backend.

use std::fmt::Debug;

use async_trait::async_trait;
use serde::Serialize;

use crate::capabilities::Capabilities;
use crate::customer::{Customer, CustomerPatch, NewCustomer};
use crate::error::Result;
use crate::key::{CustomerKey, PlanCode, SubscriptionKey};
use crate::page::{Page, PageRequest};
use crate::subscription::{CancelAt, ChangeAt, NewSubscription, Subscription};
use crate::usage::{EventOutcome, UsageEvent, UsageQuery, UsageSummary};

/// Customers, addressed by the application's [`CustomerKey`].
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// Creates a customer under a new key.
    ///
    /// # Behavior
    /// - Returns the stored customer, with the vendor's id in `vendor_id`.
    /// - `AlreadyExists` if a customer (active or closed) already has the key; the existing
    ///   customer is left untouched.
    /// - `InvalidInput` before any request if a field is malformed, metadata exceeds
    ///   `Capabilities::customer_metadata`, or an email is missing where
    ///   `Capabilities::customer_email_required`.
    /// - Concurrent creates of one key through one backend: exactly one succeeds, the others get
    ///   `AlreadyExists`. Across processes this holds only where
    ///   `Capabilities::customer_writes_atomic`; otherwise two creates at the same moment can both
    ///   succeed and the later one's fields win.
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer>;

    /// Reads a customer.
    ///
    /// # Behavior
    /// - Returns the customer with the fields last written.
    /// - `NotFound` if no customer has the key (including one removed by `delete_customer` on a
    ///   backend with `CustomerDeletion::Remove`).
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer>;

    /// Changes the fields set in `patch` and nothing else.
    ///
    /// # Behavior
    /// - Returns the updated customer; fields the patch leaves `None` keep their values.
    /// - An empty patch changes nothing and returns the customer.
    /// - `NotFound` if no customer has the key.
    /// - `InvalidInput` before any request if a field is malformed or the vendor cannot change it.
    /// - `Unsupported` before any request if `Capabilities::customer_update` is false.
    /// - Where `Capabilities::customer_writes_atomic` is false, an update racing a delete of the
    ///   same customer from another process can re-create it; the update then fails with
    ///   `Conflict` rather than report success.
    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer>;

    /// Deletes, closes or disables a customer, whichever is the vendor's closest operation
    /// (`Capabilities::customer_delete`), and ends its subscriptions.
    ///
    /// # Behavior
    /// - `CustomerDeletion::Remove`: afterwards `get_customer` gives `NotFound`, the key can be
    ///   used again, and deleting again gives `NotFound`.
    /// - `CustomerDeletion::Close`: afterwards `get_customer` returns the customer with status
    ///   `Closed`, and deleting again succeeds without change.
    /// - The customer's subscriptions end (status `Canceled`) on both kinds.
    /// - `NotFound` if no customer has the key.
    /// - `Unsupported` before any request if `Capabilities::customer_delete` is `None`.
    async fn delete_customer(&self, key: &CustomerKey) -> Result<()>;

    /// Lists customers one page at a time.
    ///
    /// # Behavior
    /// - Following `next` cursors from the first page until `next` is `None` yields every
    ///   customer that existed during the whole walk exactly once (closed customers included).
    /// - A page holds at most `limit` items; a short page is not the end, only `next == None` is.
    /// - `InvalidInput` before any request if `limit` is 0 or above `MAX_PAGE_LIMIT`, or the
    ///   cursor was not made by this backend.
    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>>;
}

/// Subscriptions, addressed by the application's [`SubscriptionKey`].
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Subscribes a customer to a plan, starting now or at `new.starts_at`, billed from its start
    /// or from `new.billing_anchor`.
    ///
    /// # Behavior
    /// - Returns the subscription, status `Active` (or `Trialing` if the plan has a trial).
    /// - A start within [`crate::START_NOW_TOLERANCE`] of now is now.
    /// - A start in the past: status `Active`, `started_at` is that start, and `current_period`
    ///   is the period containing now, anchored as the vendor anchors periods (see its
    ///   capabilities' documentation for what it bills for the time before the call).
    /// - A start in the future: status `Pending`, `started_at` is that start.
    /// - A billing anchor: nothing before it is billed; `billing_anchor` shows it, and until
    ///   then `current_period` ends at the anchor (an unbilled lead-in), after which periods
    ///   begin on the anchor (on its day, for vendors that bill by day).
    /// - `InvalidInput` before any request if the anchor is before the start.
    /// - `Unsupported` before any request if the backend cannot honour the start or the anchor
    ///   (`Capabilities::subscription_start_past`, `subscription_start_future`,
    ///   `subscription_billing_anchor`): a subscription is never silently started today instead.
    /// - `NotFound` if the customer or the plan does not exist; no customer is created as a side
    ///   effect.
    /// - `AlreadyExists` if a subscription with this key exists in any state.
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription>;

    /// Reads a subscription in any state (pending, active, cancel-scheduled, canceled).
    ///
    /// # Behavior
    /// - `NotFound` if no subscription has the key.
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription>;

    /// Lists a customer's subscriptions in every state, one page at a time.
    ///
    /// # Behavior
    /// - Following `next` cursors yields each of the customer's subscriptions exactly once.
    /// - `NotFound` if the customer does not exist.
    /// - `InvalidInput` before any request for a bad limit or cursor, as `list_customers`.
    async fn list_subscriptions(
        &self,
        customer: &CustomerKey,
        page: &PageRequest,
    ) -> Result<Page<Subscription>>;

    /// Cancels a subscription now or at the end of its current billing period.
    ///
    /// # Behavior
    /// - `CancelAt::Now`: returns it with status `Canceled` and `ends_at` set.
    /// - `CancelAt::PeriodEnd`: returns it with status `CancelScheduled` and `ends_at` at the end
    ///   of the current period; it keeps running until then.
    /// - Cancelling a subscription that is already canceled succeeds and returns it unchanged.
    /// - `NotFound` if no subscription has the key.
    /// - `Unsupported` before any request if the matching capability (`cancel_now`,
    ///   `cancel_at_period_end`) is false.
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription>;

    /// Moves a subscription to another plan.
    ///
    /// # Behavior
    /// - `ChangeAt::Now`: returns it with `plan` set to the new plan.
    /// - `ChangeAt::PeriodEnd`: returns it still on the old plan, with `scheduled_change` naming
    ///   the new plan.
    /// - `ChangeAt::VendorDefault`: the vendor decides; the returned subscription shows which of
    ///   the two happened.
    /// - Changing to the plan already in effect succeeds without change.
    /// - `NotFound` if the subscription or the plan does not exist.
    /// - `Conflict` if the subscription is canceled.
    /// - `Unsupported` before any request if the matching capability (`change_plan_now`,
    ///   `change_plan_at_period_end`, `change_plan_vendor_default`) is false.
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription>;
}

/// Records usage.
#[async_trait]
pub trait UsageRecorder: Send + Sync {
    /// Records a batch of events, sending as few requests as the vendor allows.
    ///
    /// # Behavior
    /// - Returns exactly one outcome per event, in the same order.
    /// - `Accepted`: recorded now. `Duplicate`: an event with this id was already recorded for
    ///   this subscription (earlier, or earlier in the same batch) and is not counted again.
    /// - `Rejected(InvalidInput)` for an event that fails validation (negative quantity, ...);
    ///   the other events of the batch are still recorded.
    /// - `Rejected(NotFound)` for an unknown subscription or a metric the backend does not know.
    /// - Events for a canceled subscription: vendors differ (some reject them, some store them
    ///   without billing them); check the subscription first if it matters.
    /// - `Rejected(Unsupported)` for a timestamp the backend cannot honour
    ///   (`Capabilities::usage_backdated` false).
    /// - A temporary rejection (`Error::is_temporary`) may be retried with the same event; the
    ///   adapter never resends an event the vendor acknowledged.
    /// - `Unknown` (never `Rejected`) when the request may have been applied but its answer was
    ///   lost: a timeout after sending, a connection lost after the write, a 502 or 504. Where
    ///   `Capabilities::usage_dedup_by_event_id` is true, resend the same event (it is counted
    ///   once; the error is temporary). Where it is false, a resend may count it twice: hold it
    ///   for a decision or reconcile with the vendor first (the error is not temporary).
    /// - Before returning, HTTP backends have already retried within the `[http]` budget
    ///   whatever is safe to resend: on deduplicating vendors every event request, otherwise
    ///   only a request that surely never reached the server. By default that is up to 4
    ///   retries (5 attempts) over at most 60 s (`max_retries`, `total_budget_ms`), backing
    ///   off from 100 ms or as the vendor's `Retry-After` says: a 429 storm reaches the caller
    ///   after 1.5 to 3 s without `Retry-After`. A temporary rejection or an unknown outcome
    ///   therefore comes after those retries; an application's own retries (or
    ///   `billing::outbox`'s) come on top, each one a whole call (see `Error::is_temporary`).
    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome>;
}

/// Reads usage totals.
#[async_trait]
pub trait UsageReader: Send + Sync {
    /// Sums the usage of a subscription over a window.
    ///
    /// # Behavior
    /// - Quantities are exact sums of the recorded events' quantities (`0.1 + 0.2 == 0.3`);
    ///   duplicates are counted once.
    /// - `UsagePeriod::Current` covers the subscription's current billing period, and the
    ///   summary's `period` says which. `UsagePeriod::Range` covers events whose timestamp is in
    ///   `[from, to)`.
    /// - With `metric` set, the summary has exactly one line, for that metric (zero if nothing
    ///   was recorded); otherwise one line per metric with a non-zero total.
    /// - `NotFound` if the subscription does not exist, or the metric is unknown to the backend.
    /// - `InvalidInput` before any request if a range does not end after it starts.
    /// - `Unsupported` before any request if the period's capability (`usage_current_period`,
    ///   `usage_range`) is false.
    /// - `Conflict` when the subscription's state keeps the backend from reporting its own
    ///   usage: without `Capabilities::usage_per_subscription`, another running subscription
    ///   of the customer meters a metric the query covers (the vendor's figure would count
    ///   both, or neither exactly); on a vendor that reports only running subscriptions
    ///   (BillaBear), an ended one. Unlike `Unsupported`, it depends on the data, so it may
    ///   come after requests; the same query succeeds once the state changes.
    async fn usage(&self, query: &UsageQuery) -> Result<UsageSummary>;
}

/// Who a backend is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BackendInfo {
    /// Short name: `"memory"`, `"lago"`, `"killbill"`, `"billabear"`.
    pub name: &'static str,
    /// The endpoint it talks to, if any (never with credentials).
    pub endpoint: Option<String>,
}

impl BackendInfo {
    /// A backend's identity.
    pub fn new(name: &'static str, endpoint: Option<String>) -> Self {
        Self { name, endpoint }
    }
}

/// A complete billing backend: chosen at start-up, used as `Arc<dyn BillingBackend>`.
#[async_trait]
pub trait BillingBackend:
    CustomerStore + SubscriptionStore + UsageRecorder + UsageReader + Send + Sync + Debug
{
    /// Who this backend is.
    fn info(&self) -> BackendInfo;

    /// What it supports.
    fn capabilities(&self) -> &Capabilities;

    /// Checks that the configuration reaches the vendor and that the vendor accepts the
    /// credentials, with the cheapest authenticated request it has. Building a backend sends
    /// nothing, so a wrong key or URL would otherwise show only at the first call; call this
    /// once at start-up (or build with `billing::connect_checked`).
    ///
    /// # Behavior
    /// - `Ok(())` when the vendor answered the request (HTTP backends: one or two reads of a
    ///   route that always exists, such as the first page of one customer or the catalog).
    /// - `Config` naming the base URL setting (`lago.base_url`) when the URL reaches no API
    ///   route (a 404, whatever its body), with the vendor's rule for it.
    /// - `Unauthenticated` naming the settings to fix: `lago.api_key`, `billabear.api_key`,
    ///   Kill Bill's `killbill.username` and `killbill.password` (basic auth), or the tenant's
    ///   `killbill.api_key` (unknown) or `killbill.api_secret` (does not match).
    /// - `Unavailable` or `Timeout` naming the base URL setting when the server cannot be
    ///   reached, after the retries `[http]` allows.
    /// - Nothing is written. The default, for backends without a server of their own, reads the
    ///   first page of one customer.
    async fn check(&self) -> Result<()> {
        self.list_customers(&PageRequest::first(1))
            .await
            .map(|_| ())
    }
}
