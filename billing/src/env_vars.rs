//! `BILLING_*` environment variables as settings: `BILLING_LAGO_API_KEY` is `lago.api_key`.
//!
//! Only the library's own settings are read. An application may keep settings of its own under
//! the same prefix (`BILLING_LAGO_WEBHOOK_SECRET`, `BILLING_TEST_KILLBILL_URL`): they are not
//! settings of the library, so they are left alone rather than refused. Which names are
//! settings comes from each section's own `Deserialize` (the field list serde derives), so the
//! list cannot drift from the structs.

use figment::providers::Env;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::config::ENV_PREFIX;

/// Top-level keys a configuration may have. Vendor sections are accepted (and ignored) even when
/// their adapter is not compiled in, so one file serves builds with different features.
pub(crate) const SECTIONS: &[&str] = &[
    "provider",
    "http",
    "lago",
    "killbill",
    "billabear",
    "cutover",
    "outbox",
];

/// The environment provider: every variable naming a setting, nothing else.
pub(crate) fn provider() -> Env {
    Env::prefixed(ENV_PREFIX).filter_map(|key| setting_of(key.as_str()).map(Into::into))
}

/// The setting a variable (without the prefix) names, `None` if it names none.
fn setting_of(variable: &str) -> Option<String> {
    let k = variable.to_ascii_lowercase();
    if k == "provider" {
        return Some(k);
    }
    SECTIONS.iter().find_map(|section| {
        let rest = k.strip_prefix(section)?.strip_prefix('_')?;
        let known = match fields_of_section(section) {
            Some(fields) => fields.contains(&rest),
            // A section whose settings cannot be listed (its adapter is not compiled in: the
            // whole section is ignored anyway) takes any name.
            None => true,
        };
        known.then(|| format!("{section}.{rest}"))
    })
}

/// `BILLING_*` variables set in this process that name a section but no setting of it (such as
/// `BILLING_LAGO_API_KYE`): left alone, and named in a configuration error's hint.
pub(crate) fn ignored() -> Vec<String> {
    let mut names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| {
            k.get(..ENV_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(ENV_PREFIX))
        })
        .filter(|k| {
            let rest = &k[ENV_PREFIX.len()..];
            let lower = rest.to_ascii_lowercase();
            let in_section = SECTIONS
                .iter()
                .any(|s| lower.strip_prefix(s).is_some_and(|r| r.starts_with('_')));
            in_section && setting_of(rest).is_none()
        })
        .collect();
    names.sort();
    names
}

/// The settings of a section, as its type deserializes them.
fn fields_of_section(section: &str) -> Option<&'static [&'static str]> {
    match section {
        "http" => fields_of::<billing_http::HttpConfig>(),
        "outbox" => fields_of::<crate::outbox::OutboxConfig>(),
        "cutover" => fields_of::<crate::cutover::CutoverConfig>(),
        #[cfg(feature = "lago")]
        "lago" => fields_of::<adapter_lago::LagoConfig>(),
        #[cfg(feature = "killbill")]
        "killbill" => fields_of::<adapter_killbill::KillBillConfig>(),
        #[cfg(feature = "billabear")]
        "billabear" => fields_of::<adapter_billabear::BillaBearConfig>(),
        _ => None,
    }
}

/// The field names serde's derive gives `deserialize_struct` for `T` (`None` if `T` is not
/// deserialized as a struct).
fn fields_of<T: for<'de> Deserialize<'de>>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only records the field list a struct asks for, then stops.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only the field list is read"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("only the field list is read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_the_sections_fields() {
        assert_eq!(setting_of("PROVIDER").as_deref(), Some("provider"));
        assert_eq!(
            setting_of("HTTP_TIMEOUT_MS").as_deref(),
            Some("http.timeout_ms")
        );
        assert_eq!(setting_of("OUTBOX_STORE").as_deref(), Some("outbox.store"));
        assert_eq!(setting_of("HTTP_TIMEOUT").as_deref(), None);
        assert_eq!(setting_of("TEST_KILLBILL_URL"), None);
        assert_eq!(setting_of("PROVIDERS"), None);
        let http = fields_of::<billing_http::HttpConfig>().unwrap_or_default();
        assert!(http.contains(&"total_budget_ms") && http.contains(&"proxy_url"));
        assert!(!http.contains(&"client"), "skipped fields are not settings");
    }

    #[cfg(feature = "lago")]
    #[test]
    fn vendor_sections_list_their_settings() {
        assert_eq!(setting_of("LAGO_API_KEY").as_deref(), Some("lago.api_key"));
        assert_eq!(setting_of("LAGO_WEBHOOK_SECRET"), None);
    }

    /// The README's settings table names every setting of each vendor section, with its
    /// environment variable: a setting added to a section without its row fails here.
    #[cfg(all(feature = "lago", feature = "killbill", feature = "billabear"))]
    #[test]
    fn the_readme_lists_every_vendor_setting_with_its_variable() {
        let readme = include_str!("../../README.md");
        for section in ["lago", "killbill", "billabear"] {
            for field in fields_of_section(section).unwrap_or_default() {
                let setting = format!("{section}.{field}");
                let row = format!("| `{setting}` | `{}` |", crate::config::env_name(&setting));
                assert!(readme.contains(&row), "README: no row {row}");
            }
        }
    }
}
