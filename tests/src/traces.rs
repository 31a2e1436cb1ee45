//! What the library says in `tracing`, captured for tests: a count of retries per backend (the
//! soak's figure), or the whole output at TRACE level (the secrets test searches it).
//!
//! Each installs the process-wide subscriber once (the backends run on runtime worker threads,
//! which a thread-local subscriber would miss), so a test binary uses one or the other.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The message `billing-http` logs before each retry.
pub const RETRY_MESSAGE: &str = "retrying request";

/// Counts `billing-http`'s retries per backend name.
#[derive(Debug, Clone, Default)]
pub struct RetryCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RetryCounter {
    /// The process-wide counter (installed as the global subscriber on first use).
    pub fn global() -> &'static RetryCounter {
        static COUNTER: OnceLock<RetryCounter> = OnceLock::new();
        COUNTER.get_or_init(|| {
            let counter = RetryCounter::default();
            // Another subscriber may already be installed by the binary; then nothing is counted
            // and the figure reads 0.
            let _ = tracing_subscriber::registry()
                .with(counter.clone())
                .try_init();
            counter
        })
    }

    /// Retries logged so far by `backend`.
    pub fn retries(&self, backend: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(backend)
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Default)]
struct RetryFields {
    message: bool,
    backend: Option<String>,
}

impl Visit for RetryFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "backend" {
            self.backend = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}") == RETRY_MESSAGE,
            "backend" => self.backend = Some(format!("{value:?}").trim_matches('"').to_owned()),
            _ => {}
        }
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for RetryCounter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "billing_http" {
            return;
        }
        let mut fields = RetryFields::default();
        event.record(&mut fields);
        if let (true, Some(backend)) = (fields.message, fields.backend) {
            *self
                .counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(backend)
                .or_default() += 1;
        }
    }
}

/// Everything logged, at every level and target (`log` records included), as text.
#[derive(Debug, Clone, Default)]
pub struct TraceCapture {
    text: Arc<Mutex<Vec<u8>>>,
}

impl TraceCapture {
    /// The process-wide capture (installed as the global subscriber, TRACE level, on first
    /// use).
    ///
    /// # Panics
    /// If another global subscriber was installed first.
    pub fn global() -> &'static TraceCapture {
        static CAPTURE: OnceLock<TraceCapture> = OnceLock::new();
        CAPTURE.get_or_init(|| {
            let capture = TraceCapture::default();
            tracing_subscriber::fmt()
                .with_writer(capture.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::TRACE)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
                .finish()
                .try_init()
                .expect("no other global subscriber");
            capture
        })
    }

    /// The output so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }
}

impl Write for TraceCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for TraceCapture {
    type Writer = TraceCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
