//! The contract every [`VendorErrors`] implementation keeps for any answer, however malformed,
//! checked in one place for the property tests and the fuzz targets.

use billing_core::Operation;
use http::{HeaderMap, StatusCode};

use crate::errors::{MAX_VENDOR_MESSAGE_CHARS, VendorErrors, error_from_response};
use crate::response::ApiResponse;

/// Runs `parser` over one answer (`status`, `body`) and checks what it gives: the detail keeps
/// the status, its message and code are at most [`MAX_VENDOR_MESSAGE_CHARS`] characters (plus the
/// ellipsis), the kind and retryability can be asked, and the whole error formats with `Display`
/// and `Debug`. A parser that panics fails by panicking.
///
/// # Errors
/// A description of the broken rule.
pub fn check_vendor_errors(
    backend: &'static str,
    parser: &dyn VendorErrors,
    status: StatusCode,
    body: &[u8],
) -> Result<(), String> {
    let detail = parser.detail(status, body);
    if detail.status != Some(status.as_u16()) {
        return Err(format!(
            "{backend}: the detail's status is {:?}, not {}",
            detail.status,
            status.as_u16()
        ));
    }
    for (field, value) in [("message", &detail.message), ("code", &detail.code)] {
        let chars = value.as_ref().map_or(0, |s| s.chars().count());
        if chars > MAX_VENDOR_MESSAGE_CHARS + 1 {
            return Err(format!("{backend}: a {field} of {chars} characters"));
        }
    }
    let _ = parser.kind(status, &detail);
    let _ = parser.retryable(status, &detail);
    let response = ApiResponse {
        status,
        headers: HeaderMap::new(),
        body: body.to_vec().into(),
    };
    let error = error_from_response(
        backend,
        Operation::GetCustomer,
        &response,
        parser,
        "test.base_url",
    );
    let _ = (error.to_string(), format!("{error:?}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use billing_core::VendorDetail;

    use super::*;

    /// Keeps whatever the body says, unshortened: the check must catch it.
    #[derive(Debug)]
    struct Careless;

    impl VendorErrors for Careless {
        fn detail(&self, status: StatusCode, body: &[u8]) -> VendorDetail {
            VendorDetail::status(status.as_u16())
                .with_message(String::from_utf8_lossy(body).into_owned())
        }
        fn is_not_found_body(&self, _body: &[u8], _detail: &VendorDetail) -> bool {
            true
        }
    }

    #[test]
    fn an_unbounded_message_breaks_the_contract() {
        let short = check_vendor_errors("t", &Careless, StatusCode::BAD_REQUEST, b"no");
        assert_eq!(short, Ok(()));
        let long = vec![b'x'; MAX_VENDOR_MESSAGE_CHARS * 2];
        assert!(check_vendor_errors("t", &Careless, StatusCode::BAD_REQUEST, &long).is_err());
    }
}
