//! Building answers the way Kill Bill's JAX-RS layer does (JSON entities, `201` with an empty
//! body and a full-URL `Location`, `204`), and reading query parameters the way Jersey converts
//! them (a value that does not convert is a 404, as JAX-RS specifies for query parameters).

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;

use super::errors::KbError;

/// 200 with a JSON entity.
pub(crate) fn json<T: Serialize>(value: &T) -> Response {
    json_with(StatusCode::OK, value)
}

/// A JSON entity with a status.
pub(crate) fn json_with<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// 204, no body (with `Content-Type: application/json`, as observed).
pub(crate) fn no_content() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// 201 with an empty body and no `Location` (usage), `Content-Type: application/json`.
pub(crate) fn created_without_location() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::CREATED;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The full URL of `path` as `JaxrsUriBuilder.buildLocation` builds it: scheme, host and port
/// of the request (honouring `X-Forwarded-Proto` / `X-Forwarded-Host`).
pub(crate) fn full_url(headers: &HeaderMap, path: &str) -> String {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let scheme = get("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
    let host = get("x-forwarded-host")
        .or_else(|| get("host"))
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    format!("{scheme}://{host}{path}")
}

/// 201, an empty body and `Location: <full URL of path>`.
pub(crate) fn created(headers: &HeaderMap, path: &str) -> Response {
    let mut resp = created_without_location();
    if let Ok(v) = HeaderValue::from_str(&full_url(headers, path)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decoded query parameters, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode_component(k), decode_component(v)),
                None => (decode_component(p), String::new()),
            })
            .collect();
        Params(pairs)
    }

    /// The first value of `name` (`@QueryParam` takes the first).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A `Boolean` parameter: `Boolean.valueOf` is true only for "true" (any case).
    pub(crate) fn bool_or(&self, name: &str, default: bool) -> bool {
        self.get(name)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }

    /// A `Long` parameter; a value that is not a number is a 404 (JAX-RS param conversion).
    pub(crate) fn long_or(&self, name: &str, default: i64) -> Result<i64, KbError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| KbError::not_found_page()),
        }
    }

    /// An enum parameter (`Enum.valueOf`): an unknown constant is a 404.
    pub(crate) fn enum_opt(
        &self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, KbError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .find(|a| **a == v)
                .copied()
                .map(Some)
                .ok_or_else(KbError::not_found_page),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let p = Params::parse(Some("a=1&b=x%20y+z&a=2&flag=TRUE&bad=%zz&t=%2"));
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.all("a"), vec!["1", "2"]);
        assert_eq!(p.get("b"), Some("x y z"));
        assert!(p.bool_or("flag", false));
        assert!(!p.bool_or("a", true));
        assert_eq!(p.get("bad"), Some("%zz"));
        assert_eq!(p.get("t"), Some("%2"));
        assert!(p.long_or("b", 0).is_err());
        assert_eq!(p.long_or("missing", 7).unwrap(), 7);
    }

    #[test]
    fn location_is_a_full_url() {
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:9999".parse().unwrap());
        assert_eq!(full_url(&h, "/x"), "http://127.0.0.1:9999/x");
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        h.insert("x-forwarded-host", "kb.example".parse().unwrap());
        assert_eq!(full_url(&h, "/x"), "https://kb.example/x");
    }
}
