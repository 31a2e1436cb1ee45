//! The Lago simulator's runtime controls (the admin API's vendor side).

use chrono::{DateTime, Duration, Utc};

use super::catalog;
use super::routes::Shared;
use super::state::State;
use crate::admin::{Control, SimInfo, api_key_info};
use crate::catalog::Catalog;

/// Resets to the start-up catalog; moves the clock.
#[derive(Debug)]
pub(crate) struct LagoControl {
    pub(crate) shared: Shared,
    /// Lago's part of the start-up catalog.
    pub(crate) catalog: Catalog,
    pub(crate) api_key: String,
}

/// The description of a Lago simulator served at `base_url` with `api_key`.
pub(crate) fn info(base_url: &str, api_key: &str) -> SimInfo {
    api_key_info("lago", base_url, api_key)
}

impl Control for LagoControl {
    fn reset(&self) {
        let mut fresh = State::new();
        // The catalog was installed once at start-up: it installs again.
        if let Err(e) = catalog::install(&mut fresh, &self.catalog) {
            tracing::error!(error = %e, "reinstalling the start-up catalog");
        }
        *self.shared.lock() = fresh;
    }

    fn now(&self) -> DateTime<Utc> {
        self.shared.lock().now()
    }

    fn advance_clock(&self, by: Duration) {
        let mut state = self.shared.lock();
        state.clock.advance(by);
        state.settle();
    }

    fn info(&self, base_url: &str) -> SimInfo {
        info(base_url, &self.api_key)
    }
}
