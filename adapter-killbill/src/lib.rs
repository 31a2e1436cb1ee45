//! # adapter-killbill
//!
//! A [`BillingBackend`](billing_core::BillingBackend) over the REST API of
//! [Kill Bill](https://killbill.io) 0.24.x, written from the server's source and from the
//! answers of a real 0.24.19 server. Build it with [`KillBillBackend::new`] or, in an
//! application, through the `billing` facade (`provider = "killbill"`).
//!
//! ## Mapping
//! - **Customers** are accounts; the `CustomerKey` is the account's `externalKey`. Create is
//!   `POST /1.0/kb/accounts`, which answers 201 with an empty body: the id comes from the
//!   `Location` header (no second request) and the returned customer is what was sent. A taken
//!   key is 409/3000, `AlreadyExists`. Update is a partial `PUT` after reading the account
//!   (a currency can be set once and never changed: `InvalidInput` before sending). Delete
//!   *closes* the account (`DELETE ...?cancelAllSubscriptions=true`): it stays readable with
//!   status `Closed` (read from its `CLOSE_ACCOUNT` blocking state, `GET .../block`) and its key
//!   stays taken; a subscription with a pending end-of-term cancellation, which Kill Bill's
//!   close leaves running, is cancelled first. Listing pages through
//!   `/1.0/kb/accounts/pagination` by offset (record-id order, so inserts during a walk land at
//!   the end).
//! - **Subscriptions**: the `SubscriptionKey` is the subscription's `externalKey`, the
//!   `PlanCode` its `planName`. A create first looks the key up (a duplicate would otherwise
//!   reach the database and come back as a 500). An account's subscriptions are its bundles'
//!   subscriptions, flattened. Cancel `Now` is `entitlementPolicy=IMMEDIATE&billingPolicy=
//!   IMMEDIATE`; `PeriodEnd` is `END_OF_TERM` for both (status `CancelScheduled`, `ends_at` the
//!   term's end); cancelling a cancelled subscription (500, code 1031) succeeds. Change `Now` is
//!   `billingPolicy=IMMEDIATE`, `PeriodEnd` is `billingPolicy=END_OF_TERM` (the pending change is
//!   read back from the subscription's future `CHANGE` event), `VendorDefault` leaves it to the
//!   catalog's change policy. Before the first invoice Kill Bill knows no term
//!   (`chargedThroughDate` is null) and would apply END_OF_TERM at once, so the adapter then sends
//!   the period's end as `requestedDate` instead. States: `PENDING` → `Pending`, `ACTIVE` →
//!   `Active` (or `CancelScheduled` with a `cancelledDate`), `BLOCKED` → `Paused`, `CANCELLED` and
//!   `EXPIRED` → `Canceled`; `raw_status` keeps Kill Bill's word.
//! - **Usage** is recorded with one `POST /1.0/kb/usages` per event (below) and read back with
//!   `GET /1.0/kb/usages/{id}[/{unit}]?startDate&endDate` over `[from, to)`. `Current` is the
//!   subscription's billing period: up to its `chargedThroughDate` when set, otherwise from its
//!   bill-cycle day, at the account's reference time of day. Kill Bill does not check
//!   `unitType`, so metrics are checked against the catalog's units (`GET /1.0/kb/catalog`,
//!   cached); an unknown one is `NotFound` before anything is stored. Quantities must fit the
//!   `decimal(18,9)` column (9 integer and 9 fractional digits) and are refused otherwise,
//!   never rounded.
//!
//! ## One event per request: why `trackingId` = event id
//! Kill Bill deduplicates usage only by `(subscriptionId, trackingId)`, and a `trackingId`
//! covers a whole POST: a second POST with a known one is refused as a whole (400, code
//! 50000), with no per-record check. For a resent event `e` to be recognised, the POST carrying
//! it must reuse a `trackingId` of an earlier POST that carried `e`. That earlier POST may have
//! carried `e` together with any other events of its batch, so the only `trackingId` that is
//! certain to match is one computed from `e` alone; and two events in one POST would then need
//! two `trackingId`s. Any grouping scheme (for example a hash of the batch's ids) loses: `e`
//! sent in a batch `{e, f}` and resent alone gets a different id and is counted twice. So each
//! event is its own POST with `trackingId` = the event id (at most 128 characters, the
//! `EventId` limit), sent concurrently up to the HTTP concurrency limit, and the answer is
//! exact per event: 201 is `Accepted`, 400/50000 is `Duplicate`. A POST is therefore safe to
//! resend after a lost answer; an event whose first attempt was stored but unanswered comes
//! back `Duplicate` on the retry, and is counted once either way. Kill Bill's check is
//! check-then-insert (the index is not unique), so only two *concurrent* callers sending the
//! same id can both get through; within one `record_usage` call a repeated id is answered
//! `Duplicate` without being sent.
//!
//! ## Capabilities
//! | flag | value | why |
//! | --- | --- | --- |
//! | `customer_update` | true | partial `PUT /accounts/{id}` |
//! | `customer_delete` | `Close` | Kill Bill has no delete; a closed account stays readable |
//! | `customer_metadata` | `None` | accounts have no metadata field (see below) |
//! | `customer_email_required` | false | no field is required on an account |
//! | `customer_writes_atomic` | true | a create is one POST (a taken key is 409), an update a PUT by id |
//! | `cancel_now` | true | `entitlementPolicy=IMMEDIATE` |
//! | `cancel_at_period_end` | true | `END_OF_TERM` (or the period end as `requestedDate`) |
//! | `change_plan_now` | true | `billingPolicy=IMMEDIATE` |
//! | `change_plan_at_period_end` | true | `billingPolicy=END_OF_TERM` |
//! | `change_plan_vendor_default` | true | the catalog's `changePolicy` |
//! | `subscription_start_past` / `_future` | true / true | `entitlementDate` (a future one is `PENDING`) |
//! | `subscription_billing_anchor` | true | `billingDate`, separate from the entitlement date (see below) |
//! | `usage_batch_max` | 1 | one event per POST keeps `trackingId` dedup exact |
//! | `usage_dedup_by_event_id` | true | `trackingId` = event id, 400/50000 on a repeat |
//! | `usage_backdated` | true | `recordDate` is stored as sent |
//! | `usage_current_period` | true | computed from the subscription's billing dates |
//! | `usage_range` | true | `startDate`/`endDate`, end exclusive |
//! | `usage_per_subscription` | true | usage rows belong to one subscription |
//! | `usage_read_lag` | 0 | rows are written before the 201 |
//! | `usage_amounts` | false | usage rows carry quantities only; amounts appear on invoices |
//!
//! ## Start dates and what Kill Bill bills for them
//! Kill Bill keeps the service (the *entitlement*) and billing apart: `POST /subscriptions`
//! takes `entitlementDate` and `billingDate`, and each defaults to now on its own
//! (`DefaultEntitlementApi`). The adapter sends:
//! - a start (`starts_at`) as `entitlementDate`, and as `billingDate` too when there is no
//!   anchor: Kill Bill then bills from the start. For a start in the past that means an invoice
//!   at once covering every period since the start (recurring charges in advance, the catalog's
//!   `IN_ADVANCE`), prorated to the bill-cycle day for a first partial period. A start in the
//!   future is `PENDING` and bills nothing until then.
//! - a billing anchor as `billingDate`, `migrated=true` when the start is in the past (the
//!   subscription's `sourceType` reads `MIGRATED`), and the anchor's day as the subscription's
//!   own `billCycleDayLocal` (a bill-cycle-day event that overrides the account's, so a second
//!   subscription of the same account keeps its own billing day). Nothing is billed before
//!   `billingDate`: there is no billing event before it, so the first invoice is issued there,
//!   its first recurring item starts on the anchor's day and lasts a whole period, and usage
//!   recorded before the anchor falls in no billed period (proved on the real server by moving
//!   its test clock past the anchor: `tests/tests/killbill_server.rs`). Until the anchor the
//!   subscription is `ACTIVE` with `chargedThroughDate` null; the adapter reports its
//!   `current_period` as the unbilled lead-in `[anchor - one period (not before the start),
//!   anchor)`, and `billing_anchor` as `billingStartDate`.
//!
//! Dates are sent as instants; Kill Bill bills by day in the account's time zone (UTC for
//! accounts this adapter creates), so the anchor's day is what counts.
//!
//! **Metadata.** An account's closest equivalent is its custom fields, a separate resource:
//! mapping them would cost a request on every read (and one per account when listing, on top
//! of the blocking-state read), could not be written atomically with the account (a failure in
//! between leaves a customer without its metadata), and replacing the map needs a read, a
//! delete and a create. So the adapter says `customer_metadata: None`, and non-empty metadata
//! is `Unsupported` before any request; a migration into Kill Bill has to map it explicitly.
//!
//! ## Requests per operation (warm caches)
//! Account and subscription UUIDs are cached by key ([`billing_http::KeyCache`]); Kill Bill
//! never deletes either, and externalKeys are immutable, so the cache cannot go stale except
//! when the server's database is replaced (then the server answers `ObjectDoesNotExist` and the
//! key is looked up again once). Listings keep only their page's ids, in the caches'
//! page-sized part ([`billing_http::KeyCache::insert_listed`]): a walk over every account holds
//! one page of them, and the page's keys still need no lookup right after.
//!
//! | operation | requests |
//! | --- | --- |
//! | `create_customer` | 1 (`POST`) |
//! | `get_customer` | 2 (account by key, then its blocking states; in parallel when the id is cached) |
//! | `update_customer` | 3 (account and blocking states in parallel, `PUT`); 2 for an empty patch |
//! | `delete_customer` | 2 (bundles, close), plus one cancel per pending end-of-term cancellation |
//! | `list_customers` | 1 + one blocking-state read per account of the page (concurrent) |
//! | `create_subscription` | 3 (key check, `POST`, read back) |
//! | `get_subscription` | 1 |
//! | `list_subscriptions` | 1 (bundles) per page |
//! | `cancel_subscription` | `Now`: 2 (`DELETE`, read back; an already canceled one answers 1031, same cost); `PeriodEnd`: 3 (read, `DELETE`, read back), 1 if already canceled or scheduled |
//! | `change_plan` | 3 (read, `PUT`, read back); 1 for the current plan |
//! | `record_usage` | 1 per event (`POST`) |
//! | `usage` | 1 for a range, 2 for the current period (subscription, sums) |
//!
//! Every write carries `X-Killbill-CreatedBy` (and the configured reason and comment); every
//! request sends `Accept: application/json` (without it `GET /1.0/kb/catalog` answers XML).
//! Time zones: local billing dates become instants at the account's reference time of day in
//! UTC, which is exact for accounts in UTC (Kill Bill's default and what this adapter
//! creates).
#![deny(missing_docs)]

mod backend;
mod config;
mod convert;
mod error;
mod pager;
mod wire;

pub use backend::{KillBillBackend, NAME, capabilities};
pub use config::{DEFAULT_CREATED_BY, KillBillConfig};
pub use error::KillBillErrors;
