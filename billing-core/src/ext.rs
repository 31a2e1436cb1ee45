//! Conveniences built on the traits, for every backend at once.

use std::future::Future;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::backend::BillingBackend;
use crate::customer::{Customer, NewCustomer};
use crate::error::{Error, ErrorKind, Result};
use crate::key::CustomerKey;
use crate::layer::Layer;
use crate::page::{Cursor, Page, PageRequest};
use crate::subscription::{NewSubscription, Subscription};
use crate::usage::{Recorded, UsageEvent};

/// Conveniences for any [`BillingBackend`].
///
/// Implemented once for every backend by a blanket impl, and never by backends themselves (the
/// blanket impl makes that impossible), so wrappers and layers cannot bypass a backend's own
/// methods through it.
#[async_trait]
pub trait BillingExt: BillingBackend {
    /// Every customer, as a stream that fetches one page of `page_size` at a time. Memory use is
    /// bounded by one page (the loop guard keeps one cursor, whatever the walk's length).
    ///
    /// # Behavior
    /// Yields what following `list_customers` cursors yields; ends with an `Unexpected` error if
    /// the backend's cursors come back round to one it already gave (a pagination loop), at most
    /// about twice the loop's length in pages after the loop begins.
    fn customers(&self, page_size: u32) -> BoxStream<'_, Result<Customer>> {
        paginate(None, page_size, move |page| async move {
            self.list_customers(&page).await
        })
    }

    /// Every subscription of a customer, as a stream of pages of `page_size`.
    ///
    /// # Behavior
    /// As [`BillingExt::customers`], over `list_subscriptions`.
    fn subscriptions<'a>(
        &'a self,
        customer: &'a CustomerKey,
        page_size: u32,
    ) -> BoxStream<'a, Result<Subscription>> {
        paginate(None, page_size, move |page| async move {
            self.list_subscriptions(customer, &page).await
        })
    }

    /// Returns the customer with `new.key`, creating it from `new` if it does not exist.
    ///
    /// # Behavior
    /// An existing customer is returned as it is (not updated from `new`). A concurrent creation
    /// of the same key is resolved by reading the winner's customer.
    async fn ensure_customer(&self, new: &NewCustomer) -> Result<Customer> {
        match self.get_customer(&new.key).await {
            Ok(c) => Ok(c),
            Err(e) if e.kind() == ErrorKind::NotFound => match self.create_customer(new).await {
                Ok(c) => Ok(c),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => self.get_customer(&new.key).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Returns the subscription with `new.key`, creating it from `new` if no subscription has
    /// the key: a start-up or a retried request can call it again safely.
    ///
    /// # Behavior
    /// - An existing subscription is returned as it is (in any state, canceled included; never
    ///   changed from `new`) only if it belongs to `new.customer` and is on `new.plan`.
    /// - `Conflict`, and nothing created or changed, if the key belongs to another customer's
    ///   subscription (the message names the owner), or to this customer's subscription on
    ///   another plan (the message names both plans). A key is never shared between customers:
    ///   usage recorded under it would be billed to the owner.
    /// - A concurrent creation of the same key is resolved by reading the winner's
    ///   subscription, then the same checks.
    /// - Otherwise as `create_subscription` (`NotFound` for an unknown customer or plan, ...).
    async fn ensure_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        let existing = match self.get_subscription(&new.key).await {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                match self.create_subscription(new).await {
                    Ok(s) => return Ok(s),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        self.get_subscription(&new.key).await?
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        new.check_existing(existing)
    }

    /// Wraps this backend in `layer` and returns the layered backend (`layer.layer(self)`), so
    /// a stack reads in the order calls go through it: `backend.layer(a).layer(b)` is `b` around
    /// `a` around `backend`.
    ///
    /// # Behavior
    /// Whatever the layer's backend does; see [`crate::layer`].
    fn layer<L: Layer<Self>>(self, layer: L) -> L::Backend
    where
        Self: Sized,
    {
        layer.layer(self)
    }

    /// Records one event.
    ///
    /// # Behavior
    /// `Ok(Accepted)` or `Ok(Duplicate)` as `record_usage` would report; a rejection or an
    /// unknown outcome is the `Err` (its error's `is_temporary()` says whether resending is
    /// safe). Call `record_usage` to tell an unknown outcome from a rejection.
    async fn record_one(&self, event: &UsageEvent) -> Result<Recorded> {
        self.record_usage(std::slice::from_ref(event))
            .await
            .into_iter()
            .next()
            .ok_or_else(|| Error::unexpected("backend returned no outcome for one event"))?
            .into_result()
    }
}

impl<T: BillingBackend + ?Sized> BillingExt for T {}

/// Turns a page-fetching function into a stream of items, starting after `start` (a checkpointed
/// cursor, or `None` for the beginning).
///
/// # Behavior
/// Fetches the next page only when the previous one is consumed, so memory is bounded by a page.
/// Cursors that come back round to one already given end the stream with an `Unexpected` error
/// instead of looping forever: the guard is Brent's cycle detection, one saved cursor and two
/// counters, so it stays the same size over any number of pages and catches a loop of any length
/// within about twice that length.
pub fn paginate<'a, T, F, Fut>(
    start: Option<Cursor>,
    page_size: u32,
    fetch: F,
) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    F: FnMut(PageRequest) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    struct State<F> {
        fetch: F,
        next: Option<PageRequest>,
        guard: LoopGuard,
    }
    let state = State {
        fetch,
        guard: LoopGuard::new(start.clone()),
        next: Some(PageRequest {
            cursor: start,
            limit: page_size,
        }),
    };
    stream::try_unfold(state, move |mut state| async move {
        let Some(request) = state.next.take() else {
            return Ok(None);
        };
        let page = (state.fetch)(request).await?;
        if let Some(cursor) = &page.next {
            if state.guard.is_loop(cursor) {
                return Err(Error::unexpected(format!(
                    "pagination loop: cursor {:?} was returned twice",
                    cursor.as_str()
                )));
            }
            state.next = Some(PageRequest::after(cursor.clone(), page_size));
        }
        Ok(Some((page.items, state)))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// Brent's cycle detection over the cursors of one walk: a saved cursor is compared with each
/// new one and replaced after 1, 2, 4, 8, ... steps, so any loop is caught within about twice
/// its length, in constant memory.
#[derive(Debug)]
struct LoopGuard {
    saved: Option<Cursor>,
    power: u64,
    steps: u64,
}

impl LoopGuard {
    fn new(start: Option<Cursor>) -> Self {
        Self {
            saved: start,
            power: 1,
            steps: 0,
        }
    }

    /// Whether `cursor` closes a loop; otherwise remembers what it needs of it.
    fn is_loop(&mut self, cursor: &Cursor) -> bool {
        if self.saved.as_ref() == Some(cursor) {
            return true;
        }
        self.steps += 1;
        if self.steps == self.power {
            self.saved = Some(cursor.clone());
            self.power = self.power.saturating_mul(2);
            self.steps = 0;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another process creates the key between this call's read and its create: the winner's
    /// subscription is read and checked, as the rest of `ensure_subscription`.
    #[tokio::test]
    async fn ensure_subscription_resolves_a_concurrent_create() {
        use crate::layer::{FaultInjection, Faults};
        use crate::{
            CustomerKey, InMemoryBackend, NewCustomer, Operation, PlanCode, SubscriptionKey,
            SubscriptionStore,
        };
        let faults = Faults::new();
        let backend =
            InMemoryBackend::with_sample_catalog().layer(FaultInjection::new(faults.clone()));
        let key = |k: &str| CustomerKey::new(k).unwrap();
        for c in ["acme", "globex"] {
            crate::CustomerStore::create_customer(&backend, &NewCustomer::new(key(c)))
                .await
                .unwrap();
        }
        let plan = PlanCode::new("starter-monthly").unwrap();
        let sub = SubscriptionKey::new("acme-main").unwrap();
        let new = NewSubscription::new(sub.clone(), key("acme"), plan.clone());
        let winner = SubscriptionStore::create_subscription(&backend, &new)
            .await
            .unwrap();
        // The first read misses it, as if it were created right after.
        faults.fail_next(Operation::GetSubscription, ErrorKind::NotFound, 1);
        let got = backend.ensure_subscription(&new).await.unwrap();
        assert_eq!(got.vendor_id, winner.vendor_id);
        faults.fail_next(Operation::GetSubscription, ErrorKind::NotFound, 1);
        let theirs = NewSubscription::new(sub, key("globex"), plan);
        let e = backend.ensure_subscription(&theirs).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e.message().contains("acme"), "{e}");
    }

    #[tokio::test]
    async fn paginate_walks_all_pages_and_stops() {
        let items: Vec<u32> = (0..25).collect();
        let s = paginate(None, 10, |req: PageRequest| {
            let items = items.clone();
            async move {
                let start = req
                    .cursor
                    .map(|c| crate::page::cursor_number(&c).unwrap())
                    .unwrap_or(0) as usize;
                let end = (start + req.limit as usize).min(items.len());
                let next = (end < items.len()).then(|| Cursor::new(end.to_string()));
                Ok(Page::new(items[start..end].to_vec(), next))
            }
        });
        let all: Vec<u32> = s.try_collect().await.unwrap();
        assert_eq!(all, items);
    }

    #[tokio::test]
    async fn paginate_detects_cursor_loops() {
        let s = paginate(None, 10, |_req: PageRequest| async {
            Ok(Page::new(vec![1u8], Some(Cursor::new("same"))))
        });
        let out: Vec<Result<u8>> = s.collect().await;
        assert_eq!(out.len(), 2, "one item, then the loop error");
        assert_eq!(
            out.last().unwrap().as_ref().unwrap_err().kind(),
            ErrorKind::Unexpected
        );
    }

    /// Cursors `0, 1, 2, ...`, then from `tail` on they go round a loop of `len`.
    fn looping(
        tail: u64,
        len: u64,
    ) -> impl FnMut(PageRequest) -> futures::future::Ready<Result<Page<u64>>> {
        move |req: PageRequest| {
            let at = req
                .cursor
                .map_or(0, |c| crate::page::cursor_number(&c).unwrap());
            let next = if at + 1 >= tail + len { tail } else { at + 1 };
            futures::future::ready(Ok(Page::new(vec![at], Some(Cursor::new(next.to_string())))))
        }
    }

    #[tokio::test]
    async fn loops_of_any_length_are_caught_in_constant_memory() {
        for (tail, len) in [(0, 1), (0, 2), (5, 3), (100, 1), (3, 250), (1000, 37)] {
            let out: Vec<Result<u64>> = paginate(None, 1, looping(tail, len)).collect().await;
            let pages = out.len() as u64 - 1;
            assert_eq!(
                out.last().unwrap().as_ref().unwrap_err().kind(),
                ErrorKind::Unexpected,
                "tail {tail}, loop {len}"
            );
            // Every page of the tail and of one lap is yielded; the loop is caught within about
            // twice its length plus the tail.
            assert!(
                pages >= tail + len,
                "tail {tail}, loop {len}: {pages} pages"
            );
            assert!(
                pages <= 2 * (tail + len) + 1,
                "tail {tail}, loop {len}: {pages} pages"
            );
        }
    }

    #[tokio::test]
    async fn a_long_walk_without_a_loop_is_not_mistaken_for_one() {
        let s = paginate(None, 1, |req: PageRequest| async move {
            let at = req
                .cursor
                .map_or(0, |c| crate::page::cursor_number(&c).unwrap());
            let next = (at < 20_000).then(|| Cursor::new((at + 1).to_string()));
            Ok(Page::new(vec![at], next))
        });
        let all: Vec<u64> = s.try_collect().await.unwrap();
        assert_eq!(all.len(), 20_001);
    }

    #[tokio::test]
    async fn paginate_resumes_from_a_checkpoint() {
        let s = paginate(Some(Cursor::new("20")), 10, |req: PageRequest| async move {
            let start = crate::page::cursor_number(&req.cursor.unwrap()).unwrap() as u32;
            Ok(Page::new(vec![start], None))
        });
        let all: Vec<u32> = s.try_collect().await.unwrap();
        assert_eq!(all, vec![20]);
    }
}
