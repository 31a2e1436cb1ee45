//! The `MapErr` layer: a function applied to every error, tower's `MapErr` for backends.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use billing_core::layer::{Answer, AroundEachCall, Call, Layer};
use billing_core::{BillingBackend, Error, Operation};
use futures::future::BoxFuture;

type ErrorFn = Arc<dyn Fn(Operation, Error) -> Error + Send + Sync>;

/// Applies a function to every error a call returns (and to each rejected event of a usage
/// batch), with the operation: to translate, enrich, count or record errors in one place.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use billing::layers::MapErr;
/// use billing::{BillingExt, InMemoryBackend};
///
/// let failures = Arc::new(AtomicUsize::new(0));
/// let counted = Arc::clone(&failures);
/// let backend = InMemoryBackend::default().layer(MapErr::new(move |_op, e| {
///     counted.fetch_add(1, Ordering::Relaxed);
///     e
/// }));
/// ```
#[derive(Clone)]
pub struct MapErr {
    f: ErrorFn,
}

impl fmt::Debug for MapErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapErr").finish_non_exhaustive()
    }
}

impl MapErr {
    /// A layer applying `f` to every error.
    pub fn new(f: impl Fn(Operation, Error) -> Error + Send + Sync + 'static) -> Self {
        Self { f: Arc::new(f) }
    }
}

impl<B: BillingBackend> Layer<B> for MapErr {
    type Backend = ErrorsMapped<B>;

    fn layer(&self, inner: B) -> ErrorsMapped<B> {
        ErrorsMapped {
            inner,
            f: Arc::clone(&self.f),
        }
    }
}

/// A backend behind a [`MapErr`] layer.
pub struct ErrorsMapped<B> {
    inner: B,
    f: ErrorFn,
}

impl<B: fmt::Debug> fmt::Debug for ErrorsMapped<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorsMapped")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<B: BillingBackend> AroundEachCall for ErrorsMapped<B> {
    fn wrapped(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn around<A: Answer>(&self, call: Call<'_>, answer: BoxFuture<'_, A>) -> A {
        let operation = call.operation();
        answer.await.map_errors(|e| (self.f)(operation, e))
    }
}
