//! Carrying out scaling decisions: resizing a VM within its host's vCPU overcommit, and
//! adding or removing replicas of a service group.

use super::*;

/// A scale decision on its way to being applied.
#[derive(Debug)]
pub(super) struct ScaleRequest {
    pub(super) action: ScalingAction,
    pub(super) target: f64,
    pub(super) current: f64,
    pub(super) confidence: f64,
    pub(super) reasoning: Option<String>,
}

impl Simulation {
    pub(super) fn apply_scale(&mut self, vm: usize, req: ScaleRequest, now: TimeMs) {
        let ScaleRequest {
            action,
            target,
            current,
            confidence,
            reasoning,
        } = req;
        let applied = match action {
            Act::ScaleUp | Act::ScaleDown => {
                let v = &self.vms[vm];
                let new = settled_size(
                    &self.policy,
                    action,
                    v.vcpus,
                    ((v.vcpus as f64 * target).ceil() as u32).max(1),
                    v.stats,
                    v.summary,
                );
                let n = v.node.unwrap_or(0);
                let node = &self.nodes[n];
                let after = node.vcpus_placed - v.vcpus as u64 + new as u64;
                let fits = new < v.vcpus
                    || (after as f64) <= node.core_count * self.sc.sim.vcpu_overcommit;
                let demand = v.stats.avg * v.alloc_cores();
                let reverses = reversal_allowed(
                    v.last_resize,
                    action,
                    demand,
                    self.policy.scale_hysteresis_frac,
                );
                if fits && new != v.vcpus && reverses {
                    let old = v.vcpus;
                    self.nodes[n].vcpus_placed = after;
                    let v = &mut self.vms[vm];
                    v.vcpus = new;
                    v.last_scaled_ms = Some(now);
                    v.last_resize = Some((action, demand));
                    // The same demand on a new allocation: re-express the history and
                    // the forecaster in it, or the next window reads the resize as a
                    // step in the load.
                    let f = f64::from(old) / f64::from(new);
                    v.hist.scale(f);
                    v.forecaster.rescale(f);
                    v.stats = v.stats.scaled(f);
                    v.summary = v.summary.map(|s| s.scaled(f));
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
            Act::ScaleOut => self.scale_out(vm, target as u32, now),
            Act::ScaleIn => self.scale_in(vm, target as u32, now),
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

    pub(super) fn scale_out(&mut self, vm: usize, to: u32, now: TimeMs) -> bool {
        let Some(g) = self.vms[vm].group else {
            return false;
        };
        let to = to.min(self.sc.sim.max_replicas) as usize;
        let mut added = 0;
        while self.groups[g].active.len() < to {
            let template = self.groups[g].originals[0];
            let (mem, vcpus) = (self.vms[template].memory_mib, self.vms[template].base_vcpus);
            let Some(node) = self.least_loaded_with_room(mem) else {
                break;
            };
            let idx = self.vms.len();
            let id = format!("{}-r{}", self.groups[g].name, idx);
            // A replica has its template's shape; its demand is its share of the
            // group's, so it has no workload of its own.
            let mut new = VmRt::new(
                VmShape {
                    id,
                    ..self.vms[template].shape()
                },
                &self.policy,
                self.policy.window_len(self.sc.sample_interval_s()),
            );
            new.last_scaled_ms = Some(now);
            self.vms.push(new);
            self.move_vm(idx, Some(node), now);
            self.nodes[node].used_mem_mib += mem;
            self.nodes[node].vcpus_placed += vcpus as u64;
            self.groups[g].active.push(idx);
            added += 1;
        }
        if added > 0 {
            // Replicas landed on nodes that migrations may be heading to.
            self.request_rollback_check(now);
            let what = format!("+{added}");
            self.group_resized(g, vm, EventKind::ScaleOut, what, now);
        }
        added > 0
    }

    /// A service group changed size: its cooldowns start, and an event.
    pub(super) fn group_resized(
        &mut self,
        g: usize,
        vm: usize,
        kind: EventKind,
        change: String,
        now: TimeMs,
    ) {
        self.groups[g].last_scaled_ms = Some(now);
        let n = self.groups[g].active.len();
        let name = self.groups[g].name.clone();
        let detail = format!("{name}: {change} replica(s), now {n}");
        self.event(now, kind, None, Some(vm), None, detail);
    }

    pub(super) fn scale_in(&mut self, vm: usize, to: u32, now: TimeMs) -> bool {
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
            self.unplace(m, now);
            removed += 1;
        }
        if removed > 0 {
            let what = format!("-{removed}");
            self.group_resized(g, vm, EventKind::ScaleIn, what, now);
        }
        removed > 0
    }
}

/// Hysteresis on direction: after a resize one way, a resize the other way is taken
/// only once the VM's mean demand (cores, which a resize does not change) has moved
/// that way by more than `band` of what it was at the last resize. Noise, and forecast
/// bounds that widen with it, then cannot walk a constant load up and down.
pub(super) fn reversal_allowed(
    last: Option<(Act, f64)>,
    action: Act,
    demand_cores: f64,
    band: f64,
) -> bool {
    match last {
        Some((prev, then)) if prev != action && band > 0.0 => match action {
            Act::ScaleUp => demand_cores > then * (1.0 + band),
            _ => demand_cores < then * (1.0 - band),
        },
        _ => true,
    }
}

/// Hysteresis: the vCPU count a resize from `old` should go to, starting from the
/// rule's `wanted`, such that the same window on the new allocation would not call for
/// the opposite resize (a scale-down that the next round undoes with a scale-up, or the
/// reverse). A constant load then settles on one allocation. Returns `old` when no size
/// in the wanted direction is stable, which leaves the VM as it is.
pub(super) fn settled_size(
    p: &PolicyConfig,
    action: Act,
    old: u32,
    wanted: u32,
    stats: UtilStats,
    summary: Option<ForecastSummary>,
) -> u32 {
    let opposite = match action {
        Act::ScaleUp => Act::ScaleDown,
        Act::ScaleDown => Act::ScaleUp,
        _ => return wanted,
    };
    let calls_for_opposite = |n: u32| {
        let f = f64::from(old) / f64::from(n);
        scaling_rule(p, stats.scaled(f), summary.map(|s| s.scaled(f)), None).action == opposite
    };
    let mut n = wanted;
    while n != old && calls_for_opposite(n) {
        // Back towards the old size, one vCPU at a time.
        n = if n > old { n - 1 } else { n + 1 };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reversal_needs_the_demand_to_move_past_the_band() {
        let up = Some((Act::ScaleUp, 2.0));
        // After a scale-up at 2 cores, a scale-down needs the demand below 1.6.
        assert!(!reversal_allowed(up, Act::ScaleDown, 1.7, 0.2));
        assert!(reversal_allowed(up, Act::ScaleDown, 1.5, 0.2));
        // The same direction again is never held back, nor anything with the band off.
        assert!(reversal_allowed(up, Act::ScaleUp, 1.0, 0.2));
        assert!(reversal_allowed(up, Act::ScaleDown, 1.9, 0.0));
        let down = Some((Act::ScaleDown, 1.0));
        assert!(!reversal_allowed(down, Act::ScaleUp, 1.15, 0.2));
        assert!(reversal_allowed(down, Act::ScaleUp, 1.25, 0.2));
        assert!(reversal_allowed(None, Act::ScaleUp, 0.0, 0.2));
    }

    #[test]
    fn a_resize_stops_short_of_a_size_that_calls_for_the_opposite() {
        let p = PolicyConfig::default();
        // 8 vCPUs at peak 0.11, avg 0.1 (0.88 cores at peak): the rule's floor of 0.1
        // would give 1 vCPU, where the peak reads 0.88 >= scale_up_current 0.85; 2
        // vCPUs (0.44) is the smallest size that stays put.
        let st = UtilStats {
            current: 0.11,
            avg: 0.1,
            peak: 0.11,
        };
        assert_eq!(settled_size(&p, Act::ScaleDown, 8, 1, st, None), 2);
        // A size that is already stable is kept.
        assert_eq!(settled_size(&p, Act::ScaleDown, 8, 3, st, None), 3);
        // Scale-ups: 1 vCPU at 0.95 wants 2 (0.475), which does not call for a
        // scale-down (avg 0.475 > 0.3): kept.
        let hot = UtilStats {
            current: 0.95,
            avg: 0.95,
            peak: 0.95,
        };
        assert_eq!(settled_size(&p, Act::ScaleUp, 1, 2, hot, None), 2);
    }
}
