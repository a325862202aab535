//! The simulation: a discrete-event loop over one scenario and seed.
//!
//! Time advances in integer milliseconds. One `Tick` event per sample interval samples
//! every workload, recomputes node loads, feeds the forecasters and accounts metrics
//! for the interval that just ended (loads are piecewise constant between ticks); every
//! control interval the tick also runs the engine. Migrations, failures and timeouts
//! are their own events. Loops over VMs and nodes run in index order and no hash map is
//! ever iterated, so a run is a pure function of the scenario and seed.
//!
//! One file per concern, each an `impl Simulation` block or a type of its own:
//!
//! | file | holds |
//! |---|---|
//! | `events.rs` | the event enum: everything the queue can deliver |
//! | `state.rs` | cluster state: nodes, VMs, groups, racks and links; placement, paths, where a new VM goes |
//! | `ids.rs` | typed migration ids (`MigId`) indexing the executor's vectors |
//! | `ring.rs` | the fixed window of recent samples each node and VM keeps |
//! | `build.rs` | building the cluster from a scenario (placement at time 0) |
//! | `sampling.rs` | sampling workloads every tick, and accounting the interval that ended |
//! | `control.rs` | the engine's control round (triage, planner round, scaling rule) |
//! | `baseline.rs` | the control round of a reference policy instead of the engine |
//! | `scaling.rs` | carrying out scale up / down / out / in |
//! | `executor/` | the migration state machine (a `Phase` per migration), the memory / CPU it holds on its nodes (hold, switch, release), transfers, rollback conditions and validation, expected vs actual |
//! | `failures.rs` | injected and stochastic failures, crashes, recoveries, restarts |
//! | `lifecycle.rs` | VMs arriving (placed by the policy, or refused) and departing during the run |
//! | `power.rs` | power states: empty nodes switched off, sleeping nodes woken for a placement, boots |
//! | `journal.rs` | what the run writes down: decisions, events, placements, series, violations |
//! | `invariants.rs` | the invariant checker run after every event |
//! | `finish.rs` | closing the run into a [`RunRecord`] |
//!
//! Dependencies point one way: the control and baseline rounds call scaling and the
//! executor; failures call the executor; the executor calls only the cluster state and
//! the journal, never a control round.

mod baseline;
mod build;
pub(crate) use build::group_trace;
mod control;
mod events;
mod executor;
mod failures;
mod finish;
mod ids;
mod invariants;
mod journal;
mod lifecycle;
mod power;
mod ring;
mod sampling;
mod scaling;
mod state;
#[cfg(test)]
mod tests;

use scalelab_engine::cluster::{
    ClusterSnapshot, InFlightMigration, NodeHealth, NodeSnapshot, VmSnapshot,
};
use scalelab_engine::engine::{Engine, ResourceObservation, VmObservation};
use scalelab_engine::forecast::Forecaster;
use scalelab_engine::model::{ResourceType, ScalingAction, ScalingDecision};
use scalelab_engine::plan::{
    MigrationPlan, NEVER_S, RollbackCondition, StepAction, SuccessCriterion,
};
use scalelab_engine::precopy::{PreCopyEstimate, PreCopyParams, Throttle, mbps_to_mib_s};
use scalelab_engine::rules::{ForecastSummary, MigrationCheck, UtilStats, scaling_rule};
use scalelab_engine::triage::{Triage, VmView, host_check, triage};
use scalelab_engine::{PolicyConfig, ScalingAction as Act};

use crate::baselines::Baseline;
use crate::network::{Flow, fair_rates};
use crate::queue::{EventId, EventQueue, TimeMs};
use crate::record::{
    CriterionResult, DecisionRecord, EventKind, EventRecord, MigrationRecord, NodeInfo, Outcome,
    PlacementChange, RunMetrics, RunRecord, ScenarioInfo, Series, StepOutcome, StepRecord, VmInfo,
    node_state,
};
use crate::rng::{Pcg32, derive, stream};
use crate::scenario::{FailureDistribution, FailureSpec, Scenario, member_name};
use crate::workload::{Workload, WorkloadSpec};
use sampling::power_w;

use events::Ev;
use executor::{MigRt, Phase};
use ids::MigId;
use journal::action_index;
use ring::Ring;
use scaling::ScaleRequest;
use state::{GroupRt, NodeRt, PowerState, REF_MIPS, VmRt, VmShape, VmStatus, pair_index};

/// Everything the simulator can refuse before it starts.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Placement(String),
    #[error("{0}")]
    Trace(String),
}

/// One run of one scenario. The fields are grouped by the file that owns them.
#[derive(Debug)]
pub struct Simulation {
    // -- the run's inputs and clock (build.rs, this file)
    sc: Scenario,
    content_hash: String,
    engine: Engine,
    policy: PolicyConfig,
    params: PreCopyParams,
    q: EventQueue<Ev>,
    duration_ms: TimeMs,
    sample_ms: TimeMs,
    control_ms: TimeMs,
    record_ms: TimeMs,
    last_tick_ms: TimeMs,
    last_event_ms: TimeMs,
    /// The stochastic crash process (see [`crate::rng::stream`]).
    rng_crash: Pcg32,
    /// Injected step failures.
    rng_steps: Pcg32,
    /// Durations of validation, verification and cleanup.
    rng_durations: Pcg32,
    /// A baseline's random VM selection.
    rng_selection: Pcg32,

    // -- cluster state (state.rs)
    nodes: Vec<NodeRt>,
    vms: Vec<VmRt>,
    groups: Vec<GroupRt>,
    racks: Vec<String>,
    /// Inter-rack link bandwidth by rack pair (a < b); `None` = unlimited.
    link_mbps: Vec<Option<f64>>,
    link_factor: Vec<f64>,
    /// VMs placed on each node (lost and removed ones are on none), so a crash or a
    /// recovery touches its node's VMs instead of scanning all of them.
    node_vms: Vec<Vec<u32>>,
    /// The engine's node snapshots, kept between rounds (control.rs).
    snapshot_nodes: Vec<NodeSnapshot>,

    // -- the executor (executor/)
    migs: Vec<MigRt>,
    records: Vec<MigrationRecord>,
    /// Migrations in flight, in start order.
    active: Vec<MigId>,
    /// An [`Ev::RollbackCheck`] is queued.
    rollback_check_pending: bool,

    // -- the journal (journal.rs)
    decisions: Vec<DecisionRecord>,
    events: Vec<EventRecord>,
    placements: Vec<PlacementChange>,
    series: Series,
    violations: Vec<String>,
    metrics: RunMetrics,
    /// Decisions by action, indexed like [`ScalingAction::ALL`] (a map lookup per VM
    /// per round is measurable at 100,000 VMs).
    decision_counts: [u64; 6],

    // -- accounting (sampling.rs)
    active_ms: f64,
    overload_ms: f64,
    energy_j: f64,
    has_power: bool,
    pdm_lost: f64,
    pdm_requested: f64,
    downtime_ms: u64,
    /// CPU demand of running VMs at the last tick (for PDM's denominator).
    running_demand_cores: f64,
}

impl Simulation {
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
                Ev::StepDone { mig } => self.on_step_done(mig, t),
                Ev::TransferDone { mig } => self.on_transfer_done(mig, t),
                Ev::Timeout { mig, step } => self.on_timeout(mig, step, t),
                Ev::Deadline { mig } => self.on_deadline(mig, t),
                Ev::RollbackCheck => {
                    self.rollback_check_pending = false;
                    self.check_rollbacks(t);
                }
                Ev::PauseCheck { mig } => self.on_pause_check(mig, t),
                Ev::HangCheck { mig } => self.on_hang_check(mig, t),
                Ev::FailureStart { idx } => self.on_failure(idx as usize, t, true),
                Ev::FailureEnd { idx } => self.on_failure(idx as usize, t, false),
                Ev::NodeRecover { node } => self.recover_node(node as usize, t),
                Ev::StochasticCrash { node } => {
                    let n = node as usize;
                    if self.nodes[n].asleep() {
                        // An off node does not fail: its failure clock starts again.
                        self.schedule_stochastic_crash(n);
                    } else if self.nodes[n].up {
                        self.crash_node(n, t, "stochastic failure (MTBF)");
                        let mttr = self.nodes[n].mttr_s;
                        let dt = self.rng_crash.exponential(mttr);
                        self.q.schedule(
                            t.saturating_add((dt * 1000.0).round().max(1.0) as u64),
                            Ev::NodeRecover { node },
                        );
                    }
                }
                Ev::VmRestart { vm } => self.restart_vm(vm as usize, t),
                Ev::NodeBooted { node } => self.node_booted(node as usize, t),
                Ev::VmArrive { vm } => self.arrive_vm(vm as usize, t),
                Ev::VmDepart { vm } => self.depart_vm(vm as usize, t),
            }
            if self.sc.sim.check_invariants {
                self.check_invariants();
            }
        }
        progress(self.duration_ms, self.duration_ms);
        self.finish()
    }

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
}
