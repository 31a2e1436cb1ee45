//! Bulk seeding for benchmarks: many accounts at once, without an HTTP request each.

use uuid::Uuid;

use super::KillBillSim;
use super::state::{Account, AccountData};

impl KillBillSim {
    /// Adds `count` accounts to the pre-created tenant, with external keys `<prefix><n>` (`n`
    /// zero-padded to 7 digits), each with a name, an email, currency USD and time zone UTC,
    /// as `POST /1.0/kb/accounts` would store them. Keys already in use are skipped.
    pub fn seed_accounts(&self, count: usize, prefix: &str) {
        let now = self.sim.clock.now();
        let mut db = self.sim.db();
        let Some(tenant) = db.tenants.first().map(|t| t.id) else {
            return;
        };
        for n in 0..count {
            let external_key = format!("{prefix}{n:07}");
            if db
                .account_keys
                .contains_key(&(tenant, external_key.clone()))
            {
                continue;
            }
            let id = Uuid::new_v4();
            let data = AccountData {
                name: Some(format!("Customer {n}")),
                email: Some(format!("{external_key}@example.com")),
                currency: Some("USD".to_owned()),
                time_zone: "UTC".to_owned(),
                external_key: external_key.clone(),
                ..AccountData::default()
            };
            db.accounts.insert(
                id,
                Account {
                    id,
                    tenant,
                    data,
                    reference_time: now,
                    tags: Vec::new(),
                    blocking: Vec::new(),
                },
            );
            db.account_keys.insert((tenant, external_key), id);
            db.account_order.entry(tenant).or_default().push(id);
        }
    }
}
