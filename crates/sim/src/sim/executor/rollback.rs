//! The plan's rollback conditions, its resource requirements and validation, each
//! evaluated with the plan's own parameters (the policy's value only where a plan
//! states a condition without one, as the seed's bare strings do). Conditions are
//! re-evaluated on every change that can trip them: each sample, every reflow of the
//! network, a switchover or a scale out onto a node, and each injected failure.

use crate::sim::*;

/// Plans state fractions to 4 decimals: a requirement is met within half that.
const PLAN_ROUNDING: f64 = 5e-5;

impl Simulation {
    pub(in crate::sim) fn validation_failure(&self, m: MigId) -> Option<String> {
        let mig = &self.migs[m];
        let (src, dst) = (&self.nodes[mig.src], &self.nodes[mig.dst]);
        if !dst.up {
            return Some(format!("validation: target {} is down", dst.id));
        }
        if !src.up {
            return Some(format!("validation: source {} is down", src.id));
        }
        self.requirements_unmet(m)
            .or_else(|| self.target_insufficient(m))
            .or_else(|| self.connectivity_lost(m))
            .map(|reason| format!("validation: {reason}"))
    }

    /// The plan's `resource_requirements`: the target's free CPU share and memory
    /// without this migration's own reservation, and the path's bandwidth.
    fn requirements_unmet(&self, m: MigId) -> Option<String> {
        let mig = &self.migs[m];
        let req = &mig.plan.resource_requirements;
        let dst = &self.nodes[mig.dst];
        let others = (dst.load_cores + dst.reserved_cores - mig.demand_reserved) / dst.cores;
        let free_cpu = 1.0 - others;
        if free_cpu + PLAN_ROUNDING < req.cpu_available_frac {
            return Some(format!(
                "target {} has {:.1} % CPU free, the plan requires {:.1} %",
                dst.id,
                free_cpu * 100.0,
                req.cpu_available_frac * 100.0
            ));
        }
        let free_mem = self.free_mem_for(m);
        let need = req.vm_memory_mib + req.memory_margin_mib;
        if free_mem < need {
            return Some(format!(
                "target {} has {free_mem} MiB free, the plan requires {need} MiB",
                dst.id
            ));
        }
        let bw = self.path_capacity_mbps(mig.src, mig.dst);
        if bw < req.min_bandwidth_mbps {
            return Some(format!(
                "path {} -> {} has {:.0} Mbps, the plan requires {:.0}",
                self.nodes[mig.src].id, dst.id, bw, req.min_bandwidth_mbps
            ));
        }
        None
    }

    /// Memory free on the target before this migration's own hold.
    fn free_mem_for(&self, m: MigId) -> u64 {
        let mig = &self.migs[m];
        let dst = &self.nodes[mig.dst];
        let own = self.vms[mig.vm].memory_mib;
        (dst.free_mem_mib() + own).min(dst.memory_mib)
    }

    /// The plan's TargetInsufficient rollback condition, evaluated now.
    pub(in crate::sim) fn target_insufficient(&self, m: MigId) -> Option<String> {
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
                let min_free =
                    limits.map_or(self.vms[mig.vm].memory_mib, |l| l.min_free_memory_mib);
                let free = self.free_mem_for(m);
                if free < min_free {
                    return Some(format!(
                        "target {} has {free} MiB for the VM, below {min_free} MiB",
                        dst.id
                    ));
                }
            }
        }
        None
    }

    /// The plan's ConnectivityLost condition: the rate the migration's flow gets while
    /// memory moves (sharing included), else the path's capacity.
    pub(in crate::sim) fn connectivity_lost(&self, m: MigId) -> Option<String> {
        let mig = &self.migs[m];
        for c in &mig.plan.rollback_conditions {
            if let RollbackCondition::ConnectivityLost { min_bandwidth_mbps } = c {
                let min = min_bandwidth_mbps.unwrap_or(self.policy.migration.min_connectivity_mbps);
                let (bw, what) = match &mig.transfer {
                    // On the wire, before the protocol's overhead.
                    Some(t) => (
                        t.rate_mib_s / self.params.goodput_frac / mbps_to_mib_s(1.0),
                        "the migration gets",
                    ),
                    None => (self.path_capacity_mbps(mig.src, mig.dst), "the path has"),
                };
                if bw < min {
                    return Some(format!(
                        "{} -> {}: {what} {:.0} Mbps, below {:.0}",
                        self.nodes[mig.src].id, self.nodes[mig.dst].id, bw, min
                    ));
                }
            }
        }
        None
    }

    /// Evaluate the rollback conditions again once the events at this instant have
    /// run (a reflow, a switchover or a scale out changed what they read).
    pub(in crate::sim) fn request_rollback_check(&mut self, now: TimeMs) {
        if !self.rollback_check_pending && !self.active.is_empty() {
            self.rollback_check_pending = true;
            self.q.schedule(now, Ev::RollbackCheck);
        }
    }

    /// Continuous evaluation of the rollback conditions of migrations before switchover.
    pub(in crate::sim) fn check_rollbacks(&mut self, now: TimeMs) {
        let active = self.active.clone();
        for m in active {
            let phase = self.migs[m].phase;
            if !phase.in_flight() || phase.switched() {
                continue;
            }
            // A target still booting has no path yet; validation judges it once up.
            if phase == Phase::Validation && self.nodes[self.migs[m].dst].asleep() {
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
}
