//! Bulk seeding for benchmarks: many customers at once, without an HTTP request each.

use chrono::Duration;
use serde_json::Value;

use super::LagoSim;

impl LagoSim {
    /// Adds `count` customers with external ids `<prefix><n>` (`n` zero-padded to 7 digits),
    /// each with a name, an email and currency USD, as `POST /customers` would store them.
    /// Their creation times are spread 50 ms apart, ending now (a history written at Lago's
    /// API rate, not a burst within one second), so call it before creating other customers:
    /// Lago lists newest first. Keys already in use are skipped.
    pub fn seed_customers(&self, count: usize, prefix: &str) {
        let mut state = self.shared.lock();
        let now = state.now();
        for n in 0..count {
            let external_id = format!("{prefix}{n:07}");
            if state.live_customer(&external_id).is_some() {
                continue;
            }
            let idx = state.insert_customer(&external_id);
            let back = i64::try_from(count - n).unwrap_or(i64::MAX);
            let created = now - Duration::milliseconds(back.saturating_mul(50));
            if let Some(c) = state.customers.get_mut(idx) {
                c.fields
                    .insert("name".into(), Value::String(format!("Customer {n}")));
                c.fields.insert(
                    "email".into(),
                    Value::String(format!("{external_id}@example.com")),
                );
                c.fields
                    .insert("currency".into(), Value::String("USD".into()));
                c.created_at = created;
                c.updated_at = created;
            }
        }
    }
}
