//! Running a sweep: every (config, scenario, seed) on all cores.
//!
//! Each run is an independent, seeded simulation, so its result does not depend on
//! which thread ran it or when; results are sorted by (config, scenario, seed) before
//! anyone sees them, so the output is the same for any thread count.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use scalelab_sim::baselines::Baseline;
use scalelab_sim::record::RunMetrics;
use scalelab_sim::{ParsedScenario, RunOptions, Scenario, run_scenario};

use crate::spec::{Config, Plan, fnv};

/// A scenario file, parsed once.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub hash: String,
    pub scenario: Scenario,
}

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub config_id: u32,
    pub scenario: usize,
    pub seed: u64,
    /// Stable identity: config overrides, scenario content and seed. Resuming skips
    /// keys already stored; shards split by it.
    pub key: String,
}

/// One finished run's metrics (also a line of a shard's progress journal).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    pub key: String,
    pub config_id: u32,
    pub scenario: String,
    pub seed: u64,
    pub metrics: BTreeMap<String, Option<f64>>,
}

pub fn metrics_map(m: &RunMetrics) -> BTreeMap<String, Option<f64>> {
    [
        ("overload_time_frac", Some(m.overload_time_frac)),
        ("migrations", Some(m.migrations as f64)),
        ("rollback_rate", Some(m.rollback_rate)),
        ("total_downtime_ms", Some(m.total_downtime_ms as f64)),
        ("data_loss_events", Some(m.data_loss_events as f64)),
        ("expected_vs_actual_mae", m.expected_vs_actual_mae),
        ("expected_vs_actual_bias", m.expected_vs_actual_bias),
        ("pdm", Some(m.pdm)),
        ("unmet_demand_core_s", Some(m.unmet_demand_core_s)),
        ("energy_kwh", m.energy_kwh),
        ("slav", Some(m.slav)),
        ("esv", m.esv),
        ("host_shutdowns", Some(m.host_shutdowns as f64)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(estimate_metrics(m))
    .collect()
}

/// Expected against actual for each estimate besides utilization, as `NAME_mae` and
/// `NAME_bias` (listed in [`crate::spec::METRICS`]).
fn estimate_metrics(m: &RunMetrics) -> impl Iterator<Item = (String, Option<f64>)> + '_ {
    let e = &m.estimate_errors;
    [
        ("downtime_error_ms", e.downtime_ms),
        ("completion_error_s", e.completion_s),
        ("data_sent_error_mib", e.data_sent_mib),
        ("precopy_rounds_error", e.precopy_rounds),
        ("source_utilization_error", e.source_utilization),
    ]
    .into_iter()
    .flat_map(|(k, s)| {
        [
            (format!("{k}_mae"), s.map(|s| s.mae)),
            (format!("{k}_bias"), s.map(|s| s.bias)),
        ]
    })
}

pub fn run_key(config: &Config, scenario_hash: &str, seed: u64) -> String {
    let c = config.to_json().to_string();
    format!("{:016x}", fnv(&format!("{c}|{scenario_hash}|{seed}")))
}

/// All jobs of a plan, in (config, scenario, seed) order.
pub fn jobs(plan: &Plan, scenarios: &[LoadedScenario]) -> Vec<Job> {
    let mut out = Vec::new();
    for c in &plan.configs {
        for (si, s) in scenarios.iter().enumerate() {
            if !runs_on(c, &s.scenario) {
                continue;
            }
            let seeds = if plan.spec.seeds.is_empty() {
                vec![s.scenario.seed]
            } else {
                plan.spec.seeds.clone()
            };
            for seed in seeds {
                out.push(Job {
                    config_id: c.id,
                    scenario: si,
                    seed,
                    key: run_key(c, &s.hash, seed),
                });
            }
        }
    }
    out
}

/// The shard (1-based, of `n`) a run key belongs to: stable, by the key's hash, so
/// every shard gets a fair share and the union of all shards is the whole sweep.
pub fn shard_of(key: &str, n: u32) -> u32 {
    (fnv(key) % n as u64) as u32 + 1
}

/// Shard `k` of `n` (1-based): the jobs whose keys [`shard_of`] puts there.
pub fn shard(jobs: Vec<Job>, k: u32, n: u32) -> Vec<Job> {
    jobs.into_iter()
        .filter(|j| shard_of(&j.key, n) == k)
        .collect()
}

/// Whether a config can run on a scenario: Watcher is no part of CloudSim, so the
/// CloudSim profile has no run of it.
fn runs_on(config: &Config, sc: &scalelab_sim::Scenario) -> bool {
    !(sc.compat.is_some() && config.baseline == Some(Baseline::Watcher))
}

/// Run one job. A Beloglazov baseline consolidates, as in CloudSim, where the
/// scenario's hosts switch off when empty.
pub fn run_one(plan: &Plan, scenarios: &[LoadedScenario], job: &Job) -> Result<RunResult, String> {
    let s = &scenarios[job.scenario];
    let config = &plan.configs[job.config_id as usize];
    let mut sc = s.scenario.clone();
    // The scenario's own baseline settings belong to its baseline: another baseline
    // runs with its published parameter, and the engine with none.
    if sc.sim.baseline != config.baseline {
        sc.sim.baseline_parameter = None;
        if config.baseline.is_none() {
            sc.sim.vm_selection = Default::default();
        }
    }
    sc.sim.baseline = config.baseline;
    sc.sim.consolidate = sc.compat.is_none()
        && sc.power.switch_off_empty
        && config.baseline.is_some_and(Baseline::is_beloglazov);
    sc.policy = config
        .apply(&sc.policy)
        .map_err(|e| format!("{}: {e}", s.path.display()))?;
    // The engine's policy meets the scenario's rules (consolidation needs hosts that
    // switch off), and a baseline in place of the engine leaves its policy unused.
    if config.baseline.is_some() {
        sc.policy.consolidation.enabled = false;
    }
    sc.validate()
        .map_err(|e| format!("{}: {}: {e}", s.path.display(), config.label()))?;
    let opts = RunOptions {
        seed: Some(job.seed),
        check_limits: false,
        reject_violations: true,
    };
    let rec = run_scenario(sc, s.hash.clone(), opts, &mut |_, _| {})
        .map_err(|e| format!("{}: {e}", s.path.display()))?;
    Ok(RunResult {
        key: job.key.clone(),
        config_id: job.config_id,
        scenario: rec.scenario.name.clone(),
        seed: job.seed,
        metrics: metrics_map(&rec.metrics),
    })
}

/// Run `jobs` on `threads` threads (0 = all cores), skipping keys in `done`. Each
/// finished run goes to `on_done` as it finishes (to be stored); `stop` makes the
/// remaining jobs be skipped, keeping every finished one. Results come back sorted.
pub fn execute(
    plan: &Plan,
    scenarios: &[LoadedScenario],
    jobs: &[Job],
    done: &HashSet<String>,
    threads: usize,
    stop: &AtomicBool,
    on_done: &(dyn Fn(&RunResult) + Sync),
) -> Result<Vec<RunResult>, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())?;
    let results: Vec<Result<Option<RunResult>, String>> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                if done.contains(&job.key) || stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                let r = run_one(plan, scenarios, job)?;
                on_done(&r);
                Ok(Some(r))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        if let Some(r) = r? {
            out.push(r);
        }
    }
    out.sort_by(|a, b| (a.config_id, &a.scenario, a.seed).cmp(&(b.config_id, &b.scenario, b.seed)));
    Ok(out)
}

/// Load scenario files once (errors name the file).
pub fn load(paths: &[PathBuf]) -> Result<Vec<LoadedScenario>, String> {
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
            let parsed =
                ParsedScenario::parse(&text).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(LoadedScenario {
                path: p.clone(),
                hash: parsed.content_hash,
                scenario: parsed.scenario,
            })
        })
        .collect()
}
