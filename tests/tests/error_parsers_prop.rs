//! Property tests of every adapter's error-body parser (`VendorErrors`), plus Lago's per-event
//! batch errors: arbitrary bytes and arbitrary JSON values never panic, and what comes out is
//! bounded (the vendor's message and code are shortened, the status is kept).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing::billabear::BillaBearErrors;
use billing::killbill::KillBillErrors;
use billing::lago::LagoErrors;
use billing::lago::error::{ErrorBody, batch_errors};
use billing_http::{StatusCode, VendorErrors, check_vendor_errors};
use proptest::prelude::*;
use serde_json::Value;

fn parsers() -> Vec<(&'static str, Box<dyn VendorErrors>)> {
    vec![
        ("lago", Box::new(LagoErrors)),
        ("killbill", Box::new(KillBillErrors)),
        ("billabear", Box::new(BillaBearErrors)),
    ]
}

/// Arbitrary JSON, biased towards the keys vendors' error bodies use.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("code".to_owned()),
        Just("message".to_owned()),
        Just("error".to_owned()),
        Just("errors".to_owned()),
        Just("error_details".to_owned()),
        Just("status".to_owned()),
        Just("className".to_owned()),
        Just("causeMessage".to_owned()),
        Just("reason".to_owned()),
        Just("class".to_owned()),
        Just("detail".to_owned()),
        Just("0".to_owned()),
        Just("transaction_id".to_owned()),
        ".{0,40}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,400}".prop_map(Value::String),
        Just(Value::String("value_already_exist".into())),
    ];
    leaf.prop_recursive(4, 256, 16, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..16).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..16)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn status() -> impl Strategy<Value = StatusCode> {
    (100_u16..1000).prop_map(|s| StatusCode::from_u16(s).unwrap())
}

/// Every parser keeps its contract for one answer; Lago's body and batch parsers do not panic.
fn check(status: StatusCode, body: &[u8]) {
    for (vendor, parser) in parsers() {
        assert_eq!(check_vendor_errors(vendor, &*parser, status, body), Ok(()));
    }
    let _ = ErrorBody::parse(body);
    let _ = batch_errors(body);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes(status in status(), body in prop::collection::vec(any::<u8>(), 0..4096)) {
        check(status, &body);
    }

    #[test]
    fn arbitrary_json(status in status(), value in json()) {
        check(status, value.to_string().as_bytes());
    }

    #[test]
    fn truncated_json(status in status(), value in json(), cut in any::<prop::sample::Index>()) {
        let text = value.to_string();
        check(status, &text.as_bytes()[..cut.index(text.len() + 1)]);
    }
}
