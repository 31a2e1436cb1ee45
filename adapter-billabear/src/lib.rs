//! # adapter-billabear
//!
//! The [BillaBear](https://billabear.com) backend of the billing library: [`BillaBearBackend`]
//! implements every trait of `billing-core` over BillaBear's REST API (`/api/v1`, `X-API-Key`),
//! as the server's source behaves, not as its published spec says. Applications normally get it through the `billing` facade with `provider =
//! "billabear"` and a `[billabear]` section ([`BillaBearConfig`]).
//!
//! ## Capabilities
//! | Capability | Value | Why |
//! |---|---|---|
//! | `customer_update` | yes | GET, merge, then PUT of the whole record (PUT is a full replace) |
//! | `customer_delete` | `Close` | BillaBear has no delete: the customer is disabled and its subscriptions are cancelled by the adapter |
//! | `customer_metadata` | 48 entries, keys 128 chars, values 1024 chars | BillaBear sets no limit; the adapter keeps `billing.key` and `billing.currency` there |
//! | `customer_email_required` | yes | `email` is a required field of every BillaBear customer |
//! | `customer_writes_atomic` | no | references are not unique: a create is a lookup then a POST, one at a time per key through one backend, but another process can create the same key at the same moment |
//! | `cancel_now` / `cancel_at_period_end` | yes / yes | `when: instantly` / `when: end-of-run` |
//! | `change_plan_now` | yes | `POST /subscription/{id}/plan` with `when: instantly` |
//! | `change_plan_at_period_end` | no | the server applies `next-cycle` immediately |
//! | `change_plan_vendor_default` | no | BillaBear requires an explicit `when` |
//! | `subscription_start_past` / `_future` / `_billing_anchor` | no / no / no | `POST /customer/{id}/subscription/start` has no date: it starts now and charges the first period at once (402 on failure) |
//! | `usage_batch_max` | 1 | no batch endpoint: events go one per request, concurrently |
//! | `usage_dedup_by_event_id` | no | the server stores every copy of an event id |
//! | `usage_backdated` | no | the server stamps events with its receive time |
//! | `usage_current_period` | yes | from the cost estimate, `GET /customer/{id}/costs` |
//! | `usage_range` | no | no usage query by time exists |
//! | `usage_per_subscription` | no | the estimate counts per (customer, metric): with a second running subscription on the same metric, `usage` is a `Conflict` |
//! | `usage_read_lag` | 90 s | the estimate's counters are updated by a per-minute cron job |
//! | `usage_amounts` | yes | the estimate's `amount` for the subscription's price |
//!
//! ## How keys are kept
//! - A customer's key is its `reference` (mirrored in metadata `billing.key`). BillaBear cannot
//!   get a customer by reference and does not keep references unique: the adapter lists with
//!   the `reference` filter (a substring `LIKE`, where `%` and `_` are wildcards), keeps only
//!   the exact match, and caches key -> id. It never creates a second customer with a key it
//!   can find, but two processes creating the same key at the same moment can both succeed.
//!   `list_customers` keeps its page's key -> id pairs in the cache's page-sized part
//!   ([`billing_http::KeyCache::insert_listed`]): the next calls on those keys need no lookup,
//!   and a walk over every customer holds one page of them, not one per customer.
//! - A subscription's key and its customer's key are in the subscription's metadata
//!   (`billing.key`, `billing.customer`): the JSON has no customer id. BillaBear cannot filter
//!   by metadata, so an uncached key is found by walking `GET /subscription` 100 at a time (every
//!   key seen on the way is cached). That walk also proves a new key unused before a create,
//!   since BillaBear has no idempotency key.
//!
//! ## Requests per operation
//! Warm: the keys involved are cached. Cold: `P` pages of the reference filter (usually 1),
//! `S` pages of `GET /subscription` up to the subscription (all of them for a new or unknown
//! key), and the plan catalog (`GET /subscription/plans`, read once per backend).
//!
//! | Operation | Warm | Cold |
//! |---|---|---|
//! | `create_customer` | 0 (`AlreadyExists`) or P + 1 | P + 1 |
//! | `get_customer` | 1 | P |
//! | `update_customer` | 2 (GET, PUT) | P + 1 |
//! | `delete_customer` | 2 + one cancel per running subscription + 1 | P + 1 + cancels + 1 |
//! | `list_customers` | 1 per page | 1 per page |
//! | `create_subscription` | 1 + S (uniqueness walk) | P + plans + S + 1 |
//! | `get_subscription` | 1 | S |
//! | `list_subscriptions` | 1 per page | P + 1 per page |
//! | `cancel_subscription` | 3 (GET, cancel, GET) | S + 2 |
//! | `change_plan` | 3 (GET, change, GET) | S + plans + 2 |
//! | `record_usage` | 1 per event | S per unknown subscription key + 1 per event |
//! | `usage` | 2 (GET subscription, GET costs) | S + P + 1 |
//!
//! ## Usage
//! - Events go to `POST /events` one at a time with bounded concurrency; `event_id` is the
//!   event's id. The server stores duplicates, so a POST is never resent once it may have
//!   reached the server; an event whose outcome is unknown (timeout, dropped connection, 502,
//!   504) is rejected with a non-temporary error saying so.
//! - The server ignores client timestamps: an event further from now than
//!   [`BillaBearConfig::event_time_tolerance_secs`] is rejected `Unsupported` before sending.
//! - A BillaBear subscription has one price, so it meters at most one metric. An event for
//!   another metric would be stored but never billed: it is rejected `InvalidInput` (or
//!   `NotFound` when no plan's price meters that metric at all).
//! - Quantities are sent as JSON numbers that the server keeps as doubles: at most 15
//!   significant digits are accepted (more would be rounded, so they are `InvalidInput`).
//! - `usage` reads the cost estimate, whose items are keyed by metric NAME; the adapter maps
//!   them through the subscription's price metric. Totals come back as doubles and are rounded
//!   to 15 significant digits, which is exact for totals of at most 15 significant digits.
//! - The estimate lags by about a minute on a real server (its counters are updated by the
//!   `CounterUpdate` cron job every minute through the messenger workers, and stay at zero if
//!   those are not running): `usage_read_lag` is 90 s. It counts per (customer, metric), one
//!   counter shared by the customer's subscriptions on that metric, and its updater reads
//!   each subscription's events since the counter's last update, so with two such
//!   subscriptions it counts neither alone nor their sum: `usage` is then a `Conflict`
//!   (decided from the estimate's answer, which has one item per such subscription). It only
//!   covers running subscriptions: an ended one is a `Conflict` too. Both depend on the data,
//!   not on a capability, so neither is `Unsupported`.
//!
//! ## Payment methods
//! Starting a subscription needs a payment card on file for the customer (added through
//! BillaBear's hosted portal or its frontend payment token endpoints), even for customers
//! billed by invoice. Without one BillaBear answers `406`, and a failed first charge `402`:
//! both are [`ErrorKind::PaymentRequired`](billing_core::ErrorKind::PaymentRequired).
//!
//! ## Known limits
//! - A customer PUT resets BillaBear's customer `type` to `individual`: the API never returns
//!   it, so it cannot be sent back.
//! - Caches are per backend instance and never expire; plan changes made outside this backend
//!   are seen on the next read of the subscription.
#![deny(missing_docs)]

mod backend;
mod config;
mod convert;
mod error;
mod pager;
mod wire;

pub use backend::{BillaBearBackend, METADATA_LIMITS, USAGE_READ_LAG, capabilities};
pub use config::{
    BillaBearConfig, DEFAULT_EVENT_TIME_TOLERANCE_SECS, MAX_EVENT_TIME_TOLERANCE_SECS,
};
pub use error::BillaBearErrors;
