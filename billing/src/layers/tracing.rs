//! The tracing layer: one span per call, and a DEBUG event with the duration and outcome.

use std::time::Instant;

use async_trait::async_trait;
use futures::future::BoxFuture;
use tracing::Instrument;

use super::layered::{Call, CallOutcome, Layer, Layered};

/// Runs every call in a `billing` span (backend, operation, key) and ends it with a DEBUG event
/// giving the elapsed time and the error kind, if any. Keys appear; secrets never do.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLayer;

/// A backend wrapped in [`TracingLayer`] (what [`crate::connect`] returns).
pub type Traced<B> = Layered<B, TracingLayer>;

#[async_trait]
impl Layer for TracingLayer {
    async fn around<'a, T>(&'a self, call: Call<'a>, inner: BoxFuture<'a, T>) -> T
    where
        T: CallOutcome + Send + 'a,
    {
        let span = tracing::debug_span!(
            "billing",
            backend = call.backend,
            operation = %call.operation,
            key = call.key
        );
        async move {
            let started = Instant::now();
            let out = inner.await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
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
