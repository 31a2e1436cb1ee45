//! A tenant's catalog (`StandaloneCatalog`, one version): products, plans with one EVERGREEN
//! phase, units and in-arrear usage sections, translated from a [`crate::Catalog`] (the sample
//! by default: the same plans and units as `scripts/killbill/catalog.xml`, uploaded to the real
//! test server) or read from Kill Bill's own XML (`catalog_xml`); plan lookups with
//! Kill Bill's catalog error codes.
//!
//! From a catalog file: each metric is a unit (its code the `unitType` clients send), each plan
//! a product (BASE, one per product name) and a plan whose EVERGREEN phase has the base fee as
//! its MONTHLY recurring price (none when `amount_cents` is 0: a usage-only plan) and one usage
//! section per charge, named `<plan>-<metric with - for _>`: a `sum` metric is CONSUMABLE (one
//! tier of blocks of size 1 at the unit price), a `max` metric is CAPACITY (one unlimited tier
//! whose recurring price is the unit price), as Kill Bill's invoicing aggregates usage records
//! either by summing or by taking the largest ([`UsageType`]). Kill Bill has no count, unique
//! count, latest or weighted sum, and the simulator bills monthly periods only.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::catalog::{Aggregation, Catalog as NeutralCatalog, CatalogError, Interval, Vendor};
use crate::iso::exponent;

/// The only price list.
pub(crate) const PRICE_LIST: &str = "DEFAULT";

/// The sample catalog version's `effectiveDate`, also that of catalogs read from files.
pub(crate) fn default_effective_date() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// How a usage section aggregates the records of a billing period
/// (`ContiguousIntervalUsageInArrear.computeUpdatedAmount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UsageType {
    /// The sum of the amounts.
    Consumable,
    /// The largest amount (never below 0).
    Capacity,
}

impl UsageType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Consumable => "CONSUMABLE",
            Self::Capacity => "CAPACITY",
        }
    }

    /// What invoicing bills for one unit over a period whose records are `amounts`, in
    /// record order: CONSUMABLE adds them up from 0, CAPACITY keeps the largest, from 0.
    pub(crate) fn aggregate(self, amounts: impl IntoIterator<Item = Decimal>) -> Decimal {
        amounts
            .into_iter()
            .fold(Decimal::ZERO, |acc, amount| match self {
                Self::Consumable => acc.checked_add(amount).unwrap_or(acc),
                Self::Capacity => acc.max(amount),
            })
    }
}

/// An in-arrear usage section of one unit, with one unlimited tier: CONSUMABLE blocks of size
/// 1 priced `price` each, or a CAPACITY tier whose recurring price is `price`.
#[derive(Debug, Clone)]
pub(crate) struct UsageDef {
    /// Usage section name.
    pub(crate) name: String,
    /// Unit name.
    pub(crate) unit: String,
    /// Price of one block (CONSUMABLE) or of the tier (CAPACITY).
    pub(crate) price: Decimal,
    /// CONSUMABLE or CAPACITY.
    pub(crate) usage_type: UsageType,
    /// `ALL_TIERS` or `TOP_TIER`.
    pub(crate) tier_block_policy: String,
}

impl UsageDef {
    /// The amount of a period whose aggregated quantity is `quantity` (above 0): CONSUMABLE
    /// blocks of size 1 at `price` each, or the CAPACITY tier's recurring price
    /// (`computeToBeBilledCapacityInArrear`: the first tier whose limits the quantity fits,
    /// here the only, unlimited one).
    pub(crate) fn billed(&self, quantity: Decimal) -> Decimal {
        match self.usage_type {
            UsageType::Consumable => quantity.checked_mul(self.price).unwrap_or(Decimal::MAX),
            UsageType::Capacity => self.price,
        }
    }
}

/// A plan with a single EVERGREEN phase.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) name: String,
    pub(crate) product: String,
    /// Monthly recurring price, in advance; `None` for a usage-only plan.
    pub(crate) recurring: Option<Decimal>,
    pub(crate) usages: Vec<UsageDef>,
}

impl Plan {
    /// The product category (every product of a catalog file is BASE).
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

/// One tenant's catalog.
#[derive(Debug, Clone)]
pub(crate) struct KbCatalog {
    /// `catalogName`.
    pub(crate) name: String,
    /// The version's `effectiveDate`.
    pub(crate) effective_date: DateTime<Utc>,
    /// The catalog's currency (the first of `<currencies>`).
    pub(crate) currency: String,
    /// Unit names (the usage `unitType` strings).
    pub(crate) units: Vec<String>,
    /// Product names, in catalog order.
    pub(crate) products: Vec<String>,
    pub(crate) plans: Vec<Plan>,
    /// The version this one followed (an upload adds a version; plans of older versions stay
    /// reachable for the subscriptions on them).
    pub(crate) previous: Option<Arc<KbCatalog>>,
}

/// A catalog lookup failure: Kill Bill error code and message.
#[derive(Debug, Clone)]
pub(crate) struct CatalogMiss {
    pub(crate) code: i32,
    pub(crate) message: String,
}

fn unsupported(message: String) -> CatalogError {
    CatalogError::unsupported(Vendor::Killbill, message)
}

impl KbCatalog {
    /// Kill Bill's part of `catalog` (see the module docs).
    ///
    /// # Errors
    /// [`CatalogError::Unsupported`] for a metric other than sum or max, a plan that is not
    /// monthly, or plans of different currencies.
    pub(crate) fn from_catalog(catalog: &NeutralCatalog) -> Result<Arc<Self>, CatalogError> {
        let catalog = catalog.for_vendor(Vendor::Killbill);
        let mut out = KbCatalog {
            name: catalog.name.clone(),
            effective_date: default_effective_date(),
            currency: catalog
                .plans
                .first()
                .map_or_else(|| "USD".to_owned(), |p| p.currency.clone()),
            units: Vec::new(),
            products: Vec::new(),
            plans: Vec::new(),
            previous: None,
        };
        for m in &catalog.metrics {
            if !matches!(m.aggregation, Aggregation::Sum | Aggregation::Max) {
                return Err(unsupported(format!(
                    "metric `{}`: Kill Bill has no {} (its usage is CONSUMABLE, summed, or CAPACITY, the largest: use sum or max)",
                    m.code,
                    m.aggregation.as_str()
                )));
            }
            out.units.push(m.code.clone());
        }
        for p in &catalog.plans {
            if p.interval != Interval::Monthly {
                return Err(unsupported(format!(
                    "plan `{}`: the Kill Bill simulator bills monthly plans only, not {}",
                    p.code,
                    p.interval.as_str()
                )));
            }
            if p.currency != out.currency {
                return Err(unsupported(format!(
                    "plan `{}`: every plan of a Kill Bill catalog file is priced in {}, not {}",
                    p.code, out.currency, p.currency
                )));
            }
            let product = p.product_name().to_owned();
            if !out.products.contains(&product) {
                out.products.push(product.clone());
            }
            let usages = p
                .charges
                .iter()
                .map(|c| {
                    let capacity = catalog
                        .metric(&c.metric)
                        .is_some_and(|m| m.aggregation == Aggregation::Max);
                    UsageDef {
                        name: format!("{}-{}", p.code, c.metric.replace('_', "-")),
                        unit: c.metric.clone(),
                        price: c.unit_price,
                        usage_type: if capacity {
                            UsageType::Capacity
                        } else {
                            UsageType::Consumable
                        },
                        tier_block_policy: "ALL_TIERS".to_owned(),
                    }
                })
                .collect();
            out.plans.push(Plan {
                name: p.code.clone(),
                product,
                recurring: (p.amount_cents > 0)
                    .then(|| Decimal::new(p.amount_cents, exponent(&p.currency))),
                usages,
            });
        }
        Ok(Arc::new(out))
    }

    /// A plan by name, in this version or else an older one.
    pub(crate) fn plan(&self, name: &str) -> Option<&Plan> {
        self.plans
            .iter()
            .find(|p| p.name == name)
            .or_else(|| self.previous.as_deref().and_then(|v| v.plan(name)))
    }

    /// Every version, oldest first.
    pub(crate) fn versions(&self) -> Vec<&KbCatalog> {
        let mut out = self
            .previous
            .as_deref()
            .map(KbCatalog::versions)
            .unwrap_or_default();
        out.push(self);
        out
    }

    /// The plan named `name`, or a synthetic empty plan if the catalog no longer has it.
    pub(crate) fn plan_named(&self, name: &str) -> Plan {
        self.plan(name).cloned().unwrap_or(Plan {
            name: String::new(),
            product: String::new(),
            recurring: None,
            usages: Vec::new(),
        })
    }
}

/// A plan by name in the tenant's catalog (`CAT_NO_SUCH_PLAN` 2021 when absent, or when the
/// tenant has no catalog).
pub(crate) fn find_plan(catalog: Option<&KbCatalog>, name: &str) -> Result<Plan, CatalogMiss> {
    catalog
        .and_then(|c| c.plan(name))
        .cloned()
        .ok_or_else(|| CatalogMiss {
            code: 2021,
            message: format!("Could not find any plans named '{name}'"),
        })
}

/// A plan by product, billing period and price list (`CAT_NO_SUCH_PRODUCT` 2030,
/// `CAT_PRICE_LIST_NOT_FOUND` 2013 or `CAT_PLAN_NOT_FOUND` 2020).
pub(crate) fn find_plan_by_spec(
    catalog: Option<&KbCatalog>,
    product: &str,
    billing_period: &str,
    price_list: &str,
) -> Result<Plan, CatalogMiss> {
    let Some(catalog) = catalog.filter(|c| c.products.iter().any(|p| p == product)) else {
        return Err(CatalogMiss {
            code: 2030,
            message: format!("Could not find any product named '{product}'"),
        });
    };
    if price_list != PRICE_LIST {
        return Err(CatalogMiss {
            code: 2013,
            message: format!("Could not find a pricelist with name '{price_list}'"),
        });
    }
    catalog
        .plans
        .iter()
        .find(|p| p.product == product && p.billing_period() == billing_period)
        .cloned()
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

    fn sample() -> Arc<KbCatalog> {
        KbCatalog::from_catalog(&NeutralCatalog::sample()).unwrap()
    }

    #[test]
    fn the_sample_is_the_uploaded_catalog() {
        let c = sample();
        assert_eq!(c.name, "BillingConformance");
        assert_eq!(c.units, ["api_calls", "storage_gb"]);
        assert_eq!(c.products, ["Starter", "Pro", "Free"]);
        let starter = c.plan("starter-monthly").unwrap();
        assert_eq!(starter.recurring, Some(Decimal::new(1000, 2)));
        assert_eq!(starter.usages[0].name, "starter-monthly-api-calls");
        assert_eq!(starter.usages[1].price.to_string(), "0.10");
        assert_eq!(c.plan("free-usage").unwrap().recurring, None);
    }

    #[test]
    fn lookups() {
        let c = sample();
        let c = Some(&*c);
        assert_eq!(find_plan(c, "pro-monthly").unwrap().product, "Pro");
        assert_eq!(find_plan(c, "nope").unwrap_err().code, 2021);
        assert_eq!(find_plan(None, "pro-monthly").unwrap_err().code, 2021);
        assert_eq!(
            find_plan_by_spec(c, "Starter", "MONTHLY", "DEFAULT")
                .unwrap()
                .name,
            "starter-monthly"
        );
        assert_eq!(
            find_plan_by_spec(c, "Starter", "ANNUAL", "DEFAULT")
                .unwrap_err()
                .code,
            2020
        );
        assert_eq!(
            find_plan_by_spec(c, "Starter", "MONTHLY", "OTHER")
                .unwrap_err()
                .code,
            2013
        );
        assert_eq!(
            find_plan_by_spec(c, "Free", "NO_BILLING_PERIOD", "DEFAULT")
                .unwrap()
                .usages
                .len(),
            2
        );
    }

    #[test]
    fn usage_types_aggregate_like_invoicing() {
        let amounts = || [3, 9, -20, 4].map(Decimal::from);
        assert_eq!(
            UsageType::Consumable.aggregate(amounts()),
            Decimal::from(-4)
        );
        assert_eq!(UsageType::Capacity.aggregate(amounts()), Decimal::from(9));
        assert_eq!(
            UsageType::Capacity.aggregate([Decimal::from(-2)]),
            Decimal::ZERO
        );
    }

    #[test]
    fn what_kill_bill_cannot_express_is_refused() {
        for (aggregation, interval) in [
            ("count", "monthly"),
            ("unique_count", "monthly"),
            ("latest", "monthly"),
            ("weighted_sum", "monthly"),
            ("sum", "yearly"),
        ] {
            let text = format!(
                "[[metrics]]\ncode = \"m\"\naggregation = \"{aggregation}\"\nfield = \"v\"\n\
                 [[plans]]\ncode = \"p\"\ninterval = \"{interval}\"\ncurrency = \"USD\"\n"
            );
            let neutral = NeutralCatalog::from_toml_str(&text).unwrap();
            assert!(
                matches!(
                    KbCatalog::from_catalog(&neutral),
                    Err(CatalogError::Unsupported { .. })
                ),
                "{aggregation} {interval}"
            );
        }
    }
}
