//! Kill Bill's offset pagination (`DefaultPagination` and `buildStreamingPaginationResponse`):
//! a JSON array plus `X-Killbill-Pagination-*` headers, where `NextOffset` and `NextPageUri`
//! are left out once `offset + limit` reaches the total.

use http::{HeaderMap, HeaderName, HeaderValue};

/// `X-Killbill-Pagination-CurrentOffset`.
pub(crate) const CURRENT_OFFSET: &str = "x-killbill-pagination-currentoffset";
/// `X-Killbill-Pagination-NextOffset`.
pub(crate) const NEXT_OFFSET: &str = "x-killbill-pagination-nextoffset";
/// `X-Killbill-Pagination-TotalNbRecords`.
pub(crate) const TOTAL_NB_RECORDS: &str = "x-killbill-pagination-totalnbrecords";
/// `X-Killbill-Pagination-MaxNbRecords`.
pub(crate) const MAX_NB_RECORDS: &str = "x-killbill-pagination-maxnbrecords";
/// `X-Killbill-Pagination-NextPageUri`.
pub(crate) const NEXT_PAGE_URI: &str = "x-killbill-pagination-nextpageuri";

/// One page request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageRequest {
    /// Rows to skip.
    pub(crate) offset: i64,
    /// Page size; negative pages in descending order.
    pub(crate) limit: i64,
}

impl PageRequest {
    /// The items of this page.
    pub(crate) fn slice<T: Clone>(&self, items: &[T]) -> Vec<T> {
        let skip = usize::try_from(self.offset.max(0)).unwrap_or(usize::MAX);
        let take = usize::try_from(self.limit.unsigned_abs()).unwrap_or(usize::MAX);
        if self.limit < 0 {
            items.iter().rev().skip(skip).take(take).cloned().collect()
        } else {
            items.iter().skip(skip).take(take).cloned().collect()
        }
    }

    /// `DefaultPagination.getNextOffset`: `offset + limit`, or none once it reaches the total.
    pub(crate) fn next_offset(&self, total: usize) -> Option<i64> {
        let candidate = self.offset.saturating_add(self.limit);
        let total = i64::try_from(total).unwrap_or(i64::MAX);
        (candidate < total).then_some(candidate)
    }

    /// The pagination headers; `path` is the listing's path and `extra` the query parameters
    /// `JaxrsUriBuilder.nextPage` appends after `offset` and `limit`.
    pub(crate) fn headers(&self, total: usize, path: &str, extra: &[(&str, String)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        };
        put(CURRENT_OFFSET, self.offset.to_string());
        put(TOTAL_NB_RECORDS, total.to_string());
        put(MAX_NB_RECORDS, total.to_string());
        if let Some(next) = self.next_offset(total) {
            put(NEXT_OFFSET, next.to_string());
            let mut uri = format!("{path}?offset={next}&limit={}", self.limit);
            for (k, v) in extra {
                uri.push_str(&format!("&{k}={v}"));
            }
            put(NEXT_PAGE_URI, uri);
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_headers() {
        let items: Vec<u32> = (0..5).collect();
        let first = PageRequest {
            offset: 0,
            limit: 2,
        };
        assert_eq!(first.slice(&items), vec![0, 1]);
        let h = first.headers(5, "/p", &[("audit", "NONE".into())]);
        assert_eq!(h[NEXT_OFFSET], "2");
        assert_eq!(h[NEXT_PAGE_URI], "/p?offset=2&limit=2&audit=NONE");
        let last = PageRequest {
            offset: 4,
            limit: 2,
        };
        assert_eq!(last.slice(&items), vec![4]);
        let h = last.headers(5, "/p", &[]);
        assert!(h.get(NEXT_OFFSET).is_none());
        assert!(h.get(NEXT_PAGE_URI).is_none());
        assert_eq!(h[TOTAL_NB_RECORDS], "5");
        let exact = PageRequest {
            offset: 3,
            limit: 2,
        };
        assert!(exact.next_offset(5).is_none());
        let desc = PageRequest {
            offset: 0,
            limit: -2,
        };
        assert_eq!(desc.slice(&items), vec![4, 3]);
    }
}
