//! The simulator's in-memory database and its clock-driven settlement (subscription renewals).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::BillaBearSimConfig;
use super::catalog::Catalog;
use super::clock;

/// The state shared by the router and the [`super::BillaBearSim`] handle.
pub(crate) type Shared = Arc<Mutex<State>>;

/// Locks the state, ignoring poisoning (a panicking test must not wedge the server).
pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A billing address. `None` fields serialize as `null` (country as `""`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Address {
    pub company_name: Option<String>,
    pub street_line_one: Option<String>,
    pub street_line_two: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub postcode: Option<String>,
}

/// A customer row.
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: String,
    pub name: Option<String>,
    pub email: String,
    pub reference: Option<String>,
    pub external_reference: String,
    pub address: Address,
    pub status: String,
    pub brand: String,
    pub locale: String,
    pub billing_type: String,
    pub tax_number: Option<String>,
    pub standard_tax_rate: Option<f64>,
    /// `individual` or `business`: stored, never returned.
    pub customer_type: String,
    pub invoice_format: Option<String>,
    pub marketing_opt_in: bool,
    /// A PHP array (see `validate::php_array`).
    pub metadata: Value,
    /// The default payment card's id, if any.
    pub default_card: Option<String>,
}

/// A subscription row.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: String,
    pub customer_id: String,
    /// Insertion order, standing in for the database's physical order.
    pub created_seq: u64,
    pub plan_id: String,
    pub price_id: String,
    pub seat_number: i64,
    pub metadata: Value,
    pub status: String,
    /// The boolean `active` column that "active" lists and the cost estimate read.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub valid_until: DateTime<Utc>,
    pub start_of_current_period: DateTime<Utc>,
}

/// One stored event (duplicates are separate rows).
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Insertion sequence: stands in for `created_at` in "events since" windows, so that
    /// windows are exact even when two events share a timestamp.
    pub seq: u64,
    pub event_id: String,
    pub subscription_id: String,
    pub customer_id: String,
    pub metric_id: String,
    pub code: String,
    pub value: f64,
    /// The event's `properties` (a JSON object, or `null` when none were sent).
    pub properties: Value,
}

/// The running per-(customer, metric) counter behind the cost estimate.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counter {
    pub value: f64,
    /// The last event sequence number the counter has seen (its `updatedAt`).
    pub seen_seq: Option<u64>,
}

/// Everything the simulated server stores.
#[derive(Debug)]
pub(crate) struct State {
    pub config: BillaBearSimConfig,
    pub catalog: Catalog,
    pub clock_offset: Duration,
    pub customers: BTreeMap<String, Customer>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub events: Vec<Event>,
    pub counters: HashMap<(String, String), Counter>,
    /// Payment card id -> customer id.
    pub cards: HashMap<String, String>,
    /// The reason of the next start's failed charge (402), set by a test hook.
    pub fail_next_charge: Option<String>,
    next_seq: u64,
    /// The earliest `valid_until` a renewal could be due at.
    next_due: Option<DateTime<Utc>>,
}

impl State {
    /// An empty database with `catalog`.
    pub fn new(config: BillaBearSimConfig, catalog: Catalog) -> Self {
        Self {
            config,
            catalog,
            clock_offset: Duration::zero(),
            customers: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            events: Vec::new(),
            counters: HashMap::new(),
            cards: HashMap::new(),
            fail_next_charge: None,
            next_seq: 0,
            next_due: None,
        }
    }

    /// The server clock: real time plus what tests advanced it by.
    pub fn now(&self) -> DateTime<Utc> {
        let real = Utc::now();
        real.checked_add_signed(self.clock_offset).unwrap_or(real)
    }

    /// A fresh sequence number (events, subscriptions).
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// The last sequence number handed out.
    pub fn current_seq(&self) -> u64 {
        self.next_seq
    }

    /// Remembers that a renewal may be due at `at`.
    pub fn note_due(&mut self, at: DateTime<Utc>) {
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }

    /// Runs what the real server's crons would have run by now: every `active` or
    /// `trial_active` subscription whose period ended is renewed (status `active`, the next
    /// period starts at the old `valid_until`) and invoiced, which resets the resettable
    /// counter of its usage metric. `pending_cancel` subscriptions are neither renewed nor
    /// ever switched to `cancelled` (no code path in the server does that).
    pub fn settle(&mut self) {
        let now = self.now();
        if self.next_due.is_none_or(|due| due > now) {
            return;
        }
        let mut due: Vec<(u64, String)> = self
            .subscriptions
            .values()
            .filter(|s| renewable(s) && s.valid_until <= now)
            .map(|s| (s.created_seq, s.id.clone()))
            .collect();
        due.sort();
        for (_, id) in due {
            let Some(sub) = self.subscriptions.get_mut(&id) else {
                continue;
            };
            let schedule = self
                .catalog
                .price(&sub.price_id)
                .map_or("month", |p| p.schedule);
            while sub.valid_until <= now {
                let next = clock::add_schedule(sub.valid_until, schedule);
                if next <= sub.valid_until {
                    break; // the end of chrono's calendar
                }
                sub.start_of_current_period = sub.valid_until;
                sub.valid_until = next;
            }
            sub.status = "active".to_owned();
            sub.updated_at = now;
            let (customer, price) = (sub.customer_id.clone(), sub.price_id.clone());
            self.invoice_usage(&customer, &price);
        }
        self.next_due = self
            .subscriptions
            .values()
            .filter(|s| renewable(s))
            .map(|s| s.valid_until)
            .min();
    }

    /// What generating an invoice line for a usage price does to the counter: a resettable
    /// counter goes back to 0 and only counts events from now on.
    pub fn invoice_usage(&mut self, customer_id: &str, price_id: impl AsRef<str>) {
        let Some(metric) = self
            .catalog
            .price(price_id.as_ref())
            .and_then(|p| p.metric_id.clone())
        else {
            return;
        };
        let seen = self.current_seq();
        let counter = self
            .counters
            .entry((customer_id.to_owned(), metric))
            .or_default();
        counter.value = 0.0;
        counter.seen_seq = Some(seen);
    }

    /// The customer's subscriptions in insertion order (`findBy` without `ORDER BY`).
    pub fn subscriptions_of(&self, customer_id: &str, only_active: bool) -> Vec<&Subscription> {
        let mut subs: Vec<&Subscription> = self
            .subscriptions
            .values()
            .filter(|s| s.customer_id == customer_id && (!only_active || s.active))
            .collect();
        subs.sort_by_key(|s| s.created_seq);
        subs
    }
}

fn renewable(sub: &Subscription) -> bool {
    sub.status == "active" || sub.status == "trial_active"
}
