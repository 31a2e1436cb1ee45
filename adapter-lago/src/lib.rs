//! # adapter-lago
//!
//! The [Lago](https://getlago.com) adapter of the provider-agnostic billing library:
//! [`LagoBackend`] implements every trait of `billing-core` against Lago's REST API
//! (`/api/v1`, bearer key), through the shared plumbing of `billing-http` (retries with
//! `X-RateLimit-Reset`, time budget, concurrency limit, percent-encoded paths).
//!
//! Applications normally get it from the `billing` facade (`provider = "lago"` with the `lago`
//! feature) rather than by name.
//!
//! # Capabilities
//! | capability | value | why |
//! |---|---|---|
//! | `customer_update` | yes | `POST /customers` is an upsert writing only the keys sent |
//! | `customer_delete` | `Remove` | `DELETE /customers/{id}` soft-deletes; the key can be reused |
//! | `customer_metadata` | 5 entries, keys 20, values 100 chars | Lago's metadata limits |
//! | `customer_email_required` | no | |
//! | `customer_writes_atomic` | no | no create-only call: a create is a key check then the upsert, so another process creating the same key at the same moment can win (see below) |
//! | `cancel_now` | yes | `DELETE /subscriptions/{id}` |
//! | `cancel_at_period_end` | yes | `PUT ending_at` = the current period's end |
//! | `change_plan_now` / `_at_period_end` | no | Lago alone decides: upgrades now, downgrades at period end |
//! | `change_plan_vendor_default` | yes | `POST /subscriptions` again with the same key |
//! | `subscription_start_past` / `_future` | yes / yes | `subscription_at` in the past (active, back-dated) or future (`pending`) |
//! | `subscription_billing_anchor` | no | Lago bills from the start; see "Start dates" below |
//! | `usage_batch_max` | 100 | `POST /events/batch` limit |
//! | `usage_dedup_by_event_id` | yes | a repeated `transaction_id` is refused (422) and reported `Duplicate` |
//! | `usage_backdated` | yes | event timestamps are honoured |
//! | `usage_current_period` | yes | `GET /customers/{id}/current_usage` |
//! | `usage_range` | no | Lago has no usage total over an arbitrary window |
//! | `usage_per_subscription` | yes | current usage is per `external_subscription_id` |
//! | `usage_read_lag` | 10 s | events are aggregated by background jobs |
//! | `usage_amounts` | yes | each charge's `amount_cents` in current usage |
//!
//! # How operations map to Lago
//! - Customers are looked up with `GET /customers?external_id=` (exact match), because Rails'
//!   customer routes stop at `.`; paths that must name a customer (`DELETE`, current usage, a
//!   customer's subscriptions) encode every dot as `%2E`. Create checks the key first (the
//!   upsert would overwrite), update reads the customer (for `NotFound` and the metadata entry
//!   ids) and posts only what changes; creates, updates and deletes of one key through one
//!   backend run one at a time, so they cannot race each other. Lago's API cannot close the race
//!   with another process: two creates at the same moment can both succeed (the later fields
//!   win), and an update that finds the answer under a new Lago id (the customer was deleted
//!   and the upsert created another) fails with `Conflict` naming that id, delete terminates the customer's active and pending
//!   subscriptions before `DELETE` (Lago would do it later, in a background job).
//! - Subscriptions are read with `GET /subscriptions?external_id=&status[]=...` (every status),
//!   picking the current row among the rows one key can span (an upgrade adds a row). Create
//!   checks that the customer exists and that the key is unused in every state, and starts the
//!   subscription at the current second (`subscription_at`), so events stamped right after
//!   creation always fall in its first period. Cancel now is `DELETE` (a repeated cancel
//!   returns the canceled subscription); at period end it is `PUT ending_at`.
//! - Usage: events go in batches of at most 100 with Unix-second timestamps to the millisecond
//!   and the quantity under the billable metric's `field_name` (a `count_agg` metric takes
//!   quantity 1 only; `custom_agg` metrics are refused). Unknown subscriptions and metrics are
//!   refused `NotFound` before sending (Lago would accept and silently ignore them), with the
//!   subscription's customer and the metric catalog cached, so a batch costs one request.
//!   A 422 names the bad events by index: `transaction_id: value_already_exist` alone is
//!   `Duplicate`, other errors reject that event, and the rest is sent again.
//!
//! # Start dates and what Lago bills for them
//! A start (`starts_at`) is sent as `subscription_at` (with `billing_time: calendar`, as every
//! create). From lago-api's `Subscriptions::CreateService` and `Invoices::CalculateFeesService`:
//! - **In the past:** the subscription is active at once with `started_at` back-dated (clamped
//!   to the end of an earlier invoiced termination under the same key), and nothing is invoiced
//!   at creation, not even for a pay-in-advance plan. At the next billing date (the 1st, in
//!   calendar billing) Lago invoices the period just ended: a **pay-in-arrears** plan's base fee
//!   for `[max(started_at, period start), billing date)`, days before the call included, and
//!   usage charges for events in that window; a **pay-in-advance** plan's fee for the period
//!   that begins on the billing date, plus that window's usage.
//! - **In the future:** `pending` until its day; activated then, and a pay-in-advance plan is
//!   invoiced on activation.
//! - **No billing anchor:** Lago has no billing start apart from the service start: its periods
//!   follow `subscription_at` (anniversary) or the calendar, and a pay-in-arrears plan bills the
//!   base fee of the period that contains the start. A subscription moved from another vendor
//!   would be billed again for days that vendor has billed, whatever `subscription_at` and
//!   `billing_time` say, so `subscription_billing_anchor` is false and an anchor is `Unsupported`
//!   before any request. (A pay-in-advance plan with `subscription_at` one period before the
//!   anchor and `billing_time: anniversary` would bill nothing before it; the adapter cannot tell
//!   the plan's kind without reading it, and a capability must hold for every plan.)
//!
//! # Requests per operation (caches warm)
//! | operation | requests |
//! |---|---|
//! | `create_customer` | 2: lookup, upsert |
//! | `get_customer` | 1 |
//! | `update_customer` | 2: lookup, upsert (1 when nothing changes) |
//! | `delete_customer` | 2 + one per active or pending subscription (list, terminate each, delete) |
//! | `list_customers` | 1 per page |
//! | `create_subscription` | 3: customer lookup, key check, create |
//! | `get_subscription` | 1 |
//! | `list_subscriptions` | 1 per page |
//! | `cancel_subscription` now | 1 (2 when already canceled, 3 when not started) |
//! | `cancel_subscription` at period end | 2: read, `PUT ending_at` (1 when already canceled) |
//! | `change_plan` | 2: read, post (1 when the plan is already in effect) |
//! | `record_usage` | 1 per 100 events, plus 1 per resend after a refused batch |
//! | `usage` | 1 (2 when the plan does not charge the metric asked for) |
#![deny(missing_docs)]

mod backend;
mod config;
pub mod convert;
pub mod error;
pub mod pager;
pub mod wire;

pub use backend::{LagoBackend, capabilities};
pub use config::{CLOUD_EU, CLOUD_US, LagoConfig};
pub use error::LagoErrors;
