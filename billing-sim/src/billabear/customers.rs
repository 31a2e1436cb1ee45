//! `/customer` endpoints (`Controller/Api/Customer/CustomerController`).

use std::ops::Bound;

use axum::response::Response;
use serde_json::{Map, Value};

use super::errors::{self, Step, Unhandled};
use super::listing::{self, SizeError};
use super::router::Ctx;
use super::state::{Address, Customer, State};
use super::validate::{self as v, Violations, field, msg};
use super::wire;

/// `CreateCustomerDto` after deserialization (typed setters already enforced).
#[derive(Debug, Default)]
struct Input {
    name: Option<String>,
    brand: Option<String>,
    email: Option<String>,
    reference: Option<String>,
    external_reference: Option<String>,
    address: Option<Address>,
    locale: Option<String>,
    billing_type: Option<String>,
    tax_number: Option<String>,
    standard_tax_rate: Option<f64>,
    customer_type: Option<String>,
    invoice_format: Option<String>,
    marketing_opt_in: bool,
    metadata: Value,
}

/// A `?string` setter: any other JSON type makes the serializer throw.
fn typed_str(body: &Map<String, Value>, key: &str) -> Step<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Unhandled),
    }
}

/// The `?Address` setter: an object (or a PHP list, whose keys match nothing) or null.
fn typed_address(body: &Map<String, Value>) -> Step<Option<Address>> {
    match body.get("address") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(_)) => Ok(Some(Address::default())),
        Some(Value::Object(a)) => Ok(Some(Address {
            company_name: typed_str(a, "company_name")?,
            street_line_one: typed_str(a, "street_line_one")?,
            street_line_two: typed_str(a, "street_line_two")?,
            city: typed_str(a, "city")?,
            region: typed_str(a, "region")?,
            country: typed_str(a, "country")?,
            postcode: typed_str(a, "postcode")?,
        })),
        Some(_) => Err(Unhandled),
    }
}

/// `Assert\PositiveOrZero`: only numbers (or numeric strings) below zero fail; PHP's loose
/// comparison lets every other type through.
fn check_positive_or_zero(vs: &mut Violations, path: &str, value: Option<&Value>) {
    let negative = match value {
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f < 0.0),
        Some(Value::String(s)) => s.trim().parse::<f64>().is_ok_and(|f| f < 0.0),
        _ => false,
    };
    if negative {
        vs.add(path, msg::POSITIVE_OR_ZERO);
    }
}

/// Deserializes and validates the body; `Ok(Err(_))` is a 400.
fn read(state: &State, ctx: &Ctx) -> Step<Result<Input, Violations>> {
    let body = ctx.body()?;
    let email = typed_str(&body, "email")?;
    let reference = typed_str(&body, "reference")?;
    let external_reference = typed_str(&body, "external_reference")?;
    let address = typed_address(&body)?;
    let name = typed_str(&body, "name")?;
    let brand = typed_str(&body, "brand")?;
    let locale = field(&body, "locale");
    if locale.is_some_and(|l| l.is_array() || l.is_object()) {
        return Err(Unhandled);
    }

    let mut vs = Violations::default();
    if !state.config.stripe_configured {
        vs.add("stripe", msg::STRIPE);
    }
    if name.as_deref() == Some("") {
        vs.add("name", msg::NOT_BLANK);
    }
    if brand.as_deref() == Some("") {
        vs.add("brand", msg::NOT_BLANK);
    }
    if email
        .as_deref()
        .is_some_and(|e| !e.is_empty() && !v::is_email(e))
    {
        vs.add("email", msg::EMAIL);
    }
    if email.as_deref().is_none_or(str::is_empty) {
        vs.add("email", msg::NOT_BLANK);
    }
    let locale_str = locale.and_then(v::php_string);
    if locale_str
        .as_deref()
        .is_some_and(|l| !l.is_empty() && !v::is_locale(l))
    {
        vs.add("locale", msg::LOCALE);
    }
    v::check_not_blank_allow_null(&mut vs, "locale", locale);
    let billing_type = field(&body, "billing_type");
    v::check_choice(&mut vs, "billingType", billing_type, &["invoice", "card"]);
    v::check_not_blank_allow_null(&mut vs, "billingType", billing_type);
    v::check_type(&mut vs, "billingType", billing_type, &["string"]);
    let country = address.as_ref().and_then(|a| a.country.as_deref());
    if country.is_some_and(|c| !c.is_empty() && !v::is_country(c)) {
        vs.add("address.country", msg::COUNTRY);
    }
    let tax_number = field(&body, "tax_number");
    v::check_not_blank_allow_null(&mut vs, "tax_number", tax_number);
    v::check_type(&mut vs, "tax_number", tax_number, &["string"]);
    for key in ["digital_tax_rate", "standard_tax_rate"] {
        let rate = field(&body, key);
        v::check_not_blank_allow_null(&mut vs, key, rate);
        check_positive_or_zero(&mut vs, key, rate);
        v::check_type(&mut vs, key, rate, &["integer", "float"]);
    }
    let customer_type = field(&body, "type");
    v::check_choice(&mut vs, "type", customer_type, &["individual", "business"]);
    v::check_not_blank_allow_null(&mut vs, "type", customer_type);
    v::check_type(&mut vs, "type", customer_type, &["string"]);
    let invoice_format = field(&body, "invoice_format");
    v::check_choice(
        &mut vs,
        "invoice_format",
        invoice_format,
        &["pdf", "zugferd_v1"],
    );
    v::check_not_blank_allow_null(&mut vs, "invoice_format", invoice_format);
    v::check_type(&mut vs, "invoice_format", invoice_format, &["string"]);
    let marketing = field(&body, "marketing_opt_in");
    v::check_type(&mut vs, "marketing_opt_in", marketing, &["boolean"]);
    let metadata = field(&body, "metadata");
    v::check_type(&mut vs, "metadata", metadata, &["array"]);
    if !vs.is_empty() {
        return Ok(Err(vs));
    }
    Ok(Ok(Input {
        name,
        brand,
        email,
        reference,
        external_reference,
        address,
        locale: locale_str,
        billing_type: billing_type.and_then(Value::as_str).map(str::to_owned),
        tax_number: tax_number.and_then(Value::as_str).map(str::to_owned),
        standard_tax_rate: field(&body, "standard_tax_rate").and_then(Value::as_f64),
        customer_type: customer_type.and_then(Value::as_str).map(str::to_owned),
        invoice_format: invoice_format.and_then(Value::as_str).map(str::to_owned),
        marketing_opt_in: marketing == Some(&Value::Bool(true)),
        metadata: metadata.map_or(Value::Array(Vec::new()), v::php_array),
    }))
}

/// `CustomerDataMapper::createCustomer($dto, $existing)`: every field is overwritten, with
/// defaults for omitted ones; `external_reference` only when given; `status` never.
fn apply(c: &mut Customer, input: Input) -> Step<()> {
    let brand = input.brand.unwrap_or_else(|| "default".to_owned());
    if brand != "default" {
        // `brandSettingRepository->getByCode()` throws for an unknown brand.
        return Err(Unhandled);
    }
    c.customer_type = match input.customer_type.as_deref().map(str::to_lowercase) {
        Some(t) if t == "business" => "business".to_owned(),
        _ => "individual".to_owned(),
    };
    c.email = input.email.unwrap_or_default();
    c.reference = input.reference;
    c.address = input.address.unwrap_or_default();
    c.name = input.name;
    c.brand = brand;
    c.locale = input.locale.unwrap_or_else(|| "en".to_owned());
    c.billing_type = input.billing_type.unwrap_or_else(|| "card".to_owned());
    c.tax_number = input.tax_number;
    c.standard_tax_rate = input.standard_tax_rate;
    c.invoice_format = input.invoice_format;
    c.marketing_opt_in = input.marketing_opt_in;
    c.metadata = input.metadata;
    if let Some(ext) = input.external_reference {
        c.external_reference = ext;
    }
    Ok(())
}

/// A fake Stripe customer id, as `ObolRegister::register` would store.
fn stripe_customer_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("cus_{}", &hex[..14])
}

/// `POST /customer` -> 201 Customer.
pub(crate) fn create(state: &mut State, ctx: &Ctx) -> Response {
    let input = match read(state, ctx) {
        Err(Unhandled) => return ctx.unhandled(),
        Ok(Err(vs)) => return errors::validation(&vs),
        Ok(Ok(input)) => input,
    };
    let mut customer = Customer {
        id: uuid::Uuid::new_v4().to_string(),
        name: None,
        email: String::new(),
        reference: None,
        external_reference: stripe_customer_id(),
        address: Address::default(),
        status: "new".to_owned(),
        brand: "default".to_owned(),
        locale: "en".to_owned(),
        billing_type: "card".to_owned(),
        tax_number: None,
        standard_tax_rate: None,
        customer_type: "individual".to_owned(),
        invoice_format: None,
        marketing_opt_in: false,
        metadata: Value::Array(Vec::new()),
        default_card: None,
    };
    if apply(&mut customer, input).is_err() {
        return ctx.unhandled();
    }
    if state.config.customers_have_default_card {
        let card = uuid::Uuid::new_v4().to_string();
        state.cards.insert(card.clone(), customer.id.clone());
        customer.default_card = Some(card);
    }
    let out = wire::customer(&customer);
    state.customers.insert(customer.id.clone(), customer);
    errors::json(201, &out)
}

/// `getById`: a non-UUID id makes Doctrine throw (500); an unknown one is `None`.
fn get_by_id(state: &State, id: &str) -> Step<Option<String>> {
    let id = v::uuid(id).ok_or(Unhandled)?;
    Ok(state.customers.contains_key(&id).then_some(id))
}

/// `GET /customer/{id}` -> 200 Customer, 404 `[]`.
pub(crate) fn get(state: &State, ctx: &Ctx, id: &str) -> Response {
    match get_by_id(state, id) {
        Err(Unhandled) => ctx.unhandled(),
        Ok(None) => errors::literal(404, "[]"),
        Ok(Some(id)) => match state.customers.get(&id) {
            Some(c) => errors::json(200, &wire::customer(c)),
            None => errors::literal(404, "[]"),
        },
    }
}

/// `PUT /customer/{id}` -> 202 Customer (a full replace), 404 `[]`.
pub(crate) fn update(state: &mut State, ctx: &Ctx, id: &str) -> Response {
    let id = match get_by_id(state, id) {
        Err(Unhandled) => return ctx.unhandled(),
        Ok(None) => return errors::literal(404, "[]"),
        Ok(Some(id)) => id,
    };
    let input = match read(state, ctx) {
        Err(Unhandled) => return ctx.unhandled(),
        Ok(Err(vs)) => return errors::validation(&vs),
        Ok(Ok(input)) => input,
    };
    let Some(existing) = state.customers.get(&id) else {
        return errors::literal(404, "[]");
    };
    let mut customer = existing.clone();
    if apply(&mut customer, input).is_err() {
        return ctx.unhandled();
    }
    let out = wire::customer(&customer);
    state.customers.insert(id, customer);
    errors::json(202, &out)
}

/// `POST /customer/{id}/disable|enable` -> 202 `{}`, 404 `{"success":false}`. Only the
/// status changes: subscriptions and event intake are untouched.
pub(crate) fn set_status(state: &mut State, ctx: &Ctx, id: &str, status: &str) -> Response {
    let id = match get_by_id(state, id) {
        Err(Unhandled) => return ctx.unhandled(),
        Ok(None) => return errors::literal(404, r#"{"success":false}"#),
        Ok(Some(id)) => id,
    };
    match state.customers.get_mut(&id) {
        Some(c) => {
            c.status = status.to_owned();
            errors::literal(202, "{}")
        }
        None => errors::literal(404, r#"{"success":false}"#),
    }
}

/// `GET /customer?limit&last_key&email&country&reference&external_reference&company_name`.
pub(crate) fn list(state: &State, ctx: &Ctx) -> Response {
    let limit = match listing::page_size(ctx.query("limit")) {
        Ok(n) => n,
        Err(SizeError::Below) => return errors::reason(400, "limit is below 1"),
        Err(SizeError::Above) => return errors::reason(413, "limit is above 100"),
    };
    let filter = |key: &str| ctx.query(key).filter(|s| v::php_truthy(s));
    let last_key = match filter("last_key") {
        None => None,
        // Postgres cannot compare a uuid column with a non-UUID string.
        Some(k) => match v::uuid(k) {
            Some(k) => Some(k),
            None => return ctx.unhandled(),
        },
    };
    let (email, reference) = (filter("email"), filter("reference"));
    let (ext, company, country) = (
        filter("external_reference"),
        filter("company_name"),
        filter("country"),
    );
    // Rows are keyed by canonical id, so the map is already in `ORDER BY id` order; start
    // right after the cursor.
    let start = last_key
        .as_deref()
        .map_or(Bound::Unbounded, Bound::Excluded);
    let rows = state
        .customers
        .range::<str, _>((start, Bound::Unbounded))
        .map(|(_, c)| c)
        .filter(|c| email.is_none_or(|f| listing::like_contains(Some(&c.email), f)))
        .filter(|c| reference.is_none_or(|f| listing::like_contains(c.reference.as_deref(), f)))
        .filter(|c| ext.is_none_or(|f| listing::like_contains(Some(&c.external_reference), f)))
        .filter(|c| {
            company.is_none_or(|f| listing::like_contains(c.address.company_name.as_deref(), f))
        })
        .filter(|c| country.is_none_or(|f| c.address.country.as_deref() == Some(f)))
        .map(|c| (c.id.as_str(), c));
    let page = listing::keyset(rows, false, limit, last_key.as_deref(), None);
    errors::json(
        200,
        &wire::ListOut {
            data: page.items.into_iter().map(wire::customer).collect(),
            has_more: page.has_more,
            last_key: page.last_key,
        },
    )
}
