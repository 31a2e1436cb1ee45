//! The Kill Bill simulator's runtime controls (the admin API's vendor side).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::KillBillSimConfig;
use super::state::Sim;
use crate::admin::{ADMIN_PREFIX, Control, SimInfo};

/// Resets to the start-up tenants and catalog; moves the clock.
#[derive(Debug)]
pub(crate) struct KillBillControl {
    pub(crate) sim: Sim,
    pub(crate) config: KillBillSimConfig,
}

impl Control for KillBillControl {
    fn reset(&self) {
        self.sim.reset_data(&self.config.tenants);
        self.sim.clock.reset();
    }

    fn now(&self) -> DateTime<Utc> {
        self.sim.clock.now()
    }

    fn advance_clock(&self, by: Duration) {
        self.sim.clock.advance(by);
    }

    fn info(&self, base_url: &str) -> SimInfo {
        let pairs = |list: &[(String, String)], a: &str, b: &str| -> Vec<serde_json::Value> {
            list.iter().map(|(x, y)| json!({ a: x, b: y })).collect()
        };
        let (user, password) = self.config.users.first().cloned().unwrap_or_default();
        let (api_key, api_secret) = self.config.tenants.first().cloned().unwrap_or_default();
        SimInfo {
            vendor: "killbill".to_owned(),
            url: base_url.to_owned(),
            admin_url: format!("{base_url}{ADMIN_PREFIX}"),
            env: format!(
                "BILLING_PROVIDER=killbill BILLING_KILLBILL_BASE_URL={base_url} \
                 BILLING_KILLBILL_USERNAME={user} BILLING_KILLBILL_PASSWORD={password} \
                 BILLING_KILLBILL_API_KEY={api_key} BILLING_KILLBILL_API_SECRET={api_secret}"
            ),
            credentials: json!({
                "username": user,
                "password": password,
                "api_key": api_key,
                "api_secret": api_secret,
                "users": pairs(&self.config.users, "username", "password"),
                "tenants": pairs(&self.config.tenants, "api_key", "api_secret"),
            }),
        }
    }
}
