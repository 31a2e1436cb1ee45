//! The same application code, with the backend chosen by a TOML file (or `BILLING_*`
//! environment variables). Without arguments it uses an embedded `provider = "memory"` config.
//!
//! ```text
//! cargo run --example switch_by_config
//! cargo run --example switch_by_config -- path/to/billing.toml
//! BILLING_PROVIDER=memory cargo run --example switch_by_config -- --env
//! ```
#![allow(clippy::print_stdout)]

use billing::BillingConfig;

const EMBEDDED: &str = r#"
# Switch vendor here: provider = "lago" | "killbill" | "billabear" plus its section.
provider = "memory"

[http]
timeout_ms = 10000
max_retries = 4
"#;

#[tokio::main]
async fn main() -> billing::Result<()> {
    let arg = std::env::args().nth(1);
    let config = match arg.as_deref() {
        Some("--env") => BillingConfig::from_env()?,
        Some(path) => BillingConfig::load(path)?,
        None => BillingConfig::from_toml_str(EMBEDDED)?,
    };
    // Debug of a config never shows secrets.
    println!("config: {config:?}\n");
    let backend = billing::connect(&config)?;
    let run = format!("demo{}", std::process::id());
    let report = billing_examples::onboard_and_meter(backend.as_ref(), &run).await?;
    print!("{report}");
    Ok(())
}
