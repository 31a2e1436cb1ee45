//! Kill Bill's error answers: `BillingExceptionJson` bodies from the JAX-RS exception mappers,
//! and the ones that carry no JSON at all (Shiro's basic-auth challenge, the servlet container's
//! error page for `TenantFilter`, unmatched paths and entity-less statuses such as the usage
//! 400s).

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// `java.lang.IllegalArgumentException`: bad input, 400.
pub(crate) const ILLEGAL_ARGUMENT: &str = "java.lang.IllegalArgumentException";
/// `java.lang.NullPointerException`: a missing body where Jersey passes `null`, 400.
pub(crate) const NULL_POINTER: &str = "java.lang.NullPointerException";
/// Account errors (3000-3005).
pub(crate) const ACCOUNT_API: &str = "org.killbill.billing.account.api.AccountApiException";
/// Entitlement errors (cancel, change, lookups for them).
pub(crate) const ENTITLEMENT_API: &str =
    "org.killbill.billing.entitlement.api.EntitlementApiException";
/// Subscription read errors (`GET /subscriptions`).
pub(crate) const SUBSCRIPTION_API: &str =
    "org.killbill.billing.entitlement.api.SubscriptionApiException";
/// Subscription-base errors surfacing through the entitlement layer's fallback mapping.
pub(crate) const SUBSCRIPTION_BASE_API: &str =
    "org.killbill.billing.subscription.api.user.SubscriptionBaseApiException";
/// Catalog errors.
pub(crate) const CATALOG_API: &str = "org.killbill.billing.catalog.api.CatalogApiException";
/// Blocking-state errors (an action blocked by a blocking state such as CLOSE_ACCOUNT).
pub(crate) const BLOCKING_API: &str = "org.killbill.billing.entitlement.api.BlockingApiException";
/// Usage errors (50000).
pub(crate) const USAGE_API: &str = "org.killbill.billing.usage.api.UsageApiException";
/// Tenant errors (20000...).
pub(crate) const TENANT_API: &str = "org.killbill.billing.tenant.api.TenantApiException";
/// An object id unknown in the caller's tenant (an `IllegalStateException` mapped to 404).
pub(crate) const OBJECT_DOES_NOT_EXIST: &str =
    "org.killbill.billing.util.callcontext.InternalCallContextFactory$ObjectDoesNotExist";
/// A JSON body that does not bind to the resource's type.
pub(crate) const JSON_MAPPING: &str = "com.fasterxml.jackson.databind.JsonMappingException";
/// A body that is not JSON at all.
pub(crate) const JSON_PARSE: &str = "com.fasterxml.jackson.core.JsonParseException";
/// A database error (unique index, column too long) escapes as a `RuntimeException`, 500.
pub(crate) const RUNTIME: &str = "java.lang.RuntimeException";

/// The `BillingExceptionJson` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BillingExceptionJson {
    class_name: String,
    code: Option<i32>,
    message: Option<String>,
    cause_class_name: Option<String>,
    cause_message: Option<String>,
    stack_trace: Vec<serde_json::Value>,
}

/// An error answer of the simulated server.
#[derive(Debug, Clone)]
pub(crate) enum KbError {
    /// A JSON `BillingExceptionJson` answer.
    Json {
        /// HTTP status.
        status: StatusCode,
        /// The body.
        body: Box<BillingExceptionJson>,
    },
    /// The servlet container's HTML error page (`sendError`), e.g. the TenantFilter 401.
    Page {
        /// HTTP status.
        status: StatusCode,
        /// The message passed to `sendError`, if any.
        message: Option<String>,
    },
    /// Shiro's basic-auth challenge: 401, `WWW-Authenticate`, no body.
    Challenge,
}

impl KbError {
    /// A JSON error with an exception class, an optional Kill Bill error code and a message.
    pub(crate) fn json(
        status: StatusCode,
        class_name: &str,
        code: Option<i32>,
        message: impl Into<String>,
    ) -> Self {
        KbError::Json {
            status,
            body: Box::new(BillingExceptionJson {
                class_name: class_name.to_owned(),
                code,
                message: Some(message.into()),
                cause_class_name: None,
                cause_message: None,
                stack_trace: Vec::new(),
            }),
        }
    }

    /// Sets the cause fields of a JSON error.
    pub(crate) fn with_cause(mut self, class_name: &str, message: impl Into<String>) -> Self {
        if let KbError::Json { body, .. } = &mut self {
            body.cause_class_name = Some(class_name.to_owned());
            body.cause_message = Some(message.into());
        }
        self
    }

    /// 400 `IllegalArgumentException` (failed `Preconditions.checkArgument`, bad UUID, ...).
    pub(crate) fn illegal_argument(message: impl Into<String>) -> Self {
        Self::json(StatusCode::BAD_REQUEST, ILLEGAL_ARGUMENT, None, message)
    }

    /// 400 `NullPointerException` with a null message (Jersey handed a resource a null body).
    pub(crate) fn null_pointer() -> Self {
        KbError::Json {
            status: StatusCode::BAD_REQUEST,
            body: Box::new(BillingExceptionJson {
                class_name: NULL_POINTER.to_owned(),
                code: None,
                message: None,
                cause_class_name: None,
                cause_message: None,
                stack_trace: Vec::new(),
            }),
        }
    }

    /// 404 for an object id that does not exist in the caller's tenant.
    pub(crate) fn object_does_not_exist(id: impl std::fmt::Display, object_type: &str) -> Self {
        Self::json(
            StatusCode::NOT_FOUND,
            OBJECT_DOES_NOT_EXIST,
            None,
            format!("Object id={id} type={object_type} doesn't exist!"),
        )
    }

    /// 500 `RuntimeException` wrapping `cause_class: cause_message` (a database constraint
    /// such as a unique index or a column size, worded as H2, the test server's database).
    pub(crate) fn runtime(cause_class: &str, cause_message: impl Into<String>) -> Self {
        let cause_message = cause_message.into();
        Self::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            RUNTIME,
            None,
            format!("{cause_class}: {cause_message}"),
        )
        .with_cause(cause_class, cause_message)
    }

    /// 500 for a value longer than its column.
    pub(crate) fn value_too_long(column: &str, size: usize) -> Self {
        Self::runtime(
            "org.h2.jdbc.JdbcSQLDataException",
            format!("Value too long for column \"{column} CHARACTER VARYING({size})\""),
        )
    }

    /// 500 for a unique index violation.
    pub(crate) fn unique_violation(index: &str, table: &str, key: &str) -> Self {
        Self::runtime(
            "org.h2.jdbc.JdbcSQLIntegrityConstraintViolationException",
            format!(
                "Unique index or primary key violation: \"PUBLIC.{index} ON PUBLIC.{table}(EXTERNAL_KEY NULLS FIRST, TENANT_RECORD_ID NULLS FIRST) VALUES ( /* key:1 */ '{key}', CAST(1 AS BIGINT))\""
            ),
        )
    }

    /// The container's 404 page: no resource matched the path (or a query parameter failed
    /// conversion, which JAX-RS also answers with 404).
    pub(crate) fn not_found_page() -> Self {
        KbError::Page {
            status: StatusCode::NOT_FOUND,
            message: None,
        }
    }

    /// The `TenantFilter` 401 page.
    pub(crate) fn tenant_required() -> Self {
        KbError::Page {
            status: StatusCode::UNAUTHORIZED,
            message: Some(
                "Make sure to set the X-Killbill-ApiKey and X-Killbill-ApiSecret headers".into(),
            ),
        }
    }

    /// A resource's entity-less 400 (usage: missing dates, record after the subscription's end).
    /// The notes say "empty body"; on the observed server (Tomcat) Jersey's `sendError` turns it
    /// into the container's HTML 400 page, which is what this answers.
    pub(crate) fn bare_bad_request() -> Self {
        KbError::Page {
            status: StatusCode::BAD_REQUEST,
            message: None,
        }
    }
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

fn description(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => {
            "The request has not been applied to the target resource because it lacks valid authentication credentials for that resource."
        }
        404 => {
            "The origin server did not find a current representation for the target resource or is not willing to disclose that one exists."
        }
        405 => {
            "The method received in the request-line is known by the origin server but not supported by the target resource."
        }
        415 => {
            "The origin server is refusing to service the request because the payload is in a format not supported by this method on the target resource."
        }
        400 => {
            "The server cannot or will not process the request due to something that is perceived to be a client error (e.g., malformed request syntax, invalid request message framing, or deceptive request routing)."
        }
        _ => {
            "The server encountered an unexpected condition that prevented it from fulfilling the request."
        }
    }
}

/// Tomcat 9's default error page, as `sendError` renders it (the message defaults to the
/// reason phrase, as Jersey passes it for entity-less error responses).
pub(crate) fn container_page(status: StatusCode, message: Option<&str>) -> String {
    let code = status.as_u16();
    let reason = reason(status);
    let message = format!(
        "<p><b>Message</b> {}</p>",
        escape_html(message.unwrap_or(reason))
    );
    format!(
        "<!doctype html><html lang=\"en\"><head><title>HTTP Status {code} \u{2013} {reason}</title>\
<style type=\"text/css\">body {{font-family:Tahoma,Arial,sans-serif;}} h1, h2, h3, b {{color:white;background-color:#525D76;}} \
h1 {{font-size:22px;}} h2 {{font-size:16px;}} h3 {{font-size:14px;}} p {{font-size:12px;}} a {{color:black;}} \
.line {{height:1px;background-color:#525D76;border:none;}}</style></head><body><h1>HTTP Status {code} \u{2013} {reason}</h1>\
<hr class=\"line\" /><p><b>Type</b> Status Report</p>{message}<p><b>Description</b> {}</p><hr class=\"line\" />\
<h3>Apache Tomcat/9.0.117</h3></body></html>",
        description(status)
    )
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Tomcat closes the connection after these statuses (observed: `Connection: close`).
fn closes_connection(status: StatusCode) -> bool {
    matches!(status.as_u16(), 400 | 500 | 501)
}

impl IntoResponse for KbError {
    fn into_response(self) -> Response {
        let mut resp = self.render();
        if closes_connection(resp.status()) {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

impl KbError {
    fn render(self) -> Response {
        match self {
            KbError::Json { status, body } => {
                let text = serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned());
                let mut resp = Response::new(Body::from(text));
                *resp.status_mut() = status;
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
            KbError::Page { status, message } => {
                let mut resp =
                    Response::new(Body::from(container_page(status, message.as_deref())));
                *resp.status_mut() = status;
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html;charset=utf-8"),
                );
                resp.headers_mut()
                    .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en"));
                resp
            }
            KbError::Challenge => {
                let mut resp = Response::new(Body::empty());
                *resp.status_mut() = StatusCode::UNAUTHORIZED;
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("BASIC realm=\"application\""),
                );
                resp
            }
        }
    }
}

/// Result of a handler.
pub(crate) type KbResult<T = Response> = Result<T, KbError>;
