//! Scenario files (TOML): cluster, VMs, workloads, policy overrides, failures.
//!
//! Unknown keys are rejected; every error names the field path (`vms[2].memory_mib`)
//! and, for syntax and type errors, the line. The caller prefixes the file name.
//!
//! Node and VM groups expand to `count` items named `{name}-{i}` (just `{name}` when
//! `count = 1`). Workload levels are fractions of the VM's vCPUs.
//!
//! This file holds the format's types; `validate.rs` checks a parsed scenario field by
//! field, `limits.rs` estimates what a run needs and refuses what would not fit.

mod limits;
mod validate;

pub use limits::{Estimate, MAX_NODES, MAX_VMS, ResourceLimits};

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::workload::WorkloadSpec;
use scalelab_engine::PolicyConfig;
use scalelab_engine::input::{
    InputError, check_non_negative, check_positive, check_range, ensure, from_toml_str,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    pub duration_s: u64,
    #[serde(default = "default_control_s")]
    pub control_interval_s: u64,
    /// How often workloads are sampled and utilization is measured; divides the control
    /// interval. Defaults to the control interval.
    #[serde(default)]
    pub sample_interval_s: Option<u64>,
    /// How often the replay time series is recorded; a multiple of the sample interval.
    /// Defaults to the sample interval.
    #[serde(default)]
    pub record_interval_s: Option<u64>,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub sim: SimConfig,
    #[serde(default)]
    pub network: NetworkConfig,
    pub nodes: Vec<NodeGroup>,
    pub vms: Vec<VmGroup>,
    #[serde(default)]
    pub failures: Vec<FailureSpec>,
    #[serde(default)]
    pub stochastic: StochasticConfig,
    /// How node groups expand into the node list (and so node indices and ties).
    #[serde(default)]
    pub node_order: NodeOrder,
    /// Reproduce another simulator's model instead of scalelab's own (see
    /// [`crate::cloudsim`]); absent = scalelab's model.
    #[serde(default)]
    pub compat: Option<CompatConfig>,
    /// Host power management in scalelab's own model (the CloudSim profile switches
    /// empty hosts off by itself, as CloudSim does).
    #[serde(default, skip_serializing_if = "PowerConfig::is_default")]
    pub power: PowerConfig,
}

/// When scalelab's own nodes switch off and on. Off by default: every node stays on,
/// as before power states existed, so existing scenarios keep their numbers.
///
/// A node that is off draws 0 W, counts no active time and takes no placements until
/// one needs it: a restarted VM that fits no node that is on, or a relief migration
/// (a baseline's, as CloudSim's power-aware placement may wake a host, or the
/// engine's when no node that is on fits) powers it on, and it serves after its
/// group's `boot_s`, having drawn `boot_energy_j`. Replicas of a scale out and
/// consolidation never wake one. An off node does not fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PowerConfig {
    /// Switch a node off once nothing runs on it, no migration touches it and it
    /// carries no background load; checked after each control round.
    pub switch_off_empty: bool,
    /// How long a node must have been found empty before it is switched off (s);
    /// 0 = at the first control round that finds it empty.
    pub empty_for_s: u64,
    /// Never switch off so many nodes that fewer than this stay on.
    pub min_nodes_on: u32,
}

impl PowerConfig {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The order nodes get from their groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeOrder {
    /// All of the first group, then all of the second, ...
    #[default]
    Grouped,
    /// Round-robin over the groups: the first of each group, then the second of each,
    /// ... (CloudSim's experiments alternate host types this way: host i has type
    /// i mod types).
    Interleaved,
}

/// Another simulator's model, chosen with one switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompatConfig {
    pub profile: CompatProfile,
    /// CloudSim treats a VM whose requested MIPS are exactly 0 at an update as finished
    /// and removes it for the rest of the run (an artefact of its cloudlet model, which
    /// removes about half the PlanetLab VMs in a day). On by default in the profile
    /// because CloudSim's published numbers depend on it.
    #[serde(default = "yes")]
    pub zero_demand_finishes: bool,
    /// How a migration runs inside CloudSim's datacenter: CloudSim's own one step of
    /// RAM / (NIC / 2), or scalelab's pre-copy model (the study of what the
    /// literature's policies do when migrations are real).
    #[serde(default)]
    pub migrations: CompatMigrations,
}

/// The migration model of the CloudSim profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatMigrations {
    /// CloudSim's: RAM / (NIC / 2), no sharing, no downtime, never fails.
    #[default]
    Cloudsim,
    /// scalelab's: five-step plans whose timeouts come from the bandwidth each
    /// migration will get, pre-copy rounds of the VM's dirty memory over max-min shared
    /// NICs, a stop-and-copy pause, and rollback when a step times out, the VM stays
    /// paused too long or the link falls below the plan's minimum (policy
    /// `[migration]`, VM `dirty_rate_mib_s`).
    Precopy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatProfile {
    /// CloudSim 3.0.3's power package (`PowerDatacenter` and the Beloglazov policies).
    Cloudsim,
}

fn yes() -> bool {
    true
}

fn default_control_s() -> u64 {
    300
}

/// Simulator knobs (not the engine's policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Extra CPU on source and target while a migration moves memory, as a fraction of
    /// the VM's demand (CloudSim: 0.1).
    pub migration_cpu_overhead_frac: f64,
    /// ACTUAL utilization after a migration = target host utilization averaged over this
    /// many control intervals after switchover.
    pub actual_window_intervals: u32,
    /// VMs of a crashed node restart on other nodes after `restart_delay_s` instead of
    /// waiting for the node to recover.
    pub restart_elsewhere: bool,
    pub restart_delay_s: u64,
    /// vCPUs a node may host per core; scale up is refused beyond it.
    pub vcpu_overcommit: f64,
    /// Deprecated: control intervals every scale action waits after the last one.
    /// Still read, and then it wins over the policy's `[cooldowns]` (set both and the
    /// scenario is refused); [`Scenario::deprecations`] says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_cooldown_intervals: Option<u32>,
    /// Replicas a service group never grows beyond.
    pub max_replicas: u32,
    /// Check the simulator's invariants at every event (tests turn it on).
    pub check_invariants: bool,
    /// Run a reference policy from the literature instead of the engine (migrations
    /// only, no scaling); absent = the engine.
    pub baseline: Option<crate::baselines::Baseline>,
    /// The baseline's parameter: THR's threshold, IQR's and MAD's safety factor, LR's
    /// and LRR's safety multiplier; absent = the published default (0.8, 1.5, 2.5, 1.2).
    pub baseline_parameter: Option<f64>,
    /// Which VM a baseline moves off an overloaded host.
    pub vm_selection: crate::baselines::VmSelection,
    /// A Beloglazov baseline also empties underloaded hosts, least utilized first,
    /// as CloudSim does (needs `[power] switch_off_empty`, which switches them off).
    pub consolidate: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            migration_cpu_overhead_frac: 0.1,
            actual_window_intervals: 3,
            restart_elsewhere: false,
            restart_delay_s: 60,
            vcpu_overcommit: 4.0,
            scale_cooldown_intervals: None,
            max_replicas: 16,
            check_invariants: false,
            baseline: None,
            baseline_parameter: None,
            vm_selection: crate::baselines::VmSelection::default(),
            consolidate: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Bandwidth of the link between any two racks; absent = no limit beyond the NICs.
    pub inter_rack_mbps: Option<f64>,
    /// Per rack-pair overrides.
    pub links: Vec<LinkSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub racks: [String; 2],
    pub mbps: f64,
}

/// Power model: a named SPECpower curve or 11 wattages at 0 %, 10 %, ..., 100 % load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PowerSpec {
    Preset(String),
    Watts(Vec<f64>),
}

impl PowerSpec {
    pub fn watts(&self) -> Option<[f64; 11]> {
        match self {
            Self::Preset(name) => match name.as_str() {
                "hp_ml110_g4" => Some([
                    86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0,
                ]),
                "hp_ml110_g5" => Some([
                    93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0,
                ]),
                _ => None,
            },
            Self::Watts(w) => w.as_slice().try_into().ok(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FailureDistribution {
    #[default]
    Exponential,
    Weibull,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    pub name: String,
    #[serde(default = "one_u32")]
    pub count: u32,
    pub cores: f64,
    pub memory_mib: u64,
    pub nic_mbps: f64,
    /// Rack of every node of the group, or `racks` to spread them round-robin.
    #[serde(default)]
    pub rack: Option<String>,
    #[serde(default)]
    pub racks: Vec<String>,
    #[serde(default)]
    pub power: Option<PowerSpec>,
    /// Mean time between failures; absent = never fails on its own.
    #[serde(default)]
    pub mtbf_s: Option<f64>,
    #[serde(default = "default_mttr")]
    pub mttr_s: f64,
    #[serde(default)]
    pub failure_distribution: FailureDistribution,
    /// Weibull shape (k); 1 is exponential, < 1 infant mortality, > 1 wear-out.
    #[serde(default = "default_weibull_shape")]
    pub weibull_shape: f64,
    /// Speed of one core in MIPS, for clusters of unlike CPUs (with VM `mips`); absent =
    /// all cores alike. Given for one group, it is needed for every node and VM group.
    /// scalelab's own model then counts capacity and demand in cores of 1,000 MIPS.
    #[serde(default)]
    pub core_mips: Option<f64>,
    /// Time a switched-off node takes to boot when a placement or migration needs it
    /// (absent = 0, as in CloudSim): in the CloudSim profile, whose hosts switch off,
    /// and in scalelab's own model with `[power] switch_off_empty`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_s: Option<f64>,
    /// Energy a switched-off node draws to boot, joules (absent = 0, as in CloudSim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_energy_j: Option<f64>,
}

impl VmGroup {
    /// When one of the group's VMs exists, in seconds: from its trace's first reading
    /// to the end of its last with `trace_lifecycle` (`trace_span_s`, the member's
    /// span), else as scheduled; `None` = to the end of a run of `duration_s`.
    pub fn lifetime_s(
        &self,
        trace_span_s: Option<(u64, u64)>,
        duration_s: u64,
    ) -> (f64, Option<f64>) {
        match trace_span_s.filter(|_| self.trace_lifecycle) {
            Some((from, to)) => (from as f64, (to < duration_s).then_some(to as f64)),
            None => (self.arrive_s.unwrap_or(0.0), self.depart_s),
        }
    }
}

fn one_f64() -> f64 {
    1.0
}
fn one_u32() -> u32 {
    1
}
fn default_mttr() -> f64 {
    600.0
}
fn default_weibull_shape() -> f64 {
    1.5
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmGroup {
    pub name: String,
    #[serde(default = "one_u32")]
    pub count: u32,
    pub vcpus: u32,
    pub memory_mib: u64,
    #[serde(default)]
    pub dirty_rate_mib_s: f64,
    /// SimGrid's model instead of a constant: the VM dirties memory in proportion to
    /// its CPU activity, `dirty_rate_mib_s` being the rate at full use of its vCPUs.
    #[serde(default)]
    pub dirty_rate_follows_cpu: bool,
    /// Each VM of a trace group arrives at its first reading in the window and leaves
    /// after its last, as the trace says it existed.
    #[serde(default)]
    pub trace_lifecycle: bool,
    /// Declared memory model: the fraction of `memory_mib` the VM has touched, which
    /// is what the first pre-copy round sends. A trace with a memory series overrides
    /// it sample by sample.
    #[serde(default = "one_f64")]
    pub resident_memory_frac: f64,
    /// VMs of one service group share the group's load; scale out/in adds or removes
    /// replicas of it.
    #[serde(default)]
    pub service_group: Option<String>,
    #[serde(default)]
    pub anti_affinity_group: Option<String>,
    /// Nodes to place the VMs on, round-robin; empty = spread over all nodes.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Size of one vCPU in MIPS (the unit of node `core_mips`): the VM's demand is its
    /// workload level x `vcpus` x `mips`, and one vCPU never gets more than one host
    /// core (a 2,500 MIPS vCPU on 1,860 MIPS cores runs at 1,860, and at full speed
    /// once migrated to faster cores). Absent = a vCPU is one core.
    #[serde(default)]
    pub mips: Option<f64>,
    /// When the group's VMs arrive (placed then by the policy, or refused when no
    /// host can take them); absent = present from the start. Not for service groups,
    /// whose replicas come and go by scale out / in.
    #[serde(default)]
    pub arrive_s: Option<f64>,
    /// When they leave; absent = they stay to the end.
    #[serde(default)]
    pub depart_s: Option<f64>,
    pub workload: WorkloadSpec,
}

/// A failure at a given time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FailureSpec {
    /// The node stops; its VMs are down until it recovers (or restart elsewhere).
    NodeCrash {
        at_s: f64,
        node: String,
        #[serde(default)]
        recover_after_s: Option<f64>,
    },
    /// A node's NIC (`node`) or the link between two racks (`racks`) runs at `factor`
    /// of its bandwidth for `duration_s`.
    LinkDegrade {
        at_s: f64,
        duration_s: f64,
        factor: f64,
        #[serde(default)]
        node: Option<String>,
        #[serde(default)]
        racks: Option<[String; 2]>,
    },
    /// No traffic between the two racks for `duration_s`.
    Partition {
        at_s: f64,
        duration_s: f64,
        racks: [String; 2],
    },
    /// The VM dirties memory `factor` times faster for `duration_s`.
    DirtyRateSpike {
        at_s: f64,
        duration_s: f64,
        vm: String,
        factor: f64,
    },
    /// Load from outside the VMs (`extra_cores`) on a node for `duration_s`.
    LoadSpike {
        at_s: f64,
        duration_s: f64,
        node: String,
        extra_cores: f64,
    },
    /// The VM stops responding for `duration_s`.
    VmHang {
        at_s: f64,
        duration_s: f64,
        vm: String,
    },
}

impl FailureSpec {
    pub fn at_s(&self) -> f64 {
        match self {
            Self::NodeCrash { at_s, .. }
            | Self::LinkDegrade { at_s, .. }
            | Self::Partition { at_s, .. }
            | Self::DirtyRateSpike { at_s, .. }
            | Self::LoadSpike { at_s, .. }
            | Self::VmHang { at_s, .. } => *at_s,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::NodeCrash { .. } => "node_crash",
            Self::LinkDegrade { .. } => "link_degrade",
            Self::Partition { .. } => "partition",
            Self::DirtyRateSpike { .. } => "dirty_rate_spike",
            Self::LoadSpike { .. } => "load_spike",
            Self::VmHang { .. } => "vm_hang",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StochasticConfig {
    /// Probability that any migration step fails on its own.
    pub step_failure_prob: f64,
    /// How long the steps that move no memory take. By default 1.45 s each, the
    /// published measurement the plan also expects (see `StepDurations`).
    pub step_durations: StepDurations,
}

/// Durations of validation, verification and cleanup, seconds. These are drawn for
/// each step from the run's own stream, apart from what the plan expects, so expected
/// against actual for them means something and a slow step can run into its timeout.
/// The defaults are a measurement: OpenStack live migrations of unloaded VMs (ZHAW
/// ICCLab, 2014) spend 4.34 s outside the memory copy, here split evenly over the three
/// steps for want of a per-phase figure (`scalelab_engine::planner::VALIDATION_EXPECTED_S`
/// has the derivation). Supply your own: a number, or `{ dist = "uniform", min, max }`,
/// or `{ dist = "lognormal", median, sigma }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepDurations {
    pub validation_s: DurationSpec,
    pub verification_s: DurationSpec,
    pub cleanup_s: DurationSpec,
}

impl StepDurations {
    /// The duration of `step`; none for the steps that move memory, whose time is the
    /// transfer's.
    pub fn of(&self, step: scalelab_engine::plan::StepAction) -> Option<DurationSpec> {
        use scalelab_engine::plan::StepAction as S;
        match step {
            S::PreMigrationValidation => Some(self.validation_s),
            S::PostMigrationVerification => Some(self.verification_s),
            S::Cleanup => Some(self.cleanup_s),
            S::MemoryPreCopy | S::StopAndCopy => None,
        }
    }
}

impl Default for StepDurations {
    fn default() -> Self {
        use scalelab_engine::planner::{
            CLEANUP_EXPECTED_S, VALIDATION_EXPECTED_S, VERIFICATION_EXPECTED_S,
        };
        Self {
            validation_s: DurationSpec::Fixed(VALIDATION_EXPECTED_S),
            verification_s: DurationSpec::Fixed(VERIFICATION_EXPECTED_S),
            cleanup_s: DurationSpec::Fixed(CLEANUP_EXPECTED_S),
        }
    }
}

/// A duration, fixed or drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DurationSpec {
    Fixed(f64),
    Drawn(DurationDist),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DurationDist {
    Uniform {
        min: f64,
        max: f64,
    },
    /// `median x exp(sigma x N(0, 1))`: right-skewed, as service times are.
    Lognormal {
        median: f64,
        sigma: f64,
    },
}

impl DurationSpec {
    /// One duration, seconds (a fixed one draws nothing).
    pub fn draw_s(&self, rng: &mut crate::rng::Pcg32) -> f64 {
        match *self {
            Self::Fixed(s) => s,
            Self::Drawn(DurationDist::Uniform { min, max }) => min + (max - min) * rng.uniform(),
            Self::Drawn(DurationDist::Lognormal { median, sigma }) => {
                median * (sigma * rng.normal()).exp()
            }
        }
    }

    /// Every parameter finite and non-negative, `min <= max`, and at most a day.
    pub fn validate(&self, path: &str) -> Result<(), InputError> {
        const DAY_S: f64 = 86_400.0;
        match *self {
            Self::Fixed(s) => check_range(path, s, 0.0, DAY_S),
            Self::Drawn(DurationDist::Uniform { min, max }) => {
                check_range(&format!("{path}.min"), min, 0.0, DAY_S)?;
                check_range(&format!("{path}.max"), max, min, DAY_S)
            }
            Self::Drawn(DurationDist::Lognormal { median, sigma }) => {
                check_range(&format!("{path}.median"), median, 0.0, DAY_S)?;
                check_range(&format!("{path}.sigma"), sigma, 0.0, 3.0)
            }
        }
    }
}

/// FNV-1a 64: a stable content hash for scenario files (same text, same hash, on every
/// platform and version).
pub fn content_hash(text: &str) -> String {
    format!("{:016x}", scalelab_engine::fnv::fnv1a(text.as_bytes()))
}

/// Expanded node or VM name.
pub fn member_name(group: &str, count: u32, i: u32) -> String {
    if count == 1 {
        group.to_string()
    } else {
        format!("{group}-{i}")
    }
}

impl Scenario {
    pub fn from_toml_str(src: &str) -> Result<Self, InputError> {
        let s: Self = from_toml_str(src)?;
        s.validate()?;
        Ok(s)
    }

    pub fn sample_interval_s(&self) -> u64 {
        self.sample_interval_s.unwrap_or(self.control_interval_s)
    }

    pub fn record_interval_s(&self) -> u64 {
        self.record_interval_s.unwrap_or(self.sample_interval_s())
    }

    /// The policy the run decides with: the scenario's, with the deprecated
    /// `sim.scale_cooldown_intervals` turned into the same cooldown in seconds for
    /// every scale action.
    pub fn effective_policy(&self) -> PolicyConfig {
        let mut p = self.policy.clone();
        // Validation refuses it beside any policy cooldown, so nothing is overridden.
        if let Some(s) = self.deprecated_cooldown_s() {
            p.cooldowns = scalelab_engine::policy::CooldownConfig::uniform(s);
        }
        p
    }

    /// The deprecated `sim.scale_cooldown_intervals` in seconds, when set.
    pub(crate) fn deprecated_cooldown_s(&self) -> Option<u64> {
        self.sim
            .scale_cooldown_intervals
            .map(|n| u64::from(n).saturating_mul(self.control_interval_s))
    }

    /// What the scenario sets that is deprecated (its policy's keys included), as
    /// notes for the user, each naming its field.
    pub fn deprecations(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .policy
            .deprecations()
            .into_iter()
            .map(|d| format!("policy.{d}"))
            .collect();
        if let (Some(n), Some(s)) = (
            self.sim.scale_cooldown_intervals,
            self.deprecated_cooldown_s(),
        ) {
            notes.push(format!(
                "sim.scale_cooldown_intervals = {n} is deprecated: set policy.cooldowns \
                 (scale_up_s, scale_down_s, scale_out_s, scale_in_s), in seconds and per action \
                 (it is {s} s for every scale action here)"
            ));
        }
        notes
    }

    /// Nodes in index order as (group, member) pairs, following `node_order`.
    pub fn node_members(&self) -> Vec<(usize, u32)> {
        match self.node_order {
            NodeOrder::Grouped => self
                .nodes
                .iter()
                .enumerate()
                .flat_map(|(gi, g)| (0..g.count).map(move |i| (gi, i)))
                .collect(),
            NodeOrder::Interleaved => {
                let most = self.nodes.iter().map(|g| g.count).max().unwrap_or(0);
                (0..most)
                    .flat_map(|i| {
                        self.nodes
                            .iter()
                            .enumerate()
                            .filter(move |(_, g)| i < g.count)
                            .map(move |(gi, _)| (gi, i))
                    })
                    .collect()
            }
        }
    }

    pub fn node_names(&self) -> Vec<String> {
        self.node_members()
            .into_iter()
            .map(|(gi, i)| {
                let g = &self.nodes[gi];
                member_name(&g.name, g.count, i)
            })
            .collect()
    }

    pub fn vm_names(&self) -> Vec<String> {
        self.vms
            .iter()
            .flat_map(|g| (0..g.count).map(move |i| member_name(&g.name, g.count, i)))
            .collect()
    }

    pub fn racks(&self) -> BTreeSet<String> {
        let mut r = BTreeSet::new();
        for g in &self.nodes {
            if let Some(x) = &g.rack {
                r.insert(x.clone());
            }
            r.extend(g.racks.iter().cloned());
            if g.rack.is_none() && g.racks.is_empty() {
                r.insert(String::new());
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "t"
duration_s = 3600
[[nodes]]
name = "n"
count = 2
cores = 16
memory_mib = 65536
nic_mbps = 10000
[[vms]]
name = "v"
count = 3
vcpus = 4
memory_mib = 4096
workload = { kind = "constant", level = 0.5 }
"#;

    #[test]
    fn minimal_scenario_expands_names() {
        let s = Scenario::from_toml_str(MINIMAL).unwrap();
        assert_eq!(s.node_names(), ["n-0", "n-1"]);
        assert_eq!(s.vm_names(), ["v-0", "v-1", "v-2"]);
        assert_eq!(s.sample_interval_s(), 300);
        assert_eq!(s.policy, PolicyConfig::default());
    }

    fn err(extra: &str) -> InputError {
        Scenario::from_toml_str(&format!("{MINIMAL}{extra}")).unwrap_err()
    }

    #[test]
    fn errors_name_the_field() {
        let e = Scenario::from_toml_str(&MINIMAL.replace("memory_mib = 4096", "memory_mib = 0"))
            .unwrap_err();
        assert_eq!(e.to_string(), "vms[0].memory_mib: must be > 0");
        let e = Scenario::from_toml_str(&MINIMAL.replace("level = 0.5", "level = 50")).unwrap_err();
        assert_eq!(e.path, "vms[0].workload.level");
        let e = err("colour = 1\n");
        assert!(e.message.contains("colour"), "{e}");
        let e = err("[[failures]]\nkind = \"node_crash\"\nat_s = 10\nnode = \"zz\"\n");
        assert_eq!(e.path, "failures[0].node");
        let e = err("[[failures]]\nkind = \"meteor\"\nat_s = 10\n");
        assert_eq!(e.path, "failures[0].kind");
        assert!(e.line.is_some());
        // A spike too large for utilization to stay finite (found by the property test
        // at 1,500 cases: 2.7e131 extra cores overflowed the record's f32 series).
        let e = err(
            "[[failures]]\nkind = \"load_spike\"\nat_s = 1\nduration_s = 5\nnode = \"n-0\"\nextra_cores = 2.7e131\n",
        );
        assert_eq!(e.path, "failures[0].extra_cores");
        let e = err("[policy]\nmigrate_avg = 2.0\n");
        assert_eq!(e.path, "policy.migrate_avg");
        let e = Scenario::from_toml_str(&MINIMAL.replace(
            "duration_s = 3600",
            "duration_s = 3600\nsample_interval_s = 7",
        ))
        .unwrap_err();
        assert_eq!(e.path, "sample_interval_s");
        let e =
            err("[[failures]]\nkind = \"link_degrade\"\nat_s = 10\nduration_s = 5\nfactor = 0.5\n");
        assert_eq!(e.path, "failures[0].node");
        let e =
            err("[[failures]]\nkind = \"vm_hang\"\nat_s = 99999\nduration_s = 5\nvm = \"v-0\"\n");
        assert_eq!(e.path, "failures[0].at_s");
    }

    #[test]
    fn resource_limits_refuse_huge_scenarios_up_front() {
        let limits = ResourceLimits::default();
        let s = Scenario::from_toml_str(MINIMAL).unwrap();
        assert!(s.check_resources(&limits).is_ok());
        // A billion VMs is refused by validation before any name is expanded...
        let e = Scenario::from_toml_str(&MINIMAL.replace("count = 3", "count = 1000000000"))
            .unwrap_err();
        assert_eq!(e.path, "vms");
        assert!(
            e.message.contains("1000000000 VMs") && e.message.contains("GiB"),
            "{e}"
        );
        // ...and a million against a 1 GiB limit by the estimate, which a flag lifts.
        let big =
            Scenario::from_toml_str(&MINIMAL.replace("count = 3", "count = 1000000")).unwrap();
        let small = ResourceLimits {
            max_memory_bytes: 1024.0 * 1024.0 * 1024.0,
            ..limits
        };
        let e = big.check_resources(&small).unwrap_err();
        assert_eq!(e.path, "vms");
        assert!(
            e.message.contains("GiB") && e.message.contains("--no-resource-limits"),
            "{e}"
        );
        // A year sampled every second for 1,000 VMs: 3e10 samples.
        let long = Scenario::from_toml_str(
            &MINIMAL
                .replace(
                    "duration_s = 3600",
                    "duration_s = 31536000\ncontrol_interval_s = 1\nsample_interval_s = 1",
                )
                .replace("count = 3", "count = 1000"),
        )
        .unwrap();
        let e = long.check_resources(&limits).unwrap_err();
        assert_eq!(e.path, "duration_s");
        // The 100,000-VM benchmark day is within the defaults.
        let bench = Scenario::from_toml_str(include_str!(
            "../../../../benches/scenarios/fleet-100k-day.toml"
        ))
        .unwrap();
        assert!(bench.check_resources(&limits).is_ok());
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(content_hash(""), "cbf29ce484222325");
        assert_eq!(content_hash("a"), "af63dc4c8601ec8c");
    }
}
