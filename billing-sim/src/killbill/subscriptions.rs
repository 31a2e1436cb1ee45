//! `SubscriptionResource` (create, read by id or external key) and the bundles of an account
//! (`GET /1.0/kb/accounts/{id}/bundles`, the only way to list an account's subscriptions).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Datelike, NaiveTime, Utc};
use http::{HeaderMap, StatusCode};
use uuid::Uuid;

use super::auth::{TenantCtx, created_by, require_json};
use super::catalog;
use super::errors::{
    BLOCKING_API, CATALOG_API, JSON_MAPPING, KbError, KbResult, SUBSCRIPTION_API,
    SUBSCRIPTION_BASE_API,
};
use super::ids::path_id;
use super::reply::{Params, created, json};
use super::state::{Bundle, Db, PlanSegment, Sim, Subscription};
use super::time::{parse_joda, resolve_requested};
use super::timeline::{AccountView, bundle_json, state, subscription_json};
use super::wire::{BundleOut, SubscriptionIn, parse_body};

const PRODUCT_CATEGORIES: [&str; 3] = ["BASE", "ADD_ON", "STANDALONE"];
const BILLING_PERIODS: [&str; 17] = [
    "DAILY",
    "WEEKLY",
    "BIWEEKLY",
    "THIRTY_DAYS",
    "THIRTY_ONE_DAYS",
    "SIXTY_DAYS",
    "NINETY_DAYS",
    "MONTHLY",
    "BIMESTRIAL",
    "QUARTERLY",
    "TRIANNUAL",
    "BIANNUAL",
    "ANNUAL",
    "SESQUIENNIAL",
    "BIENNIAL",
    "TRIENNIAL",
    "NO_BILLING_PERIOD",
];
const PHASE_TYPES: [&str; 4] = ["TRIAL", "DISCOUNT", "FIXEDTERM", "EVERGREEN"];
/// The `subscriptions.external_key` and `bundles.external_key` column size.
const EXTERNAL_KEY_MAX: usize = 255;

/// Jackson's binding of SubscriptionJson's enum fields.
pub(crate) fn check_enums(input: &SubscriptionIn) -> KbResult<()> {
    let checks: [(&Option<String>, &[&str], &str); 3] = [
        (
            &input.product_category,
            &PRODUCT_CATEGORIES,
            "ProductCategory",
        ),
        (&input.billing_period, &BILLING_PERIODS, "BillingPeriod"),
        (&input.phase_type, &PHASE_TYPES, "PhaseType"),
    ];
    for (value, allowed, type_name) in checks {
        if let Some(v) = value
            && !allowed.contains(&v.as_str())
        {
            return Err(KbError::json(
                StatusCode::BAD_REQUEST,
                JSON_MAPPING,
                None,
                format!(
                    "Cannot deserialize value of type `org.killbill.billing.catalog.api.{type_name}` from String \"{v}\": not one of the values accepted for Enum class"
                ),
            ));
        }
    }
    Ok(())
}

/// The `createSubscription` preconditions on planName versus product/category/period/list.
fn check_plan_spec(input: &SubscriptionIn) -> KbResult<()> {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if input.plan_name.is_none() {
        let required = [
            (&input.product_name, "productName"),
            (&input.product_category, "productCategory"),
            (&input.billing_period, "billingPeriod"),
            (&input.price_list, "priceList"),
        ];
        for (value, name) in required {
            if !set(value) {
                return Err(KbError::illegal_argument(format!(
                    "SubscriptionJson {name} needs to be set when no planName is specified"
                )));
            }
        }
    } else {
        let forbidden = [
            (&input.product_name, "productName"),
            (&input.product_category, "productCategory"),
            (&input.billing_period, "billingPeriod"),
            (&input.price_list, "priceList"),
        ];
        for (value, name) in forbidden {
            if value.is_some() {
                return Err(KbError::illegal_argument(format!(
                    "SubscriptionJson {name} should not be set when planName is specified"
                )));
            }
        }
    }
    Ok(())
}

fn parse_query_date(
    params: &Params,
    name: &str,
    tod: NaiveTime,
) -> KbResult<Option<DateTime<Utc>>> {
    params
        .get(name)
        .map(|v| {
            parse_joda(v)
                .map(|p| resolve_requested(p, tod))
                .ok_or_else(|| KbError::illegal_argument(format!("Invalid format: \"{v}\"")))
        })
        .transpose()
}

fn catalog_error(code: i32, message: String) -> KbError {
    KbError::json(
        StatusCode::BAD_REQUEST,
        SUBSCRIPTION_BASE_API,
        Some(code),
        message.clone(),
    )
    .with_cause(CATALOG_API, message)
}

/// The bundle a new BASE subscription goes into: a new one, or an error when the key is taken
/// by an active bundle. A bundle whose subscriptions are all cancelled gives its key up
/// (renamed `kbcncl-<recordId>:<key>`, `renameKeyIfExistsAndUnused=true`).
fn bundle_for(
    db: &mut Db,
    tenant: Uuid,
    account: Uuid,
    key: Option<&str>,
    rename_unused: bool,
    now: DateTime<Utc>,
) -> KbResult<Bundle> {
    let id = Uuid::new_v4();
    let record_id = db.record_id();
    let Some(key) = key else {
        return Ok(Bundle {
            id,
            tenant,
            account_id: account,
            record_id,
            external_key: id.to_string(),
        });
    };
    let existing: Vec<Uuid> = db
        .bundles
        .values()
        .filter(|b| b.tenant == tenant && b.external_key == key)
        .map(|b| b.id)
        .collect();
    for bundle_id in existing {
        let subs = db.subscriptions_of_bundle(bundle_id);
        let active = subs.iter().any(|s| state(s, now) != "CANCELLED");
        let same_account = db.bundles.get(&bundle_id).map(|b| b.account_id) == Some(account);
        if active {
            let (code, message) = if same_account {
                (
                    1015,
                    format!("Subscription bundle {key} already has a base subscription"),
                )
            } else {
                (
                    1014,
                    format!("Active bundle with external key {key} already exists"),
                )
            };
            return Err(KbError::json(
                StatusCode::BAD_REQUEST,
                SUBSCRIPTION_BASE_API,
                Some(code),
                message,
            ));
        }
        if rename_unused {
            if let Some(b) = db.bundles.get_mut(&bundle_id) {
                b.external_key = format!("kbcncl-{}:{}", b.record_id, b.external_key);
            }
        } else {
            return Err(KbError::unique_violation(
                "BUNDLES_EXTERNAL_KEY",
                "BUNDLES",
                key,
            ));
        }
    }
    Ok(Bundle {
        id,
        tenant,
        account_id: account,
        record_id,
        external_key: key.to_owned(),
    })
}

/// `POST /1.0/kb/subscriptions`: 201, empty body, `Location: .../1.0/kb/subscriptions/{id}`.
pub(crate) async fn create(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> KbResult<Response> {
    let params = Params::parse(query.as_deref());
    let rename_unused = params.bool_or("renameKeyIfExistsAndUnused", true);
    params.long_or("callTimeoutSec", 3)?;
    require_json(&headers, &body)?;
    let input: Option<SubscriptionIn> = parse_body(&body)?;
    if let Some(i) = &input {
        check_enums(i)?;
    }
    // `List.of(subscription)` with a null body throws a NullPointerException.
    let input = input.ok_or_else(KbError::null_pointer)?;
    created_by(&headers)?;
    let now = sim.clock.now();
    let mut db = sim.db();
    let account_id = input.account_id.ok_or_else(KbError::null_pointer)?;
    let (closed, tod, account_bcd) = match db.account(tenant.id, account_id) {
        Some(a) => (
            a.is_closed(),
            a.reference_time.time(),
            a.data.bill_cycle_day_local,
        ),
        None => return Err(KbError::object_does_not_exist(account_id, "ACCOUNT")),
    };
    check_plan_spec(&input)?;
    let entitlement_start = parse_query_date(&params, "entitlementDate", tod)?.unwrap_or(now);
    // Each date defaults to now on its own (`DefaultEntitlementApi`): an entitlement date alone
    // does not move the billing start.
    let billing_start = parse_query_date(&params, "billingDate", tod)?.unwrap_or(now);
    let migrated = params.bool_or("migrated", false);
    let tenant_catalog = db.catalog_of(tenant.id);
    let plan = match &input.plan_name {
        Some(name) => catalog::find_plan(tenant_catalog.as_deref(), name),
        None => catalog::find_plan_by_spec(
            tenant_catalog.as_deref(),
            input.product_name.as_deref().unwrap_or(""),
            input.billing_period.as_deref().unwrap_or(""),
            input.price_list.as_deref().unwrap_or(""),
        ),
    }
    .map_err(|m| catalog_error(m.code, m.message))?;
    if closed {
        return Err(KbError::json(
            StatusCode::BAD_REQUEST,
            BLOCKING_API,
            Some(6000),
            format!("The action Change is block on this Account with id={account_id}"),
        ));
    }
    if let Some(bundle_id) = input.bundle_id {
        let message = if db
            .bundles
            .get(&bundle_id)
            .is_some_and(|b| b.tenant == tenant.id)
        {
            (
                1015,
                format!("Subscription bundle {bundle_id} already has a base subscription"),
            )
        } else {
            (1012, format!("Bundle {bundle_id} does not exist"))
        };
        return Err(KbError::json(
            StatusCode::BAD_REQUEST,
            SUBSCRIPTION_BASE_API,
            Some(message.0),
            message.1,
        ));
    }
    let id = Uuid::new_v4();
    let external_key = input.external_key.clone().unwrap_or_else(|| id.to_string());
    let too_long = [Some(&external_key), input.bundle_external_key.as_ref()]
        .into_iter()
        .flatten()
        .any(|k| k.chars().count() > EXTERNAL_KEY_MAX);
    if too_long {
        return Err(KbError::value_too_long("EXTERNAL_KEY", EXTERNAL_KEY_MAX));
    }
    if db
        .subscription_keys
        .contains_key(&(tenant.id, external_key.clone()))
    {
        return Err(KbError::unique_violation(
            "SUBSCRIPTIONS_EXTERNAL_KEY",
            "SUBSCRIPTIONS",
            &external_key,
        ));
    }
    let bundle = bundle_for(
        &mut db,
        tenant.id,
        account_id,
        input.bundle_external_key.as_deref(),
        rename_unused,
        now,
    )?;
    // A bill-cycle day in the body is the subscription's own (a BCD_CHANGE event at creation):
    // it overrides the alignment. Otherwise, billing alignment ACCOUNT: the first recurring
    // subscription sets the account's bill-cycle day; a usage-only plan leaves it unset
    // (observed: `billCycleDayLocal: null`).
    let own_bcd = input
        .bill_cycle_day_local
        .and_then(|b| u32::try_from(b).ok())
        .filter(|b| (1..=31).contains(b));
    let bcd = match (
        plan.recurring,
        u32::try_from(account_bcd).ok().filter(|b| *b > 0),
    ) {
        (None, _) => own_bcd,
        (Some(_), Some(bcd)) => Some(own_bcd.unwrap_or(bcd)),
        // Kill Bill computes the account's bill-cycle day with the first invoice: at once for a
        // billing start now, at the billing start otherwise (see `invoices`).
        (Some(_), None) if billing_start > now => {
            Some(own_bcd.unwrap_or_else(|| billing_start.day()))
        }
        (Some(_), None) => {
            let day = own_bcd.unwrap_or_else(|| billing_start.day());
            if let Some(a) = db.account_mut(tenant.id, account_id) {
                a.data.bill_cycle_day_local = i32::try_from(day).unwrap_or(1);
            }
            Some(day)
        }
    };
    let sub = Subscription {
        id,
        tenant: tenant.id,
        account_id,
        bundle_id: bundle.id,
        external_key: external_key.clone(),
        entitlement_start,
        billing_start,
        migrated,
        bcd,
        reference_tod: tod,
        quantity: input.quantity.unwrap_or(1),
        catalog: tenant_catalog.unwrap_or_else(|| sim.default_catalog.clone()),
        plans: vec![PlanSegment {
            effective: entitlement_start,
            plan: plan.name.to_owned(),
            event_id: Uuid::new_v4(),
        }],
        cancellation: None,
        start_entitlement_event_id: Uuid::new_v4(),
        start_billing_event_id: Uuid::new_v4(),
    };
    db.account_bundles
        .entry(account_id)
        .or_default()
        .push(bundle.id);
    db.bundle_subscriptions
        .entry(bundle.id)
        .or_default()
        .push(id);
    db.bundles.insert(bundle.id, bundle);
    db.subscription_keys.insert((tenant.id, external_key), id);
    db.subscriptions.insert(id, sub);
    Ok(created(&headers, &format!("/1.0/kb/subscriptions/{id}")))
}

fn render(db: &Db, sub: &Subscription, now: DateTime<Utc>) -> Response {
    let bundle_key = db
        .bundles
        .get(&sub.bundle_id)
        .map(|b| b.external_key.clone())
        .unwrap_or_default();
    let account = AccountView::of(db.accounts.get(&sub.account_id));
    json(&subscription_json(sub, &bundle_key, &account, now))
}

/// `GET /1.0/kb/subscriptions/{subscriptionId}`: 200, or 404. The notes say code 1082, but
/// the id goes through the same tenant-context lookup that answers `ObjectDoesNotExist` (code
/// null) for an unknown account id on the real server, so that is what this answers.
pub(crate) async fn get(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let now = sim.clock.now();
    let db = sim.db();
    let sub = db
        .subscription(tenant.id, id)
        .ok_or_else(|| KbError::object_does_not_exist(id, "SUBSCRIPTION"))?;
    Ok(render(&db, sub, now))
}

/// `GET /1.0/kb/subscriptions?externalKey=`: 200, or 404 with code 1083.
pub(crate) async fn get_by_key(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let params = Params::parse(query.as_deref());
    let key = params.get("externalKey").unwrap_or("null").to_owned();
    let now = sim.clock.now();
    let db = sim.db();
    let sub = db
        .subscription_keys
        .get(&(tenant.id, key.clone()))
        .and_then(|id| db.subscription(tenant.id, *id))
        .ok_or_else(|| {
            KbError::json(
                StatusCode::NOT_FOUND,
                SUBSCRIPTION_API,
                Some(1083),
                format!("Unknown subscription matching key {key}"),
            )
        })?;
    Ok(render(&db, sub, now))
}

/// `GET /1.0/kb/accounts/{accountId}/bundles?externalKey=&bundlesFilter=`: BundleJson[], with
/// cancelled subscriptions included.
pub(crate) async fn account_bundles(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let params = Params::parse(query.as_deref());
    let now = sim.clock.now();
    let db = sim.db();
    if db.account(tenant.id, id).is_none() {
        return Err(KbError::object_does_not_exist(id, "ACCOUNT"));
    }
    let key = params.get("externalKey");
    let filter: Vec<&str> = params
        .get("bundlesFilter")
        .filter(|f| !f.is_empty())
        .map(|f| f.split(',').collect())
        .unwrap_or_default();
    let out: Vec<BundleOut> = db
        .bundles_of_account(id)
        .into_iter()
        .filter(|b| key.is_none_or(|k| b.external_key == k))
        .filter(|b| filter.is_empty() || filter.contains(&b.id.to_string().as_str()))
        .map(|b| bundle_json(&db, b, now))
        .collect();
    Ok(json(&out))
}

/// `GET /1.0/kb/bundles?externalKey=&includedDeleted=`: BundleJson[] with the bundle holding
/// the key (or, with `includedDeleted=true`, also the ones renamed `kbcncl-<n>:<key>` when the
/// key was reused); 404 with code 1084 when no bundle has it.
pub(crate) async fn bundles_by_key(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let params = Params::parse(query.as_deref());
    let key = params.get("externalKey").unwrap_or("null").to_owned();
    let included_deleted = params.bool_or("includedDeleted", false);
    let now = sim.clock.now();
    let db = sim.db();
    let renamed_suffix = format!(":{key}");
    let mut bundles: Vec<&Bundle> = db
        .bundles
        .values()
        .filter(|b| b.tenant == tenant.id)
        .filter(|b| {
            b.external_key == key
                || (included_deleted
                    && b.external_key.starts_with("kbcncl-")
                    && b.external_key.ends_with(&renamed_suffix))
        })
        .collect();
    bundles.sort_by_key(|b| b.record_id);
    if bundles.is_empty() {
        return Err(KbError::json(
            StatusCode::NOT_FOUND,
            SUBSCRIPTION_API,
            Some(1084),
            format!("Could not find a bundle matching key {key}"),
        ));
    }
    let out: Vec<BundleOut> = bundles
        .into_iter()
        .map(|b| bundle_json(&db, b, now))
        .collect();
    Ok(json(&out))
}
