//! Bounded, order-preserving concurrency for work that fans out into many requests.

use std::future::Future;

use futures::stream::{self, StreamExt};

/// Runs `f` over `items` with at most `concurrency` futures in flight, and returns the results in
/// the order of `items`.
///
/// A slot is freed as soon as its future completes, whatever its position: one slow request
/// never holds back the others (`StreamExt::buffered` would keep finished futures queued behind
/// the oldest one, so fewer than `concurrency` requests would be in flight). The results are put
/// back in order at the end.
pub async fn ordered_fanout<I, T, F, Fut>(items: I, concurrency: usize, mut f: F) -> Vec<T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = T>,
{
    let mut done: Vec<(usize, T)> = stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let fut = f(item);
            async move { (i, fut.await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn keeps_order_and_bounds_concurrency() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let out = ordered_fanout(0..20u64, 3, |i| {
            let in_flight = in_flight.clone();
            let peak = peak.clone();
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Later items finish first: the order of the results must not follow completion.
                for _ in 0..(20 - i) {
                    tokio::task::yield_now().await;
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    /// A pending first item does not stop the others from starting: every slot but its own
    /// keeps being refilled (with `buffered`, the rest would wait behind it).
    #[tokio::test]
    async fn a_slow_item_does_not_hold_back_the_others() {
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let gate = std::sync::Mutex::new(Some(gate));
        let finished = Arc::new(AtomicUsize::new(0));
        let run = ordered_fanout(0..10usize, 2, |i| {
            let gate = gate
                .lock()
                .ok()
                .and_then(|mut g| if i == 0 { g.take() } else { None });
            let finished = finished.clone();
            async move {
                if let Some(gate) = gate {
                    let _ = gate.await;
                }
                finished.fetch_add(1, Ordering::SeqCst);
                i
            }
        });
        let watcher = async {
            // Let the others run while item 0 waits (a bounded number of turns), then release
            // it and report how many had finished by then.
            for _ in 0..1_000 {
                if finished.load(Ordering::SeqCst) == 9 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            let seen = finished.load(Ordering::SeqCst);
            let _ = release.send(());
            seen
        };
        let (out, seen) = tokio::join!(run, watcher);
        assert_eq!(seen, 9, "the other items ran while the first was pending");
        assert_eq!(out, (0..10).collect::<Vec<_>>());
    }
}
