//! The concurrency-limit layer: at most N calls in flight through one backend.

use async_trait::async_trait;
use futures::future::BoxFuture;
use tokio::sync::Semaphore;

use super::layered::{Call, CallOutcome, Layer};

/// Lets at most `max` calls run at once; the others wait their turn (fairly, in arrival order).
#[derive(Debug)]
pub struct ConcurrencyLimit {
    permits: Semaphore,
}

impl ConcurrencyLimit {
    /// At most `max` calls at once (at least one).
    pub fn new(max: usize) -> Self {
        Self {
            permits: Semaphore::new(max.max(1)),
        }
    }
}

#[async_trait]
impl Layer for ConcurrencyLimit {
    async fn around<'a, T>(&'a self, _call: Call<'a>, inner: BoxFuture<'a, T>) -> T
    where
        T: CallOutcome + Send + 'a,
    {
        // The semaphore is never closed, so acquiring cannot fail; if it ever did, running the
        // call unthrottled is better than failing it.
        let _permit = self.permits.acquire().await.ok();
        inner.await
    }
}
