//! What every fuzz target does with its input: the first two bytes pick an HTTP status, the
//! rest is the error body, and the vendor's parser must keep the contract that
//! [`billing_http::check_vendor_errors`] checks (the property tests check the same).

use billing_http::{StatusCode, VendorErrors, check_vendor_errors};

/// Runs `parser` over one fuzz input; a broken contract panics, which libFuzzer reports.
pub fn exercise(vendor: &'static str, parser: &dyn VendorErrors, data: &[u8]) {
    let (status, body) = match data {
        [a, b, rest @ ..] => (100 + u16::from_be_bytes([*a, *b]) % 900, rest),
        _ => (500, data),
    };
    let Ok(status) = StatusCode::from_u16(status) else {
        return;
    };
    assert_eq!(check_vendor_errors(vendor, parser, status, body), Ok(()));
}
