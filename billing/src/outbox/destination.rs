//! Where an outbox delivers: named backends, each optionally taking only some events.

use std::fmt;
use std::sync::Arc;

use billing_core::{BillingBackend, Error, Result, UsageEvent};

/// Which events a destination takes.
pub type EventFilter = Arc<dyn Fn(&UsageEvent) -> bool + Send + Sync>;

/// A named backend the outbox delivers to.
///
/// The name identifies the destination in the store, so it must stay the same across restarts
/// (events recorded for `"lago"` wait for a destination named `"lago"`). Every event goes to
/// every destination whose filter takes it, decided when the event is recorded:
///
/// - one vendor: one destination;
/// - dual-running (every event to two vendors): two destinations;
/// - a vendor switch by event time: one destination whose backend is the cutover backend (it
///   routes each event itself), or two destinations with filters.
#[derive(Clone)]
pub struct Destination {
    pub(crate) name: String,
    pub(crate) backend: Arc<dyn BillingBackend>,
    pub(crate) filter: Option<EventFilter>,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("backend", &self.backend.info().name)
            .field("filtered", &self.filter.is_some())
            .finish()
    }
}

/// Longest destination name.
pub const MAX_DESTINATION_NAME: usize = 64;

impl Destination {
    /// Delivers every event to `backend` under `name`.
    pub fn new(name: impl Into<String>, backend: Arc<dyn BillingBackend>) -> Self {
        Self {
            name: name.into(),
            backend,
            filter: None,
        }
    }

    /// Takes only the events `filter` accepts.
    pub fn only(mut self, filter: impl Fn(&UsageEvent) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn BillingBackend> {
        &self.backend
    }

    /// Whether this destination takes `event`.
    pub fn takes(&self, event: &UsageEvent) -> bool {
        self.filter.as_ref().is_none_or(|f| f(event))
    }

    pub(crate) fn check_names(destinations: &[Destination]) -> Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for d in destinations {
            let n = d.name.as_str();
            if n.is_empty()
                || n.len() > MAX_DESTINATION_NAME
                || n.chars().any(|c| c.is_control() || c == '/')
                || n.trim() != n
            {
                return Err(Error::invalid_input(format!(
                    "destination name {n:?}: 1 to {MAX_DESTINATION_NAME} bytes, no `/`, control \
                     characters or surrounding spaces"
                )));
            }
            if !seen.insert(n) {
                return Err(Error::invalid_input(format!(
                    "two destinations are named `{n}`"
                )));
            }
        }
        Ok(())
    }
}
