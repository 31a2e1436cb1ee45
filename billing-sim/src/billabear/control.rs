//! The BillaBear simulator's runtime controls (the admin API's vendor side).

use chrono::{DateTime, Duration, Utc};

use super::BillaBearSimConfig;
use super::catalog::Catalog;
use super::state::{self, Shared, State};
use crate::admin::{Control, SimInfo, api_key_info};

/// Resets to the start-up configuration and catalog; moves the clock.
#[derive(Debug)]
pub(crate) struct BillaBearControl {
    pub(crate) state: Shared,
    pub(crate) config: BillaBearSimConfig,
}

/// The description of a BillaBear simulator served at `base_url` with `api_key`.
pub(crate) fn info(base_url: &str, api_key: &str) -> SimInfo {
    api_key_info("billabear", base_url, api_key)
}

/// Moves the server clock forward, then renews the subscriptions whose period ended.
pub(crate) fn advance(shared: &Shared, by: Duration) {
    let mut state = state::lock(shared);
    state.clock_offset += by;
    state.settle();
}

impl Control for BillaBearControl {
    fn reset(&self) {
        // The catalog translated at start-up: it translates again.
        let catalog = match Catalog::from_catalog(&self.config.catalog, Utc::now()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "retranslating the start-up catalog");
                return;
            }
        };
        *state::lock(&self.state) = State::new(self.config.clone(), catalog);
    }

    fn now(&self) -> DateTime<Utc> {
        state::lock(&self.state).now()
    }

    fn advance_clock(&self, by: Duration) {
        advance(&self.state, by);
    }

    fn info(&self, base_url: &str) -> SimInfo {
        info(base_url, &self.config.api_key)
    }
}
