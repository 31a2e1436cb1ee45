//! The CORS headers stock Kill Bill adds to every response (a servlet filter mapped on `/*`,
//! ahead of authentication, so 401s and 404s carry them too): the request's `Origin` (or `*`)
//! is allowed with credentials, and the API's own headers are allowed and exposed.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ORIGIN,
};

const API_HEADERS: &str = "Authorization,Content-Type,Location,X-Killbill-ApiKey,\
X-Killbill-ApiSecret,X-Killbill-Comment,X-Killbill-CreatedBy,X-Killbill-Pagination-CurrentOffset,\
X-Killbill-Pagination-MaxNbRecords,X-Killbill-Pagination-NextOffset,\
X-Killbill-Pagination-NextPageUri,X-Killbill-Pagination-TotalNbRecords,X-Killbill-Reason";

/// Adds the headers to the response of `request`.
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(ORIGIN)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.append(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.append(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE, PUT, OPTIONS"),
    );
    h.append(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(API_HEADERS),
    );
    h.append(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(API_HEADERS),
    );
    h.append(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    response
}
