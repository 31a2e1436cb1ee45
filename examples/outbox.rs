//! Looks after an application's usage outbox: statistics, dead letters, held unknown outcomes,
//! and delivery.
//!
//! ```text
//! cargo run --example outbox -- --config billing.toml stats
//! cargo run --example outbox -- --config billing.toml dead-letters list [--destination NAME]
//! cargo run --example outbox -- --config billing.toml dead-letters redrive (--all | --destination NAME | ID...)
//! cargo run --example outbox -- --config billing.toml held list [--destination NAME]
//! cargo run --example outbox -- --config billing.toml held release (--all | --destination NAME | ID...)
//! cargo run --example outbox -- --config billing.toml held mark-done (--all | --destination NAME | ID...)
//! cargo run --example outbox -- --config billing.toml deliver [--within SECONDS]
//! ```
//!
//! The configuration is the application's own (`[outbox]` section, or `BILLING_OUTBOX_*`). An ID
//! is `SEQ/DESTINATION`, as `list` prints it. Re-driven dead letters and released held events
//! are sent by the application's running delivery (or by `deliver`, which sends through the
//! configured provider, as a destination named after it). Listing opens the store read-only.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Duration;

use billing::outbox::{DeliveryId, Destination, Outbox, Parked, Selection};
use billing::{BillingConfig, Error};
use clap::{Args, Parser, Subcommand};

/// Look after a billing usage outbox.
#[derive(Debug, Parser)]
struct Cli {
    /// The application's billing configuration (TOML; `BILLING_*` variables apply over it).
    #[arg(long)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pending, in flight, dead letters, held unknowns and the oldest pending age, per
    /// destination.
    Stats,
    /// Events a destination refused for good.
    #[command(subcommand)]
    DeadLetters(DeadLetters),
    /// Events whose answer was lost on a destination that does not deduplicate.
    #[command(subcommand)]
    Held(Held),
    /// Delivers through the configured provider until the outbox is drained.
    Deliver {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        within: u64,
    },
}

#[derive(Debug, Subcommand)]
enum DeadLetters {
    /// Lists them.
    List(Filter),
    /// Sends them again (once their cause is fixed).
    Redrive(Which),
}

#[derive(Debug, Subcommand)]
enum Held {
    /// Lists them.
    List(Filter),
    /// Sends them again: the vendor did not get them (or a duplicate is acceptable).
    Release(Which),
    /// Marks them done without sending: the vendor has them.
    MarkDone(Which),
}

#[derive(Debug, Args)]
struct Filter {
    /// Only this destination's.
    #[arg(long)]
    destination: Option<String>,
}

#[derive(Debug, Args)]
struct Which {
    /// All of them.
    #[arg(long, conflicts_with_all = ["destination", "ids"])]
    all: bool,
    /// All of this destination's.
    #[arg(long, conflicts_with = "ids")]
    destination: Option<String>,
    /// These (`SEQ/DESTINATION`).
    ids: Vec<String>,
}

impl Which {
    fn selection(&self) -> billing::Result<Selection> {
        if self.all {
            return Ok(Selection::All);
        }
        if let Some(d) = &self.destination {
            return Ok(Selection::Destination(d.clone()));
        }
        if self.ids.is_empty() {
            return Err(Error::invalid_input(
                "say which: --all, --destination NAME, or IDs (SEQ/DESTINATION)",
            ));
        }
        let ids = self
            .ids
            .iter()
            .map(|i| i.parse::<DeliveryId>())
            .collect::<billing::Result<Vec<_>>>()?;
        Ok(Selection::Ids(ids))
    }
}

async fn open(config: &BillingConfig, read_only: bool) -> billing::Result<Outbox> {
    let mut outbox = config.outbox.clone().ok_or_else(|| {
        Error::config(
            "outbox.store",
            "missing: the configuration has no [outbox] section (or BILLING_OUTBOX_STORE)",
        )
    })?;
    outbox.read_only = read_only;
    Outbox::open(&outbox, Vec::new()).await
}

async fn list(config: &BillingConfig, kind: Parked, filter: &Filter) -> billing::Result<()> {
    let outbox = open(config, true).await?;
    let parked = outbox.list_all(kind, filter.destination.as_deref()).await?;
    println!("{} {}(s)", parked.len(), kind.as_str());
    for p in parked {
        let event = p.event.as_ref().map_or_else(
            || "(undecodable)".to_owned(),
            |e| format!("{} {} {} x{}", e.subscription, e.id, e.metric, e.quantity),
        );
        let vendor = match (p.error.status, &p.error.code) {
            (Some(s), Some(c)) => format!(" [{s} {c}]"),
            (Some(s), None) => format!(" [{s}]"),
            (None, Some(c)) => format!(" [{c}]"),
            (None, None) => String::new(),
        };
        println!(
            "{:<24} {event}\n    since {}, {} attempt(s), {}{vendor}: {}",
            p.id.to_string(),
            p.since.format("%Y-%m-%d %H:%M:%S"),
            p.attempts,
            p.error.kind,
            p.error.message
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> billing::Result<()> {
    let config = BillingConfig::load(&cli.config)?;
    match &cli.command {
        Command::Stats => {
            let stats = open(&config, true).await?.stats().await?;
            println!(
                "pending {}, in flight {}, dead letters {}, held unknown {}, oldest pending {}",
                stats.pending,
                stats.in_flight,
                stats.dead_letters,
                stats.held_unknown,
                stats
                    .oldest_pending_age
                    .map_or_else(|| "-".to_owned(), |a| format!("{:.1} s", a.as_secs_f64()))
            );
            for d in &stats.destinations {
                println!(
                    "  {:<12} pending {}, in flight {}, dead letters {}, held unknown {}",
                    d.destination, d.pending, d.in_flight, d.dead_letters, d.held_unknown
                );
            }
        }
        Command::DeadLetters(DeadLetters::List(f)) => list(&config, Parked::DeadLetter, f).await?,
        Command::Held(Held::List(f)) => list(&config, Parked::HeldUnknown, f).await?,
        Command::DeadLetters(DeadLetters::Redrive(w)) => {
            let n = open(&config, false)
                .await?
                .redrive(Parked::DeadLetter, w.selection()?)
                .await?;
            println!("{n} dead letter(s) re-driven: they are pending again");
        }
        Command::Held(Held::Release(w)) => {
            let n = open(&config, false)
                .await?
                .redrive(Parked::HeldUnknown, w.selection()?)
                .await?;
            println!("{n} held event(s) released: they will be sent again");
        }
        Command::Held(Held::MarkDone(w)) => {
            let n = open(&config, false)
                .await?
                .mark_done(Parked::HeldUnknown, w.selection()?)
                .await?;
            println!("{n} held event(s) marked done");
        }
        Command::Deliver { within } => {
            let backend = billing::connect(&config)?;
            let settings = config
                .outbox
                .clone()
                .ok_or_else(|| Error::config("outbox.store", "missing: no [outbox] section"))?;
            let outbox = Outbox::open(
                &settings,
                vec![Destination::new(config.provider.as_str(), backend)],
            )
            .await?;
            let stats = outbox.start().drain(Duration::from_secs(*within)).await?;
            let done = outbox.counters();
            println!(
                "delivered {}, left: pending {}, dead letters {}, held unknown {}",
                done.delivered, stats.pending, stats.dead_letters, stats.held_unknown
            );
        }
    }
    Ok(())
}
