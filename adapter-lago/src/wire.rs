//! Lago's JSON shapes, as Lago's server source writes them: only the fields this adapter reads
//! or writes. Every field read is optional or defaulted where Lago may leave it out, so a newer
//! server with more fields, or an older one with fewer, still decodes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

// ---- pagination ----

/// The `meta` of every paginated list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Meta {
    /// The page returned (0 for an empty result).
    #[serde(default)]
    pub current_page: Option<u64>,
    /// The next page, `null` on the last one.
    #[serde(default)]
    pub next_page: Option<u64>,
}

/// `GET /customers`.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomerList {
    /// The customers of the page, as raw JSON (kept for `Customer::raw`).
    pub customers: Vec<Value>,
    /// Pagination.
    #[serde(default)]
    pub meta: Meta,
}

/// `GET /subscriptions` and `GET /customers/{id}/subscriptions`.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionList {
    /// The subscription rows of the page, as raw JSON.
    pub subscriptions: Vec<Value>,
    /// Pagination.
    #[serde(default)]
    pub meta: Meta,
}

/// `GET /billable_metrics`.
#[derive(Debug, Clone, Deserialize)]
pub struct BillableMetricList {
    /// The metrics of the page.
    pub billable_metrics: Vec<BillableMetric>,
    /// Pagination.
    #[serde(default)]
    pub meta: Meta,
}

// ---- customers ----

/// `{"customer": {...}}`, read as raw JSON.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomerEnvelope {
    /// The customer object.
    pub customer: Value,
}

/// The customer object (V1::CustomerSerializer), the fields this adapter maps.
#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    /// Lago's UUID.
    pub lago_id: String,
    /// The application's key.
    pub external_id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Billing email (Lago accepts several, comma separated).
    #[serde(default)]
    pub email: Option<String>,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: Option<String>,
    /// ISO 8601, no fraction.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Metadata entries.
    #[serde(default)]
    pub metadata: Option<Vec<Metadatum>>,
}

/// One customer metadata entry as Lago returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadatum {
    /// The entry's id, sent back as `id` to update it in place.
    pub lago_id: String,
    /// Key (up to 20 characters).
    pub key: String,
    /// Value (up to 100 characters).
    #[serde(default)]
    pub value: Option<String>,
}

/// `POST /customers` body: `{"customer": {...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerBody {
    /// The upserted customer.
    pub customer: CustomerInput,
}

/// The customer upsert: Lago writes only the keys present.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerInput {
    /// Which customer.
    pub external_id: String,
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The whole new metadata set (entries with `id` update, without create, others go).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<MetadatumInput>>,
}

/// One metadata entry to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetadatumInput {
    /// The existing entry's `lago_id`, to update it in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// Whether invoices show it (always false here).
    pub display_in_invoice: bool,
}

// ---- subscriptions ----

/// `{"subscription": {...}}`, read as raw JSON.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionEnvelope {
    /// The subscription object.
    pub subscription: Value,
}

/// The subscription object, the fields this adapter maps.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    /// This row's UUID (a plan upgrade makes a new row).
    pub lago_id: String,
    /// The application's key.
    pub external_id: String,
    /// The customer's key.
    #[serde(default)]
    pub external_customer_id: Option<String>,
    /// The plan of this row.
    pub plan_code: String,
    /// `pending`, `active`, `terminated`, `canceled`, `incomplete`.
    pub status: String,
    /// When it starts or started (ISO 8601).
    #[serde(default)]
    pub subscription_at: Option<String>,
    /// When it started (ISO 8601 with ms).
    #[serde(default)]
    pub started_at: Option<String>,
    /// A scheduled end.
    #[serde(default)]
    pub ending_at: Option<String>,
    /// When it was terminated.
    #[serde(default)]
    pub terminated_at: Option<String>,
    /// When it was canceled (pending ones only).
    #[serde(default)]
    pub canceled_at: Option<String>,
    /// The plan of the row this one replaced or follows.
    #[serde(default)]
    pub previous_plan_code: Option<String>,
    /// The plan of the row that follows this one (a scheduled downgrade, or the upgrade that
    /// replaced it).
    #[serde(default)]
    pub next_plan_code: Option<String>,
    /// When a scheduled downgrade applies (`YYYY-MM-DD`).
    #[serde(default)]
    pub downgrade_plan_date: Option<String>,
    /// Start of the current billing period.
    #[serde(default)]
    pub current_billing_period_started_at: Option<String>,
    /// Last second of the current billing period (inclusive).
    #[serde(default)]
    pub current_billing_period_ending_at: Option<String>,
}

/// `POST /subscriptions` body.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionBody {
    /// The subscription to create, or the plan change.
    pub subscription: SubscriptionInput,
}

/// A subscription create or plan change.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionInput {
    /// The customer's key.
    pub external_customer_id: String,
    /// The plan.
    pub plan_code: String,
    /// The subscription's key.
    pub external_id: String,
    /// `calendar` or `anniversary` (creation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_time: Option<String>,
    /// Start (creation only), ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_at: Option<String>,
}

/// `PUT /subscriptions/{id}` body.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionUpdateBody {
    /// The fields to change.
    pub subscription: SubscriptionUpdate,
}

/// The fields of a subscription update this adapter sends.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionUpdate {
    /// The scheduled end, ISO 8601.
    pub ending_at: String,
}

// ---- events and usage ----

/// `POST /events/batch` body.
#[derive(Debug, Clone, Serialize)]
pub struct EventBatch<'a> {
    /// At most 100 events.
    pub events: Vec<&'a EventInput>,
}

/// One event to ingest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventInput {
    /// The idempotency key.
    pub transaction_id: String,
    /// The subscription it is billed to.
    pub external_subscription_id: String,
    /// The billable metric's code.
    pub code: String,
    /// Unix seconds with millisecond precision, as a decimal string (`"1700000000.123"`).
    pub timestamp: String,
    /// Flat properties; the quantity goes under the metric's `field_name`.
    pub properties: Map<String, Value>,
}

/// The billable metric object, the fields this adapter uses.
#[derive(Debug, Clone, Deserialize)]
pub struct BillableMetric {
    /// The code events carry.
    pub code: String,
    /// `count_agg`, `sum_agg`, `max_agg`, `unique_count_agg`, `weighted_sum_agg`,
    /// `latest_agg`, `custom_agg`.
    #[serde(default)]
    pub aggregation_type: Option<String>,
    /// The event property aggregated (not for `count_agg`).
    #[serde(default)]
    pub field_name: Option<String>,
}

/// `GET /customers/{id}/current_usage`.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomerUsageEnvelope {
    /// The usage.
    pub customer_usage: CustomerUsage,
}

/// The current period's usage of one subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomerUsage {
    /// Start of the period (ISO 8601).
    #[serde(default)]
    pub from_datetime: Option<String>,
    /// Last second of the period (inclusive, ISO 8601).
    #[serde(default)]
    pub to_datetime: Option<String>,
    /// One entry per plan charge.
    #[serde(default)]
    pub charges_usage: Vec<ChargeUsage>,
}

/// Usage of one charge.
#[derive(Debug, Clone, Deserialize)]
pub struct ChargeUsage {
    /// Aggregated units: a decimal string (`"12.5"`), sometimes a number.
    #[serde(default)]
    pub units: Option<Value>,
    /// Amount in minor units, before taxes.
    #[serde(default)]
    pub amount_cents: Option<i64>,
    /// Its currency.
    #[serde(default)]
    pub amount_currency: Option<String>,
    /// The metric the charge aggregates.
    pub billable_metric: ChargeMetric,
}

/// The metric of a charge.
#[derive(Debug, Clone, Deserialize)]
pub struct ChargeMetric {
    /// Its code.
    pub code: String,
}
