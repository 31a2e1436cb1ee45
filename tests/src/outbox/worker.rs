//! Driving `outbox_worker` processes (the binary of this package): their configuration,
//! start, output, and SIGKILL.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use billing::outbox::{OutboxConfig, StoreLocation};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::sims::SimTarget;

/// HTTP settings for workers: short timeouts so that a restart does not wait long for the
/// lease of a batch that was in flight when its process was killed.
pub const WORKER_HTTP: &str = "timeout_ms = 600\nconnect_timeout_ms = 500\nmax_retries = 2\n\
                               retry_base_delay_ms = 20\nmax_retry_delay_ms = 200\n\
                               total_budget_ms = 1000\nconcurrency = 16\n";

/// The `outbox.store` setting naming `store` (with its password, for the worker's file).
pub fn store_setting(store: &StoreLocation) -> String {
    match store {
        StoreLocation::Sqlite(path) => path.display().to_string(),
        StoreLocation::Postgres(url) => url.expose().to_owned(),
        _ => panic!("unknown store kind"),
    }
}

/// A worker's configuration: the simulator's section and `[http]`, and an `[outbox]` on
/// `outbox.store` with a 1.5 s lease.
pub fn config_toml(target: &SimTarget, outbox: &OutboxConfig, concurrency: usize) -> String {
    format!(
        "{}\n[outbox]\nstore = {:?}\nconcurrency = {concurrency}\npoll_ms = 50\n\
         lease_ms = 1500\nsend_timeout_ms = 1200\nretry_base_delay_ms = 20\n\
         retry_max_delay_ms = 200\nstats_interval_ms = 0\n",
        target.toml(WORKER_HTTP),
        store_setting(&outbox.store)
    )
}

/// Writes `toml` to `dir/name` and returns the path.
///
/// # Panics
/// If it cannot be written.
pub fn write_config(dir: &Path, name: &str, toml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, toml).expect("write the worker's configuration");
    path
}

/// A running worker.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Worker {
    /// Starts `outbox_worker CONFIG ARGS...`.
    ///
    /// # Panics
    /// If it cannot start.
    pub fn spawn(binary: &str, config: &Path, args: &[String]) -> Self {
        let mut child = Command::new(binary)
            .arg(config)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start outbox_worker");
        let stdout = child.stdout.take().expect("piped stdout");
        Self {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// Waits (at most `within`) for a line starting with `prefix`; returns it, or `None` if the
    /// worker ended or the time ran out first.
    pub async fn line(&mut self, prefix: &str, within: Duration) -> Option<String> {
        let wait = async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                if line.starts_with(prefix) {
                    return Some(line);
                }
            }
            None
        };
        tokio::time::timeout(within, wait).await.ok().flatten()
    }

    /// Kills it with SIGKILL (no chance to clean up) and reaps it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// Waits for it to end; whether it succeeded.
    pub async fn wait(mut self) -> bool {
        self.child.wait().await.is_ok_and(|s| s.success())
    }
}
