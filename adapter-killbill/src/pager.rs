//! Kill Bill's offset pagination behind the library's opaque [`Cursor`].
//!
//! A cursor is `kb:<offset>`. Kill Bill orders accounts by record id, so a row inserted during a
//! walk lands after every row that existed before it: an offset walk never repeats or skips an
//! existing row. A page is the last one when it comes back short or empty, or when the server
//! sends no `X-Killbill-Pagination-NextOffset` (it leaves it out once the total is reached). The
//! header's value is not trusted (killbill#2154, #2158): the next offset is this offset plus the
//! rows received.

use billing_core::{Cursor, Error, MAX_PAGE_LIMIT, Page, PageRequest, Result};
use billing_http::HeaderMap;

const PREFIX: &str = "kb:";
/// `X-Killbill-Pagination-NextOffset`.
pub const NEXT_OFFSET: &str = "x-killbill-pagination-nextoffset";

/// One page to fetch: `offset` and `limit` query parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPage {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u32,
}

impl OffsetPage {
    /// The page a request asks for.
    ///
    /// # Errors
    /// `InvalidInput` for a limit outside `1..=MAX_PAGE_LIMIT` or a cursor this adapter did not
    /// make.
    pub fn of(request: &PageRequest) -> Result<Self> {
        let limit = billing_core::raw::page_limit(request, MAX_PAGE_LIMIT)?;
        let offset = match &request.cursor {
            None => 0,
            Some(c) => c
                .as_str()
                .strip_prefix(PREFIX)
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    Error::invalid_input(format!(
                        "cursor {:?} was not made by the Kill Bill backend",
                        c.as_str()
                    ))
                })?,
        };
        Ok(Self { offset, limit })
    }

    /// The cursor of the page after this one, given how many rows came back and the response's
    /// headers (`None` for a server-side listing that gives no headers).
    pub fn next(&self, received: usize, headers: Option<&HeaderMap>) -> Option<Cursor> {
        let full = u64::try_from(received).ok()? >= u64::from(self.limit);
        let more = headers.is_none_or(|h| h.contains_key(NEXT_OFFSET));
        if !full || !more || received == 0 {
            return None;
        }
        let next = self.offset.checked_add(u64::try_from(received).ok()?)?;
        Some(Cursor::new(format!("{PREFIX}{next}")))
    }

    /// One page of an in-memory list (the subscriptions of an account, flattened from its
    /// bundles).
    pub fn slice<T>(&self, items: Vec<T>) -> Page<T> {
        let total = items.len();
        let start = usize::try_from(self.offset)
            .unwrap_or(usize::MAX)
            .min(total);
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
        let end = start + page.len();
        let next = (end < total).then(|| Cursor::new(format!("{PREFIX}{end}")));
        Page::new(page, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::ErrorKind;
    use billing_http::HeaderValue;

    fn with_next(n: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(NEXT_OFFSET, HeaderValue::from_str(n).unwrap());
        h
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let first = OffsetPage::of(&PageRequest::first(3)).unwrap();
        assert_eq!(
            first,
            OffsetPage {
                offset: 0,
                limit: 3
            }
        );
        let next = first.next(3, Some(&with_next("3"))).unwrap();
        assert_eq!(next.as_str(), "kb:3");
        let second = OffsetPage::of(&PageRequest::after(next, 3)).unwrap();
        assert_eq!(second.offset, 3);
        for bad in ["3", "kb:", "kb:-1", "kb:x", "lago:2"] {
            let e = OffsetPage::of(&PageRequest::after(Cursor::new(bad), 3)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
        for limit in [0, MAX_PAGE_LIMIT + 1] {
            assert!(OffsetPage::of(&PageRequest::first(limit)).is_err());
        }
    }

    #[test]
    fn stops_on_short_empty_or_last_pages() {
        let p = OffsetPage {
            offset: 6,
            limit: 3,
        };
        assert!(p.next(2, Some(&with_next("9"))).is_none(), "short page");
        assert!(p.next(0, Some(&with_next("9"))).is_none(), "empty page");
        assert!(
            p.next(3, Some(&HeaderMap::new())).is_none(),
            "no NextOffset"
        );
        assert_eq!(
            p.next(3, Some(&with_next("999"))).unwrap().as_str(),
            "kb:9",
            "the header's value is not trusted"
        );
    }

    #[test]
    fn slices_in_memory_lists() {
        let p = OffsetPage {
            offset: 0,
            limit: 2,
        };
        let page = p.slice(vec![1, 2, 3]);
        assert_eq!(page.items, vec![1, 2]);
        let next = OffsetPage::of(&PageRequest::after(page.next.unwrap(), 2)).unwrap();
        let last = next.slice(vec![1, 2, 3]);
        assert_eq!(last.items, vec![3]);
        assert!(last.next.is_none());
        let beyond = OffsetPage {
            offset: 10,
            limit: 2,
        }
        .slice(vec![1]);
        assert!(beyond.items.is_empty() && beyond.next.is_none());
        assert!(
            OffsetPage {
                offset: 0,
                limit: 2
            }
            .slice(vec![1, 2])
            .next
            .is_none()
        );
    }
}
