//! Catalogs: the metrics and plans a simulator serves, in one vendor-neutral format that each
//! simulator translates into its vendor's own model (Lago billable metrics and plans with
//! standard charges; Kill Bill products, plans, units and usage sections; BillaBear metrics,
//! products, prices and plans).
//!
//! A catalog is read from TOML or JSON ([`Catalog::load`]); [`Catalog::sample`] is the
//! project's sample catalog (`billing-sim/catalogs/sample.toml`), the default of every
//! simulator. The format is documented in `billing-sim/README.md` ("Catalog files"):
//!
//! ```toml
//! name = "Acme"                      # optional; Kill Bill's catalogName
//!
//! [[metrics]]
//! code = "seats"                     # Lago code, Kill Bill unit, BillaBear code
//! aggregation = "unique_count"       # count | sum | max | unique_count | latest | weighted_sum
//! field = "user_id"                  # the event property it reads (not for count)
//!
//! [[plans]]
//! code = "team-monthly"
//! interval = "monthly"               # weekly | monthly | quarterly | semiannual | yearly
//! currency = "USD"
//! amount_cents = 2500                # the base fee per interval (0: usage only)
//! charges = [{ metric = "seats", unit_price = "4.00" }]
//! ```
//!
//! What a vendor cannot express is refused when its simulator loads the catalog
//! ([`CatalogError::Unsupported`]), never approximated: Kill Bill has no count, unique count,
//! latest or weighted sum (its usage is CONSUMABLE, summed, or CAPACITY, the maximum), and
//! BillaBear has no weighted sum. `vendors = [...]` on a metric or plan limits it to some
//! simulators, so one file can serve all three.

use std::path::Path;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The sample catalog's source.
const SAMPLE: &str = include_str!("../../catalogs/sample.toml");

/// A vendor whose simulator reads catalogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Lago.
    Lago,
    /// Kill Bill.
    Killbill,
    /// BillaBear.
    Billabear,
}

impl Vendor {
    /// The vendor's name as the binary's `--vendor` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Lago => "lago",
            Vendor::Killbill => "killbill",
            Vendor::Billabear => "billabear",
        }
    }
}

/// How a metric aggregates the events of a billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The number of events.
    Count,
    /// The sum of a numeric property (BillaBear: of the event's `value`).
    Sum,
    /// The largest value of a numeric property.
    Max,
    /// The number of distinct values of a property.
    UniqueCount,
    /// The value of the property in the most recent event.
    Latest,
    /// The time-weighted sum of a property's running total over the period (Lago).
    WeightedSum,
}

impl Aggregation {
    /// The name used in catalog files.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Count => "count",
            Aggregation::Sum => "sum",
            Aggregation::Max => "max",
            Aggregation::UniqueCount => "unique_count",
            Aggregation::Latest => "latest",
            Aggregation::WeightedSum => "weighted_sum",
        }
    }
}

/// A plan's billing interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// Every week.
    Weekly,
    /// Every month (the default).
    #[default]
    Monthly,
    /// Every three months.
    Quarterly,
    /// Every six months.
    Semiannual,
    /// Every year.
    Yearly,
}

impl Interval {
    /// The name used in catalog files.
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Weekly => "weekly",
            Interval::Monthly => "monthly",
            Interval::Quarterly => "quarterly",
            Interval::Semiannual => "semiannual",
            Interval::Yearly => "yearly",
        }
    }
}

/// Lago-only settings of a metric.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LagoMetric {
    /// A recurring metric keeps its value across billing periods (sum, unique count and
    /// weighted sum only).
    #[serde(default)]
    pub recurring: bool,
}

/// BillaBear-only settings of a metric.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillaBearMetric {
    /// The metric's UUID (default: derived from its code).
    #[serde(default)]
    pub id: Option<String>,
}

/// A billable metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// The metric's code: what usage events name (Lago `code`, Kill Bill `unitType`, BillaBear
    /// `code`).
    pub code: String,
    /// A display name (default: the code).
    #[serde(default)]
    pub name: Option<String>,
    /// How events are aggregated.
    pub aggregation: Aggregation,
    /// The event property aggregated; required for every aggregation but `count`. BillaBear
    /// sums the event's `value` whatever the field.
    #[serde(default)]
    pub field: Option<String>,
    /// Only these vendors' simulators get this metric (default: all).
    #[serde(default)]
    pub vendors: Option<Vec<Vendor>>,
    /// Lago-only settings.
    #[serde(default)]
    pub lago: LagoMetric,
    /// BillaBear-only settings.
    #[serde(default)]
    pub billabear: BillaBearMetric,
}

impl Metric {
    /// The display name.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.code)
    }
}

/// BillaBear-only settings of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillaBearPlan {
    /// The subscription plan's UUID (default: derived from its code).
    #[serde(default)]
    pub id: Option<String>,
    /// The product's UUID (default: derived from the product name).
    #[serde(default)]
    pub product_id: Option<String>,
    /// The base fee's price UUID (default: derived from the plan code).
    #[serde(default)]
    pub base_price_id: Option<String>,
}

/// BillaBear-only settings of a charge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillaBearCharge {
    /// The usage price's UUID (default: derived from the plan and metric codes).
    #[serde(default)]
    pub price_id: Option<String>,
}

/// A usage charge of a plan: a price per unit of a metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    /// The metric's code.
    pub metric: String,
    /// The price of one unit, in major units of the plan's currency (`"0.01"`).
    pub unit_price: Decimal,
    /// BillaBear-only settings.
    #[serde(default)]
    pub billabear: BillaBearCharge,
}

/// A plan: a base fee per interval and usage charges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The plan's code (Lago `code`, Kill Bill plan name, BillaBear `code_name`).
    pub code: String,
    /// A display name (default: the code).
    #[serde(default)]
    pub name: Option<String>,
    /// The product (Kill Bill and BillaBear; default: the plan's name).
    #[serde(default)]
    pub product: Option<String>,
    /// The billing interval.
    #[serde(default)]
    pub interval: Interval,
    /// ISO 4217 currency of every price of the plan.
    pub currency: String,
    /// The base fee per interval in minor units; 0 for a usage-only plan.
    #[serde(default)]
    pub amount_cents: i64,
    /// Usage charges.
    #[serde(default)]
    pub charges: Vec<Charge>,
    /// Only these vendors' simulators get this plan (default: all).
    #[serde(default)]
    pub vendors: Option<Vec<Vendor>>,
    /// BillaBear-only settings.
    #[serde(default)]
    pub billabear: BillaBearPlan,
}

impl Plan {
    /// The display name.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.code)
    }

    /// The product name.
    pub fn product_name(&self) -> &str {
        self.product
            .as_deref()
            .unwrap_or_else(|| self.display_name())
    }
}

/// A catalog: metrics and plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The catalog's name (Kill Bill's `catalogName`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Billable metrics, in creation order.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Plans, in creation order.
    #[serde(default)]
    pub plans: Vec<Plan>,
}

fn default_name() -> String {
    "BillingSim".to_owned()
}

/// Why a catalog cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not a catalog in the format (syntax, unknown keys, wrong types).
    #[error("not a catalog: {0}")]
    Parse(String),
    /// The catalog contradicts itself (duplicate codes, a charge on an unknown metric...).
    #[error("invalid catalog: {0}")]
    Invalid(String),
    /// The vendor cannot express part of the catalog.
    #[error("{vendor} cannot serve this catalog: {message}")]
    Unsupported {
        /// The vendor.
        vendor: &'static str,
        /// What it cannot express.
        message: String,
    },
}

impl CatalogError {
    pub(crate) fn unsupported(vendor: Vendor, message: impl Into<String>) -> Self {
        CatalogError::Unsupported {
            vendor: vendor.as_str(),
            message: message.into(),
        }
    }
}

impl Catalog {
    /// The sample catalog (`billing-sim/catalogs/sample.toml`).
    pub fn sample() -> Catalog {
        // The embedded file is parsed and validated by this crate's tests.
        Catalog::from_toml_str(SAMPLE).unwrap_or_else(|_| Catalog {
            name: default_name(),
            metrics: Vec::new(),
            plans: Vec::new(),
        })
    }

    /// Parses and validates a catalog in TOML.
    ///
    /// # Errors
    /// [`CatalogError::Parse`] or [`CatalogError::Invalid`].
    pub fn from_toml_str(text: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog =
            toml::from_str(text).map_err(|e| CatalogError::Parse(e.to_string()))?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// Parses and validates a catalog in JSON.
    ///
    /// # Errors
    /// [`CatalogError::Parse`] or [`CatalogError::Invalid`].
    pub fn from_json_str(text: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog =
            serde_json::from_str(text).map_err(|e| CatalogError::Parse(e.to_string()))?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// Reads a catalog file: JSON when its name ends in `.json`, TOML otherwise.
    ///
    /// # Errors
    /// The file cannot be read, or holds no valid catalog.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Catalog::from_json_str(&text)
        } else {
            Catalog::from_toml_str(&text)
        }
    }

    /// A metric by code.
    pub fn metric(&self, code: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.code == code)
    }

    /// The part of the catalog meant for `vendor` (`vendors` lists honoured).
    pub fn for_vendor(&self, vendor: Vendor) -> Catalog {
        let mine = |v: &Option<Vec<Vendor>>| v.as_ref().is_none_or(|v| v.contains(&vendor));
        Catalog {
            name: self.name.clone(),
            metrics: self
                .metrics
                .iter()
                .filter(|m| mine(&m.vendors))
                .cloned()
                .collect(),
            plans: self
                .plans
                .iter()
                .filter(|p| mine(&p.vendors))
                .cloned()
                .collect(),
        }
    }

    /// Checks what holds for every vendor: codes present and unique, charges on known metrics
    /// (known to every vendor the plan is for), fields where the aggregation reads one,
    /// non-negative prices and fees, three-letter currencies.
    ///
    /// # Errors
    /// [`CatalogError::Invalid`] naming the first problem.
    pub fn validate(&self) -> Result<(), CatalogError> {
        let invalid = |m: String| Err(CatalogError::Invalid(m));
        let mut codes = std::collections::HashSet::new();
        for m in &self.metrics {
            if m.code.trim().is_empty() {
                return invalid("a metric has an empty code".into());
            }
            if !codes.insert(m.code.as_str()) {
                return invalid(format!("metric `{}` is defined twice", m.code));
            }
            let has_field = m.field.as_deref().is_some_and(|f| !f.trim().is_empty());
            if m.aggregation != Aggregation::Count && !has_field {
                return invalid(format!(
                    "metric `{}`: a {} aggregation needs a `field`",
                    m.code,
                    m.aggregation.as_str()
                ));
            }
        }
        let mut plan_codes = std::collections::HashSet::new();
        for p in &self.plans {
            if p.code.trim().is_empty() {
                return invalid("a plan has an empty code".into());
            }
            if !plan_codes.insert(p.code.as_str()) {
                return invalid(format!("plan `{}` is defined twice", p.code));
            }
            let currency_ok =
                p.currency.len() == 3 && p.currency.bytes().all(|b| b.is_ascii_uppercase());
            if !currency_ok {
                return invalid(format!(
                    "plan `{}`: currency `{}` is not an ISO 4217 code",
                    p.code, p.currency
                ));
            }
            if p.amount_cents < 0 {
                return invalid(format!("plan `{}`: amount_cents is negative", p.code));
            }
            for c in &p.charges {
                let Some(metric) = self.metric(&c.metric) else {
                    return invalid(format!(
                        "plan `{}` charges unknown metric `{}`",
                        p.code, c.metric
                    ));
                };
                let plan_vendors = p
                    .vendors
                    .clone()
                    .unwrap_or_else(|| vec![Vendor::Lago, Vendor::Killbill, Vendor::Billabear]);
                if let Some(v) = plan_vendors
                    .iter()
                    .find(|v| metric.vendors.as_ref().is_some_and(|mv| !mv.contains(v)))
                {
                    return invalid(format!(
                        "plan `{}` is for {} but its metric `{}` is not",
                        p.code,
                        v.as_str(),
                        c.metric
                    ));
                }
                if c.unit_price.is_sign_negative() {
                    return invalid(format!(
                        "plan `{}`: the unit price of `{}` is negative",
                        p.code, c.metric
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A deterministic UUID for a catalog object without a configured id (UUIDv5 in a namespace
/// of this crate's own), so the same file gives the same ids on every start.
pub(crate) fn derived_id(kind: &str, key: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b1f_0e1a_5c3d_4e2f_9a8b_7c6d_5e4f_3a2b);
    uuid::Uuid::new_v5(&NAMESPACE, format!("{kind}/{key}").as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_parses_and_splits_by_vendor() {
        let sample = Catalog::from_toml_str(SAMPLE).unwrap();
        assert_eq!(sample, Catalog::sample());
        let lago = sample.for_vendor(Vendor::Lago);
        assert_eq!(lago.metrics.len(), 3);
        assert_eq!(lago.plans.len(), 2);
        let kb = sample.for_vendor(Vendor::Killbill);
        assert_eq!(kb.metrics.len(), 2);
        assert_eq!(kb.plans.len(), 3);
        let bb = sample.for_vendor(Vendor::Billabear);
        assert_eq!(bb.metrics.len(), 2);
        assert_eq!(bb.plans.len(), 2);
    }

    #[test]
    fn json_and_toml_are_the_same_format() {
        let sample = Catalog::sample();
        let json = serde_json::to_string(&sample).unwrap();
        assert_eq!(Catalog::from_json_str(&json).unwrap(), sample);
    }

    #[test]
    fn contradictions_are_refused() {
        let bad = [
            "[[metrics]]\ncode = \"a\"\naggregation = \"max\"\n",
            "[[metrics]]\ncode = \"a\"\naggregation = \"count\"\n[[metrics]]\ncode = \"a\"\naggregation = \"count\"\n",
            "[[plans]]\ncode = \"p\"\ncurrency = \"USD\"\ncharges = [{ metric = \"nope\", unit_price = \"1\" }]\n",
            "[[plans]]\ncode = \"p\"\ncurrency = \"usd\"\n",
            "[[metrics]]\ncode = \"a\"\naggregation = \"count\"\nvendors = [\"lago\"]\n[[plans]]\ncode = \"p\"\ncurrency = \"USD\"\ncharges = [{ metric = \"a\", unit_price = \"1\" }]\n",
            "[[metrics]]\ncode = \"a\"\naggregation = \"count\"\n[[plans]]\ncode = \"p\"\ncurrency = \"USD\"\ncharges = [{ metric = \"a\", unit_price = \"-1\" }]\n",
        ];
        for text in bad {
            assert!(
                matches!(Catalog::from_toml_str(text), Err(CatalogError::Invalid(_))),
                "{text}"
            );
        }
        assert!(matches!(
            Catalog::from_toml_str("[[metrics]]\ncode = \"a\"\naggregation = \"median\"\n"),
            Err(CatalogError::Parse(_))
        ));
        assert!(matches!(
            Catalog::from_toml_str("colour = \"red\"\n"),
            Err(CatalogError::Parse(_))
        ));
    }

    #[test]
    fn derived_ids_are_stable_uuids() {
        let a = derived_id("plan", "team");
        assert_eq!(a, derived_id("plan", "team"));
        assert_ne!(a, derived_id("plan", "team2"));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
