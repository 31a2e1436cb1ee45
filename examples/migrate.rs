//! Copies customers and subscriptions from one backend to another, resumably.
//!
//! ```text
//! cargo run --example migrate -- --from from.toml --to to.toml \
//!     [--dry-run] [--plans plan-map.toml] [--checkpoint FILE] [--concurrency N] [--report FILE]
//! ```
//!
//! `from.toml` and `to.toml` are ordinary billing configurations (`provider = ...` plus its
//! section). A killed run resumes from `--checkpoint`; re-running a finished migration creates
//! nothing. The report is printed and written as JSON (default `migration-report.json`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::IsTerminal;
use std::path::PathBuf;

use billing::BillingConfig;
use billing::migrate::{CheckpointFile, Migration, MigrationOptions, PlanMap, Progress};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Migrate customers and subscriptions between billing backends.
#[derive(Debug, Parser)]
struct Args {
    /// Configuration of the source backend (TOML).
    #[arg(long)]
    from: PathBuf,
    /// Configuration of the target backend (TOML).
    #[arg(long)]
    to: PathBuf,
    /// Read both sides and report what would be created; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Plan-code mapping: a TOML file with `[plans]` "source" = "target" pairs.
    #[arg(long)]
    plans: Option<PathBuf>,
    /// Checkpoint file: progress is saved after every page, and a re-run resumes from it.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Customers migrated at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Source page size.
    #[arg(long, default_value_t = 100)]
    page_size: u32,
    /// Where to write the JSON report.
    #[arg(long, default_value = "migration-report.json")]
    report: PathBuf,
}

#[tokio::main]
async fn main() -> billing::Result<()> {
    let args = Args::parse();
    let from = billing::connect(&BillingConfig::from_toml_file(&args.from)?)?;
    let to = billing::connect(&BillingConfig::from_toml_file(&args.to)?)?;
    let plans = match &args.plans {
        Some(p) => PlanMap::load(p)?,
        None => PlanMap::identity(),
    };
    let options = MigrationOptions {
        dry_run: args.dry_run,
        concurrency: args.concurrency,
        page_size: args.page_size,
        plans,
    };
    println!(
        "Migrating {} -> {}{}",
        from.info().name,
        to.info().name,
        if args.dry_run { " (dry run)" } else { "" }
    );

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} customers, page {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = bar.clone();
    let mut migration =
        Migration::new(from.as_ref(), to.as_ref(), options).on_progress(move |p| match p {
            Progress::Customer { .. } => progress.inc(1),
            Progress::Page { pages, .. } => progress.set_message(pages.to_string()),
            Progress::Resumed { pages, customers } => {
                progress.set_position(*customers);
                progress.println(format!("resuming after {pages} page(s)"));
            }
            _ => {}
        });
    if let Some(cp) = &args.checkpoint {
        migration = migration.with_checkpoint(CheckpointFile::new(cp));
    }
    let report = migration.run().await;
    bar.finish_and_clear();
    let report = report?;

    println!("{}", report.summary());
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| billing::Error::unexpected(e.to_string()))?;
    std::fs::write(&args.report, json)
        .map_err(|e| billing::Error::config(&args.report.display().to_string(), e))?;
    println!("report written to {}", args.report.display());
    Ok(())
}
