//! Kill Bill's JSON shapes, as far as this adapter reads or writes them. Responses bind
//! leniently (every field optional, unknown fields ignored); requests leave out what they do not
//! set, because Kill Bill's partial update treats a present `null` like an absent field only by
//! default. Amounts travel as JSON numbers with their exact digits (`RawValue`), never through
//! `f64`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// AccountJson as read (`GET /1.0/kb/accounts...`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    /// The account's UUID.
    pub account_id: Option<String>,
    /// The application's key (defaults to the UUID when the creator gave none).
    pub external_key: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// ISO currency code (or `BTC`), settable once.
    pub currency: Option<String>,
    /// When the account was created; its time of day turns local dates into instants.
    pub reference_time: Option<String>,
    /// The account's time zone (`UTC` unless the creator chose another).
    pub time_zone: Option<String>,
    /// Bill-cycle day; 0 until the first recurring subscription sets it.
    pub bill_cycle_day_local: Option<i64>,
}

/// AccountJson as written: on create every set field, on update only the changed ones.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountIn {
    /// The application's key (create only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_key: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Currency code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// BlockingStateJson (`GET /1.0/kb/accounts/{id}/block`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlockingState {
    /// The blocked object's UUID.
    pub blocked_id: Option<String>,
    /// `CLOSE_ACCOUNT`, `ENT_STARTED`, ...
    pub state_name: Option<String>,
    /// `account-service`, `entitlement-service`, ...
    pub service: Option<String>,
    /// When the state took (or takes) effect.
    pub effective_date: Option<String>,
    /// `ACCOUNT`, `SUBSCRIPTION` or `SUBSCRIPTION_BUNDLE`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// SubscriptionJson's `events[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionEvent {
    /// `START_ENTITLEMENT`, `CHANGE`, `STOP_BILLING`, ...
    pub event_type: Option<String>,
    /// When it takes (or took) effect.
    pub effective_date: Option<String>,
    /// The plan in force from this event on.
    pub plan: Option<String>,
}

/// SubscriptionJson as read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Subscription {
    /// The owning account's UUID.
    pub account_id: Option<String>,
    /// The subscription's UUID.
    pub subscription_id: Option<String>,
    /// The application's key.
    pub external_key: Option<String>,
    /// Entitlement start.
    pub start_date: Option<String>,
    /// The plan in force.
    pub plan_name: Option<String>,
    /// The plan's billing period (`MONTHLY`, `ANNUAL`, `NO_BILLING_PERIOD`, ...).
    pub billing_period: Option<String>,
    /// `PENDING`, `ACTIVE`, `BLOCKED`, `CANCELLED` or `EXPIRED`.
    pub state: Option<String>,
    /// When the entitlement ends or ended.
    pub cancelled_date: Option<String>,
    /// The local date up to which recurring charges are invoiced (null until the first invoice).
    pub charged_through_date: Option<String>,
    /// Billing start.
    pub billing_start_date: Option<String>,
    /// Billing end, once a cancellation is recorded.
    pub billing_end_date: Option<String>,
    /// Bill-cycle day (null for a usage-only plan).
    pub bill_cycle_day_local: Option<i64>,
    /// Past and future events.
    pub events: Vec<SubscriptionEvent>,
}

/// `POST /1.0/kb/subscriptions` body: by plan name, never mixed with product fields.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionIn {
    /// The owning account's UUID.
    pub account_id: String,
    /// The catalog plan.
    pub plan_name: String,
    /// The application's key.
    pub external_key: String,
    /// This subscription's own bill-cycle day (a BCD_CHANGE event at creation), which
    /// overrides the account's: a billing anchor keeps its day of the month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_cycle_day_local: Option<u32>,
}

/// `PUT /1.0/kb/subscriptions/{id}` body (change plan).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanChange {
    /// The new plan.
    pub plan_name: String,
}

/// BundleJson (`GET /1.0/kb/accounts/{id}/bundles`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Bundle {
    /// The bundle's subscriptions, cancelled ones included.
    pub subscriptions: Vec<serde_json::Value>,
}

/// One usage record: an instant and an amount.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord<'a> {
    /// ISO date-time with milliseconds, UTC.
    pub record_date: String,
    /// A JSON number with the exact digits of the quantity.
    pub amount: &'a RawValue,
}

/// The records of one unit (the adapter sends one record per request).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitUsageRecords<'a> {
    /// The catalog unit name.
    pub unit_type: &'a str,
    /// Its records.
    pub usage_records: [UsageRecord<'a>; 1],
}

/// `POST /1.0/kb/usages` body: one subscription, deduplicated by `trackingId` as a whole (the
/// adapter sends one event, so one unit, per request).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageIn<'a> {
    /// The subscription's UUID.
    pub subscription_id: &'a str,
    /// The idempotency key of the whole request (at most 128 characters).
    pub tracking_id: &'a str,
    /// Records per unit.
    pub unit_usage_records: [UnitUsageRecords<'a>; 1],
}

/// RolledUpUnit: the sum of one unit.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolledUpUnit {
    /// The unit name.
    pub unit_type: Option<String>,
    /// The sum, as the JSON number the server wrote (`6.500000000`).
    pub amount: Option<Box<RawValue>>,
}

/// RolledUpUsage (`GET /1.0/kb/usages/{id}[/{unit}]`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolledUpUsage {
    /// One entry per unit with usage in the range (`[]` when none).
    pub rolled_up_units: Vec<RolledUpUnit>,
}

/// A catalog unit.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Unit {
    /// Its name: the `unitType` clients send.
    pub name: Option<String>,
}

/// A catalog plan (only its name matters here).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Plan {
    /// The plan name.
    pub name: Option<String>,
}

/// A catalog product.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Product {
    /// Its plans.
    pub plans: Vec<Plan>,
}

/// One version of the tenant's catalog (`GET /1.0/kb/catalog` answers a list of them).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Catalog {
    /// The units usage can be recorded in.
    pub units: Vec<Unit>,
    /// The products and their plans.
    pub products: Vec<Product>,
}
