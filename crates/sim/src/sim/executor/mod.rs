//! The migration executor: a MIGRATE plan's five steps run as events (validation,
//! pre-copy rounds, stop-and-copy, verification, cleanup), each under its timeout.
//!
//! - `transfer.rs`: memory moving over max-min shared NICs and links;
//! - `rollback.rs`: the plan's rollback conditions, evaluated on every change;
//! - `measure.rs`: the window after switchover that measures actual against expected.

mod measure;
mod rollback;
mod transfer;

use super::*;
pub(super) use crate::phase::Phase;
pub(super) use measure::Window;
use transfer::Transfer;

/// A migration being executed (its record is `Simulation::records[id]`).
#[derive(Debug)]
pub(super) struct MigRt {
    pub(super) vm: usize,
    pub(super) src: usize,
    pub(super) dst: usize,
    pub(super) plan: MigrationPlan,
    pub(super) phase: Phase,
    pub(super) step_timer: Option<EventId>,
    pub(super) step_event: Option<EventId>,
    pub(super) pause_check: Option<EventId>,
    /// The plan's overall deadline.
    pub(super) deadline: Option<EventId>,
    pub(super) transfer: Option<Transfer>,
    pub(super) round_volume_mib: f64,
    /// Auto-converge's throttle of the guest (zero unless the policy turns it on).
    pub(super) throttle: Throttle,
    pub(super) dirtied_mib: f64,
    pub(super) rounds: u32,
    pub(super) sent_mib: f64,
    pub(super) pause_start_ms: Option<TimeMs>,
    /// CPU reserved on the target until switchover (the VM's demand at the start).
    pub(super) demand_reserved: f64,
    /// What the last sample put on the nodes for this migration: the VM's cores on
    /// the source, and the overhead on each end (0 when memory was not moving then).
    pub(super) sampled_vm_cores: f64,
    pub(super) sampled_overhead_cores: f64,
    /// The expected-vs-actual window, open from switchover until it closes (which may
    /// be after the migration ended).
    pub(super) window: Option<Window>,
}

impl MigRt {
    /// A migration about to validate, `demand_cores` reserved on its target.
    pub(super) fn new(
        vm: usize,
        src: usize,
        dst: usize,
        plan: MigrationPlan,
        demand_cores: f64,
    ) -> Self {
        Self {
            vm,
            src,
            dst,
            plan,
            phase: Phase::Validation,
            step_timer: None,
            step_event: None,
            pause_check: None,
            deadline: None,
            transfer: None,
            round_volume_mib: 0.0,
            throttle: Throttle::default(),
            dirtied_mib: 0.0,
            rounds: 0,
            sent_mib: 0.0,
            pause_start_ms: None,
            demand_reserved: demand_cores,
            sampled_vm_cores: demand_cores,
            sampled_overhead_cores: 0.0,
            window: None,
        }
    }
}

impl Simulation {
    /// Carry out a MIGRATE decision; `estimate`: the pre-copy estimate its plan was
    /// built from, kept for expected against actual.
    pub(super) fn start_migration(
        &mut self,
        vm: usize,
        decision: ScalingDecision,
        estimate: Option<PreCopyEstimate>,
        model_utilization: Option<f64>,
        now: TimeMs,
    ) {
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
        let id = MigId::from_ix(self.migs.len());
        let source_util = self.nodes[src].util();
        let v = &self.vms[vm];
        let demand = v.capped_demand();
        // What it will use there: a per-core cap may differ between the two nodes.
        let demand_at_dst = v.capped_demand_on(self.nodes[dst].core_speed);
        let mem = v.memory_mib;
        // The plan was made on the round's snapshot; actions applied since (a scale out
        // placing replicas) may have used the memory it counted on.
        if self.nodes[dst].free_mem_mib() < mem || !self.nodes[dst].usable() {
            *self
                .metrics
                .unapplied_decisions_by_action
                .entry(Act::Migrate)
                .or_insert(0) += 1;
            return;
        }
        // Held until switchover (or released by a rollback): see `release_target`.
        self.nodes[dst].held_mem_mib += mem;
        self.nodes[dst].reserved_cores += demand_at_dst;
        self.nodes[src].migrations += 1;
        self.nodes[dst].migrations += 1;
        self.vms[vm].migration = Some(id);
        let from = self.boot_wait_until(dst, now);
        let boot_s = (from - now) as f64 / 1000.0;
        self.decisions.push(DecisionRecord {
            t_ms: now,
            vm: vm as u32,
            action: Act::Migrate,
            current_value: decision.current_value,
            target_value: decision.target_value,
            confidence: decision.confidence,
            applied: true,
            migration: Some(id.raw()),
            reasoning: None,
        });
        self.records.push(MigrationRecord {
            id: id.raw(),
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
            vm_served_before: Some(self.nodes[src].served_frac()),
            vm_served_after: None,
            max_throttle_pct: 0.0,
            expected: estimate.map(|e| crate::record::Expected {
                downtime_ms: e.downtime_s * 1000.0,
                completion_s: boot_s + scalelab_engine::planner::expected_completion_s(&e),
                data_sent_mib: e.data_sent_mib,
                precopy_rounds: e.precopy_rounds,
                source_utilization: source_util - demand / self.nodes[src].cores,
                target_utilization_model: model_utilization,
            }),
        });
        self.migs
            .push(MigRt::new(vm, src, dst, plan, demand_at_dst));
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
        // The Timeout rollback condition: the whole migration's deadline.
        if let Some(timeout_s) = self.migs[id]
            .plan
            .rollback_conditions
            .iter()
            .find_map(|c| match c {
                RollbackCondition::Timeout { timeout_s } => {
                    Some(timeout_s.unwrap_or(self.migs[id].plan.total_timeout_s()))
                }
                _ => None,
            })
        {
            let at = now.saturating_add(timeout_s.saturating_mul(1000));
            self.migs[id].deadline = Some(self.q.schedule_timer(at, Ev::Deadline { mig: id }));
        }
        // Validation (its timeout included) begins once the target serves: at once, or
        // when a target woken for the VM has booted (CloudSim's boot model).
        self.begin_step(id, StepAction::PreMigrationValidation, from);
        let took = self.step_duration_ms(StepAction::PreMigrationValidation);
        self.q.schedule(from + took, Ev::StepDone { mig: id });
    }

    /// When a migration's target serves: now, or once it has booted (a target that
    /// is off is powered on for the migration).
    fn boot_wait_until(&mut self, dst: usize, now: TimeMs) -> TimeMs {
        self.power_on(dst, now, "a migration's target");
        if self.nodes[dst].up {
            now
        } else {
            self.nodes[dst].ready_ms.max(now)
        }
    }

    /// The plan's overall deadline passed with the migration still running.
    pub(super) fn on_deadline(&mut self, m: MigId, now: TimeMs) {
        if !self.migs[m].phase.in_flight() {
            return;
        }
        self.migs[m].deadline = None;
        let timeout_s = (now - self.records[m].started_ms) / 1000;
        self.end_step(m, now, StepOutcome::TimedOut);
        self.abort(
            m,
            now,
            format!("migration exceeded its overall {timeout_s} s timeout"),
        );
    }

    pub(super) fn begin_step(&mut self, m: MigId, step: StepAction, now: TimeMs) {
        let timeout_s = self.migs[m]
            .plan
            .step(step)
            .map(|s| s.timeout_seconds)
            .unwrap_or(NEVER_S);
        let mig = &mut self.migs[m];
        if let Some(t) = mig.step_timer.take() {
            self.q.cancel(t);
        }
        mig.phase = Phase::of(step);
        mig.step_timer = Some(self.q.schedule_timer(
            now.saturating_add(timeout_s.saturating_mul(1000)),
            Ev::Timeout { mig: m, step },
        ));
        self.records[m].steps.push(StepRecord {
            action: step,
            start_ms: now,
            end_ms: None,
            timeout_s,
            outcome: None,
        });
    }

    pub(super) fn end_step(&mut self, m: MigId, now: TimeMs, outcome: StepOutcome) {
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
    pub(super) fn on_step_done(&mut self, m: MigId, now: TimeMs) {
        let Some(step) = self.migs[m].phase.step() else {
            return;
        };
        if self.injected_failure(m, step, now) {
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
                mig.transfer = Some(Transfer::start(mem, now));
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
                let took = self.step_duration_ms(StepAction::Cleanup);
                self.migs[m].step_event =
                    Some(self.q.schedule(now + took, Ev::StepDone { mig: m }));
            }
            StepAction::Cleanup => {
                self.end_step(m, now, StepOutcome::Ok);
                self.release_source(m);
                self.finish_migration(m, now, Outcome::Completed, None);
            }
            StepAction::MemoryPreCopy => {}
        }
    }

    pub(super) fn max_pause_ms(&self, m: MigId) -> u64 {
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

    pub(super) fn on_pause_check(&mut self, m: MigId, now: TimeMs) {
        let mig = &self.migs[m];
        if mig.phase != Phase::StopAndCopy {
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
    pub(super) fn on_hang_check(&mut self, m: MigId, now: TimeMs) {
        let mig = &self.migs[m];
        if !mig.phase.in_flight() || self.vms[mig.vm].hung_until_ms <= now {
            return;
        }
        let max = self.max_pause_ms(m);
        self.end_step(m, now, StepOutcome::Aborted);
        self.abort(m, now, format!("VM unresponsive for over {max} ms"));
    }

    pub(super) fn switchover(&mut self, m: MigId, now: TimeMs) {
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
        self.release_target(m);
        self.nodes[dst].used_mem_mib += mem;
        self.nodes[dst].vcpus_placed += vcpus;
        self.move_vm(vm, Some(dst), now);
        self.vms[vm].paused = false;
        self.vms[vm].left = Some((src, now));
        self.migs[m].window = Some(Window::until(now.saturating_add(
            (self.sc.sim.actual_window_intervals as u64).saturating_mul(self.control_ms),
        )));
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
            Some(m),
            format!("paused {pause} ms"),
        );
        // The VM's load moves with it, and the overhead ends: the source loses what the
        // last sample put there for the migration (nothing for a VM that was paused
        // then, no overhead for memory that was not moving then), the target gains the
        // VM as it runs now.
        let used = self.vms[vm].used_cores();
        let (had, overhead) = (
            self.migs[m].sampled_vm_cores,
            self.migs[m].sampled_overhead_cores,
        );
        self.migs[m].sampled_overhead_cores = 0.0;
        self.account_node(src, now);
        self.account_node(dst, now);
        self.nodes[src].load_cores = (self.nodes[src].load_cores - had - overhead).max(0.0);
        self.nodes[dst].load_cores = (self.nodes[dst].load_cores + used - overhead).max(0.0);
        // The target now carries the VM: migrations heading there are judged again.
        self.request_rollback_check(now);
        self.begin_step(m, StepAction::PostMigrationVerification, now);
        let took = self.step_duration_ms(StepAction::PostMigrationVerification);
        self.migs[m].step_event = Some(self.q.schedule(now + took, Ev::StepDone { mig: m }));
    }

    /// How long a step that moves no memory takes this time, ms (the scenario's
    /// `stochastic.step_durations`).
    fn step_duration_ms(&mut self, step: StepAction) -> TimeMs {
        self.sc
            .stochastic
            .step_durations
            .of(step)
            .map_or(0, |spec| {
                (spec.draw_s(&mut self.rng_durations) * 1000.0) as TimeMs
            })
    }

    pub(super) fn on_timeout(&mut self, m: MigId, step: StepAction, now: TimeMs) {
        let mig = &self.migs[m];
        if mig.phase.step() != Some(step) {
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
    pub(super) fn abort(&mut self, m: MigId, now: TimeMs, reason: String) {
        if !self.migs[m].phase.in_flight() {
            return;
        }
        self.cancel_timers(m);
        let (vm, src) = (self.migs[m].vm, self.migs[m].src);
        if self.migs[m].phase.switched() {
            // Source memory is released; the VM stays where it is.
            self.release_source(m);
            self.finish_migration(m, now, Outcome::FailedAfterSwitchover, Some(reason));
        } else {
            self.release_target(m);
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
                Some(m),
                reason.clone(),
            );
            self.finish_migration(m, now, Outcome::RolledBack, Some(reason));
        }
    }

    /// The scenario's `step_failure_prob`, drawn as a step ends (every step, pre-copy
    /// included): true when the step failed and the migration was stopped.
    pub(super) fn injected_failure(&mut self, m: MigId, step: StepAction, now: TimeMs) -> bool {
        if !self.rng_steps.chance(self.sc.stochastic.step_failure_prob) {
            return false;
        }
        self.end_step(m, now, StepOutcome::Failed);
        self.abort(m, now, format!("step {} failed (injected)", step.as_str()));
        true
    }

    /// Give back the memory and CPU an unswitched migration holds on its target.
    pub(super) fn release_target(&mut self, m: MigId) {
        let (dst, mem) = (self.migs[m].dst, self.vms[self.migs[m].vm].memory_mib);
        self.nodes[dst].held_mem_mib -= mem;
        self.nodes[dst].reserved_cores -= self.migs[m].demand_reserved;
        self.migs[m].demand_reserved = 0.0;
    }

    /// Drop the copy the source keeps after switchover (cleanup, or a failure on the
    /// target after switchover).
    pub(super) fn release_source(&mut self, m: MigId) {
        let (src, mem) = (self.migs[m].src, self.vms[self.migs[m].vm].memory_mib);
        self.nodes[src].held_mem_mib -= mem;
    }

    /// Whatever a migration in flight holds: the target's reservation before
    /// switchover, the source's copy after.
    pub(super) fn release_holds(&mut self, m: MigId) {
        if self.migs[m].phase.switched() {
            self.release_source(m);
        } else {
            self.release_target(m);
        }
    }

    pub(super) fn cancel_timers(&mut self, m: MigId) {
        let mig = &mut self.migs[m];
        let ids = [
            mig.step_timer.take(),
            mig.pause_check.take(),
            mig.deadline.take(),
            mig.transfer.as_mut().and_then(|t| t.timer.take()),
        ];
        mig.transfer = None;
        for id in ids.into_iter().flatten() {
            self.q.cancel(id);
        }
    }

    pub(super) fn finish_migration(
        &mut self,
        m: MigId,
        now: TimeMs,
        outcome: Outcome,
        reason: Option<String>,
    ) {
        let (vm, src, dst) = (self.migs[m].vm, self.migs[m].src, self.migs[m].dst);
        if let Some(t) = self.migs[m].deadline.take() {
            self.q.cancel(t);
        }
        self.migs[m].phase = Phase::Ended;
        self.active.retain(|&x| x != m);
        self.nodes[src].migrations -= 1;
        self.nodes[dst].migrations -= 1;
        self.vms[vm].migration = None;
        if self.vms[vm].depart_pending {
            // It was due to leave while migrating (lifecycle.rs).
            self.q.schedule(now, Ev::VmDepart { vm: vm as u32 });
        }
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
        if self.migs[m].window.is_none() {
            self.finalize_criteria(m, now);
        }
        let detail = outcome.as_str().to_string();
        self.event(
            now,
            EventKind::MigrationEnd,
            Some(dst),
            Some(vm),
            Some(m),
            detail,
        );
        self.reflow(now);
    }
}
