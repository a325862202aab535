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

    pub(super) fn scale_out(&mut self, vm: usize, to: u32, now: TimeMs, cooldown: TimeMs) -> bool {
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
            new.cooldown_until_ms = cooldown;
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
            self.group_resized(g, vm, EventKind::ScaleOut, what, now, cooldown);
        }
        added > 0
    }

    /// A service group changed size: cooldown and an event.
    pub(super) fn group_resized(
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

    pub(super) fn scale_in(&mut self, vm: usize, to: u32, now: TimeMs, cooldown: TimeMs) -> bool {
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
}
