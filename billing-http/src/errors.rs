//! From an HTTP error response to an [`Error`]: the vendor's body parser plus the shared
//! status-to-kind mapping, and the two rules every adapter shares about what an error says to
//! fix:
//!
//! - a 404 that is not the vendor's own "no such object" answer (an HTML page, a proxy's or a
//!   router's 404) never becomes `NotFound`: the URL reaches no API route, so it is a `Config`
//!   error naming the base URL setting ([`wrong_base_url`]). Each vendor's parser says what
//!   its own not-found body looks like ([`VendorErrors::is_not_found_body`]);
//! - a 401 names the credential settings to check ([`VendorErrors::credential_settings`]).

use std::time::{Duration, SystemTime};

use billing_core::{Error, ErrorKind, Operation, VendorDetail};
use http::{HeaderMap, Method, StatusCode};

use crate::response::ApiResponse;
use crate::retry::server_delay;

/// The longest vendor message kept in an error.
pub const MAX_VENDOR_MESSAGE_CHARS: usize = 300;

/// How a vendor reports errors. Each adapter's `error.rs` implements it; the defaults cover the
/// statuses every vendor uses the same way.
pub trait VendorErrors: Send + Sync + std::fmt::Debug + 'static {
    /// Parses an error body leniently (it may be JSON of the wrong shape, HTML, `[]` or empty).
    /// Never fails and never panics.
    fn detail(&self, status: StatusCode, body: &[u8]) -> VendorDetail;

    /// The kind of error for a response. Defaults to [`kind_for_status`].
    fn kind(&self, status: StatusCode, detail: &VendorDetail) -> ErrorKind {
        let _ = detail;
        kind_for_status(status)
    }

    /// Whether a request that is safe to resend may be resent after this response. Defaults to
    /// [`retryable_status`].
    fn retryable(&self, status: StatusCode, detail: &VendorDetail) -> bool {
        retryable_status(status, detail)
    }

    /// Whether the body of a 404 is the vendor's own answer that the addressed object does not
    /// exist. Anything else (an HTML page, a proxy's or a router's 404, a body of another shape)
    /// means the URL reaches no API route: the base URL is wrong, and the client reports a
    /// `Config` error naming it instead of `NotFound`.
    fn is_not_found_body(&self, body: &[u8], detail: &VendorDetail) -> bool;

    /// What the base URL must look like, for the error of a URL that reaches no API route
    /// (`"Lago's API base, ending in /api/v1"`).
    fn base_url_rule(&self) -> &'static str {
        "the vendor's API base URL"
    }

    /// The settings a 401 with this detail says to check (`["lago.api_key"]`; for Kill Bill,
    /// the basic-auth user or the tenant, depending on which the server refused). Each adapter
    /// names its own; the default names none.
    fn credential_settings(&self, detail: &VendorDetail) -> &'static [&'static str] {
        let _ = detail;
        &[]
    }
}

/// The error kind a status means when the vendor says nothing more specific.
pub fn kind_for_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        400 | 413 | 415 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthenticated,
        402 => ErrorKind::PaymentRequired,
        403 => ErrorKind::PermissionDenied,
        404 | 410 => ErrorKind::NotFound,
        405 | 409 | 412 => ErrorKind::Conflict,
        408 | 504 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Unexpected,
    }
}

/// 429, 502, 503 and 504 may be retried; so may a 500 whose body is not a structured vendor
/// error (no vendor code): a crash page rather than a business rule.
pub fn retryable_status(status: StatusCode, detail: &VendorDetail) -> bool {
    match status.as_u16() {
        429 | 502 | 503 | 504 => true,
        500 => detail.code.is_none(),
        _ => false,
    }
}

/// Shortens a vendor message for an error, on a character boundary.
pub fn shorten(message: &str) -> String {
    let trimmed = message.trim();
    match trimmed.char_indices().nth(MAX_VENDOR_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_owned(),
    }
}

/// Builds the error for a non-success response: a 404 that is not the vendor's not-found body
/// is [`wrong_base_url`] (naming `base_url_setting`), a 401 names the credential settings.
pub fn error_from_response(
    backend: &'static str,
    operation: Operation,
    response: &ApiResponse,
    vendor: &dyn VendorErrors,
    base_url_setting: &str,
) -> Error {
    let mut detail = vendor.detail(response.status, &response.body);
    detail.status = Some(response.status.as_u16());
    if response.status == StatusCode::NOT_FOUND
        && !vendor.is_not_found_body(&response.body, &detail)
    {
        return wrong_base_url(base_url_setting, vendor, None, detail)
            .with_backend(backend)
            .with_operation(operation);
    }
    let kind = vendor.kind(response.status, &detail);
    let temporary = kind.is_temporary_by_default() || vendor.retryable(response.status, &detail);
    let message = detail.message.clone().unwrap_or_else(|| {
        format!(
            "HTTP {}",
            response
                .status
                .canonical_reason()
                .map_or_else(|| response.status.as_u16().to_string(), str::to_owned)
        )
    });
    let message = if kind == ErrorKind::Unauthenticated {
        // The vendor's own words stay in the detail (`Display` shows them).
        unauthenticated_message(vendor.credential_settings(&detail))
    } else {
        message
    };
    let error = Error::new(kind, message)
        .with_temporary(temporary)
        .with_vendor(detail)
        .with_backend(backend)
        .with_operation(operation);
    match rate_limit_delay(&response.headers) {
        Some(wait) if kind == ErrorKind::RateLimited => error.with_retry_after(wait),
        _ => error,
    }
}

/// The error of an answer that shows the URL reaches no API route (a 404 that is not the
/// vendor's, or any 404 from a route that always exists): a `Config` error naming the base URL
/// setting and the vendor's rule for it, with the request (`GET /x/customers`) when known and
/// the vendor's detail (its status) kept.
pub fn wrong_base_url(
    setting: &str,
    vendor: &dyn VendorErrors,
    request: Option<(&Method, &str)>,
    detail: VendorDetail,
) -> Error {
    let answered = match request {
        Some((method, path)) => format!("{method} {path} answered 404"),
        None => "the server answered 404".to_owned(),
    };
    Error::config(
        setting,
        format!(
            "{answered} without the vendor's not-found answer, so this URL reaches no API \
             route; check it: {}",
            vendor.base_url_rule()
        ),
    )
    .with_vendor(detail)
}

/// A 401's message: the settings to check.
fn unauthenticated_message(settings: &[&str]) -> String {
    if settings.is_empty() {
        return "the server refused the credentials".to_owned();
    }
    let named: Vec<String> = settings.iter().map(|s| format!("`{s}`")).collect();
    format!(
        "the server refused the credentials; check {}",
        named.join(" and ")
    )
}

fn rate_limit_delay(headers: &HeaderMap) -> Option<Duration> {
    server_delay(headers, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind_for_status(StatusCode::NOT_FOUND), ErrorKind::NotFound);
        assert_eq!(
            kind_for_status(StatusCode::UNPROCESSABLE_ENTITY),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind_for_status(StatusCode::GATEWAY_TIMEOUT),
            ErrorKind::Timeout
        );
        assert_eq!(
            kind_for_status(StatusCode::IM_A_TEAPOT),
            ErrorKind::Unexpected
        );
    }

    #[test]
    fn structured_500s_are_not_retried() {
        let crash = VendorDetail::default();
        let business = VendorDetail::default().with_code("1031");
        assert!(retryable_status(StatusCode::INTERNAL_SERVER_ERROR, &crash));
        assert!(!retryable_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            &business
        ));
        assert!(retryable_status(StatusCode::SERVICE_UNAVAILABLE, &business));
        assert!(!retryable_status(StatusCode::BAD_REQUEST, &crash));
    }

    #[test]
    fn shorten_respects_char_boundaries() {
        let long = "é".repeat(MAX_VENDOR_MESSAGE_CHARS + 10);
        let s = shorten(&long);
        assert_eq!(s.chars().count(), MAX_VENDOR_MESSAGE_CHARS + 1);
        assert_eq!(shorten("  short "), "short");
    }
}
