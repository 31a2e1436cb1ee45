//! `CatalogResource`: the tenant's catalog as JSON (a list with one entry per version, a subset
//! of CatalogJson's shape with plans, phases, prices and usages) when the client sends
//! `Accept: application/json`, as XML otherwise (observed), its version dates, and uploads of
//! a new version as Kill Bill's XML (`POST /1.0/kb/catalog/xml`, see `catalog_xml` for what
//! is simulated).

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use std::sync::Arc;

use axum::body::Bytes;
use rust_decimal::Decimal;

use super::auth::{TenantCtx, created_by};
use super::catalog::{KbCatalog, PRICE_LIST, Plan, UsageDef, UsageType};
use super::catalog_xml::{self, XmlError};
use super::errors::{CATALOG_API, KbError, KbResult};
use super::reply::{created, json};
use super::state::Sim;
use super::time::{fmt_datetime, fmt_java_date};
use super::wire::Num;

#[derive(Debug, Serialize)]
struct PriceOut {
    currency: String,
    value: Num,
}

#[derive(Debug, Serialize)]
struct DurationOut {
    unit: String,
    number: i32,
}

#[derive(Debug, Serialize)]
struct TieredBlockOut {
    unit: String,
    size: String,
    max: String,
    prices: Vec<PriceOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TierOut {
    limits: Vec<serde_json::Value>,
    fixed_price: Vec<PriceOut>,
    recurring_price: Vec<PriceOut>,
    blocks: Vec<TieredBlockOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageOut {
    billing_period: String,
    tiers: Vec<TierOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhaseOut {
    #[serde(rename = "type")]
    kind: String,
    prices: Vec<PriceOut>,
    fixed_prices: Vec<PriceOut>,
    duration: DurationOut,
    usages: Vec<UsageOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanOut {
    name: String,
    pretty_name: String,
    recurring_billing_mode: String,
    billing_period: String,
    phases: Vec<PhaseOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProductOut {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    pretty_name: String,
    plans: Vec<PlanOut>,
    included: Vec<String>,
    available: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitOut {
    name: String,
    pretty_name: String,
}

#[derive(Debug, Serialize)]
struct PriceListOut {
    name: String,
    plans: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CatalogOut {
    name: String,
    effective_date: String,
    currencies: Vec<String>,
    units: Vec<UnitOut>,
    products: Vec<ProductOut>,
    price_lists: Vec<PriceListOut>,
}

fn price(catalog: &KbCatalog, value: Decimal) -> PriceOut {
    PriceOut {
        currency: catalog.currency.clone(),
        value: Num(value),
    }
}

fn usage_json(catalog: &KbCatalog, u: &UsageDef) -> UsageOut {
    let tier = match u.usage_type {
        UsageType::Consumable => TierOut {
            limits: Vec::new(),
            fixed_price: Vec::new(),
            recurring_price: Vec::new(),
            blocks: vec![TieredBlockOut {
                unit: u.unit.clone(),
                size: "1".to_owned(),
                max: "-1".to_owned(),
                prices: vec![price(catalog, u.price)],
            }],
        },
        UsageType::Capacity => TierOut {
            limits: vec![serde_json::json!({"unit": u.unit, "max": "-1", "min": null})],
            fixed_price: Vec::new(),
            recurring_price: vec![price(catalog, u.price)],
            blocks: Vec::new(),
        },
    };
    UsageOut {
        billing_period: "MONTHLY".to_owned(),
        tiers: vec![tier],
    }
}

fn plan_json(catalog: &KbCatalog, plan: &Plan) -> PlanOut {
    PlanOut {
        name: plan.name.clone(),
        pretty_name: plan.name.clone(),
        recurring_billing_mode: "IN_ADVANCE".to_owned(),
        billing_period: plan.billing_period().to_owned(),
        phases: vec![PhaseOut {
            kind: "EVERGREEN".to_owned(),
            prices: plan
                .recurring
                .map(|value| price(catalog, value))
                .into_iter()
                .collect(),
            fixed_prices: Vec::new(),
            duration: DurationOut {
                unit: "UNLIMITED".to_owned(),
                number: -1,
            },
            usages: plan.usages.iter().map(|u| usage_json(catalog, u)).collect(),
        }],
    }
}

fn catalog_json(catalog: &KbCatalog) -> CatalogOut {
    CatalogOut {
        name: catalog.name.clone(),
        effective_date: fmt_java_date(catalog.effective_date),
        currencies: vec![catalog.currency.clone()],
        units: catalog
            .units
            .iter()
            .map(|u| UnitOut {
                name: u.clone(),
                pretty_name: u.clone(),
            })
            .collect(),
        products: catalog
            .products
            .iter()
            .map(|product| ProductOut {
                kind: "BASE".to_owned(),
                name: product.clone(),
                pretty_name: product.clone(),
                plans: catalog
                    .plans
                    .iter()
                    .filter(|p| &p.product == product)
                    .map(|p| plan_json(catalog, p))
                    .collect(),
                included: Vec::new(),
                available: Vec::new(),
            })
            .collect(),
        price_lists: vec![PriceListOut {
            name: PRICE_LIST.to_owned(),
            plans: catalog.plans.iter().map(|p| p.name.clone()).collect(),
        }],
    }
}

fn tenant_catalog(sim: &Sim, tenant: TenantCtx) -> Option<Arc<KbCatalog>> {
    sim.db().catalog_of(tenant.id)
}

/// Whether the request asks for JSON explicitly. `CatalogResource.getCatalogJson` and
/// `getCatalogXml` share the path; with no `Accept` header, or `*/*` as curl and most clients
/// send, Jersey picks the XML one (observed: `Content-Type: text/xml`).
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// The catalog as `getCatalogXml` writes it (versions, units, products and plan names; enough
/// to show a client that it asked for the wrong representation).
fn catalog_xml(catalog: Option<&KbCatalog>) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<catalogs>\n    <versions>\n",
    );
    for version in catalog.map(KbCatalog::versions).unwrap_or_default() {
        xml.push_str(&format!(
            "        <version>\n            <effectiveDate>{}</effectiveDate>\n            <catalogName>{}</catalogName>\n            <currencies>\n                <currency>{}</currency>\n            </currencies>\n            <units>\n",
            version.effective_date.format("%Y-%m-%dT%H:%M:%SZ"),
            escape(&version.name),
            version.currency
        ));
        for unit in &version.units {
            let unit = escape(unit);
            xml.push_str(&format!(
                "                <unit name=\"{unit}\" prettyName=\"{unit}\"/>\n"
            ));
        }
        xml.push_str("            </units>\n            <plans>\n");
        for plan in &version.plans {
            xml.push_str(&format!(
                "                <plan name=\"{0}\" prettyName=\"{0}\"><product>{1}</product></plan>\n",
                escape(&plan.name),
                escape(&plan.product)
            ));
        }
        xml.push_str("            </plans>\n        </version>\n");
    }
    xml.push_str("    </versions>\n</catalogs>\n");
    xml
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_response(catalog: Option<&KbCatalog>) -> Response {
    let mut resp = Response::new(axum::body::Body::from(catalog_xml(catalog)));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml"),
    );
    resp
}

/// `GET /1.0/kb/catalog`: CatalogJson[] (one per version; empty for a tenant without a
/// catalog) when the client accepts `application/json`, the XML form otherwise.
pub(crate) async fn get(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    headers: HeaderMap,
) -> Response {
    let catalog = tenant_catalog(&sim, tenant);
    if !wants_json(&headers) {
        return xml_response(catalog.as_deref());
    }
    let versions: Vec<CatalogOut> = catalog
        .as_deref()
        .map(KbCatalog::versions)
        .unwrap_or_default()
        .into_iter()
        .map(catalog_json)
        .collect();
    json(&versions)
}

/// `GET /1.0/kb/catalog/xml`: the XML form.
pub(crate) async fn get_xml(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
) -> Response {
    xml_response(tenant_catalog(&sim, tenant).as_deref())
}

/// `GET /1.0/kb/catalog/versions`: the effective dates (`[]` for a tenant whose only catalog
/// is Kill Bill's empty template).
pub(crate) async fn versions(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
) -> Response {
    let dates: Vec<String> = tenant_catalog(&sim, tenant)
        .as_deref()
        .map(KbCatalog::versions)
        .unwrap_or_default()
        .into_iter()
        .map(|v| fmt_datetime(v.effective_date))
        .collect();
    json(&dates)
}

/// `POST /1.0/kb/catalog/xml` (`Content-Type: text/xml`): 201 with `Location:
/// .../1.0/kb/catalog`. A catalog Kill Bill refuses (not XML, required parts missing, another
/// catalog name than the tenant's, an effective date not after its latest version's) is 400
/// `CAT_INVALID_FOR_TENANT` (2080), as `DefaultCatalogUserApi.uploadCatalog` answers; one the
/// simulator does not model is 501. The new version becomes the tenant's catalog, and its
/// subscriptions' (plans of older versions stay reachable).
pub(crate) async fn upload_xml(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> KbResult<Response> {
    let is_xml = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim();
            m.eq_ignore_ascii_case("text/xml") || m.eq_ignore_ascii_case("application/xml")
        });
    if !is_xml {
        return Err(KbError::Page {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: None,
        });
    }
    created_by(&headers)?;
    let mut db = sim.db();
    let record_id = db
        .tenants
        .iter()
        .position(|t| t.id == tenant.id)
        .map_or(0, |i| i + 1);
    let refused = || {
        KbError::json(
            StatusCode::BAD_REQUEST,
            CATALOG_API,
            Some(2080),
            format!("Invalid catalog for tenant : {record_id}"),
        )
    };
    let mut version = match catalog_xml::parse(&String::from_utf8_lossy(&body)) {
        Ok(v) => v,
        Err(XmlError::Invalid(_)) => return Err(refused()),
        Err(XmlError::Unsupported(message)) => {
            return Err(KbError::json(
                StatusCode::NOT_IMPLEMENTED,
                "java.lang.UnsupportedOperationException",
                None,
                format!("The Kill Bill simulator does not model this catalog: {message}"),
            ));
        }
    };
    if let Some(current) = db.catalog_of(tenant.id) {
        if current.name != version.name || version.effective_date <= current.effective_date {
            return Err(refused());
        }
        version.previous = Some(current);
    }
    let version = Arc::new(version);
    if let Some(t) = db.tenants.iter_mut().find(|t| t.id == tenant.id) {
        t.catalog = Some(version.clone());
    }
    for sub in db
        .subscriptions
        .values_mut()
        .filter(|s| s.tenant == tenant.id)
    {
        sub.catalog = version.clone();
    }
    Ok(created(&headers, "/1.0/kb/catalog"))
}
