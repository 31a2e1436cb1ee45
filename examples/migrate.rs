//! Copies customers and subscriptions from one backend to another, resumably.
//!
//! ```text
//! cargo run --example migrate -- --from from.toml --to to.toml \
//!     [--dry-run] [--plans plan-map.toml] [--checkpoint FILE] [--concurrency N] [--report FILE] \
//!     [--cancel-source-at-period-end] [--accept-double-billing]
//! ```
//!
//! After the run, `--write-plan FILE` writes the cutover plan (per subscription, the instant
//! billing moves to the target) for `provider = "cutover"`. Later, the `reconcile` command checks
//! that every usage event sent during the cutover was counted exactly once:
//!
//! ```text
//! cargo run --example migrate -- reconcile --from from.toml --to to.toml --plan plan.json \
//!     --events sent.jsonl [--report reconcile-report.json]
//! ```
//!
//! (`sent.jsonl`: the application's record of the events it sent, one `UsageEvent` as JSON per
//! line.)
//!
//! `from.toml` and `to.toml` are ordinary billing configurations (`provider = ...` plus its
//! section). A killed run resumes from `--checkpoint`; re-running a finished migration creates
//! nothing. Each running subscription keeps its start and is billed by the target from the end
//! of its current period in the source; a target that cannot do that refuses it (with the
//! reason) unless `--accept-double-billing`. After a real run, the target is verified. The
//! report is printed and written as JSON (default `migration-report.json`): the migration's
//! counts, notes and `double_billed` list, then the verification's `problems` and
//! `period_mismatches` (`{count, keys}`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::IsTerminal;
use std::path::PathBuf;

use billing::BillingConfig;
use billing::migrate::{
    CheckpointFile, Migration, MigrationOptions, MigrationReport, PlanMap, Progress, Verification,
    verify,
};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Migrate customers and subscriptions between billing backends (or, with `reconcile`, check a
/// cutover).
#[derive(Debug, Parser)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    migrate: Option<Args>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Per subscription and metric, what each vendor counted on its side of the cutover instant
    /// against the events the application sent; flags events counted twice or lost.
    Reconcile(ReconcileArgs),
}

#[derive(Debug, clap::Args)]
struct ReconcileArgs {
    /// Configuration of the vendor billing before the instants (TOML).
    #[arg(long)]
    from: PathBuf,
    /// Configuration of the vendor billing from them on (TOML).
    #[arg(long)]
    to: PathBuf,
    /// The cutover plan (`--write-plan` of a migration).
    #[arg(long)]
    plan: PathBuf,
    /// The events sent: one `UsageEvent` as JSON per line.
    #[arg(long)]
    events: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "reconcile-report.json")]
    report: PathBuf,
}

#[derive(Debug, clap::Args)]
struct Args {
    /// Configuration of the source backend (TOML).
    #[arg(long)]
    from: PathBuf,
    /// Configuration of the target backend (TOML).
    #[arg(long)]
    to: PathBuf,
    /// After a real run, write the cutover plan here (for `provider = "cutover"`).
    #[arg(long)]
    write_plan: Option<PathBuf>,
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
    /// Also schedule each migrated source subscription to end where the target starts billing
    /// (a dry run shows how many it would schedule).
    #[arg(long)]
    cancel_source_at_period_end: bool,
    /// Migrate subscriptions whose billing anchor the target cannot take anyway: the target
    /// then bills days the source has billed. Each one is listed in the report.
    #[arg(long)]
    accept_double_billing: bool,
}

/// The JSON report: the migration's, then what verifying the target found.
#[derive(Debug, serde::Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    migration: &'a MigrationReport,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    verification: Option<Verification>,
}

#[tokio::main]
async fn main() -> billing::Result<()> {
    let cli = Cli::parse();
    match (cli.command, cli.migrate) {
        (Some(Command::Reconcile(args)), _) => reconcile(args).await,
        (None, Some(args)) => migrate(args).await,
        (None, None) => Err(billing::Error::invalid_input(
            "give --from and --to (see --help), or the `reconcile` command",
        )),
    }
}

async fn reconcile(args: ReconcileArgs) -> billing::Result<()> {
    let from = billing::connect(&BillingConfig::from_toml_file(&args.from)?)?;
    let to = billing::connect(&BillingConfig::from_toml_file(&args.to)?)?;
    let plan = billing::cutover::CutoverPlan::load(&args.plan)?;
    let name = args.events.display().to_string();
    let text =
        std::fs::read_to_string(&args.events).map_err(|e| billing::Error::config(&name, e))?;
    let events = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str::<billing::UsageEvent>(l).map_err(|e| {
                billing::Error::config(&name, format!("line {}: not a usage event: {e}", i + 1))
            })
        })
        .collect::<billing::Result<Vec<_>>>()?;
    let r = billing::cutover::reconcile(from.as_ref(), to.as_ref(), &plan, &events).await?;
    println!(
        "{}",
        r.summary(
            &format!("{} (before)", from.info().name),
            &format!("{} (from it)", to.info().name)
        )
    );
    let json =
        serde_json::to_string_pretty(&r).map_err(|e| billing::Error::unexpected(e.to_string()))?;
    std::fs::write(&args.report, json)
        .map_err(|e| billing::Error::config(&args.report.display().to_string(), e))?;
    println!("report written to {}", args.report.display());
    if r.is_exact() {
        Ok(())
    } else {
        Err(billing::Error::unexpected(
            "events counted twice, lost or unverifiable: see the report",
        ))
    }
}

async fn migrate(args: Args) -> billing::Result<()> {
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
        plans: plans.clone(),
        cancel_source_at_period_end: args.cancel_source_at_period_end,
        accept_double_billing: args.accept_double_billing,
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
    let verification = if args.dry_run {
        None
    } else {
        let v = verify(from.as_ref(), to.as_ref(), &plans, args.page_size).await?;
        println!(
            "verification: {} problem(s), period_mismatches: {}",
            v.problems.len(),
            v.period_mismatches.count
        );
        if let Some(path) = &args.write_plan {
            let plan = billing::cutover::CutoverPlan::from_backends(
                from.as_ref(),
                to.as_ref(),
                args.page_size,
            )
            .await?;
            plan.save(path)?;
            println!(
                "cutover plan ({} subscriptions) written to {}",
                plan.instants.len(),
                path.display()
            );
        }
        Some(v)
    };
    let json = serde_json::to_string_pretty(&Report {
        migration: &report,
        verification,
    })
    .map_err(|e| billing::Error::unexpected(e.to_string()))?;
    std::fs::write(&args.report, json)
        .map_err(|e| billing::Error::config(&args.report.display().to_string(), e))?;
    println!("report written to {}", args.report.display());
    Ok(())
}
