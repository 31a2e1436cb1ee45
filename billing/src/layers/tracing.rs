//! The tracing layer: one span per call, and a DEBUG event with the duration and outcome.

use std::time::Instant;

use async_trait::async_trait;
use billing_core::BillingBackend;
use billing_core::layer::{Answer, AroundEachCall, Call, Layer};
use futures::future::BoxFuture;
use tracing::Instrument;

/// Runs every call in a `billing` span (backend, operation, key) and ends it with a DEBUG event
/// giving the elapsed time and the error kind, if any. Keys appear; secrets never do.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLayer;

impl<B: BillingBackend> Layer<B> for TracingLayer {
    type Backend = Traced<B>;

    fn layer(&self, inner: B) -> Traced<B> {
        Traced::new(inner)
    }
}

/// A backend wrapped in [`TracingLayer`] (what [`crate::connect`] returns).
#[derive(Debug)]
pub struct Traced<B> {
    inner: B,
    name: &'static str,
}

impl<B: BillingBackend> Traced<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        let name = inner.info().name;
        Self { inner, name }
    }

    /// The wrapped backend.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }
}

#[async_trait]
impl<B: BillingBackend> AroundEachCall for Traced<B> {
    fn wrapped(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn around<A: Answer>(&self, call: Call<'_>, answer: BoxFuture<'_, A>) -> A {
        // A usage batch's size stands for the key.
        let batch_size;
        let key = match call.events() {
            Some(n) => {
                batch_size = n.to_string();
                batch_size.as_str()
            }
            None => call.key(),
        };
        let span = tracing::debug_span!(
            "billing",
            backend = self.name,
            operation = %call.operation(),
            key
        );
        async move {
            let started = Instant::now();
            let out = answer.await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match out.failure() {
                None => tracing::debug!(elapsed_ms, "ok"),
                Some(e) => tracing::debug!(
                    elapsed_ms,
                    kind = %e.kind(),
                    temporary = e.is_temporary(),
                    "failed"
                ),
            }
            out
        }
        .instrument(span)
        .await
    }
}
