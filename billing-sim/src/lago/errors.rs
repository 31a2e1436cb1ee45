//! Lago's error bodies (the `ApiErrors` / `ApiResponses` concerns of lago-api), exactly as
//! `vendors/lago.md` section 9 describes them.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

/// Field name -> error codes, e.g. `{"transaction_id": ["value_already_exist"]}`.
pub(crate) type FieldErrors = Map<String, Value>;

/// Every error answer the simulator gives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// 400 for a missing or empty root key: `BadRequest: param is missing ...: <root>`.
    MissingRoot(&'static str),
    /// 400 as Rails' public exceptions app renders it (malformed JSON, undecodable path).
    BadRequest,
    /// 401.
    Unauthorized,
    /// 403 with a code (`feature_unavailable`, `write_action_not_allowed_for_customer`, ...).
    Forbidden(String),
    /// 404 with `<resource>_not_found` or `resource_not_found`.
    NotFound(&'static str),
    /// 405: a business-rule refusal such as `no_active_subscription`.
    MethodNotAllowed(&'static str),
    /// 422 `validation_errors` with field- or index-keyed details.
    Validation(FieldErrors),
}

/// Adds `code` to `field`'s list of error codes.
pub(crate) fn push_error(errors: &mut FieldErrors, field: &str, code: &str) {
    let entry = errors
        .entry(field.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(codes) = entry {
        codes.push(code.into());
    }
}

impl ApiError {
    /// A 422 with one field and one code.
    pub(crate) fn field(field: &str, code: &str) -> Self {
        let mut details = Map::new();
        details.insert(field.to_owned(), json!([code]));
        Self::Validation(details)
    }

    /// The HTTP status of this error.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::MissingRoot(_) | Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The JSON body Lago sends for this error.
    pub(crate) fn body(&self) -> Value {
        match self {
            Self::MissingRoot(root) => json!({
                "status": 400,
                "error": format!(
                    "BadRequest: param is missing or the value is empty or invalid: {root}"
                ),
            }),
            Self::BadRequest => json!({"status": 400, "error": "Bad Request"}),
            Self::Unauthorized => json!({"status": 401, "error": "Unauthorized"}),
            Self::Forbidden(code) => json!({"status": 403, "error": "Forbidden", "code": code}),
            Self::NotFound(code) => json!({"status": 404, "error": "Not Found", "code": code}),
            Self::MethodNotAllowed(code) => {
                json!({"status": 405, "error": "Method Not Allowed", "code": code})
            }
            Self::Validation(details) => json!({
                "status": 422,
                "error": "Unprocessable Entity",
                "code": "validation_errors",
                "error_details": details,
            }),
        }
    }
}

/// A 200 JSON answer.
pub(crate) fn ok_json(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// A JSON answer with the content type Rails sends.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status(), &self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_notes() {
        assert_eq!(
            ApiError::Unauthorized.body(),
            json!({"status":401,"error":"Unauthorized"})
        );
        assert_eq!(
            ApiError::field("transaction_id", "value_already_exist").body(),
            json!({"status":422,"error":"Unprocessable Entity","code":"validation_errors",
                   "error_details":{"transaction_id":["value_already_exist"]}})
        );
        assert_eq!(
            ApiError::MissingRoot("customer").body()["error"],
            "BadRequest: param is missing or the value is empty or invalid: customer"
        );
        assert_eq!(ApiError::MethodNotAllowed("x").status(), 405);
    }
}
