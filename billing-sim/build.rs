//! Detects `python3` for the test that runs the Python example suite
//! (`tests/python_client.rs`): without it, that test is compiled as ignored (`cfg(no_python3)`),
//! except under `CI=true`, where a missing interpreter must fail the run.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_python3)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !found && !ci {
        println!("cargo::rustc-cfg=no_python3");
    }
}
