//! Tells the tests which optional prerequisites are present, so a test whose prerequisite is
//! missing is compiled as `#[ignore]`d (reported as ignored, never as passed), and, with
//! `CI=true`, the tests that require every prerequisite fail if one is missing.
//!
//! - `billing_specs`: the vendors' API descriptions are in `../shared/specs`.
//! - `killbill_real`: `BILLING_TEST_KILLBILL_URL` names a real Kill Bill server.
//! - `billing_ci`: `CI=true`.
//! - `postgres_unavailable`: PostgreSQL's binaries are missing and this is not CI (under
//!   `CI=true` the PostgreSQL tests run, and fail if PostgreSQL is missing).

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(billing_specs)");
    println!("cargo::rustc-check-cfg=cfg(killbill_real)");
    println!("cargo::rustc-check-cfg=cfg(billing_ci)");
    println!("cargo::rerun-if-env-changed=BILLING_TEST_KILLBILL_URL");
    println!("cargo::rerun-if-env-changed=CI");
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs");
    println!("cargo::rerun-if-changed={}", specs.display());
    if specs.is_dir() {
        println!("cargo::rustc-cfg=billing_specs");
    }
    if std::env::var_os("BILLING_TEST_KILLBILL_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=killbill_real");
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if ci {
        println!("cargo::rustc-cfg=billing_ci");
    }
    postgres(ci);
}

fn postgres(ci: bool) {
    println!("cargo::rustc-check-cfg=cfg(postgres_unavailable)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-changed=/usr/lib/postgresql");
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let on_path =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| has(&d)));
    let in_debian_tree = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| has(&e.path().join("bin")))
        })
        .unwrap_or(false);
    if !(on_path || in_debian_tree || ci) {
        println!("cargo::rustc-cfg=postgres_unavailable");
    }
}
