//! The JSON the simulated server emits, with the server's field names and order (Symfony
//! serializes DTO properties in declaration order; `null` stays `null`, uninitialized typed
//! properties are skipped).

use serde::Serialize;
use serde_json::Value;

use super::catalog::{self, Catalog, Metric, Plan, Price};
use super::clock;
use super::state::{Customer, Subscription};

/// `Dto/Generic/Address`: every key present; `country` reads `""` when unset.
#[derive(Debug, Serialize)]
pub(crate) struct AddressOut {
    company_name: Option<String>,
    street_line_one: Option<String>,
    street_line_two: Option<String>,
    city: Option<String>,
    region: Option<String>,
    country: String,
    postcode: Option<String>,
}

/// `Dto/Generic/Api/Customer` (no `type`, no `digital_tax_rate`).
#[derive(Debug, Serialize)]
pub(crate) struct CustomerOut {
    id: String,
    name: Option<String>,
    email: String,
    reference: Option<String>,
    external_reference: String,
    address: AddressOut,
    status: String,
    brand: String,
    locale: String,
    billing_type: String,
    tax_number: Option<String>,
    standard_tax_rate: Option<f64>,
    invoice_format: Option<String>,
    marketing_opt_in: bool,
    metadata: Value,
}

/// `Dto/Response/Api/ListResponse`: `last_key` is skipped when null.
#[derive(Debug, Serialize)]
pub(crate) struct ListOut<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_key: Option<String>,
}

/// `Dto/Response/App/ListResponse` (used by `/subscription/plans`): keys stay when null.
#[derive(Debug, Serialize)]
pub(crate) struct AppListOut<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    pub last_key: Option<String>,
    pub first_key: Option<String>,
}

/// `Dto/Generic/Api/Usage/Metric` (note the un-converted `createdAt`).
#[derive(Debug, Serialize)]
pub(crate) struct MetricApiOut {
    id: String,
    name: String,
    code: String,
    aggregation_method: String,
    aggregation_property: Option<String>,
    filters: Vec<Value>,
    #[serde(rename = "createdAt")]
    created_at: String,
}

/// `Dto/Generic/Api/Price`: a subscription's `price`.
#[derive(Debug, Serialize)]
pub(crate) struct PriceApiOut {
    id: String,
    amount: Option<i64>,
    currency: String,
    external_reference: Option<String>,
    recurring: bool,
    schedule: Option<String>,
    including_tax: bool,
    public: bool,
    usage: bool,
    metric: Option<MetricApiOut>,
    metric_type: Option<String>,
}

/// `Dto/Generic/App/Usage/Metric`, inside a plan's prices.
#[derive(Debug, Serialize)]
pub(crate) struct MetricAppOut {
    id: String,
    name: String,
    code: String,
    aggregation_method: String,
    aggregation_property: Option<String>,
    event_ingestion: String,
    filters: Vec<Value>,
    created_at: String,
}

/// `Dto/Generic/App/TaxType`.
#[derive(Debug, Serialize)]
pub(crate) struct TaxTypeOut {
    id: &'static str,
    name: &'static str,
    default: bool,
    vat_sense_type: Option<String>,
}

/// `Dto/Generic/App/Product`, inside a plan's prices.
#[derive(Debug, Serialize)]
pub(crate) struct ProductAppOut {
    id: String,
    name: String,
    tax_type: Option<TaxTypeOut>,
    external_reference: Option<String>,
    payment_provider_details_url: Option<String>,
    tax_rate: Option<f64>,
    physical: Option<bool>,
}

/// `Dto/Generic/App/Price`: the plan's `prices[]` use this shape (no `metric_type`).
#[derive(Debug, Serialize)]
pub(crate) struct PriceAppOut {
    id: String,
    amount: Option<i64>,
    currency: String,
    external_reference: Option<String>,
    recurring: bool,
    schedule: String,
    including_tax: bool,
    public: bool,
    payment_provider_details_url: Option<String>,
    display_value: String,
    product: Option<ProductAppOut>,
    metric: Option<MetricAppOut>,
    usage: bool,
}

/// `Dto/Generic/Api/Product`, a plan's `product`.
#[derive(Debug, Serialize)]
pub(crate) struct ProductApiOut {
    id: String,
    name: String,
    external_reference: Option<String>,
}

/// `Dto/Generic/Api/SubscriptionPlan`.
#[derive(Debug, Serialize)]
pub(crate) struct PlanOut {
    id: String,
    name: String,
    code_name: String,
    user_count: i64,
    per_seat: bool,
    has_trial: bool,
    trial_length_days: i64,
    free: bool,
    public: bool,
    features: Vec<Value>,
    prices: Vec<PriceAppOut>,
    limits: Vec<Value>,
    product: Option<ProductApiOut>,
    is_trial_standalone: bool,
}

/// `Dto/Generic/Api/Subscription`: no customer id, no period start.
#[derive(Debug, Serialize)]
pub(crate) struct SubscriptionOut {
    id: String,
    schedule: Option<&'static str>,
    created_at: String,
    updated_at: String,
    ended_at: Option<String>,
    valid_until: String,
    main_external_reference: Option<String>,
    child_external_reference: Option<String>,
    plan: Option<PlanOut>,
    price: Option<PriceApiOut>,
    seat_number: i64,
    metadata: Value,
    status: String,
}

/// `Dto/Response/Api/Customer/Cost`.
#[derive(Debug, Serialize)]
pub(crate) struct CostOut {
    pub amount: i64,
    pub currency: String,
}

/// `Dto/Response/Api/Customer/MetricCost`.
#[derive(Debug, Serialize)]
pub(crate) struct MetricCostOut {
    pub name: String,
    pub amount: i64,
    pub currency: String,
    pub usage: f64,
}

/// `Dto/Response/Api/Customer/Costs`.
#[derive(Debug, Serialize)]
pub(crate) struct CostsOut {
    pub total: CostOut,
    pub costs: Vec<MetricCostOut>,
}

/// A customer as the API returns it.
pub(crate) fn customer(c: &Customer) -> CustomerOut {
    let a = &c.address;
    CustomerOut {
        id: c.id.clone(),
        name: c.name.clone(),
        email: c.email.clone(),
        reference: c.reference.clone(),
        external_reference: c.external_reference.clone(),
        address: AddressOut {
            company_name: a.company_name.clone(),
            street_line_one: a.street_line_one.clone(),
            street_line_two: a.street_line_two.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            country: a.country.clone().unwrap_or_default(),
            postcode: a.postcode.clone(),
        },
        status: c.status.clone(),
        brand: c.brand.clone(),
        locale: c.locale.clone(),
        billing_type: c.billing_type.clone(),
        tax_number: c.tax_number.clone(),
        standard_tax_rate: c.standard_tax_rate,
        invoice_format: c.invoice_format.clone(),
        marketing_opt_in: c.marketing_opt_in,
        metadata: c.metadata.clone(),
    }
}

fn metric_api(m: &Metric) -> MetricApiOut {
    MetricApiOut {
        id: m.id.clone(),
        name: m.name.clone(),
        code: m.code.clone(),
        aggregation_method: m.aggregation_method.to_owned(),
        aggregation_property: m.aggregation_property.clone(),
        filters: Vec::new(),
        created_at: clock::format(m.created_at),
    }
}

fn metric_app(m: &Metric) -> MetricAppOut {
    MetricAppOut {
        id: m.id.clone(),
        name: m.name.clone(),
        code: m.code.clone(),
        aggregation_method: m.aggregation_method.to_owned(),
        aggregation_property: m.aggregation_property.clone(),
        event_ingestion: "real_time".to_owned(),
        filters: Vec::new(),
        created_at: clock::format(m.created_at),
    }
}

fn price_metric<'a>(cat: &'a Catalog, p: &Price) -> Option<&'a Metric> {
    p.metric_id.as_deref().and_then(|id| cat.metric(id))
}

/// A price as a subscription's `price` shows it.
pub(crate) fn price_api(cat: &Catalog, p: &Price) -> PriceApiOut {
    PriceApiOut {
        id: p.id.clone(),
        amount: Some(p.amount),
        currency: p.currency.clone(),
        external_reference: None,
        recurring: true,
        schedule: Some(p.schedule.to_owned()),
        including_tax: true,
        public: true,
        usage: p.is_usage(),
        metric: price_metric(cat, p).map(metric_api),
        metric_type: p.is_usage().then(|| "resettable".to_owned()),
    }
}

fn price_app(cat: &Catalog, p: &Price) -> PriceAppOut {
    let exponent = crate::iso::exponent(&p.currency);
    let scale = 10_i64.pow(exponent);
    let (major, minor) = (p.amount / scale, p.amount % scale);
    let width = exponent as usize;
    let display = if width == 0 {
        format!("{major}")
    } else {
        format!("{major}.{minor:0width$}")
    };
    PriceAppOut {
        id: p.id.clone(),
        amount: Some(p.amount),
        currency: p.currency.clone(),
        external_reference: None,
        recurring: true,
        schedule: p.schedule.to_owned(),
        including_tax: true,
        public: true,
        payment_provider_details_url: None,
        display_value: format!("{} - {} {display}", p.kind, p.currency),
        product: cat.product(&p.product_id).map(|prod| ProductAppOut {
            id: prod.id.clone(),
            name: prod.name.clone(),
            tax_type: Some(TaxTypeOut {
                id: catalog::TAX_TYPE_ID,
                name: "Digital Services",
                default: true,
                vat_sense_type: None,
            }),
            external_reference: None,
            payment_provider_details_url: None,
            tax_rate: None,
            physical: Some(false),
        }),
        metric: price_metric(cat, p).map(metric_app),
        usage: p.is_usage(),
    }
}

/// A subscription plan.
pub(crate) fn plan(cat: &Catalog, p: &Plan) -> PlanOut {
    PlanOut {
        id: p.id.clone(),
        name: p.name.clone(),
        code_name: p.code_name.clone(),
        user_count: 1,
        per_seat: false,
        has_trial: false,
        trial_length_days: 0,
        free: false,
        public: true,
        features: Vec::new(),
        prices: p
            .price_ids
            .iter()
            .filter_map(|id| cat.price(id))
            .map(|price| price_app(cat, price))
            .collect(),
        limits: Vec::new(),
        product: cat.product(&p.product_id).map(|prod| ProductApiOut {
            id: prod.id.clone(),
            name: prod.name.clone(),
            external_reference: None,
        }),
        is_trial_standalone: false,
    }
}

/// A subscription as the API returns it.
pub(crate) fn subscription(cat: &Catalog, s: &Subscription) -> SubscriptionOut {
    let price = cat.price(&s.price_id);
    SubscriptionOut {
        id: s.id.clone(),
        schedule: price.map(|p| p.schedule),
        created_at: clock::format(s.created_at),
        updated_at: clock::format(s.updated_at),
        ended_at: s.ended_at.map(clock::format),
        valid_until: clock::format(s.valid_until),
        main_external_reference: None,
        child_external_reference: None,
        plan: cat.plan(&s.plan_id).map(|p| plan(cat, p)),
        price: price.map(|p| price_api(cat, p)),
        seat_number: s.seat_number,
        metadata: s.metadata.clone(),
        status: s.status.clone(),
    }
}
