//! BillaBear's error bodies, parsed leniently, and the statuses it uses its own way.
//!
//! The bodies vary by endpoint (as the server's source shows): validation errors are
//! `400 {"errors": {"<property path>": "<message>"}}` (cancel adds `"success": false`), paging
//! errors `{"reason": ...}`, a missing payment method `406 {"error": ...}`, a failed charge
//! `402 {"reason": ...}`, authentication failures `401 []`, and 404s come as `[]`, `{}`,
//! `{"success":false}` or an empty body. Uncaught exceptions give Symfony's problem JSON or an
//! HTML page. The kind is decided by the status, never by the body's shape, with one exception:
//! a 404 whose body is none of BillaBear's four not-found bodies (Symfony's router answers a
//! path with no route with its problem JSON or an HTML page) means the URL reaches no
//! BillaBear route, a `Config` error naming `billabear.base_url`.

use billing_core::{ErrorKind, VendorDetail};
use billing_http::{StatusCode, VendorErrors, kind_for_status, shorten};
use serde_json::Value;

/// BillaBear's [`VendorErrors`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BillaBearErrors;

impl VendorErrors for BillaBearErrors {
    fn detail(&self, status: StatusCode, body: &[u8]) -> VendorDetail {
        let mut detail = VendorDetail::status(status.as_u16());
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return detail;
        };
        let Value::Object(map) = value else {
            return detail;
        };
        if let Some(Value::Object(errors)) = map.get("errors") {
            // The code lists the property paths (sorted), the message each path's message.
            let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
            if !fields.is_empty() {
                detail = detail.with_code(shorten(&fields.join(",")));
            }
            let message = errors
                .iter()
                .map(|(field, msg)| format!("{field}: {}", text(msg)))
                .collect::<Vec<_>>()
                .join("; ");
            if !message.is_empty() {
                detail = detail.with_message(shorten(&message));
            }
            return detail;
        }
        if let Some(Value::String(class)) = map.get("class") {
            detail = detail.with_code(shorten(class));
        }
        for key in ["reason", "error", "detail", "title"] {
            if let Some(v) = map.get(key).filter(|v| !v.is_null()) {
                let t = text(v);
                if !t.trim().is_empty() {
                    return detail.with_message(shorten(&t));
                }
            }
        }
        detail
    }

    /// BillaBear's controllers answer a missing object with `[]`, `{}`, `{"success":false}` or
    /// an empty body.
    fn is_not_found_body(&self, body: &[u8], _detail: &VendorDetail) -> bool {
        if body.iter().all(u8::is_ascii_whitespace) {
            return true;
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => items.is_empty(),
            Ok(Value::Object(map)) => map.keys().all(|k| k == "success"),
            _ => false,
        }
    }

    fn base_url_rule(&self) -> &'static str {
        "BillaBear's API base ends in /api/v1 (https://<tenant>.billabear.cloud/api/v1, or a \
         self-hosted BillaBear's origin followed by /api/v1)"
    }

    fn credential_settings(&self, _detail: &VendorDetail) -> &'static [&'static str] {
        &["billabear.api_key"]
    }

    fn kind(&self, status: StatusCode, detail: &VendorDetail) -> ErrorKind {
        let _ = detail;
        match status.as_u16() {
            // 402: the first invoice's charge failed; 406: no default payment method, or a
            // card token could not be turned into a card.
            402 | 406 => ErrorKind::PaymentRequired,
            // 424: a dependency (Stripe, the cancellation workflow) failed.
            424 => ErrorKind::Unavailable,
            _ => kind_for_status(status),
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::Operation;
    use billing_http::{ApiResponse, HeaderMap, error_from_response};

    #[test]
    fn codes_are_shortened_like_messages() {
        let fields: serde_json::Map<String, Value> = (0..500)
            .map(|i| (format!("field{i}"), Value::String("bad".into())))
            .collect();
        let body = serde_json::json!({ "errors": fields }).to_string();
        let d = BillaBearErrors.detail(StatusCode::BAD_REQUEST, body.as_bytes());
        let limit = billing_http::MAX_VENDOR_MESSAGE_CHARS + 1;
        assert!(d.code.unwrap().chars().count() <= limit);
        let body = serde_json::json!({ "class": "x".repeat(5000) }).to_string();
        let d = BillaBearErrors.detail(StatusCode::INTERNAL_SERVER_ERROR, body.as_bytes());
        assert!(d.code.unwrap().chars().count() <= limit);
    }

    fn err(status: u16, body: &[u8]) -> billing_core::Error {
        let response = ApiResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: bytes_of(body),
        };
        error_from_response(
            "billabear",
            Operation::GetCustomer,
            &response,
            &BillaBearErrors,
            "billabear.base_url",
        )
    }

    fn bytes_of(body: &[u8]) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(body)
    }

    #[test]
    fn not_found_is_billabear_s_four_bodies_and_anything_else_names_the_base_url() {
        for body in [&b"[]"[..], b"{}", b"{\"success\":false}", b"", b" \n"] {
            let e = err(404, body);
            assert_eq!(e.kind(), ErrorKind::NotFound, "{body:?}");
            assert_eq!(e.vendor().and_then(|v| v.status), Some(404));
            assert!(!e.is_temporary());
        }
        let router = br#"{"type":"https://tools.ietf.org/html/rfc2616#section-10","title":"An error occurred","status":404,"detail":"Not Found"}"#;
        for body in [
            &router[..],
            b"<!DOCTYPE html><html><body>Not Found</body></html>",
            b"{\"errors\":",
            b"null",
            b"\"x\"",
        ] {
            let e = err(404, body);
            assert_eq!(e.kind(), ErrorKind::Config, "{body:?}");
            assert!(e.message().contains("billabear.base_url"), "{e}");
            assert_eq!(e.vendor().and_then(|v| v.status), Some(404));
        }
    }

    #[test]
    fn validation_errors_name_the_fields() {
        let e = err(
            400,
            br#"{"errors":{"email":"This value should not be blank.","billingType":"The value you selected is not a valid choice."}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let v = e.vendor().unwrap();
        assert_eq!(v.code.as_deref(), Some("billingType,email"));
        let m = v.message.as_deref().unwrap();
        assert!(
            m.contains("email: This value") && m.contains("billingType"),
            "{m}"
        );
        let e = err(400, br#"{"success":false,"errors":{"when":"bad"}}"#);
        assert_eq!(e.vendor().unwrap().code.as_deref(), Some("when"));
        let e = err(
            400,
            br#"{"errors":{"code":"The code \"x\" does not exist."}}"#,
        );
        assert_eq!(e.vendor().unwrap().code.as_deref(), Some("code"));
    }

    #[test]
    fn statuses_of_their_own() {
        let e = err(401, b"[]");
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        assert!(e.message().contains("billabear.api_key"), "{e}");
        assert_eq!(
            err(413, br#"{"reason":"limit is above 100"}"#).kind(),
            ErrorKind::InvalidInput
        );
        let e = err(406, br#"{"error":"No default payment method"}"#);
        assert_eq!(e.kind(), ErrorKind::PaymentRequired);
        assert_eq!(
            e.vendor().unwrap().message.as_deref(),
            Some("No default payment method")
        );
        let e = err(402, br#"{"reason":"card_declined"}"#);
        assert_eq!(e.kind(), ErrorKind::PaymentRequired);
        assert_eq!(e.message(), "card_declined");
        let e = err(424, br#"{"error":"boom","class":"TypeError"}"#);
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(e.vendor().unwrap().code.as_deref(), Some("TypeError"));
        assert_eq!(
            err(400, br#"{"success":false,"reason":"per_page is below 1"}"#)
                .vendor()
                .unwrap()
                .message
                .as_deref(),
            Some("per_page is below 1")
        );
    }

    #[test]
    fn server_crashes_are_temporary_and_never_panic() {
        let e = err(500, b"[]");
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.is_temporary());
        let problem = br#"{"type":"https://tools.ietf.org/html/rfc2616#section-10","title":"An error occurred","status":500,"detail":"Internal Server Error"}"#;
        assert_eq!(
            err(500, problem).vendor().unwrap().message.as_deref(),
            Some("Internal Server Error")
        );
        let huge = format!("{{\"reason\":\"{}\"}}", "é".repeat(5000));
        let e = err(400, huge.as_bytes());
        assert!(e.message().chars().count() <= billing_http::MAX_VENDOR_MESSAGE_CHARS + 1);
        // Truncated, binary and odd JSON bodies are tolerated.
        for body in [
            &b"{\"reason\":"[..],
            b"\xff\xfe\x00",
            b"[1,2",
            b"{\"errors\":[]}",
            b"{\"errors\":{}}",
        ] {
            let _ = err(400, body);
        }
        assert!(
            err(400, b"{\"errors\":{}}")
                .vendor()
                .unwrap()
                .code
                .is_none()
        );
    }
}
