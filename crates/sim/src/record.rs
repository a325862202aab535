//! The run record: everything a run produced, as one JSON document.
//!
//! # Format (`format = "scalelab-run"`, `version = 1`)
//!
//! - `scenario`: name, description, FNV-1a content hash of the scenario text, seed,
//!   duration and intervals (ms).
//! - `scalelab_version`, `policy` (the effective policy).
//! - `nodes`, `vms`: ids in index order; other sections refer to them by index.
//! - `metrics`: [`RunMetrics`].
//! - `migrations`: one [`MigrationRecord`] per started migration, each with exactly one
//!   outcome.
//! - `decisions`: every decision other than `no_action` that was carried out, plus
//!   every decision of the full engine round (VMs of hot hosts, with reasoning)
//!   ([`DecisionRecord`]); counts of all decisions, `no_action` included, are in
//!   `metrics.decisions_by_action`, and of those that could not be carried out in
//!   `metrics.unapplied_decisions_by_action`.
//! - `events`: failures, recoveries, scale actions, migration milestones, data loss.
//! - `placements`: initial placement and every change (`node = null` when a VM is
//!   lost or removed), so the placement at any time can be rebuilt.
//! - `series`: node utilization and state every `record_interval_ms`, and the
//!   cluster's power draw when nodes have power models.
//! - `invariant_violations`: empty unless the invariant checker found a problem.
//! - `detail`: absent for a full record; `"summary"` for one written without the
//!   per-migration detail (see [`RunRecord::summary`]).
//!
//! Times are simulated milliseconds since the start. Same scenario + seed => the same
//! bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use scalelab_engine::plan::StepAction;
use scalelab_engine::{PolicyConfig, ScalingAction, ScalingDecision};

pub const FORMAT: &str = "scalelab-run";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub format: String,
    pub version: u32,
    pub scenario: ScenarioInfo,
    pub scalelab_version: String,
    pub policy: PolicyConfig,
    pub nodes: Vec<NodeInfo>,
    pub vms: Vec<VmInfo>,
    pub metrics: RunMetrics,
    pub migrations: Vec<MigrationRecord>,
    pub decisions: Vec<DecisionRecord>,
    pub events: Vec<EventRecord>,
    pub placements: Vec<PlacementChange>,
    pub series: Series,
    #[serde(default)]
    pub invariant_violations: Vec<String>,
    #[serde(default, skip_serializing_if = "RecordDetail::is_full")]
    pub detail: RecordDetail,
}

/// How much of a run a record keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordDetail {
    /// Everything the run produced.
    #[default]
    Full,
    /// Metrics, nodes, VMs, placements, the utilization series and the events that are
    /// not a migration's milestones; no migration records and no decisions (their
    /// counts and every metric over them stay in `metrics`).
    Summary,
}

impl RecordDetail {
    pub fn is_full(&self) -> bool {
        *self == Self::Full
    }
}

impl RunRecord {
    /// The record without its per-migration detail: what a sweep, a CI job or a long
    /// study keeps when the numbers are what it needs (CloudSim's PlanetLab day: 31 MB
    /// in full, most of it 27,700 migration records and their milestones; a few MB
    /// this way). Rollbacks and data losses stay in the event log.
    pub fn summary(&self) -> RunRecord {
        let milestone = |k: EventKind| {
            matches!(
                k,
                EventKind::MigrationStart
                    | EventKind::MigrationSwitchover
                    | EventKind::MigrationEnd
            )
        };
        RunRecord {
            format: self.format.clone(),
            version: self.version,
            scenario: self.scenario.clone(),
            scalelab_version: self.scalelab_version.clone(),
            policy: self.policy.clone(),
            nodes: self.nodes.clone(),
            vms: self.vms.clone(),
            metrics: self.metrics.clone(),
            migrations: Vec::new(),
            decisions: Vec::new(),
            events: self
                .events
                .iter()
                .filter(|e| !milestone(e.kind))
                .map(|e| EventRecord {
                    migration: None,
                    ..e.clone()
                })
                .collect(),
            placements: self.placements.clone(),
            series: self.series.clone(),
            invariant_violations: self.invariant_violations.clone(),
            detail: RecordDetail::Summary,
        }
    }

    /// Check what readers index by: a record from a file or a database is user input,
    /// and the TUI and reports must not index past a list or divide by a zero interval.
    /// Says what is wrong with the first bad field.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format is {:?}, expected {FORMAT:?}", self.format));
        }
        if self.version > VERSION {
            return Err(format!(
                "run record version {} is newer than this scalelab reads ({VERSION})",
                self.version
            ));
        }
        let s = &self.scenario;
        for (name, v) in [
            ("scenario.control_interval_ms", s.control_interval_ms),
            ("scenario.sample_interval_ms", s.sample_interval_ms),
            ("scenario.record_interval_ms", s.record_interval_ms),
        ] {
            if v == 0 {
                return Err(format!("{name} must be > 0"));
            }
        }
        let (nodes, vms, migs) = (
            self.nodes.len() as u64,
            self.vms.len() as u64,
            self.migrations.len() as u64,
        );
        let idx = |what: &str, i: u64, n: u64| {
            if i < n {
                Ok(())
            } else {
                Err(format!("{what} = {i} refers past the {n} listed"))
            }
        };
        let finite = |what: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!("{what} is not a finite number"))
            }
        };
        for (k, n) in self.nodes.iter().enumerate() {
            finite(&format!("nodes[{k}].cores"), n.cores)?;
        }
        for (k, m) in self.migrations.iter().enumerate() {
            let at = |f: &str| format!("migrations[{k}].{f}");
            idx(&at("vm"), m.vm as u64, vms)?;
            idx(&at("source"), m.source as u64, nodes)?;
            idx(&at("target"), m.target as u64, nodes)?;
            finite(&at("expected_utilization"), m.expected_utilization)?;
            finite(&at("source_before"), m.source_before)?;
            finite(&at("data_sent_mib"), m.data_sent_mib)?;
            for (name, v) in [
                ("actual_utilization", m.actual_utilization),
                ("source_after", m.source_after),
            ] {
                if let Some(v) = v {
                    finite(&at(name), v)?;
                }
            }
            if m.ended_ms.is_some_and(|e| e < m.started_ms) {
                return Err(format!("{} ends before it starts", at("ended_ms")));
            }
        }
        let sorted = |what: &str, ts: &mut dyn Iterator<Item = u64>| {
            let mut last = 0;
            for (k, t) in ts.enumerate() {
                if t < last {
                    return Err(format!("{what}[{k}] goes back in time"));
                }
                last = t;
            }
            Ok(())
        };
        for (k, d) in self.decisions.iter().enumerate() {
            idx(&format!("decisions[{k}].vm"), d.vm as u64, vms)?;
            if let Some(m) = d.migration {
                idx(&format!("decisions[{k}].migration"), m as u64, migs)?;
            }
        }
        sorted("decisions", &mut self.decisions.iter().map(|d| d.t_ms))?;
        for (k, e) in self.events.iter().enumerate() {
            let at = |f: &str| format!("events[{k}].{f}");
            if let Some(n) = e.node {
                idx(&at("node"), n as u64, nodes)?;
            }
            if let Some(v) = e.vm {
                idx(&at("vm"), v as u64, vms)?;
            }
            if let Some(m) = e.migration {
                idx(&at("migration"), m as u64, migs)?;
            }
        }
        sorted("events", &mut self.events.iter().map(|e| e.t_ms))?;
        for (k, p) in self.placements.iter().enumerate() {
            idx(&format!("placements[{k}].vm"), p.vm as u64, vms)?;
            if let Some(n) = p.node {
                idx(&format!("placements[{k}].node"), n as u64, nodes)?;
            }
        }
        sorted("placements", &mut self.placements.iter().map(|p| p.t_ms))?;
        let se = &self.series;
        if se.node_util.len() != se.times_ms.len() || se.node_state.len() != se.times_ms.len() {
            return Err("series: times_ms, node_util and node_state differ in length".into());
        }
        if !se.power_w.is_empty() && se.power_w.len() != se.times_ms.len() {
            return Err("series: power_w and times_ms differ in length".into());
        }
        if se.power_w.iter().any(|p| !p.is_finite()) {
            return Err("series.power_w has a value that is not finite".into());
        }
        if !se.times_ms.is_empty() && se.interval_ms == 0 {
            return Err("series.interval_ms must be > 0".into());
        }
        sorted("series.times_ms", &mut se.times_ms.iter().copied())?;
        for (k, (u, st)) in se.node_util.iter().zip(&se.node_state).enumerate() {
            if u.len() as u64 != nodes || st.len() as u64 != nodes {
                return Err(format!(
                    "series sample {k} does not have one value per node"
                ));
            }
            if u.iter().any(|v| !v.is_finite()) {
                return Err(format!(
                    "series.node_util[{k}] has a value that is not finite"
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    pub content_hash: String,
    pub seed: u64,
    pub duration_ms: u64,
    pub control_interval_ms: u64,
    pub sample_interval_ms: u64,
    pub record_interval_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    pub rack: String,
    /// How many cores it has.
    pub cores: f64,
    pub memory_mib: u64,
    /// Speed of one core, when the scenario gives speeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_mips: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmInfo {
    pub id: String,
    #[serde(default)]
    pub service_group: Option<String>,
    pub memory_mib: u64,
    /// vCPUs at the start (records written before this field read as 0).
    #[serde(default)]
    pub vcpus: u32,
    /// Size of one vCPU, when the scenario gives speeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mips: Option<f64>,
}

/// How a migration ended. Exactly one per started migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// All five steps done; the VM runs on the target.
    Completed,
    /// Aborted before switchover; the VM stays on the source (if the source is alive).
    RolledBack,
    /// Failed after switchover (verification failed, target crashed): the VM is on the
    /// target or down with it.
    FailedAfterSwitchover,
    /// The source died while the VM was paused for stop-and-copy: the VM is lost.
    DataLoss,
    /// Still running when the simulation ended.
    InProgressAtEnd,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Self::Completed,
        Self::RolledBack,
        Self::FailedAfterSwitchover,
        Self::DataLoss,
        Self::InProgressAtEnd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::RolledBack => "rolled_back",
            Self::FailedAfterSwitchover => "failed_after_switchover",
            Self::DataLoss => "data_loss",
            Self::InProgressAtEnd => "in_progress_at_end",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Ok,
    TimedOut,
    Failed,
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub action: StepAction,
    pub start_ms: u64,
    #[serde(default)]
    pub end_ms: Option<u64>,
    pub timeout_s: u64,
    #[serde(default)]
    pub outcome: Option<StepOutcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    /// The criterion as written in the plan.
    pub criterion: String,
    pub passed: bool,
    /// What was measured, with its unit.
    pub measured: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationRecord {
    pub id: u32,
    pub vm: u32,
    pub vm_id: String,
    pub source: u32,
    pub target: u32,
    pub started_ms: u64,
    #[serde(default)]
    pub ended_ms: Option<u64>,
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub rollback_reason: Option<String>,
    /// The engine's MIGRATE decision, plan included.
    pub decision: ScalingDecision,
    pub steps: Vec<StepRecord>,
    pub precopy_rounds: u32,
    pub data_sent_mib: f64,
    pub downtime_ms: u64,
    #[serde(default)]
    pub switchover_ms: Option<u64>,
    pub criteria: Vec<CriterionResult>,
    /// EXPECTED utilization after migration, from the plan.
    pub expected_utilization: f64,
    /// ACTUAL: the target host's utilization averaged over the window after switchover.
    #[serde(default)]
    pub actual_utilization: Option<f64>,
    /// Source host utilization when the decision was made, and averaged over the same
    /// window after switchover.
    pub source_before: f64,
    #[serde(default)]
    pub source_after: Option<f64>,
    /// The share of its CPU demand the VM was served on the source when the decision
    /// was made (1 unless the source was over its capacity), and on the target averaged
    /// over the window after switchover: a move must not leave the VM worse served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_served_before: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_served_after: Option<f64>,
    /// Auto-converge: the highest share of the guest's CPU throttled (percent; 0 when
    /// the policy has it off or the guest never outran pre-copy).
    #[serde(default)]
    pub max_throttle_pct: f64,
    /// What the plan's estimates said, to set against what happened (`downtime_ms`,
    /// `ended_ms - started_ms`, `data_sent_mib`, `precopy_rounds`, `source_after`);
    /// absent in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
}

/// A migration's estimates: the pre-copy model's (the one its plan was built from) and
/// the source's utilization with the VM gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    pub downtime_ms: f64,
    /// Start to end of all five steps.
    pub completion_s: f64,
    pub data_sent_mib: f64,
    pub precopy_rounds: u32,
    pub source_utilization: f64,
    /// The model's target utilization with the VM placed, whichever estimator the plan
    /// states (for `scalelab calibrate`); absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_utilization_model: Option<f64>,
}

/// One estimate across a run's migrations: mean |actual - expected| and mean
/// (actual - expected) (positive = it took longer, sent more, left the source busier).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct ErrorStat {
    pub mae: f64,
    pub bias: f64,
    pub n: u32,
}

impl ErrorStat {
    pub fn of(errors: impl IntoIterator<Item = f64>) -> Option<Self> {
        let (mut sum, mut abs, mut n) = (0.0, 0.0, 0u32);
        for e in errors {
            sum += e;
            abs += e.abs();
            n += 1;
        }
        (n > 0).then(|| Self {
            mae: abs / n as f64,
            bias: sum / n as f64,
            n,
        })
    }
}

/// Expected against actual for every estimate a plan makes, over the migrations where
/// both are known: downtime, completion time, data sent and rounds of the migrations
/// that completed, the source's utilization after wherever it was measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct EstimateErrors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downtime_ms: Option<ErrorStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_s: Option<ErrorStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sent_mib: Option<ErrorStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precopy_rounds: Option<ErrorStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_utilization: Option<ErrorStat>,
}

/// (expected, actual) for every estimate a plan makes, over the migrations where both
/// are known: the target's and the source's utilization wherever measured, and the
/// downtime, completion time, data sent and rounds of the migrations that completed.
/// The run metrics' errors and the report's plots are both made from these.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpectedActual {
    pub target_utilization: Vec<(f64, f64)>,
    pub source_utilization: Vec<(f64, f64)>,
    pub downtime_ms: Vec<(f64, f64)>,
    pub completion_s: Vec<(f64, f64)>,
    pub data_sent_mib: Vec<(f64, f64)>,
    pub precopy_rounds: Vec<(f64, f64)>,
}

impl ExpectedActual {
    pub fn of(migrations: &[MigrationRecord]) -> Self {
        let mut out = Self::default();
        for m in migrations {
            if let Some(a) = m.actual_utilization {
                out.target_utilization.push((m.expected_utilization, a));
            }
            let Some(e) = m.expected.as_ref() else {
                continue;
            };
            if let Some(a) = m.source_after {
                out.source_utilization.push((e.source_utilization, a));
            }
            if let (Some(Outcome::Completed), Some(end)) = (m.outcome, m.ended_ms) {
                out.downtime_ms.push((e.downtime_ms, m.downtime_ms as f64));
                out.completion_s
                    .push((e.completion_s, (end - m.started_ms) as f64 / 1000.0));
                out.data_sent_mib.push((e.data_sent_mib, m.data_sent_mib));
                out.precopy_rounds
                    .push((e.precopy_rounds as f64, m.precopy_rounds as f64));
            }
        }
        out
    }
}

/// actual - expected over (expected, actual) pairs.
fn error_of(pairs: &[(f64, f64)]) -> Option<ErrorStat> {
    ErrorStat::of(pairs.iter().map(|(e, a)| a - e))
}

impl EstimateErrors {
    pub fn of(migrations: &[MigrationRecord]) -> Self {
        Self::from_pairs(&ExpectedActual::of(migrations))
    }

    pub fn from_pairs(p: &ExpectedActual) -> Self {
        Self {
            downtime_ms: error_of(&p.downtime_ms),
            completion_s: error_of(&p.completion_s),
            data_sent_mib: error_of(&p.data_sent_mib),
            precopy_rounds: error_of(&p.precopy_rounds),
            source_utilization: error_of(&p.source_utilization),
        }
    }

    /// (name, stat) in a stable order, for tables and metric maps.
    pub fn named(&self) -> [(&'static str, Option<ErrorStat>); 5] {
        [
            ("downtime_ms", self.downtime_ms),
            ("completion_s", self.completion_s),
            ("data_sent_mib", self.data_sent_mib),
            ("precopy_rounds", self.precopy_rounds),
            ("source_utilization", self.source_utilization),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.named().iter().all(|(_, s)| s.is_none())
    }
}

impl MigrationRecord {
    /// actual - expected, when the actual is known.
    pub fn error(&self) -> Option<f64> {
        self.actual_utilization
            .map(|a| a - self.expected_utilization)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub t_ms: u64,
    pub vm: u32,
    pub action: ScalingAction,
    pub current_value: f64,
    pub target_value: f64,
    pub confidence: f64,
    /// Whether the simulator could carry it out (a scale-up on a full host cannot).
    pub applied: bool,
    #[serde(default)]
    pub migration: Option<u32>,
    /// The engine's reasoning, for decisions on VMs of hot hosts (the ones the full
    /// engine round decided); `None` for the plain scaling rule elsewhere.
    #[serde(default)]
    pub reasoning: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    NodeCrash,
    NodeRecover,
    LinkDegrade,
    LinkRestore,
    Partition,
    PartitionHeal,
    DirtyRateSpike,
    DirtyRateNormal,
    LoadSpike,
    LoadSpikeEnd,
    VmHang,
    VmResume,
    VmRestart,
    MigrationStart,
    MigrationSwitchover,
    MigrationEnd,
    Rollback,
    DataLoss,
    ScaleUp,
    ScaleDown,
    ScaleOut,
    ScaleIn,
    /// A host with nothing to run switched off, and one switched back on for a VM.
    HostPowerOff,
    HostPowerOn,
    /// A VM arrived and was placed, left the run (finished or as scheduled), or could
    /// not be placed when it arrived.
    VmArrival,
    VmDeparture,
    ArrivalRefused,
}

impl EventKind {
    /// Failures and losses, for highlighting.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::NodeCrash
                | Self::LinkDegrade
                | Self::Partition
                | Self::DirtyRateSpike
                | Self::LoadSpike
                | Self::VmHang
                | Self::Rollback
                | Self::DataLoss
                | Self::ArrivalRefused
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub t_ms: u64,
    pub kind: EventKind,
    #[serde(default)]
    pub node: Option<u32>,
    #[serde(default)]
    pub vm: Option<u32>,
    #[serde(default)]
    pub migration: Option<u32>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacementChange {
    pub t_ms: u64,
    pub vm: u32,
    pub node: Option<u32>,
}

/// Node state codes in `series.node_state`.
pub mod node_state {
    pub const HEALTHY: u8 = 0;
    pub const OVERLOADED: u8 = 1;
    pub const DOWN: u8 = 2;
    /// Switched off by the policy (no power drawn), unlike a crashed node.
    pub const OFF: u8 = 3;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Series {
    pub interval_ms: u64,
    pub times_ms: Vec<u64>,
    /// `node_util[sample][node]`: CPU utilization (may exceed 1).
    pub node_util: Vec<Vec<f32>>,
    /// `node_state[sample][node]`: see [`node_state`].
    pub node_state: Vec<Vec<u8>>,
    /// `power_w[sample]`: the power the cluster's nodes with a power model draw at the
    /// sample (W); empty when no node has one (and in records written before it was
    /// kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub power_w: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunMetrics {
    pub migrations: u32,
    pub migrations_by_outcome: BTreeMap<Outcome, u32>,
    /// Rolled back / started.
    pub rollback_rate: f64,
    /// Migrations whose actual utilization was measured.
    pub measured_migrations: u32,
    /// Mean |actual - expected| utilization after migration.
    pub expected_vs_actual_mae: Option<f64>,
    /// Mean (actual - expected): positive = the engine was optimistic.
    pub expected_vs_actual_bias: Option<f64>,
    /// Time hosts spent above 100 % CPU over time hosts were up (SLATAH, ratio of sums).
    pub overload_time_frac: f64,
    /// CPU lost to migration overhead over CPU requested (PDM, ratio of sums).
    pub pdm: f64,
    pub slav: f64,
    /// CPU demand that found no capacity, in core-seconds.
    pub unmet_demand_core_s: f64,
    /// VM downtime in VM-milliseconds: stop-and-copy pauses plus time down with a node.
    pub total_downtime_ms: u64,
    pub migration_downtime_ms: u64,
    pub data_loss_events: u32,
    pub decisions_by_action: BTreeMap<ScalingAction, u64>,
    /// Scaling-rule decisions the simulator could not carry out (host full, already at
    /// the size asked for), by action; they are not listed in `decisions`.
    #[serde(default)]
    pub unapplied_decisions_by_action: BTreeMap<ScalingAction, u64>,
    /// Energy of nodes with a power model, kWh; `None` without power models.
    pub energy_kwh: Option<f64>,
    /// VM samples simulated (VMs x sample ticks).
    pub vm_ticks: u64,
    /// Hosts switched off because they ran nothing (a node that crashed is not
    /// counted); absent in records of runs without power states.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub host_shutdowns: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub host_power_ons: u32,
    /// Time hosts were on, in host-seconds (the denominator of SLATAH in the CloudSim
    /// profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_host_s: Option<f64>,
    /// Energy x SLAV (Beloglazov & Buyya's ESV), kWh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esv: Option<f64>,
    /// VMs that left during the run (CloudSim's finished VMs, scheduled departures).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub vm_departures: u32,
    /// VMs that arrived during the run and were placed.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub vm_arrivals: u32,
    /// VMs that found no host when they arrived.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub refused_arrivals: u32,
    /// Expected against actual for the plan's other estimates (the target's
    /// utilization is `expected_vs_actual_*`).
    #[serde(default, skip_serializing_if = "EstimateErrors::is_empty")]
    pub estimate_errors: EstimateErrors,
}

impl RunMetrics {
    /// Rolled back over started, from `migrations_by_outcome`.
    pub fn set_rollback_rate(&mut self) {
        let rolled = self
            .migrations_by_outcome
            .get(&Outcome::RolledBack)
            .copied()
            .unwrap_or(0);
        self.rollback_rate = if self.migrations > 0 {
            rolled as f64 / self.migrations as f64
        } else {
            0.0
        };
    }

    /// Expected against actual over a run's migrations: the target's utilization
    /// (`measured_migrations`, `expected_vs_actual_*`) and every other estimate.
    pub fn measure_estimates(&mut self, migrations: &[MigrationRecord]) {
        let pairs = ExpectedActual::of(migrations);
        let util = error_of(&pairs.target_utilization);
        self.measured_migrations = util.map_or(0, |s| s.n);
        self.expected_vs_actual_mae = util.map(|s| s.mae);
        self.expected_vs_actual_bias = util.map(|s| s.bias);
        self.estimate_errors = EstimateErrors::from_pairs(&pairs);
    }
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stats_are_mean_absolute_and_mean_signed() {
        let s = ErrorStat::of([1.0, -3.0, 0.5]).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mae - 4.5 / 3.0).abs() < 1e-12);
        assert!((s.bias - (-1.5 / 3.0)).abs() < 1e-12);
        assert!(ErrorStat::of([]).is_none());
    }
}
