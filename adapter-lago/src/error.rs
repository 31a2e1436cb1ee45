//! Lago's error bodies, `{status, error, code, error_details}`, parsed leniently into
//! [`VendorDetail`] and error kinds, plus the per-index details of a failed event batch.
//!
//! Kinds: 400 and 422 `InvalidInput` (a 422 `provider_error` or `third_party_error` is a failure
//! at a third party: `Unexpected`), 401 `Unauthenticated` (naming `lago.api_key`), 403
//! `PermissionDenied`, 404 `NotFound` when the body is Lago's (`{"code": "<resource>_not_found"}`:
//! `customer_not_found`, `plan_not_found`, `resource_not_found`, ...; any other 404 body means
//! the URL reaches no Lago route, a `Config` error naming `lago.base_url`), 405
//! `Conflict` (business rules such as `no_active_subscription`), 429 `RateLimited`, 5xx
//! `Unavailable`. A 422 whose only errors are `transaction_id: value_already_exist` is not an
//! error at all for events: [`BatchErrors`] turns it into `Duplicate`.

use std::collections::BTreeMap;

use billing_core::{ErrorKind, VendorDetail};
use billing_http::{StatusCode, VendorErrors, kind_for_status, shorten};
use serde_json::{Map, Value};

/// Lago's error format.
#[derive(Debug, Clone, Copy, Default)]
pub struct LagoErrors;

/// The fields of an error body that could be read; anything missing or of the wrong type is
/// `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorBody {
    /// `status`.
    pub status: Option<u16>,
    /// `error`: the HTTP reason or Rails' message.
    pub error: Option<String>,
    /// `code`: `validation_errors`, `customer_not_found`, ...
    pub code: Option<String>,
    /// `message`, sent by a few endpoints.
    pub message: Option<String>,
    /// `error_details`: field -> codes, or index -> (field -> codes) for batches.
    pub error_details: Option<Map<String, Value>>,
}

impl ErrorBody {
    /// Parses any bytes: JSON of the wrong shape, HTML, `[]`, empty or truncated bodies give an
    /// empty or partial result, never an error or a panic.
    pub fn parse(body: &[u8]) -> Self {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let text = |k: &str| match map.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            _ => None,
        };
        let status = match map.get("status") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let error_details = match map.get("error_details") {
            Some(Value::Object(m)) => Some(m.clone()),
            _ => None,
        };
        Self {
            status,
            error: text("error"),
            code: text("code"),
            message: text("message"),
            error_details,
        }
    }

    /// A one-line summary of `error_details` (`email: invalid_email_format`), if any.
    fn details_summary(&self) -> Option<String> {
        let details = self.error_details.as_ref()?;
        let parts: Vec<String> = details
            .iter()
            .map(|(field, v)| format!("{field}: {}", codes_text(v)))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The error codes of a details value as text: `["a","b"]` is `a, b`; nested objects are
/// flattened as `field: codes`.
fn codes_text(v: &Value) -> String {
    match v {
        Value::Array(items) => items.iter().map(codes_text).collect::<Vec<_>>().join(", "),
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}: {}", codes_text(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

impl VendorErrors for LagoErrors {
    fn detail(&self, status: StatusCode, body: &[u8]) -> VendorDetail {
        let parsed = ErrorBody::parse(body);
        let mut detail = VendorDetail::status(status.as_u16());
        let message = match (
            parsed.message.as_ref().or(parsed.error.as_ref()),
            parsed.details_summary(),
        ) {
            (Some(m), Some(d)) => Some(format!("{m}: {d}")),
            (Some(m), None) => Some(m.clone()),
            (None, Some(d)) => Some(d),
            (None, None) => None,
        };
        if let Some(m) = message {
            detail = detail.with_message(shorten(&m));
        }
        if let Some(code) = parsed.code {
            detail = detail.with_code(shorten(&code));
        }
        detail
    }

    /// Lago's 404s are `{"status":404,"error":"Not Found","code":"<resource>_not_found"}`,
    /// its router's too (`resource_not_found`, which is why the base URL must end in `/api/v1`
    /// and lists treat any 404 as a wrong base URL).
    fn is_not_found_body(&self, _body: &[u8], detail: &VendorDetail) -> bool {
        detail
            .code
            .as_deref()
            .is_some_and(|c| c.ends_with("_not_found"))
    }

    fn base_url_rule(&self) -> &'static str {
        "Lago's API base ends in /api/v1 (https://api.getlago.com/api/v1, \
         https://api.eu.getlago.com/api/v1, or a self-hosted Lago's API origin followed by /api/v1)"
    }

    fn credential_settings(&self, _detail: &VendorDetail) -> &'static [&'static str] {
        &["lago.api_key"]
    }

    fn kind(&self, status: StatusCode, detail: &VendorDetail) -> ErrorKind {
        let code = detail.code.as_deref();
        match status.as_u16() {
            422 if matches!(code, Some("provider_error" | "third_party_error")) => {
                ErrorKind::Unexpected
            }
            422 if code == Some("stripe_required") => ErrorKind::PaymentRequired,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::Conflict,
            _ => kind_for_status(status),
        }
    }
}

/// The codes `error_details` gives each field: `{"transaction_id": ["value_already_exist"]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// What a failed `POST /events/batch` said about its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchErrors {
    /// Errors keyed by the zero-based index of the event in the request; events not named were
    /// valid and can be sent again.
    PerIndex(BTreeMap<usize, FieldErrors>),
    /// Errors about the request as a whole (`events: too_many_events`) or in a shape that names
    /// no event.
    Whole,
}

/// Reads the `error_details` of a 422 answer to `POST /events/batch`.
pub fn batch_errors(body: &[u8]) -> BatchErrors {
    let Some(details) = ErrorBody::parse(body).error_details else {
        return BatchErrors::Whole;
    };
    let mut per_index = BTreeMap::new();
    for (key, value) in &details {
        let (Ok(index), Value::Object(fields)) = (key.trim().parse::<usize>(), value) else {
            return BatchErrors::Whole;
        };
        per_index.insert(index, field_errors(fields));
    }
    if per_index.is_empty() {
        BatchErrors::Whole
    } else {
        BatchErrors::PerIndex(per_index)
    }
}

/// Field errors of one object of `error_details`.
pub fn field_errors(fields: &Map<String, Value>) -> FieldErrors {
    fields
        .iter()
        .map(|(field, codes)| {
            let codes = match codes {
                Value::Array(items) => items
                    .iter()
                    .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            (field.clone(), codes)
        })
        .collect()
}

/// Whether the only error is `transaction_id: value_already_exist`: the event was already
/// recorded (Lago's Postgres event store refuses a repeated transaction id).
pub fn only_duplicate(errors: &FieldErrors) -> bool {
    !errors.is_empty()
        && errors.iter().all(|(field, codes)| {
            field == "transaction_id"
                && !codes.is_empty()
                && codes.iter().all(|c| c == "value_already_exist")
        })
}

/// `field: codes; ...` for an error message.
pub fn describe(errors: &FieldErrors) -> String {
    errors
        .iter()
        .map(|(field, codes)| format!("{field}: {}", codes.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(status: u16, body: &str) -> VendorDetail {
        LagoErrors.detail(StatusCode::from_u16(status).unwrap(), body.as_bytes())
    }

    fn kind(status: u16, body: &str) -> ErrorKind {
        let s = StatusCode::from_u16(status).unwrap();
        LagoErrors.kind(s, &LagoErrors.detail(s, body.as_bytes()))
    }

    #[test]
    fn documented_bodies() {
        let d = detail(
            404,
            r#"{"status":404,"error":"Not Found","code":"customer_not_found"}"#,
        );
        assert_eq!(d.code.as_deref(), Some("customer_not_found"));
        assert_eq!(d.message.as_deref(), Some("Not Found"));
        assert_eq!(d.status, Some(404));
        let d = detail(
            422,
            r#"{"status":422,"error":"Unprocessable Entity","code":"validation_errors",
                "error_details":{"email":["invalid_email_format"]}}"#,
        );
        assert_eq!(d.code.as_deref(), Some("validation_errors"));
        assert_eq!(
            d.message.as_deref(),
            Some("Unprocessable Entity: email: invalid_email_format")
        );
        let d = detail(
            400,
            r#"{"status":400,"error":"BadRequest: param is missing or the value is empty or invalid: customer"}"#,
        );
        assert!(d.code.is_none());
        assert!(d.message.unwrap().contains("param is missing"));
    }

    #[test]
    fn odd_bodies_never_fail() {
        let long = format!("{{\"error\":\"{}\"}}", "x".repeat(5000));
        for body in [
            "",
            "   ",
            "[]",
            "null",
            "42",
            "\"text\"",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "{\"status\":",
            "{\"status\":\"oops\",\"error\":7,\"code\":[1],\"error_details\":[]}",
            "{\"status\":99999999999,\"error_details\":{\"0\":\"x\"}}",
            "\u{feff}{}",
            &long,
        ] {
            for status in [400, 404, 422, 429, 500, 503] {
                let d = detail(status, body);
                assert_eq!(d.status, Some(status));
                let _ = kind(status, body);
                let _ = batch_errors(body.as_bytes());
            }
        }
        assert!(detail(500, "<html>").message.is_none());
        assert!(
            detail(500, &long).message.unwrap().chars().count()
                <= billing_http::MAX_VENDOR_MESSAGE_CHARS + 1
        );
    }

    #[test]
    fn kinds_follow_the_notes() {
        assert_eq!(
            kind(401, r#"{"status":401,"error":"Unauthorized"}"#),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            kind(
                403,
                r#"{"status":403,"error":"Forbidden","code":"write_action_not_allowed_for_customer"}"#
            ),
            ErrorKind::PermissionDenied
        );
        let not_found = |body: &str| {
            let d = detail(404, body);
            LagoErrors.is_not_found_body(body.as_bytes(), &d)
        };
        assert!(not_found(
            r#"{"status":404,"error":"Not Found","code":"plan_not_found"}"#
        ));
        for body in ["<html>", "", "{}", r#"{"status":404,"error":"Not Found"}"#] {
            assert!(!not_found(body), "{body}");
        }
        assert_eq!(
            kind(
                405,
                r#"{"status":405,"error":"Method Not Allowed","code":"no_active_subscription"}"#
            ),
            ErrorKind::Conflict
        );
        assert_eq!(
            kind(422, r#"{"code":"validation_errors"}"#),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(422, r#"{"code":"third_party_error"}"#),
            ErrorKind::Unexpected
        );
        assert_eq!(kind(429, ""), ErrorKind::RateLimited);
        assert_eq!(kind(503, ""), ErrorKind::Unavailable);
        assert_eq!(kind(400, "[]"), ErrorKind::InvalidInput);
    }

    #[test]
    fn batch_details_by_index() {
        let body = br#"{"status":422,"error":"Unprocessable Entity","code":"validation_errors",
            "error_details":{"1":{"timestamp":["invalid_format"]},"2":{"transaction_id":["value_already_exist"]}}}"#;
        let BatchErrors::PerIndex(map) = batch_errors(body) else {
            panic!("per index expected");
        };
        assert_eq!(map.len(), 2);
        assert!(!only_duplicate(&map[&1]));
        assert!(only_duplicate(&map[&2]));
        assert_eq!(describe(&map[&1]), "timestamp: invalid_format");
        assert_eq!(
            batch_errors(br#"{"error_details":{"events":["too_many_events"]}}"#),
            BatchErrors::Whole
        );
        assert_eq!(batch_errors(b"<html>"), BatchErrors::Whole);
        assert_eq!(batch_errors(br#"{"error_details":{}}"#), BatchErrors::Whole);
    }

    #[test]
    fn duplicate_rule_is_strict() {
        let dup: FieldErrors = [(
            "transaction_id".to_owned(),
            vec!["value_already_exist".to_owned()],
        )]
        .into_iter()
        .collect();
        assert!(only_duplicate(&dup));
        let mut mixed = dup.clone();
        mixed.insert("code".into(), vec!["value_is_mandatory".into()]);
        assert!(!only_duplicate(&mixed));
        let other: FieldErrors = [(
            "transaction_id".to_owned(),
            vec!["value_is_mandatory".to_owned()],
        )]
        .into_iter()
        .collect();
        assert!(!only_duplicate(&other));
        assert!(!only_duplicate(&FieldErrors::new()));
    }
}
