//! The CloudSim-compatible profile: a scenario with `[compat] profile = "cloudsim"`
//! runs under CloudSim 3.0.3's model instead of scalelab's, so that its numbers can be
//! checked against CloudSim's published PlanetLab experiment (Beloglazov & Buyya,
//! CCPE 2012). Item by item, what the profile changes (the reference is
//! `../shared/reference/cloudsim-planetlab/README.md` and CloudSim's own classes):
//!
//! | item | CloudSim profile | scalelab's model |
//! |---|---|---|
//! | time | an update every scheduling interval, 0.1 s after the boundary (when CloudSim's cloudlets start), and at every migration's end | ticks on the boundary, events in between |
//! | demand | the trace value, linear between samples, times the VM's MIPS | held between samples, in cores |
//! | CPU | cores of `core_mips` MIPS; a vCPU gets at most one core; an over-subscribed host scales every VM down alike | cores shared by demand, in cores of 1,000 MIPS when speeds are given (a vCPU capped at one host core likewise) |
//! | migration | one step of RAM / (NIC / 2), no sharing, no downtime, never fails; or, with `compat.migrations = "precopy"`, scalelab's migration model (see `live.rs`) | five-step plans, pre-copy rounds over shared links |
//! | CPU while migrating | the VM gets 90 % of its MIPS on the source, 10 % are allocated on the target | `migration_cpu_overhead_frac` on both |
//! | memory | checked when a VM is first placed only | held and checked at every step |
//! | power | SPECpower curve, linear in time between updates; a host at 0 % draws nothing | per sample; idle power while up |
//! | hosts | a host left with nothing to run is off (0 W) and counted as a shutdown; on again when given a VM, after the node's `boot_s` (a placement waits, a migration's time includes it) and with its `boot_energy_j` per power-on, both 0 by default as in CloudSim | always on, unless `[power] switch_off_empty` |
//! | lifecycle | VMs arrive and leave on schedule (`arrive_s`, `depart_s`) or with their trace (`trace_lifecycle`), placed by the policy on arrival or refused | the same, placed by the policy's rule for a new VM; a VM leaving mid-migration leaves when it ends |
//! | finished VMs | a VM asking for exactly 0 MIPS at an update has finished and leaves (`compat.zero_demand_finishes`) | a VM at 0 % stays |
//! | SLATAH | time an active host gets less than it asks for, over active host time | time above 100 % over node time |
//! | PDM | MIPS a migrating VM asked for but did not get, over all MIPS asked for | CPU lost to overhead over CPU asked |
//!
//! The policies are the baselines (`sim.baseline`, `sim.baseline_parameter`,
//! `sim.vm_selection`) with CloudSim's underload consolidation, or, without a
//! baseline, the engine (`engine.rs`, held to the same rules); initial placement is
//! the policy's own power-aware best fit, VM by VM, each asking for its full size.
//! A VM placed in a round can be moved again in the same round (CloudSim does not
//! exclude the targets of overload moves from consolidation); this is reproduced
//! (under scalelab's migration model such a VM migrates once, to its last target).

mod engine;
mod live;
#[cfg(test)]
mod live_tests;
mod model;
mod policy;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use scalelab_engine::ScalingAction;
use scalelab_engine::model::{ResourceType, ScalingDecision};

use crate::baselines::Baseline;
use crate::record::{
    EventKind, EventRecord, MigrationRecord, NodeInfo, Outcome, PlacementChange, RunMetrics,
    RunRecord, ScenarioInfo, Series, VmInfo, node_state,
};
use crate::rng::{Pcg32, derive, stream};
use crate::scenario::{CompatMigrations, Scenario, member_name};
use crate::sim::SimError;
use crate::workload::{TraceFormat, Workload, WorkloadSpec};

use model::{Cluster, Host, Vm, power_w};
pub use policy::{Move, Policy};

/// CloudSim starts its cloudlets (and so its updates) this long after each boundary.
pub const UPDATE_OFFSET_S: f64 = 0.1;

/// `vm.getRam() / (host.getBw() / (2 * 8000))`: half the link, RAM in MB, link in
/// kbit/s.
pub fn migration_time_s(ram_mib: u64, bw_kbps: f64) -> f64 {
    ram_mib as f64 / (bw_kbps / (2.0 * 8000.0))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ev {
    Tick,
    Migrate {
        vm: usize,
        target: usize,
        mig: usize,
    },
    /// The next event of a migration under scalelab's pre-copy model; stale once the
    /// migration's `version` moved on.
    Live {
        mig: usize,
        version: u32,
    },
    /// A VM that arrived for a switched-off host starts on it, now booted.
    Booted {
        vm: usize,
        host: usize,
    },
}

/// The event queue: by time, then by the order events were sent (CloudSim's
/// `FutureQueue`).
#[derive(Debug, Default)]
struct Queue {
    items: std::collections::BTreeMap<(u64, u64), (f64, Ev)>,
    seq: u64,
}

impl Queue {
    fn push(&mut self, t: f64, ev: Ev) {
        self.seq += 1;
        // Times are non-negative: their bit patterns order as the numbers do.
        self.items.insert((t.to_bits(), self.seq), (t, ev));
    }
    fn pop(&mut self) -> Option<(f64, Ev)> {
        self.items.pop_first().map(|(_, v)| v)
    }
    fn peek(&self) -> Option<(f64, Ev)> {
        self.items.first_key_value().map(|(_, v)| *v)
    }
}

/// The datacenter: CloudSim's `PowerDatacenter` loop over a [`Cluster`].
struct Dc {
    c: Cluster,
    policy: Policy,
    migrate: bool,
    zero_finishes: bool,
    rng: Pcg32,
    q: Queue,
    limit_s: f64,
    last_process: f64,
    /// Per host: when its energy was last integrated (its last update).
    host_t: Vec<f64>,
    /// Per host: boot time and energy (nodes' `boot_s`, `boot_energy_j`), and when a
    /// boot under way ends.
    boot_s: Vec<f64>,
    boot_j: Vec<f64>,
    booting: Vec<f64>,
    energy_ws: f64,
    node_ids: Vec<String>,
    vm_ids: Vec<String>,
    migs: Vec<MigrationRecord>,
    events: Vec<EventRecord>,
    placements: Vec<PlacementChange>,
    series: Series,
    record_every: u64,
    ticks: u64,
    vm_ticks: u64,
    departures: u32,
    refused: u32,
    was_active: Vec<bool>,
    /// Hosts a migration's end changed since the last full update.
    touched: Vec<usize>,
    /// Migrations ended since the last update, whose hosts' utilization after is
    /// measured by the next update.
    ended: Vec<usize>,
    /// Per VM: when it arrives (0 = from the start) and when it leaves.
    schedule: Vec<(f64, Option<f64>)>,
    arrivals: u32,
    /// scalelab's pre-copy migrations (`compat.migrations = "precopy"`), else CloudSim's.
    live: Option<live::LiveState>,
    /// The engine in place of a baseline (no `sim.baseline`), and the decisions of its
    /// last round by VM, for the records of the migrations they start.
    engine: Option<engine::EngineRound>,
    engine_decisions: BTreeMap<usize, ScalingDecision>,
}

fn ms(t: f64) -> u64 {
    (t * 1000.0).round().max(0.0) as u64
}

/// The policy a CloudSim-profile scenario runs.
pub fn policy_of(sc: &Scenario) -> Policy {
    let detect = sc.sim.baseline.unwrap_or(Baseline::NoMigration);
    Policy {
        detect,
        parameter: sc
            .sim
            .baseline_parameter
            .unwrap_or(detect.default_parameter()),
        selection: sc.sim.vm_selection,
        consolidate: detect != Baseline::NoMigration,
    }
}

/// Run a validated CloudSim-profile scenario whose traces are loaded.
pub fn run(
    sc: &Scenario,
    content_hash: String,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RunRecord, SimError> {
    let interval_s = sc.sample_interval_s() as f64;
    let samples = (sc.duration_s / sc.sample_interval_s()) as usize;
    let mut node_ids = Vec::new();
    let mut hosts = Vec::new();
    let mut kinds = Vec::new();
    let (mut boot_s, mut boot_j) = (Vec::new(), Vec::new());
    for (gi, i) in sc.node_members() {
        let g = &sc.nodes[gi];
        node_ids.push(member_name(&g.name, g.count, i));
        boot_s.push(g.boot_s.unwrap_or(0.0));
        boot_j.push(g.boot_energy_j.unwrap_or(0.0));
        let pe_mips = g.core_mips.unwrap_or(1000.0);
        let power = g
            .power
            .as_ref()
            .and_then(|p| p.watts())
            .unwrap_or([0.0; 11]);
        let shape = (
            g.cores.to_bits(),
            pe_mips.to_bits(),
            g.memory_mib,
            g.nic_mbps.to_bits(),
            power.map(f64::to_bits),
        );
        let kind = match kinds.iter().position(|k| *k == shape) {
            Some(k) => k,
            None => {
                kinds.push(shape);
                kinds.len() - 1
            }
        } as u32;
        hosts.push(Host::new(
            kind,
            g.cores.round() as u32,
            pe_mips,
            g.memory_mib,
            g.nic_mbps * 1000.0,
            power,
        ));
    }
    let mut vm_ids = Vec::new();
    let mut vms = Vec::new();
    let mut schedule = Vec::new();
    for (gi, g) in sc.vms.iter().enumerate() {
        let spec = std::sync::Arc::new(g.workload.clone());
        let exact_percent = matches!(&g.workload,
            WorkloadSpec::Trace(t) if t.format == Some(TraceFormat::Planetlab));
        crate::sim::group_trace(gi, g)?;
        for i in 0..g.count {
            let idx = vms.len();
            vm_ids.push(member_name(&g.name, g.count, i));
            let rng = Pcg32::new(derive(sc.seed, idx as u64 + 1), 1);
            let mut w = Workload::trace_member(spec.clone(), i as usize, rng);
            // One value per interval, as CloudSim reads a trace, and the 0 it reads
            // past the end.
            let mut data: Vec<f64> = (0..samples)
                .map(|k| {
                    let v = w.sample(k as f64 * interval_s).max(0.0);
                    // PlanetLab readings are whole percents: undo the f32 of the loader
                    // so that demand is the same double CloudSim computes (v / 100.0).
                    if exact_percent {
                        (v * 100.0).round() / 100.0
                    } else {
                        v
                    }
                })
                .collect();
            data.push(0.0);
            let mips = g.mips.unwrap_or(1000.0);
            vms.push(Vm::new(mips, g.vcpus, g.memory_mib, 0.0, data));
            schedule.push(g.lifetime_s(w.trace_vm().map(|(t, _)| t.span_s), sc.duration_s));
        }
    }
    let live = (sc.compat.as_ref().map(|c| c.migrations) == Some(CompatMigrations::Precopy))
        .then(|| live::LiveState::new(sc));
    let policy = policy_of(sc);
    let zero_finishes = sc.compat.as_ref().is_some_and(|c| c.zero_demand_finishes);
    let n_hosts = hosts.len();
    let mut dc = Dc {
        c: Cluster {
            hosts,
            vms,
            interval_s,
        },
        policy,
        migrate: policy.detect != Baseline::NoMigration || sc.sim.baseline.is_none(),
        zero_finishes,
        rng: Pcg32::new(derive(sc.seed, stream::STEP_FAILURES), 11),
        q: Queue::default(),
        limit_s: sc.duration_s as f64,
        last_process: 0.0,
        host_t: vec![0.0; n_hosts],
        boot_s,
        boot_j,
        booting: vec![0.0; n_hosts],
        energy_ws: 0.0,
        node_ids,
        vm_ids,
        migs: Vec::new(),
        events: Vec::new(),
        placements: Vec::new(),
        series: Series {
            interval_ms: sc.record_interval_s() * 1000,
            ..Series::default()
        },
        record_every: (sc.record_interval_s() / sc.sample_interval_s()).max(1),
        ticks: 0,
        vm_ticks: 0,
        departures: 0,
        refused: 0,
        was_active: vec![false; n_hosts],
        touched: Vec::new(),
        ended: Vec::new(),
        schedule,
        arrivals: 0,
        live,
        engine: sc
            .sim
            .baseline
            .is_none()
            .then(|| engine::EngineRound::new(sc)),
        engine_decisions: BTreeMap::new(),
    };
    dc.initial_placement();
    dc.q.push(UPDATE_OFFSET_S + interval_s, Ev::Tick);
    let end_ms = sc.duration_s * 1000;
    while let Some((t, ev)) = dc.q.pop() {
        if t > dc.limit_s {
            break;
        }
        match ev {
            Ev::Tick => {
                dc.tick(t);
                progress(ms(t).min(end_ms), end_ms);
                // Something runs or is still to arrive.
                if dc.c.vms.iter().any(|v| !v.finished) {
                    dc.q.push(t + interval_s, Ev::Tick);
                }
            }
            Ev::Migrate { vm, target, mig } => dc.finish_migration(t, vm, target, mig),
            Ev::Live { mig, version } => dc.on_live(t, mig, version),
            Ev::Booted { vm, host } => dc.booted(t, vm, host),
        }
    }
    Ok(dc.finish(sc, content_hash))
}

impl Dc {
    /// VM by VM in index order, the policy's own placement, each VM at its full size
    /// (CloudSim's `allocateHostForVm` while the VM is being instantiated).
    fn initial_placement(&mut self) {
        for v in 0..self.c.vms.len() {
            if self.schedule[v].0 == 0.0 {
                self.place_arrival(v, 0.0);
            }
        }
        for h in 0..self.c.hosts.len() {
            self.was_active[h] = !self.c.hosts[h].vms.is_empty();
        }
    }

    /// A VM arriving at `t`: the policy's own placement at the VM's full size, or a
    /// refusal when no host can take it.
    fn place_arrival(&mut self, v: usize, t: f64) {
        let none = vec![false; self.c.hosts.len()];
        let host = self.policy.find_host(&mut self.c, v, &none).map(|(h, _)| h);
        match host.map(|h| (h, self.boot_wait(h, t))) {
            Some((h, wait)) if wait > 0.0 => {
                // The host is off: the VM starts once it has booted.
                self.c.vms[v].instantiating = false;
                self.q.push(t + wait, Ev::Booted { vm: v, host: h });
            }
            _ => self.place_on(v, host, t),
        }
    }

    /// The VM onto `host` at `t` (the policy's choice), or refused.
    fn place_on(&mut self, v: usize, host: Option<usize>, t: f64) {
        match host {
            Some(h) if self.c.vm_create(h, v) => {
                self.c.vms[v].table_host = Some(h);
                self.c.vms[v].instantiating = false;
                self.placements.push(PlacementChange {
                    t_ms: ms(t),
                    vm: v as u32,
                    node: Some(h as u32),
                });
                if t > 0.0 {
                    self.arrivals += 1;
                    self.events.push(EventRecord {
                        t_ms: ms(t),
                        kind: EventKind::VmArrival,
                        node: Some(h as u32),
                        vm: Some(v as u32),
                        migration: None,
                        detail: String::new(),
                    });
                }
            }
            _ => {
                self.c.vms[v].instantiating = false;
                self.c.vms[v].finished = true;
                self.refused += 1;
                self.events.push(EventRecord {
                    t_ms: ms(t),
                    kind: EventKind::ArrivalRefused,
                    node: None,
                    vm: Some(v as u32),
                    migration: None,
                    detail: format!("no host can take {}", self.vm_ids[v]),
                });
            }
        }
    }

    /// How long a placement or migration onto `h` at `t` waits for it to boot: its
    /// `boot_s` when it is off (runs nothing, after the start), the rest of its boot when
    /// it is booting, else nothing.
    fn boot_wait(&mut self, h: usize, t: f64) -> f64 {
        if self.booting[h] > t {
            return self.booting[h] - t;
        }
        let boot = self.boot_s[h];
        if boot > 0.0 && t > 0.0 && self.c.hosts[h].vms.is_empty() {
            self.booting[h] = t + boot;
            return boot;
        }
        0.0
    }

    /// A VM waiting for its host to boot is placed now, between updates: the host is
    /// brought up to `t` first and again after, as for a migration's end.
    fn booted(&mut self, t: f64, v: usize, h: usize) {
        if self.live.is_some() {
            self.update_hosts(t, &[h]);
            self.place_on(v, Some(h), t);
            self.update_hosts(t, &[h]);
        } else {
            if t > self.last_process {
                self.update(t, false);
            }
            self.place_on(v, Some(h), t);
            self.touched.push(h);
            self.update(t, false);
        }
    }

    /// A VM leaves the run: off its host, its history kept for the metrics.
    fn depart(&mut self, v: usize, t: f64, detail: &str) {
        let home = self.c.vms[v].table_host.take();
        if let Some(h) = home {
            self.c.vm_destroy(h, v);
        }
        self.c.vms[v].finished = true;
        self.departures += 1;
        self.placements.push(PlacementChange {
            t_ms: ms(t),
            vm: v as u32,
            node: None,
        });
        self.events.push(EventRecord {
            t_ms: ms(t),
            kind: EventKind::VmDeparture,
            node: home.map(|h| h as u32),
            vm: Some(v as u32),
            migration: None,
            detail: detail.into(),
        });
    }

    /// Scheduled departures and arrivals due at this update (a VM in migration leaves
    /// when the migration has ended).
    fn lifecycle(&mut self, t: f64) {
        for v in 0..self.c.vms.len() {
            let (arrive, depart) = self.schedule[v];
            let vm = &self.c.vms[v];
            if vm.finished {
                continue;
            }
            if depart.is_some_and(|d| d <= t) && vm.host.is_some() && !vm.in_migration {
                self.depart(v, t, "left as scheduled (depart_s)");
            } else if vm.host.is_none() && vm.instantiating && arrive > 0.0 && arrive <= t {
                self.place_arrival(v, t);
            }
        }
    }

    /// `updateCloudetProcessingWithoutSchedulingFutureEventsForce`: every host updated
    /// at `t`, energy for the time since the last update, finished VMs removed.
    fn update(&mut self, t: f64, tick: bool) {
        let dt = t - self.last_process;
        if dt == 0.0 && !tick {
            // Again at the same instant, after migrations ended: only their hosts can
            // have changed. For any other host CloudSim's second pass rewrites the
            // same entry, so it is skipped.
            let mut touched = std::mem::take(&mut self.touched);
            touched.sort_unstable();
            touched.dedup();
            for &h in &touched {
                self.c.update_host(h, t, false);
            }
        } else {
            self.touched.clear();
            for h in 0..self.c.hosts.len() {
                self.c.update_host(h, t, tick);
            }
        }
        if dt > 0.0 {
            for h in 0..self.c.hosts.len() {
                self.integrate(h, t);
            }
        }
        self.after_update(t, 0..self.c.hosts.len());
        self.last_process = t;
    }

    /// Only `hosts` brought up to `t` (scalelab's migrations, which end at any instant:
    /// a host's accounting does not depend on events elsewhere). Each host's energy runs
    /// from its own last update.
    fn update_hosts(&mut self, t: f64, hosts: &[usize]) {
        let mut hosts = hosts.to_vec();
        hosts.sort_unstable();
        hosts.dedup();
        for &h in &hosts {
            self.c.update_host(h, t, false);
            if t > self.host_t[h] {
                self.integrate(h, t);
            }
        }
        self.touched.retain(|h| !hosts.contains(h));
        self.after_update(t, hosts.iter().copied());
    }

    /// Host `h`'s energy from its last update to `t`: linear in power between the two.
    fn integrate(&mut self, h: usize, t: f64) {
        let host = &self.c.hosts[h];
        let dt = t - self.host_t[h];
        let (from, to) = (host.prev_util(), host.util());
        if from != 0.0 {
            let p0 = power_w(&host.power, from);
            let p1 = power_w(&host.power, to);
            self.energy_ws += (p0 + (p1 - p0) / 2.0) * dt;
        }
        self.host_t[h] = t;
    }

    /// After `hosts` were updated at `t`: finished VMs leave, ended migrations measure
    /// their hosts, power changes become events.
    fn after_update(&mut self, t: f64, hosts: impl Iterator<Item = usize> + Clone) {
        if self.zero_finishes {
            for h in hosts.clone() {
                let idle = |v: &usize| {
                    let vm = &self.c.vms[*v];
                    !vm.in_migration && vm.req_total() == 0.0
                };
                if !self.c.hosts[h].vms.iter().any(idle) {
                    continue;
                }
                let done: Vec<usize> = self.c.hosts[h].vms.iter().copied().filter(idle).collect();
                for v in done {
                    self.depart(v, t, "finished: asked for 0 MIPS");
                }
            }
        }
        for id in std::mem::take(&mut self.ended) {
            let m = &mut self.migs[id];
            m.actual_utilization = Some(self.c.hosts[m.target as usize].util());
            m.source_after = Some(self.c.hosts[m.source as usize].util());
        }
        self.power_transitions(t, hosts);
    }

    /// Hosts that went from running something to nothing, or back, since the last
    /// update: the record's power events (the counts come from the state history).
    fn power_transitions(&mut self, t: f64, hosts: impl Iterator<Item = usize>) {
        for h in hosts {
            let active = self.c.hosts[h].util_mips > 0.0;
            if active != self.was_active[h] {
                self.was_active[h] = active;
                self.events.push(EventRecord {
                    t_ms: ms(t),
                    kind: if active {
                        EventKind::HostPowerOn
                    } else {
                        EventKind::HostPowerOff
                    },
                    node: Some(h as u32),
                    vm: None,
                    migration: None,
                    detail: String::new(),
                });
            }
        }
    }

    fn tick(&mut self, t: f64) {
        if t <= self.last_process {
            return;
        }
        self.update(t, true);
        self.lifecycle(t);
        self.vm_ticks += self
            .c
            .vms
            .iter()
            .filter(|v| !v.finished && v.host.is_some())
            .count() as u64;
        if self.ticks % self.record_every == 0 {
            self.record_series(t);
        }
        self.ticks += 1;
        self.check_targets(t);
        if !self.migrate {
            return;
        }
        let moves = if self.engine.is_some() {
            self.engine_moves(t)
        } else {
            self.policy.round(&mut self.c, &mut self.rng)
        };
        if self.live.is_some() {
            self.decide_live(t, moves);
        } else {
            for m in moves {
                self.start_migration(t, m);
            }
        }
    }

    fn record_series(&mut self, t: f64) {
        self.series.times_ms.push(ms(t));
        self.series.node_util.push(
            self.c
                .hosts
                .iter()
                .map(|h| (h.util_mips / h.total_mips) as f32)
                .collect(),
        );
        self.series.node_state.push(
            self.c
                .hosts
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    if h.util_mips <= 0.0 {
                        node_state::OFF
                    } else if self.c.requested_util(i) > 1.0 {
                        node_state::OVERLOADED
                    } else {
                        node_state::HEALTHY
                    }
                })
                .collect(),
        );
        let w: f64 = self.c.hosts.iter().map(|h| h.power_now_w()).sum();
        self.series.power_w.push(w as f32);
    }

    /// CloudSim's migration: one step of RAM / (NIC / 2).
    fn start_migration(&mut self, t: f64, m: Move) {
        let v = m.vm;
        let source = self.c.vms[v].host.unwrap_or(m.target);
        // A switched-off target boots first; the VM migrates (at 90 %) meanwhile.
        let boot = self.boot_wait(m.target, t);
        let delay = boot + migration_time_s(self.c.vms[v].ram_mib, self.c.hosts[m.target].bw_kbps);
        // CloudSim's migration is its estimate: one step of RAM / (NIC / 2).
        let expected = crate::record::Expected {
            downtime_ms: 0.0,
            completion_s: delay,
            data_sent_mib: self.c.vms[v].ram_mib as f64,
            precopy_rounds: 0,
            source_utilization: self.source_without(v, source),
            target_utilization_model: None,
        };
        let target = m.target;
        let id = self.open_migration(t, m, expected);
        self.q.push(
            t + delay,
            Ev::Migrate {
                vm: v,
                target,
                mig: id,
            },
        );
    }

    /// The source's utilization with `v` gone: what a migration expects of it.
    fn source_without(&self, v: usize, source: usize) -> f64 {
        self.c.hosts[source].util() - self.c.vms[v].req_total() / self.c.hosts[source].total_mips
    }

    /// A migration's start: the VM listed on its target (CloudSim's 10 %), its decision,
    /// record and event. Returns its id.
    fn open_migration(&mut self, t: f64, m: Move, expected: crate::record::Expected) -> usize {
        let v = m.vm;
        let source = self.c.vms[v].host.unwrap_or(m.target);
        let source_util = self.c.hosts[source].util();
        self.c.add_migrating_in(m.target, v, t);
        let id = self.migs.len();
        let reasoning = format!(
            "{}-{}-{}: {} {}",
            detect_name(self.policy.detect),
            self.policy.selection.name().to_uppercase(),
            self.policy.parameter,
            self.node_ids[source],
            if m.overload {
                "overloaded"
            } else {
                "underloaded"
            }
        );
        let decision = self
            .engine_decisions
            .remove(&v)
            .unwrap_or_else(|| ScalingDecision {
                vm_id: self.vm_ids[v].clone(),
                resource_type: ResourceType::Cpu,
                action: ScalingAction::Migrate,
                current_value: source_util,
                target_value: m.expected_util,
                confidence: 1.0,
                reasoning,
                timestamp_ms: ms(t) as i64,
                target_node_id: Some(self.node_ids[m.target].clone()),
                migration_plan: None,
            });
        self.events.push(EventRecord {
            t_ms: ms(t),
            kind: EventKind::MigrationStart,
            node: Some(source as u32),
            vm: Some(v as u32),
            migration: Some(id as u32),
            detail: String::new(),
        });
        self.migs.push(MigrationRecord {
            id: id as u32,
            vm: v as u32,
            vm_id: self.vm_ids[v].clone(),
            source: source as u32,
            target: m.target as u32,
            started_ms: ms(t),
            ended_ms: None,
            outcome: Some(Outcome::InProgressAtEnd),
            rollback_reason: None,
            decision,
            steps: Vec::new(),
            precopy_rounds: 0,
            data_sent_mib: self.c.vms[v].ram_mib as f64,
            downtime_ms: 0,
            switchover_ms: None,
            criteria: Vec::new(),
            expected_utilization: m.expected_util,
            actual_utilization: None,
            source_before: source_util,
            source_after: None,
            vm_served_before: None,
            vm_served_after: None,
            max_throttle_pct: 0.0,
            expected: Some(expected),
        });
        id
    }

    /// `PowerDatacenter.processVmMigrate`.
    fn finish_migration(&mut self, t: f64, v: usize, target: usize, mig: usize) {
        if t > self.last_process {
            self.update(t, false);
        }
        self.switch_host(t, v, target, mig);
        let m = &mut self.migs[mig];
        m.ended_ms = Some(ms(t));
        m.switchover_ms = Some(ms(t));
        m.outcome = Some(Outcome::Completed);
        self.events.push(EventRecord {
            t_ms: ms(t),
            kind: EventKind::MigrationEnd,
            node: Some(target as u32),
            vm: Some(v as u32),
            migration: Some(mig as u32),
            detail: String::new(),
        });
        let more_now = matches!(self.q.peek(), Some((t2, Ev::Migrate { .. })) if t2 == t);
        if !more_now {
            self.update(t, false);
        }
    }

    /// The VM off its source and onto its target at `t`, once its hosts were brought
    /// up to `t`; the next update measures the hosts' utilization after.
    fn switch_host(&mut self, t: f64, v: usize, target: usize, mig: usize) {
        if let Some(home) = self.c.vms[v].table_host.take() {
            self.c.vm_destroy(home, v);
            self.touched.push(home);
        }
        self.touched.push(target);
        self.c.remove_migrating_in(target, v);
        if self.c.vm_create(target, v) {
            self.c.vms[v].table_host = Some(target);
        }
        self.c.vms[v].in_migration = false;
        self.ended.push(mig);
        self.placements.push(PlacementChange {
            t_ms: ms(t),
            vm: v as u32,
            node: Some(target as u32),
        });
    }

    fn finish(mut self, sc: &Scenario, content_hash: String) -> RunRecord {
        for h in &mut self.c.hosts {
            h.acc.finish();
        }
        let mut m = RunMetrics::default();
        let (mut active_s, mut viol_s) = (0.0, 0.0);
        for h in &self.c.hosts {
            active_s += h.acc.active_s;
            viol_s += h.acc.violation_s;
            m.host_shutdowns += h.acc.shutdowns;
            m.host_power_ons += h.acc.power_ons;
        }
        let (mut req, mut short, mut unmet_vcpu_s) = (0.0, 0.0, 0.0);
        for vm in &self.c.vms {
            req += vm.acc.req_mips_s;
            short += vm.acc.migration_shortfall_mips_s;
            unmet_vcpu_s += (vm.acc.req_mips_s - vm.acc.alloc_mips_s).max(0.0) / vm.mips;
        }
        m.migrations = self.migs.len() as u32;
        for x in &self.migs {
            if let Some(o) = x.outcome {
                *m.migrations_by_outcome.entry(o).or_insert(0) += 1;
            }
        }
        m.set_rollback_rate();
        m.measure_estimates(&self.migs);
        m.migration_downtime_ms = self.migs.iter().map(|x| x.downtime_ms).sum();
        m.total_downtime_ms = m.migration_downtime_ms;
        m.overload_time_frac = if active_s > 0.0 {
            viol_s / active_s
        } else {
            0.0
        };
        m.pdm = if req > 0.0 { short / req } else { 0.0 };
        m.slav = m.overload_time_frac * m.pdm;
        m.unmet_demand_core_s = unmet_vcpu_s;
        for (h, host) in self.c.hosts.iter().enumerate() {
            self.energy_ws += f64::from(host.acc.power_ons) * self.boot_j[h];
        }
        let energy_kwh = self.energy_ws / 3.6e6;
        m.energy_kwh = Some(energy_kwh);
        m.esv = Some(energy_kwh * m.slav);
        m.active_host_s = Some(active_s);
        m.vm_departures = self.departures;
        m.vm_arrivals = self.arrivals;
        m.refused_arrivals = self.refused;
        m.vm_ticks = self.vm_ticks;
        let expired = self
            .live
            .as_ref()
            .map_or(0, |l| l.expired + l.pending_len());
        let mut by_action = BTreeMap::new();
        if !self.migs.is_empty() || expired > 0 {
            by_action.insert(ScalingAction::Migrate, self.migs.len() as u64 + expired);
        }
        m.decisions_by_action = by_action;
        if expired > 0 {
            m.unapplied_decisions_by_action
                .insert(ScalingAction::Migrate, expired);
        }
        self.events.sort_by_key(|e| e.t_ms);
        self.placements.sort_by_key(|p| p.t_ms);
        let policy = sc.policy.clone();
        RunRecord {
            format: crate::record::FORMAT.into(),
            version: crate::record::VERSION,
            scenario: ScenarioInfo {
                name: sc.name.clone(),
                description: sc.description.clone(),
                content_hash,
                seed: sc.seed,
                duration_ms: sc.duration_s * 1000,
                control_interval_ms: sc.control_interval_s * 1000,
                sample_interval_ms: sc.sample_interval_s() * 1000,
                record_interval_ms: sc.record_interval_s() * 1000,
            },
            scalelab_version: env!("CARGO_PKG_VERSION").into(),
            policy,
            nodes: self
                .node_ids
                .iter()
                .zip(&self.c.hosts)
                .map(|(id, h)| NodeInfo {
                    id: id.clone(),
                    rack: String::new(),
                    cores: h.pes as f64,
                    memory_mib: h.ram_mib,
                    core_mips: Some(h.pe_mips),
                })
                .collect(),
            vms: self
                .vm_ids
                .iter()
                .zip(&self.c.vms)
                .map(|(id, v)| VmInfo {
                    id: id.clone(),
                    service_group: None,
                    memory_mib: v.ram_mib,
                    vcpus: v.pes,
                    mips: Some(v.mips),
                })
                .collect(),
            metrics: m,
            migrations: self.migs,
            // Every decision of the profile is a migration, and each migration record
            // carries its decision: listing them again would double the record.
            decisions: Vec::new(),
            events: self.events,
            placements: self.placements,
            series: self.series,
            invariant_violations: Vec::new(),
            detail: Default::default(),
        }
    }
}

fn detect_name(b: Baseline) -> &'static str {
    match b {
        Baseline::Thr => "THR",
        Baseline::Iqr => "IQR",
        Baseline::Mad => "MAD",
        Baseline::Lr => "LR",
        Baseline::Lrr => "LRR",
        Baseline::Watcher => "Watcher",
        Baseline::NoMigration => "none",
    }
}
