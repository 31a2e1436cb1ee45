//! The request filters in front of every `/1.0/kb/**` resource, in Kill Bill's order: Shiro's
//! basic auth (`admin`/`password`), then `TenantFilter` (`X-Killbill-ApiKey` and
//! `X-Killbill-ApiSecret`), then, inside each write resource, the `X-Killbill-CreatedBy` check.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method};
use uuid::Uuid;

use super::errors::KbError;
use super::state::Sim;

/// Header carrying the tenant's API key.
pub(crate) const HDR_API_KEY: &str = "x-killbill-apikey";
/// Header carrying the tenant's API secret.
pub(crate) const HDR_API_SECRET: &str = "x-killbill-apisecret";
/// Audit header required on every write.
pub(crate) const HDR_CREATED_BY: &str = "x-killbill-createdby";

/// The users Shiro accepts (from `shiro.ini`): (username, password).
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) users: Vec<(String, String)>,
}

/// The tenant resolved by `TenantFilter`, stored in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TenantCtx {
    pub(crate) id: Uuid,
}

/// State of the filter middleware.
#[derive(Debug, Clone)]
pub(crate) struct FilterState {
    pub(crate) sim: Sim,
    pub(crate) credentials: Credentials,
}

fn decode_base64(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let trimmed = input.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in trimmed.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

fn basic_auth_ok(headers: &HeaderMap, credentials: &Credentials) -> bool {
    let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(decoded) = decode_base64(encoded).and_then(|d| String::from_utf8(d).ok()) else {
        return false;
    };
    let Some((user, password)) = decoded.split_once(':') else {
        return false;
    };
    credentials
        .users
        .iter()
        .any(|(u, p)| u == user && p == password)
}

/// Whether `TenantFilter` lets the request through without tenant headers
/// (`KillBillApiDefinition.requiresTenantInformation`).
fn tenant_exempt(method: &Method, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    *method == Method::OPTIONS
        || (*method == Method::POST && path == "/1.0/kb/tenants")
        || path.starts_with("/1.0/kb/security")
        || path.starts_with("/1.0/kb/nodesInfo")
        || path.starts_with("/1.0/kb/plugins")
}

/// Shiro's remember-me manager clears its cookie on every authenticated response (observed).
const REMEMBER_ME_DELETE: &str =
    "rememberMe=deleteMe; Path=/; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:10 GMT; SameSite=lax";

/// `TenantFilter`'s verdict: the tenant, or the 401 page with the authenticator's message.
fn resolve_tenant(sim: &Sim, headers: &HeaderMap) -> Result<Uuid, KbError> {
    let key = headers.get(HDR_API_KEY).and_then(|v| v.to_str().ok());
    let secret = headers.get(HDR_API_SECRET).and_then(|v| v.to_str().ok());
    let (Some(key), Some(secret)) = (key, secret) else {
        return Err(KbError::tenant_required());
    };
    let db = sim.db();
    if let Some(t) = db.tenant_by_credentials(key, secret) {
        return Ok(t.id);
    }
    let message = if db.tenants.iter().any(|t| t.api_key == key) {
        format!(
            "Submitted credentials for token [org.apache.shiro.authc.UsernamePasswordToken - {key}, rememberMe=false] did not match the expected credentials."
        )
    } else {
        format!("No account found for user [{key}]")
    };
    Err(KbError::Page {
        status: http::StatusCode::UNAUTHORIZED,
        message: Some(message),
    })
}

/// Runs Shiro's basic auth and `TenantFilter` in front of the `/1.0/kb` routes.
pub(crate) async fn kb_filters(
    State(state): State<FilterState>,
    mut request: Request,
    next: Next,
) -> Response {
    let is_options = request.method() == Method::OPTIONS;
    if !is_options && !basic_auth_ok(request.headers(), &state.credentials) {
        return KbError::Challenge.into_response();
    }
    let mut response = if tenant_exempt(request.method(), &super::original_path(&request)) {
        next.run(request).await
    } else {
        match resolve_tenant(&state.sim, request.headers()) {
            Ok(id) => {
                request.extensions_mut().insert(TenantCtx { id });
                next.run(request).await
            }
            Err(e) => e.into_response(),
        }
    };
    response.headers_mut().append(
        http::header::SET_COOKIE,
        http::HeaderValue::from_static(REMEMBER_ME_DELETE),
    );
    response
}

/// The `X-Killbill-CreatedBy` header, or the 400 Kill Bill answers without it.
pub(crate) fn created_by(headers: &HeaderMap) -> Result<String, KbError> {
    headers
        .get(HDR_CREATED_BY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| KbError::illegal_argument("Header X-Killbill-CreatedBy needs to be set"))
}

/// Jersey's `@Consumes(APPLICATION_JSON)` check: a body of another (or no) media type finds no
/// resource method and gets a 415 container page.
pub(crate) fn require_json(headers: &HeaderMap, body: &[u8]) -> Result<(), KbError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match content_type {
        Some(ct) => {
            let essence = ct.split(';').next().unwrap_or("").trim();
            if essence.eq_ignore_ascii_case("application/json") {
                Ok(())
            } else {
                Err(KbError::Page {
                    status: http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    message: None,
                })
            }
        }
        None if body.is_empty() => Ok(()),
        None => Err(KbError::Page {
            status: http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_credentials() {
        assert_eq!(
            decode_base64("YWRtaW46cGFzc3dvcmQ=").unwrap(),
            b"admin:password"
        );
        assert!(decode_base64("!!").is_none());
        let creds = Credentials {
            users: vec![
                ("ops".to_owned(), "x".to_owned()),
                ("admin".to_owned(), "password".to_owned()),
            ],
        };
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            "Basic YWRtaW46cGFzc3dvcmQ=".parse().unwrap(),
        );
        assert!(basic_auth_ok(&h, &creds));
        h.insert(
            http::header::AUTHORIZATION,
            "Basic YWRtaW46d3Jvbmc=".parse().unwrap(),
        );
        assert!(!basic_auth_ok(&h, &creds));
    }
}
