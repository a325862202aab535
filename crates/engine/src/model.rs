//! The decision types that every other scalelab crate reads and writes.
//!
//! Their JSON (snake_case) is the project's contract: the store keeps it, the simulator
//! records it, and executors outside scalelab consume it. Fields added after the first
//! release are `Option`s with `#[serde(default)]`, so a decision written by an older
//! version still deserializes.

use serde::{Deserialize, Serialize};

use crate::plan::MigrationPlan;

/// The resource a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Cpu,
    Memory,
    Disk,
    Network,
}

impl ResourceType {
    pub const ALL: [ResourceType; 4] = [Self::Cpu, Self::Memory, Self::Disk, Self::Network];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Disk => "disk",
            Self::Network => "network",
        }
    }
}

/// The member of `all` whose `name` is `s`, or an error listing the names: one lookup
/// for every enum that users spell in files and flags.
pub fn by_name<T: Copy>(
    all: &[T],
    name: impl Fn(T) -> &'static str,
    s: &str,
    what: &str,
) -> Result<T, String> {
    all.iter().copied().find(|&x| name(x) == s).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|&x| name(x)).collect();
        format!("unknown {what} {s:?} (one of {})", names.join(", "))
    })
}

impl std::str::FromStr for ResourceType {
    type Err = String;
    /// The snake_case name, as in JSON and the store.
    fn from_str(s: &str) -> Result<Self, String> {
        by_name(&Self::ALL, Self::as_str, s, "resource")
    }
}

impl std::fmt::Display for ResourceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the engine recommends doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingAction {
    ScaleUp,
    ScaleDown,
    ScaleOut,
    ScaleIn,
    Migrate,
    NoAction,
}

impl ScalingAction {
    pub const ALL: [ScalingAction; 6] = [
        Self::ScaleUp,
        Self::ScaleDown,
        Self::ScaleOut,
        Self::ScaleIn,
        Self::Migrate,
        Self::NoAction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScaleUp => "scale_up",
            Self::ScaleDown => "scale_down",
            Self::ScaleOut => "scale_out",
            Self::ScaleIn => "scale_in",
            Self::Migrate => "migrate",
            Self::NoAction => "no_action",
        }
    }
}

impl std::str::FromStr for ScalingAction {
    type Err = String;
    /// The snake_case name, as in JSON and the store.
    fn from_str(s: &str) -> Result<Self, String> {
        by_name(&Self::ALL, Self::as_str, s, "action")
    }
}

impl std::fmt::Display for ScalingAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which forecasting method produced a forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecasterKind {
    Ewma,
    Holt,
    HoltWinters,
}

/// Predicted utilization of one resource over a horizon.
///
/// Values are fractions of the resource's capacity (1.0 = fully used). Bounds are a
/// prediction interval derived from recent one-step errors, widened with the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceForecast {
    pub resource_type: ResourceType,
    pub forecaster: ForecasterKind,
    /// Seconds between two predicted values.
    pub step_seconds: u64,
    pub predicted_values: Vec<f64>,
    pub lower_bound: Vec<f64>,
    pub upper_bound: Vec<f64>,
    /// In [0, 1]; see [`crate::forecast::AccuracyTracker`] for the formula.
    pub forecast_accuracy: f64,
}

impl ResourceForecast {
    /// Highest predicted value over the horizon (0 for an empty horizon).
    pub fn max_predicted(&self) -> f64 {
        self.predicted_values.iter().copied().fold(0.0, f64::max)
    }

    /// Highest upper bound over the horizon (0 for an empty horizon).
    pub fn max_upper(&self) -> f64 {
        self.upper_bound.iter().copied().fold(0.0, f64::max)
    }
}

/// One recommendation for one VM and resource.
///
/// For [`ScalingAction::Migrate`], `target_value` is the EXPECTED utilization after the
/// migration (what the executor should see on the target), not a capacity; for scale
/// actions it is the recommended capacity as a multiple of the current allocation (or
/// replica count); for no action it repeats `current_value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingDecision {
    pub vm_id: String,
    pub resource_type: ResourceType,
    pub action: ScalingAction,
    pub current_value: f64,
    pub target_value: f64,
    pub confidence: f64,
    pub reasoning: String,
    /// Milliseconds since the Unix epoch (or since the start of a simulation); the
    /// engine never reads a clock, the caller passes time in.
    pub timestamp_ms: i64,
    #[serde(default)]
    pub target_node_id: Option<String>,
    #[serde(default)]
    pub migration_plan: Option<MigrationPlan>,
}
