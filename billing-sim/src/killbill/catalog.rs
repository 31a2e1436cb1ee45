//! The catalog the seeded tenant is given: the project's sample catalog (the same plans and
//! units as `scripts/killbill/catalog.xml`, uploaded to the real test server), and plan lookups
//! with Kill Bill's catalog error codes.

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

/// `catalogName` of the catalog.
pub(crate) const CATALOG_NAME: &str = "BillingConformance";
/// The only price list.
pub(crate) const PRICE_LIST: &str = "DEFAULT";
/// The catalog's currency.
pub(crate) const CURRENCY: &str = "USD";
/// Unit names (the usage `unitType` strings).
pub(crate) const UNITS: [&str; 2] = ["api_calls", "storage_gb"];

/// The catalog version's `effectiveDate`.
pub(crate) fn effective_date() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// An in-arrear consumable usage section with one unlimited tier of blocks of size 1.
#[derive(Debug, Clone)]
pub(crate) struct UsageDef {
    /// Usage section name.
    pub(crate) name: String,
    /// Unit name.
    pub(crate) unit: &'static str,
    /// Price of one unit.
    pub(crate) price: Decimal,
}

/// A plan with a single EVERGREEN phase.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) name: &'static str,
    pub(crate) product: &'static str,
    /// Monthly recurring price, in advance; `None` for a usage-only plan.
    pub(crate) recurring: Option<Decimal>,
    pub(crate) usages: Vec<UsageDef>,
}

impl Plan {
    /// The product category (every sample product is BASE).
    pub(crate) fn category(&self) -> &'static str {
        "BASE"
    }

    /// The plan's recurring billing period (`NO_BILLING_PERIOD` without a recurring price).
    pub(crate) fn billing_period(&self) -> &'static str {
        if self.recurring.is_some() {
            "MONTHLY"
        } else {
            "NO_BILLING_PERIOD"
        }
    }

    /// The name of its only phase.
    pub(crate) fn phase_name(&self) -> String {
        format!("{}-evergreen", self.name)
    }
}

fn plan(
    name: &'static str,
    product: &'static str,
    recurring: Option<Decimal>,
    unit_prices: [Decimal; 2],
) -> Plan {
    let usages = UNITS
        .iter()
        .zip(unit_prices)
        .map(|(unit, price)| UsageDef {
            name: format!("{name}-{}", unit.replace('_', "-")),
            unit,
            price,
        })
        .collect();
    Plan {
        name,
        product,
        recurring,
        usages,
    }
}

/// Every plan of the catalog.
pub(crate) fn plans() -> Vec<Plan> {
    let metered = [Decimal::new(1, 2), Decimal::new(10, 2)];
    vec![
        plan(
            "starter-monthly",
            "Starter",
            Some(Decimal::new(1000, 2)),
            metered,
        ),
        plan("pro-monthly", "Pro", Some(Decimal::new(5000, 2)), metered),
        plan(
            "free-usage",
            "Free",
            None,
            [Decimal::new(0, 2), Decimal::new(0, 2)],
        ),
    ]
}

/// Product names, in catalog order.
pub(crate) fn products() -> Vec<&'static str> {
    vec!["Starter", "Pro", "Free"]
}

/// A catalog lookup failure: Kill Bill error code and message.
#[derive(Debug, Clone)]
pub(crate) struct CatalogMiss {
    pub(crate) code: i32,
    pub(crate) message: String,
}

/// A plan by name (`CAT_NO_SUCH_PLAN` 2021 when absent).
pub(crate) fn find_plan(has_catalog: bool, name: &str) -> Result<Plan, CatalogMiss> {
    plans()
        .into_iter()
        .find(|p| has_catalog && p.name == name)
        .ok_or_else(|| CatalogMiss {
            code: 2021,
            message: format!("Could not find any plans named '{name}'"),
        })
}

/// A plan by product, billing period and price list (`CAT_NO_SUCH_PRODUCT` 2030,
/// `CAT_PRICE_LIST_NOT_FOUND` 2013 or `CAT_PLAN_NOT_FOUND` 2020).
pub(crate) fn find_plan_by_spec(
    has_catalog: bool,
    product: &str,
    billing_period: &str,
    price_list: &str,
) -> Result<Plan, CatalogMiss> {
    if !has_catalog || !products().contains(&product) {
        return Err(CatalogMiss {
            code: 2030,
            message: format!("Could not find any product named '{product}'"),
        });
    }
    if price_list != PRICE_LIST {
        return Err(CatalogMiss {
            code: 2013,
            message: format!("Could not find a pricelist with name '{price_list}'"),
        });
    }
    plans()
        .into_iter()
        .find(|p| p.product == product && p.billing_period() == billing_period)
        .ok_or_else(|| CatalogMiss {
            code: 2020,
            message: format!(
                "Could not find a plan matching spec: (plan: 'null', product: '{product}', billing period: '{billing_period}', pricelist '{price_list}')"
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(find_plan(true, "pro-monthly").unwrap().product, "Pro");
        assert_eq!(find_plan(true, "nope").unwrap_err().code, 2021);
        assert_eq!(find_plan(false, "pro-monthly").unwrap_err().code, 2021);
        assert_eq!(
            find_plan_by_spec(true, "Starter", "MONTHLY", "DEFAULT")
                .unwrap()
                .name,
            "starter-monthly"
        );
        assert_eq!(
            find_plan_by_spec(true, "Starter", "ANNUAL", "DEFAULT")
                .unwrap_err()
                .code,
            2020
        );
        assert_eq!(
            find_plan_by_spec(true, "Free", "NO_BILLING_PERIOD", "DEFAULT")
                .unwrap()
                .usages
                .len(),
            2
        );
    }
}
