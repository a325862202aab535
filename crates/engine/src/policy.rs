//! The engine's policy: every threshold and knob in one serde-loadable value.
//!
//! Defaults are the seed's values (`../shared/seed/migration-action-clarity.md`): migrate
//! when avg > 0.7, current > 0.75 and forecast accuracy > 0.8, expecting a 30 %
//! improvement. Everything the seed left implicit (scale rules, target ceiling, plan
//! timeouts) gets a documented default here so that sweeps can move it.

use serde::{Deserialize, Serialize};

use crate::input::{InputError, check_positive, check_range, ensure, from_toml_str};
use crate::model::{ForecasterKind, ScalingAction};

/// How the expected utilization after a migration is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// The seed's rule: expected = current x `improvement_factor` (0.7 = 30 % better).
    #[default]
    FixedFactor,
    /// Expected = the chosen target's utilization once it carries the VM's demand.
    ModelBased,
}

/// How the planner picks which VM leaves a hot node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VmSelection {
    /// Per hot node, the VM that relieves the most CPU per MiB the migration sends first
    /// (its demand over the pre-copy model's data estimate), and no more VMs once the
    /// planned departures bring the node to `migrate_current` or below: relief without
    /// moves that the node no longer needs.
    #[default]
    ReliefPerByte,
    /// The seed's behaviour: every VM whose own rule says MIGRATE is planned on its own,
    /// subject only to reservations and caps (every VM of a hot host alike, ties by id,
    /// whether or not the others' departures already relieve it).
    PerVmRule,
    /// Per hot node, the VM with the shortest estimated migration first (Beloglazov's MMT).
    MinimumMigrationTime,
    /// Per hot node, the VM whose departure relieves the most CPU first.
    LargestRelief,
}

/// Top-level policy. Unknown keys are rejected when loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// MIGRATE needs the host's average CPU utilization above this (seed: 0.7).
    pub migrate_avg: f64,
    /// MIGRATE needs the host's current CPU utilization above this (seed: 0.75).
    pub migrate_current: f64,
    /// A present forecast must be more accurate than this to allow MIGRATE (seed: 0.8).
    pub min_forecast_accuracy: f64,
    /// Fixed-factor estimator: expected = current x factor (seed: 0.7, a 30 % improvement).
    pub improvement_factor: f64,
    pub estimator: Estimator,
    /// A linear correction of the model-based estimate, as `scalelab calibrate` fits it
    /// from measured runs: expected = intercept + slope x the model's target utilization.
    /// Absent: the model as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_correction: Option<LinearCorrection>,
    /// Sustained load: avg at or above this and current at or above `scale_out_current`
    /// adds a replica (or scales up a VM without a service group).
    pub scale_out_avg: f64,
    pub scale_out_current: f64,
    /// A peak (observed, or the forecast's upper bound) at or above this scales up.
    pub scale_up_peak: f64,
    /// Current utilization at or above this scales up even without a peak.
    pub scale_up_current: f64,
    /// Idle: avg at or below this with peak at or below `scale_in_peak` removes a replica.
    pub scale_in_avg: f64,
    pub scale_in_peak: f64,
    /// Under-used: avg at or below this with peak at or below `scale_down_peak` scales down.
    pub scale_down_avg: f64,
    pub scale_down_peak: f64,
    /// Scale actions size capacity so that the peak lands at this utilization.
    pub scale_target_utilization: f64,
    /// Hysteresis: after a resize one way, a resize the other way needs the VM's mean
    /// demand (in cores) to have moved that way by more than this fraction since the
    /// last resize. 0 turns it off (the seed's behaviour, which flaps on noise).
    pub scale_hysteresis_frac: f64,
    /// A service group never scales in below this many replicas.
    pub min_replicas: u32,
    /// Confidence reported when no forecast is available.
    pub confidence_without_forecast: f64,
    /// Time over which current / average / peak are taken, seconds (absent: one hour,
    /// [`DEFAULT_WINDOW_S`]), turned into samples with the data's sample interval. A
    /// window in time means the same at 60 s and at 5 min sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<u64>,
    /// Deprecated: the window in samples (the seed's 12 meant one hour at 5 minutes, and
    /// was 12 minutes at 60 s). Still read, and then it wins; [`Self::deprecations`]
    /// says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_samples: Option<usize>,
    #[serde(skip_serializing_if = "CooldownConfig::is_unset")]
    pub cooldowns: CooldownConfig,
    pub planner: PlannerConfig,
    pub forecast: ForecastConfig,
    pub migration: MigrationConfig,
    #[serde(skip_serializing_if = "ConsolidationConfig::is_default")]
    pub consolidation: ConsolidationConfig,
}

/// Energy-aware consolidation: a host that runs little is emptied by MIGRATE decisions
/// with full plans, all of its VMs or none, onto the fullest hosts that stay under
/// `target_ceiling` with them, so that it can be switched off. Off by default: the
/// seed has no such rule, and its decisions stay the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsolidationConfig {
    pub enabled: bool,
    /// A host is underloaded when its window average and its current CPU utilization
    /// are both below this.
    pub underload_avg: f64,
    /// A target takes VMs only while it stays at or below this CPU utilization with
    /// them: headroom under the migration thresholds, so a packed host is not hot.
    pub target_ceiling: f64,
    /// Hosts emptied per control round, at most.
    pub max_hosts_per_round: u32,
    /// Underloaded hosts tried per control round (a host whose VMs do not all fit
    /// elsewhere is a wasted try): bounds the round's cost on large fleets.
    pub max_tries_per_round: u32,
}

impl Default for ConsolidationConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            underload_avg: 0.2,
            target_ceiling: 0.6,
            max_hosts_per_round: 1,
            max_tries_per_round: 8,
        }
    }
}

impl ConsolidationConfig {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    fn validate(&self, migrate_avg: f64, migrate_current: f64) -> Result<(), InputError> {
        check_range("underload_avg", self.underload_avg, 0.0, 1.0)?;
        check_range("target_ceiling", self.target_ceiling, 0.0, 1.0)?;
        ensure(self.underload_avg < migrate_avg, "underload_avg", || {
            format!(
                "must be below the migration threshold migrate_avg ({migrate_avg}), got {}: \
                 a host could be emptied and relieved at once",
                self.underload_avg
            )
        })?;
        ensure(
            self.target_ceiling < migrate_current,
            "target_ceiling",
            || {
                format!(
                    "must be below migrate_current ({migrate_current}), got {}: a packed host \
                     would be migrated from right after",
                    self.target_ceiling
                )
            },
        )?;
        ensure(
            self.underload_avg < self.target_ceiling,
            "underload_avg",
            || {
                format!(
                    "must be below target_ceiling ({}), got {}: a target could itself count \
                     as underloaded",
                    self.target_ceiling, self.underload_avg
                )
            },
        )?;
        ensure(self.max_hosts_per_round >= 1, "max_hosts_per_round", || {
            "must be at least 1".into()
        })?;
        ensure(
            self.max_tries_per_round >= self.max_hosts_per_round,
            "max_tries_per_round",
            || {
                format!(
                    "must be at least max_hosts_per_round ({}), got {}",
                    self.max_hosts_per_round, self.max_tries_per_round
                )
            },
        )?;
        Ok(())
    }
}

/// y = intercept + slope x, fitted to (estimate, measured) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearCorrection {
    pub intercept: f64,
    pub slope: f64,
}

impl LinearCorrection {
    /// The corrected estimate (a utilization, so never below 0).
    pub fn apply(&self, x: f64) -> f64 {
        (self.intercept + self.slope * x).max(0.0)
    }

    fn validate(&self) -> Result<(), InputError> {
        ensure(
            self.slope.is_finite() && self.slope > 0.0 && self.slope <= 10.0,
            "slope",
            || {
                format!(
                    "must be above 0 and at most 10 (a correction, not a new model), got {}",
                    self.slope
                )
            },
        )?;
        check_range("intercept", self.intercept, -1.0, 1.0)
    }
}

/// How long each kind of action waits after the VM's (or its service group's) last
/// scaling action, seconds. Per action, because the costs differ: a scale-up answers
/// a load that is hurting now, a scale-in gives capacity back that a returning peak
/// needs again (Kubernetes' HPA, for one, holds scale-down back for 300 s and scale-up
/// not at all). Absent keys take [`DEFAULT_SCALE_COOLDOWN_S`] (the seed's three
/// 5-minute control rounds), and `migrate_s` 0; only keys a policy sets are written,
/// so a record says which were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CooldownConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_up_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_down_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_out_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_in_s: Option<u64>,
    /// A VM that switched over less than this ago is not a MIGRATE candidate (its host's
    /// other VMs still are): time for the move's effect to show before the next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_s: Option<u64>,
}

/// A scale action's cooldown when the policy does not set one: three 5-minute rounds.
pub const DEFAULT_SCALE_COOLDOWN_S: u64 = 900;

impl CooldownConfig {
    /// Every action's cooldown set to the same `s` (what the deprecated per-interval
    /// setting means).
    pub fn uniform(s: u64) -> Self {
        Self {
            scale_up_s: Some(s),
            scale_down_s: Some(s),
            scale_out_s: Some(s),
            scale_in_s: Some(s),
            migrate_s: None,
        }
    }

    /// The cooldown of `action` in milliseconds (0 for no action).
    pub fn of_ms(&self, action: ScalingAction) -> u64 {
        let s = match action {
            ScalingAction::ScaleUp => self.scale_up_s,
            ScalingAction::ScaleDown => self.scale_down_s,
            ScalingAction::ScaleOut => self.scale_out_s,
            ScalingAction::ScaleIn => self.scale_in_s,
            ScalingAction::Migrate => return self.migrate_s.unwrap_or(0).saturating_mul(1000),
            ScalingAction::NoAction => return 0,
        };
        s.unwrap_or(DEFAULT_SCALE_COOLDOWN_S).saturating_mul(1000)
    }

    /// The keys a policy set, with their values (for checks against a run's length).
    pub fn set(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("scale_up_s", self.scale_up_s),
            ("scale_down_s", self.scale_down_s),
            ("scale_out_s", self.scale_out_s),
            ("scale_in_s", self.scale_in_s),
            ("migrate_s", self.migrate_s),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }

    pub fn is_unset(&self) -> bool {
        self.set().next().is_none()
    }

    fn validate(&self) -> Result<(), InputError> {
        for (k, v) in self.set() {
            ensure(v <= MAX_WINDOW_S, k, || {
                format!("must be at most {MAX_WINDOW_S} s (10 days), got {v}")
            })?;
        }
        Ok(())
    }
}

/// Target selection and the cluster-level planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerConfig {
    /// A target must stay at or below this CPU utilization with the VM placed on it.
    pub target_cpu_ceiling: f64,
    /// A target needs free memory of at least the VM's memory plus this (seed: 2 GiB).
    pub memory_margin_mib: u64,
    /// Source and target NICs need at least this much bandwidth (seed: 100 Mbps).
    pub min_bandwidth_mbps: f64,
    pub vm_selection: VmSelection,
    /// Migrations in flight that touch one node (as source or target).
    pub max_migrations_per_node: u32,
    /// Migrations in flight in the whole cluster.
    pub max_migrations_cluster: u32,
    /// A VM is not migrated back to a node it left less than this long ago (seconds;
    /// 0 = no such rule, the seed's behaviour). The caller lists those nodes in the
    /// snapshot's `recently_left`; the simulator does it from this value.
    pub return_window_s: u64,
}

/// Forecaster choice and parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    pub forecaster: ForecasterKind,
    /// Level smoothing.
    pub alpha: f64,
    /// Trend smoothing (Holt, Holt-Winters).
    pub beta: f64,
    /// Seasonal smoothing (Holt-Winters).
    pub gamma: f64,
    /// Samples per season (288 = one day at 5 minutes).
    pub season_length: usize,
    /// Predicted values per forecast.
    pub horizon_steps: usize,
    /// One-step errors kept for the accuracy score and the prediction interval.
    pub accuracy_window: usize,
    /// Samples needed before a forecast is produced at all.
    pub min_history: usize,
    /// Width of the prediction interval in standard errors (1.96 = 95 %).
    pub interval_z: f64,
}

/// The live-migration model behind plan timeouts and estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrationConfig {
    /// Pre-copy stops when the remainder can move within this pause (QEMU: 300 ms).
    pub downtime_target_ms: u64,
    /// Pre-copy rounds at most (Xen: 29).
    pub max_rounds: u32,
    /// Pre-copy stops once this multiple of the VM's memory has been sent (Xen: 3).
    pub max_data_factor: f64,
    /// Fraction of memory that can be dirty at once (writable working set; SimGrid: 0.9).
    pub writable_working_set_frac: f64,
    /// Time to resume the VM on the target after the last copy.
    pub resume_ms: u64,
    /// Plans whose estimated downtime exceeds this are not proposed. At most
    /// `max_unresponsive_ms`: a plan allowed a longer pause would be rolled back as
    /// unresponsive by its own condition.
    pub max_estimated_downtime_ms: u64,
    pub validation_timeout_s: u64,
    pub verification_timeout_s: u64,
    pub cleanup_timeout_s: u64,
    /// Step timeouts for data-moving steps = estimate x this factor, at least `min_step_timeout_s`.
    pub timeout_safety_factor: f64,
    pub min_step_timeout_s: u64,
    /// Success: the source host's utilization falls by at least this share of its value
    /// at the decision (seed: 20 %), and the VM is served no less of its demand. A move
    /// expected to relieve the source by less asks for half its expected relief, so the
    /// criterion never fails by construction (see the plan builder).
    pub min_improvement_pct: f64,
    /// Rollback: the target would run above this CPU utilization with the VM (kept above
    /// the planner's ceiling so that ordinary noise does not abort migrations).
    pub rollback_target_cpu_frac: f64,
    /// Success / rollback: the VM never pauses longer than this.
    pub max_unresponsive_ms: u64,
    /// Rollback: the migration bandwidth drops below this.
    pub min_connectivity_mbps: f64,
    /// Each migration's own bandwidth cap, as QEMU's `max-bandwidth` (whose default in
    /// current versions is 128 MiB/s = 1073.7 Mbit/s); unset = no cap. Plans are
    /// estimated at the capped rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bandwidth_mbps: Option<f64>,
    /// Share of a migration flow's rate that carries memory: the rest is protocol
    /// overhead (TCP/IP headers, acknowledgements, the migration stream's own framing).
    /// 0.97 is SimGrid's default bandwidth factor (its LV08 network model, Velho &
    /// Legrand, SIMUTools 2009, fitted to TCP transfers). Used alike by the planner's
    /// estimates and the executor's transfers.
    pub goodput_frac: f64,
    /// QEMU's auto-converge: throttle a guest that dirties memory faster than pre-copy
    /// sends it (see [`crate::precopy::AutoConverge`]). Off by default, as in QEMU.
    pub auto_converge: bool,
    /// First throttle step, percent of the guest's CPU (QEMU `cpu-throttle-initial`: 20).
    pub auto_converge_initial_pct: f64,
    /// Each further step (QEMU `cpu-throttle-increment`: 10).
    pub auto_converge_increment_pct: f64,
}

/// The stats window when a policy names none: one hour.
pub const DEFAULT_WINDOW_S: u64 = 3600;
/// The longest stats window a policy may ask for: ten days.
pub const MAX_WINDOW_S: u64 = 864_000;

impl PolicyConfig {
    /// The stats window in samples for data sampled every `sample_interval_s`: the
    /// deprecated `window_samples` when a policy still sets it, else `window_s` (or one
    /// hour) over the interval, at least one sample.
    pub fn window_len(&self, sample_interval_s: u64) -> usize {
        if let Some(n) = self.window_samples {
            return n;
        }
        let s = self.window_s.unwrap_or(DEFAULT_WINDOW_S);
        ((s / sample_interval_s.max(1)) as usize).max(1)
    }

    /// What the policy sets that is deprecated, as notes for the user.
    pub fn deprecations(&self) -> Vec<String> {
        self.window_samples
            .map(|n| {
                format!(
                    "window_samples = {n} is deprecated: set window_s, the window in seconds \
                     (it means the same at any sample interval)"
                )
            })
            .into_iter()
            .collect()
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            migrate_avg: 0.7,
            migrate_current: 0.75,
            min_forecast_accuracy: 0.8,
            improvement_factor: 0.7,
            estimator: Estimator::FixedFactor,
            model_correction: None,
            scale_out_avg: 0.8,
            scale_out_current: 0.8,
            scale_up_peak: 0.9,
            scale_up_current: 0.85,
            scale_in_avg: 0.15,
            scale_in_peak: 0.3,
            scale_down_avg: 0.3,
            scale_down_peak: 0.5,
            scale_target_utilization: 0.6,
            scale_hysteresis_frac: 0.2,
            min_replicas: 1,
            confidence_without_forecast: 0.5,
            window_s: None,
            window_samples: None,
            cooldowns: CooldownConfig::default(),
            planner: PlannerConfig::default(),
            consolidation: ConsolidationConfig::default(),
            forecast: ForecastConfig::default(),
            migration: MigrationConfig::default(),
        }
    }
}

impl Default for PlannerConfig {
    fn default() -> Self {
        Self {
            target_cpu_ceiling: 0.7,
            memory_margin_mib: 2048,
            min_bandwidth_mbps: 100.0,
            vm_selection: VmSelection::ReliefPerByte,
            max_migrations_per_node: 2,
            max_migrations_cluster: 16,
            return_window_s: 3600,
        }
    }
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            forecaster: ForecasterKind::Holt,
            alpha: 0.5,
            beta: 0.1,
            gamma: 0.1,
            season_length: 288,
            horizon_steps: 12,
            accuracy_window: 48,
            min_history: 12,
            interval_z: 1.96,
        }
    }
}

impl Default for MigrationConfig {
    fn default() -> Self {
        Self {
            downtime_target_ms: 300,
            max_rounds: 29,
            max_data_factor: 3.0,
            writable_working_set_frac: 0.9,
            resume_ms: 20,
            // No more than the pause after which the executor rolls back as unresponsive.
            max_estimated_downtime_ms: 5_000,
            validation_timeout_s: 30,
            verification_timeout_s: 60,
            cleanup_timeout_s: 30,
            timeout_safety_factor: 2.0,
            min_step_timeout_s: 10,
            min_improvement_pct: 20.0,
            rollback_target_cpu_frac: 0.9,
            max_unresponsive_ms: 5_000,
            min_connectivity_mbps: 100.0,
            max_bandwidth_mbps: None,
            goodput_frac: 0.97,
            auto_converge: false,
            auto_converge_initial_pct: 20.0,
            auto_converge_increment_pct: 10.0,
        }
    }
}

impl PolicyConfig {
    /// Parse and validate a policy TOML; missing keys take their defaults.
    pub fn from_toml_str(src: &str) -> Result<Self, InputError> {
        let policy: Self = from_toml_str(src)?;
        policy.validate()?;
        Ok(policy)
    }

    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a policy always serializes to TOML")
    }

    /// Reject out-of-range values and combinations that contradict each other.
    pub fn validate(&self) -> Result<(), InputError> {
        for (name, v) in [
            ("migrate_avg", self.migrate_avg),
            ("migrate_current", self.migrate_current),
            ("min_forecast_accuracy", self.min_forecast_accuracy),
            ("scale_out_avg", self.scale_out_avg),
            ("scale_out_current", self.scale_out_current),
            ("scale_up_peak", self.scale_up_peak),
            ("scale_up_current", self.scale_up_current),
            ("scale_in_avg", self.scale_in_avg),
            ("scale_in_peak", self.scale_in_peak),
            ("scale_down_avg", self.scale_down_avg),
            ("scale_down_peak", self.scale_down_peak),
            (
                "confidence_without_forecast",
                self.confidence_without_forecast,
            ),
        ] {
            check_range(name, v, 0.0, 1.0)?;
        }
        ensure(
            self.improvement_factor.is_finite()
                && self.improvement_factor > 0.0
                && self.improvement_factor < 1.0,
            "improvement_factor",
            || {
                format!(
                    "must be above 0 and below 1 (0.7 = 30 % improvement), got {}",
                    self.improvement_factor
                )
            },
        )?;
        ensure(
            self.scale_target_utilization.is_finite()
                && self.scale_target_utilization > self.scale_in_avg
                && self.scale_target_utilization < self.scale_up_peak,
            "scale_target_utilization",
            || {
                format!(
                    "must be above scale_in_avg ({}) and below scale_up_peak ({}), got {}",
                    self.scale_in_avg, self.scale_up_peak, self.scale_target_utilization
                )
            },
        )?;
        ensure(
            self.scale_hysteresis_frac.is_finite()
                && (0.0..1.0).contains(&self.scale_hysteresis_frac),
            "scale_hysteresis_frac",
            || {
                format!(
                    "must be at least 0 and below 1 (0.2 = the demand must move 20 %), got {}",
                    self.scale_hysteresis_frac
                )
            },
        )?;
        let below = |low: (&str, f64), high: (&str, f64)| {
            ensure(low.1 < high.1, low.0, || {
                format!(
                    "must be below {} ({}), got {}: a VM could be both idle and hot",
                    high.0, high.1, low.1
                )
            })
        };
        below(
            ("scale_down_avg", self.scale_down_avg),
            ("scale_out_avg", self.scale_out_avg),
        )?;
        below(
            ("scale_down_peak", self.scale_down_peak),
            ("scale_up_peak", self.scale_up_peak),
        )?;
        below(
            ("scale_in_avg", self.scale_in_avg),
            ("scale_out_avg", self.scale_out_avg),
        )?;
        below(
            ("scale_in_peak", self.scale_in_peak),
            ("scale_up_peak", self.scale_up_peak),
        )?;
        // A VM's current utilization is at most its peak, so a down band whose peak
        // reaches the up band's current would hold VMs that are both.
        below(
            ("scale_down_peak", self.scale_down_peak),
            ("scale_up_current", self.scale_up_current),
        )?;
        below(
            ("scale_in_peak", self.scale_in_peak),
            ("scale_up_current", self.scale_up_current),
        )?;
        self.cooldowns
            .validate()
            .map_err(|e| e.within("cooldowns"))?;
        if let Some(c) = &self.model_correction {
            c.validate().map_err(|e| e.within("model_correction"))?;
        }
        if let Some(n) = self.window_samples {
            ensure((1..=100_000).contains(&n), "window_samples", || {
                format!("must be between 1 and 100000, got {n}")
            })?;
            ensure(self.window_s.is_none(), "window_samples", || {
                "contradicts window_s: keep window_s (seconds) and remove window_samples".into()
            })?;
        }
        if let Some(s) = self.window_s {
            ensure((1..=MAX_WINDOW_S).contains(&s), "window_s", || {
                format!("must be between 1 and {MAX_WINDOW_S} s (10 days), got {s}")
            })?;
        }
        ensure(self.min_replicas >= 1, "min_replicas", || {
            "must be at least 1".to_string()
        })?;
        self.planner
            .validate(self.migrate_current)
            .map_err(|e| e.within("planner"))?;
        self.consolidation
            .validate(self.migrate_avg, self.migrate_current)
            .map_err(|e| e.within("consolidation"))?;
        ensure(
            self.migration.rollback_target_cpu_frac >= self.planner.target_cpu_ceiling,
            "migration.rollback_target_cpu_frac",
            || {
                format!(
                    "must be at least planner.target_cpu_ceiling ({}), got {}: every \
                     migration would roll back at once",
                    self.planner.target_cpu_ceiling, self.migration.rollback_target_cpu_frac
                )
            },
        )?;
        self.forecast.validate().map_err(|e| e.within("forecast"))?;
        self.migration
            .validate()
            .map_err(|e| e.within("migration"))?;
        Ok(())
    }
}

impl PlannerConfig {
    fn validate(&self, migrate_current: f64) -> Result<(), InputError> {
        check_range("target_cpu_ceiling", self.target_cpu_ceiling, 0.0, 1.0)?;
        ensure(
            self.target_cpu_ceiling < migrate_current,
            "target_cpu_ceiling",
            || {
                format!(
                    "must be below migrate_current ({migrate_current}), got {}: a target could \
                     become a migration source right after the move",
                    self.target_cpu_ceiling
                )
            },
        )?;
        check_positive("min_bandwidth_mbps", self.min_bandwidth_mbps)?;
        ensure(
            self.max_migrations_per_node >= 1,
            "max_migrations_per_node",
            || "must be at least 1".to_string(),
        )?;
        ensure(
            self.max_migrations_cluster >= 1,
            "max_migrations_cluster",
            || "must be at least 1".to_string(),
        )?;
        Ok(())
    }
}

impl ForecastConfig {
    fn validate(&self) -> Result<(), InputError> {
        for (name, v) in [
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("gamma", self.gamma),
        ] {
            ensure(v.is_finite() && v > 0.0 && v <= 1.0, name, || {
                format!("must be above 0 and at most 1, got {v}")
            })?;
        }
        ensure(
            (2..=100_000).contains(&self.season_length),
            "season_length",
            || format!("must be between 2 and 100000, got {}", self.season_length),
        )?;
        ensure(
            (1..=10_000).contains(&self.horizon_steps),
            "horizon_steps",
            || format!("must be between 1 and 10000, got {}", self.horizon_steps),
        )?;
        ensure(
            (2..=100_000).contains(&self.accuracy_window),
            "accuracy_window",
            || format!("must be between 2 and 100000, got {}", self.accuracy_window),
        )?;
        ensure(self.min_history >= 2, "min_history", || {
            format!("must be at least 2, got {}", self.min_history)
        })?;
        check_range("interval_z", self.interval_z, 0.0, 10.0)?;
        Ok(())
    }
}

impl MigrationConfig {
    fn validate(&self) -> Result<(), InputError> {
        ensure(self.downtime_target_ms >= 1, "downtime_target_ms", || {
            "must be at least 1".to_string()
        })?;
        ensure((1..=1000).contains(&self.max_rounds), "max_rounds", || {
            format!("must be between 1 and 1000, got {}", self.max_rounds)
        })?;
        ensure(
            self.max_data_factor.is_finite() && self.max_data_factor >= 1.0,
            "max_data_factor",
            || {
                format!(
                    "must be at least 1 (one full copy), got {}",
                    self.max_data_factor
                )
            },
        )?;
        ensure(
            self.writable_working_set_frac.is_finite()
                && self.writable_working_set_frac > 0.0
                && self.writable_working_set_frac <= 1.0,
            "writable_working_set_frac",
            || {
                format!(
                    "must be above 0 and at most 1, got {}",
                    self.writable_working_set_frac
                )
            },
        )?;
        ensure(
            self.max_estimated_downtime_ms >= self.downtime_target_ms,
            "max_estimated_downtime_ms",
            || {
                format!(
                    "must be at least downtime_target_ms ({}), got {}",
                    self.downtime_target_ms, self.max_estimated_downtime_ms
                )
            },
        )?;
        for (name, v) in [
            ("auto_converge_initial_pct", self.auto_converge_initial_pct),
            (
                "auto_converge_increment_pct",
                self.auto_converge_increment_pct,
            ),
        ] {
            ensure(v.is_finite() && v > 0.0 && v <= 99.0, name, || {
                format!("must be a throttle step above 0 and at most 99 (percent), got {v}")
            })?;
        }
        ensure(
            self.goodput_frac > 0.0 && self.goodput_frac <= 1.0,
            "goodput_frac",
            || {
                format!(
                    "must be a share of the flow's rate above 0 and at most 1, got {}",
                    self.goodput_frac
                )
            },
        )?;
        if let Some(cap) = self.max_bandwidth_mbps {
            ensure(cap.is_finite() && cap > 0.0, "max_bandwidth_mbps", || {
                format!("must be a bandwidth above 0 (Mbit/s), got {cap}")
            })?;
            ensure(
                cap >= self.min_connectivity_mbps,
                "max_bandwidth_mbps",
                || {
                    format!(
                        "{cap} Mbit/s is below min_connectivity_mbps ({}), so every migration \
                         would roll back for lost connectivity",
                        self.min_connectivity_mbps
                    )
                },
            )?;
        }
        ensure(
            self.max_estimated_downtime_ms <= self.max_unresponsive_ms,
            "max_estimated_downtime_ms",
            || {
                format!(
                    "{} ms allows plans to pause the VM longer than max_unresponsive_ms ({} ms), \
                     after which they roll back as unresponsive; keep it at most that",
                    self.max_estimated_downtime_ms, self.max_unresponsive_ms
                )
            },
        )?;
        // Upper bounds keep plan arithmetic (sums of step timeouts in ms) far from
        // overflow; a week is beyond any real migration step.
        const WEEK_S: u64 = 7 * 86_400;
        for (name, v, max) in [
            ("downtime_target_ms", self.downtime_target_ms, WEEK_S * 1000),
            (
                "max_estimated_downtime_ms",
                self.max_estimated_downtime_ms,
                WEEK_S * 1000,
            ),
            ("validation_timeout_s", self.validation_timeout_s, WEEK_S),
            (
                "verification_timeout_s",
                self.verification_timeout_s,
                WEEK_S,
            ),
            ("cleanup_timeout_s", self.cleanup_timeout_s, WEEK_S),
            ("min_step_timeout_s", self.min_step_timeout_s, WEEK_S),
            (
                "max_unresponsive_ms",
                self.max_unresponsive_ms,
                WEEK_S * 1000,
            ),
        ] {
            ensure((1..=max).contains(&v), name, || {
                format!("must be between 1 and {max} (a week), got {v}")
            })?;
        }
        ensure(
            self.timeout_safety_factor.is_finite()
                && (1.0..=100.0).contains(&self.timeout_safety_factor),
            "timeout_safety_factor",
            || {
                format!(
                    "must be between 1 and 100, got {}",
                    self.timeout_safety_factor
                )
            },
        )?;
        check_range("min_improvement_pct", self.min_improvement_pct, 0.0, 100.0)?;
        check_range(
            "rollback_target_cpu_frac",
            self.rollback_target_cpu_frac,
            0.0,
            10.0,
        )?;
        check_positive("min_connectivity_mbps", self.min_connectivity_mbps)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_values_and_valid() {
        let p = PolicyConfig::default();
        assert_eq!(p.migrate_avg, 0.7);
        assert_eq!(p.migrate_current, 0.75);
        assert_eq!(p.min_forecast_accuracy, 0.8);
        assert_eq!(p.improvement_factor, 0.7);
        assert_eq!(p.estimator, Estimator::FixedFactor);
        assert_eq!(p.planner.memory_margin_mib, 2048);
        assert_eq!(p.planner.min_bandwidth_mbps, 100.0);
        p.validate().unwrap();
    }

    #[test]
    fn the_stats_window_is_time_whatever_the_sample_interval() {
        // One hour by default: 12 samples at 5 minutes, 60 at one minute.
        let p = PolicyConfig::default();
        assert_eq!((p.window_len(300), p.window_len(60)), (12, 60));
        assert!(p.deprecations().is_empty());
        let p = PolicyConfig::from_toml_str("window_s = 1800\n").unwrap();
        assert_eq!(
            (p.window_len(300), p.window_len(60), p.window_len(7200)),
            (6, 30, 1)
        );
        // The old key is read as before, and said to be deprecated.
        let p = PolicyConfig::from_toml_str("window_samples = 12\n").unwrap();
        assert_eq!((p.window_len(300), p.window_len(60)), (12, 12));
        assert!(
            p.deprecations()[0].contains("window_s"),
            "{:?}",
            p.deprecations()
        );
        // Both at once contradict each other; nonsense is refused with the key named.
        for (text, key) in [
            ("window_samples = 12\nwindow_s = 3600\n", "window_samples"),
            ("window_s = 0\n", "window_s"),
            ("window_s = 9000000\n", "window_s"),
        ] {
            let e = PolicyConfig::from_toml_str(text).unwrap_err().to_string();
            assert!(e.starts_with(key), "{text}: {e}");
        }
    }

    #[test]
    fn a_downtime_allowance_the_rollback_would_undo_is_refused() {
        let e = PolicyConfig::from_toml_str(
            "[migration]\nmax_estimated_downtime_ms = 10000\nmax_unresponsive_ms = 5000\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("migration.max_estimated_downtime_ms"), "{e}");
        assert!(e.contains("max_unresponsive_ms (5000 ms)"), "{e}");
        let d = MigrationConfig::default();
        assert!(d.max_estimated_downtime_ms <= d.max_unresponsive_ms);
        PolicyConfig::from_toml_str(
            "[migration]\nmax_estimated_downtime_ms = 8000\nmax_unresponsive_ms = 8000\n",
        )
        .unwrap();
    }

    #[test]
    fn empty_toml_gives_defaults_and_round_trips() {
        let p = PolicyConfig::from_toml_str("").unwrap();
        assert_eq!(p, PolicyConfig::default());
        let back = PolicyConfig::from_toml_str(&p.to_toml_string()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn partial_toml_overrides_only_given_fields() {
        let p = PolicyConfig::from_toml_str(
            "migrate_avg = 0.65\nestimator = \"model_based\"\n[forecast]\nforecaster = \"holt_winters\"\nseason_length = 24\n",
        )
        .unwrap();
        assert_eq!(p.migrate_avg, 0.65);
        assert_eq!(p.estimator, Estimator::ModelBased);
        assert_eq!(p.forecast.forecaster, ForecasterKind::HoltWinters);
        assert_eq!(p.forecast.season_length, 24);
        assert_eq!(p.migrate_current, 0.75);
    }

    #[test]
    fn out_of_range_names_the_field() {
        let e = PolicyConfig::from_toml_str("migrate_avg = 1.5").unwrap_err();
        assert_eq!(e.path, "migrate_avg");
        let e = PolicyConfig::from_toml_str("[forecast]\nalpha = 0.0").unwrap_err();
        assert_eq!(e.path, "forecast.alpha");
        let e = PolicyConfig::from_toml_str("improvement_factor = 1.0").unwrap_err();
        assert_eq!(e.path, "improvement_factor");
        let e = PolicyConfig::from_toml_str("[migration]\nmax_rounds = 0").unwrap_err();
        assert_eq!(e.path, "migration.max_rounds");
        for bad in ["1.0", "-0.1", "nan"] {
            let e =
                PolicyConfig::from_toml_str(&format!("scale_hysteresis_frac = {bad}")).unwrap_err();
            assert_eq!(e.path, "scale_hysteresis_frac", "{bad}");
        }
        assert!(PolicyConfig::from_toml_str("scale_hysteresis_frac = 0.0").is_ok());
        for (body, field) in [
            ("intercept = 0.0\nslope = 0.0", "model_correction.slope"),
            ("intercept = 0.0\nslope = nan", "model_correction.slope"),
            ("intercept = 2.0\nslope = 1.0", "model_correction.intercept"),
        ] {
            let e =
                PolicyConfig::from_toml_str(&format!("[model_correction]\n{body}")).unwrap_err();
            assert_eq!(e.path, field, "{body}");
        }
        let e = PolicyConfig::from_toml_str("[model_correction]\nslope = 1.0").unwrap_err();
        assert!(e.message.contains("intercept"), "{e}");
    }

    #[test]
    fn contradictions_are_rejected() {
        let e = PolicyConfig::from_toml_str("scale_down_avg = 0.9").unwrap_err();
        assert_eq!(e.path, "scale_down_avg");
        let e = PolicyConfig::from_toml_str("[planner]\ntarget_cpu_ceiling = 0.8").unwrap_err();
        assert_eq!(e.path, "planner.target_cpu_ceiling");
        assert!(e.message.contains("migrate_current"), "{e}");
        let e = PolicyConfig::from_toml_str("scale_target_utilization = 0.95").unwrap_err();
        assert_eq!(e.path, "scale_target_utilization");
    }

    #[test]
    fn scale_bands_that_overlap_are_refused() {
        // current <= peak, so a down band reaching the up band's current holds VMs that
        // are both: current 0.6, peak 0.6 is "scale up" (>= 0.55) and "scale down"
        // (avg and peak at or below 0.6).
        let e = PolicyConfig::from_toml_str("scale_up_current = 0.55\nscale_down_peak = 0.6")
            .unwrap_err();
        assert_eq!(e.path, "scale_down_peak");
        assert!(e.message.contains("scale_up_current"), "{e}");
        let e = PolicyConfig::from_toml_str(
            "scale_up_current = 0.4\nscale_down_peak = 0.3\nscale_in_peak = 0.45",
        )
        .unwrap_err();
        assert_eq!(e.path, "scale_in_peak");
        assert!(
            PolicyConfig::from_toml_str("scale_up_current = 0.55\nscale_down_peak = 0.54").is_ok()
        );
    }

    #[test]
    fn cooldowns_are_per_action_in_seconds() {
        let p = PolicyConfig::default();
        // The seed's three 5-minute rounds for every scale action; MIGRATE not held.
        for a in [
            ScalingAction::ScaleUp,
            ScalingAction::ScaleDown,
            ScalingAction::ScaleOut,
            ScalingAction::ScaleIn,
        ] {
            assert_eq!(p.cooldowns.of_ms(a), 900_000, "{a:?}");
        }
        assert_eq!(p.cooldowns.of_ms(ScalingAction::Migrate), 0);
        assert_eq!(p.cooldowns.of_ms(ScalingAction::NoAction), 0);
        assert!(
            !p.to_toml_string().contains("cooldowns"),
            "unset: not written"
        );
        let p =
            PolicyConfig::from_toml_str("[cooldowns]\nscale_up_s = 60\nmigrate_s = 1800").unwrap();
        assert_eq!(p.cooldowns.of_ms(ScalingAction::ScaleUp), 60_000);
        assert_eq!(p.cooldowns.of_ms(ScalingAction::ScaleDown), 900_000);
        assert_eq!(p.cooldowns.of_ms(ScalingAction::Migrate), 1_800_000);
        assert_eq!(PolicyConfig::from_toml_str(&p.to_toml_string()).unwrap(), p);
        let e = PolicyConfig::from_toml_str("[cooldowns]\nscale_in_s = 900000").unwrap_err();
        assert_eq!(e.path, "cooldowns.scale_in_s");
        let e = PolicyConfig::from_toml_str("[cooldowns]\nscale_in_s = -1").unwrap_err();
        assert_eq!(e.path, "cooldowns.scale_in_s");
        let e = PolicyConfig::from_toml_str("[cooldowns]\nscale_sideways_s = 1").unwrap_err();
        assert!(e.message.contains("scale_sideways_s"), "{e}");
    }

    #[test]
    fn unknown_and_mistyped_keys_are_rejected() {
        let e = PolicyConfig::from_toml_str("migrate_avgg = 0.7").unwrap_err();
        assert!(e.message.contains("migrate_avgg"), "{e}");
        let e = PolicyConfig::from_toml_str("[planner]\nvm_selection = \"random\"").unwrap_err();
        assert_eq!(e.path, "planner.vm_selection");
        let e = PolicyConfig::from_toml_str("migrate_avg = \"high\"").unwrap_err();
        assert_eq!(e.path, "migrate_avg");
    }
}
