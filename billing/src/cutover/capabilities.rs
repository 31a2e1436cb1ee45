//! What a cutover backend can do: where a call goes to both vendors, what both can do.

use billing_core::{Capabilities, MetadataLimits};

/// The capabilities of a cutover from `source` to `target`.
///
/// - Customer writes go to both: both must support them (and both make them atomically for the
///   whole to be); metadata fits the smaller limits; an email is required if either requires
///   one. Deletion, when both can, behaves as the target's (reads come from the target).
/// - Cancellations and plan changes of a subscription still in its cutover go to both.
/// - Creates go to the target alone: its start and anchor support.
/// - Usage is recorded and read on either side by timestamp: both must support each usage
///   feature; batches are no larger than the smaller limit; the read lag is the larger one.
pub fn intersect(source: &Capabilities, target: &Capabilities) -> Capabilities {
    let mut c = target.clone();
    c.customer_update = source.customer_update && target.customer_update;
    c.customer_delete = source.customer_delete.and(target.customer_delete);
    c.customer_metadata = match (source.customer_metadata, target.customer_metadata) {
        (Some(a), Some(b)) => Some(MetadataLimits {
            max_entries: a.max_entries.min(b.max_entries),
            max_key_chars: a.max_key_chars.min(b.max_key_chars),
            max_value_chars: a.max_value_chars.min(b.max_value_chars),
        }),
        _ => None,
    };
    c.customer_email_required = source.customer_email_required || target.customer_email_required;
    c.customer_writes_atomic = source.customer_writes_atomic && target.customer_writes_atomic;
    c.cancel_now = source.cancel_now && target.cancel_now;
    c.cancel_at_period_end = source.cancel_at_period_end && target.cancel_at_period_end;
    c.change_plan_now = source.change_plan_now && target.change_plan_now;
    c.change_plan_at_period_end =
        source.change_plan_at_period_end && target.change_plan_at_period_end;
    c.change_plan_vendor_default =
        source.change_plan_vendor_default && target.change_plan_vendor_default;
    c.usage_batch_max = source.usage_batch_max.min(target.usage_batch_max).max(1);
    c.usage_dedup_by_event_id = source.usage_dedup_by_event_id && target.usage_dedup_by_event_id;
    c.usage_backdated = source.usage_backdated && target.usage_backdated;
    c.usage_current_period = source.usage_current_period && target.usage_current_period;
    c.usage_range = source.usage_range && target.usage_range;
    c.usage_per_subscription = source.usage_per_subscription && target.usage_per_subscription;
    c.usage_read_lag = source.usage_read_lag.max(target.usage_read_lag);
    c.usage_amounts = source.usage_amounts && target.usage_amounts;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use serde_json::Value;

    /// Set only by the target, since creates go to it alone.
    const TARGET_ONLY: [&str; 3] = [
        "subscription_start_past",
        "subscription_start_future",
        "subscription_billing_anchor",
    ];

    /// Every capability, a field added later included, is the weaker side's unless the target
    /// alone decides it: a flag left out of `intersect` fails this test.
    #[test]
    fn every_capability_is_the_weaker_side_s_but_the_target_s_own() {
        let full = Capabilities::full();
        let Value::Object(fields) = serde_json::to_value(&full).unwrap() else {
            panic!("capabilities serialise as an object");
        };
        let weak: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(name, value)| {
                let weaker = match (name.as_str(), value) {
                    (_, Value::Bool(b)) => Value::Bool(!b),
                    ("usage_batch_max", _) => Value::from(1),
                    ("usage_read_lag", _) => {
                        serde_json::to_value(Duration::from_secs(600)).unwrap()
                    }
                    _ => Value::Null,
                };
                (name.clone(), weaker)
            })
            .collect();
        let weak: Capabilities = serde_json::from_value(Value::Object(weak.clone())).unwrap();
        for (source, target, target_is_full) in [(&weak, &full, true), (&full, &weak, false)] {
            let both = serde_json::to_value(intersect(source, target)).unwrap();
            let weak = serde_json::to_value(&weak).unwrap();
            let full = serde_json::to_value(&full).unwrap();
            for name in fields.keys() {
                let expected = if TARGET_ONLY.contains(&name.as_str()) {
                    if target_is_full {
                        &full[name]
                    } else {
                        &weak[name]
                    }
                } else {
                    &weak[name]
                };
                assert_eq!(&both[name], expected, "{name}");
            }
        }
    }

    #[test]
    fn both_must_support_what_goes_to_both() {
        let mut lago_like = Capabilities::full();
        lago_like.change_plan_now = false;
        lago_like.usage_range = false;
        lago_like.usage_batch_max = 100;
        lago_like.subscription_billing_anchor = false;
        let mut killbill_like = Capabilities::full();
        killbill_like.customer_metadata = None;
        killbill_like.usage_batch_max = 1;
        killbill_like.usage_read_lag = Duration::from_secs(2);
        killbill_like.usage_amounts = false;
        let c = intersect(&lago_like, &killbill_like);
        assert!(!c.usage_amounts, "one side prices no usage");
        assert!(!c.change_plan_now && !c.usage_range);
        assert!(c.customer_metadata.is_none());
        assert_eq!(c.usage_batch_max, 1);
        assert_eq!(c.usage_read_lag, Duration::from_secs(2));
        assert!(
            c.subscription_billing_anchor,
            "creates go to the target alone"
        );
    }
}
