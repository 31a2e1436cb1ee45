//! Tells the tests which optional prerequisites this build has, so a test whose prerequisite is
//! absent is reported as ignored with the reason (never as passed):
//! - `cfg(killbill_real)` when `BILLING_TEST_KILLBILL_URL` names a real Kill Bill;
//! - `cfg(postgres_unavailable)` when PostgreSQL's binaries are missing and this is not CI.
//!   Under `CI=true` the PostgreSQL tests run, and fail if PostgreSQL is missing.

use std::path::Path;

fn main() {
    killbill();
    postgres();
}

fn killbill() {
    println!("cargo::rustc-check-cfg=cfg(killbill_real)");
    println!("cargo::rerun-if-env-changed=BILLING_TEST_KILLBILL_URL");
    if std::env::var_os("BILLING_TEST_KILLBILL_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=killbill_real");
    }
}

fn postgres() {
    println!("cargo::rustc-check-cfg=cfg(postgres_unavailable)");
    println!("cargo::rerun-if-env-changed=CI");
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
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if !(on_path || in_debian_tree || ci) {
        println!("cargo::rustc-cfg=postgres_unavailable");
    }
}
