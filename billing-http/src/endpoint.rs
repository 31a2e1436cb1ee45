//! A vendor's base URL, checked once, and request URLs built from it with every path segment
//! percent-encoded.

use std::net::IpAddr;

use billing_core::{Error, Result};
use url::{Host, Url};

/// A validated base URL such as `https://api.getlago.com/api/v1`, and the setting it came from
/// (`lago.base_url`), which errors about a URL that reaches no API name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: Url,
    setting: String,
}

impl Endpoint {
    /// Parses and checks a base URL.
    ///
    /// # Errors
    /// A `Config` error naming `setting` if the URL is not `http(s)`, carries credentials, a
    /// query or a fragment, or is `http://` to a host that is not loopback while
    /// `allow_insecure_http` is false.
    pub fn parse(setting: &str, raw: &str, allow_insecure_http: bool) -> Result<Self> {
        let base = Url::parse(raw).map_err(|e| Error::config(setting, e))?;
        match base.scheme() {
            "https" => {}
            "http" if allow_insecure_http || is_loopback(&base) => {}
            "http" => {
                return Err(Error::config(
                    setting,
                    "http:// to a host that is not loopback would send credentials in clear; \
                     use https:// or set http.allow_insecure_http",
                ));
            }
            other => {
                return Err(Error::config(
                    setting,
                    format!("unsupported scheme {other:?}"),
                ));
            }
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(Error::config(
                setting,
                "must not contain credentials; use the credential settings",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::config(setting, "must not have a query or fragment"));
        }
        if base.cannot_be_a_base() || base.host().is_none() {
            return Err(Error::config(
                setting,
                "must be an absolute URL with a host",
            ));
        }
        Ok(Self {
            base,
            setting: setting.to_owned(),
        })
    }

    /// Checks that the path of a base URL ends in `suffix` (ignoring a trailing `/`, a query
    /// and a fragment): `/api/v1` for vendors whose every route lives there, so a base URL
    /// missing it is refused at start-up rather than met as a 404 on every call.
    ///
    /// # Errors
    /// A `Config` error naming `setting`, with `example`.
    pub fn require_suffix(setting: &str, raw: &str, suffix: &str, example: &str) -> Result<()> {
        let path = raw
            .trim()
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        if path.ends_with(suffix) {
            Ok(())
        } else {
            Err(Error::config(
                setting,
                format!("must end in {suffix} (for example {example})"),
            ))
        }
    }

    /// The setting the URL came from (`lago.base_url`).
    pub fn setting(&self) -> &str {
        &self.setting
    }

    /// The base URL as configured.
    pub fn as_str(&self) -> &str {
        self.base.as_str()
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The URL of `segments` under the base path. Each segment is percent-encoded as one path
    /// segment, so a key containing `/`, `?`, `#` or `%` can never reach another endpoint.
    ///
    /// # Errors
    /// `Unexpected` for a `.` or `..` segment (keys are validated earlier; this guards ids that
    /// come back from a server).
    pub fn url<I>(&self, segments: I) -> Result<Url>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| Error::unexpected("base URL cannot have a path"))?;
            path.pop_if_empty();
            for s in segments {
                let s = s.as_ref();
                if s == "." || s == ".." || s.is_empty() {
                    return Err(Error::unexpected(format!(
                        "refusing to build a URL with path segment {s:?}"
                    )));
                }
                path.push(s);
            }
        }
        Ok(url)
    }

    /// A URL from a server-supplied path relative to the base's origin (a `Location` header or a
    /// `NextPageUri`), refusing anything that points at another host.
    ///
    /// # Errors
    /// `Unexpected` if the reference does not parse or leaves the base's origin.
    pub fn follow(&self, reference: &str) -> Result<Url> {
        let url = self
            .base
            .join(reference)
            .map_err(|e| Error::unexpected(format!("bad server reference {reference:?}: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(Error::unexpected(format!(
                "server reference {reference:?} leaves {}",
                self.base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::ErrorKind;

    #[test]
    fn insecure_http_only_to_loopback_unless_allowed() {
        assert!(Endpoint::parse("x", "http://127.0.0.1:3000/api/v1", false).is_ok());
        assert!(Endpoint::parse("x", "http://localhost/api", false).is_ok());
        assert!(Endpoint::parse("x", "http://[::1]:80/", false).is_ok());
        let e = Endpoint::parse("lago.base_url", "http://billing.example.com/api/v1", false)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("lago.base_url"));
        assert!(Endpoint::parse("x", "http://billing.example.com/api/v1", true).is_ok());
        assert!(Endpoint::parse("x", "https://api.getlago.com/api/v1", false).is_ok());
        assert!(Endpoint::parse("x", "ftp://h/", false).is_err());
        assert!(Endpoint::parse("x", "https://u:p@h/", false).is_err());
        assert!(Endpoint::parse("x", "not a url", false).is_err());
    }

    #[test]
    fn a_required_suffix_is_checked_on_the_path() {
        let ok = [
            "https://h/api/v1",
            "https://h/api/v1/",
            "http://127.0.0.1:3/x/api/v1",
        ];
        for raw in ok {
            assert!(
                Endpoint::require_suffix("s", raw, "/api/v1", "e").is_ok(),
                "{raw}"
            );
        }
        for raw in [
            "https://h",
            "https://h/",
            "https://h/api",
            "https://h/api/v1/x",
            "",
        ] {
            let e = Endpoint::require_suffix("lago.base_url", raw, "/api/v1", "e").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.message().contains("lago.base_url"), "{e}");
        }
        let e = Endpoint::parse("lago.base_url", "https://h/api/v1", false).unwrap();
        assert_eq!(e.setting(), "lago.base_url");
    }

    #[test]
    fn segments_are_encoded_and_cannot_escape() {
        let e = Endpoint::parse("x", "https://h/api/v1/", false).unwrap();
        let u = e.url(&["customers", "../tenants?x=1#f%"]).unwrap();
        assert_eq!(
            u.as_str(),
            "https://h/api/v1/customers/..%2Ftenants%3Fx=1%23f%25"
        );
        let u = e.url(&["customers", "ü x"]).unwrap();
        assert_eq!(u.path(), "/api/v1/customers/%C3%BC%20x");
        assert!(e.url(&["customers", ".."]).is_err());
        assert!(e.url(&["customers", ""]).is_err());
    }

    #[test]
    fn follow_stays_on_origin() {
        let e = Endpoint::parse("x", "http://127.0.0.1:8080", false).unwrap();
        assert_eq!(
            e.follow("/1.0/kb/accounts/pagination?offset=100")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/1.0/kb/accounts/pagination?offset=100"
        );
        assert!(e.follow("http://127.0.0.1:8080/1.0/kb/accounts/x").is_ok());
        assert!(e.follow("http://evil.example/1.0/kb").is_err());
    }
}
