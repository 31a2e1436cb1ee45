//! One page of a listing, and the opaque cursor to the next.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The largest page size a caller may ask for. Backends may return fewer items per page.
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// An opaque position in a listing: a Lago page number, a Kill Bill offset, a BillaBear
/// `last_key`. It serialises as a plain string, so a migration can checkpoint it and resume.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a backend's position. Backends create cursors; callers only pass them back.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a cursor as a number (for page- and offset-based backends); see
/// [`crate::raw::cursor_number`].
pub(crate) fn cursor_number(cursor: &Cursor) -> Result<u64> {
    cursor
        .0
        .parse()
        .map_err(|_| Error::invalid_input(format!("cursor {:?} is not valid here", cursor.0)))
}

/// Which page to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Where to continue; `None` for the first page.
    pub cursor: Option<Cursor>,
    /// At most this many items (1..=[`MAX_PAGE_LIMIT`]). A backend may return fewer, even when
    /// more pages follow.
    pub limit: u32,
}

impl PageRequest {
    /// The first page.
    pub fn first(limit: u32) -> Self {
        Self {
            cursor: None,
            limit,
        }
    }

    /// The page after `cursor`.
    pub fn after(cursor: Cursor, limit: u32) -> Self {
        Self {
            cursor: Some(cursor),
            limit,
        }
    }
}

/// Checks a request's limit and caps it at `backend_max`; see [`crate::raw::page_limit`].
pub(crate) fn page_limit(request: &PageRequest, backend_max: u32) -> Result<u32> {
    if request.limit == 0 || request.limit > MAX_PAGE_LIMIT {
        return Err(Error::invalid_input(format!(
            "page limit {} is outside 1..={MAX_PAGE_LIMIT}",
            request.limit
        )));
    }
    Ok(request.limit.min(backend_max.max(1)))
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the backend's stable order.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page. Only `None` means the end: a short
    /// or even empty page with a cursor is not the end.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page.
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Self {
        Self { items, next }
    }

    /// Whether this is the last page.
    pub fn is_last(&self) -> bool {
        self.next.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_and_capped() {
        assert!(page_limit(&PageRequest::first(0), 100).is_err());
        assert!(page_limit(&PageRequest::first(MAX_PAGE_LIMIT + 1), 100).is_err());
        assert_eq!(page_limit(&PageRequest::first(500), 100).unwrap(), 100);
        assert_eq!(page_limit(&PageRequest::first(5), 100).unwrap(), 5);
    }

    #[test]
    fn cursors_serialise_as_strings() {
        let c = Cursor::new("42");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"42\"");
        assert_eq!(cursor_number(&c).unwrap(), 42);
        assert!(cursor_number(&Cursor::new("x")).is_err());
    }
}
