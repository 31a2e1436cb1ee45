//! A process that records usage through an outbox and delivers it: what the outbox's crash and
//! sharing tests start, kill with SIGKILL, and start again.
//!
//! ```text
//! outbox_worker CONFIG_TOML [--record N PREFIX SUB1,SUB2,...] [--drain SECONDS]
//! ```
//!
//! The configuration is an ordinary billing configuration with an `[outbox]` section; the
//! destination is named after the provider. With `--record` it first records N events
//! (`PREFIX-0` .. `PREFIX-{N-1}`, metric `api_calls`, quantity `1 + i % 5`, spread over the
//! subscriptions) and prints `recorded N`. Then it delivers until the outbox is drained (or the
//! time is up), prints `drained`, what this process delivered and the outbox's statistics (as
//! JSON, on one line), and exits.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::time::Duration;

use billing::outbox::{Destination, Outbox};
use billing::{BillingConfig, EventId, MetricCode, SubscriptionKey, UsageEvent};

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("outbox_worker: {message}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(config_path) = args.first() else {
        fail("usage: outbox_worker CONFIG_TOML [--record N PREFIX SUBS] [--drain SECONDS]")
    };
    let config = BillingConfig::from_toml_file(config_path).unwrap_or_else(|e| fail(e));
    let Some(outbox_config) = config.outbox.clone() else {
        fail("the configuration has no [outbox] section")
    };
    let backend = billing::connect(&config).unwrap_or_else(|e| fail(e));
    let name = config.provider.as_str();
    let outbox = Outbox::open(&outbox_config, vec![Destination::new(name, backend)])
        .await
        .unwrap_or_else(|e| fail(e));

    let mut drain = Duration::from_secs(120);
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--record" if i + 3 < args.len() => {
                let n: usize = args[i + 1].parse().unwrap_or_else(|e| fail(e));
                let prefix = &args[i + 2];
                let subs: Vec<SubscriptionKey> = args[i + 3]
                    .split(',')
                    .map(|s| SubscriptionKey::new(s).unwrap_or_else(|e| fail(e)))
                    .collect();
                let metric = MetricCode::new("api_calls").unwrap_or_else(|e| fail(e));
                let events: Vec<UsageEvent> = (0..n)
                    .map(|k| {
                        UsageEvent::new(
                            EventId::new(format!("{prefix}-{k}")).unwrap_or_else(|e| fail(e)),
                            subs[k % subs.len()].clone(),
                            metric.clone(),
                            (1 + k % 5).into(),
                        )
                    })
                    .collect();
                for chunk in events.chunks(100) {
                    outbox.record(chunk).await.unwrap_or_else(|e| fail(e));
                }
                println!("recorded {n}");
                let _ = std::io::stdout().flush();
                i += 4;
            }
            "--drain" if i + 1 < args.len() => {
                drain = Duration::from_secs(args[i + 1].parse().unwrap_or_else(|e| fail(e)));
                i += 2;
            }
            other => fail(format!("unexpected argument {other:?}")),
        }
    }

    let delivery = outbox.start();
    let counters = outbox.clone();
    println!("delivering");
    let _ = std::io::stdout().flush();
    let stats = delivery.drain(drain).await.unwrap_or_else(|e| fail(e));
    println!(
        "drained {} {}",
        serde_json::to_string(&counters.counters()).unwrap_or_else(|e| fail(e)),
        serde_json::to_string(&stats).unwrap_or_else(|e| fail(e))
    );
}
