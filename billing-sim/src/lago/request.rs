//! Reading a request the way Rails would: percent-decoded path segments, query parameters with
//! `key[]` arrays, a JSON body with a root key, and loosely typed scalar parameters.

use bytes::Bytes;
use http::{HeaderMap, header};
use serde_json::{Map, Value};

use super::errors::ApiError;

/// One request, already read, as the endpoints see it.
#[derive(Debug)]
pub(crate) struct Call {
    /// Raw (still percent-encoded) path segments after `/api/v1/`.
    pub(crate) segments: Vec<String>,
    /// Decoded query parameters.
    pub(crate) query: Query,
    /// The parsed JSON body (`Value::Null` when there is none or it is not JSON).
    pub(crate) body: Value,
}

impl Call {
    /// Builds a call from the raw parts; a malformed JSON body is a 400 as Rails renders it.
    pub(crate) fn new(
        path: &str,
        raw_query: Option<&str>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Self, ApiError> {
        let segments = path
            .trim_start_matches('/')
            .split('/')
            .skip(2)
            .map(str::to_owned)
            .collect();
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        let body = if is_json && !body.iter().all(u8::is_ascii_whitespace) {
            serde_json::from_slice(body).map_err(|_| ApiError::BadRequest)?
        } else {
            Value::Null
        };
        Ok(Self {
            segments,
            query: Query::parse(raw_query.unwrap_or("")),
            body,
        })
    }

    /// The decoded path segment `i` (0 is the resource name, e.g. `customers`).
    pub(crate) fn segment(&self, i: usize) -> Result<String, ApiError> {
        let raw = self
            .segments
            .get(i)
            .ok_or(ApiError::NotFound("resource_not_found"))?;
        percent_decode(raw, false).ok_or(ApiError::BadRequest)
    }

    /// A customer path segment. Customer routes keep Rails' default segment pattern, which stops
    /// at `.`: `a.json` addresses customer `a` (the rest is the format), a segment with two dots
    /// matches no route, and in a nested route (`/customers/a.b/current_usage`) any dot does.
    /// An encoded dot (`%2E`) is part of the id.
    pub(crate) fn customer_segment(&self, i: usize, nested: bool) -> Result<String, ApiError> {
        let raw = self
            .segments
            .get(i)
            .ok_or(ApiError::NotFound("resource_not_found"))?;
        let id = match raw.split_once('.') {
            None => raw.as_str(),
            Some(_) if nested => return Err(ApiError::NotFound("resource_not_found")),
            Some((_, format)) if format.contains('.') || format.is_empty() => {
                return Err(ApiError::NotFound("resource_not_found"));
            }
            Some((id, _)) => id,
        };
        percent_decode(id, false).ok_or(ApiError::BadRequest)
    }

    /// The object under the root key, or Lago's 400 when it is missing, empty or not an object.
    pub(crate) fn root(&self, root: &'static str) -> Result<&Map<String, Value>, ApiError> {
        match self.body.get(root) {
            Some(Value::Object(m)) if !m.is_empty() => Ok(m),
            _ => Err(ApiError::MissingRoot(root)),
        }
    }
}

/// Decoded query parameters, in order.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: &str) -> Self {
        let pairs = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                Some((percent_decode(k, true)?, percent_decode(v, true)?))
            })
            .collect();
        Self { pairs }
    }

    /// The last value of a scalar parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-blank scalar parameter.
    pub(crate) fn present(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// Every value of `name[]` (or of a scalar `name`), in order.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        let array = format!("{name}[]");
        self.pairs
            .iter()
            .filter(|(k, _)| *k == array || k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Kaminari's `page` and `per_page`: page defaults to 1 (anything below 1 or unparsable is 1),
    /// per_page to 100 (`Pagination::PER_PAGE`; values below 1 fall back to it too).
    pub(crate) fn pagination(&self) -> (usize, usize) {
        let num = |name: &str| {
            self.get(name)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|n| *n >= 1)
                .and_then(|n| usize::try_from(n).ok())
        };
        (num("page").unwrap_or(1), num("per_page").unwrap_or(100))
    }
}

/// Percent-decodes `s` (`+` is a space in query strings only). `None` for invalid UTF-8.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A parameter as Rails' strong parameters see it: absent, explicitly null, or a scalar
/// (strings as they are, numbers and booleans as their text). Arrays and objects are not
/// permitted scalars and are dropped, as if absent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Absent,
    Null,
    Text(String),
}

impl Param {
    pub(crate) fn of(map: &Map<String, Value>, key: &str) -> Self {
        match map.get(key) {
            None | Some(Value::Array(_) | Value::Object(_)) => Self::Absent,
            Some(Value::Null) => Self::Null,
            Some(Value::String(s)) => Self::Text(s.clone()),
            Some(Value::Bool(b)) => Self::Text(b.to_string()),
            Some(Value::Number(n)) => Self::Text(n.to_string()),
        }
    }

    /// The text if not blank.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Self::Text(s) if !s.trim().is_empty() => Some(s),
            _ => None,
        }
    }

    /// The value to store: `Some(None)` to clear, `Some(Some(s))` to set, `None` to keep.
    pub(crate) fn update(&self) -> Option<Option<String>> {
        match self {
            Self::Absent => None,
            Self::Null => Some(None),
            Self::Text(s) => Some(Some(s.clone())),
        }
    }
}

/// A boolean parameter the way Rails casts it (`true`, `"true"`, `1`, `"1"`... are true).
pub(crate) fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Null => None,
        Value::Number(n) => Some(n.as_f64() != Some(0.0)),
        Value::String(s) => Some(!matches!(
            s.to_ascii_lowercase().as_str(),
            "false" | "0" | "f" | "off" | "no" | ""
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(
            percent_decode("a%2Fb%20c+d", false).as_deref(),
            Some("a/b c+d")
        );
        assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(percent_decode("100%", false).as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4", false).as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%FF", false), None);
    }

    #[test]
    fn queries() {
        let q = Query::parse("status[]=active&status[]=pending&page=2&per_page=x&a=1&a=2");
        assert_eq!(q.list("status"), vec!["active", "pending"]);
        assert_eq!(q.pagination(), (2, 100));
        assert_eq!(q.get("a"), Some("2"));
        assert_eq!(Query::parse("page=0").pagination(), (1, 100));
    }
}
