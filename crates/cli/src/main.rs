//! `scalelab`: the command-line front end that wires the crates together.

mod calibrate_cmd;
mod check;
mod files;
mod replay;
mod report_cmd;
mod run;
mod store_cmd;
mod sweep;
mod trace_cmd;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use scalelab_engine::batch::DecideInput;
use scalelab_engine::{Engine, PolicyConfig, legacy};

/// `scalelab run --record-detail`: see [`scalelab_sim::record::RecordDetail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RecordDetailArg {
    Full,
    Summary,
}

#[derive(Debug, Parser)]
#[command(
    name = "scalelab",
    version,
    about = "Workbench for a predictive VM-scaling engine"
)]
struct Cli {
    /// SQLite database (default: scalelab.db in the working directory).
    #[arg(
        long,
        global = true,
        env = "SCALELAB_DB",
        default_value = "scalelab.db"
    )]
    db: PathBuf,
    /// Where scenarios' trace paths resolve (default: traces in the working directory).
    #[arg(long, global = true, env = "SCALELAB_TRACE_DIR")]
    trace_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one round of the engine on VM metric histories and a cluster snapshot,
    /// printing one JSON decision per line.
    Decide {
        /// Input JSON (format: see README, sample: examples/decide-input.json).
        #[arg(long, short)]
        input: PathBuf,
        /// Policy TOML; missing keys keep their defaults (the seed's values).
        #[arg(long, short)]
        policy: Option<PathBuf>,
        /// Print the legacy AutoScaler maps instead of decisions.
        #[arg(long)]
        legacy: bool,
        /// Also store the decisions in the database's scaling history.
        #[arg(long)]
        record: bool,
    },
    /// Run a scenario: print a summary, write the run record, store the run.
    Run {
        /// Scenario TOML (see scenarios/).
        scenario: PathBuf,
        /// Seed override (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Run record path (default: NAME-seedN.run.json in the working directory).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// What the record file keeps: everything, or a summary without the
        /// per-migration detail (migration records, their milestones in the event
        /// log, decisions); the store gets the whole run either way.
        #[arg(long, value_enum, default_value_t = RecordDetailArg::Full)]
        record_detail: RecordDetailArg,
        /// Do not store the run in the database.
        #[arg(long)]
        no_store: bool,
        /// Run even when the estimated memory or time exceeds the built-in limits.
        #[arg(long)]
        no_resource_limits: bool,
    },
    /// Replay a run in the terminal: a run-record file, a stored run id, or a scenario
    /// file (run first).
    Replay { run: String },
    /// Two runs side by side with synchronized time and a diff of their metrics.
    Compare { run_a: String, run_b: String },
    /// Write a self-contained HTML report with plots: of a run (record file or stored
    /// id), of two runs compared, of a sweep output directory, or of a validation
    /// result (`validate --json`).
    Report {
        /// One run, sweep directory or validation result; or two runs to compare.
        #[arg(required = true, num_args = 1..=2)]
        inputs: Vec<String>,
        /// The HTML file to write (its directory must exist).
        #[arg(long, short)]
        out: PathBuf,
        /// Nodes to draw as lines in a run report (ids, comma-separated; default: the
        /// five with the highest peak utilization).
        #[arg(long, value_delimiter = ',')]
        nodes: Vec<String>,
    },
    /// Run a suite of scenarios and seeds and compare the metrics with a baseline:
    /// exits non-zero on a regression (a policy gate for CI).
    Check {
        /// Suite TOML (see checks/shipped.toml).
        suite: PathBuf,
        /// Baseline JSON (default: the suite's `baseline`, or NAME.baseline.json beside it).
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Write a JUnit XML report here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Write a Markdown summary here.
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Write the current metrics as the new baseline instead of comparing.
        #[arg(long)]
        update_baseline: bool,
    },
    /// Run a validation suite: a scenario under a peer simulator's model with the
    /// peer's published numbers; exits non-zero when a number is outside tolerance.
    Validate {
        /// Suite TOML (see validation/cloudsim-planetlab-20110303.toml).
        suite: PathBuf,
        /// Also write the comparison as a Markdown table here.
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Write each run's record into this directory.
        #[arg(long)]
        records: Option<PathBuf>,
        /// Write the result as JSON here (for `scalelab report`), even when numbers
        /// are outside tolerance.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Sweep policy parameters over scenarios and seeds on all cores; results as
    /// CSV and Parquet and in the database.
    Sweep {
        /// Sweep TOML (see examples/sweep.toml).
        spec: PathBuf,
        /// Output directory (default: sweep-NAME).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Skip runs already stored for this sweep.
        #[arg(long)]
        resume: bool,
        /// Run only the K-th of N stable slices of the runs (K/N, 1-based). A shard
        /// resumes from its progress journal in the output directory.
        #[arg(long)]
        shard: Option<String>,
        /// Print each of N shards' runs and estimated time, and a time limit for a job
        /// array, instead of running.
        #[arg(long, value_name = "N")]
        plan_shards: Option<u32>,
        /// Refuse sweeps with more runs than this.
        #[arg(long, default_value_t = scalelab_backtest::spec::DEFAULT_MAX_RUNS)]
        max_runs: usize,
        /// Also run the literature baselines (Beloglazov THR/IQR/MAD/LR, OpenStack
        /// Watcher, no migration) on the same scenarios and seeds.
        #[arg(long)]
        baselines: bool,
        /// Run even when the estimated memory or time exceeds the built-in limits.
        #[arg(long)]
        no_resource_limits: bool,
    },
    /// Fit the estimators to measured runs (the fixed factor, a linear correction of the
    /// model-based estimate; downtime and completion reported), with the error on
    /// held-out runs, and write the calibrated policy as TOML.
    Calibrate {
        /// Stored run ids or run record files (default: every run in --db).
        runs: Vec<String>,
        /// Policy TOML to calibrate (default: the defaults).
        #[arg(long, short)]
        policy: Option<PathBuf>,
        /// Where to write the calibrated policy.
        #[arg(long, short)]
        out: PathBuf,
        /// Also write the fit as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Recommend a policy: the best feasible config of a sweep as policy TOML, compared
    /// with the defaults and the literature baselines on every scenario.
    Tune {
        spec: PathBuf,
        #[arg(long, default_value_t = 0)]
        threads: usize,
        #[arg(long, default_value_t = scalelab_backtest::spec::DEFAULT_MAX_RUNS)]
        max_runs: usize,
        /// Run even when the estimated memory or time exceeds the built-in limits.
        #[arg(long)]
        no_resource_limits: bool,
    },
    /// Combine the Parquet outputs of sharded sweeps into the unsharded result.
    Merge {
        spec: PathBuf,
        shards: Vec<PathBuf>,
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The shards were run with --baselines.
        #[arg(long)]
        baselines: bool,
    },
    /// Real utilization traces: what they hold, and conversion to the generic format.
    Trace {
        #[command(subcommand)]
        command: TraceCommand,
    },
    /// Stored decisions, newest first.
    History {
        #[arg(long)]
        vm: Option<String>,
        /// Only this action (scale_up, scale_down, scale_out, scale_in, migrate, no_action).
        #[arg(long)]
        action: Option<String>,
        /// Only decisions at or after this time (Unix ms, or YYYY-MM-DD[THH:MM:SSZ]).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stored simulation runs.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Print the effective policy as TOML (defaults, or a file merged over them).
    Policy {
        #[arg(long, short)]
        policy: Option<PathBuf>,
    },
    /// Test hook: insert decisions in batches of one transaction each, reporting every
    /// commit on stdout (the crash-consistency test kills it mid-way).
    #[command(hide = true)]
    DebugInsertBatches {
        #[arg(long)]
        batches: u32,
        #[arg(long)]
        batch_size: u32,
    },
}

#[derive(Debug, Subcommand)]
enum TraceCommand {
    /// VM count, time span, interval, CPU mean and percentiles, gaps and invalid values.
    Inspect {
        /// A trace file or directory.
        path: PathBuf,
        /// planetlab, bitbrains, azure, alibaba_machine, alibaba_container or generic
        /// (detected when not given).
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Write the generic long format (vm_id, timestamp, cpu[, memory]): Parquet, or CSV
    /// when the output ends in .csv.
    Convert {
        path: PathBuf,
        #[arg(long)]
        format: Option<String>,
        #[arg(long, short)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// Past runs, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One run: summary, migrations, expected vs actual.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain joined, as the conventions ask.
            let msg = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let db = cli.db;
    if let Some(d) = cli.trace_dir {
        trace_cmd::set_trace_dir(d);
    }
    match cli.command {
        Command::Decide {
            input,
            policy,
            legacy: legacy_maps,
            record,
        } => decide(
            &input,
            policy.as_deref(),
            legacy_maps,
            record.then_some(&db),
        ),
        Command::Run {
            scenario,
            seed,
            out,
            record_detail,
            no_store,
            no_resource_limits,
        } => {
            // Open the store first: a bad database fails before minutes of simulation.
            let mut store = if no_store {
                None
            } else {
                Some(scalelab_store::Store::open(&db)?)
            };
            let started_at = scalelab_store::rfc3339_utc(files::now_unix_ms());
            let (record, took) = run::run_file(&scenario, seed, !no_resource_limits)?;
            let out = out.unwrap_or_else(|| run::default_out(&record));
            match record_detail {
                RecordDetailArg::Full => run::write_record(&record, &out)?,
                RecordDetailArg::Summary => run::write_record(&record.summary(), &out)?,
            }
            print!("{}", run::summary(&record));
            print!("{}", run::speed(&record, took));
            println!("run record: {}", out.display());
            if let Some(store) = &mut store {
                let id = store.insert_run(&record, &started_at, out.to_str())?;
                println!("stored as run {id} in {}", db.display());
            }
            Ok(())
        }
        Command::Check {
            suite,
            baseline,
            junit,
            markdown,
            update_baseline,
        } => check::check(&check::Options {
            suite: &suite,
            baseline: baseline.as_deref(),
            junit: junit.as_deref(),
            markdown: markdown.as_deref(),
            update_baseline,
        }),
        Command::Validate {
            suite,
            markdown,
            records,
            json,
        } => {
            let report = validate::validate(&suite, records.as_deref())?;
            let rows = &report.result.rows;
            let mut text = format!("{}\n{}", report.head, validate::table(rows));
            for st in &report.result.studies {
                text.push('\n');
                text.push_str(&validate::study_table(st));
            }
            print!("{text}");
            if let Some(md) = markdown {
                files::write_atomic_with(&md, |w| w.write_all(text.as_bytes()))?;
            }
            if let Some(path) = json {
                files::write_json_atomic(&path, &report.result)?;
            }
            let bad = rows.iter().filter(|r| !r.ok).count();
            if bad > 0 {
                anyhow::bail!("{bad} of {} numbers outside tolerance", rows.len());
            }
            println!("all {} numbers within tolerance", rows.len());
            Ok(())
        }
        Command::Sweep {
            spec,
            out,
            threads,
            resume,
            shard,
            plan_shards,
            max_runs,
            baselines,
            no_resource_limits,
        } => sweep::sweep(&sweep::Options {
            plan_shards,
            baselines,
            limits: !no_resource_limits,
            spec: &spec,
            out: out.as_deref(),
            threads,
            resume,
            shard: shard.as_deref().map(sweep::parse_shard).transpose()?,
            max_runs,
            db: &db,
        }),
        Command::Merge {
            spec,
            shards,
            out,
            baselines,
        } => sweep::merge(
            &spec,
            &shards,
            out.as_deref(),
            scalelab_backtest::spec::DEFAULT_MAX_RUNS,
            baselines,
        ),
        Command::Tune {
            spec,
            threads,
            max_runs,
            no_resource_limits,
        } => sweep::tune(&spec, threads, max_runs, !no_resource_limits),
        Command::Calibrate {
            runs,
            policy,
            out,
            json,
        } => calibrate_cmd::run(&calibrate_cmd::Options {
            inputs: &runs,
            db: &db,
            base: policy.as_deref(),
            out: &out,
            json: json.as_deref(),
        }),
        Command::Replay { run } => replay::replay(&run, &db),
        Command::Compare { run_a, run_b } => replay::compare(&run_a, &run_b, &db),
        Command::Report { inputs, out, nodes } => report_cmd::report(&report_cmd::Options {
            inputs: &inputs,
            out: &out,
            nodes: &nodes,
            db: &db,
        }),
        Command::History {
            vm,
            action,
            since,
            limit,
            json,
        } => store_cmd::history(&db, vm, action, since, limit, json),
        Command::Trace { command } => match command {
            TraceCommand::Inspect { path, format, json } => {
                trace_cmd::inspect(&path, format.as_deref(), json)
            }
            TraceCommand::Convert { path, format, out } => {
                trace_cmd::convert(&path, format.as_deref(), &out)
            }
        },
        Command::Runs { command } => match command {
            RunsCommand::List { limit, json } => store_cmd::runs_list(&db, limit, json),
            RunsCommand::Show { id, json } => store_cmd::runs_show(&db, id, json),
        },
        Command::Policy { policy } => {
            let p = load_policy(policy.as_deref())?;
            print!("{}", p.to_toml_string());
            Ok(())
        }
        Command::DebugInsertBatches {
            batches,
            batch_size,
        } => store_cmd::debug_insert_batches(&db, batches, batch_size),
    }
}

use files::read;

fn load_policy(path: Option<&Path>) -> Result<PolicyConfig> {
    match path {
        None => Ok(PolicyConfig::default()),
        Some(path) => {
            let src = read(path)?;
            let p =
                PolicyConfig::from_toml_str(&src).with_context(|| path.display().to_string())?;
            warn_deprecated(path, &p);
            Ok(p)
        }
    }
}

/// One line on stderr per deprecated policy key, naming the file and the key.
fn warn_deprecated(path: &Path, p: &PolicyConfig) {
    for d in p.deprecations() {
        eprintln!("warning: {}: {d}", path.display());
    }
}

/// One line on stderr per deprecated scenario key (its policy's included).
pub(crate) fn warn_deprecated_scenario(path: &Path, s: &scalelab_sim::scenario::Scenario) {
    for d in s.deprecations() {
        eprintln!("warning: {}: {d}", path.display());
    }
}

fn decide(
    input: &Path,
    policy: Option<&Path>,
    legacy_maps: bool,
    db: Option<&PathBuf>,
) -> Result<()> {
    let policy = load_policy(policy)?;
    let src = read(input)?;
    let parsed = DecideInput::from_json_str(&src).with_context(|| input.display().to_string())?;
    // Open the store before deciding: a bad database is reported before any output.
    let mut store = db.map(|p| scalelab_store::Store::open(p)).transpose()?;
    let decisions = parsed.decide(&Engine::new(policy));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for d in &decisions {
        let line = if legacy_maps {
            serde_json::to_string(&legacy::legacy_map(d))
        } else {
            serde_json::to_string(d)
        }
        .context("serializing a decision")?;
        writeln!(out, "{line}").context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    if let Some(store) = &mut store {
        store.insert_decisions(&decisions)?;
    }
    Ok(())
}
