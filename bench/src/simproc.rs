//! A simulator in its own process: the `billing-sim` binary, built in release mode and started
//! on an ephemeral port, so the bench process's CPU time and memory are the client's alone.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::cpu::{self, CpuTime};
use crate::vendor::Vendor;

/// Builds `billing-sim` in release mode (a no-op when it is up to date) and returns its path,
/// next to this binary's target directory.
pub fn build_binary() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "billing-sim",
            "-p",
            "billing-bench",
        ])
        .status()
        .context("run cargo to build billing-sim")?;
    if !status.success() {
        bail!("building billing-sim failed ({status})");
    }
    let exe = std::env::current_exe().context("locate the bench binary")?;
    // <target>/<profile>/billing-bench -> <target>/release/billing-sim
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("the bench binary has no target directory")?;
    let sim = target.join("release").join("billing-sim");
    if !sim.exists() {
        bail!(
            "{} not found; build it with `cargo build --release -p billing-sim` or pass --sim-bin",
            sim.display()
        );
    }
    Ok(sim)
}

/// A running simulator process. Killed when dropped.
#[derive(Debug)]
pub struct SimProcess {
    child: Child,
    pid: u32,
    url: String,
}

impl SimProcess {
    /// Starts `bin --vendor <vendor> --port 0 --seed-customers <seed>` and waits for the URL it
    /// prints once it is listening (after seeding).
    pub async fn start(bin: &Path, vendor: Vendor, seed_customers: usize) -> anyhow::Result<Self> {
        let mut child = Command::new(bin)
            .args(["--vendor", vendor.name(), "--port", "0"])
            .args(["--seed-customers", &seed_customers.to_string()])
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let pid = child.id().context("the simulator exited at once")?;
        let stdout = child.stdout.take().context("simulator stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = url_in(&line) {
                    return Ok(url);
                }
            }
            bail!("the {} simulator exited before listening", vendor.name())
        })
        .await
        .context("the simulator did not start within 120 s")??;
        // Keep reading so the simulator never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, pid, url })
    }

    /// The URL to configure the adapter with (Lago's and BillaBear's API base, Kill Bill's root).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The simulator's CPU time so far.
    pub fn cpu(&self) -> CpuTime {
        cpu::of_process(self.pid).unwrap_or_default()
    }

    /// Stops the process and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The first `http://` word of a line, without a trailing slash.
fn url_in(line: &str) -> Option<String> {
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(|w| w.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_url_the_simulator_prints() {
        assert_eq!(
            url_in("Lago simulator: http://127.0.0.1:4000/api/v1").as_deref(),
            Some("http://127.0.0.1:4000/api/v1")
        );
        assert_eq!(url_in("  basic auth admin:password"), None);
    }
}
