//! `CatalogResource`: the catalog as JSON (a list with one entry per version, a subset of
//! CatalogJson's shape with plans, phases, prices and usages) and its version dates. Uploading
//! XML is not simulated: the seeded tenant already has its catalog, and uploads answer 501.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
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

/// `GET /1.0/kb/catalog`: CatalogJson[] (empty for a tenant without a catalog).
pub(crate) async fn get(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
) -> Response {
    if has_catalog(&sim, tenant) {
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
