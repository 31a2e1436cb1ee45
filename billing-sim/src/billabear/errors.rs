//! Responses exactly as the server shapes them: JSON bodies, the literal `[]` / `{}` bodies of
//! its 404s, empty bodies, and Symfony's own error pages for unhandled exceptions.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::json;

use super::validate::Violations;

/// A request that made the real server throw an exception its controller does not catch
/// (malformed JSON, a value of the wrong type for a typed setter, a Doctrine conversion error
/// on a non-UUID id, a `TypeError`...). Rendered by [`unhandled`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unhandled;

/// The result of a handler step that may end in an unhandled exception.
pub(crate) type Step<T> = Result<T, Unhandled>;

fn with_body(status: u16, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A JSON response (`JsonResponse`).
pub(crate) fn json(status: u16, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => with_body(status, "application/json", bytes),
        Err(_) => with_body(500, "application/json", "[]"),
    }
}

/// A JSON response with a literal body such as `[]` or `{}`.
pub(crate) fn literal(status: u16, body: &'static str) -> Response {
    with_body(status, "application/json", body)
}

/// `new Response(null, status)`: no body; Symfony still labels it `text/html`.
pub(crate) fn empty(status: u16) -> Response {
    with_body(status, "text/html; charset=UTF-8", Body::empty())
}

/// `401 []` from `ApiKeyAuthenticator::onAuthenticationFailure`.
pub(crate) fn unauthorized() -> Response {
    literal(401, "[]")
}

/// `400 {"errors": {...}}`.
pub(crate) fn validation(violations: &Violations) -> Response {
    json(400, &json!({ "errors": violations.to_json() }))
}

/// `{"reason": "..."}` with the given status (paging errors, payment failures).
pub(crate) fn reason(status: u16, reason: &str) -> Response {
    json(status, &json!({ "reason": reason }))
}

/// `{"success": false, "reason": "..."}` (the `per_page` errors).
pub(crate) fn failed_reason(status: u16, reason: &str) -> Response {
    json(status, &json!({ "success": false, "reason": reason }))
}

/// Symfony's error page for an exception with this status: RFC 7807 JSON when the client
/// accepts JSON, a small HTML page otherwise.
pub(crate) fn symfony_error(headers: &HeaderMap, status: u16) -> Response {
    let title = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Internal Server Error");
    let wants_json = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("json"));
    if wants_json {
        let body = json!({
            "type": "https://tools.ietf.org/html/rfc2616#section-10",
            "title": "An error occurred",
            "status": status,
            "detail": title,
        });
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        with_body(status, "application/problem+json", bytes)
    } else {
        let page = format!(
            "<!DOCTYPE html>\n<html>\n<head><title>An Error Occurred: {title}</title></head>\n\
             <body><h1>Oops! An Error Occurred</h1><h2>The server returned a \"{status} {title}\".</h2></body>\n</html>\n"
        );
        with_body(status, "text/html; charset=UTF-8", page)
    }
}

/// The 500 of an uncaught exception.
pub(crate) fn unhandled(headers: &HeaderMap) -> Response {
    symfony_error(headers, 500)
}
