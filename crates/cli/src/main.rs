//! `scalelab`: the command-line front end that wires the crates together.

mod files;
mod run;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use scalelab_engine::batch::DecideInput;
use scalelab_engine::{Engine, PolicyConfig, legacy};

#[derive(Debug, Parser)]
#[command(
    name = "scalelab",
    version,
    about = "Workbench for a predictive VM-scaling engine"
)]
struct Cli {
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
    },
    /// Run a scenario: print a summary and write the run record.
    Run {
        /// Scenario TOML (see scenarios/).
        scenario: PathBuf,
        /// Seed override (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Run record path (default: NAME-seedN.run.json in the working directory).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Print the effective policy as TOML (defaults, or a file merged over them).
    Policy {
        #[arg(long, short)]
        policy: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Decide {
            input,
            policy,
            legacy: legacy_maps,
        } => decide(&input, policy.as_deref(), legacy_maps),
        Command::Run {
            scenario,
            seed,
            out,
        } => {
            let (record, took) = run::run_file(&scenario, seed)?;
            let out = out.unwrap_or_else(|| run::default_out(&record));
            run::write_record(&record, &out)?;
            print!("{}", run::summary(&record));
            print!("{}", run::speed(&record, took));
            println!("run record: {}", out.display());
            Ok(())
        }
        Command::Policy { policy } => {
            let p = load_policy(policy.as_deref())?;
            print!("{}", p.to_toml_string());
            Ok(())
        }
    }
}

use files::read;

fn load_policy(path: Option<&Path>) -> Result<PolicyConfig> {
    match path {
        None => Ok(PolicyConfig::default()),
        Some(path) => {
            let src = read(path)?;
            PolicyConfig::from_toml_str(&src).with_context(|| path.display().to_string())
        }
    }
}

fn decide(input: &Path, policy: Option<&Path>, legacy_maps: bool) -> Result<()> {
    let policy = load_policy(policy)?;
    let src = read(input)?;
    let parsed = DecideInput::from_json_str(&src).with_context(|| input.display().to_string())?;
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
    Ok(())
}
