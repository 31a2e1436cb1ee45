//! A simulator in its own process, so the bench process's CPU time and memory are the client's
//! alone. By default the process is this very binary in its hidden `--serve-sim` mode (the
//! `billing-sim` library, built with the bench in one `cargo run --release`); `--sim-bin` runs
//! a `billing-sim` binary instead.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use billing_sim::SimOptions;
use billing_sim::billabear::BillaBearSim;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::cpu::{self, CpuTime};
use crate::vendor::Vendor;

/// What to start a simulator process from.
#[derive(Debug, Clone)]
pub enum Launcher {
    /// This binary, in `--serve-sim` mode.
    SelfExe(PathBuf),
    /// A `billing-sim` binary.
    SimBin(PathBuf),
}

impl Launcher {
    /// `--sim-bin` if given, else this binary.
    pub fn new(sim_bin: Option<&Path>) -> anyhow::Result<Self> {
        Ok(match sim_bin {
            Some(p) => Self::SimBin(p.to_path_buf()),
            None => Self::SelfExe(std::env::current_exe().context("locate the bench binary")?),
        })
    }

    fn command(&self, vendor: Vendor, seed_customers: usize) -> Command {
        let seed = seed_customers.to_string();
        match self {
            Self::SelfExe(exe) => {
                let mut c = Command::new(exe);
                c.args(["--serve-sim", vendor.name(), "--seed-customers", &seed]);
                c
            }
            Self::SimBin(bin) => {
                let mut c = Command::new(bin);
                c.args(["--vendor", vendor.name(), "--port", "0"])
                    .args(["--seed-customers", &seed]);
                c
            }
        }
    }
}

/// The `--serve-sim` mode: starts `vendor`'s simulator on an ephemeral port with
/// `seed_customers` customers, prints its URL, and serves until killed.
///
/// # Errors
/// If the simulator cannot start.
pub async fn serve(vendor: Vendor, seed_customers: usize) -> anyhow::Result<()> {
    let options = SimOptions::default();
    let (url, server) = match vendor {
        Vendor::Lago => {
            let sim = LagoSim::start(options).await?;
            sim.seed_customers(seed_customers, "seed-");
            (sim.api_url(), sim.into_server())
        }
        Vendor::Killbill => {
            let sim = KillBillSim::start(options).await?;
            sim.seed_accounts(seed_customers, "seed-");
            (sim.base_url(), sim.into_server())
        }
        Vendor::Billabear => {
            let sim = BillaBearSim::start(options).await?;
            sim.seed_customers(seed_customers, "seed-");
            (sim.api_url(), sim.into_server())
        }
    };
    println!("{} simulator: {url}", vendor.name());
    server.wait().await;
    Ok(())
}

/// A running simulator process. Killed when dropped.
#[derive(Debug)]
pub struct SimProcess {
    child: Child,
    pid: u32,
    url: String,
}

impl SimProcess {
    /// Starts a simulator process with `seed_customers` customers and waits for the URL it
    /// prints once it is listening (after seeding).
    pub async fn start(
        launcher: &Launcher,
        vendor: Vendor,
        seed_customers: usize,
    ) -> anyhow::Result<Self> {
        let mut child = launcher
            .command(vendor, seed_customers)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start the {} simulator ({launcher:?})", vendor.name()))?;
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
