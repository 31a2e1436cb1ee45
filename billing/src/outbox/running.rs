//! [`Delivery`]: the handle of a running delivery task.

use std::time::Duration;

use billing_core::Result;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::queue::Outbox;
use super::stats::OutboxStats;

/// How often [`Delivery::drain`] looks at the statistics.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// The background delivery started by [`Outbox::start`]. Dropping it stops delivery (batches
/// in flight still get settled, in the background).
#[derive(Debug)]
pub struct Delivery {
    outbox: Outbox,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Delivery {
    pub(crate) fn new(
        outbox: Outbox,
        stop: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
    ) -> Self {
        Self {
            outbox,
            stop,
            tasks,
        }
    }

    /// Stops claiming new batches and waits until the batches in flight are settled.
    /// Undelivered events stay in the store for the next start.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }

    /// Waits until nothing is pending or in flight (dead letters and held unknowns may remain)
    /// or `within` has passed, then shuts down; returns the statistics at that point.
    ///
    /// # Errors
    /// The store's error while reading the statistics (delivery is shut down all the same).
    pub async fn drain(self, within: Duration) -> Result<OutboxStats> {
        let deadline = tokio::time::Instant::now() + within;
        let result = loop {
            match self.outbox.counts().await {
                Ok(s) if s.is_drained() => break Ok(s),
                Ok(s) if tokio::time::Instant::now() >= deadline => break Ok(s),
                Ok(_) => tokio::time::sleep(DRAIN_POLL).await,
                Err(e) => break Err(e),
            }
        };
        self.shutdown().await;
        if let Ok(s) = &result {
            s.emit();
        }
        result
    }

    /// The outbox it delivers from.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
