//! `CatalogResource`: the catalog as JSON (a list with one entry per version, a subset of
//! CatalogJson's shape with plans, phases, prices and usages) when the client sends
//! `Accept: application/json`, as XML otherwise (observed), and its version dates. Uploading
//! XML is not simulated: the seeded tenant already has its catalog, and uploads answer 501.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::auth::TenantCtx;
use super::catalog::{self, Plan};
use super::errors::KbError;
use super::reply::json;
use super::state::Sim;
use super::time::{fmt_datetime, fmt_java_date};
use super::wire::Num;

#[derive(Debug, Serialize)]
struct PriceOut {
    currency: &'static str,
    value: Num,
}

#[derive(Debug, Serialize)]
struct DurationOut {
    unit: &'static str,
    number: i32,
}

#[derive(Debug, Serialize)]
struct TieredBlockOut {
    unit: &'static str,
    size: &'static str,
    max: &'static str,
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
    billing_period: &'static str,
    tiers: Vec<TierOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhaseOut {
    #[serde(rename = "type")]
    kind: &'static str,
    prices: Vec<PriceOut>,
    fixed_prices: Vec<PriceOut>,
    duration: DurationOut,
    usages: Vec<UsageOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanOut {
    name: &'static str,
    pretty_name: &'static str,
    recurring_billing_mode: &'static str,
    billing_period: &'static str,
    phases: Vec<PhaseOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProductOut {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    pretty_name: &'static str,
    plans: Vec<PlanOut>,
    included: Vec<String>,
    available: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitOut {
    name: &'static str,
    pretty_name: &'static str,
}

#[derive(Debug, Serialize)]
struct PriceListOut {
    name: &'static str,
    plans: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CatalogOut {
    name: &'static str,
    effective_date: String,
    currencies: Vec<&'static str>,
    units: Vec<UnitOut>,
    products: Vec<ProductOut>,
    price_lists: Vec<PriceListOut>,
}

fn plan_json(plan: &Plan) -> PlanOut {
    PlanOut {
        name: plan.name,
        pretty_name: plan.name,
        recurring_billing_mode: "IN_ADVANCE",
        billing_period: plan.billing_period(),
        phases: vec![PhaseOut {
            kind: "EVERGREEN",
            prices: plan
                .recurring
                .map(|value| PriceOut {
                    currency: catalog::CURRENCY,
                    value: Num(value),
                })
                .into_iter()
                .collect(),
            fixed_prices: Vec::new(),
            duration: DurationOut {
                unit: "UNLIMITED",
                number: -1,
            },
            usages: plan
                .usages
                .iter()
                .map(|u| UsageOut {
                    billing_period: "MONTHLY",
                    tiers: vec![TierOut {
                        limits: Vec::new(),
                        fixed_price: Vec::new(),
                        recurring_price: Vec::new(),
                        blocks: vec![TieredBlockOut {
                            unit: u.unit,
                            size: "1",
                            max: "-1",
                            prices: vec![PriceOut {
                                currency: catalog::CURRENCY,
                                value: Num(u.price),
                            }],
                        }],
                    }],
                })
                .collect(),
        }],
    }
}

fn catalog_json() -> CatalogOut {
    let plans = catalog::plans();
    CatalogOut {
        name: catalog::CATALOG_NAME,
        effective_date: fmt_java_date(catalog::effective_date()),
        currencies: vec![catalog::CURRENCY],
        units: catalog::UNITS
            .iter()
            .map(|u| UnitOut {
                name: u,
                pretty_name: u,
            })
            .collect(),
        products: catalog::products()
            .into_iter()
            .map(|product| ProductOut {
                kind: "BASE",
                name: product,
                pretty_name: product,
                plans: plans
                    .iter()
                    .filter(|p| p.product == product)
                    .map(plan_json)
                    .collect(),
                included: Vec::new(),
                available: Vec::new(),
            })
            .collect(),
        price_lists: vec![PriceListOut {
            name: catalog::PRICE_LIST,
            plans: plans.iter().map(|p| p.name).collect(),
        }],
    }
}

fn has_catalog(sim: &Sim, tenant: TenantCtx) -> bool {
    sim.db().tenant(tenant.id).is_some_and(|t| t.has_catalog)
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
fn catalog_xml(with_catalog: bool) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<catalogs>\n    <versions>\n",
    );
    if with_catalog {
        xml.push_str(&format!(
            "        <version>\n            <effectiveDate>{}</effectiveDate>\n            <catalogName>{}</catalogName>\n            <currencies>\n                <currency>{}</currency>\n            </currencies>\n            <units>\n",
            catalog::effective_date().format("%Y-%m-%dT%H:%M:%SZ"),
            catalog::CATALOG_NAME,
            catalog::CURRENCY
        ));
        for unit in catalog::UNITS {
            xml.push_str(&format!(
                "                <unit name=\"{unit}\" prettyName=\"{unit}\"/>\n"
            ));
        }
        xml.push_str("            </units>\n            <plans>\n");
        for plan in catalog::plans() {
            xml.push_str(&format!(
                "                <plan name=\"{0}\" prettyName=\"{0}\"><product>{1}</product></plan>\n",
                plan.name, plan.product
            ));
        }
        xml.push_str("            </plans>\n        </version>\n");
    }
    xml.push_str("    </versions>\n</catalogs>\n");
    xml
}

/// `GET /1.0/kb/catalog`: CatalogJson[] (empty for a tenant without a catalog) when the client
/// accepts `application/json`, the XML form otherwise.
pub(crate) async fn get(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    headers: HeaderMap,
) -> Response {
    let with_catalog = has_catalog(&sim, tenant);
    if !wants_json(&headers) {
        let mut resp = Response::new(axum::body::Body::from(catalog_xml(with_catalog)));
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/xml"),
        );
        return resp;
    }
    if with_catalog {
        json(&vec![catalog_json()])
    } else {
        json(&Vec::<CatalogOut>::new())
    }
}

/// `GET /1.0/kb/catalog/versions`: the effective dates (`[]` for a tenant whose only catalog
/// is Kill Bill's empty template).
pub(crate) async fn versions(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
) -> Response {
    let dates: Vec<String> = if has_catalog(&sim, tenant) {
        vec![fmt_datetime(catalog::effective_date())]
    } else {
        Vec::new()
    };
    json(&dates)
}

/// `POST /1.0/kb/catalog/xml` and `GET /1.0/kb/catalog/xml`: not simulated, 501.
pub(crate) async fn xml_unsupported() -> Response {
    KbError::json(
        StatusCode::NOT_IMPLEMENTED,
        "java.lang.UnsupportedOperationException",
        None,
        "The Kill Bill simulator does not support XML catalogs: the seeded tenant has the sample catalog",
    )
    .into_response()
}
