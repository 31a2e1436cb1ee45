//! The in-memory backend's data, with ordered listings that survive concurrent inserts.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::customer::Customer;
use crate::key::{CustomerKey, EventId, MetricCode, SubscriptionKey};
use crate::page::{Cursor, Page, PageRequest};
use crate::subscription::{Subscription, SubscriptionStatus};

/// One recorded event, as the usage store keeps it.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    pub timestamp: DateTime<Utc>,
    pub metric: MetricCode,
    pub quantity: Decimal,
}

/// Everything the backend stores. Listings walk insertion sequence numbers, so an item inserted
/// during a walk lands after every cursor already handed out: nothing is duplicated or missed.
#[derive(Debug, Default)]
pub(crate) struct State {
    next_seq: u64,
    customers: BTreeMap<u64, Customer>,
    customer_seq: HashMap<CustomerKey, u64>,
    subscriptions: HashMap<SubscriptionKey, Subscription>,
    subscriptions_by_customer: HashMap<CustomerKey, BTreeMap<u64, SubscriptionKey>>,
    seen_events: HashMap<SubscriptionKey, HashSet<EventId>>,
    events: HashMap<SubscriptionKey, Vec<StoredEvent>>,
}

impl State {
    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub fn customer(&self, key: &CustomerKey) -> Option<&Customer> {
        self.customer_seq
            .get(key)
            .and_then(|seq| self.customers.get(seq))
    }

    pub fn customer_mut(&mut self, key: &CustomerKey) -> Option<&mut Customer> {
        let seq = self.customer_seq.get(key)?;
        self.customers.get_mut(seq)
    }

    pub fn insert_customer(&mut self, customer: Customer) {
        let seq = self.seq();
        self.customer_seq.insert(customer.key.clone(), seq);
        self.customers.insert(seq, customer);
    }

    /// Removes the customer and forgets which subscriptions were its (they stay readable).
    pub fn remove_customer(&mut self, key: &CustomerKey) -> Option<Customer> {
        let seq = self.customer_seq.remove(key)?;
        self.subscriptions_by_customer.remove(key);
        self.customers.remove(&seq)
    }

    pub fn customer_page(&self, req: &PageRequest, limit: u32) -> crate::Result<Page<Customer>> {
        let after = cursor_seq(req)?;
        Ok(page_after(&self.customers, after, limit, Clone::clone))
    }

    pub fn subscription(&self, key: &SubscriptionKey) -> Option<&Subscription> {
        self.subscriptions.get(key)
    }

    pub fn subscription_mut(&mut self, key: &SubscriptionKey) -> Option<&mut Subscription> {
        self.subscriptions.get_mut(key)
    }

    pub fn insert_subscription(&mut self, sub: Subscription) {
        let seq = self.seq();
        self.subscriptions_by_customer
            .entry(sub.customer.clone())
            .or_default()
            .insert(seq, sub.key.clone());
        self.subscriptions.insert(sub.key.clone(), sub);
    }

    pub fn subscription_keys_of(&self, customer: &CustomerKey) -> Vec<SubscriptionKey> {
        self.subscriptions_by_customer
            .get(customer)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn subscription_page(
        &self,
        customer: &CustomerKey,
        req: &PageRequest,
        limit: u32,
    ) -> crate::Result<Page<SubscriptionKey>> {
        let after = cursor_seq(req)?;
        let empty = BTreeMap::new();
        let index = self
            .subscriptions_by_customer
            .get(customer)
            .unwrap_or(&empty);
        Ok(page_after(index, after, limit, Clone::clone))
    }

    /// Records an event unless `dedup` and its id was already seen for the subscription;
    /// returns whether it was recorded.
    pub fn record(
        &mut self,
        sub: &SubscriptionKey,
        id: &EventId,
        event: StoredEvent,
        dedup: bool,
    ) -> bool {
        let new = self
            .seen_events
            .entry(sub.clone())
            .or_default()
            .insert(id.clone());
        if !new && dedup {
            return false;
        }
        self.events.entry(sub.clone()).or_default().push(event);
        true
    }

    pub fn events_of(&self, sub: &SubscriptionKey) -> &[StoredEvent] {
        self.events.get(sub).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn is_canceled(&self, sub: &SubscriptionKey) -> bool {
        self.subscriptions
            .get(sub)
            .is_some_and(|s| s.status == SubscriptionStatus::Canceled)
    }
}

fn cursor_seq(req: &PageRequest) -> crate::Result<u64> {
    req.cursor
        .as_ref()
        .map_or(Ok(0), crate::page::cursor_number)
}

fn page_after<V, T>(
    index: &BTreeMap<u64, V>,
    after: u64,
    limit: u32,
    map: impl Fn(&V) -> T,
) -> Page<T> {
    let mut iter = index.range(after.saturating_add(1)..);
    let mut items = Vec::new();
    let mut last = None;
    for (seq, v) in iter.by_ref().take(limit as usize) {
        items.push(map(v));
        last = Some(*seq);
    }
    let more = iter.next().is_some();
    let next = match (more, last) {
        (true, Some(seq)) => Some(Cursor::new(seq.to_string())),
        _ => None,
    };
    Page::new(items, next)
}
