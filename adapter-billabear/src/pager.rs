//! BillaBear's keyset pagination: a page size of at most 100 (`limit`, or `per_page` on
//! `/subscription`) and `last_key`, the id of the previous page's last item. `has_more: false`
//! is the end; `last_key` is absent on empty pages.
//!
//! The [`Cursor`] handed to callers is exactly the server's `last_key` (a UUID), so it survives
//! a restart and can be checkpointed by a migration.

use billing_core::{Cursor, Error, PageRequest, Result};

use crate::convert::is_uuid;
use crate::wire;

/// The largest page BillaBear serves (`413` above).
pub const MAX_PAGE: u32 = 100;

/// One page to fetch: the size to ask for and the `last_key` to continue after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// `limit` / `per_page`, in `1..=100`.
    pub size: u32,
    /// `last_key`, if not the first page.
    pub last_key: Option<String>,
}

impl PageQuery {
    /// The first page of `size` items.
    pub fn first(size: u32) -> Self {
        Self {
            size: size.clamp(1, MAX_PAGE),
            last_key: None,
        }
    }

    /// The query parameters: `size_param` (`limit` or `per_page`) and `last_key`.
    pub fn params(&self, size_param: &'static str) -> Vec<(&'static str, String)> {
        let mut params = vec![(size_param, self.size.to_string())];
        if let Some(k) = &self.last_key {
            params.push(("last_key", k.clone()));
        }
        params
    }
}

/// Checks a caller's page request and turns it into a BillaBear page query.
///
/// # Errors
/// `InvalidInput` for a limit outside `1..=MAX_PAGE_LIMIT`, or a cursor that is not a
/// BillaBear `last_key` (the server would answer a non-UUID with a 500).
pub fn page_query(page: &PageRequest) -> Result<PageQuery> {
    let size = billing_core::raw::page_limit(page, MAX_PAGE)?;
    let last_key = match &page.cursor {
        None => None,
        Some(c) if is_uuid(c.as_str()) => Some(c.as_str().to_ascii_lowercase()),
        Some(c) => {
            return Err(Error::invalid_input(format!(
                "cursor {:?} was not made by the BillaBear backend",
                c.as_str()
            )));
        }
    };
    Ok(PageQuery { size, last_key })
}

/// The cursor of the page after `list`, or `None` at the end.
///
/// # Errors
/// `Decode` if the server says more pages follow but gives no usable `last_key`.
pub fn next_cursor<T>(list: &wire::List<T>) -> Result<Option<Cursor>> {
    next_query(list, MAX_PAGE).map(|q| q.and_then(|q| q.last_key.map(Cursor::new)))
}

/// The query of the page after `list` (same size), or `None` at the end.
///
/// # Errors
/// As [`next_cursor`].
pub fn next_query<T>(list: &wire::List<T>, size: u32) -> Result<Option<PageQuery>> {
    if !list.has_more {
        return Ok(None);
    }
    match list.last_key.as_deref() {
        Some(k) if is_uuid(k) => Ok(Some(PageQuery {
            size: size.clamp(1, MAX_PAGE),
            last_key: Some(k.to_owned()),
        })),
        other => Err(Error::decode(format!(
            "BillaBear says more pages follow but gives last_key {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::{ErrorKind, MAX_PAGE_LIMIT};

    const ID: &str = "6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00";

    fn list(has_more: bool, last_key: Option<&str>) -> wire::List<()> {
        wire::List {
            data: Vec::new(),
            has_more,
            last_key: last_key.map(str::to_owned),
        }
    }

    #[test]
    fn limits_are_capped_at_100_and_checked() {
        assert_eq!(page_query(&PageRequest::first(7)).unwrap().size, 7);
        assert_eq!(
            page_query(&PageRequest::first(MAX_PAGE_LIMIT))
                .unwrap()
                .size,
            100
        );
        for bad in [0, MAX_PAGE_LIMIT + 1] {
            assert_eq!(
                page_query(&PageRequest::first(bad)).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
        assert_eq!(PageQuery::first(1000).size, 100);
        assert_eq!(PageQuery::first(0).size, 1);
    }

    #[test]
    fn cursors_are_last_keys() {
        let q = page_query(&PageRequest::after(Cursor::new(ID.to_uppercase()), 10)).unwrap();
        assert_eq!(q.last_key.as_deref(), Some(ID));
        assert_eq!(
            q.params("per_page"),
            vec![("per_page", "10".to_owned()), ("last_key", ID.to_owned())]
        );
        assert_eq!(
            PageQuery::first(5).params("limit"),
            vec![("limit", "5".to_owned())]
        );
        for bad in ["3", "", "../x", "abc"] {
            assert_eq!(
                page_query(&PageRequest::after(Cursor::new(bad), 10))
                    .unwrap_err()
                    .kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_end_is_has_more_false_only() {
        assert_eq!(next_cursor(&list(false, None)).unwrap(), None);
        assert_eq!(next_cursor(&list(false, Some(ID))).unwrap(), None);
        assert_eq!(
            next_cursor(&list(true, Some(ID))).unwrap(),
            Some(Cursor::new(ID))
        );
        assert_eq!(
            next_query(&list(true, Some(ID)), 30).unwrap().unwrap().size,
            30
        );
        assert_eq!(
            next_cursor(&list(true, None)).unwrap_err().kind(),
            ErrorKind::Decode
        );
        assert!(next_cursor(&list(true, Some("x"))).is_err());
    }

    #[test]
    fn envelopes_decode_with_or_without_last_key() {
        let empty: wire::List<serde_json::Value> =
            serde_json::from_str(r#"{"data":[],"has_more":false}"#).unwrap();
        assert_eq!(next_cursor(&empty).unwrap(), None);
        let app: wire::List<serde_json::Value> = serde_json::from_str(
            r#"{"data":[{}],"has_more":true,"last_key":"6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00","first_key":null}"#,
        )
        .unwrap();
        assert!(next_cursor(&app).unwrap().is_some());
    }

    #[test]
    fn an_envelope_without_its_list_is_refused() {
        for broken in [r#"{}"#, r#"{"has_more":false}"#, r#"{"data":[]}"#] {
            assert!(
                serde_json::from_str::<wire::List<serde_json::Value>>(broken).is_err(),
                "{broken}"
            );
        }
    }
}
