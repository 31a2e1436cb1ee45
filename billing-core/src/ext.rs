//! Conveniences built on the traits, for every backend at once.

use std::collections::HashSet;
use std::future::Future;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::backend::BillingBackend;
use crate::customer::{Customer, NewCustomer};
use crate::error::{Error, ErrorKind, Result};
use crate::key::CustomerKey;
use crate::page::{Cursor, Page, PageRequest};
use crate::subscription::Subscription;
use crate::usage::{Recorded, UsageEvent};

/// Conveniences for any [`BillingBackend`].
///
/// Implemented once for every backend by a blanket impl, and never by backends themselves (the
/// blanket impl makes that impossible), so wrappers and layers cannot bypass a backend's own
/// methods through it.
#[async_trait]
pub trait BillingExt: BillingBackend {
    /// Every customer, as a stream that fetches one page of `page_size` at a time. Memory use is
    /// bounded by one page.
    ///
    /// # Behavior
    /// Yields what following `list_customers` cursors yields; ends with an `Unexpected` error if
    /// the backend hands back a cursor it already gave (a pagination loop).
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
            Err(e) if e.kind() == &ErrorKind::NotFound => match self.create_customer(new).await {
                Ok(c) => Ok(c),
                Err(e) if e.kind() == &ErrorKind::AlreadyExists => {
                    self.get_customer(&new.key).await
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
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
/// A cursor that comes back a second time ends the stream with an `Unexpected` error instead of
/// looping forever.
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
        seen: HashSet<Cursor>,
    }
    let mut seen = HashSet::new();
    if let Some(c) = &start {
        seen.insert(c.clone());
    }
    let state = State {
        fetch,
        next: Some(PageRequest {
            cursor: start,
            limit: page_size,
        }),
        seen,
    };
    stream::try_unfold(state, move |mut state| async move {
        let Some(request) = state.next.take() else {
            return Ok(None);
        };
        let page = (state.fetch)(request).await?;
        if let Some(cursor) = &page.next {
            if !state.seen.insert(cursor.clone()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paginate_walks_all_pages_and_stops() {
        let items: Vec<u32> = (0..25).collect();
        let s = paginate(None, 10, |req: PageRequest| {
            let items = items.clone();
            async move {
                let start = req.cursor.map(|c| c.parse_number().unwrap()).unwrap_or(0) as usize;
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
            &ErrorKind::Unexpected
        );
    }

    #[tokio::test]
    async fn paginate_resumes_from_a_checkpoint() {
        let s = paginate(Some(Cursor::new("20")), 10, |req: PageRequest| async move {
            let start = req.cursor.unwrap().parse_number().unwrap() as u32;
            Ok(Page::new(vec![start], None))
        });
        let all: Vec<u32> = s.try_collect().await.unwrap();
        assert_eq!(all, vec![20]);
    }
}
