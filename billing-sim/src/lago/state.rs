//! The simulator's in-memory records and the lifecycle rules that move subscriptions forward in
//! time (lazy settlement: transitions are applied when a request next looks at subscriptions).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::time::{Clock, Interval, start_of_day};

pub(crate) use crate::catalog::Aggregation;

/// Lago's names for the aggregations, and its rule for recurring metrics.
impl Aggregation {
    /// The aggregation of a metric's `aggregation_type` (`count_agg`, ...).
    pub(crate) fn from_lago_type(s: &str) -> Option<Self> {
        Some(match s {
            "count_agg" => Self::Count,
            "sum_agg" => Self::Sum,
            "max_agg" => Self::Max,
            "unique_count_agg" => Self::UniqueCount,
            "latest_agg" => Self::Latest,
            "weighted_sum_agg" => Self::WeightedSum,
            _ => return None,
        })
    }

    /// The metric's `aggregation_type`.
    pub(crate) fn lago_type(self) -> &'static str {
        match self {
            Self::Count => "count_agg",
            Self::Sum => "sum_agg",
            Self::Max => "max_agg",
            Self::UniqueCount => "unique_count_agg",
            Self::Latest => "latest_agg",
            Self::WeightedSum => "weighted_sum_agg",
        }
    }

    /// Whether a metric with this aggregation may be recurring (`validate_recurring`: not
    /// count, max or latest).
    pub(crate) fn may_recur(self) -> bool {
        !matches!(self, Self::Count | Self::Max | Self::Latest)
    }
}

/// A billable metric.
#[derive(Debug, Clone)]
pub(crate) struct Metric {
    pub(crate) lago_id: Uuid,
    pub(crate) name: String,
    pub(crate) code: String,
    pub(crate) description: Option<String>,
    pub(crate) aggregation: Aggregation,
    pub(crate) field_name: Option<String>,
    pub(crate) recurring: bool,
    pub(crate) created_at: DateTime<Utc>,
}

/// A plan charge (standard model: a decimal amount per unit).
#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub(crate) lago_id: Uuid,
    pub(crate) code: String,
    pub(crate) metric_code: String,
    pub(crate) amount: Decimal,
    /// `properties.amount` as it was given (`"0.10"` stays `"0.10"`).
    pub(crate) amount_text: String,
    pub(crate) invoice_display_name: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
}

/// A plan.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) lago_id: Uuid,
    pub(crate) name: String,
    pub(crate) code: String,
    pub(crate) interval: Interval,
    pub(crate) amount_cents: i64,
    pub(crate) amount_currency: String,
    pub(crate) pay_in_advance: bool,
    pub(crate) description: Option<String>,
    pub(crate) invoice_display_name: Option<String>,
    pub(crate) charges: Vec<Charge>,
    pub(crate) created_at: DateTime<Utc>,
}

impl Plan {
    /// `yearly_amount_cents`: the base fee over a year, which alone decides upgrade vs downgrade.
    pub(crate) fn yearly_amount_cents(&self) -> i64 {
        self.amount_cents.saturating_mul(self.interval.per_year())
    }
}

/// One customer metadata entry.
#[derive(Debug, Clone)]
pub(crate) struct Metadatum {
    pub(crate) lago_id: Uuid,
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) display_in_invoice: bool,
    pub(crate) created_at: DateTime<Utc>,
}

/// A customer (soft-deleted ones are kept with `deleted_at`).
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub(crate) lago_id: Uuid,
    pub(crate) external_id: String,
    pub(crate) sequential_id: u64,
    /// Scalar attributes by their API name (name, email, currency, ...).
    pub(crate) fields: Map<String, Value>,
    /// `shipping_address{...}` attributes.
    pub(crate) shipping: Map<String, Value>,
    /// `billing_configuration{...}` attributes.
    pub(crate) billing: Map<String, Value>,
    pub(crate) metadata: Vec<Metadatum>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) deleted_at: Option<DateTime<Utc>>,
}

impl Customer {
    /// The attributes a new customer starts with.
    pub(crate) fn default_fields() -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("account_type".into(), "customer".into());
        fields.insert("finalize_zero_amount_invoice".into(), "inherit".into());
        fields.insert("billing_entity_code".into(), "default".into());
        fields.insert("skip_invoice_custom_sections".into(), false.into());
        fields
    }
}

/// A subscription row's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Pending,
    Active,
    Terminated,
    Canceled,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Terminated => "terminated",
            Self::Canceled => "canceled",
        }
    }
}

/// One subscription row. One external_id can span several rows over time.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) lago_id: Uuid,
    pub(crate) external_id: String,
    /// Index into [`State::customers`].
    pub(crate) customer: usize,
    pub(crate) plan_code: String,
    pub(crate) name: String,
    pub(crate) status: Status,
    pub(crate) anniversary: bool,
    pub(crate) subscription_at: DateTime<Utc>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) ending_at: Option<DateTime<Utc>>,
    pub(crate) terminated_at: Option<DateTime<Utc>>,
    pub(crate) canceled_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    /// Index of the row this one replaced (upgrade) or follows (downgrade).
    pub(crate) previous: Option<usize>,
    /// For a scheduled downgrade: when it takes effect (start of the next billing period).
    pub(crate) scheduled_start: Option<DateTime<Utc>>,
    pub(crate) on_termination_credit_note: Option<String>,
    pub(crate) on_termination_invoice: String,
    pub(crate) progressive_billing_disabled: bool,
    pub(crate) consolidate_invoice: bool,
    pub(crate) purchase_order_number: Option<String>,
    pub(crate) payment_method_id: Option<String>,
    pub(crate) payment_method_type: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) lago_id: Uuid,
    pub(crate) transaction_id: String,
    pub(crate) external_subscription_id: Option<String>,
    pub(crate) code: String,
    pub(crate) timestamp: DateTime<Utc>,
    pub(crate) properties: Value,
    pub(crate) precise_total_amount_cents: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
}

/// The next lifecycle transition of a row, if any: its `ending_at` (active), its scheduled
/// downgrade start, or the start of its subscription day (future subscription).
fn due(s: &Subscription) -> Option<(DateTime<Utc>, Transition)> {
    match s.status {
        Status::Active => s.ending_at.map(|e| (e, Transition::End)),
        Status::Pending => Some(match s.scheduled_start {
            Some(at) => (at, Transition::StartNext),
            None => (start_of_day(s.subscription_at), Transition::Activate),
        }),
        Status::Terminated | Status::Canceled => None,
    }
}

/// Everything the simulator knows (one organization).
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) clock: Clock,
    pub(crate) customers: Vec<Customer>,
    /// external_id -> index, for customers not deleted.
    live_customers: HashMap<String, usize>,
    pub(crate) subscriptions: Vec<Subscription>,
    /// external_id -> indices of its rows, oldest first.
    rows_by_external_id: HashMap<String, Vec<usize>>,
    /// No lifecycle transition is due before this time (a lower bound; `None`: none known).
    next_due: Option<DateTime<Utc>>,
    pub(crate) events: Vec<Event>,
    event_keys: HashSet<(Option<String>, String)>,
    events_by_subscription: HashMap<String, Vec<usize>>,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) plans: Vec<Plan>,
}

/// What settlement does to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Transition {
    /// `ending_at` passed: terminate.
    End,
    /// A scheduled downgrade's date passed: terminate the previous row, start this one.
    StartNext,
    /// A future subscription's `subscription_at` passed: activate.
    Activate,
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            clock: Clock::new(),
            customers: Vec::new(),
            live_customers: HashMap::new(),
            subscriptions: Vec::new(),
            rows_by_external_id: HashMap::new(),
            next_due: None,
            events: Vec::new(),
            event_keys: HashSet::new(),
            events_by_subscription: HashMap::new(),
            metrics: Vec::new(),
            plans: Vec::new(),
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    // ---- customers ----

    /// The live (not deleted) customer with this external_id.
    pub(crate) fn live_customer(&self, external_id: &str) -> Option<usize> {
        self.live_customers.get(external_id).copied()
    }

    /// How many customers are not deleted.
    pub(crate) fn live_customer_count(&self) -> usize {
        self.live_customers.len()
    }

    /// Adds a bare customer (no attributes) and returns its index.
    pub(crate) fn insert_customer(&mut self, external_id: &str) -> usize {
        let now = self.clock.tick();
        let sequential_id = self.customers.len() as u64 + 1;
        self.customers.push(Customer {
            lago_id: Uuid::new_v4(),
            external_id: external_id.to_owned(),
            sequential_id,
            fields: Customer::default_fields(),
            shipping: Map::new(),
            billing: Map::new(),
            metadata: Vec::new(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
        });
        let idx = self.customers.len() - 1;
        self.live_customers.insert(external_id.to_owned(), idx);
        idx
    }

    /// Soft-deletes a customer: terminates its active subscriptions and cancels pending ones.
    pub(crate) fn delete_customer(&mut self, idx: usize) {
        let now = self.clock.now();
        for i in 0..self.subscriptions.len() {
            if self.subscriptions[i].customer != idx {
                continue;
            }
            match self.subscriptions[i].status {
                Status::Active => self.terminate(i, now),
                Status::Pending => self.cancel(i, now),
                _ => {}
            }
        }
        let updated_at = self.clock.tick();
        if let Some(c) = self.customers.get_mut(idx) {
            c.deleted_at = Some(now);
            c.updated_at = updated_at;
            self.live_customers.remove(&c.external_id);
        }
    }

    // ---- catalog ----

    pub(crate) fn plan(&self, code: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.code == code)
    }

    pub(crate) fn metric(&self, code: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.code == code)
    }

    // ---- subscriptions ----

    /// The row that follows `idx` (an upgrade's new row or a scheduled downgrade), ignoring
    /// canceled ones.
    pub(crate) fn next_of(&self, idx: usize) -> Option<usize> {
        let external_id = &self.subscriptions.get(idx)?.external_id;
        self.rows_of(external_id).rev().find(|&i| {
            let s = &self.subscriptions[i];
            s.previous == Some(idx) && s.status != Status::Canceled
        })
    }

    /// Indices of the rows with this external_id, oldest first.
    pub(crate) fn rows_of(&self, external_id: &str) -> impl DoubleEndedIterator<Item = usize> + '_ {
        self.rows_by_external_id
            .get(external_id)
            .into_iter()
            .flatten()
            .copied()
    }

    /// Stores a new row and returns its index.
    pub(crate) fn push_subscription(&mut self, row: Subscription) -> usize {
        let idx = self.subscriptions.len();
        self.rows_by_external_id
            .entry(row.external_id.clone())
            .or_default()
            .push(idx);
        self.subscriptions.push(row);
        self.note_due(idx);
        idx
    }

    /// Records that row `idx` may have a new lifecycle deadline (call after changing its
    /// status, `ending_at`, `subscription_at` or scheduled start).
    pub(crate) fn note_due(&mut self, idx: usize) {
        if let Some((at, _)) = self.subscriptions.get(idx).and_then(due) {
            self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
        }
    }

    /// Terminates a row at `at` and cancels its scheduled downgrade, if any.
    pub(crate) fn terminate(&mut self, idx: usize, at: DateTime<Utc>) {
        if let Some(next) = self.next_of(idx)
            && self.subscriptions[next].status == Status::Pending
        {
            self.cancel(next, at);
        }
        if let Some(s) = self.subscriptions.get_mut(idx) {
            s.status = Status::Terminated;
            s.terminated_at = Some(at);
        }
    }

    /// Cancels a pending row.
    pub(crate) fn cancel(&mut self, idx: usize, at: DateTime<Utc>) {
        if let Some(s) = self.subscriptions.get_mut(idx) {
            s.status = Status::Canceled;
            s.canceled_at = Some(at);
        }
    }

    /// Applies every lifecycle transition due by now, earliest first: future subscriptions start,
    /// scheduled downgrades take effect, subscriptions past `ending_at` terminate.
    pub(crate) fn settle(&mut self) {
        let now = self.clock.now();
        if self.next_due.is_none_or(|d| d > now) {
            return;
        }
        while let Some((at, idx, transition)) = self.next_transition(now) {
            match transition {
                Transition::End => self.terminate(idx, at),
                Transition::Activate => {
                    // Activated on the subscription date (compared as dates, like creation).
                    let s = &mut self.subscriptions[idx];
                    s.status = Status::Active;
                    s.started_at = Some(s.subscription_at);
                }
                Transition::StartNext => {
                    if let Some(prev) = self.subscriptions[idx].previous
                        && let Some(p) = self.subscriptions.get_mut(prev)
                    {
                        p.status = Status::Terminated;
                        p.terminated_at = Some(at);
                    }
                    let s = &mut self.subscriptions[idx];
                    s.status = Status::Active;
                    s.started_at = Some(at);
                    s.scheduled_start = None;
                }
            }
        }
        self.next_due = self
            .subscriptions
            .iter()
            .filter_map(due)
            .map(|(at, _)| at)
            .min();
    }

    fn next_transition(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, usize, Transition)> {
        let mut best: Option<(DateTime<Utc>, Transition, usize)> = None;
        for (i, s) in self.subscriptions.iter().enumerate() {
            if let Some((at, t)) = due(s)
                && at <= now
                && best.is_none_or(|b| (at, t) < (b.0, b.1))
            {
                best = Some((at, t, i));
            }
        }
        best.map(|(at, t, i)| (at, i, t))
    }

    // ---- events ----

    /// Whether `(external_subscription_id, transaction_id)` is already stored.
    pub(crate) fn has_event(&self, external_subscription_id: Option<&str>, tx: &str) -> bool {
        self.event_keys
            .contains(&(external_subscription_id.map(str::to_owned), tx.to_owned()))
    }

    pub(crate) fn insert_event(&mut self, event: Event) {
        let idx = self.events.len();
        self.event_keys.insert((
            event.external_subscription_id.clone(),
            event.transaction_id.clone(),
        ));
        if let Some(sub) = &event.external_subscription_id {
            self.events_by_subscription
                .entry(sub.clone())
                .or_default()
                .push(idx);
        }
        self.events.push(event);
    }

    /// Events sent for an external subscription id, in ingestion order.
    pub(crate) fn events_of(&self, external_subscription_id: &str) -> impl Iterator<Item = &Event> {
        self.events_by_subscription
            .get(external_subscription_id)
            .into_iter()
            .flatten()
            .filter_map(|i| self.events.get(*i))
    }
}
