//! scalelab-sim: a discrete-event cluster simulator that executes the engine's
//! migration plans step by step (pre-copy rounds over shared bandwidth, stop-and-copy
//! downtime, verification, cleanup) while failures are injected, and measures the
//! ACTUAL utilization after each migration against the EXPECTED one.
//!
//! - [`scenario`]: the TOML scenario format.
//! - [`cloudsim`]: the CloudSim-compatible profile (`[compat] profile = "cloudsim"`).
//! - [`sim`]: the event loop, control loop, migration executor and failures.
//! - [`record`]: the run record a run produces (JSON).
//! - [`queue`]: the event queue; [`rng`]: the run's PRNG (PCG32); [`network`]: fair
//!   bandwidth sharing; [`workload`]: demand generators.

pub mod baselines;
pub mod chaos;
pub mod cloudsim;
pub mod human;
pub mod network;
mod phase;
pub mod queue;
pub mod record;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod workload;

pub use record::RunRecord;
pub use scenario::Scenario;
pub use sim::{SimError, Simulation};

/// A scenario as parsed from its text, with the text's content hash (which the run
/// record carries, so a record names exactly what produced it).
#[derive(Debug, Clone)]
pub struct ParsedScenario {
    pub scenario: Scenario,
    pub content_hash: String,
}

impl ParsedScenario {
    pub fn parse(text: &str) -> Result<Self, scalelab_engine::input::InputError> {
        Ok(Self {
            scenario: Scenario::from_toml_str(text)?,
            content_hash: scenario::content_hash(text),
        })
    }
}

/// How [`run_scenario`] runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Refuse scenarios over [`scenario::ResourceLimits::default`] before building.
    pub check_limits: bool,
    /// Turn a record with invariant violations into an error (gates and sweeps, where
    /// a broken run must not pass as a result).
    pub reject_violations: bool,
}

/// The one scenario-run pipeline: resource limits, building the cluster, the run, and
/// the invariant verdict. `scalelab run`, `check`, sweeps and the tests all come here,
/// so they cannot differ in what they check.
pub fn run_scenario(
    sc: Scenario,
    content_hash: String,
    opts: RunOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RunRecord, RunError> {
    if opts.check_limits {
        sc.check_resources(&scenario::ResourceLimits::default())
            .map_err(RunError::Scenario)?;
    }
    let record = if sc.compat.is_some() {
        let mut sc = sc;
        if let Some(s) = opts.seed {
            sc.seed = s;
        }
        cloudsim::run(&sc, content_hash, progress).map_err(RunError::Sim)?
    } else {
        let sim = Simulation::new(sc, content_hash, opts.seed).map_err(RunError::Sim)?;
        sim.run(progress)
    };
    if opts.reject_violations && !record.invariant_violations.is_empty() {
        return Err(RunError::Invariants {
            seed: record.scenario.seed,
            violations: record.invariant_violations,
        });
    }
    Ok(record)
}

/// Parse, validate and run a scenario text with an optional seed override.
pub fn run_scenario_text(
    text: &str,
    seed: Option<u64>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RunRecord, RunError> {
    let p = ParsedScenario::parse(text).map_err(RunError::Scenario)?;
    let opts = RunOptions {
        seed,
        check_limits: true,
        reject_violations: false,
    };
    run_scenario(p.scenario, p.content_hash, opts, progress)
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Scenario(scalelab_engine::input::InputError),
    #[error("{0}")]
    Sim(SimError),
    #[error("seed {seed}: invariant violations: {}", violations.join("; "))]
    Invariants { seed: u64, violations: Vec<String> },
}
