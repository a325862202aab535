//! scalelab-sim: a discrete-event cluster simulator that executes the engine's
//! migration plans step by step (pre-copy rounds over shared bandwidth, stop-and-copy
//! downtime, verification, cleanup) while failures are injected, and measures the
//! ACTUAL utilization after each migration against the EXPECTED one.
//!
//! - [`scenario`]: the TOML scenario format.
//! - [`sim`]: the event loop, control loop, migration executor and failures.
//! - [`record`]: the run record a run produces (JSON).
//! - [`queue`]: the event queue; [`rng`]: the run's PRNG (PCG32); [`network`]: fair
//!   bandwidth sharing; [`workload`]: demand generators.

pub mod baselines;
pub mod chaos;
pub mod network;
pub mod queue;
pub mod record;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod workload;

pub use record::RunRecord;
pub use scenario::Scenario;
pub use sim::{SimError, Simulation};

/// Parse, validate and run a scenario text with an optional seed override.
pub fn run_scenario_text(
    text: &str,
    seed: Option<u64>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RunRecord, RunError> {
    let sc = Scenario::from_toml_str(text).map_err(RunError::Scenario)?;
    sc.check_resources(&scenario::ResourceLimits::default())
        .map_err(RunError::Scenario)?;
    let sim = Simulation::new(sc, scenario::content_hash(text), seed).map_err(RunError::Sim)?;
    Ok(sim.run(progress))
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Scenario(scalelab_engine::input::InputError),
    #[error("{0}")]
    Sim(SimError),
}
