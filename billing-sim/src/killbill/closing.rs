//! Closing an account (`DELETE /1.0/kb/accounts/{id}`), which is not a delete: it adds the
//! AUTO_INVOICING_OFF tag and the CLOSE_ACCOUNT blocking state, and with
//! `cancelAllSubscriptions=true` cancels the subscriptions (IMMEDIATE entitlement, END_OF_TERM
//! billing). The closed state is read back with `GET .../tags` or `GET .../block`; AccountJson
//! has no "closed" flag.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use uuid::Uuid;

use super::auth::{TenantCtx, created_by};
use super::errors::{KbError, KbResult};
use super::ids::path_id;
use super::lifecycle::{BillingPolicy, cancel_at};
use super::reply::{Params, json, no_content};
use super::state::{AUTO_INVOICING_OFF, BlockingState, Db, Sim, Tag};
use super::time::{at_reference_time, fmt_datetime};
use super::wire::{BlockingStateOut, TagOut};

/// `DELETE /1.0/kb/accounts/{accountId}`: 204.
pub(crate) async fn close(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    headers: http::HeaderMap,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let params = Params::parse(query.as_deref());
    created_by(&headers)?;
    let now = sim.clock.now();
    let mut db = sim.db();
    let account = db
        .account_mut(tenant.id, id)
        .ok_or_else(|| KbError::object_does_not_exist(id, "ACCOUNT"))?;
    let tag_def = Uuid::parse_str(AUTO_INVOICING_OFF).unwrap_or_default();
    // addTag is idempotent.
    if !account.tags.iter().any(|t| t.definition_id == tag_def) {
        account.tags.push(Tag {
            id: Uuid::new_v4(),
            definition_id: tag_def,
            definition_name: "AUTO_INVOICING_OFF".to_owned(),
        });
    }
    if params.bool_or("cancelAllSubscriptions", false) {
        let subs: Vec<Uuid> = db
            .bundles_of_account(id)
            .iter()
            .flat_map(|b| db.subscriptions_of_bundle(b.id))
            .filter(|s| s.cancellation.is_none())
            .map(|s| s.id)
            .collect();
        for sub_id in subs {
            if let Some(sub) = db.subscriptions.get_mut(&sub_id) {
                // IMMEDIATE: today at the reference time, no earlier than the start.
                let end = at_reference_time(now.date_naive(), sub.reference_tod)
                    .max(sub.entitlement_start);
                cancel_at(sub, now, end, BillingPolicy::EndOfTerm);
            }
        }
    }
    if let Some(account) = db.account_mut(tenant.id, id)
        && !account.is_closed()
    {
        account.blocking.push(BlockingState {
            blocked_id: id,
            state_name: "CLOSE_ACCOUNT".to_owned(),
            service: "account-service".to_owned(),
            block_change: true,
            block_entitlement: false,
            block_billing: false,
            effective: now,
            kind: "ACCOUNT",
        });
    }
    Ok(no_content())
}

/// `GET /1.0/kb/accounts/{accountId}/tags`: TagJson[].
pub(crate) async fn tags(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let db = sim.db();
    let account = db
        .account(tenant.id, id)
        .ok_or_else(|| KbError::object_does_not_exist(id, "ACCOUNT"))?;
    let out: Vec<TagOut> = account
        .tags
        .iter()
        .map(|t| TagOut {
            tag_id: t.id,
            object_type: "ACCOUNT",
            object_id: id,
            tag_definition_id: t.definition_id,
            tag_definition_name: t.definition_name.clone(),
            audit_logs: Vec::new(),
        })
        .collect();
    Ok(json(&out))
}

/// Every blocking state of an account: its own (CLOSE_ACCOUNT) and its subscriptions'
/// entitlement states (ENT_STARTED, ENT_CANCELLED), in effective-date order.
fn blocking_states(db: &Db, account: Uuid) -> Vec<BlockingState> {
    let mut states: Vec<BlockingState> = db
        .accounts
        .get(&account)
        .map(|a| a.blocking.clone())
        .unwrap_or_default();
    for bundle in db.bundles_of_account(account) {
        for sub in db.subscriptions_of_bundle(bundle.id) {
            let ent = |name: &str, effective, blocked: bool| BlockingState {
                blocked_id: sub.id,
                state_name: name.to_owned(),
                service: "entitlement-service".to_owned(),
                block_change: blocked,
                block_entitlement: blocked,
                block_billing: false,
                effective,
                kind: "SUBSCRIPTION",
            };
            states.push(ent("ENT_STARTED", sub.entitlement_start, false));
            if let Some(c) = &sub.cancellation {
                states.push(ent("ENT_CANCELLED", c.entitlement_end, true));
            }
        }
    }
    states.sort_by_key(|s| s.effective);
    states
}

/// `GET /1.0/kb/accounts/{accountId}/block?blockingStateTypes=&blockingStateSvcs=`:
/// BlockingStateJson[].
pub(crate) async fn block(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let params = Params::parse(query.as_deref());
    let types: Vec<&str> = params
        .all("blockingStateTypes")
        .into_iter()
        .flat_map(|v| v.split(','))
        .collect();
    for t in &types {
        if !["SUBSCRIPTION", "SUBSCRIPTION_BUNDLE", "ACCOUNT"].contains(t) {
            return Err(KbError::not_found_page());
        }
    }
    let services: Vec<&str> = params
        .all("blockingStateSvcs")
        .into_iter()
        .flat_map(|v| v.split(','))
        .collect();
    let db = sim.db();
    if db.account(tenant.id, id).is_none() {
        return Err(KbError::object_does_not_exist(id, "ACCOUNT"));
    }
    let out: Vec<BlockingStateOut> = blocking_states(&db, id)
        .into_iter()
        .filter(|s| types.is_empty() || types.contains(&s.kind))
        .filter(|s| services.is_empty() || services.contains(&s.service.as_str()))
        .map(|s| BlockingStateOut {
            blocked_id: s.blocked_id,
            state_name: s.state_name,
            service: s.service,
            is_block_change: s.block_change,
            is_block_entitlement: s.block_entitlement,
            is_block_billing: s.block_billing,
            effective_date: fmt_datetime(s.effective),
            kind: s.kind,
            audit_logs: Vec::new(),
        })
        .collect();
    Ok(json(&out))
}
