//! Where each adapter may send requests, and a check of a simulator's raw request log against
//! it: every request path matches one of the vendor's routes segment for segment, every
//! variable segment is a whole key the test used (or a vendor id), percent-encoded so that no
//! raw `/`, `?`, `#`, space or non-ASCII byte is left in it, and the query has only the
//! parameters the adapter uses. A key that escaped its segment would add segments, change a
//! literal one, or leave a fragment of itself as a segment: each is reported.

use std::collections::BTreeSet;

use crate::sims::Vendor;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// Method, upper case.
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The query string, still encoded.
    pub query: Option<String>,
}

/// `*` marks a variable segment.
type Route = (&'static str, &'static str);

const LAGO: &[Route] = &[
    ("GET", "/api/v1/customers"),
    ("POST", "/api/v1/customers"),
    ("DELETE", "/api/v1/customers/*"),
    ("GET", "/api/v1/customers/*/subscriptions"),
    ("GET", "/api/v1/customers/*/current_usage"),
    ("GET", "/api/v1/subscriptions"),
    ("POST", "/api/v1/subscriptions"),
    ("PUT", "/api/v1/subscriptions/*"),
    ("DELETE", "/api/v1/subscriptions/*"),
    ("POST", "/api/v1/events/batch"),
    ("GET", "/api/v1/billable_metrics"),
    ("GET", "/api/v1/plans/*"),
];
const LAGO_QUERY: &[&str] = &[
    "external_id",
    "external_customer_id",
    "status[]",
    "page",
    "per_page",
    "external_subscription_id",
    "apply_taxes",
];

const KILLBILL: &[Route] = &[
    ("GET", "/1.0/kb/accounts"),
    ("POST", "/1.0/kb/accounts"),
    ("GET", "/1.0/kb/accounts/pagination"),
    ("GET", "/1.0/kb/accounts/*"),
    ("PUT", "/1.0/kb/accounts/*"),
    ("DELETE", "/1.0/kb/accounts/*"),
    ("GET", "/1.0/kb/accounts/*/bundles"),
    ("GET", "/1.0/kb/accounts/*/block"),
    ("GET", "/1.0/kb/subscriptions"),
    ("POST", "/1.0/kb/subscriptions"),
    ("GET", "/1.0/kb/subscriptions/*"),
    ("PUT", "/1.0/kb/subscriptions/*"),
    ("DELETE", "/1.0/kb/subscriptions/*"),
    ("POST", "/1.0/kb/usages"),
    ("GET", "/1.0/kb/usages/*"),
    ("GET", "/1.0/kb/usages/*/*"),
    ("GET", "/1.0/kb/catalog"),
];
const KILLBILL_QUERY: &[&str] = &[
    "externalKey",
    "offset",
    "limit",
    "audit",
    "accountWithBalance",
    "accountWithBalanceAndCBA",
    "startDate",
    "endDate",
    "requestedDate",
    "entitlementPolicy",
    "billingPolicy",
    "callCompletion",
    "useRequestedDateForBilling",
    "policy",
    "blockingStateTypes",
    "cancelAllSubscriptions",
];

const BILLABEAR: &[Route] = &[
    ("GET", "/api/v1/customer"),
    ("POST", "/api/v1/customer"),
    ("GET", "/api/v1/customer/*"),
    ("PUT", "/api/v1/customer/*"),
    ("POST", "/api/v1/customer/*/disable"),
    ("GET", "/api/v1/customer/*/subscription"),
    ("POST", "/api/v1/customer/*/subscription/start"),
    ("GET", "/api/v1/customer/*/costs"),
    ("GET", "/api/v1/subscription"),
    ("GET", "/api/v1/subscription/plans"),
    ("GET", "/api/v1/subscription/*"),
    ("POST", "/api/v1/subscription/*/cancel"),
    ("POST", "/api/v1/subscription/*/plan"),
    ("POST", "/api/v1/events"),
];
const BILLABEAR_QUERY: &[&str] = &[
    "limit",
    "per_page",
    "last_key",
    "reference",
    "customer",
    "status",
];

/// The routes `vendor`'s adapter may call.
pub fn routes(vendor: Vendor) -> &'static [(&'static str, &'static str)] {
    match vendor {
        Vendor::Lago => LAGO,
        Vendor::KillBill => KILLBILL,
        Vendor::BillaBear => BILLABEAR,
    }
}

fn query_names(vendor: Vendor) -> &'static [&'static str] {
    match vendor {
        Vendor::Lago => LAGO_QUERY,
        Vendor::KillBill => KILLBILL_QUERY,
        Vendor::BillaBear => BILLABEAR_QUERY,
    }
}

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// RFC 3986 `pchar` outside percent-escapes: what a segment may carry raw.
fn raw_segment_ok(segment: &str) -> bool {
    segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&b))
}

fn is_vendor_id(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// Why `request` is outside `vendor`'s routes, or addresses something other than a whole key
/// of `keys`; `None` when it is confined.
pub fn violation(vendor: Vendor, request: &RawRequest, keys: &BTreeSet<String>) -> Option<String> {
    let what = format!("{} {}", request.method, request.path);
    let segments: Vec<&str> = request.path.split('/').collect();
    let mut matched = false;
    for (method, template) in routes(vendor) {
        let parts: Vec<&str> = template.split('/').collect();
        if *method != request.method || parts.len() != segments.len() {
            continue;
        }
        if parts
            .iter()
            .zip(&segments)
            .all(|(p, s)| *p == "*" || p == s)
        {
            matched = true;
            for (p, s) in parts.iter().zip(&segments) {
                if *p != "*" {
                    continue;
                }
                if !raw_segment_ok(s) {
                    return Some(format!("{what}: segment {s:?} is not fully encoded"));
                }
                let Some(decoded) = percent_decode(s) else {
                    return Some(format!("{what}: segment {s:?} has a broken escape"));
                };
                if !keys.contains(&decoded) && !is_vendor_id(&decoded) {
                    return Some(format!("{what}: segment {decoded:?} is not a whole key"));
                }
            }
            break;
        }
    }
    if !matched {
        return Some(format!("{what}: matches none of the adapter's routes"));
    }
    for pair in request.query.as_deref().unwrap_or("").split('&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let plus = |t: &str| t.replace('+', " ");
        let (Some(name), Some(value)) = (percent_decode(&plus(name)), percent_decode(&plus(value)))
        else {
            return Some(format!("{what}: query {pair:?} has a broken escape"));
        };
        if !query_names(vendor).contains(&name.as_str()) {
            return Some(format!("{what}: unexpected query parameter {name:?}"));
        }
        if !raw_segment_ok(pair) || pair.contains('#') {
            return Some(format!("{what}: query pair {pair:?} is not fully encoded"));
        }
        let key_like = [
            "external_id",
            "externalKey",
            "reference",
            "external_customer_id",
        ];
        if key_like.contains(&name.as_str()) && !keys.contains(&value) && !is_vendor_id(&value) {
            return Some(format!("{what}: {name}={value:?} is not a whole key"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(method: &str, path: &str, query: Option<&str>) -> Option<String> {
        let keys: BTreeSet<String> = ["k/x", "k?e=1", "plain", "sp ace"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let r = RawRequest {
            method: method.into(),
            path: path.into(),
            query: query.map(str::to_owned),
        };
        violation(Vendor::Lago, &r, &keys)
    }

    #[test]
    fn an_encoded_key_is_confined() {
        assert_eq!(check("DELETE", "/api/v1/customers/k%2Fx", None), None);
        assert_eq!(
            check("GET", "/api/v1/customers/k%3Fe%3D1/current_usage", None),
            None
        );
        assert_eq!(
            check("GET", "/api/v1/customers", Some("external_id=sp+ace")),
            None
        );
        assert_eq!(
            check("GET", "/api/v1/customers", Some("external_id=k%3Fe%3D1")),
            None
        );
    }

    #[test]
    fn an_escaped_key_is_reported() {
        // `k/x` raw adds a segment: no route has it.
        assert!(check("DELETE", "/api/v1/customers/k/x", None).is_some());
        // A fragment of a key is not a whole key.
        assert!(check("DELETE", "/api/v1/customers/k", None).is_some());
        // `k?e=1` raw in a query adds a parameter.
        assert!(check("GET", "/api/v1/customers", Some("external_id=k?e=1&e=1")).is_some());
        assert!(check("GET", "/api/v1/customers", Some("external_id=k&e=1")).is_some());
        // Unencoded bytes and broken escapes.
        assert!(check("DELETE", "/api/v1/customers/sp ace", None).is_some());
        assert!(check("DELETE", "/api/v1/customers/%zz", None).is_some());
        // Another endpoint altogether.
        assert!(check("GET", "/api/v1/organizations", None).is_some());
        assert!(check("POST", "/api/v1/customers/plain", None).is_some());
    }
}
