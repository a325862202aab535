//! The simulation: a discrete-event loop over one scenario and seed.
//!
//! Time advances in integer milliseconds. One `Tick` event per sample interval samples
//! every workload, recomputes node loads, feeds the forecasters and accounts metrics
//! for the interval that just ended (loads are piecewise constant between ticks); every
//! control interval the tick also runs the engine. Migrations, failures and timeouts
//! are their own events. Loops over VMs and nodes run in index order and no hash map is
//! ever iterated, so a run is a pure function of the scenario and seed.

use scalelab_engine::cluster::{
    ClusterSnapshot, InFlightMigration, NodeHealth, NodeSnapshot, VmSnapshot,
};
use scalelab_engine::engine::{Engine, ResourceObservation, VmObservation};
use scalelab_engine::forecast::Forecaster;
use scalelab_engine::model::{ResourceType, ScalingAction, ScalingDecision};
use scalelab_engine::plan::{
    CLEANUP_EXPECTED_S, MigrationPlan, RollbackCondition, StepAction, SuccessCriterion,
    VALIDATION_EXPECTED_S, VERIFICATION_EXPECTED_S,
};
use scalelab_engine::precopy::{PreCopyParams, mbps_to_mib_s};
use scalelab_engine::rules::{
    ForecastSummary, MigrationCheck, UtilStats, migration_check, scaling_rule,
};
use scalelab_engine::{PolicyConfig, ScalingAction as Act};

use crate::baselines::Baseline;
use crate::network::{Flow, fair_rates};
use crate::queue::{EventId, EventQueue, TimeMs};
use crate::record::{
    CriterionResult, DecisionRecord, EventKind, EventRecord, MigrationRecord, NodeInfo, Outcome,
    PlacementChange, RunMetrics, RunRecord, ScenarioInfo, Series, StepOutcome, StepRecord, VmInfo,
    node_state,
};
use crate::rng::{Pcg32, derive};
use crate::scenario::{FailureDistribution, FailureSpec, Scenario, member_name};
use crate::workload::{Workload, WorkloadSpec};

/// Everything the simulator can refuse before it starts.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Placement(String),
    #[error("{0}")]
    Trace(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    Tick,
    StepDone { mig: u32 },
    TransferDone { mig: u32 },
    Timeout { mig: u32, step: StepAction },
    PauseCheck { mig: u32 },
    HangCheck { mig: u32 },
    FailureStart { idx: u32 },
    FailureEnd { idx: u32 },
    NodeRecover { node: u32 },
    StochasticCrash { node: u32 },
    VmRestart { vm: u32 },
}

/// Samples a window keeps inline, without a heap allocation.
const INLINE_WINDOW: usize = 16;

/// Fixed-size window of the last samples, for current / average / peak.
///
/// Windows up to [`INLINE_WINDOW`] samples (the default is 12) live inside the VM's
/// own struct: at 100,000 VMs a separate heap buffer per VM costs a cache miss per VM
/// per tick, which was most of the simulator's time.
#[derive(Debug, Clone)]
struct Ring {
    store: RingStore,
    cap: usize,
    next: usize,
    len: usize,
}

#[derive(Debug, Clone)]
enum RingStore {
    Inline([f64; INLINE_WINDOW]),
    Heap(Box<[f64]>),
}

impl Ring {
    fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        let store = if cap <= INLINE_WINDOW {
            RingStore::Inline([0.0; INLINE_WINDOW])
        } else {
            RingStore::Heap(vec![0.0; cap].into_boxed_slice())
        };
        Self {
            store,
            cap,
            next: 0,
            len: 0,
        }
    }

    fn buf(&self) -> &[f64] {
        match &self.store {
            RingStore::Inline(a) => &a[..self.cap],
            RingStore::Heap(b) => b,
        }
    }

    fn push(&mut self, x: f64) {
        let next = self.next;
        match &mut self.store {
            RingStore::Inline(a) => a[next] = x,
            RingStore::Heap(b) => b[next] = x,
        }
        self.next = (next + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }

    /// Samples oldest first (the baselines' history).
    fn ordered(&self) -> Vec<f64> {
        let buf = self.buf();
        (0..self.len)
            .map(|i| buf[(self.next + self.cap - self.len + i) % self.cap])
            .collect()
    }

    fn stats(&self) -> UtilStats {
        if self.len == 0 {
            return UtilStats::default();
        }
        let buf = self.buf();
        let current = buf[(self.next + self.cap - 1) % self.cap];
        // Sum and peak do not depend on order: walk the filled part straight through.
        let mut sum = 0.0;
        let mut peak = f64::NEG_INFINITY;
        for &x in &buf[..self.len] {
            sum += x;
            peak = peak.max(x);
        }
        UtilStats {
            current,
            avg: sum / self.len as f64,
            peak,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VmStatus {
    Running,
    /// Its node is down; it comes back with the node (or restarts elsewhere).
    Down,
    Lost,
    /// Removed by scale in.
    Removed,
}

#[derive(Debug)]
struct NodeRt {
    id: String,
    rack: usize,
    cores: f64,
    memory_mib: u64,
    nic_mbps: f64,
    power: Option<[f64; 11]>,
    up: bool,
    nic_factor: f64,
    background_cores: f64,
    /// Memory of the VMs placed here (down ones included).
    used_mem_mib: u64,
    /// Memory held for incoming migrations, and by outgoing ones until cleanup.
    held_mem_mib: u64,
    /// CPU reserved for incoming migrations (the VM's demand), until switchover.
    reserved_cores: f64,
    load_cores: f64,
    hist: Ring,
    forecaster: Forecaster,
    stats: UtilStats,
    summary: Option<ForecastSummary>,
    migrations: u32,
    mtbf_s: Option<f64>,
    mttr_s: f64,
    dist: FailureDistribution,
    weibull_shape: f64,
    vcpus_placed: u64,
}

impl NodeRt {
    fn util(&self) -> f64 {
        if self.up {
            self.load_cores / self.cores
        } else {
            0.0
        }
    }

    fn free_mem_mib(&self) -> u64 {
        self.memory_mib
            .saturating_sub(self.used_mem_mib + self.held_mem_mib)
    }
}

#[derive(Debug)]
struct VmRt {
    id: String,
    base_vcpus: u32,
    vcpus: u32,
    memory_mib: u64,
    /// Declared fraction of memory touched (see `VmGroup::resident_memory_frac`).
    resident_frac: f64,
    dirty_rate: f64,
    dirty_factor: f64,
    group: Option<usize>,
    anti_affinity: Option<String>,
    node: Option<usize>,
    status: VmStatus,
    paused: bool,
    hung_until_ms: TimeMs,
    workload: Option<Workload>,
    /// Own workload's demand, as a fraction of `base_vcpus`.
    own_level: f64,
    /// Demand this VM carries now, in cores (its own, or its share of the group's).
    demand_cores: f64,
    hist: Ring,
    forecaster: Forecaster,
    /// Window stats and forecast summary as of the last control tick, computed in the
    /// sampling pass so the control round reads nothing but this struct.
    stats: UtilStats,
    summary: Option<ForecastSummary>,
    cooldown_until_ms: TimeMs,
    migration: Option<u32>,
    /// When it went down (valid while `status == Down`): downtime is counted exactly,
    /// not per tick.
    down_since_ms: TimeMs,
}

impl VmRt {
    fn alive(&self) -> bool {
        matches!(self.status, VmStatus::Running | VmStatus::Down)
    }

    fn used_cores(&self) -> f64 {
        if self.status == VmStatus::Running && !self.paused {
            self.demand_cores.min(self.vcpus as f64)
        } else {
            0.0
        }
    }
}

#[derive(Debug)]
struct GroupRt {
    name: String,
    /// Original members: their workloads make up the group's load.
    originals: Vec<usize>,
    /// Replicas serving now (originals not scaled in, plus added ones).
    active: Vec<usize>,
    cooldown_until_ms: TimeMs,
}

#[derive(Debug, Clone, Copy)]
struct Transfer {
    left_mib: f64,
    rate_mib_s: f64,
    last_ms: TimeMs,
    timer: Option<EventId>,
}

#[derive(Debug)]
struct MigRt {
    vm: usize,
    src: usize,
    dst: usize,
    plan: MigrationPlan,
    step: StepAction,
    step_timer: Option<EventId>,
    step_event: Option<EventId>,
    pause_check: Option<EventId>,
    transfer: Option<Transfer>,
    round_volume_mib: f64,
    dirtied_mib: f64,
    rounds: u32,
    sent_mib: f64,
    pause_start_ms: Option<TimeMs>,
    switched: bool,
    active: bool,
    demand_reserved: f64,
    /// Measurement window after switchover.
    window_end_ms: TimeMs,
    target_sum: f64,
    source_sum: f64,
    samples: u32,
    measuring: bool,
}

/// A scale decision on its way to being applied.
#[derive(Debug)]
struct ScaleRequest {
    action: ScalingAction,
    target: f64,
    current: f64,
    confidence: f64,
    reasoning: Option<String>,
}

/// One run of one scenario.
#[derive(Debug)]
pub struct Simulation {
    sc: Scenario,
    content_hash: String,
    engine: Engine,
    policy: PolicyConfig,
    params: PreCopyParams,
    q: EventQueue<Ev>,
    nodes: Vec<NodeRt>,
    vms: Vec<VmRt>,
    groups: Vec<GroupRt>,
    racks: Vec<String>,
    /// Inter-rack link bandwidth by rack pair (a < b); `None` = unlimited.
    link_mbps: Vec<Option<f64>>,
    link_factor: Vec<f64>,
    migs: Vec<MigRt>,
    records: Vec<MigrationRecord>,
    active: Vec<u32>,
    decisions: Vec<DecisionRecord>,
    events: Vec<EventRecord>,
    placements: Vec<PlacementChange>,
    series: Series,
    metrics: RunMetrics,
    rng_fail: Pcg32,
    last_tick_ms: TimeMs,
    duration_ms: TimeMs,
    sample_ms: TimeMs,
    control_ms: TimeMs,
    record_ms: TimeMs,
    // accumulators
    active_ms: f64,
    overload_ms: f64,
    energy_j: f64,
    has_power: bool,
    pdm_lost: f64,
    pdm_requested: f64,
    downtime_ms: u64,
    violations: Vec<String>,
    last_event_ms: TimeMs,
    /// Decisions by action, indexed like [`ScalingAction::ALL`] (a map lookup per VM
    /// per round is measurable at 100,000 VMs).
    decision_counts: [u64; 6],
    /// CPU demand of running VMs at the last tick (for PDM's denominator).
    running_demand_cores: f64,
    /// VMs placed on each node (lost and removed ones are on none), so a crash or a
    /// recovery touches its node's VMs instead of scanning all of them.
    node_vms: Vec<Vec<u32>>,
    snapshot_nodes: Vec<NodeSnapshot>,
}

fn action_index(a: ScalingAction) -> usize {
    ScalingAction::ALL.iter().position(|&x| x == a).unwrap_or(0)
}

const MAX_VIOLATIONS: usize = 100;

fn pair_index(n: usize, a: usize, b: usize) -> usize {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    a * n + b
}

impl Simulation {
    /// Build the cluster of a validated scenario. `seed` overrides the scenario's.
    pub fn new(sc: Scenario, content_hash: String, seed: Option<u64>) -> Result<Self, SimError> {
        let mut sc = sc;
        if let Some(s) = seed {
            sc.seed = s;
        }
        let policy = sc.policy.clone();
        let window = policy.window_samples;
        let racks: Vec<String> = sc.racks().into_iter().collect();
        let rack_ix = |r: &str| racks.iter().position(|x| x == r).unwrap_or(0);
        let mut nodes = Vec::new();
        for g in &sc.nodes {
            for i in 0..g.count {
                let rack = match (&g.rack, g.racks.is_empty()) {
                    (Some(r), _) => rack_ix(r),
                    (None, false) => rack_ix(&g.racks[i as usize % g.racks.len()]),
                    (None, true) => rack_ix(""),
                };
                nodes.push(NodeRt {
                    id: member_name(&g.name, g.count, i),
                    rack,
                    cores: g.cores,
                    memory_mib: g.memory_mib,
                    nic_mbps: g.nic_mbps,
                    power: g.power.as_ref().and_then(|p| p.watts()),
                    up: true,
                    nic_factor: 1.0,
                    background_cores: 0.0,
                    used_mem_mib: 0,
                    held_mem_mib: 0,
                    reserved_cores: 0.0,
                    load_cores: 0.0,
                    hist: Ring::new(window),
                    forecaster: Forecaster::new(&policy.forecast),
                    stats: UtilStats::default(),
                    summary: None,
                    migrations: 0,
                    mtbf_s: g.mtbf_s,
                    mttr_s: g.mttr_s,
                    dist: g.failure_distribution,
                    weibull_shape: g.weibull_shape,
                    vcpus_placed: 0,
                });
            }
        }
        let nr = racks.len();
        let mut link_mbps = vec![sc.network.inter_rack_mbps; nr * nr];
        for l in &sc.network.links {
            let (a, b) = (rack_ix(&l.racks[0]), rack_ix(&l.racks[1]));
            link_mbps[pair_index(nr, a, b)] = Some(l.mbps);
        }
        let mut groups: Vec<GroupRt> = Vec::new();
        let mut vms = Vec::new();
        let mut placements = Vec::new();
        let mut spread_cursor = 0usize;
        for (gi, g) in sc.vms.iter().enumerate() {
            let spec = std::sync::Arc::new(g.workload.clone());
            let trace = match &g.workload {
                WorkloadSpec::Trace(t) => match &t.series {
                    Some(s) if s.len() == g.count as usize => Some(s.clone()),
                    Some(s) => {
                        return Err(SimError::Trace(format!(
                            "vms[{gi}] ({}) has count = {} but its trace gave {} VMs",
                            g.name,
                            g.count,
                            s.len()
                        )));
                    }
                    None => {
                        return Err(SimError::Trace(format!(
                            "vms[{gi}] ({}) replays the trace {:?}, which was not loaded \
                             (scalelab run loads it from the trace data directory)",
                            g.name, t.path
                        )));
                    }
                },
                _ => None,
            };
            let shape_from_trace =
                matches!(&g.workload, WorkloadSpec::Trace(t) if t.shape_from_trace);
            for i in 0..g.count {
                let idx = vms.len();
                let tvm = trace.as_ref().map(|s| &s[i as usize]);
                let (vcpus, memory_mib) = match tvm {
                    Some(t) if shape_from_trace => (
                        t.vcpus.unwrap_or(g.vcpus),
                        t.memory_mib.unwrap_or(g.memory_mib),
                    ),
                    _ => (g.vcpus, g.memory_mib),
                };
                let group = g.service_group.as_ref().map(|name| {
                    match groups.iter().position(|x| &x.name == name) {
                        Some(k) => k,
                        None => {
                            groups.push(GroupRt {
                                name: name.clone(),
                                originals: Vec::new(),
                                active: Vec::new(),
                                cooldown_until_ms: 0,
                            });
                            groups.len() - 1
                        }
                    }
                });
                if let Some(k) = group {
                    groups[k].originals.push(idx);
                    groups[k].active.push(idx);
                }
                let name = member_name(&g.name, g.count, i);
                // Placement: the listed nodes round-robin, else spread over all nodes,
                // skipping nodes without memory for the VM.
                let node = if g.nodes.is_empty() {
                    let mut found = None;
                    for k in 0..nodes.len() {
                        let n = (spread_cursor + k) % nodes.len();
                        if nodes[n].free_mem_mib() >= memory_mib {
                            found = Some(n);
                            spread_cursor = n + 1;
                            break;
                        }
                    }
                    found
                } else {
                    let want = &g.nodes[i as usize % g.nodes.len()];
                    nodes
                        .iter()
                        .position(|n| &n.id == want)
                        .filter(|&n| nodes[n].free_mem_mib() >= memory_mib)
                };
                let Some(node) = node else {
                    return Err(SimError::Placement(format!(
                        "VM {name:?} ({} MiB) does not fit on {}",
                        memory_mib,
                        if g.nodes.is_empty() {
                            "any node".to_string()
                        } else {
                            format!("node {:?}", g.nodes[i as usize % g.nodes.len()])
                        }
                    )));
                };
                nodes[node].used_mem_mib += memory_mib;
                nodes[node].vcpus_placed += vcpus as u64;
                placements.push(PlacementChange {
                    t_ms: 0,
                    vm: idx as u32,
                    node: Some(node as u32),
                });
                let stream = derive(sc.seed, idx as u64 + 1);
                vms.push(VmRt {
                    id: name,
                    base_vcpus: vcpus,
                    vcpus,
                    memory_mib,
                    resident_frac: g.resident_memory_frac,
                    dirty_rate: g.dirty_rate_mib_s,
                    dirty_factor: 1.0,
                    group,
                    anti_affinity: g.anti_affinity_group.clone(),
                    node: Some(node),
                    status: VmStatus::Running,
                    paused: false,
                    hung_until_ms: 0,
                    workload: Some(Workload::trace_member(
                        spec.clone(),
                        i as usize,
                        Pcg32::new(stream, 1),
                    )),
                    own_level: 0.0,
                    demand_cores: 0.0,
                    hist: Ring::new(window),
                    forecaster: Forecaster::new(&policy.forecast),
                    stats: UtilStats::default(),
                    summary: None,
                    cooldown_until_ms: 0,
                    migration: None,
                    down_since_ms: 0,
                });
            }
        }
        let sample_ms = sc.sample_interval_s() * 1000;
        let has_power = nodes.iter().any(|n| n.power.is_some());
        let mut sim = Self {
            content_hash,
            engine: Engine::new(policy.clone()),
            params: PreCopyParams::from(&policy.migration),
            policy,
            q: EventQueue::new(),
            link_factor: vec![1.0; nr * nr],
            link_mbps,
            racks,
            nodes,
            vms,
            groups,
            migs: Vec::new(),
            records: Vec::new(),
            active: Vec::new(),
            decisions: Vec::new(),
            events: Vec::new(),
            placements,
            series: Series {
                interval_ms: sc.record_interval_s() * 1000,
                ..Default::default()
            },
            metrics: RunMetrics::default(),
            rng_fail: Pcg32::new(derive(sc.seed, 0), 7),
            last_tick_ms: 0,
            duration_ms: sc.duration_s * 1000,
            sample_ms,
            control_ms: sc.control_interval_s * 1000,
            record_ms: sc.record_interval_s() * 1000,
            active_ms: 0.0,
            overload_ms: 0.0,
            energy_j: 0.0,
            has_power,
            pdm_lost: 0.0,
            pdm_requested: 0.0,
            downtime_ms: 0,
            violations: Vec::new(),
            last_event_ms: 0,
            decision_counts: [0; 6],
            running_demand_cores: 0.0,
            node_vms: Vec::new(),
            snapshot_nodes: Vec::new(),
            sc,
        };
        sim.node_vms = vec![Vec::new(); sim.nodes.len()];
        for (i, v) in sim.vms.iter().enumerate() {
            if let Some(n) = v.node {
                sim.node_vms[n].push(i as u32);
            }
        }
        // Failures first: one at time t takes effect before the control round at t.
        for (i, f) in sim.sc.failures.iter().enumerate() {
            sim.q.schedule(
                (f.at_s() * 1000.0).round() as u64,
                Ev::FailureStart { idx: i as u32 },
            );
        }
        sim.q.schedule(0, Ev::Tick);
        for n in 0..sim.nodes.len() {
            sim.schedule_stochastic_crash(n);
        }
        Ok(sim)
    }

    fn schedule_stochastic_crash(&mut self, n: usize) {
        let node = &self.nodes[n];
        if let Some(mtbf) = node.mtbf_s {
            let dt = match node.dist {
                FailureDistribution::Exponential => self.rng_fail.exponential(mtbf),
                FailureDistribution::Weibull => self.rng_fail.weibull(node.weibull_shape, mtbf),
            };
            let t = self
                .q
                .now()
                .saturating_add((dt * 1000.0).round().max(1.0) as u64);
            if t < self.duration_ms {
                self.q.schedule(t, Ev::StochasticCrash { node: n as u32 });
            }
        }
    }

    /// Run to the end. `progress(now_ms, duration_ms)` is called at every tick.
    pub fn run(mut self, progress: &mut dyn FnMut(u64, u64)) -> RunRecord {
        while let Some((t, ev)) = self.q.pop() {
            if t > self.duration_ms {
                break;
            }
            if t < self.last_event_ms {
                self.violation(format!("time went back from {} to {t}", self.last_event_ms));
            }
            self.last_event_ms = t;
            match ev {
                Ev::Tick => {
                    progress(t, self.duration_ms);
                    if self.tick(t) {
                        break;
                    }
                }
                Ev::StepDone { mig } => self.on_step_done(mig as usize, t),
                Ev::TransferDone { mig } => self.on_transfer_done(mig as usize, t),
                Ev::Timeout { mig, step } => self.on_timeout(mig as usize, step, t),
                Ev::PauseCheck { mig } => self.on_pause_check(mig as usize, t),
                Ev::HangCheck { mig } => self.on_hang_check(mig as usize, t),
                Ev::FailureStart { idx } => self.on_failure(idx as usize, t, true),
                Ev::FailureEnd { idx } => self.on_failure(idx as usize, t, false),
                Ev::NodeRecover { node } => self.recover_node(node as usize, t),
                Ev::StochasticCrash { node } => {
                    let n = node as usize;
                    if self.nodes[n].up {
                        self.crash_node(n, t, "stochastic failure (MTBF)");
                        let mttr = self.nodes[n].mttr_s;
                        let dt = self.rng_fail.exponential(mttr);
                        self.q.schedule(
                            t.saturating_add((dt * 1000.0).round().max(1.0) as u64),
                            Ev::NodeRecover { node },
                        );
                    }
                }
                Ev::VmRestart { vm } => self.restart_vm(vm as usize, t),
            }
            if self.sc.sim.check_invariants {
                self.check_invariants();
            }
        }
        progress(self.duration_ms, self.duration_ms);
        self.finish()
    }

    // ---- ticks -------------------------------------------------------------------------

    /// Returns true when the run is over.
    fn tick(&mut self, now: TimeMs) -> bool {
        self.account(now);
        if now >= self.duration_ms {
            return true;
        }
        self.sample(now);
        self.measure(now);
        self.check_rollbacks(now);
        if now % self.record_ms == 0 {
            self.record_series(now);
        }
        if now % self.control_ms == 0 {
            self.control_round(now);
        }
        let next = (now + self.sample_ms).min(self.duration_ms);
        self.q.schedule(next, Ev::Tick);
        false
    }

    /// Metrics for [last tick, now), with the loads of the last tick.
    fn account(&mut self, now: TimeMs) {
        let dt = (now - self.last_tick_ms) as f64;
        self.last_tick_ms = now;
        if dt <= 0.0 {
            return;
        }
        for n in &self.nodes {
            if !n.up {
                continue;
            }
            self.active_ms += dt;
            let u = n.load_cores / n.cores;
            if u > 1.0 {
                self.overload_ms += dt;
                self.metrics.unmet_demand_core_s += (n.load_cores - n.cores) * dt / 1000.0;
            }
            if let Some(w) = &n.power {
                self.energy_j += power_w(w, u) * dt / 1000.0;
            }
        }
        self.pdm_requested += self.running_demand_cores * dt;
    }

    /// One pass over the VMs after the group shares are known: demand, node loads,
    /// histories, forecasters, and (on control ticks) the stats the rules read. At
    /// 100,000 VMs the cost is memory traffic, so everything per VM happens in one go.
    fn sample(&mut self, now: TimeMs) {
        let t_s = now as f64 / 1000.0;
        // Service groups first: a replica's demand is a share of the group's total.
        for g in &self.groups {
            let mut total = 0.0;
            for &i in &g.originals {
                let v = &mut self.vms[i];
                if let Some(w) = &mut v.workload {
                    v.own_level = w.sample(t_s);
                }
                total += v.own_level * v.base_vcpus as f64;
            }
            let share = total / g.active.len().max(1) as f64;
            for &i in &g.active {
                self.vms[i].demand_cores = share;
            }
        }
        for n in &mut self.nodes {
            n.load_cores = n.background_cores;
        }
        let control = now % self.control_ms == 0;
        let mut alive = 0;
        let mut running_demand = 0.0;
        for v in &mut self.vms {
            if v.group.is_none() {
                if let Some(w) = &mut v.workload {
                    v.own_level = w.sample(t_s);
                }
                v.demand_cores = v.own_level * v.base_vcpus as f64;
            }
            alive += u64::from(v.alive());
            if let Some(n) = v.node {
                self.nodes[n].load_cores += v.used_cores();
            }
            if v.status == VmStatus::Running {
                running_demand += v.demand_cores;
                let u = v.demand_cores / v.vcpus as f64;
                v.hist.push(u);
                v.forecaster.observe(u);
                if control {
                    v.stats = v.hist.stats();
                    v.summary = v.forecaster.summary();
                }
            }
        }
        self.running_demand_cores = running_demand;
        self.add_migration_overheads();
        for n in &mut self.nodes {
            if n.up {
                let u = n.load_cores / n.cores;
                n.hist.push(u);
                n.forecaster.observe(u);
                if control {
                    n.stats = n.hist.stats();
                    n.summary = n.forecaster.summary();
                }
            }
        }
        self.metrics.vm_ticks += alive;
    }

    /// Source and target of every migration moving memory carry its CPU overhead.
    fn add_migration_overheads(&mut self) {
        let overhead = self.sc.sim.migration_cpu_overhead_frac;
        for &m in &self.active {
            let mig = &self.migs[m as usize];
            if matches!(
                mig.step,
                StepAction::MemoryPreCopy | StepAction::StopAndCopy
            ) {
                let extra = overhead * self.vms[mig.vm].demand_cores;
                self.nodes[mig.src].load_cores += extra;
                self.nodes[mig.dst].load_cores += extra;
            }
        }
    }

    fn record_series(&mut self, now: TimeMs) {
        self.series.times_ms.push(now);
        self.series
            .node_util
            .push(self.nodes.iter().map(|n| n.util() as f32).collect());
        self.series.node_state.push(
            self.nodes
                .iter()
                .map(|n| {
                    if !n.up {
                        node_state::DOWN
                    } else if n.util() > 1.0 {
                        node_state::OVERLOADED
                    } else {
                        node_state::HEALTHY
                    }
                })
                .collect(),
        );
    }

    // ---- the control loop ----------------------------------------------------------------

    fn control_round(&mut self, now: TimeMs) {
        if let Some(b) = self.sc.sim.baseline {
            self.baseline_round(b, now);
            return;
        }
        let p = &self.policy;
        // Which hosts are hot (the MIGRATE rule on host pressure).
        let hot: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| {
                n.up && migration_check(
                    p,
                    ResourceType::Cpu,
                    n.stats.current,
                    n.stats.avg,
                    n.summary,
                ) == MigrationCheck::Wanted
            })
            .collect();
        // One pass: VMs of hot hosts go to the engine's full round; every other VM
        // gets the scaling rule on its own demand (VMs in cooldown are skipped).
        let mut candidates = Vec::new();
        let mut pending = Vec::new();
        for (i, v) in self.vms.iter().enumerate() {
            if v.status != VmStatus::Running || v.migration.is_some() || v.paused {
                continue;
            }
            if v.node.is_some_and(|n| hot[n]) {
                candidates.push(i);
                continue;
            }
            if v.cooldown_until_ms > now
                || v.group
                    .is_some_and(|g| self.groups[g].cooldown_until_ms > now)
            {
                continue;
            }
            let replicas = v.group.map(|g| self.groups[g].active.len() as u32);
            let o = scaling_rule(p, v.stats, v.summary, replicas);
            self.decision_counts[action_index(o.action)] += 1;
            if o.action != Act::NoAction {
                let confidence = v
                    .summary
                    .map_or(p.confidence_without_forecast, |f| f.accuracy);
                pending.push((
                    i,
                    ScaleRequest {
                        action: o.action,
                        target: o.target_value,
                        current: v.stats.current,
                        confidence,
                        reasoning: None,
                    },
                ));
            }
        }
        // The engine's decisions for the candidates (MIGRATE or its fallback) first.
        if !candidates.is_empty() {
            let (snapshot, obs) = self.snapshot_for(&candidates);
            let ds = self.engine.decide(now as i64, Some(&snapshot), &obs);
            self.snapshot_nodes = snapshot.nodes;
            for (d, &vm) in ds.into_iter().zip(&candidates) {
                self.decision_counts[action_index(d.action)] += 1;
                // An earlier decision of this round may have changed the VM (a scale
                // in of its group removed it): act only on VMs still as decided on.
                let v = &self.vms[vm];
                if v.status != VmStatus::Running || v.node.is_none() || v.migration.is_some() {
                    *self
                        .metrics
                        .unapplied_decisions_by_action
                        .entry(d.action)
                        .or_insert(0) += 1;
                    continue;
                }
                if d.action == Act::Migrate {
                    self.start_migration(vm, d, now);
                } else if d.action != Act::NoAction && self.vms[vm].cooldown_until_ms <= now {
                    let req = ScaleRequest {
                        action: d.action,
                        target: d.target_value,
                        current: d.current_value,
                        confidence: d.confidence,
                        reasoning: Some(d.reasoning),
                    };
                    self.apply_scale(vm, req, now);
                }
            }
        }
        // Then the rule's, unless an engine action put the VM's group in cooldown.
        for (vm, req) in pending {
            let v = &self.vms[vm];
            if v.group
                .is_some_and(|g| self.groups[g].cooldown_until_ms > now)
            {
                *self
                    .metrics
                    .unapplied_decisions_by_action
                    .entry(req.action)
                    .or_insert(0) += 1;
                continue;
            }
            self.apply_scale(vm, req, now);
        }
    }

    /// One control round of a reference policy (see [`crate::baselines`]).
    fn baseline_round(&mut self, b: Baseline, now: TimeMs) {
        use crate::baselines::{WATCHER_THRESHOLD, overloaded, relief_target};
        let sample_s = (self.sample_ms as f64 / 1000.0).max(1e-9);
        let util = |n: &NodeRt| (n.load_cores + n.reserved_cores) / n.cores;
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].up)
            .collect();
        if up.is_empty() {
            return;
        }
        let avg = up.iter().map(|&n| util(&self.nodes[n])).sum::<f64>() / up.len() as f64;
        let history: Vec<Vec<f64>> = self.nodes.iter().map(|n| n.hist.ordered()).collect();
        // How far LR predicts, per node: its longest migration, in samples.
        let ahead: Vec<f64> = (0..self.nodes.len())
            .map(|n| {
                let biggest = self.node_vms[n]
                    .iter()
                    .map(|&v| self.vms[v as usize].memory_mib)
                    .max()
                    .unwrap_or(0) as f64;
                biggest / mbps_to_mib_s(self.nodes[n].nic_mbps.max(1.0)) / sample_s
            })
            .collect();
        // Hosts over their threshold, busiest first.
        let mut hot: Vec<usize> = up
            .iter()
            .copied()
            .filter(|&n| overloaded(b, &history[n], util(&self.nodes[n]), ahead[n]))
            .collect();
        hot.sort_by(|&a, &c| {
            util(&self.nodes[c])
                .total_cmp(&util(&self.nodes[a]))
                .then(a.cmp(&c))
        });
        if b == Baseline::Watcher {
            hot.truncate(1);
        }
        for src in hot {
            let cores = self.nodes[src].cores;
            let mut projected = util(&self.nodes[src]);
            let ahead = ahead[src];
            // As in CloudSim, a host's history is its VMs' history: moving a VM away
            // lowers every past sample too, and detection runs again on that.
            let mut removed = 0.0;
            let still_overloaded = |removed: f64, projected: f64| {
                let h: Vec<f64> = history[src]
                    .iter()
                    .map(|x| (x - removed).max(0.0))
                    .collect();
                overloaded(b, &h, projected, ahead)
            };
            let mut vms: Vec<usize> = self.node_vms[src]
                .iter()
                .map(|&v| v as usize)
                .filter(|&v| {
                    let x = &self.vms[v];
                    x.status == VmStatus::Running && x.migration.is_none() && !x.paused
                })
                .collect();
            match b {
                // Watcher: the VM whose departure leaves the host closest to the average.
                Baseline::Watcher => vms.sort_by(|&a, &c| {
                    let after =
                        |v: usize| (projected - self.vms[v].demand_cores / cores - avg).abs();
                    after(a).total_cmp(&after(c)).then(a.cmp(&c))
                }),
                // MMT: the smallest memory moves fastest.
                _ => vms.sort_by_key(|&v| (self.vms[v].memory_mib, v)),
            }
            for vm in vms {
                if !still_overloaded(removed, projected) {
                    break;
                }
                let demand = self.vms[vm].demand_cores.min(self.vms[vm].vcpus as f64);
                let mem = self.vms[vm].memory_mib;
                // Best fit: the fullest host that stays under its threshold with the VM
                // (Watcher: the least loaded one under 25 %).
                let mut best: Option<(f64, usize)> = None;
                for &t in &up {
                    let node = &self.nodes[t];
                    if t == src
                        || node.free_mem_mib() < mem
                        || self.path_capacity_mbps(src, t) <= 0.0
                    {
                        continue;
                    }
                    let post = util(node) + demand / node.cores;
                    let limit = match b {
                        Baseline::Watcher => WATCHER_THRESHOLD,
                        _ => relief_target(b, &history[t]),
                    };
                    if post > limit {
                        continue;
                    }
                    let better = match best {
                        None => true,
                        Some((bp, bi)) => match b {
                            Baseline::Watcher => post < bp || (post == bp && t < bi),
                            _ => post > bp || (post == bp && t < bi),
                        },
                    };
                    if better {
                        best = Some((post, t));
                    }
                }
                let Some((post, dst)) = best else { continue };
                let decision = self.baseline_decision(b, vm, src, dst, projected, post, now);
                self.decision_counts[action_index(Act::Migrate)] += 1;
                self.start_migration(vm, decision, now);
                projected -= demand / cores;
                removed += demand / cores;
                if b == Baseline::Watcher {
                    return;
                }
            }
        }
    }

    /// A MIGRATE decision with a full plan for a baseline's choice, so the same
    /// executor runs it and expected vs actual is measured the same way (expected =
    /// the target's utilization with the VM).
    #[allow(clippy::too_many_arguments)]
    fn baseline_decision(
        &self,
        b: Baseline,
        vm: usize,
        src: usize,
        dst: usize,
        current: f64,
        post: f64,
        now: TimeMs,
    ) -> ScalingDecision {
        use scalelab_engine::plan::{PlanInputs, build_plan};
        let v = &self.vms[vm];
        let bw = self.path_capacity_mbps(src, dst);
        let est = scalelab_engine::precopy::estimate(
            v.memory_mib as f64,
            v.dirty_rate * v.dirty_factor,
            mbps_to_mib_s(bw),
            &self.params,
        );
        let p = &self.policy;
        let plan = build_plan(
            &PlanInputs {
                vm_id: &v.id,
                target_node_id: &self.nodes[dst].id,
                vm_memory_mib: v.memory_mib,
                vm_share_of_target: v.demand_cores / self.nodes[dst].cores,
                current_utilization: current,
                expected_utilization: post,
                cpu_ceiling_frac: post.max(p.planner.target_cpu_ceiling),
                rollback_cpu_frac: p.migration.rollback_target_cpu_frac.max(post),
                memory_margin_mib: 0,
                min_bandwidth_mbps: p.planner.min_bandwidth_mbps,
                path_bandwidth_mbps: bw,
                estimate: est,
            },
            &p.migration,
        );
        ScalingDecision {
            vm_id: v.id.clone(),
            resource_type: ResourceType::Cpu,
            action: Act::Migrate,
            current_value: current,
            target_value: post,
            confidence: 1.0,
            reasoning: format!(
                "{}: host {} at {current:.2} is overloaded; moving {} ({} MiB) to {} ({post:.2} after)",
                b.name(),
                self.nodes[src].id,
                v.id,
                v.memory_mib,
                self.nodes[dst].id
            ),
            timestamp_ms: now as i64,
            target_node_id: Some(self.nodes[dst].id.clone()),
            migration_plan: Some(plan),
        }
    }

    /// The engine's view: every node, and the VMs it needs (candidates, anti-affinity
    /// members, candidates' service groups).
    fn snapshot_for(&mut self, candidates: &[usize]) -> (ClusterSnapshot, Vec<VmObservation>) {
        let mut include = vec![false; self.vms.len()];
        for &c in candidates {
            include[c] = true;
            if let Some(g) = self.vms[c].group {
                for &m in &self.groups[g].active {
                    include[m] = true;
                }
            }
        }
        for (i, v) in self.vms.iter().enumerate() {
            if v.anti_affinity.is_some() && v.alive() {
                include[i] = true;
            }
        }
        // Node snapshots are kept between rounds: only their numbers change, and
        // cloning 10,000 ids every round is measurable.
        let mut nodes = std::mem::take(&mut self.snapshot_nodes);
        if nodes.len() != self.nodes.len() {
            nodes = self
                .nodes
                .iter()
                .map(|n| NodeSnapshot {
                    id: n.id.clone(),
                    cores: n.cores,
                    cpu_utilization: 0.0,
                    memory_mib: n.memory_mib,
                    free_memory_mib: 0,
                    bandwidth_mbps: 0.0,
                    rack: self.racks[n.rack].clone(),
                    health: NodeHealth::Healthy,
                })
                .collect();
        }
        for (snap, n) in nodes.iter_mut().zip(&self.nodes) {
            snap.cpu_utilization = if n.up {
                (n.load_cores + n.reserved_cores) / n.cores
            } else {
                0.0
            };
            snap.free_memory_mib = n.free_mem_mib();
            snap.bandwidth_mbps = if n.up { n.nic_mbps * n.nic_factor } else { 0.0 };
            snap.health = if n.up {
                NodeHealth::Healthy
            } else {
                NodeHealth::Down
            };
        }
        let vms = (0..self.vms.len())
            .filter(|&i| include[i] && self.vms[i].node.is_some())
            .map(|i| {
                let v = &self.vms[i];
                VmSnapshot {
                    id: v.id.clone(),
                    node_id: self.nodes[v.node.unwrap_or(0)].id.clone(),
                    vcpus: v.vcpus,
                    memory_mib: v.memory_mib,
                    cpu_demand_cores: v.demand_cores.min(v.vcpus as f64),
                    dirty_rate_mib_s: v.dirty_rate * v.dirty_factor,
                    anti_affinity_group: v.anti_affinity.clone(),
                    service_group: v.group.map(|g| self.groups[g].name.clone()),
                }
            })
            .collect();
        let in_flight = self
            .active
            .iter()
            .map(|&m| {
                let mig = &self.migs[m as usize];
                InFlightMigration {
                    vm_id: self.vms[mig.vm].id.clone(),
                    source_node_id: self.nodes[mig.src].id.clone(),
                    target_node_id: self.nodes[mig.dst].id.clone(),
                }
            })
            .collect();
        // The engine sees one inter-rack figure: the narrowest link between any two
        // racks as it is now (degraded or partitioned links included).
        let nr = self.racks.len();
        let inter_rack = (0..nr)
            .flat_map(|a| (a + 1..nr).map(move |b| (a, b)))
            .filter_map(|(a, b)| self.link_capacity_mbps(a, b))
            .reduce(f64::min);
        let snapshot = ClusterSnapshot {
            nodes,
            vms,
            inter_rack_bandwidth_mbps: inter_rack,
            in_flight,
        };
        let step = self.sample_ms / 1000;
        let obs = candidates
            .iter()
            .map(|&c| {
                let v = &self.vms[c];
                let n = v.node.unwrap_or(0);
                let host = &self.nodes[n];
                VmObservation {
                    vm_id: v.id.clone(),
                    resources: vec![ResourceObservation {
                        resource_type: ResourceType::Cpu,
                        stats: v.hist.stats(),
                        forecast: v.forecaster.forecast(ResourceType::Cpu, step),
                    }],
                    host_cpu: Some(ResourceObservation {
                        resource_type: ResourceType::Cpu,
                        stats: host.hist.stats(),
                        forecast: host.forecaster.forecast(ResourceType::Cpu, step),
                    }),
                }
            })
            .collect();
        (snapshot, obs)
    }

    fn apply_scale(&mut self, vm: usize, req: ScaleRequest, now: TimeMs) {
        let ScaleRequest {
            action,
            target,
            current,
            confidence,
            reasoning,
        } = req;
        let cooldown = now.saturating_add(
            (self.sc.sim.scale_cooldown_intervals as u64).saturating_mul(self.control_ms),
        );
        let applied = match action {
            Act::ScaleUp | Act::ScaleDown => {
                let v = &self.vms[vm];
                let new = ((v.vcpus as f64 * target).ceil() as u32).max(1);
                let n = v.node.unwrap_or(0);
                let node = &self.nodes[n];
                let after = node.vcpus_placed - v.vcpus as u64 + new as u64;
                let fits =
                    new < v.vcpus || (after as f64) <= node.cores * self.sc.sim.vcpu_overcommit;
                if fits && new != v.vcpus {
                    let old = v.vcpus;
                    self.nodes[n].vcpus_placed = after;
                    self.vms[vm].vcpus = new;
                    self.vms[vm].cooldown_until_ms = cooldown;
                    let kind = if action == Act::ScaleUp {
                        EventKind::ScaleUp
                    } else {
                        EventKind::ScaleDown
                    };
                    self.event(
                        now,
                        kind,
                        Some(n),
                        Some(vm),
                        None,
                        format!("{old} -> {new} vCPUs"),
                    );
                    true
                } else {
                    false
                }
            }
            Act::ScaleOut => self.scale_out(vm, target as u32, now, cooldown),
            Act::ScaleIn => self.scale_in(vm, target as u32, now, cooldown),
            _ => false,
        };
        // Plain-rule decisions that could not be carried out repeat every round (a
        // full host refuses every scale-up): they are counted, not listed, which keeps
        // 100,000-VM records small. The engine's own decisions are always listed.
        if !applied && reasoning.is_none() {
            *self
                .metrics
                .unapplied_decisions_by_action
                .entry(action)
                .or_insert(0) += 1;
            return;
        }
        self.decisions.push(DecisionRecord {
            t_ms: now,
            vm: vm as u32,
            action,
            current_value: current,
            target_value: target,
            confidence,
            applied,
            migration: None,
            reasoning,
        });
    }

    fn scale_out(&mut self, vm: usize, to: u32, now: TimeMs, cooldown: TimeMs) -> bool {
        let Some(g) = self.vms[vm].group else {
            return false;
        };
        let to = to.min(self.sc.sim.max_replicas) as usize;
        let mut added = 0;
        while self.groups[g].active.len() < to {
            let template = self.groups[g].originals[0];
            let (mem, vcpus) = (self.vms[template].memory_mib, self.vms[template].base_vcpus);
            // Least-utilized live node with room, smallest index on ties.
            let node = (0..self.nodes.len())
                .filter(|&n| self.nodes[n].up && self.nodes[n].free_mem_mib() >= mem)
                .min_by(|&a, &b| self.nodes[a].util().total_cmp(&self.nodes[b].util()));
            let Some(node) = node else { break };
            let idx = self.vms.len();
            let id = format!("{}-r{}", self.groups[g].name, idx);
            let t = &self.vms[template];
            let new = VmRt {
                id,
                base_vcpus: vcpus,
                vcpus,
                memory_mib: mem,
                resident_frac: t.resident_frac,
                dirty_rate: t.dirty_rate,
                dirty_factor: 1.0,
                group: Some(g),
                anti_affinity: t.anti_affinity.clone(),
                node: None,
                status: VmStatus::Running,
                paused: false,
                hung_until_ms: 0,
                workload: None,
                own_level: 0.0,
                demand_cores: 0.0,
                hist: Ring::new(self.policy.window_samples),
                forecaster: Forecaster::new(&self.policy.forecast),
                stats: UtilStats::default(),
                summary: None,
                cooldown_until_ms: cooldown,
                migration: None,
                down_since_ms: 0,
            };
            self.vms.push(new);
            self.move_vm(idx, Some(node), now);
            self.nodes[node].used_mem_mib += mem;
            self.nodes[node].vcpus_placed += vcpus as u64;
            self.groups[g].active.push(idx);
            added += 1;
        }
        if added > 0 {
            let what = format!("+{added}");
            self.group_resized(g, vm, EventKind::ScaleOut, what, now, cooldown);
        }
        added > 0
    }

    /// A service group changed size: cooldown and an event.
    fn group_resized(
        &mut self,
        g: usize,
        vm: usize,
        kind: EventKind,
        change: String,
        now: TimeMs,
        cooldown: TimeMs,
    ) {
        self.groups[g].cooldown_until_ms = cooldown;
        let n = self.groups[g].active.len();
        let name = self.groups[g].name.clone();
        let detail = format!("{name}: {change} replica(s), now {n}");
        self.event(now, kind, None, Some(vm), None, detail);
    }

    fn scale_in(&mut self, vm: usize, to: u32, now: TimeMs, cooldown: TimeMs) -> bool {
        let Some(g) = self.vms[vm].group else {
            return false;
        };
        let to = (to.max(self.policy.min_replicas) as usize).max(1);
        let mut removed = 0;
        while self.groups[g].active.len() > to {
            // The newest replica that is not migrating leaves.
            let Some(pos) = self.groups[g].active.iter().rposition(|&m| {
                self.vms[m].migration.is_none() && self.vms[m].status == VmStatus::Running
            }) else {
                break;
            };
            let m = self.groups[g].active.remove(pos);
            self.vms[m].status = VmStatus::Removed;
            if let Some(n) = self.vms[m].node {
                self.nodes[n].used_mem_mib -= self.vms[m].memory_mib;
                self.nodes[n].vcpus_placed -= self.vms[m].vcpus as u64;
            }
            self.move_vm(m, None, now);
            removed += 1;
        }
        if removed > 0 {
            let what = format!("-{removed}");
            self.group_resized(g, vm, EventKind::ScaleIn, what, now, cooldown);
        }
        removed > 0
    }

    // ---- migrations ------------------------------------------------------------------------

    fn start_migration(&mut self, vm: usize, decision: ScalingDecision, now: TimeMs) {
        let (Some(plan), Some(target)) = (
            decision.migration_plan.clone(),
            decision.target_node_id.clone(),
        ) else {
            self.violation(format!(
                "MIGRATE decision for {} without plan or target",
                decision.vm_id
            ));
            return;
        };
        let Some(dst) = self.nodes.iter().position(|n| n.id == target) else {
            self.violation(format!("MIGRATE to unknown node {target}"));
            return;
        };
        let (Some(src), VmStatus::Running) = (self.vms[vm].node, self.vms[vm].status) else {
            self.violation(format!(
                "MIGRATE for {} which is not running on a node",
                decision.vm_id
            ));
            return;
        };
        let id = self.migs.len() as u32;
        let v = &self.vms[vm];
        let demand = v.demand_cores.min(v.vcpus as f64);
        let mem = v.memory_mib;
        // The plan was made on the round's snapshot; actions applied since (a scale out
        // placing replicas) may have used the memory it counted on.
        if self.nodes[dst].free_mem_mib() < mem || !self.nodes[dst].up {
            *self
                .metrics
                .unapplied_decisions_by_action
                .entry(Act::Migrate)
                .or_insert(0) += 1;
            return;
        }
        self.nodes[dst].held_mem_mib += mem;
        self.nodes[dst].reserved_cores += demand;
        self.nodes[src].migrations += 1;
        self.nodes[dst].migrations += 1;
        self.vms[vm].migration = Some(id);
        self.decisions.push(DecisionRecord {
            t_ms: now,
            vm: vm as u32,
            action: Act::Migrate,
            current_value: decision.current_value,
            target_value: decision.target_value,
            confidence: decision.confidence,
            applied: true,
            migration: Some(id),
            reasoning: None,
        });
        self.records.push(MigrationRecord {
            id,
            vm: vm as u32,
            vm_id: self.vms[vm].id.clone(),
            source: src as u32,
            target: dst as u32,
            started_ms: now,
            ended_ms: None,
            outcome: None,
            rollback_reason: None,
            expected_utilization: decision.target_value,
            source_before: decision.current_value,
            decision,
            steps: Vec::new(),
            precopy_rounds: 0,
            data_sent_mib: 0.0,
            downtime_ms: 0,
            switchover_ms: None,
            criteria: Vec::new(),
            actual_utilization: None,
            source_after: None,
        });
        self.migs.push(MigRt {
            vm,
            src,
            dst,
            plan,
            step: StepAction::PreMigrationValidation,
            step_timer: None,
            step_event: None,
            pause_check: None,
            transfer: None,
            round_volume_mib: 0.0,
            dirtied_mib: 0.0,
            rounds: 0,
            sent_mib: 0.0,
            pause_start_ms: None,
            switched: false,
            active: true,
            demand_reserved: demand,
            window_end_ms: 0,
            target_sum: 0.0,
            source_sum: 0.0,
            samples: 0,
            measuring: false,
        });
        self.active.push(id);
        let detail = format!("{} -> {}", self.nodes[src].id, self.nodes[dst].id);
        self.event(
            now,
            EventKind::MigrationStart,
            Some(src),
            Some(vm),
            Some(id),
            detail,
        );
        self.begin_step(id as usize, StepAction::PreMigrationValidation, now);
        self.q.schedule(
            now + (VALIDATION_EXPECTED_S * 1000.0) as u64,
            Ev::StepDone { mig: id },
        );
    }

    fn begin_step(&mut self, m: usize, step: StepAction, now: TimeMs) {
        let timeout_s = self.migs[m]
            .plan
            .step(step)
            .map(|s| s.timeout_seconds)
            .unwrap_or(u64::MAX / 4000);
        let mig = &mut self.migs[m];
        if let Some(t) = mig.step_timer.take() {
            self.q.cancel(t);
        }
        mig.step = step;
        mig.step_timer = Some(self.q.schedule_timer(
            now.saturating_add(timeout_s.saturating_mul(1000)),
            Ev::Timeout {
                mig: m as u32,
                step,
            },
        ));
        self.records[m].steps.push(StepRecord {
            action: step,
            start_ms: now,
            end_ms: None,
            timeout_s,
            outcome: None,
        });
    }

    fn end_step(&mut self, m: usize, now: TimeMs, outcome: StepOutcome) {
        if let Some(t) = self.migs[m].step_timer.take() {
            self.q.cancel(t);
        }
        if let Some(s) = self.records[m].steps.last_mut()
            && s.outcome.is_none()
        {
            s.end_ms = Some(now);
            s.outcome = Some(outcome);
            // PDM: CPU the VM lost while its memory was moving (CloudSim's 10 %).
            if matches!(
                s.action,
                StepAction::MemoryPreCopy | StepAction::StopAndCopy
            ) {
                let dt = (now - s.start_ms) as f64;
                let demand = self.vms[self.migs[m].vm].demand_cores;
                self.pdm_lost += self.sc.sim.migration_cpu_overhead_frac * demand * dt;
            }
        }
    }

    /// Fixed-duration steps and the resume after stop-and-copy.
    fn on_step_done(&mut self, m: usize, now: TimeMs) {
        if !self.migs[m].active {
            return;
        }
        let step = self.migs[m].step;
        if self.rng_fail.chance(self.sc.stochastic.step_failure_prob) {
            self.end_step(m, now, StepOutcome::Failed);
            self.abort(m, now, format!("step {} failed (injected)", step.as_str()));
            return;
        }
        match step {
            StepAction::PreMigrationValidation => {
                if let Some(reason) = self.validation_failure(m) {
                    self.end_step(m, now, StepOutcome::Failed);
                    self.abort(m, now, reason);
                    return;
                }
                self.end_step(m, now, StepOutcome::Ok);
                self.begin_step(m, StepAction::MemoryPreCopy, now);
                // The first round sends what the VM has touched: the trace's memory
                // series when it has one, else the group's declared fraction.
                let v = &self.vms[self.migs[m].vm];
                let resident = v
                    .workload
                    .as_ref()
                    .and_then(|w| w.resident_frac(now as f64 / 1000.0))
                    .unwrap_or(v.resident_frac)
                    .clamp(0.0, 1.0);
                let mem = v.memory_mib as f64 * resident;
                let mig = &mut self.migs[m];
                mig.round_volume_mib = mem;
                mig.dirtied_mib = 0.0;
                mig.transfer = Some(Transfer {
                    left_mib: mem,
                    rate_mib_s: 0.0,
                    last_ms: now,
                    timer: None,
                });
                self.reflow(now);
            }
            StepAction::StopAndCopy => self.switchover(m, now),
            StepAction::PostMigrationVerification => {
                let mig = &self.migs[m];
                let vm = &self.vms[mig.vm];
                if vm.hung_until_ms > now {
                    self.end_step(m, now, StepOutcome::Failed);
                    self.abort(m, now, "VM unresponsive on the target".into());
                    return;
                }
                self.end_step(m, now, StepOutcome::Ok);
                self.begin_step(m, StepAction::Cleanup, now);
                self.migs[m].step_event = Some(self.q.schedule(
                    now + (CLEANUP_EXPECTED_S * 1000.0) as u64,
                    Ev::StepDone { mig: m as u32 },
                ));
            }
            StepAction::Cleanup => {
                self.end_step(m, now, StepOutcome::Ok);
                let (vm, src) = (self.migs[m].vm, self.migs[m].src);
                let mem = self.vms[vm].memory_mib;
                self.nodes[src].held_mem_mib -= mem;
                self.finish_migration(m, now, Outcome::Completed, None);
            }
            StepAction::MemoryPreCopy => {}
        }
    }

    fn validation_failure(&self, m: usize) -> Option<String> {
        let mig = &self.migs[m];
        let (src, dst) = (&self.nodes[mig.src], &self.nodes[mig.dst]);
        if !dst.up {
            return Some(format!("validation: target {} is down", dst.id));
        }
        if !src.up {
            return Some(format!("validation: source {} is down", src.id));
        }
        if let Some(reason) = self.target_insufficient(m) {
            return Some(format!("validation: {reason}"));
        }
        if let Some(reason) = self.connectivity_lost(m) {
            return Some(format!("validation: {reason}"));
        }
        None
    }

    /// The plan's TargetInsufficient rollback condition, evaluated now.
    fn target_insufficient(&self, m: usize) -> Option<String> {
        let mig = &self.migs[m];
        let dst = &self.nodes[mig.dst];
        for c in &mig.plan.rollback_conditions {
            if let RollbackCondition::TargetInsufficient { limits } = c {
                let ceiling = limits.map_or(self.policy.migration.rollback_target_cpu_frac, |l| {
                    l.cpu_ceiling_frac
                });
                let with_vm = (dst.load_cores + dst.reserved_cores) / dst.cores;
                if with_vm > ceiling {
                    return Some(format!(
                        "target {} would run at {:.2} with the VM, above {:.2}",
                        dst.id, with_vm, ceiling
                    ));
                }
                if dst.used_mem_mib + dst.held_mem_mib > dst.memory_mib {
                    return Some(format!("target {} is out of memory", dst.id));
                }
            }
        }
        None
    }

    fn path_capacity_mbps(&self, src: usize, dst: usize) -> f64 {
        let (a, b) = (&self.nodes[src], &self.nodes[dst]);
        let bw = if a.up && b.up {
            (a.nic_mbps * a.nic_factor).min(b.nic_mbps * b.nic_factor)
        } else {
            0.0
        };
        match (a.rack != b.rack)
            .then(|| self.link_capacity_mbps(a.rack, b.rack))
            .flatten()
        {
            Some(link) => bw.min(link),
            None => bw,
        }
    }

    fn connectivity_lost(&self, m: usize) -> Option<String> {
        let mig = &self.migs[m];
        for c in &mig.plan.rollback_conditions {
            if let RollbackCondition::ConnectivityLost { min_bandwidth_mbps } = c {
                let min = min_bandwidth_mbps.unwrap_or(self.policy.migration.min_connectivity_mbps);
                let bw = self.path_capacity_mbps(mig.src, mig.dst);
                if bw < min {
                    return Some(format!(
                        "path {} -> {} has {:.0} Mbps, below {:.0}",
                        self.nodes[mig.src].id, self.nodes[mig.dst].id, bw, min
                    ));
                }
            }
        }
        None
    }

    /// Continuous evaluation of the rollback conditions of migrations before switchover.
    fn check_rollbacks(&mut self, now: TimeMs) {
        let active = self.active.clone();
        for m in active {
            let m = m as usize;
            if !self.migs[m].active || self.migs[m].switched {
                continue;
            }
            let reason = self
                .target_insufficient(m)
                .or_else(|| self.connectivity_lost(m));
            if let Some(r) = reason {
                self.end_step(m, now, StepOutcome::Aborted);
                self.abort(m, now, r);
            }
        }
    }

    /// Move every flow forward to `now` at its current rate (bytes sent, pages dirtied).
    fn settle(&mut self, now: TimeMs) {
        let wws = self.params.writable_working_set_frac;
        for &m in &self.active {
            let mig = &mut self.migs[m as usize];
            let Some(t) = &mut mig.transfer else { continue };
            let dt = (now - t.last_ms) as f64 / 1000.0;
            t.left_mib = (t.left_mib - t.rate_mib_s * dt).max(0.0);
            t.last_ms = now;
            if mig.step == StepAction::MemoryPreCopy {
                let v = &self.vms[mig.vm];
                mig.dirtied_mib = (mig.dirtied_mib + v.dirty_rate * v.dirty_factor * dt)
                    .min(wws * v.memory_mib as f64);
            }
        }
    }

    /// Capacity of the link between two racks now: `None` = unlimited.
    fn link_capacity_mbps(&self, ra: usize, rb: usize) -> Option<f64> {
        let k = pair_index(self.racks.len(), ra, rb);
        let f = self.link_factor[k];
        match self.link_mbps[k] {
            Some(l) => Some(l * f),
            None if f == 0.0 => Some(0.0),
            None => None,
        }
    }

    /// Settle every flow, give each its max-min fair share, reschedule completions.
    fn reflow(&mut self, now: TimeMs) {
        self.settle(now);
        let flows: Vec<Flow> = self
            .active
            .iter()
            .filter(|&&m| self.migs[m as usize].transfer.is_some())
            .map(|&m| {
                let mig = &self.migs[m as usize];
                let (ra, rb) = (self.nodes[mig.src].rack, self.nodes[mig.dst].rack);
                let link = (ra != rb)
                    .then(|| self.link_capacity_mbps(ra, rb))
                    .flatten()
                    .map(|cap| (pair_index(self.racks.len(), ra, rb), cap));
                Flow {
                    id: m as usize,
                    src_nic: mig.src,
                    dst_nic: mig.dst,
                    link,
                }
            })
            .collect();
        let nic_caps: Vec<f64> = self
            .nodes
            .iter()
            .map(|n| if n.up { n.nic_mbps * n.nic_factor } else { 0.0 })
            .collect();
        let rates = fair_rates(&flows, &nic_caps);
        for (f, rate_mbps) in flows.iter().zip(rates) {
            let m = f.id;
            let Some(t) = &mut self.migs[m].transfer else {
                continue;
            };
            if let Some(old) = t.timer.take() {
                self.q.cancel(old);
            }
            let rate = mbps_to_mib_s(rate_mbps);
            t.rate_mib_s = rate;
            if rate > 0.0 {
                let ms = (t.left_mib / rate * 1000.0).ceil();
                let at = now.saturating_add(if ms.is_finite() {
                    ms as u64
                } else {
                    u64::MAX / 4
                });
                t.timer = Some(
                    self.q
                        .schedule_timer(at, Ev::TransferDone { mig: m as u32 }),
                );
            }
        }
    }

    fn on_transfer_done(&mut self, m: usize, now: TimeMs) {
        if !self.migs[m].active || self.migs[m].transfer.is_none() {
            return;
        }
        self.settle(now);
        let vm = self.migs[m].vm;
        let mem = self.vms[vm].memory_mib as f64;
        let rate = self.migs[m].transfer.map_or(0.0, |t| t.rate_mib_s);
        match self.migs[m].step {
            StepAction::MemoryPreCopy => {
                let mig = &mut self.migs[m];
                mig.rounds += 1;
                mig.sent_mib += mig.round_volume_mib;
                let remainder = mig.dirtied_mib;
                let stop = self
                    .params
                    .stop_reason(mem, mig.rounds, mig.sent_mib, remainder, rate);
                if stop.is_some() {
                    self.records[m].precopy_rounds = self.migs[m].rounds;
                    self.end_step(m, now, StepOutcome::Ok);
                    self.begin_step(m, StepAction::StopAndCopy, now);
                    let mig = &mut self.migs[m];
                    mig.round_volume_mib = remainder;
                    mig.transfer = Some(Transfer {
                        left_mib: remainder,
                        rate_mib_s: 0.0,
                        last_ms: now,
                        timer: None,
                    });
                    mig.pause_start_ms = Some(now);
                    self.vms[vm].paused = true;
                    let max_pause = self.max_pause_ms(m);
                    self.migs[m].pause_check = Some(
                        self.q
                            .schedule_timer(now + max_pause + 1, Ev::PauseCheck { mig: m as u32 }),
                    );
                } else {
                    let mig = &mut self.migs[m];
                    mig.round_volume_mib = remainder;
                    mig.dirtied_mib = 0.0;
                    mig.transfer = Some(Transfer {
                        left_mib: remainder,
                        rate_mib_s: 0.0,
                        last_ms: now,
                        timer: None,
                    });
                }
                self.reflow(now);
            }
            StepAction::StopAndCopy => {
                let mig = &mut self.migs[m];
                mig.sent_mib += mig.round_volume_mib;
                mig.transfer = None;
                let resume = self.policy.migration.resume_ms;
                self.migs[m].step_event = Some(
                    self.q
                        .schedule(now + resume, Ev::StepDone { mig: m as u32 }),
                );
                self.reflow(now);
            }
            _ => {}
        }
    }

    fn max_pause_ms(&self, m: usize) -> u64 {
        self.migs[m]
            .plan
            .rollback_conditions
            .iter()
            .find_map(|c| match c {
                RollbackCondition::Unresponsive { max_pause_ms } => *max_pause_ms,
                _ => None,
            })
            .unwrap_or(self.policy.migration.max_unresponsive_ms)
    }

    fn on_pause_check(&mut self, m: usize, now: TimeMs) {
        let mig = &self.migs[m];
        if !mig.active || mig.switched || mig.step != StepAction::StopAndCopy {
            return;
        }
        let paused = now - mig.pause_start_ms.unwrap_or(now);
        self.end_step(m, now, StepOutcome::Aborted);
        self.abort(
            m,
            now,
            format!(
                "VM unresponsive: paused {paused} ms in stop-and-copy, over {} ms",
                self.max_pause_ms(m)
            ),
        );
    }

    /// The Unresponsive rollback condition for a hung VM.
    fn on_hang_check(&mut self, m: usize, now: TimeMs) {
        let mig = &self.migs[m];
        if !mig.active || self.vms[mig.vm].hung_until_ms <= now {
            return;
        }
        let max = self.max_pause_ms(m);
        self.end_step(m, now, StepOutcome::Aborted);
        self.abort(m, now, format!("VM unresponsive for over {max} ms"));
    }

    fn switchover(&mut self, m: usize, now: TimeMs) {
        let (vm, src, dst) = (self.migs[m].vm, self.migs[m].src, self.migs[m].dst);
        self.end_step(m, now, StepOutcome::Ok);
        if let Some(c) = self.migs[m].pause_check.take() {
            self.q.cancel(c);
        }
        let pause = now - self.migs[m].pause_start_ms.unwrap_or(now);
        let mem = self.vms[vm].memory_mib;
        let vcpus = self.vms[vm].vcpus as u64;
        // The VM now runs on the target; the source keeps its memory until cleanup.
        self.nodes[src].used_mem_mib -= mem;
        self.nodes[src].held_mem_mib += mem;
        self.nodes[src].vcpus_placed -= vcpus;
        self.nodes[dst].held_mem_mib -= mem;
        self.nodes[dst].used_mem_mib += mem;
        self.nodes[dst].vcpus_placed += vcpus;
        self.nodes[dst].reserved_cores -= self.migs[m].demand_reserved;
        self.migs[m].demand_reserved = 0.0;
        self.move_vm(vm, Some(dst), now);
        self.vms[vm].paused = false;
        let mig = &mut self.migs[m];
        mig.switched = true;
        mig.measuring = true;
        mig.window_end_ms = now.saturating_add(
            (self.sc.sim.actual_window_intervals as u64).saturating_mul(self.control_ms),
        );
        self.downtime_ms += pause;
        self.metrics.migration_downtime_ms += pause;
        let r = &mut self.records[m];
        r.downtime_ms = pause;
        r.switchover_ms = Some(now);
        r.data_sent_mib = self.migs[m].sent_mib;
        self.event(
            now,
            EventKind::MigrationSwitchover,
            Some(dst),
            Some(vm),
            Some(m as u32),
            format!("paused {pause} ms"),
        );
        // The VM's load (and the migration's overhead on both ends) moves with it.
        let used = self.vms[vm].used_cores();
        let overhead = self.sc.sim.migration_cpu_overhead_frac * self.vms[vm].demand_cores;
        self.nodes[src].load_cores = (self.nodes[src].load_cores - used - overhead).max(0.0);
        self.nodes[dst].load_cores = (self.nodes[dst].load_cores + used - overhead).max(0.0);
        self.begin_step(m, StepAction::PostMigrationVerification, now);
        self.migs[m].step_event = Some(self.q.schedule(
            now + (VERIFICATION_EXPECTED_S * 1000.0) as u64,
            Ev::StepDone { mig: m as u32 },
        ));
    }

    fn on_timeout(&mut self, m: usize, step: StepAction, now: TimeMs) {
        let mig = &self.migs[m];
        if !mig.active || mig.step != step {
            return;
        }
        self.migs[m].step_timer = None;
        let timeout = self.records[m].steps.last().map_or(0, |s| s.timeout_s);
        self.end_step(m, now, StepOutcome::TimedOut);
        self.abort(
            m,
            now,
            format!("step {} exceeded its {timeout} s timeout", step.as_str()),
        );
    }

    /// Stop a migration: before switchover it rolls back (the VM stays on the source);
    /// after, it fails with the VM on the target.
    fn abort(&mut self, m: usize, now: TimeMs, reason: String) {
        if !self.migs[m].active {
            return;
        }
        self.cancel_timers(m);
        let (vm, src, dst) = (self.migs[m].vm, self.migs[m].src, self.migs[m].dst);
        let mem = self.vms[vm].memory_mib;
        if self.migs[m].switched {
            // Source memory is released; the VM stays where it is.
            self.nodes[src].held_mem_mib -= mem;
            self.finish_migration(m, now, Outcome::FailedAfterSwitchover, Some(reason));
        } else {
            self.nodes[dst].held_mem_mib -= mem;
            self.nodes[dst].reserved_cores -= self.migs[m].demand_reserved;
            self.migs[m].demand_reserved = 0.0;
            if let Some(start) = self.migs[m].pause_start_ms {
                let pause = now - start;
                self.downtime_ms += pause;
                self.metrics.migration_downtime_ms += pause;
                self.records[m].downtime_ms = pause;
            }
            self.vms[vm].paused = false;
            self.records[m].precopy_rounds = self.migs[m].rounds;
            self.records[m].data_sent_mib = self.migs[m].sent_mib;
            self.event(
                now,
                EventKind::Rollback,
                Some(src),
                Some(vm),
                Some(m as u32),
                reason.clone(),
            );
            self.finish_migration(m, now, Outcome::RolledBack, Some(reason));
        }
    }

    fn cancel_timers(&mut self, m: usize) {
        let mig = &mut self.migs[m];
        let ids = [
            mig.step_timer.take(),
            mig.pause_check.take(),
            mig.transfer.as_mut().and_then(|t| t.timer.take()),
        ];
        mig.transfer = None;
        for id in ids.into_iter().flatten() {
            self.q.cancel(id);
        }
    }

    fn finish_migration(
        &mut self,
        m: usize,
        now: TimeMs,
        outcome: Outcome,
        reason: Option<String>,
    ) {
        let (vm, src, dst) = (self.migs[m].vm, self.migs[m].src, self.migs[m].dst);
        self.migs[m].active = false;
        self.active.retain(|&x| x as usize != m);
        self.nodes[src].migrations -= 1;
        self.nodes[dst].migrations -= 1;
        self.vms[vm].migration = None;
        let r = &mut self.records[m];
        if r.outcome.is_some() {
            let msg = format!("migration {m} got a second outcome {outcome:?}");
            self.violation(msg);
            return;
        }
        r.outcome = Some(outcome);
        r.ended_ms = Some(now);
        r.rollback_reason = reason;
        if r.precopy_rounds == 0 {
            r.precopy_rounds = self.migs[m].rounds;
        }
        if !self.migs[m].measuring {
            self.finalize_criteria(m, now);
        }
        let detail = outcome.as_str().to_string();
        self.event(
            now,
            EventKind::MigrationEnd,
            Some(dst),
            Some(vm),
            Some(m as u32),
            detail,
        );
        self.reflow(now);
    }

    /// Samples for the expected-vs-actual window after switchover.
    fn measure(&mut self, now: TimeMs) {
        for m in 0..self.migs.len() {
            let mig = &self.migs[m];
            if !mig.measuring {
                continue;
            }
            let (src, dst) = (mig.src, mig.dst);
            let end = mig.window_end_ms;
            if now > self.records[m].switchover_ms.unwrap_or(0) && now <= end {
                let t = self.nodes[dst].util();
                let s = self.nodes[src].util();
                let mig = &mut self.migs[m];
                mig.target_sum += t;
                mig.source_sum += s;
                mig.samples += 1;
            }
            if now >= end {
                self.close_window(m, now);
            }
        }
    }

    fn close_window(&mut self, m: usize, now: TimeMs) {
        let mig = &mut self.migs[m];
        mig.measuring = false;
        if mig.samples > 0 {
            let n = mig.samples as f64;
            self.records[m].actual_utilization = Some(mig.target_sum / n);
            self.records[m].source_after = Some(mig.source_sum / n);
        }
        if self.records[m].outcome.is_some() {
            self.finalize_criteria(m, now);
        }
    }

    fn finalize_criteria(&mut self, m: usize, now: TimeMs) {
        let plan = self.migs[m].plan.clone();
        let max_pause_default = self.policy.migration.max_unresponsive_ms;
        let r = &mut self.records[m];
        let end = r.ended_ms.unwrap_or(now);
        let total_s = (end - r.started_ms) as f64 / 1000.0;
        r.criteria = plan
            .success_criteria
            .iter()
            .map(|c| {
                let (passed, measured) = match c {
                    SuccessCriterion::RemainsResponsive { max_pause_ms } => {
                        let max = max_pause_ms.unwrap_or(max_pause_default);
                        let lost = r.outcome == Some(Outcome::DataLoss);
                        (
                            !lost && r.downtime_ms <= max,
                            format!("paused {} ms", r.downtime_ms),
                        )
                    }
                    SuccessCriterion::CompletesWithin { max_duration_s } => (
                        r.outcome == Some(Outcome::Completed) && total_s <= *max_duration_s as f64,
                        format!("{total_s:.1} s"),
                    ),
                    SuccessCriterion::UtilizationImproves {
                        min_improvement_pct,
                    } => match r.actual_utilization {
                        Some(a) if r.source_before > 0.0 => {
                            let pct = (r.source_before - a) / r.source_before * 100.0;
                            (pct >= *min_improvement_pct, format!("{pct:.1} %"))
                        }
                        _ => (false, "not measured".to_string()),
                    },
                    SuccessCriterion::NoDataLoss => (
                        r.outcome != Some(Outcome::DataLoss),
                        match r.outcome {
                            Some(Outcome::DataLoss) => "VM lost".to_string(),
                            _ => "no loss".to_string(),
                        },
                    ),
                };
                CriterionResult {
                    criterion: c.to_string(),
                    passed,
                    measured,
                }
            })
            .collect();
    }

    // ---- failures ----------------------------------------------------------------------------

    fn on_failure(&mut self, idx: usize, now: TimeMs, start: bool) {
        let f = self.sc.failures[idx].clone();
        let node_ix = |sim: &Self, name: &str| sim.nodes.iter().position(|n| n.id == name);
        let vm_ix = |sim: &Self, name: &str| sim.vms.iter().position(|v| v.id == name);
        let rack_pair = |sim: &Self, r: &[String; 2]| {
            let a = sim.racks.iter().position(|x| *x == r[0]).unwrap_or(0);
            let b = sim.racks.iter().position(|x| *x == r[1]).unwrap_or(0);
            pair_index(sim.racks.len(), a, b)
        };
        // User-given durations may be absurd: events past the end are simply never reached.
        let end_at = |d: f64| now.saturating_add((d * 1000.0).round() as u64);
        match &f {
            FailureSpec::NodeCrash {
                node,
                recover_after_s,
                ..
            } => {
                if let Some(n) = node_ix(self, node)
                    && start
                {
                    self.crash_node(n, now, "scheduled crash");
                    if let Some(r) = recover_after_s {
                        self.q
                            .schedule(end_at(*r), Ev::NodeRecover { node: n as u32 });
                    }
                }
            }
            FailureSpec::LinkDegrade {
                duration_s,
                factor,
                node,
                racks,
                ..
            } => {
                let (kind, f) = if start {
                    (EventKind::LinkDegrade, *factor)
                } else {
                    (EventKind::LinkRestore, 1.0)
                };
                let mut at_node = None;
                let what = if let Some(n) = node.as_deref().and_then(|n| node_ix(self, n)) {
                    self.nodes[n].nic_factor = f;
                    at_node = Some(n);
                    format!("NIC of {} at {:.0} %", self.nodes[n].id, f * 100.0)
                } else if let Some(r) = racks {
                    let k = rack_pair(self, r);
                    self.link_factor[k] = f;
                    format!("link {} - {} at {:.0} %", r[0], r[1], f * 100.0)
                } else {
                    String::new()
                };
                self.event(now, kind, at_node, None, None, what);
                if start {
                    self.q
                        .schedule(end_at(*duration_s), Ev::FailureEnd { idx: idx as u32 });
                }
                self.reflow(now);
                self.check_rollbacks(now);
            }
            FailureSpec::Partition {
                duration_s, racks, ..
            } => {
                let k = rack_pair(self, racks);
                self.link_factor[k] = if start { 0.0 } else { 1.0 };
                let kind = if start {
                    EventKind::Partition
                } else {
                    EventKind::PartitionHeal
                };
                self.event(
                    now,
                    kind,
                    None,
                    None,
                    None,
                    format!("{} - {}", racks[0], racks[1]),
                );
                if start {
                    self.q
                        .schedule(end_at(*duration_s), Ev::FailureEnd { idx: idx as u32 });
                }
                self.reflow(now);
                self.check_rollbacks(now);
            }
            FailureSpec::DirtyRateSpike {
                duration_s,
                vm,
                factor,
                ..
            } => {
                if let Some(v) = vm_ix(self, vm) {
                    // Dirtying so far counted at the old rate.
                    self.settle(now);
                    self.vms[v].dirty_factor = if start { *factor } else { 1.0 };
                    let kind = if start {
                        EventKind::DirtyRateSpike
                    } else {
                        EventKind::DirtyRateNormal
                    };
                    let node = self.vms[v].node;
                    self.event(
                        now,
                        kind,
                        node,
                        Some(v),
                        None,
                        format!("dirty rate x{}", self.vms[v].dirty_factor),
                    );
                    if start {
                        self.q
                            .schedule(end_at(*duration_s), Ev::FailureEnd { idx: idx as u32 });
                    }
                }
            }
            FailureSpec::LoadSpike {
                duration_s,
                node,
                extra_cores,
                ..
            } => {
                if let Some(n) = node_ix(self, node) {
                    let delta = if start { *extra_cores } else { -*extra_cores };
                    self.nodes[n].background_cores =
                        (self.nodes[n].background_cores + delta).max(0.0);
                    self.nodes[n].load_cores = (self.nodes[n].load_cores + delta).max(0.0);
                    let kind = if start {
                        EventKind::LoadSpike
                    } else {
                        EventKind::LoadSpikeEnd
                    };
                    self.event(now, kind, Some(n), None, None, format!("{delta:+} cores"));
                    if start {
                        self.q
                            .schedule(end_at(*duration_s), Ev::FailureEnd { idx: idx as u32 });
                    }
                    self.check_rollbacks(now);
                }
            }
            FailureSpec::VmHang { duration_s, vm, .. } => {
                if let Some(v) = vm_ix(self, vm) {
                    let node = self.vms[v].node;
                    if start {
                        let until = end_at(*duration_s);
                        self.vms[v].hung_until_ms = until;
                        self.event(
                            now,
                            EventKind::VmHang,
                            node,
                            Some(v),
                            None,
                            format!("for {duration_s} s"),
                        );
                        self.q.schedule(until, Ev::FailureEnd { idx: idx as u32 });
                        if let Some(m) = self.vms[v].migration {
                            let max = self.max_pause_ms(m as usize);
                            if (*duration_s * 1000.0) as u64 > max {
                                self.q.schedule(now + max + 1, Ev::HangCheck { mig: m });
                            }
                        }
                    } else {
                        self.event(now, EventKind::VmResume, node, Some(v), None, String::new());
                    }
                }
            }
        }
    }

    fn crash_node(&mut self, n: usize, now: TimeMs, why: &str) {
        if !self.nodes[n].up {
            return;
        }
        self.nodes[n].up = false;
        self.event(
            now,
            EventKind::NodeCrash,
            Some(n),
            None,
            None,
            why.to_string(),
        );
        // Migrations touching the node.
        let active = self.active.clone();
        for m in active {
            let m = m as usize;
            let (src, dst, step, switched, vm) = {
                let g = &self.migs[m];
                (g.src, g.dst, g.step, g.switched, g.vm)
            };
            if src == n && step == StepAction::StopAndCopy && !switched {
                // The VM was paused mid-copy on the dying source: its memory is gone.
                self.cancel_timers(m);
                let mem = self.vms[vm].memory_mib;
                self.nodes[dst].held_mem_mib -= mem;
                self.nodes[dst].reserved_cores -= self.migs[m].demand_reserved;
                self.migs[m].demand_reserved = 0.0;
                self.nodes[src].used_mem_mib -= mem;
                self.nodes[src].vcpus_placed -= self.vms[vm].vcpus as u64;
                let pause = now - self.migs[m].pause_start_ms.unwrap_or(now);
                self.records[m].downtime_ms = pause;
                self.move_vm(vm, None, now);
                let v = &mut self.vms[vm];
                v.status = VmStatus::Lost;
                v.paused = false;
                self.metrics.data_loss_events += 1;
                let reason = format!("source {} crashed during stop-and-copy", self.nodes[n].id);
                self.event(
                    now,
                    EventKind::DataLoss,
                    Some(n),
                    Some(vm),
                    Some(m as u32),
                    reason.clone(),
                );
                self.end_step(m, now, StepOutcome::Failed);
                self.finish_migration(m, now, Outcome::DataLoss, Some(reason));
            } else if (src == n || dst == n) && !switched {
                self.end_step(m, now, StepOutcome::Aborted);
                let which = if src == n { "source" } else { "target" };
                self.abort(m, now, format!("{which} {} crashed", self.nodes[n].id));
            } else if dst == n && switched {
                self.end_step(m, now, StepOutcome::Failed);
                self.event(
                    now,
                    EventKind::NodeCrash,
                    Some(n),
                    Some(vm),
                    Some(m as u32),
                    "target crashed after switchover".into(),
                );
                self.abort(
                    m,
                    now,
                    format!("target {} crashed after switchover", self.nodes[n].id),
                );
            }
        }
        let mut on_node = self.node_vms[n].clone();
        on_node.sort_unstable();
        for v in on_node {
            let v = v as usize;
            if self.vms[v].status == VmStatus::Running {
                self.vms[v].status = VmStatus::Down;
                self.vms[v].down_since_ms = now;
                if self.sc.sim.restart_elsewhere {
                    let at = now.saturating_add(self.sc.sim.restart_delay_s.saturating_mul(1000));
                    self.q.schedule(at, Ev::VmRestart { vm: v as u32 });
                }
            }
        }
        self.nodes[n].load_cores = 0.0;
        self.reflow(now);
    }

    fn recover_node(&mut self, n: usize, now: TimeMs) {
        if self.nodes[n].up {
            return;
        }
        self.nodes[n].up = true;
        for &v in &self.node_vms[n] {
            let v = &mut self.vms[v as usize];
            if v.status == VmStatus::Down {
                v.status = VmStatus::Running;
                self.downtime_ms += now - v.down_since_ms;
            }
        }
        self.event(
            now,
            EventKind::NodeRecover,
            Some(n),
            None,
            None,
            String::new(),
        );
        self.nodes[n].load_cores = self.nodes[n].background_cores
            + self.node_vms[n]
                .iter()
                .map(|&v| self.vms[v as usize].used_cores())
                .sum::<f64>();
        self.schedule_stochastic_crash(n);
        self.reflow(now);
    }

    fn restart_vm(&mut self, v: usize, now: TimeMs) {
        if self.vms[v].status != VmStatus::Down {
            return;
        }
        let mem = self.vms[v].memory_mib;
        let target = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].up && self.nodes[n].free_mem_mib() >= mem)
            .min_by(|&a, &b| self.nodes[a].util().total_cmp(&self.nodes[b].util()));
        let Some(t) = target else { return };
        let old = self.vms[v].node.unwrap_or(0);
        let vcpus = self.vms[v].vcpus as u64;
        self.nodes[old].used_mem_mib -= mem;
        self.nodes[old].vcpus_placed -= vcpus;
        self.nodes[t].used_mem_mib += mem;
        self.nodes[t].vcpus_placed += vcpus;
        self.move_vm(v, Some(t), now);
        self.vms[v].status = VmStatus::Running;
        self.downtime_ms += now - self.vms[v].down_since_ms;
        self.event(
            now,
            EventKind::VmRestart,
            Some(t),
            Some(v),
            None,
            format!("from {}", self.nodes[old].id),
        );
        let used = self.vms[v].used_cores();
        self.nodes[t].load_cores += used;
    }

    // ---- bookkeeping ---------------------------------------------------------------------------

    /// Change a VM's placement, keeping the per-node lists in step and recording the
    /// change for replay.
    fn move_vm(&mut self, vm: usize, to: Option<usize>, now: TimeMs) {
        if let Some(from) = self.vms[vm].node {
            let list = &mut self.node_vms[from];
            if let Some(p) = list.iter().position(|&x| x as usize == vm) {
                list.remove(p);
            }
        }
        if let Some(t) = to {
            self.node_vms[t].push(vm as u32);
        }
        self.vms[vm].node = to;
        self.placements.push(PlacementChange {
            t_ms: now,
            vm: vm as u32,
            node: to.map(|n| n as u32),
        });
    }

    fn event(
        &mut self,
        t_ms: TimeMs,
        kind: EventKind,
        node: Option<usize>,
        vm: Option<usize>,
        migration: Option<u32>,
        detail: String,
    ) {
        self.events.push(EventRecord {
            t_ms,
            kind,
            node: node.map(|n| n as u32),
            vm: vm.map(|v| v as u32),
            migration,
            detail,
        });
    }

    fn violation(&mut self, msg: String) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations
                .push(format!("t={} ms: {msg}", self.q.now()));
        }
    }

    fn check_invariants(&mut self) {
        let mut used = vec![0u64; self.nodes.len()];
        let mut msgs = Vec::new();
        for v in &self.vms {
            match (v.status, v.node) {
                (VmStatus::Lost | VmStatus::Removed, Some(n)) => msgs.push(format!(
                    "VM {} is gone but still on node {}",
                    v.id, self.nodes[n].id
                )),
                (VmStatus::Running | VmStatus::Down, None) => {
                    msgs.push(format!("VM {} is on no node and not lost", v.id))
                }
                (_, Some(n)) => used[n] += v.memory_mib,
                _ => {}
            }
        }
        for (n, list) in self.node_vms.iter().enumerate() {
            for &v in list {
                if self.vms[v as usize].node != Some(n) {
                    msgs.push(format!(
                        "VM {} listed on node {} but placed elsewhere",
                        self.vms[v as usize].id, self.nodes[n].id
                    ));
                }
            }
        }
        let listed: usize = self.node_vms.iter().map(Vec::len).sum();
        let placed = self.vms.iter().filter(|v| v.node.is_some()).count();
        if listed != placed {
            msgs.push(format!("{listed} VMs listed on nodes, {placed} placed"));
        }
        let mut held = vec![0u64; self.nodes.len()];
        for &m in &self.active {
            let g = &self.migs[m as usize];
            let mem = self.vms[g.vm].memory_mib;
            if g.switched {
                held[g.src] += mem;
            } else {
                held[g.dst] += mem;
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if used[i] != n.used_mem_mib {
                msgs.push(format!(
                    "node {} memory accounting {} != {}",
                    n.id, n.used_mem_mib, used[i]
                ));
            }
            if held[i] != n.held_mem_mib {
                msgs.push(format!(
                    "node {} held memory {} != {}",
                    n.id, n.held_mem_mib, held[i]
                ));
            }
            if n.used_mem_mib + n.held_mem_mib > n.memory_mib {
                msgs.push(format!(
                    "node {} reservations {} MiB exceed capacity {} MiB",
                    n.id,
                    n.used_mem_mib + n.held_mem_mib,
                    n.memory_mib
                ));
            }
            if n.reserved_cores < -1e-9 {
                msgs.push(format!("node {} has negative CPU reservation", n.id));
            }
        }
        for m in msgs {
            self.violation(m);
        }
    }

    fn finish(mut self) -> RunRecord {
        let end = self.duration_ms;
        // Whatever is still running ends "in progress"; open windows close with what
        // they measured.
        for m in self.active.clone() {
            let m = m as usize;
            self.cancel_timers(m);
            let r = &mut self.records[m];
            if let Some(s) = r.steps.last_mut()
                && s.outcome.is_none()
            {
                s.end_ms = Some(end);
            }
            // Release what the migration holds, as an abort would, so the final state
            // is consistent: target reservations before switchover, the source's copy
            // after.
            let (vm, src, dst) = (self.migs[m].vm, self.migs[m].src, self.migs[m].dst);
            let mem = self.vms[vm].memory_mib;
            if self.migs[m].switched {
                self.nodes[src].held_mem_mib -= mem;
            } else {
                self.nodes[dst].held_mem_mib -= mem;
                self.nodes[dst].reserved_cores -= self.migs[m].demand_reserved;
                self.migs[m].demand_reserved = 0.0;
                self.vms[vm].paused = false;
            }
            self.finish_migration(m, end, Outcome::InProgressAtEnd, None);
        }
        for m in 0..self.migs.len() {
            if self.migs[m].measuring {
                self.close_window(m, end);
            }
        }
        for v in &self.vms {
            if v.status == VmStatus::Down {
                self.downtime_ms += end - v.down_since_ms;
            }
        }
        if self.sc.sim.check_invariants {
            self.check_invariants();
        }
        let mut metrics = std::mem::take(&mut self.metrics);
        for (a, &n) in ScalingAction::ALL.iter().zip(&self.decision_counts) {
            if n > 0 {
                metrics.decisions_by_action.insert(*a, n);
            }
        }
        metrics.migrations = self.records.len() as u32;
        let mut missing = Vec::new();
        for r in &self.records {
            match r.outcome {
                Some(o) => *metrics.migrations_by_outcome.entry(o).or_insert(0) += 1,
                None => missing.push(format!("migration {} ended without an outcome", r.id)),
            }
        }
        for msg in missing {
            self.violation(msg);
        }
        let counted: u32 = metrics.migrations_by_outcome.values().sum();
        if counted != metrics.migrations {
            let msg = format!("{counted} outcomes for {} migrations", metrics.migrations);
            self.violation(msg);
        }
        let rolled = metrics
            .migrations_by_outcome
            .get(&Outcome::RolledBack)
            .copied()
            .unwrap_or(0);
        metrics.rollback_rate = if metrics.migrations > 0 {
            rolled as f64 / metrics.migrations as f64
        } else {
            0.0
        };
        let errors: Vec<f64> = self.records.iter().filter_map(|r| r.error()).collect();
        metrics.measured_migrations = errors.len() as u32;
        if !errors.is_empty() {
            let n = errors.len() as f64;
            metrics.expected_vs_actual_mae = Some(errors.iter().map(|e| e.abs()).sum::<f64>() / n);
            metrics.expected_vs_actual_bias = Some(errors.iter().sum::<f64>() / n);
        }
        metrics.overload_time_frac = if self.active_ms > 0.0 {
            self.overload_ms / self.active_ms
        } else {
            0.0
        };
        metrics.pdm = if self.pdm_requested > 0.0 {
            self.pdm_lost / self.pdm_requested
        } else {
            0.0
        };
        metrics.slav = metrics.overload_time_frac * metrics.pdm;
        metrics.total_downtime_ms = self.downtime_ms;
        metrics.energy_kwh = self.has_power.then(|| self.energy_j / 3.6e6);
        let sc = &self.sc;
        RunRecord {
            format: crate::record::FORMAT.to_string(),
            version: crate::record::VERSION,
            scenario: ScenarioInfo {
                name: sc.name.clone(),
                description: sc.description.clone(),
                content_hash: self.content_hash.clone(),
                seed: sc.seed,
                duration_ms: self.duration_ms,
                control_interval_ms: self.control_ms,
                sample_interval_ms: self.sample_ms,
                record_interval_ms: self.record_ms,
            },
            scalelab_version: env!("CARGO_PKG_VERSION").to_string(),
            policy: self.policy.clone(),
            nodes: self
                .nodes
                .iter()
                .map(|n| NodeInfo {
                    id: n.id.clone(),
                    rack: self.racks[n.rack].clone(),
                    cores: n.cores,
                    memory_mib: n.memory_mib,
                })
                .collect(),
            vms: self
                .vms
                .iter()
                .map(|v| VmInfo {
                    id: v.id.clone(),
                    service_group: v.group.map(|g| self.groups[g].name.clone()),
                    memory_mib: v.memory_mib,
                    vcpus: v.base_vcpus,
                })
                .collect(),
            metrics,
            migrations: self.records,
            decisions: self.decisions,
            events: self.events,
            placements: self.placements,
            series: self.series,
            invariant_violations: self.violations,
        }
    }
}

/// Linear interpolation of an 11-point SPECpower curve.
fn power_w(w: &[f64; 11], util: f64) -> f64 {
    let u = util.clamp(0.0, 1.0) * 10.0;
    let i = (u.floor() as usize).min(9);
    let f = u - i as f64;
    w[i] + (w[i + 1] - w[i]) * f
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_NODES: &str = r#"
name = "t"
duration_s = 600
[[nodes]]
name = "n"
count = 2
cores = 8
memory_mib = 16384
nic_mbps = 1000
[[vms]]
name = "v"
count = 2
vcpus = 2
memory_mib = 4096
workload = { kind = "constant", level = 0.5 }
"#;

    fn sim() -> Simulation {
        let sc = Scenario::from_toml_str(TWO_NODES).unwrap();
        Simulation::new(sc, "h".into(), None).unwrap()
    }

    #[test]
    fn the_checker_sees_broken_memory_accounting() {
        let mut s = sim();
        s.check_invariants();
        assert!(s.violations.is_empty(), "{:?}", s.violations);
        s.nodes[0].used_mem_mib += 1;
        s.check_invariants();
        assert!(s.violations.iter().any(|v| v.contains("memory accounting")));
    }

    #[test]
    fn the_checker_sees_a_vm_on_no_node_and_overcommitted_reservations() {
        let mut s = sim();
        s.vms[0].node = None;
        s.nodes[1].held_mem_mib = 1 << 30;
        s.check_invariants();
        assert!(s.violations.iter().any(|v| v.contains("on no node")));
        assert!(s.violations.iter().any(|v| v.contains("exceed capacity")));
    }

    #[test]
    fn a_second_outcome_is_a_violation() {
        let mut s = sim();
        // Forge one finished migration and finish it again.
        s.records.push(MigrationRecord {
            id: 0,
            vm: 0,
            vm_id: "v-0".into(),
            source: 0,
            target: 1,
            started_ms: 0,
            ended_ms: Some(1),
            outcome: Some(Outcome::Completed),
            rollback_reason: None,
            decision: ScalingDecision {
                vm_id: "v-0".into(),
                resource_type: ResourceType::Cpu,
                action: Act::Migrate,
                current_value: 0.8,
                target_value: 0.5,
                confidence: 1.0,
                reasoning: String::new(),
                timestamp_ms: 0,
                target_node_id: None,
                migration_plan: None,
            },
            steps: vec![],
            precopy_rounds: 0,
            data_sent_mib: 0.0,
            downtime_ms: 0,
            switchover_ms: None,
            criteria: vec![],
            expected_utilization: 0.5,
            actual_utilization: None,
            source_before: 0.8,
            source_after: None,
        });
        s.migs.push(MigRt {
            vm: 0,
            src: 0,
            dst: 1,
            plan: sample_plan(),
            step: StepAction::Cleanup,
            step_timer: None,
            step_event: None,
            pause_check: None,
            transfer: None,
            round_volume_mib: 0.0,
            dirtied_mib: 0.0,
            rounds: 0,
            sent_mib: 0.0,
            pause_start_ms: None,
            switched: true,
            active: true,
            demand_reserved: 0.0,
            window_end_ms: 0,
            target_sum: 0.0,
            source_sum: 0.0,
            samples: 0,
            measuring: false,
        });
        s.nodes[0].migrations = 1;
        s.nodes[1].migrations = 1;
        s.finish_migration(0, 5, Outcome::RolledBack, None);
        assert!(s.violations.iter().any(|v| v.contains("second outcome")));
        assert_eq!(s.records[0].outcome, Some(Outcome::Completed));
    }

    fn sample_plan() -> MigrationPlan {
        use scalelab_engine::plan::{PlanInputs, build_plan};
        use scalelab_engine::precopy::estimate;
        let cfg = scalelab_engine::policy::MigrationConfig::default();
        build_plan(
            &PlanInputs {
                vm_id: "v-0",
                target_node_id: "n-1",
                vm_memory_mib: 4096,
                vm_share_of_target: 0.1,
                current_utilization: 0.8,
                expected_utilization: 0.5,
                cpu_ceiling_frac: 0.7,
                rollback_cpu_frac: 0.9,
                memory_margin_mib: 2048,
                min_bandwidth_mbps: 100.0,
                path_bandwidth_mbps: 1000.0,
                estimate: estimate(4096.0, 1.0, 100.0, &PreCopyParams::from(&cfg)),
            },
            &cfg,
        )
    }

    #[test]
    fn power_curve_interpolates() {
        let w = [
            0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
        ];
        assert_eq!(power_w(&w, 0.0), 0.0);
        assert!((power_w(&w, 0.55) - 55.0).abs() < 1e-9);
        assert_eq!(power_w(&w, 1.7), 100.0);
    }

    #[test]
    fn ring_stats_cover_the_window() {
        for cap in [3, INLINE_WINDOW + 1] {
            let mut r = Ring::new(cap);
            let xs: Vec<f64> = (0..cap + 1).map(|i| (i as f64 * 0.37) % 1.0).collect();
            for &x in &xs {
                r.push(x);
            }
            let window = &xs[1..];
            let s = r.stats();
            assert_eq!(s.current, *xs.last().unwrap());
            assert_eq!(s.peak, window.iter().copied().fold(f64::MIN, f64::max));
            let avg = window.iter().sum::<f64>() / cap as f64;
            assert!((s.avg - avg).abs() < 1e-12);
        }
    }
}
