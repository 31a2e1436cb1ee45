//! Switches a running application from a simulated Lago to a simulated Kill Bill with no server
//! and no code change: seeds customers whose subscriptions started on different days, migrates
//! them mid-period (Kill Bill bills each from the end of its Lago period, Lago stops there),
//! then runs on `provider = "cutover"` while a steady stream of usage events crosses the cutover
//! instants and the simulators' clocks move forward, and reconciles: per side, events sent,
//! counted, counted twice and lost. Exits with an error unless every event is counted exactly
//! once. Writes the reconciliation as JSON to `--report` (default `cutover-report.json`).
//!
//! ```text
//! cargo run --example cutover_lago_to_killbill [-- --subscriptions 100 --events 100 --report FILE]
//! ```
#![allow(clippy::print_stdout)]

use billing_examples::cutover_demo::{cutover_demo, summary};

const USAGE: &str = "usage: [--subscriptions N] [--events N] [--report FILE]";

#[tokio::main]
async fn main() -> billing::Result<()> {
    let mut subscriptions = 100;
    let mut events = 100;
    let mut report = std::path::PathBuf::from("cutover-report.json");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| billing::Error::invalid_input(USAGE))?;
        match arg.as_str() {
            "--subscriptions" | "--events" => {
                let n = value
                    .parse::<usize>()
                    .map_err(|_| billing::Error::invalid_input(USAGE))?;
                if arg == "--subscriptions" {
                    subscriptions = n;
                } else {
                    events = n;
                }
            }
            "--report" => report = value.into(),
            _ => return Err(billing::Error::invalid_input(USAGE)),
        }
    }
    let started = std::time::Instant::now();
    let outcome = cutover_demo(subscriptions, events).await?;
    println!("{}", summary(&outcome));
    println!("ran in {:.1} s", started.elapsed().as_secs_f64());
    let json = serde_json::to_string_pretty(&outcome.reconciliation)
        .map_err(|e| billing::Error::unexpected(e.to_string()))?;
    std::fs::write(&report, json)
        .map_err(|e| billing::Error::config(&report.display().to_string(), e))?;
    println!("reconciliation written to {}", report.display());
    if outcome.reconciliation.is_exact() && outcome.events_refused == 0 {
        Ok(())
    } else {
        Err(billing::Error::unexpected(
            "the reconciliation found events counted twice, lost or unverifiable",
        ))
    }
}
