//! What every fuzz target does with its input: the first two bytes pick an HTTP status, the
//! rest is the error body. The vendor's parser must not panic, must keep the status, and must
//! keep its message and code short; the whole error must format.

use billing_core::Operation;
use billing_http::{
    ApiResponse, HeaderMap, MAX_VENDOR_MESSAGE_CHARS, StatusCode, VendorErrors,
    error_from_response,
};

/// Runs `parser` over one fuzz input.
pub fn exercise(vendor: &'static str, parser: &dyn VendorErrors, data: &[u8]) {
    let (status, body) = match data {
        [a, b, rest @ ..] => (100 + u16::from_be_bytes([*a, *b]) % 900, rest),
        _ => (500, data),
    };
    let Ok(status) = StatusCode::from_u16(status) else {
        return;
    };
    let detail = parser.detail(status, body);
    assert_eq!(detail.status, Some(status.as_u16()));
    let short = |s: &Option<String>| {
        s.as_ref()
            .is_none_or(|s| s.chars().count() <= MAX_VENDOR_MESSAGE_CHARS + 1)
    };
    assert!(short(&detail.message), "message too long");
    assert!(short(&detail.code), "code too long");
    let _ = parser.kind(status, &detail);
    let _ = parser.retryable(status, &detail);
    let response = ApiResponse {
        status,
        headers: HeaderMap::new(),
        body: body.to_vec().into(),
    };
    let e = error_from_response(vendor, Operation::RecordUsage, &response, parser);
    let _ = (e.to_string(), format!("{e:?}"));
}
