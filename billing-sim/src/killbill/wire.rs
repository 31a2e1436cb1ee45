//! The simulator's own JSON shapes, written from `vendors/killbill.md` and the server's Json
//! classes: every field is written (Jackson writes nulls), `auditLogs` is `[]`, dates use Joda's
//! formats, and decimals are JSON numbers with their exact digits. Request bodies bind leniently,
//! as Kill Bill's `ObjectMapper` ignores unknown properties.

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::errors::{JSON_MAPPING, JSON_PARSE, KbError};

/// A decimal written as a JSON number with exactly its digits (`10.00`, `0.300000000`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Num(pub(crate) Decimal);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

/// An always-empty `auditLogs` list.
pub(crate) type AuditLogs = Vec<serde_json::Value>;

/// Binds a request body. An empty body or `null` is `None` (Jersey hands the resource `null`).
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, KbError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        KbError::json(
            http::StatusCode::BAD_REQUEST,
            JSON_PARSE,
            None,
            e.to_string(),
        )
    })?;
    if value.is_null() {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| {
        KbError::json(
            http::StatusCode::BAD_REQUEST,
            JSON_MAPPING,
            None,
            e.to_string(),
        )
    })
}

/// AccountJson as received.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AccountIn {
    pub(crate) account_id: Option<Uuid>,
    pub(crate) name: Option<String>,
    pub(crate) first_name_length: Option<i32>,
    pub(crate) external_key: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) bill_cycle_day_local: Option<i32>,
    pub(crate) currency: Option<String>,
    pub(crate) parent_account_id: Option<Uuid>,
    pub(crate) is_payment_delegated_to_parent: Option<bool>,
    pub(crate) payment_method_id: Option<Uuid>,
    pub(crate) reference_time: Option<String>,
    pub(crate) time_zone: Option<String>,
    pub(crate) address1: Option<String>,
    pub(crate) address2: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) company: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) notes: Option<String>,
    pub(crate) is_migrated: Option<bool>,
}

/// AccountJson as sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountOut {
    pub(crate) account_id: Uuid,
    pub(crate) name: Option<String>,
    pub(crate) first_name_length: Option<i32>,
    pub(crate) external_key: String,
    pub(crate) email: Option<String>,
    pub(crate) bill_cycle_day_local: i32,
    pub(crate) currency: Option<String>,
    pub(crate) parent_account_id: Option<Uuid>,
    pub(crate) is_payment_delegated_to_parent: bool,
    pub(crate) payment_method_id: Option<Uuid>,
    pub(crate) reference_time: String,
    pub(crate) time_zone: String,
    pub(crate) address1: Option<String>,
    pub(crate) address2: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) company: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) notes: Option<String>,
    pub(crate) is_migrated: Option<bool>,
    pub(crate) account_balance: Option<Num>,
    #[serde(rename = "accountCBA")]
    pub(crate) account_cba: Option<Num>,
    pub(crate) audit_logs: AuditLogs,
}

/// SubscriptionJson as received (create and change plan).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SubscriptionIn {
    pub(crate) account_id: Option<Uuid>,
    pub(crate) bundle_id: Option<Uuid>,
    pub(crate) bundle_external_key: Option<String>,
    pub(crate) subscription_id: Option<Uuid>,
    pub(crate) external_key: Option<String>,
    pub(crate) product_name: Option<String>,
    pub(crate) product_category: Option<String>,
    pub(crate) billing_period: Option<String>,
    pub(crate) phase_type: Option<String>,
    pub(crate) price_list: Option<String>,
    pub(crate) plan_name: Option<String>,
    pub(crate) bill_cycle_day_local: Option<i32>,
    pub(crate) quantity: Option<i32>,
}

/// EventSubscriptionJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventOut {
    pub(crate) event_id: Uuid,
    pub(crate) billing_period: Option<String>,
    pub(crate) effective_date: String,
    pub(crate) catalog_effective_date: String,
    pub(crate) plan: Option<String>,
    pub(crate) product: Option<String>,
    pub(crate) price_list: Option<String>,
    pub(crate) event_type: &'static str,
    pub(crate) is_blocked_billing: bool,
    pub(crate) is_blocked_entitlement: bool,
    pub(crate) service_name: &'static str,
    pub(crate) service_state_name: &'static str,
    pub(crate) phase: Option<String>,
    pub(crate) audit_logs: AuditLogs,
}

/// BlockPriceJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockPriceOut {
    pub(crate) unit_name: String,
    pub(crate) size: Num,
    pub(crate) price: Num,
    pub(crate) max: Num,
}

/// TierPriceJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TierPriceOut {
    pub(crate) block_prices: Vec<BlockPriceOut>,
}

/// UsagePriceJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsagePriceOut {
    pub(crate) usage_name: String,
    pub(crate) usage_type: &'static str,
    pub(crate) billing_mode: &'static str,
    pub(crate) tier_block_policy: String,
    pub(crate) tier_prices: Vec<TierPriceOut>,
}

/// PhasePriceJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhasePriceOut {
    pub(crate) plan_name: String,
    pub(crate) phase_name: String,
    pub(crate) phase_type: &'static str,
    pub(crate) fixed_price: Option<Num>,
    pub(crate) recurring_price: Option<Num>,
    pub(crate) usage_prices: Vec<UsagePriceOut>,
}

/// SubscriptionJson as sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscriptionOut {
    pub(crate) account_id: Uuid,
    pub(crate) bundle_id: Uuid,
    pub(crate) bundle_external_key: String,
    pub(crate) subscription_id: Uuid,
    pub(crate) external_key: String,
    pub(crate) start_date: String,
    pub(crate) product_name: String,
    pub(crate) product_category: &'static str,
    pub(crate) billing_period: &'static str,
    pub(crate) phase_type: &'static str,
    pub(crate) price_list: &'static str,
    pub(crate) plan_name: String,
    pub(crate) state: &'static str,
    pub(crate) source_type: &'static str,
    pub(crate) cancelled_date: Option<String>,
    pub(crate) charged_through_date: Option<String>,
    pub(crate) billing_start_date: String,
    pub(crate) billing_end_date: Option<String>,
    pub(crate) bill_cycle_day_local: Option<u32>,
    pub(crate) quantity: i32,
    pub(crate) events: Vec<EventOut>,
    pub(crate) prices: Vec<PhasePriceOut>,
    pub(crate) price_overrides: Option<Vec<PhasePriceOut>>,
    pub(crate) audit_logs: AuditLogs,
}

/// BundleTimelineJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BundleTimelineOut {
    pub(crate) account_id: Uuid,
    pub(crate) bundle_id: Uuid,
    pub(crate) external_key: String,
    pub(crate) events: Vec<EventOut>,
    pub(crate) audit_logs: AuditLogs,
}

/// BundleJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BundleOut {
    pub(crate) account_id: Uuid,
    pub(crate) bundle_id: Uuid,
    pub(crate) external_key: String,
    pub(crate) subscriptions: Vec<SubscriptionOut>,
    pub(crate) timeline: BundleTimelineOut,
    pub(crate) audit_logs: AuditLogs,
}

/// One usage record as received: both values kept raw, to bind them exactly as Jackson does.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UsageRecordIn {
    pub(crate) record_date: Option<Box<RawValue>>,
    pub(crate) amount: Option<Box<RawValue>>,
}

/// UnitUsageRecordJson.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UnitUsageIn {
    pub(crate) unit_type: Option<String>,
    pub(crate) usage_records: Option<Vec<UsageRecordIn>>,
}

/// SubscriptionUsageRecordJson.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UsageIn {
    pub(crate) subscription_id: Option<Uuid>,
    pub(crate) tracking_id: Option<String>,
    pub(crate) unit_usage_records: Option<Vec<UnitUsageIn>>,
}

/// RolledUpUnitJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RolledUpUnitOut {
    pub(crate) unit_type: String,
    pub(crate) amount: Num,
}

/// RolledUpUsageJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RolledUpUsageOut {
    pub(crate) subscription_id: Uuid,
    pub(crate) start_date: String,
    pub(crate) end_date: String,
    pub(crate) rolled_up_units: Vec<RolledUpUnitOut>,
}

/// TenantJson as received.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct TenantIn {
    pub(crate) external_key: Option<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) api_secret: Option<String>,
}

/// TenantJson as sent (the secret is never returned).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantOut {
    pub(crate) tenant_id: Uuid,
    pub(crate) external_key: Option<String>,
    pub(crate) api_key: String,
    pub(crate) api_secret: Option<String>,
    pub(crate) audit_logs: AuditLogs,
}

/// TagJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TagOut {
    pub(crate) tag_id: Uuid,
    pub(crate) object_type: &'static str,
    pub(crate) object_id: Uuid,
    pub(crate) tag_definition_id: Uuid,
    pub(crate) tag_definition_name: String,
    pub(crate) audit_logs: AuditLogs,
}

/// BlockingStateJson.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockingStateOut {
    pub(crate) blocked_id: Uuid,
    pub(crate) state_name: String,
    pub(crate) service: String,
    pub(crate) is_block_change: bool,
    pub(crate) is_block_entitlement: bool,
    pub(crate) is_block_billing: bool,
    pub(crate) effective_date: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) audit_logs: AuditLogs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_digits() {
        let out = RolledUpUnitOut {
            unit_type: "u".into(),
            amount: Num("0.300000000".parse().unwrap()),
        };
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"unitType":"u","amount":0.300000000}"#
        );
    }

    #[test]
    fn bodies_bind_leniently() {
        let a: Option<AccountIn> = parse_body(br#"{"name":"A","unknown":1}"#).unwrap();
        assert_eq!(a.unwrap().name.as_deref(), Some("A"));
        assert!(parse_body::<AccountIn>(b"").unwrap().is_none());
        assert!(parse_body::<AccountIn>(b"null").unwrap().is_none());
        assert!(parse_body::<AccountIn>(b"{").is_err());
        assert!(parse_body::<AccountIn>(br#"{"name":3}"#).is_err());
    }
}
