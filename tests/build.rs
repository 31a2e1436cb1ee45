//! Tells the tests which optional servers this build was configured for, so a test whose server
//! is absent is reported as ignored (never as passed): `cfg(killbill_real)` when
//! `BILLING_TEST_KILLBILL_URL` names a real Kill Bill.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(killbill_real)");
    println!("cargo::rerun-if-env-changed=BILLING_TEST_KILLBILL_URL");
    if std::env::var_os("BILLING_TEST_KILLBILL_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=killbill_real");
    }
}
