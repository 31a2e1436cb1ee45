//! The seeded catalog: metrics, products, prices and subscription plans.
//!
//! Real BillaBear creates metrics and plans only in its admin app, never through the API, so
//! the simulator starts with a fixed catalog. Its ids are constants (valid UUIDv4 strings) so
//! tests can address them directly; an adapter should discover them through
//! `GET /subscription/plans` like it would on a real server.
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
    pub id: &'static str,
    pub name: &'static str,
    pub code: &'static str,
    pub aggregation_method: &'static str,
    pub created_at: DateTime<Utc>,
}

/// A product.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub id: &'static str,
    pub name: &'static str,
}

/// A price of a product.
#[derive(Debug, Clone)]
pub(crate) struct Price {
    pub id: &'static str,
    pub product_id: &'static str,
    /// Minor units (per unit for per_unit prices).
    pub amount: i64,
    pub currency: &'static str,
    pub schedule: &'static str,
    /// `fixed_price` or `per_unit` (not returned by the API, used in `display_value`).
    pub kind: &'static str,
    /// The metered metric's id, for usage prices.
    pub metric_id: Option<&'static str>,
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
    pub id: &'static str,
    pub name: &'static str,
    pub code_name: &'static str,
    pub product_id: &'static str,
    /// Price ids, in collection order.
    pub price_ids: Vec<&'static str>,
}

/// The whole catalog.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub metrics: Vec<Metric>,
    pub products: Vec<Product>,
    pub prices: Vec<Price>,
    pub plans: Vec<Plan>,
}

impl Catalog {
    /// The seed described in the module docs, created at `now`.
    pub fn seed(now: DateTime<Utc>) -> Self {
        let metrics = vec![
            Metric {
                id: METRIC_API_CALLS_ID,
                name: "API calls",
                code: METRIC_API_CALLS_CODE,
                aggregation_method: "sum",
                created_at: now,
            },
            Metric {
                id: METRIC_STORAGE_GB_ID,
                name: "Storage (GB)",
                code: METRIC_STORAGE_GB_CODE,
                aggregation_method: "sum",
                created_at: now,
            },
        ];
        let products = vec![
            Product {
                id: PRODUCT_STARTER_ID,
                name: "Starter",
            },
            Product {
                id: PRODUCT_PRO_ID,
                name: "Pro",
            },
        ];
        let usage = |id, product_id, amount, metric_id| Price {
            id,
            product_id,
            amount,
            currency: "USD",
            schedule: "month",
            kind: "per_unit",
            metric_id: Some(metric_id),
        };
        let base = |id, product_id, amount| Price {
            id,
            product_id,
            amount,
            currency: "USD",
            schedule: "month",
            kind: "fixed_price",
            metric_id: None,
        };
        let prices = vec![
            usage(
                STARTER_API_CALLS_PRICE_ID,
                PRODUCT_STARTER_ID,
                1,
                METRIC_API_CALLS_ID,
            ),
            usage(
                STARTER_STORAGE_GB_PRICE_ID,
                PRODUCT_STARTER_ID,
                10,
                METRIC_STORAGE_GB_ID,
            ),
            base(STARTER_BASE_PRICE_ID, PRODUCT_STARTER_ID, 1000),
            usage(
                PRO_API_CALLS_PRICE_ID,
                PRODUCT_PRO_ID,
                1,
                METRIC_API_CALLS_ID,
            ),
            usage(
                PRO_STORAGE_GB_PRICE_ID,
                PRODUCT_PRO_ID,
                10,
                METRIC_STORAGE_GB_ID,
            ),
            base(PRO_BASE_PRICE_ID, PRODUCT_PRO_ID, 5000),
        ];
        let plans = vec![
            Plan {
                id: PLAN_STARTER_ID,
                name: "Starter",
                code_name: PLAN_STARTER_CODE,
                product_id: PRODUCT_STARTER_ID,
                price_ids: vec![
                    STARTER_API_CALLS_PRICE_ID,
                    STARTER_STORAGE_GB_PRICE_ID,
                    STARTER_BASE_PRICE_ID,
                ],
            },
            Plan {
                id: PLAN_PRO_ID,
                name: "Pro",
                code_name: PLAN_PRO_CODE,
                product_id: PRODUCT_PRO_ID,
                price_ids: vec![
                    PRO_API_CALLS_PRICE_ID,
                    PRO_STORAGE_GB_PRICE_ID,
                    PRO_BASE_PRICE_ID,
                ],
            },
        ];
        Self {
            metrics,
            products,
            prices,
            plans,
        }
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
