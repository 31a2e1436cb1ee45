//! `/customers`: the upsert (`POST`), show, soft delete and list.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{ApiError, FieldErrors, push_error};
use super::request::{Call, Param, truthy};
use super::state::{Customer, Metadatum, State};
use super::wire::{self, CustomerView, SHIPPING_FIELDS};
use crate::iso::{is_country, is_currency};

/// Plain string attributes written verbatim when their key is present.
const STRING_FIELDS: &[&str] = &[
    "name",
    "firstname",
    "lastname",
    "address_line1",
    "address_line2",
    "state",
    "zipcode",
    "email",
    "city",
    "url",
    "phone",
    "logo_url",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "external_salesforce_id",
    "currency",
    "customer_type",
];

/// Metadata limits (`Metadata::CustomerMetadata`).
const METADATA_MAX: usize = 5;
const METADATA_KEY_MAX: usize = 20;
const METADATA_VALUE_MAX: usize = 100;

/// `POST /customers`: find or initialize by external_id, write only the keys present.
pub(crate) fn upsert(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let m = call.root("customer")?;
    let Some(external_id) = Param::of(m, "external_id").text().map(str::to_owned) else {
        return Err(ApiError::field("external_id", "value_is_mandatory"));
    };
    if let Some(code) = Param::of(m, "billing_entity_code").text()
        && code != "default"
    {
        return Err(ApiError::NotFound("billing_entity_not_found"));
    }
    let metadata = m.get("metadata").and_then(Value::as_array);
    if metadata.is_some_and(|md| md.len() > METADATA_MAX) {
        return Err(ApiError::field("metadata", "invalid_count"));
    }
    if let Some(v) = Param::of(m, "finalize_zero_amount_invoice").text()
        && !matches!(v, "inherit" | "skip" | "finalize")
    {
        return Err(ApiError::field(
            "finalize_zero_amount_invoice",
            "invalid_value",
        ));
    }
    let existing = state.live_customer(&external_id);
    let mut draft = match existing.and_then(|i| state.customers.get(i)) {
        Some(c) => c.clone(),
        None => blank(&external_id),
    };
    apply_attributes(&mut draft, m)?;
    if m.get("tax_codes")
        .and_then(Value::as_array)
        .is_some_and(|codes| !codes.is_empty())
    {
        return Err(ApiError::NotFound("tax_not_found"));
    }
    let now = state.clock.tick();
    if let Some(entries) = metadata {
        draft.metadata = replace_metadata(&draft.metadata, entries, now)?;
    }
    draft.updated_at = now;
    let idx = match existing {
        Some(i) => i,
        None => state.insert_customer(&external_id),
    };
    let Some(stored) = state.customers.get_mut(idx) else {
        return Err(ApiError::NotFound("customer_not_found"));
    };
    let (lago_id, sequential_id, created_at) =
        (stored.lago_id, stored.sequential_id, stored.created_at);
    let updated_at = if existing.is_some() {
        draft.updated_at
    } else {
        created_at
    };
    *stored = Customer {
        lago_id,
        sequential_id,
        created_at,
        updated_at,
        ..draft
    };
    Ok(json!({"customer": wire::customer(stored, CustomerView::Full)}))
}

/// A customer not stored yet (ids and timestamps are set when it is).
fn blank(external_id: &str) -> Customer {
    let epoch = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    Customer {
        lago_id: Uuid::nil(),
        external_id: external_id.to_owned(),
        sequential_id: 0,
        fields: Customer::default_fields(),
        shipping: Map::new(),
        billing: Map::new(),
        metadata: Vec::new(),
        created_at: epoch,
        updated_at: epoch,
        deleted_at: None,
    }
}

fn set(map: &mut Map<String, Value>, key: &str, value: Option<String>) {
    map.insert(key.to_owned(), value.map_or(Value::Null, Value::String));
}

/// Writes the attributes present in `m` into `c`, then validates the record as Rails would.
fn apply_attributes(c: &mut Customer, m: &Map<String, Value>) -> Result<(), ApiError> {
    for key in STRING_FIELDS {
        if let Some(v) = Param::of(m, key).update() {
            set(&mut c.fields, key, v);
        }
    }
    if let Some(v) = Param::of(m, "country").update() {
        set(&mut c.fields, "country", v.map(|s| s.to_uppercase()));
    }
    if let Some(v) = Param::of(m, "finalize_zero_amount_invoice").update() {
        let v = v.unwrap_or_else(|| "inherit".into());
        set(&mut c.fields, "finalize_zero_amount_invoice", Some(v));
    }
    match m.get("net_payment_term") {
        None => {}
        Some(Value::Null) => set(&mut c.fields, "net_payment_term", None),
        Some(v) => {
            let term = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match term {
                Some(t) if t >= 0 => {
                    c.fields.insert("net_payment_term".into(), t.into());
                }
                _ => return Err(ApiError::field("net_payment_term", "value_is_out_of_range")),
            }
        }
    }
    if let Some(b) = truthy(m.get("skip_invoice_custom_sections")) {
        c.fields
            .insert("skip_invoice_custom_sections".into(), b.into());
    }
    if let Some(Value::Object(ship)) = m.get("shipping_address") {
        for key in SHIPPING_FIELDS {
            if let Some(v) = Param::of(ship, key).update() {
                let v = if *key == "country" {
                    v.map(|s| s.to_uppercase())
                } else {
                    v
                };
                set(&mut c.shipping, key, v);
            }
        }
    }
    if let Some(Value::Object(billing)) = m.get("billing_configuration") {
        apply_billing(c, billing)?;
    }
    validate(c)
}

fn apply_billing(c: &mut Customer, b: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(v) = Param::of(b, "document_locale").update() {
        set(&mut c.billing, "document_locale", v);
    }
    if let Some(v) = Param::of(b, "payment_provider").update() {
        let known = |p: &String| {
            matches!(
                p.as_str(),
                "stripe" | "adyen" | "gocardless" | "cashfree" | "flutterwave" | "moneyhash"
            )
        };
        set(&mut c.billing, "payment_provider", v.filter(known));
    }
    if let Some(v) = Param::of(b, "payment_provider_code").update() {
        set(&mut c.billing, "payment_provider_code", v);
    }
    for (key, allowed) in [
        (
            "subscription_invoice_issuing_date_anchor",
            &["current_period_end", "next_period_start"],
        ),
        (
            "subscription_invoice_issuing_date_adjustment",
            &["align_with_finalization_date", "keep_anchor"],
        ),
    ] {
        if let Some(v) = Param::of(b, key).text() {
            if !allowed.contains(&v) {
                return Err(ApiError::field(key, "value_is_invalid"));
            }
            set(&mut c.billing, key, Some(v.to_owned()));
        }
    }
    Ok(())
}

fn text<'a>(c: &'a Customer, key: &str) -> Option<&'a str> {
    c.fields
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The customer model's validations, with Lago's error codes.
fn validate(c: &Customer) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    if text(c, "name").is_some_and(|n| n.chars().count() > 255) {
        push_error(&mut errors, "name", "value_is_too_long");
    }
    if text(c, "email").is_some_and(|e| !e.split(',').all(|p| valid_email(p.trim()))) {
        push_error(&mut errors, "email", "invalid_email_format");
    }
    if text(c, "currency").is_some_and(|cur| !is_currency(cur)) {
        push_error(&mut errors, "currency", "value_is_invalid");
    }
    if text(c, "country").is_some_and(|cc| !is_country(cc)) {
        push_error(&mut errors, "country", "not_a_valid_country_code");
    }
    let shipping_country = c.shipping.get("country").and_then(Value::as_str);
    if shipping_country.is_some_and(|cc| !cc.is_empty() && !is_country(cc)) {
        push_error(&mut errors, "shipping_country", "not_a_valid_country_code");
    }
    if text(c, "customer_type").is_some_and(|t| !matches!(t, "company" | "individual")) {
        push_error(&mut errors, "customer_type", "value_is_invalid");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A plausible single address: one `@`, a non-empty local part, a dotted domain, no spaces.
fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !e.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// Lago's metadata replacement: an entry with the `id` of an existing row updates it, one
/// without creates a row, and rows not referenced are deleted last. Keys stay unique per
/// customer at every step, so re-sending an existing key without its id fails.
fn replace_metadata(
    current: &[Metadatum],
    entries: &[Value],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Metadatum>, ApiError> {
    let mut rows: Vec<(Metadatum, bool)> = current.iter().map(|m| (m.clone(), false)).collect();
    for entry in entries {
        let Some(e) = entry.as_object() else {
            return Err(ApiError::field("key", "value_is_mandatory"));
        };
        let id = Param::of(e, "id");
        let target = rows
            .iter()
            .position(|(r, _)| id.text() == Some(r.lago_id.to_string().as_str()));
        let (mut row, pos) = match target {
            Some(i) => (rows[i].0.clone(), Some(i)),
            None => (
                Metadatum {
                    lago_id: Uuid::new_v4(),
                    key: String::new(),
                    value: String::new(),
                    display_in_invoice: false,
                    created_at: now,
                },
                None,
            ),
        };
        if let Some(k) = Param::of(e, "key").update() {
            row.key = k.unwrap_or_default();
        }
        if let Some(v) = Param::of(e, "value").update() {
            row.value = v.unwrap_or_default();
        }
        row.display_in_invoice = truthy(e.get("display_in_invoice")).unwrap_or(false);
        let mut errors = FieldErrors::new();
        if row.key.trim().is_empty() {
            push_error(&mut errors, "key", "value_is_mandatory");
        } else if rows
            .iter()
            .enumerate()
            .any(|(i, (r, _))| Some(i) != pos && r.key == row.key)
        {
            push_error(&mut errors, "key", "value_already_exist");
        }
        if row.key.chars().count() > METADATA_KEY_MAX {
            push_error(&mut errors, "key", "value_is_too_long");
        }
        if row.value.trim().is_empty() {
            push_error(&mut errors, "value", "value_is_mandatory");
        }
        if row.value.chars().count() > METADATA_VALUE_MAX {
            push_error(&mut errors, "value", "value_is_too_long");
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        match pos {
            Some(i) => rows[i] = (row, true),
            None => rows.push((row, true)),
        }
    }
    Ok(rows
        .into_iter()
        .filter(|(_, keep)| *keep)
        .map(|(r, _)| r)
        .collect())
}

/// `GET /customers/{external_id}`.
pub(crate) fn show(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let id = call.customer_segment(1, false)?;
    let c = state
        .live_customer(&id)
        .and_then(|i| state.customers.get(i))
        .ok_or(ApiError::NotFound("customer_not_found"))?;
    Ok(json!({"customer": wire::customer(c, CustomerView::Full)}))
}

/// `DELETE /customers/{external_id}`: soft delete; active subscriptions are terminated and
/// pending ones canceled.
pub(crate) fn delete(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let id = call.customer_segment(1, false)?;
    let idx = state
        .live_customer(&id)
        .ok_or(ApiError::NotFound("customer_not_found"))?;
    state.settle();
    state.delete_customer(idx);
    let c = state
        .customers
        .get(idx)
        .ok_or(ApiError::NotFound("customer_not_found"))?;
    Ok(json!({"customer": wire::customer(c, CustomerView::Full)}))
}

/// `GET /customers`: `external_id` (exact), `search_term`, `currencies[]`, `countries[]`,
/// ordered `created_at DESC, id ASC`.
pub(crate) fn list(state: &mut State, call: &Call) -> Result<Value, ApiError> {
    let q = &call.query;
    let (page, per_page) = q.pagination();
    let external_id = q.get("external_id");
    let search = q.present("search_term").map(str::to_lowercase);
    let currencies = q.list("currencies");
    let countries = q.list("countries");
    let matches = |c: &Customer| {
        let field = |k: &str| text(c, k).unwrap_or("");
        c.deleted_at.is_none()
            && external_id.is_none_or(|e| c.external_id == e)
            && (currencies.is_empty() || currencies.iter().any(|x| x == field("currency")))
            && (countries.is_empty() || countries.iter().any(|x| x == field("country")))
            && search.as_deref().is_none_or(|s| {
                ["name", "firstname", "lastname", "legal_name", "email"]
                    .iter()
                    .any(|k| field(k).to_lowercase().contains(s))
                    || c.external_id.to_lowercase().contains(s)
            })
    };
    let all: Vec<&Customer> = state
        .customers
        .iter()
        .rev()
        .filter(|c| matches(c))
        .collect();
    let (items, meta) = wire::paginate(all, page, per_page);
    let items: Vec<Value> = items
        .into_iter()
        .map(|c| wire::customer(c, CustomerView::List))
        .collect();
    Ok(json!({"customers": items, "meta": meta}))
}
