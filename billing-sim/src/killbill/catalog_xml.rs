//! Kill Bill's own catalog XML (`StandaloneCatalog`, as `POST /1.0/kb/catalog/xml` takes it
//! and `scripts/killbill/catalog.xml` is written), read into a [`KbCatalog`].
//!
//! The simulator models a subset: plans with one EVERGREEN phase of UNLIMITED duration, a
//! MONTHLY recurring price or none, and IN_ARREAR MONTHLY usage sections with one unlimited
//! tier (CONSUMABLE: one block of size 1; CAPACITY: one limit per unit and a recurring price),
//! in the default price list `DEFAULT`. Well-formed catalogs beyond that (trial phases, fixed
//! prices, several tiers or blocks, other billing periods) are [`XmlError::Unsupported`],
//! never approximated; malformed ones (not XML, required elements missing, a plan of an
//! unknown product, a block of an unknown unit) are [`XmlError::Invalid`], which the server
//! answers with `CAT_INVALID_FOR_TENANT`.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use roxmltree::{Document, Node};
use rust_decimal::Decimal;

use super::catalog::{KbCatalog, PRICE_LIST, Plan, UsageDef, UsageType};
use super::time::parse_joda;

/// Why an XML catalog cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XmlError {
    /// Kill Bill would refuse it too.
    Invalid(String),
    /// Kill Bill would take it, but the simulator does not model it.
    Unsupported(String),
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XmlError::Invalid(m) => write!(f, "invalid catalog: {m}"),
            XmlError::Unsupported(m) => write!(f, "not simulated: {m}"),
        }
    }
}

type XmlResult<T> = Result<T, XmlError>;

fn invalid<T>(message: impl Into<String>) -> XmlResult<T> {
    Err(XmlError::Invalid(message.into()))
}

fn unsupported<T>(message: impl Into<String>) -> XmlResult<T> {
    Err(XmlError::Unsupported(message.into()))
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name)
        .and_then(|c| c.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn required<'a>(node: Node<'a, '_>, name: &str, what: &str) -> XmlResult<&'a str> {
    text(node, name).map_or_else(|| invalid(format!("{what} has no <{name}>")), Ok)
}

fn decimal(s: &str, what: &str) -> XmlResult<Decimal> {
    Decimal::from_str(s.trim()).or_else(|_| invalid(format!("{what}: `{s}` is not a number")))
}

/// The value of the `<price>` in `currency` under `node` (`<recurringPrice>`, `<prices>`).
fn price_in(node: Node<'_, '_>, currency: &str, what: &str) -> XmlResult<Decimal> {
    for price in children(node, "price") {
        if text(price, "currency") == Some(currency) {
            return decimal(required(price, "value", what)?, what);
        }
    }
    invalid(format!("{what} has no price in {currency}"))
}

/// Reads a catalog XML document.
pub(crate) fn parse(xml: &str) -> XmlResult<KbCatalog> {
    let doc = Document::parse(xml).or_else(|e| invalid(format!("not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "catalog" {
        return invalid("the root element is not <catalog>");
    }
    let effective_date: DateTime<Utc> = parse_joda(required(root, "effectiveDate", "the catalog")?)
        .map(|p| p.instant())
        .map_or_else(|| invalid("effectiveDate is not a date"), Ok)?;
    let name = required(root, "catalogName", "the catalog")?.to_owned();
    let currencies: Vec<&str> = child(root, "currencies")
        .map(|c| {
            children(c, "currency")
                .filter_map(|n| n.text())
                .map(str::trim)
                .collect()
        })
        .unwrap_or_default();
    let Some(currency) = currencies.first().map(|c| (*c).to_owned()) else {
        return invalid("the catalog has no currency");
    };
    let units: Vec<String> = child(root, "units")
        .map(|u| {
            children(u, "unit")
                .filter_map(|n| n.attribute("name"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut products = Vec::new();
    for p in child(root, "products")
        .into_iter()
        .flat_map(|p| children(p, "product"))
    {
        let Some(name) = p.attribute("name") else {
            return invalid("a product has no name");
        };
        if text(p, "category").is_some_and(|c| c != "BASE") {
            return unsupported(format!("product {name}: only BASE products are simulated"));
        }
        products.push(name.to_owned());
    }
    if child(root, "rules").is_none() {
        return invalid("the catalog has no <rules>");
    }
    match child(root, "priceLists").and_then(|p| child(p, "defaultPriceList")) {
        Some(d) if d.attribute("name") == Some(PRICE_LIST) => {}
        Some(_) => return invalid("the default price list is not named DEFAULT"),
        None => return invalid("the catalog has no <defaultPriceList>"),
    }
    let mut plans = Vec::new();
    for plan in child(root, "plans")
        .into_iter()
        .flat_map(|p| children(p, "plan"))
    {
        plans.push(parse_plan(plan, &currency, &products, &units)?);
    }
    Ok(KbCatalog {
        name,
        effective_date,
        currency,
        units,
        products,
        plans,
        previous: None,
    })
}

fn parse_plan(
    plan: Node<'_, '_>,
    currency: &str,
    products: &[String],
    units: &[String],
) -> XmlResult<Plan> {
    let Some(name) = plan.attribute("name") else {
        return invalid("a plan has no name");
    };
    let what = format!("plan {name}");
    let product = required(plan, "product", &what)?;
    if !products.iter().any(|p| p == product) {
        return invalid(format!("{what}: unknown product {product}"));
    }
    if child(plan, "initialPhases").is_some_and(|i| i.children().any(|c| c.is_element())) {
        return unsupported(format!(
            "{what}: only plans with a single EVERGREEN phase are simulated"
        ));
    }
    let Some(phase) = child(plan, "finalPhase") else {
        return invalid(format!("{what} has no <finalPhase>"));
    };
    if phase.attribute("type") != Some("EVERGREEN") {
        return unsupported(format!("{what}: only EVERGREEN final phases are simulated"));
    }
    if child(phase, "duration").and_then(|d| text(d, "unit")) != Some("UNLIMITED") {
        return unsupported(format!("{what}: only UNLIMITED phases are simulated"));
    }
    if child(phase, "fixed").is_some() {
        return unsupported(format!("{what}: fixed prices are not simulated"));
    }
    let recurring = match child(phase, "recurring") {
        None => None,
        Some(r) => {
            if text(r, "billingPeriod") != Some("MONTHLY") {
                return unsupported(format!(
                    "{what}: only MONTHLY billing periods are simulated"
                ));
            }
            let Some(price) = child(r, "recurringPrice") else {
                return invalid(format!("{what}: <recurring> has no <recurringPrice>"));
            };
            Some(price_in(price, currency, &what)?)
        }
    };
    let mut usages = Vec::new();
    for usage in child(phase, "usages")
        .into_iter()
        .flat_map(|u| children(u, "usage"))
    {
        usages.push(parse_usage(usage, currency, units, &what)?);
    }
    Ok(Plan {
        name: name.to_owned(),
        product: product.to_owned(),
        recurring,
        usages,
    })
}

fn parse_usage(
    usage: Node<'_, '_>,
    currency: &str,
    units: &[String],
    plan: &str,
) -> XmlResult<UsageDef> {
    let Some(name) = usage.attribute("name") else {
        return invalid(format!("{plan}: a usage has no name"));
    };
    let what = format!("{plan}, usage {name}");
    let usage_type = match usage.attribute("usageType") {
        Some("CONSUMABLE") => UsageType::Consumable,
        Some("CAPACITY") => UsageType::Capacity,
        _ => return invalid(format!("{what}: usageType is not CONSUMABLE or CAPACITY")),
    };
    match usage.attribute("billingMode") {
        Some("IN_ARREAR") => {}
        Some("IN_ADVANCE") => {
            return unsupported(format!("{what}: in-advance usage is not simulated"));
        }
        _ => {
            return invalid(format!(
                "{what}: billingMode is not IN_ARREAR or IN_ADVANCE"
            ));
        }
    }
    let tier_block_policy = usage.attribute("tierBlockPolicy").unwrap_or("ALL_TIERS");
    if text(usage, "billingPeriod") != Some("MONTHLY") {
        return unsupported(format!("{what}: only MONTHLY usage periods are simulated"));
    }
    let tiers: Vec<Node<'_, '_>> = child(usage, "tiers")
        .into_iter()
        .flat_map(|t| children(t, "tier"))
        .collect();
    let [tier] = tiers.as_slice() else {
        return unsupported(format!("{what}: only one tier is simulated"));
    };
    let unlimited = |max: Option<&str>| {
        max.is_some_and(|m| decimal(m, &what).ok() == Some(Decimal::NEGATIVE_ONE))
    };
    let (unit, price) = match usage_type {
        UsageType::Consumable => {
            let blocks: Vec<Node<'_, '_>> = child(*tier, "blocks")
                .into_iter()
                .flat_map(|b| children(b, "tieredBlock"))
                .collect();
            let [block] = blocks.as_slice() else {
                return unsupported(format!("{what}: only one block per tier is simulated"));
            };
            if decimal(required(*block, "size", &what)?, &what)? != Decimal::ONE
                || !unlimited(text(*block, "max"))
            {
                return unsupported(format!(
                    "{what}: only blocks of size 1 without a maximum are simulated"
                ));
            }
            let Some(prices) = child(*block, "prices") else {
                return invalid(format!("{what}: the block has no <prices>"));
            };
            (
                required(*block, "unit", &what)?,
                price_in(prices, currency, &what)?,
            )
        }
        UsageType::Capacity => {
            let limits: Vec<Node<'_, '_>> = child(*tier, "limits")
                .into_iter()
                .flat_map(|l| children(l, "limit"))
                .collect();
            let [limit] = limits.as_slice() else {
                return unsupported(format!("{what}: only one limit per tier is simulated"));
            };
            if !unlimited(text(*limit, "max")) {
                return unsupported(format!(
                    "{what}: only tiers without a maximum are simulated"
                ));
            }
            let Some(prices) = child(*tier, "recurringPrice") else {
                return invalid(format!("{what}: the tier has no <recurringPrice>"));
            };
            (
                required(*limit, "unit", &what)?,
                price_in(prices, currency, &what)?,
            )
        }
    };
    if !units.iter().any(|u| u == unit) {
        return invalid(format!("{what}: unknown unit {unit}"));
    }
    Ok(UsageDef {
        name: name.to_owned(),
        unit: unit.to_owned(),
        price,
        usage_type,
        tier_block_policy: tier_block_policy.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog `scripts/killbill-server.sh` uploads to the real server.
    const UPLOADED: &str = include_str!("../../../scripts/killbill/catalog.xml");

    #[test]
    fn the_real_servers_catalog_is_the_sample() {
        let xml = parse(UPLOADED).unwrap();
        let sample = KbCatalog::from_catalog(&crate::Catalog::sample()).unwrap();
        assert_eq!(xml.name, sample.name);
        assert_eq!(xml.effective_date, sample.effective_date);
        assert_eq!(xml.currency, sample.currency);
        assert_eq!(xml.units, sample.units);
        assert_eq!(xml.products, sample.products);
        assert_eq!(xml.plans.len(), sample.plans.len());
        for (a, b) in xml.plans.iter().zip(&sample.plans) {
            assert_eq!(
                (&a.name, &a.product, a.recurring),
                (&b.name, &b.product, b.recurring)
            );
            let usages = |p: &Plan| -> Vec<(String, String, Decimal, UsageType)> {
                p.usages
                    .iter()
                    .map(|u| (u.name.clone(), u.unit.clone(), u.price, u.usage_type))
                    .collect()
            };
            assert_eq!(usages(a), usages(b));
        }
    }

    #[test]
    fn malformed_and_unsimulated_catalogs() {
        assert!(matches!(parse("<catalog"), Err(XmlError::Invalid(_))));
        assert!(matches!(parse("<plans/>"), Err(XmlError::Invalid(_))));
        let trial = UPLOADED.replacen(
            "<finalPhase type=\"EVERGREEN\">",
            "<initialPhases><phase type=\"TRIAL\"/></initialPhases><finalPhase type=\"EVERGREEN\">",
            1,
        );
        assert!(matches!(parse(&trial), Err(XmlError::Unsupported(_))));
        let unknown_unit = UPLOADED.replacen("<unit>api_calls</unit>", "<unit>liters</unit>", 1);
        assert!(matches!(parse(&unknown_unit), Err(XmlError::Invalid(_))));
    }
}
