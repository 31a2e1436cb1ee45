//! BillaBear's JSON shapes, with the server's field names (checked against its source, not the
//! published spec, which differs in places). Responses are read leniently: every
//! field the adapter does not strictly need has a default, and unknown fields are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `Dto/Response/Api/ListResponse`: `last_key` is absent on empty pages and unpaged lists.
/// `/subscription/plans` uses the App variant, which also has `first_key`.
///
/// `data` and `has_more` are always sent, so they are required: an envelope without them is a
/// broken answer (`Decode`), never an empty list, which would make a lookup say `NotFound` (and
/// a create go ahead) or a listing stop early.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    /// The page.
    pub data: Vec<T>,
    /// Whether another page follows.
    pub has_more: bool,
    /// The id of the last item: the cursor of the next page.
    #[serde(default)]
    pub last_key: Option<String>,
}

/// `Dto/Generic/Api/Customer` (the fields the adapter reads; the raw JSON is kept for the rest).
#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    /// UUID.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email (required by the server).
    #[serde(default)]
    pub email: Option<String>,
    /// The application's customer key, as the adapter writes it.
    #[serde(default)]
    pub reference: Option<String>,
    /// `new|active|disabled|churned|reactivated|trial_active|trial_ended|unknown`.
    #[serde(default)]
    pub status: Option<String>,
    /// An object, or `[]` when empty (a PHP array).
    #[serde(default)]
    pub metadata: Value,
}

/// `POST /customer` (`CreateCustomerDto`). Only `email` is required.
#[derive(Debug, Clone, Serialize)]
pub struct NewCustomer<'a> {
    /// Required.
    pub email: &'a str,
    /// Optional display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// The application's key.
    pub reference: &'a str,
    /// The caller's metadata plus the adapter's reserved entries.
    pub metadata: Map<String, Value>,
}

/// A metric as prices show it (`Dto/Generic/Api/Usage/Metric` and the App variant).
#[derive(Debug, Clone, Deserialize)]
pub struct Metric {
    /// Display name: what the cost estimate is keyed by.
    #[serde(default)]
    pub name: String,
    /// The code events are sent with.
    pub code: String,
}

/// A price (`Dto/Generic/Api/Price` inside a subscription, `Dto/Generic/App/Price` inside a plan).
#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    /// UUID.
    pub id: String,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: String,
    /// `week|month|year`, or null for one-off prices.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Whether this is a usage price.
    #[serde(default)]
    pub usage: bool,
    /// The metered metric of a usage price.
    #[serde(default)]
    pub metric: Option<Metric>,
}

/// `Dto/Generic/Api/SubscriptionPlan`.
#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    /// UUID (what `POST /subscription/{id}/plan` needs).
    pub id: String,
    /// The code the application uses (`PlanCode`).
    pub code_name: String,
    /// The plan's prices, in the order the server picks from.
    #[serde(default = "Vec::new")]
    pub prices: Vec<Price>,
}

/// `Dto/Generic/Api/Subscription`: no customer id and no period start.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    /// UUID.
    pub id: String,
    /// The price's schedule.
    #[serde(default)]
    pub schedule: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    /// RFC 3339; set by a cancellation.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// RFC 3339: the end of the current period.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// The plan.
    #[serde(default)]
    pub plan: Option<Plan>,
    /// The one price of the subscription (so it meters at most one metric).
    #[serde(default)]
    pub price: Option<Price>,
    /// An object, or `[]` when empty.
    #[serde(default)]
    pub metadata: Value,
    /// `active, overdue_payment_open, pending_cancel, overdue_payment_disabled, paused,
    /// cancelled, blocked, trial_active, trial_ended`.
    #[serde(default)]
    pub status: String,
}

/// `POST /customer/{id}/subscription/start` (`CreateSubscription`).
#[derive(Debug, Clone, Serialize)]
pub struct StartSubscription<'a> {
    /// Plan UUID or `code_name`.
    pub subscription_plan: &'a str,
    /// Price UUID (the adapter always chooses the price itself).
    pub price: &'a str,
    /// Always 1 (the server's spelling; the spec's `seat_numbrers` is ignored).
    pub seat_number: i64,
    /// The adapter's reserved entries: the subscription and customer keys.
    pub metadata: Map<String, Value>,
}

/// `POST /subscription/{id}/cancel` (`CancelSubscription`).
#[derive(Debug, Clone, Serialize)]
pub struct Cancel {
    /// `end-of-run` or `instantly`.
    pub when: &'static str,
    /// `none`: no refund.
    pub refund_type: &'static str,
}

/// `POST /subscription/{id}/plan`.
#[derive(Debug, Clone, Serialize)]
pub struct ChangePlan<'a> {
    /// Plan UUID (a `code_name` makes the server throw).
    pub plan: &'a str,
    /// Price UUID.
    pub price: &'a str,
    /// `instantly` (`next-cycle` also applies at once in the server, without proration).
    pub when: &'static str,
}

/// `POST /events` (`CreateEvent`). Answered `201` with an empty body.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a> {
    /// The application's event id (any string).
    pub event_id: &'a str,
    /// Subscription UUID.
    pub subscription: &'a str,
    /// Metric code.
    pub code: &'a str,
    /// An integer or a float.
    pub value: serde_json::Number,
    /// Extra dimensions; omitted when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: &'a BTreeMap<String, String>,
}

/// `Dto/Response/Api/Customer/Costs` (the spec calls `total` `cost`; the server says `total`).
#[derive(Debug, Clone, Deserialize)]
pub struct Costs {
    /// One item per active usage-priced subscription, keyed by metric NAME.
    #[serde(default = "Vec::new")]
    pub costs: Vec<MetricCost>,
}

/// `Dto/Response/Api/Customer/MetricCost`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricCost {
    /// The metric's display name.
    pub name: String,
    /// Minor units.
    #[serde(default)]
    pub amount: i64,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: String,
    /// The per-(customer, metric) counter, a float.
    #[serde(default)]
    pub usage: f64,
}
