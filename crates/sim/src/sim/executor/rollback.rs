//! The plan's rollback conditions and validation, evaluated with their parameters.

use crate::sim::*;

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
        if let Some(reason) = self.target_insufficient(m) {
            return Some(format!("validation: {reason}"));
        }
        if let Some(reason) = self.connectivity_lost(m) {
            return Some(format!("validation: {reason}"));
        }
        None
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
                if dst.used_mem_mib + dst.held_mem_mib > dst.memory_mib {
                    return Some(format!("target {} is out of memory", dst.id));
                }
            }
        }
        None
    }

    pub(in crate::sim) fn connectivity_lost(&self, m: MigId) -> Option<String> {
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
    pub(in crate::sim) fn check_rollbacks(&mut self, now: TimeMs) {
        let active = self.active.clone();
        for m in active {
            let phase = self.migs[m].phase;
            if !phase.in_flight() || phase.switched() {
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
