//! The concurrency-limit layer: at most N calls in flight through one backend.

use std::sync::Arc;

use async_trait::async_trait;
use billing_core::BillingBackend;
use billing_core::layer::{Answer, AroundEachCall, Call, Layer};
use futures::future::BoxFuture;
use tokio::sync::Semaphore;

/// Lets at most `max` calls run at once; the others wait their turn (fairly, in arrival order).
/// Backends made by one layer value share its limit.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit {
    permits: Arc<Semaphore>,
}

impl ConcurrencyLimit {
    /// At most `max` calls at once (at least one).
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

impl<B: BillingBackend> Layer<B> for ConcurrencyLimit {
    type Backend = Limited<B>;

    fn layer(&self, inner: B) -> Limited<B> {
        Limited {
            inner,
            permits: Arc::clone(&self.permits),
        }
    }
}

/// A backend behind a [`ConcurrencyLimit`].
#[derive(Debug)]
pub struct Limited<B> {
    inner: B,
    permits: Arc<Semaphore>,
}

#[async_trait]
impl<B: BillingBackend> AroundEachCall for Limited<B> {
    fn wrapped(&self) -> &dyn BillingBackend {
        &self.inner
    }

    async fn around<A: Answer>(&self, _call: Call<'_>, answer: BoxFuture<'_, A>) -> A {
        // The semaphore is never closed, so acquiring cannot fail; if it ever did, running the
        // call unthrottled is better than failing it.
        let _permit = self.permits.acquire().await.ok();
        answer.await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use billing_core::layer::LayeredBackend;
    use billing_core::{BillingExt, Customer, CustomerKey, CustomerStore, InMemoryBackend, Result};

    /// Counts the calls in flight and keeps each one running for a while.
    #[derive(Debug, Default)]
    struct Slow {
        inner: InMemoryBackend,
        now: AtomicUsize,
        most: AtomicUsize,
    }

    #[async_trait]
    impl LayeredBackend for Slow {
        fn inner(&self) -> &dyn BillingBackend {
            &self.inner
        }
        async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            self.inner.get_customer(key).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_max_calls_run_at_once() {
        let slow = Arc::new(Slow::default());
        let limited = Arc::clone(&slow).layer(ConcurrencyLimit::new(3));
        let key = CustomerKey::new("k").unwrap_or_else(|e| panic!("{e}"));
        let calls = (0..10).map(|_| CustomerStore::get_customer(&limited, &key));
        let results = futures::future::join_all(calls).await;
        assert_eq!(results.len(), 10);
        assert_eq!(slow.most.load(Ordering::SeqCst), 3);
    }
}
