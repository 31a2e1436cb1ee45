//! `TenantResource`: creating a tenant (no tenant headers needed) and reading one back.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use uuid::Uuid;

use super::auth::{TenantCtx, created_by, require_json};
use super::errors::{KbError, KbResult, TENANT_API};
use super::ids::path_id;
use super::reply::{Params, created, json};
use super::state::{Sim, Tenant};
use super::wire::{TenantIn, TenantOut, parse_body};

fn tenant_json(t: &Tenant) -> TenantOut {
    TenantOut {
        tenant_id: t.id,
        external_key: t.external_key.clone(),
        api_key: t.api_key.clone(),
        api_secret: None,
        audit_logs: Vec::new(),
    }
}

/// `POST /1.0/kb/tenants`: 201 and `Location`; 409 with code 20000 for a taken apiKey. With
/// `useGlobalDefault=true` the tenant uses the global catalog (the simulator's start-up
/// catalog); otherwise it starts with an empty one.
pub(crate) async fn create(
    State(sim): State<Sim>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> KbResult<Response> {
    let use_global_default = Params::parse(query.as_deref()).bool_or("useGlobalDefault", false);
    require_json(&headers, &body)?;
    let input: TenantIn = parse_body(&body)?
        .ok_or_else(|| KbError::illegal_argument("TenantJson body should be specified"))?;
    let api_key = input
        .api_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| KbError::illegal_argument("TenantJson apiKey needs to be set"))?;
    let api_secret = input
        .api_secret
        .filter(|s| !s.is_empty())
        .ok_or_else(|| KbError::illegal_argument("TenantJson apiSecret needs to be set"))?;
    created_by(&headers)?;
    let mut db = sim.db();
    if db.tenants.iter().any(|t| t.api_key == api_key) {
        // The message names the new tenant's externalKey, not the apiKey (observed).
        let key = input.external_key.as_deref().unwrap_or("null");
        return Err(KbError::json(
            StatusCode::CONFLICT,
            TENANT_API,
            Some(20000),
            format!("Tenant already exists for key {key}"),
        ));
    }
    let id = Uuid::new_v4();
    db.tenants.push(Tenant {
        id,
        api_key,
        api_secret,
        external_key: input.external_key,
        catalog: use_global_default.then(|| sim.default_catalog.clone()),
    });
    Ok(created(&headers, &format!("/1.0/kb/tenants/{id}")))
}

/// `GET /1.0/kb/tenants?apiKey=`: 200; an unknown key is a 500 from the tenant cache
/// (observed; the notes say 404).
pub(crate) async fn get_by_api_key(
    State(sim): State<Sim>,
    Extension(_tenant): Extension<TenantCtx>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let params = Params::parse(query.as_deref());
    let key = params.get("apiKey").unwrap_or("null").to_owned();
    let db = sim.db();
    let tenant = db
        .tenants
        .iter()
        .find(|t| t.api_key == key)
        .ok_or_else(|| {
            KbError::runtime(
                "java.lang.IllegalStateException",
                format!("TenantCacheLoader cannot find value for key {key}"),
            )
        })?;
    Ok(json(&tenant_json(tenant)))
}

/// `GET /1.0/kb/tenants/{tenantId}`: 200, or 404 with code 20001.
pub(crate) async fn get(
    State(sim): State<Sim>,
    Extension(_tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let db = sim.db();
    let tenant = db.tenant(id).ok_or_else(|| {
        KbError::json(
            StatusCode::NOT_FOUND,
            TENANT_API,
            Some(20001),
            format!("Tenant does not exist for id {id}"),
        )
    })?;
    Ok(json(&tenant_json(tenant)))
}
