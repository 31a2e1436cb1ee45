//! The catalog: metrics, products, prices and subscription plans, translated from a
//! [`crate::catalog::Catalog`] (the sample by default).
//!
//! Real BillaBear creates metrics and plans only in its admin app, never through the API, so
//! the simulator starts with its catalog and keeps it. Each metric becomes a Metric (its
//! `field` the `aggregation_property` of max, latest and unique count metrics: BillaBear's
//! sum reads the event's `value`, and count counts event ids), each plan a product (one per
//! product name), a subscription plan and its prices: one `per_unit` usage price per charge
//! (`resettable`, the unit price in minor units, a whole number above 0), then a
//! `fixed_price` base price when `amount_cents` is above 0, all recurring on the plan's
//! schedule (weekly, monthly or yearly: BillaBear has no other). Ids are the catalog's
//! `billabear.*id` when given, otherwise UUIDs derived from the codes.
//!
//! The sample's ids are the constants below (valid UUIDv4 strings), so tests can address them
//! directly; an adapter should discover them through `GET /subscription/plans` like it would on
//! a real server.
//!
//! | Product | Plan (`code_name`) | Prices, in this order (the plan's price collection order) |
//! |---|---|---|
//! | Starter | `starter-monthly` | [`STARTER_API_CALLS_PRICE_ID`] usage, per_unit, 1 cent per `api_calls`, USD, month; [`STARTER_STORAGE_GB_PRICE_ID`] usage, per_unit, 10 cents per `storage_gb`, USD, month; [`STARTER_BASE_PRICE_ID`] fixed_price 1000 cents, USD, month |
//! | Pro | `pro-monthly` | [`PRO_API_CALLS_PRICE_ID`] (1 cent per `api_calls`), [`PRO_STORAGE_GB_PRICE_ID`] (10 cents per `storage_gb`), [`PRO_BASE_PRICE_ID`] fixed_price 5000 cents; all USD, month |
//!
//! Every price is recurring, `including_tax: true`, public. Usage prices are `resettable`.
//! `currency: "USD"` + `schedule: "month"` picks the FIRST matching price of the plan (as
//! `SubscriptionPlan::getPriceForCurrencyAndSchedule` does), i.e. the `api_calls` usage price.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::catalog::{
    Aggregation, Catalog as NeutralCatalog, CatalogError, Interval, Vendor, derived_id,
};
use crate::iso::exponent;

/// Id of the metric `api_calls` (name "API calls", aggregation `sum`).
pub const METRIC_API_CALLS_ID: &str = "5d0c8a52-3c1e-4f3a-9b7e-0a1d2c3b4e01";
/// Id of the metric `storage_gb` (name "Storage (GB)", aggregation `sum`).
pub const METRIC_STORAGE_GB_ID: &str = "5d0c8a52-3c1e-4f3a-9b7e-0a1d2c3b4e02";
/// Code of the metric counting API calls.
pub const METRIC_API_CALLS_CODE: &str = "api_calls";
/// Code of the metric measuring storage.
pub const METRIC_STORAGE_GB_CODE: &str = "storage_gb";
/// Id of the product "Starter".
pub const PRODUCT_STARTER_ID: &str = "7a41f0c6-8d2b-4c55-a1e3-6f9b2d0c1a01";
/// Id of the product "Pro".
pub const PRODUCT_PRO_ID: &str = "7a41f0c6-8d2b-4c55-a1e3-6f9b2d0c1a02";
/// Id of the plan `starter-monthly`.
pub const PLAN_STARTER_ID: &str = "3e9b6d14-2f7a-4b8c-8d5e-1c2a3b4d5e01";
/// Id of the plan `pro-monthly`.
pub const PLAN_PRO_ID: &str = "3e9b6d14-2f7a-4b8c-8d5e-1c2a3b4d5e02";
/// `code_name` of the Starter plan.
pub const PLAN_STARTER_CODE: &str = "starter-monthly";
/// `code_name` of the Pro plan.
pub const PLAN_PRO_CODE: &str = "pro-monthly";
/// Starter: usage price, 1 cent per `api_calls` unit (what USD + month selects).
pub const STARTER_API_CALLS_PRICE_ID: &str = "b2c4e6f8-1a3c-4e5f-9a7b-0c1d2e3f4a01";
/// Starter: usage price, 10 cents per `storage_gb` unit.
pub const STARTER_STORAGE_GB_PRICE_ID: &str = "b2c4e6f8-1a3c-4e5f-9a7b-0c1d2e3f4a02";
/// Starter: fixed monthly base price, 1000 cents.
pub const STARTER_BASE_PRICE_ID: &str = "b2c4e6f8-1a3c-4e5f-9a7b-0c1d2e3f4a03";
/// Pro: usage price, 1 cent per `api_calls` unit (what USD + month selects).
pub const PRO_API_CALLS_PRICE_ID: &str = "b2c4e6f8-1a3c-4e5f-9a7b-0c1d2e3f4a04";
/// Pro: usage price, 10 cents per `storage_gb` unit.
pub const PRO_STORAGE_GB_PRICE_ID: &str = "b2c4e6f8-1a3c-4e5f-9a7b-0c1d2e3f4a05";
/// Pro: fixed monthly base price, 5000 cents.
pub const PRO_BASE_PRICE_ID: &str = "b2c4e6f8-1a3c-4e5f-9a7b-0c1d2e3f4a06";
/// Id of the tax type both products use.
pub(crate) const TAX_TYPE_ID: &str = "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e01";

/// A usage metric.
#[derive(Debug, Clone)]
pub(crate) struct Metric {
    pub id: String,
    pub name: String,
    pub code: String,
    /// `count`, `sum`, `max`, `unique_count` or `latest`.
    pub aggregation_method: &'static str,
    /// The `properties` key max, latest and unique count read.
    pub aggregation_property: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A product.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub id: String,
    pub name: String,
}

/// A price of a product.
#[derive(Debug, Clone)]
pub(crate) struct Price {
    pub id: String,
    pub product_id: String,
    /// Minor units (per unit for per_unit prices).
    pub amount: i64,
    pub currency: String,
    /// `week`, `month` or `year`.
    pub schedule: &'static str,
    /// `fixed_price` or `per_unit` (not returned by the API, used in `display_value`).
    pub kind: &'static str,
    /// The metered metric's id, for usage prices.
    pub metric_id: Option<String>,
}

impl Price {
    /// Whether this is a usage price.
    pub fn is_usage(&self) -> bool {
        self.metric_id.is_some()
    }
}

/// A subscription plan.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub id: String,
    pub name: String,
    pub code_name: String,
    pub product_id: String,
    /// Price ids, in collection order.
    pub price_ids: Vec<String>,
}

/// The whole catalog.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub metrics: Vec<Metric>,
    pub products: Vec<Product>,
    pub prices: Vec<Price>,
    pub plans: Vec<Plan>,
}

fn unsupported(message: String) -> CatalogError {
    CatalogError::unsupported(Vendor::Billabear, message)
}

/// A configured id, lower-cased (BillaBear's ids are UUIDs), or one derived from `key`.
fn id_of(configured: Option<&String>, kind: &str, key: &str) -> Result<String, CatalogError> {
    match configured {
        None => Ok(derived_id(kind, key)),
        Some(id) => uuid::Uuid::parse_str(id)
            .map(|u| u.to_string())
            .map_err(|_| unsupported(format!("`{id}` is not a UUID"))),
    }
}

impl Catalog {
    /// BillaBear's part of `catalog`, created at `now`.
    ///
    /// # Errors
    /// [`CatalogError::Unsupported`] for a weighted sum metric, a quarterly or semiannual
    /// plan, a unit price that is not a whole number of minor units above 0, or ids that are
    /// not UUIDs or clash.
    pub fn from_catalog(
        catalog: &NeutralCatalog,
        now: DateTime<Utc>,
    ) -> Result<Self, CatalogError> {
        let catalog = catalog.for_vendor(Vendor::Billabear);
        let mut out = Catalog {
            metrics: Vec::new(),
            products: Vec::new(),
            prices: Vec::new(),
            plans: Vec::new(),
        };
        for m in &catalog.metrics {
            let (method, reads_property) = match m.aggregation {
                Aggregation::Count => ("count", false),
                Aggregation::Sum => ("sum", false),
                Aggregation::Max => ("max", true),
                Aggregation::UniqueCount => ("unique_count", true),
                Aggregation::Latest => ("latest", true),
                Aggregation::WeightedSum => {
                    return Err(unsupported(format!(
                        "metric `{}`: BillaBear has no weighted sum (count, sum, max, unique_count, latest)",
                        m.code
                    )));
                }
            };
            out.metrics.push(Metric {
                id: id_of(m.billabear.id.as_ref(), "billabear-metric", &m.code)?,
                name: m.display_name().to_owned(),
                code: m.code.clone(),
                aggregation_method: method,
                aggregation_property: m.field.clone().filter(|_| reads_property),
                created_at: now,
            });
        }
        for p in &catalog.plans {
            let schedule = match p.interval {
                Interval::Weekly => "week",
                Interval::Monthly => "month",
                Interval::Yearly => "year",
                other => {
                    return Err(unsupported(format!(
                        "plan `{}`: BillaBear prices are weekly, monthly or yearly, not {}",
                        p.code,
                        other.as_str()
                    )));
                }
            };
            let product = p.product_name();
            let product_id = id_of(
                p.billabear.product_id.as_ref(),
                "billabear-product",
                product,
            )?;
            match out.products.iter().find(|x| x.id == product_id) {
                Some(existing) if existing.name != product => {
                    return Err(unsupported(format!(
                        "plan `{}`: product id {product_id} is already product `{}`",
                        p.code, existing.name
                    )));
                }
                Some(_) => {}
                None => out.products.push(Product {
                    id: product_id.clone(),
                    name: product.to_owned(),
                }),
            }
            let minor = Decimal::from(10_i64.pow(exponent(&p.currency)));
            let mut price_ids = Vec::new();
            for c in &p.charges {
                let amount = c
                    .unit_price
                    .checked_mul(minor)
                    .filter(|a| a.fract().is_zero() && *a >= Decimal::ONE)
                    .and_then(|a| a.to_i64())
                    .ok_or_else(|| {
                        unsupported(format!(
                            "plan `{}`: the unit price of `{}` ({}) is not a whole number of minor units above 0",
                            p.code, c.metric, c.unit_price
                        ))
                    })?;
                let metric_id = out
                    .metrics
                    .iter()
                    .find(|m| m.code == c.metric)
                    .map(|m| m.id.clone());
                let id = id_of(
                    c.billabear.price_id.as_ref(),
                    "billabear-price",
                    &format!("{}/{}", p.code, c.metric),
                )?;
                price_ids.push(id.clone());
                out.prices.push(Price {
                    id,
                    product_id: product_id.clone(),
                    amount,
                    currency: p.currency.clone(),
                    schedule,
                    kind: "per_unit",
                    metric_id,
                });
            }
            if p.amount_cents > 0 {
                let id = id_of(
                    p.billabear.base_price_id.as_ref(),
                    "billabear-price",
                    &format!("{}/base", p.code),
                )?;
                price_ids.push(id.clone());
                out.prices.push(Price {
                    id,
                    product_id: product_id.clone(),
                    amount: p.amount_cents,
                    currency: p.currency.clone(),
                    schedule,
                    kind: "fixed_price",
                    metric_id: None,
                });
            }
            out.plans.push(Plan {
                id: id_of(p.billabear.id.as_ref(), "billabear-plan", &p.code)?,
                name: p.display_name().to_owned(),
                code_name: p.code.clone(),
                product_id,
                price_ids,
            });
        }
        let mut ids: Vec<&str> = out
            .metrics
            .iter()
            .map(|m| m.id.as_str())
            .chain(out.plans.iter().map(|p| p.id.as_str()))
            .chain(out.prices.iter().map(|p| p.id.as_str()))
            .collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(unsupported(format!("id {} is used twice", w[0])));
        }
        Ok(out)
    }

    /// A plan by (lower-case) id.
    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    /// A plan by `code_name` (exact, as `getByCodeName` does).
    pub fn plan_by_code(&self, code: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.code_name == code)
    }

    /// A price by (lower-case) id.
    pub fn price(&self, id: &str) -> Option<&Price> {
        self.prices.iter().find(|p| p.id == id)
    }

    /// A metric by id.
    pub fn metric(&self, id: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// A metric by code (exact).
    pub fn metric_by_code(&self, code: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.code == code)
    }

    /// A product by id.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// The plan's first price with this currency and schedule, compared case-insensitively.
    pub fn price_for(&self, plan: &Plan, currency: &str, schedule: &str) -> Option<&Price> {
        plan.price_ids
            .iter()
            .filter_map(|id| self.price(id))
            .find(|p| {
                p.currency.eq_ignore_ascii_case(currency)
                    && p.schedule.eq_ignore_ascii_case(schedule)
            })
    }
}
