//! Building the configured backend.

use std::sync::Arc;

use billing_core::{BillingBackend, Error, InMemoryBackend, Operation, Result};

use crate::config::{BillingConfig, Provider};
use crate::layers::Traced;

/// Builds the backend the configuration names, wrapped in [`crate::layers::TracingLayer`].
///
/// Every setting is checked here, at start-up, so a bad configuration fails before the first
/// call.
///
/// # Errors
/// A `Config` error naming the setting: a missing or invalid vendor setting, or a provider whose
/// adapter is not compiled in (enable the crate feature of the same name).
pub fn connect(config: &BillingConfig) -> Result<Arc<dyn BillingBackend>> {
    config.http.validate()?;
    match config.provider {
        Provider::Memory => Ok(traced(InMemoryBackend::with_sample_catalog())),
        #[cfg(feature = "lago")]
        Provider::Lago => {
            let section = config
                .lago
                .as_ref()
                .ok_or_else(|| missing_section(Provider::Lago))?;
            let backend =
                adapter_lago::LagoBackend::new(section, &config.http).map_err(connected)?;
            Ok(traced(backend))
        }
        #[cfg(feature = "killbill")]
        Provider::Killbill => {
            let section =
                (config.killbill.as_ref()).ok_or_else(|| missing_section(Provider::Killbill))?;
            let backend =
                adapter_killbill::KillBillBackend::new(section, &config.http).map_err(connected)?;
            Ok(traced(backend))
        }
        #[cfg(feature = "billabear")]
        Provider::Billabear => {
            let section =
                (config.billabear.as_ref()).ok_or_else(|| missing_section(Provider::Billabear))?;
            let backend = adapter_billabear::BillaBearBackend::new(section, &config.http)
                .map_err(connected)?;
            Ok(traced(backend))
        }
        Provider::Cutover => cutover(config),
        #[allow(unreachable_patterns)]
        other => Err(not_compiled_in(other)),
    }
}

/// [`connect`], then [`BillingBackend::check`]: the backend is returned only once the vendor
/// has answered one cheap authenticated request, so a wrong key, secret, tenant or URL stops
/// the application at start-up with an error naming the setting.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> billing::Result<()> {
/// let config = billing::BillingConfig::from_toml_str(r#"provider = "memory""#)?;
/// let backend = billing::connect_checked(&config).await?;
/// # let _ = backend; Ok(()) }
/// ```
///
/// # Errors
/// [`connect`]'s, then the check's: `Config` naming the base URL setting when the URL reaches
/// no API route, `Unauthenticated` naming the credential settings the vendor refused,
/// `Unavailable` or `Timeout` naming the base URL setting when the server cannot be reached.
pub async fn connect_checked(config: &BillingConfig) -> Result<Arc<dyn BillingBackend>> {
    let backend = connect(config)?;
    backend.check().await?;
    Ok(backend)
}

/// `provider = "cutover"`: the two vendors the `[cutover]` section names, each built from its
/// own section of the same configuration, and the plan file.
fn cutover(config: &BillingConfig) -> Result<Arc<dyn BillingBackend>> {
    let section = (config.cutover.as_ref()).ok_or_else(|| missing_section(Provider::Cutover))?;
    for (setting, provider) in [
        ("cutover.source", section.source),
        ("cutover.target", section.target),
    ] {
        if provider == Provider::Cutover {
            return Err(Error::config(setting, "must name a vendor, not `cutover`")
                .with_operation(Operation::Connect));
        }
    }
    if section.source == section.target {
        return Err(
            Error::config("cutover.target", "must differ from cutover.source")
                .with_operation(Operation::Connect),
        );
    }
    let side = |provider| {
        let mut one = config.clone();
        one.provider = provider;
        connect(&one)
    };
    let plan = crate::cutover::CutoverPlan::load(&section.plan).map_err(|e| {
        Error::config("cutover.plan", e.message()).with_operation(Operation::Connect)
    })?;
    let backend =
        crate::cutover::CutoverBackend::new(side(section.source)?, side(section.target)?, plan);
    Ok(traced(backend))
}

/// An adapter's construction error, as `connect`'s.
#[cfg_attr(
    not(any(feature = "lago", feature = "killbill", feature = "billabear")),
    allow(dead_code)
)]
fn connected(e: Error) -> Error {
    e.with_operation(Operation::Connect)
}

/// The settings each vendor's section must have, for the error of a missing section.
const REQUIRED: &[(Provider, &[&str])] = &[
    (Provider::Lago, &["base_url", "api_key"]),
    (
        Provider::Killbill,
        &["base_url", "username", "password", "api_key", "api_secret"],
    ),
    (Provider::Billabear, &["base_url", "api_key"]),
    (Provider::Cutover, &["source", "target", "plan"]),
];

/// The `Config` error of a provider whose section is missing: it names the section's first
/// required setting, lists them all, and the environment variables that can give them.
fn missing_section(provider: Provider) -> Error {
    let section = provider.as_str();
    let settings = REQUIRED
        .iter()
        .find(|(p, _)| *p == provider)
        .map_or(&[][..], |(_, s)| *s);
    let env: Vec<String> = settings
        .iter()
        .map(|s| crate::config::env_name(&format!("{section}.{s}")))
        .collect();
    let first = settings.first().copied().unwrap_or("base_url");
    Error::config(
        &format!("{section}.{first}"),
        format!(
            "missing: provider is {section} but there is no [{section}] section \
             (set {}, or {})",
            settings
                .iter()
                .map(|s| format!("{section}.{s}"))
                .collect::<Vec<_>>()
                .join(", "),
            env.join(", ")
        ),
    )
    .with_operation(Operation::Connect)
}

/// Wraps a backend in the tracing layer, as every backend `connect` returns is.
fn traced<B: BillingBackend + 'static>(backend: B) -> Arc<dyn BillingBackend> {
    Arc::new(Traced::new(backend))
}

/// Whether this build can connect to `provider` (its adapter's feature is enabled).
pub fn is_compiled_in(provider: Provider) -> bool {
    // Each adapter adds its arm here, behind its feature.
    match provider {
        Provider::Memory => true,
        #[cfg(feature = "lago")]
        Provider::Lago => true,
        #[cfg(feature = "killbill")]
        Provider::Killbill => true,
        #[cfg(feature = "billabear")]
        Provider::Billabear => true,
        Provider::Cutover => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

fn not_compiled_in(provider: Provider) -> Error {
    Error::config(
        "provider",
        format!(
            "`{0}` support is not compiled in; enable the `{0}` feature of the `billing` crate",
            provider.as_str()
        ),
    )
    .with_operation(Operation::Connect)
}
