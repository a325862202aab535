//! Sweep specifications (TOML): which policy fields vary and how, over which scenarios
//! and seeds, and how configurations are scored.
//!
//! ```toml
//! name = "thresholds"
//! scenarios = ["../scenarios/hot-node-relief.toml", "../scenarios/*.toml"]
//! seeds = [1, 2, 3]                       # default: each scenario's own seed
//!
//! [parameters]                            # any field of the policy, by dotted path
//! migrate_avg = { values = [0.6, 0.7] }   # a list
//! migrate_current = { range = [0.7, 0.9], step = 0.05 }        # a range with a step
//! "forecast.alpha" = { random = [0.1, 0.9], samples = 3 }     # seeded random draws
//! "planner.vm_selection" = { values = ["per_vm_rule", "largest_relief"] }
//!
//! [sampling]
//! mode = "grid"        # every combination; "random" draws `samples` combinations
//! samples = 20
//! seed = 1
//!
//! [objective.weights]  # lower is better; defaults in DEFAULT_WEIGHTS
//! overload_time_frac = 100.0
//!
//! [constraints]        # hard limits on a config's mean metric
//! data_loss_events = { max = 0 }
//! rollback_rate = { max = 0.2 }
//! ```
//!
//! Config 0 is always the scenarios' own policy (the seed's defaults unless a scenario
//! overrides them), so every sweep compares against it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use scalelab_engine::PolicyConfig;
use scalelab_engine::input::{InputError, ensure, from_toml_str};
use scalelab_sim::rng::{Pcg32, derive};

/// Metrics a run reports, by the names objectives, constraints and columns use.
pub const METRICS: [&str; 23] = [
    "overload_time_frac",
    "migrations",
    "rollback_rate",
    "total_downtime_ms",
    "data_loss_events",
    "expected_vs_actual_mae",
    "expected_vs_actual_bias",
    "pdm",
    "unmet_demand_core_s",
    "energy_kwh",
    // SLATAH x PDM, and energy x SLAV (with power models): Beloglazov & Buyya's
    // measures, by which consolidation policies are ranked.
    "slav",
    "esv",
    "host_shutdowns",
    // Expected against actual for the plan's other estimates (completed migrations;
    // the source's utilization wherever it was measured).
    "downtime_error_ms_mae",
    "downtime_error_ms_bias",
    "completion_error_s_mae",
    "completion_error_s_bias",
    "data_sent_error_mib_mae",
    "data_sent_error_mib_bias",
    "precopy_rounds_error_mae",
    "precopy_rounds_error_bias",
    "source_utilization_error_mae",
    "source_utilization_error_bias",
];

/// Default objective weights (lower objective is better). On this scale 1 % of time
/// overloaded = 1.0, a 10 % rollback rate = 1.0, 100 migrations = 1.0, 1,000 s of VM
/// downtime = 1.0, one data-loss event = 100, and an expected-vs-actual error of 0.1
/// = 1.0. Downtime weighs little because most of it comes from node failures that no
/// threshold changes.
pub const DEFAULT_WEIGHTS: [(&str, f64); 6] = [
    ("overload_time_frac", 100.0),
    ("rollback_rate", 10.0),
    ("migrations", 0.01),
    ("total_downtime_ms", 0.000001),
    ("data_loss_events", 100.0),
    ("expected_vs_actual_mae", 10.0),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    #[serde(default)]
    pub values: Option<Vec<toml::Value>>,
    #[serde(default)]
    pub range: Option<[f64; 2]>,
    #[serde(default)]
    pub step: Option<f64>,
    #[serde(default)]
    pub random: Option<[f64; 2]>,
    #[serde(default)]
    pub samples: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SamplingMode {
    #[default]
    Grid,
    Random,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sampling {
    pub mode: SamplingMode,
    pub samples: usize,
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            mode: SamplingMode::Grid,
            samples: 20,
            seed: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub min: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub name: String,
    pub scenarios: Vec<String>,
    #[serde(default)]
    pub seeds: Vec<u64>,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamSpec>,
    #[serde(default)]
    pub sampling: Sampling,
    #[serde(default)]
    pub objective: Objective,
    #[serde(default)]
    pub constraints: Option<BTreeMap<String, Constraint>>,
}

/// One policy to try: its overrides (dotted path -> value) and the id they get.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub id: u32,
    pub overrides: BTreeMap<String, Value>,
    /// A literature policy run instead of the engine (`--baselines`).
    pub baseline: Option<scalelab_sim::baselines::Baseline>,
}

impl Config {
    /// The overrides (and baseline) as a JSON object with stable key order, for
    /// storage, run keys and columns.
    pub fn to_json(&self) -> Value {
        let mut m: serde_json::Map<String, Value> = self.overrides.clone().into_iter().collect();
        if let Some(b) = self.baseline {
            m.insert("baseline".into(), Value::from(b.name()));
        }
        Value::Object(m)
    }

    pub fn label(&self) -> String {
        match self.baseline {
            Some(b) => b.name().to_string(),
            None if self.id == 0 => "defaults".to_string(),
            None => format!("config {}", self.id),
        }
    }

    /// Apply the overrides to a scenario's policy and validate the result.
    pub fn apply(&self, base: &PolicyConfig) -> Result<PolicyConfig, InputError> {
        let mut v = serde_json::to_value(base).expect("policies serialize");
        for (path, value) in &self.overrides {
            set_path(&mut v, path, value.clone())?;
        }
        let p: PolicyConfig = serde_json::from_value(v)
            .map_err(|e| InputError::field("parameters", format!("config {}: {e}", self.id)))?;
        p.validate().map_err(|e| {
            InputError::field(e.path.clone(), format!("config {}: {}", self.id, e.message))
        })?;
        Ok(p)
    }
}

/// Set a dotted path in a JSON object, keeping the number kind the field has (a range
/// step of 2.0 becomes the integer 2 for an integer field).
fn set_path(root: &mut Value, path: &str, value: Value) -> Result<(), InputError> {
    let mut cur = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let obj = cur.as_object_mut().ok_or_else(|| unknown_param(path))?;
        // Sections and keys a policy leaves out when unset (`[consolidation]`, one
        // cooldown) are still fields: added when the policy type knows the path.
        if !obj.contains_key(*part) {
            if !policy_knows(path, &value) {
                return Err(unknown_param(path));
            }
            let fresh = if i + 1 == parts.len() {
                // Unknown kind: a whole number is written as an integer, which both
                // integer and float fields read.
                match value.as_f64() {
                    Some(f) if value.is_f64() && f.fract() == 0.0 && f >= 0.0 => {
                        Value::from(f as u64)
                    }
                    _ => value.clone(),
                }
            } else {
                Value::Object(Default::default())
            };
            obj.insert(part.to_string(), fresh);
        }
        let slot = obj.get_mut(*part).ok_or_else(|| unknown_param(path))?;
        if i + 1 == parts.len() {
            let value = match (&*slot, &value) {
                (Value::Number(old), Value::Number(new)) if old.is_u64() || old.is_i64() => {
                    match new.as_f64() {
                        Some(f) if f.fract() == 0.0 && f >= 0.0 => Value::from(f as u64),
                        _ => value,
                    }
                }
                _ => value,
            };
            *slot = value;
            return Ok(());
        }
        cur = slot;
    }
    Err(unknown_param(path))
}

/// Whether `path` names a policy field: a policy of only that key parses, or fails for
/// another reason than an unknown field (the value's type is checked with the rest).
fn policy_knows(path: &str, value: &Value) -> bool {
    let mut probe = value.clone();
    for part in path.split('.').rev() {
        let mut m = serde_json::Map::new();
        m.insert(part.to_string(), probe);
        probe = Value::Object(m);
    }
    match serde_json::from_value::<PolicyConfig>(probe) {
        Ok(_) => true,
        Err(e) => !e.to_string().contains("unknown field"),
    }
}

fn unknown_param(path: &str) -> InputError {
    InputError::field(
        format!("parameters.{path}"),
        "unknown policy field (see `scalelab policy` for the names)",
    )
}

fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Where the pieces of a sweep come from, after resolution.
#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: SweepSpec,
    pub scenarios: Vec<PathBuf>,
    pub configs: Vec<Config>,
    pub weights: BTreeMap<String, f64>,
    pub constraints: BTreeMap<String, Constraint>,
}

/// Runs a plan would make, refused above this unless the caller raises it.
pub const DEFAULT_MAX_RUNS: usize = 100_000;

impl Plan {
    /// Add one config per literature baseline, after the grid.
    pub fn add_baselines(&mut self) {
        for b in scalelab_sim::baselines::Baseline::ALL {
            self.configs.push(Config {
                id: self.configs.len() as u32,
                overrides: BTreeMap::new(),
                baseline: Some(b),
            });
        }
    }
}

impl SweepSpec {
    pub fn from_toml_str(src: &str) -> Result<Self, InputError> {
        let spec: Self = from_toml_str(src)?;
        ensure(!spec.name.trim().is_empty(), "name", || {
            "must not be empty".into()
        })?;
        ensure(!spec.scenarios.is_empty(), "scenarios", || {
            "at least one scenario path or glob is needed".into()
        })?;
        Ok(spec)
    }

    /// Values of one parameter.
    fn values(&self, name: &str, p: &ParamSpec) -> Result<Vec<Value>, InputError> {
        let at = format!("parameters.{name}");
        let given = [p.values.is_some(), p.range.is_some(), p.random.is_some()];
        ensure(given.iter().filter(|x| **x).count() == 1, &at, || {
            "give exactly one of `values`, `range` (with `step`) or `random` (with `samples`)"
                .into()
        })?;
        if let Some(vs) = &p.values {
            ensure(!vs.is_empty(), &format!("{at}.values"), || {
                "must not be empty".into()
            })?;
            return Ok(vs.iter().map(toml_to_json).collect());
        }
        if let Some([lo, hi]) = p.range {
            let step = p.step.unwrap_or(0.0);
            ensure(
                step.is_finite() && step > 0.0,
                &format!("{at}.step"),
                || format!("must be > 0, got {step}"),
            )?;
            ensure(
                lo.is_finite() && hi.is_finite() && lo <= hi,
                &format!("{at}.range"),
                || format!("must be [low, high] with low <= high, got [{lo}, {hi}]"),
            )?;
            // Counted in f64 first: a tiny step over a wide range must be refused, not
            // overflow.
            let count = ((hi - lo) / step + 1e-9).floor() + 1.0;
            ensure(count <= 10_000.0, &format!("{at}.step"), || {
                format!("gives {count:.0} values; at most 10000")
            })?;
            let n = count as usize;
            // Rounded so 0.1 steps give 0.7, not 0.7000000000000001.
            return Ok((0..n)
                .map(|i| Value::from(((lo + step * i as f64) * 1e9).round() / 1e9))
                .collect());
        }
        let [lo, hi] = p.random.unwrap_or([0.0, 0.0]);
        let n = p.samples.unwrap_or(0);
        ensure((1..=10_000).contains(&n), &format!("{at}.samples"), || {
            format!("must be between 1 and 10000, got {n}")
        })?;
        ensure(
            lo.is_finite() && hi.is_finite() && lo <= hi,
            &format!("{at}.random"),
            || format!("must be [low, high] with low <= high, got [{lo}, {hi}]"),
        )?;
        let mut rng = Pcg32::new(derive(self.sampling.seed, fnv(name)), 3);
        Ok((0..n)
            .map(|_| Value::from(((lo + (hi - lo) * rng.uniform()) * 1e6).round() / 1e6))
            .collect())
    }

    /// Resolve scenarios (globs relative to `dir`), expand configurations, validate
    /// each against `base`, and check weights and constraints.
    pub fn plan(
        &self,
        dir: &Path,
        base: &PolicyConfig,
        max_runs: usize,
    ) -> Result<Plan, InputError> {
        let mut scenarios = Vec::new();
        for (i, s) in self.scenarios.iter().enumerate() {
            let found = resolve(dir, s);
            ensure(!found.is_empty(), &format!("scenarios[{i}]"), || {
                format!("{s:?} matches no file")
            })?;
            for f in found {
                if !scenarios.contains(&f) {
                    scenarios.push(f);
                }
            }
        }
        let mut axes = Vec::new();
        for (name, p) in &self.parameters {
            axes.push((name.clone(), self.values(name, p)?));
        }
        let combos: Vec<BTreeMap<String, Value>> = match self.sampling.mode {
            SamplingMode::Grid => {
                let total: usize = axes.iter().map(|(_, v)| v.len()).product();
                ensure(total <= max_runs, "parameters", || {
                    format!("the grid has {total} combinations, above the limit of {max_runs}")
                })?;
                let mut out = vec![BTreeMap::new()];
                for (name, vals) in &axes {
                    let mut next = Vec::with_capacity(out.len() * vals.len());
                    for combo in &out {
                        for v in vals {
                            let mut c = combo.clone();
                            c.insert(name.clone(), v.clone());
                            next.push(c);
                        }
                    }
                    out = next;
                }
                out
            }
            SamplingMode::Random => {
                ensure(self.sampling.samples >= 1, "sampling.samples", || {
                    "must be at least 1".into()
                })?;
                let mut rng = Pcg32::new(derive(self.sampling.seed, 0x5a3), 5);
                (0..self.sampling.samples)
                    .map(|_| {
                        axes.iter()
                            .map(|(n, vals)| {
                                (
                                    n.clone(),
                                    vals[rng.below(vals.len() as u64) as usize].clone(),
                                )
                            })
                            .collect()
                    })
                    .collect()
            }
        };
        let mut configs = vec![Config {
            id: 0,
            overrides: BTreeMap::new(),
            baseline: None,
        }];
        for c in combos.into_iter().filter(|c| !c.is_empty()) {
            if configs.iter().any(|x| x.overrides == c) {
                continue;
            }
            let cfg = Config {
                id: configs.len() as u32,
                overrides: c,
                baseline: None,
            };
            cfg.apply(base)?;
            configs.push(cfg);
        }
        let seeds = self.seeds.len().max(1);
        let runs = configs.len() * scenarios.len() * seeds;
        ensure(runs <= max_runs, "parameters", || {
            format!(
                "{} configs x {} scenarios x {seeds} seeds = {runs} runs, above the limit of {max_runs} (raise it with --max-runs)",
                configs.len(),
                scenarios.len()
            )
        })?;
        let mut weights: BTreeMap<String, f64> = DEFAULT_WEIGHTS
            .iter()
            .map(|(k, w)| (k.to_string(), *w))
            .collect();
        for (k, w) in &self.objective.weights {
            let at = format!("objective.weights.{k}");
            ensure(METRICS.contains(&k.as_str()), &at, || {
                format!("unknown metric (one of {})", METRICS.join(", "))
            })?;
            ensure(w.is_finite() && *w >= 0.0, &at, || {
                format!("must be >= 0, got {w}")
            })?;
            weights.insert(k.clone(), *w);
        }
        let constraints = match &self.constraints {
            None => [(
                "data_loss_events".to_string(),
                Constraint {
                    max: Some(0.0),
                    min: None,
                },
            )]
            .into_iter()
            .collect(),
            Some(c) => c.clone(),
        };
        for (k, c) in &constraints {
            let at = format!("constraints.{k}");
            ensure(METRICS.contains(&k.as_str()), &at, || {
                format!("unknown metric (one of {})", METRICS.join(", "))
            })?;
            ensure(c.max.is_some() || c.min.is_some(), &at, || {
                "give `max`, `min` or both".into()
            })?;
        }
        Ok(Plan {
            spec: self.clone(),
            scenarios,
            configs,
            weights,
            constraints,
        })
    }
}

/// FNV-1a of a string: sweep keys and shard assignment must not change across versions.
pub fn fnv(s: &str) -> u64 {
    scalelab_engine::fnv::fnv1a(s.as_bytes())
}

/// A path, or a glob with `*` / `?` in its file name, relative to `dir`; sorted.
pub fn resolve(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = dir.join(pattern);
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains('*') && !name.contains('?') {
        return if full.is_file() { vec![full] } else { vec![] };
    }
    let parent = full.parent().unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(parent)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .is_some_and(|n| glob_match(&name, &n.to_string_lossy()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn glob_match(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(src: &str) -> Result<Plan, InputError> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        SweepSpec::from_toml_str(src)?.plan(&dir, &PolicyConfig::default(), DEFAULT_MAX_RUNS)
    }

    #[test]
    fn grid_crosses_lists_and_ranges_and_keeps_the_defaults_first() {
        let p = plan(
            "name = \"g\"\nscenarios = [\"hot-node-relief.toml\"]\nseeds = [1, 2]\n[parameters]\nmigrate_avg = { values = [0.6, 0.7] }\nmigrate_current = { range = [0.75, 0.85], step = 0.05 }\n",
        )
        .unwrap();
        assert_eq!(p.configs.len(), 1 + 2 * 3);
        assert!(p.configs[0].overrides.is_empty());
        let c = &p.configs[1];
        assert_eq!(c.overrides["migrate_avg"], 0.6);
        assert_eq!(c.overrides["migrate_current"], 0.75);
        let last = p.configs.last().unwrap();
        assert_eq!(last.overrides["migrate_current"], 0.85);
        let policy = last.apply(&PolicyConfig::default()).unwrap();
        assert_eq!(policy.migrate_avg, 0.7);
    }

    #[test]
    fn nested_fields_enums_and_integers_apply() {
        let p = plan(
            "name = \"n\"\nscenarios = [\"hot-node-relief.toml\"]\n[parameters]\n\"planner.vm_selection\" = { values = [\"largest_relief\"] }\n\"planner.max_migrations_per_node\" = { range = [1, 3], step = 1 }\n",
        )
        .unwrap();
        let pol = p.configs[3].apply(&PolicyConfig::default()).unwrap();
        assert_eq!(pol.planner.max_migrations_per_node, 3);
        assert_eq!(
            pol.planner.vm_selection,
            scalelab_engine::policy::VmSelection::LargestRelief
        );
    }

    #[test]
    fn random_samples_are_seeded() {
        let src = "name = \"r\"\nscenarios = [\"hot-node-relief.toml\"]\n[parameters]\n\"forecast.alpha\" = { random = [0.1, 0.9], samples = 4 }\n";
        let a = plan(src).unwrap();
        assert_eq!(a.configs.len(), 5);
        assert_eq!(a.configs, plan(src).unwrap().configs);
        let b = plan(&format!("{src}[sampling]\nseed = 9\n")).unwrap();
        assert_ne!(a.configs, b.configs);
        let r = plan(&format!(
            "{src}[sampling]\nmode = \"random\"\nsamples = 2\n"
        ))
        .unwrap();
        assert!(r.configs.len() <= 3);
    }

    #[test]
    fn globs_match_scenarios() {
        let p = plan("name = \"x\"\nscenarios = [\"*-rollback.toml\", \"hot-*.toml\"]\n").unwrap();
        let names: Vec<_> = p
            .scenarios
            .iter()
            .map(|s| s.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["target-spike-rollback.toml", "hot-node-relief.toml"]
        );
        assert!(glob_match("a*b?c", "axxbyc"));
        assert!(!glob_match("a*b", "ac"));
    }

    #[test]
    fn sections_a_policy_leaves_out_can_be_swept() {
        // `[consolidation]` and unset cooldowns are not written by a default policy,
        // but they are fields: a sweep sets them; a typo in them is still refused.
        let base = "name = \"o\"\nscenarios = [\"hot-node-relief.toml\"]\n[parameters]\n";
        let p = plan(&format!(
            "{base}\"consolidation.enabled\" = {{ values = [true] }}\n\
             \"consolidation.underload_avg\" = {{ values = [0.3] }}\n\
             \"cooldowns.scale_up_s\" = {{ values = [300.0] }}\n"
        ))
        .unwrap();
        let c = p.configs[1]
            .apply(&PolicyConfig::default())
            .expect("a valid policy");
        assert!(c.consolidation.enabled);
        assert_eq!(c.consolidation.underload_avg, 0.3);
        assert_eq!(c.cooldowns.scale_up_s, Some(300));
        let e = plan(&format!(
            "{base}\"consolidation.underload_avgg\" = {{ values = [0.3] }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "parameters.consolidation.underload_avgg");
        // Values are still judged: a threshold above the migration one is refused.
        let e = plan(&format!(
            "{base}\"consolidation.underload_avg\" = {{ values = [0.9] }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "consolidation.underload_avg");
    }

    #[test]
    fn errors_name_the_field() {
        let base = "name = \"e\"\nscenarios = [\"hot-node-relief.toml\"]\n";
        let e = plan(&format!(
            "{base}[parameters]\nmigrate_avgg = {{ values = [0.6] }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "parameters.migrate_avgg");
        let e = plan(&format!(
            "{base}[parameters]\nmigrate_avg = {{ values = [] }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "parameters.migrate_avg.values");
        let e = plan(&format!(
            "{base}[parameters]\nmigrate_avg = {{ range = [0.9, 0.6], step = 0.1 }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "parameters.migrate_avg.range");
        let e = plan(&format!(
            "{base}[parameters]\nmigrate_avg = {{ range = [0.6, 0.9] }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "parameters.migrate_avg.step");
        let e = plan(&format!(
            "{base}[parameters]\nmigrate_avg = {{ values = [1.7] }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "migrate_avg");
        let e = plan(&format!("{base}[objective.weights]\nhappiness = 1.0\n")).unwrap_err();
        assert_eq!(e.path, "objective.weights.happiness");
        let e = plan(&format!("{base}[constraints]\nrollback_rate = {{}}\n")).unwrap_err();
        assert_eq!(e.path, "constraints.rollback_rate");
        let e = plan("name = \"e\"\nscenarios = [\"nope-*.toml\"]\n").unwrap_err();
        assert_eq!(e.path, "scenarios[0]");
        let e = SweepSpec::from_toml_str("name = \"e\"\nscenarios = [\"a\"]\nflavour = 1\n")
            .unwrap_err();
        assert!(e.message.contains("flavour"));
    }
}
