//! Request URLs for servers whose routes treat `.` as the start of a format suffix.
//!
//! Rails' default route segment (`[^/.?]+`) stops at a dot, so `/customers/a.b` addresses `a`
//! with format `b`. Rails matches routes on the still-encoded path and decodes parameters only
//! afterwards, so a dot sent as `%2E` is part of the id. [`Endpoint::url_escaping_dots`] encodes
//! every byte but ASCII letters, digits, `-`, `_` and `~` (dots included).

use billing_core::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use crate::endpoint::Endpoint;

/// Everything but RFC 3986's unreserved characters other than `.`.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// One path segment with every byte but `[A-Za-z0-9_~-]` percent-encoded (`.` becomes `%2E`).
pub fn encode_segment_strict(segment: &str) -> String {
    utf8_percent_encode(segment, STRICT).to_string()
}

impl Endpoint {
    /// Like [`Endpoint::url`], but dots in the segments are percent-encoded too, for Rails-style
    /// routes that would otherwise read `a.b` as id `a` in format `b`.
    ///
    /// # Errors
    /// `Unexpected` for an empty, `.` or `..` segment.
    pub fn url_escaping_dots<S: AsRef<str>>(&self, segments: &[S]) -> Result<Url> {
        let mut url = self.base().clone();
        let mut path = url.path().trim_end_matches('/').to_owned();
        for s in segments {
            let s = s.as_ref();
            if s == "." || s == ".." || s.is_empty() {
                return Err(Error::unexpected(format!(
                    "refusing to build a URL with path segment {s:?}"
                )));
            }
            path.push('/');
            path.push_str(&encode_segment_strict(s));
        }
        url.set_path(&path);
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_and_everything_else_are_encoded() {
        let e = Endpoint::parse("x", "https://h/api/v1/", false).unwrap();
        let u = e
            .url_escaping_dots(&["customers", "a.b@x.com", "current_usage"])
            .unwrap();
        assert_eq!(u.path(), "/api/v1/customers/a%2Eb%40x%2Ecom/current_usage");
        let u = e
            .url_escaping_dots(&["customers", "we/ird?k#e%y.ü ../x"])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "https://h/api/v1/customers/we%2Fird%3Fk%23e%25y%2E%C3%BC%20%2E%2E%2Fx"
        );
        assert!(u.query().is_none() && u.fragment().is_none());
        assert_eq!(encode_segment_strict("A-z_0~9"), "A-z_0~9");
        assert!(e.url_escaping_dots(&["customers", ".."]).is_err());
        assert!(e.url_escaping_dots(&["customers", ""]).is_err());
        let bare = Endpoint::parse("x", "http://127.0.0.1:3000", false).unwrap();
        assert_eq!(
            bare.url_escaping_dots(&["customers", "a.b"])
                .unwrap()
                .as_str(),
            "http://127.0.0.1:3000/customers/a%2Eb"
        );
    }
}
