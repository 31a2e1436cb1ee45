//! Plans and metrics, as the in-memory backend needs them, and the sample catalog that the
//! quickstart, the conformance suite and every simulator are seeded with.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::key::{MetricCode, PlanCode};
use crate::money::{Currency, Money};
use crate::subscription::BillingInterval;

/// A usage metric. Quantities of its events are summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    /// Its code.
    pub code: MetricCode,
    /// Display name.
    pub name: String,
}

/// A usage charge of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// The metered metric.
    pub metric: MetricCode,
    /// Price of one unit, in major units of the plan's currency (may be finer than a cent).
    pub unit_price: Decimal,
}

/// A plan: a recurring base fee plus usage charges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Its code.
    pub code: PlanCode,
    /// Display name.
    pub name: String,
    /// Billing interval.
    pub interval: BillingInterval,
    /// Recurring base fee per interval.
    pub base_fee: Money,
    /// Usage charges.
    pub charges: Vec<Charge>,
}

impl Plan {
    /// The charge for `metric`, if the plan meters it.
    pub fn charge(&self, metric: &MetricCode) -> Option<&Charge> {
        self.charges.iter().find(|c| &c.metric == metric)
    }
}

/// A set of plans and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    plans: BTreeMap<PlanCode, Plan>,
    metrics: BTreeMap<MetricCode, Metric>,
}

/// Codes of the sample catalog, shared by the quickstart, the conformance suite and the
/// simulators' seed data.
pub mod sample {
    /// A $10/month plan metering `api_calls` ($0.01) and `storage_gb` ($0.10).
    pub const STARTER: &str = "starter-monthly";
    /// A $50/month plan with the same usage charges.
    pub const PRO: &str = "pro-monthly";
    /// Metric: API calls (summed).
    pub const API_CALLS: &str = "api_calls";
    /// Metric: storage in GB (summed).
    pub const STORAGE_GB: &str = "storage_gb";
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a metric.
    pub fn with_metric(mut self, metric: Metric) -> Self {
        self.metrics.insert(metric.code.clone(), metric);
        self
    }

    /// Adds a plan.
    ///
    /// # Errors
    /// `InvalidInput` if the plan charges a metric the catalog does not have.
    pub fn with_plan(mut self, plan: Plan) -> Result<Self> {
        if let Some(c) = plan
            .charges
            .iter()
            .find(|c| !self.metrics.contains_key(&c.metric))
        {
            return Err(Error::invalid_input(format!(
                "plan {} charges unknown metric {}",
                plan.code, c.metric
            )));
        }
        self.plans.insert(plan.code.clone(), plan);
        Ok(self)
    }

    /// A plan by code.
    pub fn plan(&self, code: &PlanCode) -> Option<&Plan> {
        self.plans.get(code)
    }

    /// A metric by code.
    pub fn metric(&self, code: &MetricCode) -> Option<&Metric> {
        self.metrics.get(code)
    }

    /// All plans.
    pub fn plans(&self) -> impl Iterator<Item = &Plan> {
        self.plans.values()
    }

    /// All metrics.
    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        self.metrics.values()
    }

    /// The sample catalog (see [`sample`]): USD, monthly, two plans, two metrics.
    pub fn sample() -> Self {
        let code = |s: &str| PlanCode::new(s);
        let metric = |s: &str| MetricCode::new(s);
        let build = || -> Result<Self> {
            let charges = vec![
                Charge {
                    metric: metric(sample::API_CALLS)?,
                    unit_price: Decimal::new(1, 2),
                },
                Charge {
                    metric: metric(sample::STORAGE_GB)?,
                    unit_price: Decimal::new(10, 2),
                },
            ];
            Catalog::new()
                .with_metric(Metric {
                    code: metric(sample::API_CALLS)?,
                    name: "API calls".into(),
                })
                .with_metric(Metric {
                    code: metric(sample::STORAGE_GB)?,
                    name: "Storage (GB)".into(),
                })
                .with_plan(Plan {
                    code: code(sample::STARTER)?,
                    name: "Starter".into(),
                    interval: BillingInterval::Monthly,
                    base_fee: Money::from_minor(1000, Currency::USD),
                    charges: charges.clone(),
                })?
                .with_plan(Plan {
                    code: code(sample::PRO)?,
                    name: "Pro".into(),
                    interval: BillingInterval::Monthly,
                    base_fee: Money::from_minor(5000, Currency::USD),
                    charges,
                })
        };
        // The sample's codes are constants that pass validation; an error here is a bug caught
        // by this module's tests.
        build().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_catalog_is_complete() {
        let c = Catalog::sample();
        assert_eq!(c.plans().count(), 2);
        assert_eq!(c.metrics().count(), 2);
        let pro = c.plan(&PlanCode::new(sample::PRO).unwrap()).unwrap();
        assert_eq!(pro.base_fee.minor, 5000);
        assert!(
            pro.charge(&MetricCode::new(sample::API_CALLS).unwrap())
                .is_some()
        );
    }

    #[test]
    fn plans_must_reference_known_metrics() {
        let plan = Plan {
            code: PlanCode::new("p").unwrap(),
            name: "P".into(),
            interval: BillingInterval::Monthly,
            base_fee: Money::from_minor(0, Currency::USD),
            charges: vec![Charge {
                metric: MetricCode::new("nope").unwrap(),
                unit_price: Decimal::ONE,
            }],
        };
        assert!(Catalog::new().with_plan(plan).is_err());
    }
}
