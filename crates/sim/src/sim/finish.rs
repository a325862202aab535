//! Closing a run: migrations still in flight end "in progress", open measurement
//! windows close, and the metrics and everything journaled become the [`RunRecord`].

use super::*;

impl Simulation {
    pub(super) fn finish(mut self) -> RunRecord {
        let end = self.duration_ms;
        // Whatever is still running ends "in progress"; open windows close with what
        // they measured.
        for m in self.active.clone() {
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
            if !self.migs[m].phase.switched() {
                let vm = self.migs[m].vm;
                self.vms[vm].paused = false;
            }
            self.release_holds(m);
            self.finish_migration(m, end, Outcome::InProgressAtEnd, None);
        }
        for m in MigId::all(self.migs.len()) {
            if self.migs[m].window.is_some() {
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
        metrics.set_rollback_rate();
        metrics.measure_estimates(&self.records);
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
        // With power models the run reports what Beloglazov & Buyya's study ranks by:
        // the hosts' active time (SLATAH's denominator) and energy x SLAV.
        if let Some(e) = metrics.energy_kwh {
            metrics.active_host_s = Some(self.active_ms / 1000.0);
            metrics.esv = Some(e * metrics.slav);
        }
        let sc = &self.sc;
        let speeds = sc.nodes.iter().any(|g| g.core_mips.is_some());
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
                    cores: n.core_count,
                    memory_mib: n.memory_mib,
                    core_mips: speeds.then_some(n.core_speed * REF_MIPS),
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
                    mips: speeds.then_some(v.vcpu_size * REF_MIPS),
                })
                .collect(),
            metrics,
            migrations: self.records,
            decisions: self.decisions,
            events: self.events,
            placements: self.placements,
            series: self.series,
            invariant_violations: self.violations,
            detail: Default::default(),
        }
    }
}
