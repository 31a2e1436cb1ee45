//! Symfony validator rules and PHP value semantics the server relies on.

use serde_json::{Map, Value};

/// Symfony's messages, word for word.
pub(crate) mod msg {
    pub const NOT_BLANK: &str = "This value should not be blank.";
    pub const EMAIL: &str = "This value is not a valid email address.";
    pub const CHOICE: &str = "The value you selected is not a valid choice.";
    pub const LOCALE: &str = "This value is not a valid locale.";
    pub const COUNTRY: &str = "This value is not a valid country.";
    pub const POSITIVE: &str = "This value should be positive.";
    pub const POSITIVE_OR_ZERO: &str = "This value should be either positive or zero.";
    pub const UUID: &str = "This is not a valid UUID.";
    pub const DATE: &str = "This value is not a valid date.";
    pub const DATETIME: &str = "This value is not a valid datetime.";
    pub const STRIPE: &str = "The stripe is not configured.";
    pub const PLAN_MISSING: &str = "Subscription plan does not exist";
    pub const PRICE_MISSING: &str = "Price does not exist";
    pub const NO_VALID_PRICE: &str = "No valid price found";
    pub const PAYMENT_DETAILS_MISSING: &str = "Payment details do not exist";

    /// `Assert\Type` with the given type list (`string`, `integer|float`, ...).
    pub fn type_of(types: &str) -> String {
        format!("This value should be of type {types}.")
    }
}

/// Ordered validation violations; a later message for the same path replaces the earlier one
/// in place, as `$errorOutput[$propertyPath] = $error->getMessage()` does.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<(String, String)>);

impl Violations {
    /// Records a violation.
    pub fn add(&mut self, path: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(p, _)| p == path) {
            Some(entry) => entry.1 = message,
            None => self.0.push((path.to_owned(), message)),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `{"<path>": "<message>"}` object, in order.
    pub fn to_json(&self) -> Value {
        let map: Map<String, Value> = self
            .0
            .iter()
            .map(|(p, m)| (p.clone(), Value::String(m.clone())))
            .collect();
        Value::Object(map)
    }
}

/// The field as an untyped PHP property sees it: absent and `null` are both `None`.
pub(crate) fn field<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

/// `Assert\NotBlank`: `false`, `''`, `[]` and null are blank; `0` and `"0"` are not.
pub(crate) fn is_blank(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

/// Whether `Assert\Type(types)` accepts a non-null value. `array` accepts JSON objects too
/// (both decode to PHP arrays).
pub(crate) fn has_type(value: &Value, types: &[&str]) -> bool {
    types.iter().any(|t| match *t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "float" => value.is_f64(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array() || value.is_object(),
        _ => false,
    })
}

/// Runs `Assert\Type` on an optional value, recording the message at `path`.
pub(crate) fn check_type(v: &mut Violations, path: &str, value: Option<&Value>, types: &[&str]) {
    if let Some(value) = value
        && !has_type(value, types)
    {
        v.add(path, msg::type_of(&types.join("|")));
    }
}

/// Runs `Assert\Choice` (strict) on an optional value.
pub(crate) fn check_choice(
    v: &mut Violations,
    path: &str,
    value: Option<&Value>,
    choices: &[&str],
) {
    if let Some(value) = value
        && !value.as_str().is_some_and(|s| choices.contains(&s))
    {
        v.add(path, msg::CHOICE);
    }
}

/// `Assert\NotBlank(allowNull: true)`: present and blank.
pub(crate) fn check_not_blank_allow_null(v: &mut Violations, path: &str, value: Option<&Value>) {
    if value.is_some() && is_blank(value) {
        v.add(path, msg::NOT_BLANK);
    }
}

/// `Assert\NotBlank`.
pub(crate) fn check_not_blank(v: &mut Violations, path: &str, value: Option<&Value>) {
    if is_blank(value) {
        v.add(path, msg::NOT_BLANK);
    }
}

/// A scalar as PHP's string cast renders it (`true` -> `"1"`, `false` -> `""`).
pub(crate) fn php_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("1".to_owned()),
        Value::Bool(false) => Some(String::new()),
        _ => None,
    }
}

/// `Ramsey\Uuid\Uuid::isValid`, returning the canonical lower-case form Postgres would
/// compare. Accepts an optional `urn:uuid:` prefix and braces, like ramsey.
pub(crate) fn uuid(s: &str) -> Option<String> {
    let s = s.strip_prefix("urn:uuid:").unwrap_or(s);
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    let groups: Vec<&str> = s.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then(|| s.to_ascii_lowercase())
}

/// Symfony's `Email` constraint in its default `html5` mode (a dot is required in the domain).
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    local_ok && domain_ok
}

/// `Assert\Locale` approximated: a 2-3 letter language, optionally followed by `_` or `-`
/// and a script or region subtag (`en`, `en_GB`, `de-DE`, `zh_Hans_CN`).
pub(crate) fn is_locale(s: &str) -> bool {
    let mut parts = s.split(['_', '-']);
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    lang_ok
        && parts.all(|p| (2..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// ISO 3166-1 alpha-2 codes (`Assert\Country`, case-sensitive).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK \
DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU \
GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY \
MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU \
RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `s` is an ISO 3166-1 alpha-2 code.
pub(crate) fn is_country(s: &str) -> bool {
    s.len() == 2 && COUNTRIES.split_ascii_whitespace().any(|c| c == s)
}

/// `Assert\Date`: `YYYY-MM-DD` naming a real day.
pub(crate) fn date(s: &str) -> Option<chrono::NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// `(int) $string`: the leading numeric prefix (whitespace, sign, digits, fraction, exponent)
/// truncated toward zero; `0` when there is none.
pub(crate) fn php_int(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let b = t.as_bytes();
    let skip_digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let sign = usize::from(b.first().is_some_and(|c| *c == b'+' || *c == b'-'));
    let int_end = skip_digits(sign);
    let mut end = int_end;
    if end < b.len() && b[end] == b'.' {
        end = skip_digits(end + 1);
    }
    if end > sign && end < b.len() && (b[end] == b'e' || b[end] == b'E') {
        let exp = end + 1 + usize::from(b.get(end + 1).is_some_and(|c| *c == b'+' || *c == b'-'));
        let exp_end = skip_digits(exp);
        if exp_end > exp {
            end = exp_end;
        }
    }
    let saturate = |f: f64| f.clamp(i64::MIN as f64, i64::MAX as f64) as i64;
    if end == int_end {
        t[..end]
            .parse::<i64>()
            .unwrap_or_else(|_| t[..end].parse::<f64>().map_or(0, saturate))
    } else {
        t[..end].parse::<f64>().map_or(0, saturate)
    }
}

/// PHP truthiness of a query string: `""` and `"0"` are false.
pub(crate) fn php_truthy(s: &str) -> bool {
    !s.is_empty() && s != "0"
}

/// A decoded JSON value as PHP's `json_decode(..., true)` + `json_encode` round trip returns
/// it: objects become arrays, so `{}` comes back as `[]` and `{"0":"a","1":"b"}` as
/// `["a","b"]`. Applied recursively.
pub(crate) fn php_array(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sequential = map.keys().enumerate().all(|(i, k)| *k == i.to_string());
            if sequential {
                Value::Array(map.values().map(php_array).collect())
            } else {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), php_array(v))).collect())
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(php_array).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_int_cast() {
        assert_eq!(php_int("10"), 10);
        assert_eq!(php_int("abc"), 0);
        assert_eq!(php_int(""), 0);
        assert_eq!(php_int(" 7x"), 7);
        assert_eq!(php_int("1e2"), 100);
        assert_eq!(php_int("2.9"), 2);
        assert_eq!(php_int("-3"), -3);
        assert_eq!(php_int("101"), 101);
    }

    #[test]
    fn uuids_emails_countries() {
        assert!(uuid("6F1C1E2A-1B2C-4D3E-8F4A-5B6C7D8E9F00").is_some());
        assert!(uuid("{6f1c1e2a-1b2c-4d3e-8f4a-5b6c7d8e9f00}").is_some());
        assert!(uuid("6f1c1e2a1b2c4d3e8f4a5b6c7d8e9f00").is_none());
        assert!(uuid("starter-monthly").is_none());
        assert!(is_email("a.b+c@example.org"));
        assert!(!is_email("a@localhost"));
        assert!(!is_email("nope"));
        assert!(is_country("DE") && !is_country("de") && !is_country("XX"));
        assert!(is_locale("en") && is_locale("en_GB") && !is_locale("english!"));
    }

    #[test]
    fn php_arrays() {
        assert_eq!(php_array(&json!({})), json!([]));
        assert_eq!(php_array(&json!({"0": "a", "1": "b"})), json!(["a", "b"]));
        assert_eq!(php_array(&json!({"k": {}})), json!({"k": []}));
        assert!(is_blank(Some(&json!(false))) && !is_blank(Some(&json!(0))));
    }
}
