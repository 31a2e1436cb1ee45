//! `AccountResource`: create, read by id or external key, partial update, list with pagination.
//! Closing an account and reading its tags and blocking states live in `closing.rs`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::auth::{TenantCtx, created_by, require_json};
use super::errors::{ACCOUNT_API, JSON_MAPPING, KbError, KbResult};
use super::ids::path_id;
use super::pagination::PageRequest;
use super::reply::{Params, created, json, no_content};
use super::state::{Account, AccountData, Sim};
use super::time::{fmt_datetime, parse_joda};
use super::wire::{AccountIn, AccountOut, Num, parse_body};

/// ISO 4217 codes of Kill Bill's `Currency` enum (plus BTC).
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL \
BSD BTN BWP BYR BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP \
GEL GGP GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS IMP INR IQD IRR ISK JEP JMD JOD JPY KES KGS KHR \
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD MMK MNT MOP MRO MUR MVR MWK MXN MYR \
MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP \
SLL SOS SPL SRD STD SVC SYP SZL THB TJS TMT TND TOP TRY TTD TVD TWD TZS UAH UGX USD UYU UZS VEF VND VUV WST \
XAF XCD XDR XOF XPF YER ZAR ZMW ZWD BTC";

/// The `accounts.external_key` column size.
const EXTERNAL_KEY_MAX: usize = 255;

fn mapping_error(message: String) -> KbError {
    KbError::json(StatusCode::BAD_REQUEST, JSON_MAPPING, None, message)
}

/// Jackson's binding of the typed AccountJson fields (`Currency` enum, Joda `DateTime`).
fn check_binding(input: &AccountIn) -> KbResult<Option<DateTime<Utc>>> {
    if let Some(c) = &input.currency
        && !CURRENCIES.split(' ').any(|x| x == c)
    {
        return Err(mapping_error(format!(
            "Cannot deserialize value of type `org.killbill.billing.catalog.api.Currency` from String \"{c}\": not one of the values accepted for Enum class"
        )));
    }
    match &input.reference_time {
        None => Ok(None),
        Some(s) => parse_joda(s)
            .map(|p| Some(p.instant()))
            .ok_or_else(|| mapping_error(format!("Invalid format: \"{s}\""))),
    }
}

/// `DateTimeZone.forID`, loosely: region ids (`Europe/Paris`), `UTC`/`GMT` and fixed offsets.
fn check_time_zone(tz: &str) -> KbResult<()> {
    let region = !tz.is_empty()
        && tz.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-+".contains(&b))
        })
        && tz.as_bytes()[0].is_ascii_alphabetic();
    let offset =
        tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && tz.as_bytes()[3] == b':';
    if region || offset {
        Ok(())
    } else {
        Err(KbError::illegal_argument(format!(
            "The datetime zone id '{tz}' is not recognised"
        )))
    }
}

/// AccountJson of an account.
pub(crate) fn account_json(account: &Account, balance: bool, cba: bool) -> AccountOut {
    let d = &account.data;
    AccountOut {
        account_id: account.id,
        name: d.name.clone(),
        first_name_length: d.first_name_length,
        external_key: d.external_key.clone(),
        email: d.email.clone(),
        bill_cycle_day_local: d.bill_cycle_day_local,
        currency: d.currency.clone(),
        parent_account_id: d.parent_account_id,
        is_payment_delegated_to_parent: d.is_payment_delegated_to_parent,
        payment_method_id: d.payment_method_id,
        reference_time: fmt_datetime(account.reference_time),
        time_zone: d.time_zone.clone(),
        address1: d.address1.clone(),
        address2: d.address2.clone(),
        postal_code: d.postal_code.clone(),
        company: d.company.clone(),
        city: d.city.clone(),
        state: d.state.clone(),
        country: d.country.clone(),
        locale: d.locale.clone(),
        phone: d.phone.clone(),
        notes: d.notes.clone(),
        is_migrated: d.is_migrated,
        account_balance: (balance || cba).then_some(Num(Decimal::ZERO)),
        account_cba: cba.then_some(Num(Decimal::ZERO)),
        audit_logs: Vec::new(),
    }
}

/// An unknown account id: the tenant-context lookup fails before the account API runs, so the
/// answer is `ObjectDoesNotExist` with a null code (observed), not 3002 as the notes say.
fn not_found_for_id(id: Uuid) -> KbError {
    KbError::object_does_not_exist(id, "ACCOUNT")
}

/// `POST /1.0/kb/accounts`: 201, empty body, `Location` with the full URL.
pub(crate) async fn create(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> KbResult<Response> {
    require_json(&headers, &body)?;
    let input: Option<AccountIn> = parse_body(&body)?;
    let reference_time = match &input {
        Some(i) => check_binding(i)?,
        None => None,
    };
    let input =
        input.ok_or_else(|| KbError::illegal_argument("AccountJson body should be specified"))?;
    if let Some(tz) = &input.time_zone {
        check_time_zone(tz)?;
    }
    created_by(&headers)?;
    let now = sim.clock.now();
    let id = Uuid::new_v4();
    let external_key = input.external_key.clone().unwrap_or_else(|| id.to_string());
    let mut db = sim.db();
    if db
        .account_keys
        .contains_key(&(tenant.id, external_key.clone()))
    {
        return Err(KbError::json(
            StatusCode::CONFLICT,
            ACCOUNT_API,
            Some(3000),
            format!("Account already exists for key {external_key}"),
        ));
    }
    if external_key.chars().count() > EXTERNAL_KEY_MAX {
        return Err(KbError::value_too_long("EXTERNAL_KEY", EXTERNAL_KEY_MAX));
    }
    let data = AccountData {
        name: input.name,
        first_name_length: input.first_name_length,
        external_key: external_key.clone(),
        email: input.email,
        bill_cycle_day_local: input.bill_cycle_day_local.unwrap_or(0),
        currency: input.currency,
        parent_account_id: input.parent_account_id,
        is_payment_delegated_to_parent: input.is_payment_delegated_to_parent.unwrap_or(false),
        payment_method_id: input.payment_method_id,
        time_zone: input.time_zone.unwrap_or_else(|| "UTC".to_owned()),
        address1: input.address1,
        address2: input.address2,
        postal_code: input.postal_code,
        company: input.company,
        city: input.city,
        state: input.state,
        country: input.country,
        locale: input.locale,
        phone: input.phone,
        notes: input.notes,
        is_migrated: input.is_migrated,
    };
    db.accounts.insert(
        id,
        Account {
            id,
            tenant: tenant.id,
            data,
            reference_time: reference_time.unwrap_or(now),
            tags: Vec::new(),
            blocking: Vec::new(),
        },
    );
    db.account_keys.insert((tenant.id, external_key), id);
    db.account_order.entry(tenant.id).or_default().push(id);
    Ok(created(&headers, &format!("/1.0/kb/accounts/{id}")))
}

/// `GET /1.0/kb/accounts/{accountId}`: 200, or 404 (`ObjectDoesNotExist`, code null).
pub(crate) async fn get(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let params = Params::parse(query.as_deref());
    let db = sim.db();
    let account = db
        .account(tenant.id, id)
        .ok_or_else(|| not_found_for_id(id))?;
    Ok(json(&account_json(
        account,
        params.bool_or("accountWithBalance", false),
        params.bool_or("accountWithBalanceAndCBA", false),
    )))
}

/// `GET /1.0/kb/accounts?externalKey=`: 200, or 404 with code 3003.
pub(crate) async fn get_by_key(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let params = Params::parse(query.as_deref());
    let Some(key) = params.get("externalKey") else {
        return Err(KbError::json(
            StatusCode::BAD_REQUEST,
            ACCOUNT_API,
            Some(3004),
            "An attempt was made to get the id for a <null> external key.",
        ));
    };
    let db = sim.db();
    let account = db
        .account_keys
        .get(&(tenant.id, key.to_owned()))
        .and_then(|id| db.account(tenant.id, *id))
        .ok_or_else(|| {
            KbError::json(
                StatusCode::NOT_FOUND,
                ACCOUNT_API,
                Some(3003),
                format!("Account does not exist for key {key}"),
            )
        })?;
    Ok(json(&account_json(
        account,
        params.bool_or("accountWithBalance", false),
        params.bool_or("accountWithBalanceAndCBA", false),
    )))
}

/// `GET /1.0/kb/accounts/pagination?offset&limit`: a JSON array and the pagination headers.
pub(crate) async fn list(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let params = Params::parse(query.as_deref());
    let page = PageRequest {
        offset: params.long_or("offset", 0)?,
        limit: params.long_or("limit", 100)?,
    };
    let balance = params.bool_or("accountWithBalance", false);
    let cba = params.bool_or("accountWithBalanceAndCBA", false);
    let audit = params.get("audit").unwrap_or("NONE").to_owned();
    let db = sim.db();
    // Only the page is copied: listing stays cheap with many accounts.
    let ids: &[Uuid] = db.account_order.get(&tenant.id).map_or(&[], Vec::as_slice);
    let items: Vec<AccountOut> = page
        .slice(ids)
        .iter()
        .filter_map(|id| db.account(tenant.id, *id))
        .map(|a| account_json(a, balance, cba))
        .collect();
    let mut resp = json(&items);
    resp.headers_mut().extend(page.headers(
        ids.len(),
        "/1.0/kb/accounts/pagination",
        &[
            ("accountWithBalanceAndCBA", cba.to_string()),
            ("audit", audit),
            ("accountWithBalance", balance.to_string()),
        ],
    ));
    Ok(resp)
}

/// `DefaultAccount.validateAccountUpdateInput`: external key, a set currency, a set BCD, the
/// time zone and the reference date cannot change. With `ignore_null` (the reset mode) a null
/// value counts as a change.
fn check_immutables(
    current: &Account,
    input: &AccountIn,
    reference_time: Option<DateTime<Utc>>,
    ignore_null: bool,
) -> KbResult<()> {
    let d = &current.data;
    let differs = |new: Option<&str>, cur: &str| match new {
        Some(n) => n != cur,
        None => ignore_null,
    };
    if differs(input.external_key.as_deref(), &d.external_key) {
        return Err(KbError::illegal_argument(format!(
            "Killbill doesn't support updating the account external key yet: new={}, current={}",
            input.external_key.as_deref().unwrap_or("null"),
            d.external_key
        )));
    }
    if let Some(cur) = &d.currency
        && differs(input.currency.as_deref(), cur)
    {
        return Err(KbError::illegal_argument(format!(
            "Killbill doesn't support updating the account currency yet: new={}, current={cur}",
            input.currency.as_deref().unwrap_or("null")
        )));
    }
    let new_bcd = input.bill_cycle_day_local.filter(|b| *b != 0);
    if d.bill_cycle_day_local != 0
        && (ignore_null || new_bcd.is_some())
        && new_bcd != Some(d.bill_cycle_day_local)
    {
        return Err(KbError::illegal_argument(format!(
            "Killbill doesn't support updating the account BCD yet: new={}, current={}",
            new_bcd.map_or("null".to_owned(), |b| b.to_string()),
            d.bill_cycle_day_local
        )));
    }
    if differs(input.time_zone.as_deref(), &d.time_zone) {
        return Err(KbError::illegal_argument(format!(
            "Killbill doesn't support updating the account timeZone yet: new={}, current={}",
            input.time_zone.as_deref().unwrap_or("null"),
            d.time_zone
        )));
    }
    if let Some(rt) = reference_time
        && rt.date_naive() != current.reference_time.date_naive()
    {
        return Err(KbError::illegal_argument(format!(
            "Killbill doesn't support updating the account referenceTime yet: new={}, current={}",
            fmt_datetime(rt),
            fmt_datetime(current.reference_time)
        )));
    }
    Ok(())
}

fn merge(data: &mut AccountData, input: AccountIn, reset: bool) {
    fn pick<T>(slot: &mut Option<T>, new: Option<T>, reset: bool) {
        if new.is_some() || reset {
            *slot = new;
        }
    }
    if data.currency.is_none() {
        data.currency = input.currency;
    }
    if data.bill_cycle_day_local == 0
        && let Some(b) = input.bill_cycle_day_local.filter(|b| *b != 0)
    {
        data.bill_cycle_day_local = b;
    }
    pick(&mut data.name, input.name, reset);
    pick(&mut data.first_name_length, input.first_name_length, reset);
    pick(&mut data.email, input.email, reset);
    pick(&mut data.parent_account_id, input.parent_account_id, reset);
    pick(&mut data.payment_method_id, input.payment_method_id, reset);
    pick(&mut data.address1, input.address1, reset);
    pick(&mut data.address2, input.address2, reset);
    pick(&mut data.postal_code, input.postal_code, reset);
    pick(&mut data.company, input.company, reset);
    pick(&mut data.city, input.city, reset);
    pick(&mut data.state, input.state, reset);
    pick(&mut data.country, input.country, reset);
    pick(&mut data.locale, input.locale, reset);
    pick(&mut data.phone, input.phone, reset);
    pick(&mut data.notes, input.notes, reset);
    if let Some(v) = input.is_payment_delegated_to_parent {
        data.is_payment_delegated_to_parent = v;
    }
    pick(&mut data.is_migrated, input.is_migrated, reset);
}

/// `PUT /1.0/kb/accounts/{accountId}`: 204. Partial by default (null fields are ignored);
/// `treatNullAsReset=true` resets them.
pub(crate) async fn update(
    State(sim): State<Sim>,
    Extension(tenant): Extension<TenantCtx>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> KbResult<Response> {
    let id = path_id(&segment)?;
    let reset = Params::parse(query.as_deref()).bool_or("treatNullAsReset", false);
    require_json(&headers, &body)?;
    let input: Option<AccountIn> = parse_body(&body)?;
    let reference_time = match &input {
        Some(i) => check_binding(i)?,
        None => None,
    };
    let input =
        input.ok_or_else(|| KbError::illegal_argument("AccountJson body should be specified"))?;
    if let Some(tz) = &input.time_zone {
        check_time_zone(tz)?;
    }
    created_by(&headers)?;
    let mut db = sim.db();
    let account = db
        .account_mut(tenant.id, id)
        .ok_or_else(|| not_found_for_id(id))?;
    check_immutables(account, &input, reference_time, reset)?;
    merge(&mut account.data, input, reset);
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones() {
        assert!(check_time_zone("UTC").is_ok());
        assert!(check_time_zone("America/Los_Angeles").is_ok());
        assert!(check_time_zone("+05:30").is_ok());
        assert!(check_time_zone("not a zone").is_err());
        assert!(check_time_zone("").is_err());
    }
}
