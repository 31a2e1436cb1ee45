//! The Python example suite (`clients/python/test_billing_sim.py`, standard library only) run
//! against this build of the binary, as another language's test suite would use it. Ignored when
//! `python3` is missing (detected by `build.rs`), except under `CI=true`, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

#[test]
#[cfg_attr(no_python3, ignore = "python3 is not installed")]
fn the_python_suite_passes_against_the_binary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/python");
    let output = Command::new("python3")
        .args(["-m", "unittest", "-v", "test_billing_sim"])
        .current_dir(&dir)
        .env("BILLING_SIM_BIN", env!("CARGO_BIN_EXE_billing-sim"))
        .output()
        .unwrap_or_else(|e| panic!("python3 could not run: {e}"));
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python suite failed:\n{report}"
    );
    // unittest's summary: "Ran N tests". A suite that found no test would pass as well.
    let ran: u32 = report
        .split_once("Ran ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(ran > 0, "the Python suite ran no test:\n{report}");
}
