//! The raw baseline's request bodies, serialised with plain serde from the events: the same
//! JSON, byte for byte, that each adapter sends (checked against captured requests by
//! `fidelity`, in every run).

use std::collections::HashMap;

use anyhow::{Context, bail};
use billing::rust_decimal::Decimal;
use billing::{SubscriptionKey, UsageEvent};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Number;

use crate::vendor::Vendor;

/// Lago's `POST /events/batch` limit.
pub const LAGO_BATCH: usize = 100;

#[derive(Serialize)]
struct LagoBatch<'a> {
    events: Vec<LagoEvent<'a>>,
}

#[derive(Serialize)]
struct LagoEvent<'a> {
    transaction_id: &'a str,
    external_subscription_id: &'a str,
    code: &'a str,
    timestamp: String,
    properties: LagoProperties,
}

/// The seeded metrics' `field_name` is `quantity`.
#[derive(Serialize)]
struct LagoProperties {
    quantity: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KbUsage<'a> {
    subscription_id: &'a str,
    tracking_id: &'a str,
    unit_usage_records: [KbUnit<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KbUnit<'a> {
    unit_type: &'a str,
    usage_records: [KbRecord; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KbRecord {
    record_date: String,
    amount: Number,
}

#[derive(Serialize)]
struct BbEvent<'a> {
    event_id: &'a str,
    subscription: &'a str,
    code: &'a str,
    value: Number,
}

/// Events per request for the vendor.
pub fn batch_size(vendor: Vendor) -> usize {
    match vendor {
        Vendor::Lago => LAGO_BATCH,
        Vendor::Killbill | Vendor::Billabear => 1,
    }
}

/// The request bodies for `events`, in order: one per batch of [`batch_size`] events.
/// `vendor_ids` gives each subscription's vendor id (Kill Bill's and BillaBear's bodies name
/// it).
pub fn bodies(
    vendor: Vendor,
    events: &[UsageEvent],
    vendor_ids: &HashMap<SubscriptionKey, String>,
) -> anyhow::Result<Vec<Bytes>> {
    let id_of = |e: &UsageEvent| {
        vendor_ids
            .get(&e.subscription)
            .map(String::as_str)
            .with_context(|| format!("no vendor id for subscription {}", e.subscription))
    };
    let mut out = Vec::with_capacity(events.len().div_ceil(batch_size(vendor)));
    match vendor {
        Vendor::Lago => {
            for chunk in events.chunks(LAGO_BATCH) {
                let events = chunk
                    .iter()
                    .map(|e| LagoEvent {
                        transaction_id: e.id.as_str(),
                        external_subscription_id: e.subscription.as_str(),
                        code: e.metric.as_str(),
                        timestamp: Decimal::new(e.timestamp.timestamp_millis(), 3).to_string(),
                        properties: LagoProperties {
                            quantity: e.quantity.normalize().to_string(),
                        },
                    })
                    .collect();
                out.push(serde_json::to_vec(&LagoBatch { events })?.into());
            }
        }
        Vendor::Killbill => {
            for e in events {
                let body = KbUsage {
                    subscription_id: id_of(e)?,
                    tracking_id: e.id.as_str(),
                    unit_usage_records: [KbUnit {
                        unit_type: e.metric.as_str(),
                        usage_records: [KbRecord {
                            record_date: e.timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                            amount: integer(e.quantity)?,
                        }],
                    }],
                };
                out.push(serde_json::to_vec(&body)?.into());
            }
        }
        Vendor::Billabear => {
            for e in events {
                let body = BbEvent {
                    event_id: e.id.as_str(),
                    subscription: id_of(e)?,
                    code: e.metric.as_str(),
                    value: integer(e.quantity)?,
                };
                out.push(serde_json::to_vec(&body)?.into());
            }
        }
    }
    Ok(out)
}

/// A whole quantity as a JSON number (the bench only sends whole quantities).
fn integer(q: Decimal) -> anyhow::Result<Number> {
    let q = q.normalize();
    if q.scale() != 0 {
        bail!("the bench sends whole quantities only, not {q}");
    }
    Ok(Number::from(i64::try_from(q.mantissa())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn one_body_per_batch() {
        let subs = vec![SubscriptionKey::new("s").unwrap()];
        let ids: HashMap<_, _> = [(subs[0].clone(), "uuid".to_owned())].into();
        let events = fixture::events("e-", 0..250, &subs, fixture::now_ms()).unwrap();
        assert_eq!(bodies(Vendor::Lago, &events, &ids).unwrap().len(), 3);
        let kb = bodies(Vendor::Killbill, &events, &ids).unwrap();
        assert_eq!(kb.len(), 250);
        let first: serde_json::Value = serde_json::from_slice(&kb[0]).unwrap();
        assert_eq!(first["unitUsageRecords"][0]["usageRecords"][0]["amount"], 1);
        assert!(bodies(Vendor::Billabear, &events, &HashMap::new()).is_err());
    }
}
