//! `provider = "cutover"` and its `[cutover]` section, from TOML and from the environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use billing::cutover::{CutoverConfig, CutoverPlan};
use billing::{BillingConfig, ErrorKind, Provider};
use figment::Jail;

#[test]
fn the_section_comes_from_toml_or_the_environment() {
    let toml = BillingConfig::from_toml_str(
        "provider = \"cutover\"\n[cutover]\nsource = \"lago\"\ntarget = \"killbill\"\n\
         plan = \"plan.json\"\n",
    )
    .unwrap();
    let expected = CutoverConfig::new(Provider::Lago, Provider::Killbill, "plan.json");
    assert_eq!(toml.provider, Provider::Cutover);
    assert_eq!(toml.cutover.as_ref(), Some(&expected));
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "cutover");
        jail.set_env("BILLING_CUTOVER_SOURCE", "lago");
        jail.set_env("BILLING_CUTOVER_TARGET", "killbill");
        jail.set_env("BILLING_CUTOVER_PLAN", "plan.json");
        let env = BillingConfig::from_env().unwrap();
        assert_eq!(env.provider, Provider::Cutover);
        assert_eq!(env.cutover.as_ref(), Some(&expected));
        Ok(())
    });
}

#[test]
fn bad_sections_are_config_errors_at_start_up() {
    let unknown = BillingConfig::from_toml_str(
        "provider = \"cutover\"\n[cutover]\nsource = \"lago\"\ntarget = \"killbill\"\n\
         plan = \"p.json\"\nextra = 1\n",
    )
    .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::Config);
    let nested = BillingConfig::from_toml_str(
        "provider = \"cutover\"\n[cutover]\nsource = \"cutover\"\ntarget = \"memory\"\n\
         plan = \"p.json\"\n",
    )
    .unwrap();
    assert_eq!(
        billing::connect(&nested).unwrap_err().kind(),
        ErrorKind::Config
    );
    // A plan file that is not one.
    let dir = std::env::temp_dir().join(format!("billing-cutover-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_plan = dir.join("plan.json");
    std::fs::write(&bad_plan, "[]").unwrap();
    let config = BillingConfig::from_toml_str(&format!(
        "provider = \"cutover\"\n[cutover]\nsource = \"memory\"\ntarget = \"lago\"\n\
         plan = {:?}\n[lago]\nbase_url = \"http://127.0.0.1:9/api/v1\"\napi_key = \"k\"\n",
        bad_plan.display().to_string()
    ))
    .unwrap();
    let e = billing::connect(&config).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("cutover.plan"), "{e}");
    // A valid plan gets past the plan: what fails now is the rest (no Lago in this build, or
    // nothing listening), never the plan.
    CutoverPlan::new().save(&bad_plan).unwrap();
    if let Err(e) = billing::connect(&config) {
        assert!(!e.message().contains("cutover.plan"), "{e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
