//! scalelab's own migration model inside CloudSim's datacenter (`[compat] migrations =
//! "precopy"`): the literature's policies decide exactly as in the profile, and each
//! migration they start runs as scalelab runs one instead of as one step of
//! RAM / (NIC / 2). What changes:
//!
//! - **Admission.** A migration starts once its source and target each have fewer than
//!   `planner.max_migrations_per_node` migrations in flight, and the cluster fewer than
//!   `max_migrations_cluster` (as hypervisor managers limit concurrent live migrations
//!   per host). The round's moves wait in decision order, and each free slot admits the
//!   first that fits. A move still waiting at the next round is dropped, because the
//!   policy decides again on fresh state. It is counted as an unapplied decision.
//!   A VM that the round moves twice migrates once, straight to its last target.
//!   CloudSim's consolidation can empty a host that the same round's overload relief
//!   has just chosen as a target, and CloudSim then runs both migrations of the VM at
//!   once (3,202 such pairs in the THR run of 20110303).
//! - **Plans from the bandwidth a migration will get.** Each migration gets the five
//!   steps of the engine's plans. Its estimates (downtime, completion, data, rounds)
//!   come from the pre-copy model at the max-min fair rate it has with every migration
//!   in flight and every one admitted with it. Its data steps' timeouts
//!   (`timeout_safety_factor` times the estimate, at least `min_step_timeout_s`) come
//!   from the least it can get while the admission limit holds, a fair share of the
//!   slower NIC among `max_migrations_per_node`. A migration that is slow only because
//!   a later one shares its NIC does not time out.
//! - **Pre-copy over shared NICs.** The steps are validation (1.45 s, or as
//!   `stochastic.step_durations` draws it, like verification and cleanup), then pre-copy rounds:
//!   round 0 sends the resident memory, each later round sends what the VM dirtied during
//!   the one before (`dirty_rate_mib_s`, times the VM's CPU use when
//!   `dirty_rate_follows_cpu`, at most the writable working set), until the engine's stop
//!   rule. Then come stop-and-copy with the VM paused, verification and cleanup
//!   (1.45 s each). Memory moves over the source NIC's send side and the target NIC's receive
//!   side at the NIC's full rate, shared max-min by the migrations using it, capped by
//!   `max_bandwidth_mbps`, times `goodput_frac`. Rates are recomputed whenever a flow
//!   starts or ends.
//! - **Rollback.** A migration rolls back, and the VM stays on its source, when a data
//!   step runs past its timeout, the pause runs past `max_unresponsive_ms`, or the flow
//!   falls below `min_connectivity_mbps`. It also rolls back when an update finds that
//!   the target would run above `rollback_target_cpu_frac` with the VM.
//! - **Downtime.** A paused VM gets nothing. Beyond CloudSim's 10 % while the VM moves,
//!   this counts as degradation (PDM) and as the migration's downtime.
//! - The VM changes host when stop-and-copy ends. The migration ends, in the record, after
//!   cleanup.
//!
//! The CPU taken while migrating (90 % on the source, 10 % on the target), the memory
//! checks, the power model and the metrics stay CloudSim's. So the two tables of the
//! study differ only in how migrations run.

use std::collections::{BTreeMap, BTreeSet};

use scalelab_engine::plan::StepAction;
use scalelab_engine::planner::{expected_completion_s, timeout_for};
use scalelab_engine::policy::MigrationConfig;
use scalelab_engine::precopy::{PreCopyParams, estimate, mbps_to_mib_s};

use super::{Dc, Ev, Move, ms};
use crate::network::{Flow, shared_rates};
use crate::phase::Phase;
use crate::record::{EventKind, EventRecord, Expected, Outcome, StepOutcome, StepRecord};
use crate::rng::{Pcg32, derive, stream};
use crate::scenario::{Scenario, StepDurations};

/// Less than a byte is nothing left to send.
const DONE_MIB: f64 = 1e-6;

/// One migration being run.
#[derive(Debug, Clone)]
pub(super) struct Live {
    vm: usize,
    src: usize,
    dst: usize,
    phase: Phase,
    step_start: f64,
    timeouts_s: [u64; 5],
    memory_mib: f64,
    /// Left to send in this round (or of the stop-and-copy remainder).
    left_mib: f64,
    round_mib: f64,
    round_start: f64,
    dirty_mib_s: f64,
    /// Memory per second now (goodput).
    rate_mib_s: f64,
    /// When `left_mib` was last brought up to date.
    since: f64,
    rounds: u32,
    sent_mib: f64,
    version: u32,
    /// The last copy is done and the VM resumes on the target at this time.
    resume_at: Option<f64>,
    /// How long this step takes, when it moves no memory (drawn as it begins).
    step_len_s: f64,
}

impl Live {
    /// The current step's timeout, seconds (none once ended).
    /// What is left to send, brought up to `t` at the rate it has had since.
    fn advance(&mut self, t: f64) {
        self.left_mib = (self.left_mib - self.rate_mib_s * (t - self.since)).max(0.0);
        self.since = t;
    }

    fn step_timeout_s(&self) -> u64 {
        self.timeouts_s
            .get(self.phase.index())
            .copied()
            .unwrap_or(scalelab_engine::plan::NEVER_S)
    }
}

/// The model's parameters and the migrations in flight.
#[derive(Debug)]
pub(super) struct LiveState {
    params: PreCopyParams,
    cfg: MigrationConfig,
    nic_mbps: Vec<f64>,
    /// Per VM: dirty rate at full use (MiB/s), whether it follows CPU, resident share.
    dirty: Vec<(f64, bool, f64)>,
    live: BTreeMap<usize, Live>,
    /// Per host: the migrations whose memory goes through its NIC.
    moving_at: Vec<Vec<usize>>,
    /// The round's moves not yet admitted, with their source, in decision order.
    pending: Vec<(usize, Move)>,
    /// Per host: migrations in flight that touch it.
    busy: Vec<u32>,
    per_node: u32,
    cluster: u32,
    /// Moves dropped unadmitted.
    pub(super) expired: u64,
    /// The scenario's `stochastic.step_durations`, and their own stream.
    durations: StepDurations,
    rng: Pcg32,
}

impl LiveState {
    pub(super) fn new(sc: &Scenario) -> Self {
        let nic_mbps: Vec<f64> = sc
            .node_members()
            .into_iter()
            .map(|(gi, _)| sc.nodes[gi].nic_mbps)
            .collect();
        let dirty = sc
            .vms
            .iter()
            .flat_map(|g| {
                let d = (
                    g.dirty_rate_mib_s,
                    g.dirty_rate_follows_cpu,
                    g.resident_memory_frac,
                );
                std::iter::repeat_n(d, g.count as usize)
            })
            .collect();
        let policy = &sc.policy;
        let hosts = nic_mbps.len();
        let cfg = &policy.migration;
        Self {
            params: PreCopyParams::from(cfg),
            cfg: cfg.clone(),
            nic_mbps,
            dirty,
            live: BTreeMap::new(),
            moving_at: vec![Vec::new(); hosts],
            pending: Vec::new(),
            busy: vec![0; hosts],
            per_node: policy.planner.max_migrations_per_node,
            cluster: policy.planner.max_migrations_cluster,
            expired: 0,
            durations: sc.stochastic.step_durations,
            rng: Pcg32::new(derive(sc.seed, stream::STEP_DURATIONS), 9),
        }
    }

    /// The rate a flow from `src` to `dst` gets at least while no end carries more
    /// than `per_node` migrations (max-min: a fair share of the slower NIC).
    fn floor_mbps(&self, src: usize, dst: usize) -> f64 {
        let nic = self.nic_mbps[src].min(self.nic_mbps[dst]);
        let share = nic / f64::from(self.per_node.max(1));
        self.cfg.max_bandwidth_mbps.map_or(share, |c| share.min(c))
    }

    fn flow(&self, id: usize, src: usize, dst: usize) -> Flow {
        Flow {
            id,
            src_nic: src,
            dst_nic: dst,
            link: None,
            cap_mbps: self.cfg.max_bandwidth_mbps,
        }
    }
}

impl Dc {
    fn ls(&mut self) -> &mut LiveState {
        self.live.as_mut().expect("pre-copy migrations are on")
    }

    /// The VM's dirty rate now, MiB/s.
    pub(super) fn dirty_now(&self, v: usize) -> f64 {
        let ls = self.live.as_ref().expect("pre-copy migrations are on");
        let (rate, follows, _) = ls.dirty[v];
        if follows {
            let vm = &self.c.vms[v];
            rate * (vm.req_total() / vm.total_mips()).clamp(0.0, 1.0)
        } else {
            rate
        }
    }

    /// The round's moves: what waited since the last round is dropped, the new moves
    /// queue, and as many start as there are slots.
    pub(super) fn decide_live(&mut self, t: f64, moves: Vec<Move>) {
        let ls = self.ls();
        ls.expired += ls.pending.len() as u64;
        ls.pending.clear();
        // A VM the round moves twice goes once, to where the round left it.
        let last: BTreeMap<usize, usize> =
            moves.iter().enumerate().map(|(k, m)| (m.vm, k)).collect();
        let queued: Vec<(usize, Move)> = moves
            .into_iter()
            .enumerate()
            .filter(|(k, m)| last[&m.vm] == *k)
            .map(|(_, m)| (self.c.vms[m.vm].host.unwrap_or(m.target), m))
            .collect();
        self.ls().pending = queued;
        self.admit(t);
    }

    /// Start every waiting move that fits the concurrency limits, in decision order.
    /// A move whose VM left its source or the run meanwhile is dropped.
    fn admit(&mut self, t: f64) {
        let ls = self.live.as_mut().expect("pre-copy migrations are on");
        if ls.pending.is_empty() {
            return;
        }
        let mut in_flight = ls.live.len() as u32;
        let mut batch = Vec::new();
        let mut keep = Vec::new();
        for (src, m) in std::mem::take(&mut ls.pending) {
            let vm = &self.c.vms[m.vm];
            if vm.finished || vm.in_migration || vm.host != Some(src) {
                ls.expired += 1;
                continue;
            }
            let fits = in_flight < ls.cluster
                && ls.busy[src] < ls.per_node
                && ls.busy[m.target] < ls.per_node;
            if fits {
                in_flight += 1;
                ls.busy[src] += 1;
                ls.busy[m.target] += 1;
                batch.push(m);
            } else {
                keep.push((src, m));
            }
        }
        ls.pending = keep;
        if !batch.is_empty() {
            self.start_live(t, batch);
        }
    }

    /// A migration ended: its slots are free for the moves waiting.
    fn release(&mut self, t: f64, src: usize, dst: usize) {
        let ls = self.ls();
        ls.busy[src] -= 1;
        ls.busy[dst] -= 1;
        self.admit(t);
    }

    /// Start admitted moves: estimates and timeouts at the rate each will get with
    /// everything in flight and the rest of the batch, then validation.
    fn start_live(&mut self, t: f64, moves: Vec<Move>) {
        let ls = self.live.as_ref().expect("pre-copy migrations are on");
        let mut flows: Vec<Flow> = ls
            .live
            .iter()
            .filter(|(_, l)| l.phase.before_switchover())
            .map(|(&id, l)| ls.flow(id, l.src, l.dst))
            .collect();
        let base = flows.len();
        for (k, m) in moves.iter().enumerate() {
            let src = self.c.vms[m.vm].host.unwrap_or(m.target);
            flows.push(ls.flow(usize::MAX - k, src, m.target));
        }
        let rates = shared_rates(&flows, &ls.nic_mbps);
        for (k, m) in moves.into_iter().enumerate() {
            let v = m.vm;
            let ls = self.live.as_ref().expect("pre-copy migrations are on");
            let (params, cfg) = (ls.params, &ls.cfg);
            let memory_mib = self.c.vms[v].ram_mib as f64 * ls.dirty[v].2;
            let share_mib_s = mbps_to_mib_s(rates[base + k]);
            let dirty = self.dirty_now(v);
            let est = estimate(memory_mib, dirty, share_mib_s, &params);
            // Timeouts from the least the limits let the flow get: each end carries at
            // most `per_node` migrations, so sharing alone cannot make it slower.
            let src = self.c.vms[v].host.unwrap_or(m.target);
            let floor_mbps = ls.floor_mbps(src, m.target);
            let worst = estimate(memory_mib, dirty, mbps_to_mib_s(floor_mbps), &params);
            let timeouts_s = [
                cfg.validation_timeout_s,
                timeout_for(worst.precopy_time_s, cfg),
                timeout_for(worst.downtime_s, cfg),
                cfg.verification_timeout_s,
                cfg.cleanup_timeout_s,
            ];
            let dst = m.target;
            // A switched-off target boots before validation can begin.
            let boot = self.boot_wait(dst, t);
            let expected = Expected {
                downtime_ms: est.downtime_s * 1000.0,
                completion_s: boot + expected_completion_s(&est),
                data_sent_mib: est.data_sent_mib,
                precopy_rounds: est.precopy_rounds,
                source_utilization: self.source_without(v, src),
                target_utilization_model: None,
            };
            let id = self.open_migration(t, m, expected);
            let t0 = t + boot;
            self.migs[id].steps.push(StepRecord {
                action: StepAction::PreMigrationValidation,
                start_ms: ms(t0),
                end_ms: None,
                timeout_s: timeouts_s[0],
                outcome: None,
            });
            let mut live = Live {
                vm: v,
                src,
                dst,
                phase: Phase::Validation,
                step_start: t0,
                timeouts_s,
                memory_mib,
                left_mib: 0.0,
                round_mib: 0.0,
                round_start: t,
                dirty_mib_s: 0.0,
                rate_mib_s: 0.0,
                since: t,
                rounds: 0,
                sent_mib: 0.0,
                version: 0,
                resume_at: None,
                step_len_s: 0.0,
            };
            live.step_len_s = self.draw_len(Phase::Validation);
            self.ls().live.insert(id, live);
            self.schedule_live(id);
        }
    }

    /// The migration's next event: its step's nominal end, its data running out, its
    /// timeout or the pause limit, whichever comes first.
    fn schedule_live(&mut self, id: usize) {
        let ls = self.ls();
        let max_pause_s = ls.cfg.max_unresponsive_ms as f64 / 1000.0;
        let l = ls.live.get_mut(&id).expect("a live migration");
        l.version += 1;
        let timeout = l.step_start + l.step_timeout_s() as f64;
        let at = match l.phase {
            Phase::Validation | Phase::Verification | Phase::Cleanup => l.step_start + l.step_len_s,
            // Ended migrations leave the map; nothing is scheduled for one.
            Phase::Ended => f64::INFINITY,
            Phase::StopAndCopy if l.resume_at.is_some() => l.resume_at.unwrap_or(l.step_start),
            Phase::PreCopy | Phase::StopAndCopy => {
                let done = if l.rate_mib_s > 0.0 {
                    l.since + l.left_mib / l.rate_mib_s
                } else {
                    f64::INFINITY
                };
                let mut at = done.min(timeout);
                if l.phase == Phase::StopAndCopy {
                    at = at.min(l.step_start + max_pause_s);
                }
                at
            }
        };
        let version = l.version;
        if at.is_finite() {
            self.q.push(at, Ev::Live { mig: id, version });
        }
    }

    /// What a migration's event does, unless a later change superseded it.
    pub(super) fn on_live(&mut self, t: f64, id: usize, version: u32) {
        let ls = self.ls();
        let max_pause_s = ls.cfg.max_unresponsive_ms as f64 / 1000.0;
        let cap_frac = ls.cfg.writable_working_set_frac;
        let params = ls.params;
        let Some(l) = ls.live.get_mut(&id) else {
            return;
        };
        if l.version != version {
            return;
        }
        if l.phase.moves_memory() {
            l.advance(t);
        }
        let timeout = l.step_start + l.step_timeout_s() as f64;
        match l.phase {
            Phase::Validation => {
                let (src, dst, v) = (l.src, l.dst, l.vm);
                let memory = l.memory_mib;
                if let Some(reason) = self.target_insufficient(dst) {
                    self.rollback(t, id, StepOutcome::Failed, format!("validation: {reason}"));
                    return;
                }
                self.next_step(id, t, Phase::PreCopy);
                let dirty = self.dirty_now(v);
                let l = self.ls().live.get_mut(&id).expect("a live migration");
                l.left_mib = memory;
                l.round_mib = memory;
                l.round_start = t;
                l.dirty_mib_s = dirty;
                let ls = self.ls();
                ls.moving_at[src].push(id);
                ls.moving_at[dst].push(id);
                self.reflow(t, &[src, dst]);
            }
            Phase::PreCopy if l.left_mib <= DONE_MIB => {
                l.sent_mib += l.round_mib;
                l.rounds += 1;
                let dirtied = (l.dirty_mib_s * (t - l.round_start)).min(cap_frac * l.memory_mib);
                let stop =
                    params.stop_reason(l.memory_mib, l.rounds, l.sent_mib, dirtied, l.rate_mib_s);
                l.left_mib = dirtied;
                l.round_mib = dirtied;
                l.round_start = t;
                let v = l.vm;
                if stop.is_some() {
                    self.next_step(id, t, Phase::StopAndCopy);
                } else {
                    let dirty = self.dirty_now(v);
                    self.ls().live.get_mut(&id).expect("live").dirty_mib_s = dirty;
                    self.schedule_live(id);
                }
            }
            Phase::StopAndCopy if l.resume_at.is_some() => {
                let pause_s = t - l.step_start;
                self.switchover(t, id, pause_s);
            }
            Phase::StopAndCopy if l.left_mib <= DONE_MIB => {
                // The last copy is done: the NIC is free while the VM resumes.
                l.sent_mib += l.round_mib;
                l.resume_at = Some(t + params.resume_s);
                let (src, dst) = (l.src, l.dst);
                self.stop_moving(t, id);
                self.schedule_live(id);
                self.reflow(t, &[src, dst]);
            }
            Phase::StopAndCopy if t >= l.step_start + max_pause_s => {
                let paused_ms = ((t - l.step_start) * 1000.0).round();
                let reason = format!(
                    "unresponsive: paused {paused_ms:.0} ms, above {} ms",
                    (max_pause_s * 1000.0).round()
                );
                self.rollback(t, id, StepOutcome::Aborted, reason);
            }
            Phase::PreCopy | Phase::StopAndCopy => {
                debug_assert!(t >= timeout - 1e-9);
                let reason = format!(
                    "{}: timed out after {} s",
                    l.phase.step().map_or("ended", |a| a.as_str()),
                    l.step_timeout_s()
                );
                self.rollback(t, id, StepOutcome::TimedOut, reason);
            }
            Phase::Verification => self.next_step(id, t, Phase::Cleanup),
            Phase::Cleanup => self.complete(t, id),
            Phase::Ended => {}
        }
    }

    /// How long a step that moves no memory takes this time, seconds.
    fn draw_len(&mut self, phase: Phase) -> f64 {
        let ls = self.ls();
        phase
            .step()
            .and_then(|s| ls.durations.of(s))
            .map_or(0.0, |spec| spec.draw_s(&mut ls.rng))
    }

    /// End the current step well and begin `next`.
    fn next_step(&mut self, id: usize, t: f64, next: Phase) {
        self.end_step(id, t, StepOutcome::Ok);
        let len = self.draw_len(next);
        let l = self.ls().live.get_mut(&id).expect("a live migration");
        l.phase = next;
        l.step_start = t;
        l.step_len_s = len;
        let timeout_s = l.timeouts_s[next.index()];
        self.migs[id].steps.push(StepRecord {
            action: next.step().expect("a step"),
            start_ms: ms(t),
            end_ms: None,
            timeout_s,
            outcome: None,
        });
        self.schedule_live(id);
    }

    fn end_step(&mut self, id: usize, t: f64, outcome: StepOutcome) {
        if let Some(s) = self.migs[id].steps.last_mut() {
            s.end_ms = Some(ms(t));
            s.outcome = Some(outcome);
        }
    }

    /// Stop-and-copy done: the VM runs on the target, the source's NIC is free.
    fn switchover(&mut self, t: f64, id: usize, pause_s: f64) {
        let (v, src, dst) = {
            let l = &self.ls().live[&id];
            (l.vm, l.src, l.dst)
        };
        self.update_hosts(t, &[src, dst]);
        self.count_pause(v, pause_s);
        self.switch_host(t, v, dst, id);
        self.update_hosts(t, &[src, dst]);
        {
            let l = &self.ls().live[&id];
            let (rounds, sent) = (l.rounds, l.sent_mib);
            let m = &mut self.migs[id];
            m.precopy_rounds = rounds;
            m.data_sent_mib = sent;
            m.downtime_ms = (pause_s * 1000.0).round() as u64;
            m.switchover_ms = Some(ms(t));
        }
        self.events.push(EventRecord {
            t_ms: ms(t),
            kind: EventKind::MigrationSwitchover,
            node: Some(dst as u32),
            vm: Some(v as u32),
            migration: Some(id as u32),
            detail: String::new(),
        });
        self.next_step(id, t, Phase::Verification);
    }

    /// Cleanup done: the migration completed.
    fn complete(&mut self, t: f64, id: usize) {
        self.end_step(id, t, StepOutcome::Ok);
        let l = self.ls().live.remove(&id).expect("a live migration");
        let m = &mut self.migs[id];
        m.ended_ms = Some(ms(t));
        m.outcome = Some(Outcome::Completed);
        self.events.push(EventRecord {
            t_ms: ms(t),
            kind: EventKind::MigrationEnd,
            node: Some(l.dst as u32),
            vm: Some(l.vm as u32),
            migration: Some(id as u32),
            detail: String::new(),
        });
        self.release(t, l.src, l.dst);
    }

    /// Abort before switchover: the VM resumes (or keeps running) on its source, the
    /// target's share is released.
    fn rollback(&mut self, t: f64, id: usize, outcome: StepOutcome, reason: String) {
        self.end_step(id, t, outcome);
        let l = &self.ls().live[&id];
        let moving = l.phase.moves_memory() && l.resume_at.is_none();
        if moving {
            self.stop_moving(t, id);
        }
        let l = self.ls().live.remove(&id).expect("a live migration");
        let paused_s = if l.phase == Phase::StopAndCopy {
            t - l.step_start
        } else {
            0.0
        };
        self.update_hosts(t, &[l.src, l.dst]);
        self.count_pause(l.vm, paused_s);
        self.c.remove_migrating_in(l.dst, l.vm);
        let m = &mut self.migs[id];
        m.ended_ms = Some(ms(t));
        m.outcome = Some(Outcome::RolledBack);
        m.rollback_reason = Some(reason.clone());
        m.precopy_rounds = l.rounds;
        m.data_sent_mib = l.sent_mib + (l.round_mib - l.left_mib).max(0.0);
        m.downtime_ms = (paused_s * 1000.0).round() as u64;
        self.events.push(EventRecord {
            t_ms: ms(t),
            kind: EventKind::Rollback,
            node: Some(l.src as u32),
            vm: Some(l.vm as u32),
            migration: Some(id as u32),
            detail: reason,
        });
        self.update_hosts(t, &[l.src, l.dst]);
        if moving {
            self.reflow(t, &[l.src, l.dst]);
        }
        self.release(t, l.src, l.dst);
    }

    /// A paused VM gets nothing: beyond the 10 % the state history already counts
    /// while it migrates, the other 90 % of what it asked for.
    fn count_pause(&mut self, v: usize, pause_s: f64) {
        if pause_s <= 0.0 {
            return;
        }
        let vm = &mut self.c.vms[v];
        let lost = 0.9 * vm.req_total() * pause_s;
        vm.acc.alloc_mips_s -= lost;
        vm.acc.migration_shortfall_mips_s += lost;
    }

    /// The flow ends at `t`: what it sent up to `t` is counted before its rate goes
    /// to zero (a rollback between two events must not lose the bytes since the last).
    fn stop_moving(&mut self, t: f64, id: usize) {
        let ls = self.ls();
        let (src, dst) = (ls.live[&id].src, ls.live[&id].dst);
        ls.moving_at[src].retain(|&x| x != id);
        ls.moving_at[dst].retain(|&x| x != id);
        let l = ls.live.get_mut(&id).expect("a live migration");
        l.advance(t);
        l.rate_mib_s = 0.0;
    }

    /// New rates for every flow connected to `hosts` through shared NICs; flows that
    /// fall below the plan's minimum roll back (and free their share in turn).
    fn reflow(&mut self, t: f64, hosts: &[usize]) {
        let ls = self.ls();
        let mut seen_hosts = BTreeSet::new();
        let mut todo: Vec<usize> = hosts.to_vec();
        let mut ids = BTreeSet::new();
        while let Some(h) = todo.pop() {
            if !seen_hosts.insert(h) {
                continue;
            }
            for &id in &ls.moving_at[h] {
                if ids.insert(id) {
                    let l = &ls.live[&id];
                    todo.push(l.src);
                    todo.push(l.dst);
                }
            }
        }
        if ids.is_empty() {
            return;
        }
        let ids: Vec<usize> = ids.into_iter().collect();
        let flows: Vec<Flow> = ids
            .iter()
            .map(|&id| ls.flow(id, ls.live[&id].src, ls.live[&id].dst))
            .collect();
        let rates = shared_rates(&flows, &ls.nic_mbps);
        let goodput = ls.params.goodput_frac;
        let min_mbps = ls.cfg.min_connectivity_mbps;
        let mut lost = Vec::new();
        for (&id, wire) in ids.iter().zip(rates) {
            let l = ls.live.get_mut(&id).expect("a live migration");
            l.advance(t);
            l.rate_mib_s = mbps_to_mib_s(wire) * goodput;
            if wire < min_mbps {
                lost.push((id, wire));
            }
        }
        for &id in &ids {
            if !lost.iter().any(|&(x, _)| x == id) {
                self.schedule_live(id);
            }
        }
        for (id, wire) in lost {
            if self.ls().live.contains_key(&id) {
                let (src, dst) = (self.ls().live[&id].src, self.ls().live[&id].dst);
                let reason = format!(
                    "{} -> {}: the migration gets {wire:.0} Mbps, below {min_mbps:.0}",
                    self.node_ids[src], self.node_ids[dst]
                );
                self.rollback(t, id, StepOutcome::Aborted, reason);
            }
        }
    }

    /// The plan's TargetInsufficient condition: the target's demand, the VM's
    /// included, over `rollback_target_cpu_frac`.
    fn target_insufficient(&self, dst: usize) -> Option<String> {
        let ceiling = self.live.as_ref()?.cfg.rollback_target_cpu_frac;
        let u = self.c.requested_util(dst);
        (u > ceiling).then(|| {
            format!(
                "target {} would run at {u:.2} with the VM, above {ceiling:.2}",
                self.node_ids[dst]
            )
        })
    }

    /// At an update: migrations before switchover whose target is now insufficient
    /// roll back.
    pub(super) fn check_targets(&mut self, t: f64) {
        let Some(ls) = self.live.as_ref() else { return };
        let over: Vec<(usize, String)> = ls
            .live
            .iter()
            .filter(|(_, l)| l.phase.before_switchover())
            .filter_map(|(&id, l)| Some((id, self.target_insufficient(l.dst)?)))
            .collect();
        for (id, reason) in over {
            if self.ls().live.contains_key(&id) {
                self.rollback(t, id, StepOutcome::Aborted, reason);
            }
        }
    }
}

impl LiveState {
    /// Moves still waiting (at the end of the run: never started).
    pub(super) fn pending_len(&self) -> u64 {
        self.pending.len() as u64
    }
}
