//! Kill Bill's error answers, parsed leniently, and their error kinds.
//!
//! Most errors are a `BillingExceptionJson` (`{"className", "code", "message", "causeClassName",
//! "causeMessage", "stackTrace"}`), but several are not JSON at all (observed on a real 0.24.19
//! server): the tenant filter's 401 is the servlet container's HTML page, basic-auth failures
//! are an empty 401, a path that matches no resource is an HTML 404, and usage's entity-less 400s
//! (a record after the subscription ended) are an HTML 400 page.
//!
//! A 401 names the settings to check: an empty one (Shiro's basic auth) `killbill.username` and
//! `killbill.password`, the tenant filter's page `killbill.api_key` (an unknown key) or
//! `killbill.api_secret` (a known key with another secret). A 404 that is not a Kill Bill JSON
//! error reaches no Kill Bill resource (every id the adapter puts in a path came from the
//! server): a `Config` error naming `killbill.base_url`.
//!
//! [`VendorDetail::code`] holds Kill Bill's numeric code when the body has one, otherwise the
//! exception's class name (`RuntimeException`, `ObjectDoesNotExist`, ...), so a structured 500
//! (a business rule or a database constraint) is never mistaken for a crash page and resent.

use billing_core::{ErrorKind, VendorDetail};
use billing_http::{StatusCode, VendorErrors, kind_for_status, shorten};
use serde::Deserialize;

/// `ACCOUNT_ALREADY_EXISTS`.
pub const ACCOUNT_ALREADY_EXISTS: i64 = 3000;
/// `SUB_CANCEL_BAD_STATE`: cancelling a subscription that is already cancelled.
pub const SUB_CANCEL_BAD_STATE: i64 = 1031;
/// `USAGE_RECORD_TRACKING_ID_ALREADY_EXISTS`.
pub const TRACKING_ID_ALREADY_EXISTS: i64 = 50000;

/// Codes meaning the addressed object does not exist: accounts (3002 by id, 3003 by key),
/// subscriptions and bundles (1082, 1083, 1084), catalog plans and products (2013 price list,
/// 2020 plan by spec, 2021 plan by name, 2030 product).
const NOT_FOUND_CODES: [i64; 9] = [3002, 3003, 1082, 1083, 1084, 2013, 2020, 2021, 2030];
/// Codes meaning the object's state forbids the operation: 6000 (blocked by a blocking state,
/// e.g. a cancelled subscription or a closed account), 1021 (change of a non-active
/// subscription), 1022 (change of a future-cancelled one), 1031 (cancel of a cancelled one),
/// 1014/1015 (bundle key taken / bundle already has a base), 8004 (uncancel of a subscription
/// that is not pending cancellation).
const CONFLICT_CODES: [i64; 7] = [6000, 1021, 1022, 1031, 1014, 1015, 8004];
/// Codes meaning the request itself was wrong: 1001 (requested date before the previous
/// transition), 2080 (invalid catalog for the tenant).
const INVALID_CODES: [i64; 2] = [1001, 2080];

/// Kill Bill's `BillingExceptionJson`, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct BillingException {
    class_name: Option<String>,
    code: Option<serde_json::Value>,
    message: Option<String>,
    cause_message: Option<String>,
}

/// Kill Bill's error format, for [`billing_http::HttpClient`].
#[derive(Debug, Clone, Copy, Default)]
pub struct KillBillErrors;

impl VendorErrors for KillBillErrors {
    fn detail(&self, status: StatusCode, body: &[u8]) -> VendorDetail {
        let mut detail = VendorDetail::status(status.as_u16());
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            return detail;
        }
        if let Ok(e) = serde_json::from_str::<BillingException>(text)
            && (e.class_name.is_some() || e.code.is_some() || e.message.is_some())
        {
            if let Some(code) = numeric(e.code.as_ref()) {
                detail = detail.with_code(code.to_string());
            } else if let Some(class) = e.class_name.as_deref() {
                detail = detail.with_code(simple_class_name(class));
            }
            let blank = |m: &String| !m.trim().is_empty();
            let message = e
                .message
                .filter(blank)
                .or(e.cause_message.filter(blank))
                .or(e.class_name.filter(blank));
            if let Some(m) = message {
                detail = detail.with_message(shorten(&m));
            }
            return detail;
        }
        let extracted = if text.starts_with('<') || text.contains("<html") {
            html_message(text)
        } else {
            Some(text.to_owned())
        };
        if let Some(m) = extracted {
            detail = detail.with_message(shorten(&m));
        }
        detail
    }

    /// Kill Bill's own 404s are JSON `BillingExceptionJson`s (a code, or a class such as
    /// `ObjectDoesNotExist`); Jersey's and Tomcat's are HTML pages with no code.
    fn is_not_found_body(&self, body: &[u8], _detail: &VendorDetail) -> bool {
        serde_json::from_slice::<BillingException>(body)
            .is_ok_and(|e| e.class_name.is_some() || e.code.as_ref().is_some_and(|c| !c.is_null()))
    }

    fn base_url_rule(&self) -> &'static str {
        "Kill Bill's base URL is the server root (such as http://127.0.0.1:8080), without /1.0/kb"
    }

    fn credential_settings(&self, detail: &VendorDetail) -> &'static [&'static str] {
        // Shiro's basic-auth challenge is an empty 401; the tenant filter's has a page whose
        // message says which half of the tenant's credentials did not match.
        match detail.message.as_deref() {
            None => &["killbill.username", "killbill.password"],
            Some(m) if m.contains("No account found") => &["killbill.api_key"],
            Some(m) if m.contains("did not match") => &["killbill.api_secret"],
            Some(_) => &["killbill.api_key", "killbill.api_secret"],
        }
    }

    fn kind(&self, status: StatusCode, detail: &VendorDetail) -> ErrorKind {
        if let Some(code) = code_of(detail) {
            if NOT_FOUND_CODES.contains(&code) {
                return ErrorKind::NotFound;
            }
            if code == ACCOUNT_ALREADY_EXISTS || code == TRACKING_ID_ALREADY_EXISTS {
                return ErrorKind::AlreadyExists;
            }
            if CONFLICT_CODES.contains(&code) {
                return ErrorKind::Conflict;
            }
            if INVALID_CODES.contains(&code) {
                return ErrorKind::InvalidInput;
            }
        }
        // Two creates of one key at once both pass the server's own check and meet the
        // database's unique index: the loser is a 500 whose message names the index (H2, MySQL
        // and PostgreSQL all call them `accounts_external_key` and
        // `subscriptions_external_key`).
        if status == StatusCode::INTERNAL_SERVER_ERROR
            && detail
                .message
                .as_deref()
                .is_some_and(names_an_external_key_index)
        {
            return ErrorKind::AlreadyExists;
        }
        kind_for_status(status)
    }
}

/// Whether a database error names the unique index of account or subscription external keys.
fn names_an_external_key_index(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("accounts_external_key") || m.contains("subscriptions_external_key")
}

/// The numeric Kill Bill code of a detail, if it has one.
pub fn code_of(detail: &VendorDetail) -> Option<i64> {
    detail.code.as_deref().and_then(|c| c.parse().ok())
}

/// The numeric Kill Bill code of an error from the server, if it has one.
pub fn code_of_error(error: &billing_core::Error) -> Option<i64> {
    error.vendor().and_then(code_of)
}

fn numeric(code: Option<&serde_json::Value>) -> Option<i64> {
    match code? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `org.killbill...InternalCallContextFactory$ObjectDoesNotExist` -> `ObjectDoesNotExist`.
fn simple_class_name(class: &str) -> String {
    let last = class.rsplit('.').next().unwrap_or(class);
    let last = last.rsplit('$').next().unwrap_or(last);
    shorten(last)
}

/// The message of a servlet container's error page: Tomcat's `<p><b>Message</b> ...</p>`, else
/// the `<title>`, else the text without tags.
fn html_message(html: &str) -> Option<String> {
    let between = |start: &str, end: &str| -> Option<String> {
        let from = html.find(start)? + start.len();
        let rest = &html[from..];
        let to = rest.find(end).unwrap_or(rest.len());
        Some(strip_tags(&rest[..to]))
    };
    between("<b>Message</b>", "</p>")
        .filter(|m| !m.is_empty())
        .or_else(|| between("<title>", "</title>").filter(|m| !m.is_empty()))
        .or_else(|| Some(strip_tags(html)).filter(|m| !m.is_empty()))
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> (VendorDetail, ErrorKind) {
        let status = StatusCode::from_u16(status).unwrap();
        let d = KillBillErrors.detail(status, body.as_bytes());
        let k = KillBillErrors.kind(status, &d);
        (d, k)
    }

    const TOMCAT_401: &str = r#"<!doctype html><html lang="en"><head><title>HTTP Status 401 – Unauthorized</title></head><body><h1>HTTP Status 401 – Unauthorized</h1><hr class="line" /><p><b>Type</b> Status Report</p><p><b>Message</b> Make sure to set the X-Killbill-ApiKey and X-Killbill-ApiSecret headers</p><p><b>Description</b> The request has not been applied.</p></body></html>"#;

    #[test]
    fn a_create_that_lost_a_race_at_the_unique_index_already_exists() {
        for index in ["ACCOUNTS_EXTERNAL_KEY", "SUBSCRIPTIONS_EXTERNAL_KEY"] {
            // As the real server answered two concurrent creates of one key (H2).
            let body = format!(
                r#"{{"className":"java.lang.RuntimeException","code":null,"message":"org.h2.jdbc.JdbcSQLIntegrityConstraintViolationException: Unique index or primary key violation: \"PUBLIC.{index} ON PUBLIC.X(EXTERNAL_KEY)\"","causeClassName":null,"causeMessage":null,"stackTrace":[]}}"#
            );
            assert_eq!(parse(500, &body).1, ErrorKind::AlreadyExists, "{index}");
        }
        let other = r#"{"className":"java.lang.RuntimeException","code":null,"message":"boom","stackTrace":[]}"#;
        assert_eq!(parse(500, other).1, ErrorKind::Unavailable);
    }

    #[test]
    fn billing_exceptions_map_by_code() {
        let cases = [
            (409, 3000, ErrorKind::AlreadyExists),
            (404, 3003, ErrorKind::NotFound),
            (404, 1083, ErrorKind::NotFound),
            (400, 2021, ErrorKind::NotFound),
            (400, 2020, ErrorKind::NotFound),
            (500, 1031, ErrorKind::Conflict),
            (400, 6000, ErrorKind::Conflict),
            (500, 1021, ErrorKind::Conflict),
            (400, 1022, ErrorKind::Conflict),
            (400, 50000, ErrorKind::AlreadyExists),
            (400, 2080, ErrorKind::InvalidInput),
        ];
        for (status, code, kind) in cases {
            let body = format!(
                r#"{{"className":"org.killbill.X","code":{code},"message":"m {code}","causeClassName":null,"causeMessage":null,"stackTrace":[]}}"#
            );
            let (d, k) = parse(status, &body);
            assert_eq!(k, kind, "{status}/{code}");
            assert_eq!(d.code.as_deref(), Some(code.to_string().as_str()));
            assert_eq!(d.message, Some(format!("m {code}")));
            assert_eq!(code_of(&d), Some(code));
        }
    }

    #[test]
    fn a_null_code_keeps_the_class_and_a_structured_500_is_not_retried() {
        let body = r#"{"className":"java.lang.RuntimeException","code":null,"message":"org.h2.jdbc.JdbcSQLIntegrityConstraintViolationException: Unique index","causeClassName":"x","causeMessage":"y","stackTrace":[]}"#;
        let (d, k) = parse(500, body);
        assert_eq!(d.code.as_deref(), Some("RuntimeException"));
        assert_eq!(code_of(&d), None);
        assert_eq!(k, ErrorKind::Unavailable);
        assert!(!KillBillErrors.retryable(StatusCode::INTERNAL_SERVER_ERROR, &d));
        let (d, k) = parse(
            404,
            r#"{"className":"org.killbill.billing.util.callcontext.InternalCallContextFactory$ObjectDoesNotExist","code":null,"message":"Object id=1 type=ACCOUNT doesn't exist!"}"#,
        );
        assert_eq!(d.code.as_deref(), Some("ObjectDoesNotExist"));
        assert_eq!(k, ErrorKind::NotFound);
        let (_, k) = parse(
            400,
            r#"{"className":"java.lang.IllegalArgumentException","code":null,"message":"Header X-Killbill-CreatedBy needs to be set"}"#,
        );
        assert_eq!(k, ErrorKind::InvalidInput);
        let (d, _) = parse(400, r#"{"className":"x.Y","code":"1015","message":"  "}"#);
        assert_eq!(code_of(&d), Some(1015));
        assert_eq!(d.message.as_deref(), Some("x.Y"));
    }

    #[test]
    fn html_pages_and_empty_bodies() {
        let (d, k) = parse(401, TOMCAT_401);
        assert_eq!(k, ErrorKind::Unauthenticated);
        assert_eq!(
            d.message.as_deref(),
            Some("Make sure to set the X-Killbill-ApiKey and X-Killbill-ApiSecret headers")
        );
        assert!(d.code.is_none());
        let (d, k) = parse(401, "");
        assert_eq!(k, ErrorKind::Unauthenticated);
        assert!(d.message.is_none() && d.code.is_none());
        let page =
            "<html><head><title>HTTP Status 404 – Not Found</title></head><body></body></html>";
        let (d, _) = parse(404, page);
        assert!(
            !KillBillErrors.is_not_found_body(page.as_bytes(), &d),
            "a path mismatch is not a missing object"
        );
        for body in ["", "{}", "[]", r#"{"code":null,"message":"x"}"#] {
            assert!(
                !KillBillErrors.is_not_found_body(body.as_bytes(), &d),
                "{body}"
            );
        }
        let missing =
            r#"{"className":"org.killbill.X$ObjectDoesNotExist","code":null,"message":"m"}"#;
        assert!(KillBillErrors.is_not_found_body(missing.as_bytes(), &d));
        assert!(KillBillErrors.is_not_found_body(br#"{"code":3003,"message":"m"}"#, &d));
        let (d, k) = parse(
            400,
            "<!doctype html><html><body><p><b>Message</b> Bad Request</p></body></html>",
        );
        assert_eq!(k, ErrorKind::InvalidInput);
        assert_eq!(d.message.as_deref(), Some("Bad Request"));
        assert!(KillBillErrors.retryable(StatusCode::INTERNAL_SERVER_ERROR, &parse(500, "").0));
        assert!(KillBillErrors.retryable(StatusCode::SERVICE_UNAVAILABLE, &parse(503, "x").0));
    }

    #[test]
    fn a_401_names_the_credentials_the_server_refused() {
        let settings = |body: &str| {
            let (d, k) = parse(401, body);
            assert_eq!(k, ErrorKind::Unauthenticated);
            KillBillErrors.credential_settings(&d)
        };
        assert_eq!(settings(""), ["killbill.username", "killbill.password"]);
        assert_eq!(
            settings(TOMCAT_401),
            ["killbill.api_key", "killbill.api_secret"]
        );
        let page = |m: &str| {
            TOMCAT_401.replace(
                "Make sure to set the X-Killbill-ApiKey and X-Killbill-ApiSecret headers",
                m,
            )
        };
        assert_eq!(
            settings(&page("No account found for user [nobody]")),
            ["killbill.api_key"]
        );
        assert_eq!(
            settings(&page(
                "Submitted credentials for token [x] did not match the expected credentials."
            )),
            ["killbill.api_secret"]
        );
    }

    #[test]
    fn odd_bodies_never_panic() {
        let bodies = [
            "[]",
            "{}",
            "null",
            "{\"code\":",
            "{\"className\":\"a\",\"code\":1.5}",
            "{\"code\":true}",
            "<",
            "<b>Message</b>",
            "<p><b>Message</b> é</p",
            "plain text error",
            "\u{0}\u{1}",
            "<html><title></title>",
        ];
        for b in bodies {
            for status in [400, 404, 500, 502] {
                let _ = parse(status, b);
            }
        }
        let (d, _) = parse(500, "{\"code\":");
        assert_eq!(
            d.message.as_deref(),
            Some("{\"code\":"),
            "truncated JSON kept as text"
        );
        let long = format!("<p><b>Message</b> {}</p>", "x".repeat(5000));
        let (d, _) = parse(400, &long);
        assert!(d.message.unwrap().chars().count() <= billing_http::MAX_VENDOR_MESSAGE_CHARS + 1);
        let bytes = [0xff_u8, 0xfe, b'{'];
        let _ = KillBillErrors.detail(StatusCode::BAD_REQUEST, &bytes);
    }
}
