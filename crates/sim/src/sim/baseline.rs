//! The control round of a reference policy (see [`crate::baselines`]) in place of the
//! engine: overload detection, VM selection and placement as the literature defines
//! them, each move a full MIGRATE decision so the same executor runs it.

use super::*;

impl Simulation {
    /// One control round of a reference policy (see [`crate::baselines`]).
    pub(super) fn baseline_round(&mut self, b: Baseline, now: TimeMs) {
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
                let (decision, est) = self.baseline_decision(b, vm, src, dst, projected, post, now);
                self.decision_counts[action_index(Act::Migrate)] += 1;
                self.start_migration(vm, decision, Some(est), Some(post), now);
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
    pub(super) fn baseline_decision(
        &self,
        b: Baseline,
        vm: usize,
        src: usize,
        dst: usize,
        current: f64,
        post: f64,
        now: TimeMs,
    ) -> (ScalingDecision, PreCopyEstimate) {
        use scalelab_engine::planner::{PlanInputs, build_plan};
        let v = &self.vms[vm];
        let bw = self.path_capacity_mbps(src, dst);
        let bw = self
            .policy
            .migration
            .max_bandwidth_mbps
            .map_or(bw, |cap| bw.min(cap));
        let est = scalelab_engine::precopy::estimate(
            v.memory_mib as f64,
            v.dirty_rate_mib_s(),
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
                source_relief_pct: scalelab_engine::planner::source_relief_pct(
                    v.demand_cores,
                    self.nodes[src].cores,
                    current,
                ),
                cpu_ceiling_frac: post.max(p.planner.target_cpu_ceiling),
                rollback_cpu_frac: p.migration.rollback_target_cpu_frac.max(post),
                memory_margin_mib: 0,
                min_bandwidth_mbps: p.planner.min_bandwidth_mbps,
                path_bandwidth_mbps: bw,
                estimate: est,
            },
            &p.migration,
        );
        let decision = ScalingDecision {
            vm_id: v.id.clone(),
            resource_type: ResourceType::Cpu,
            action: Act::Migrate,
            current_value: current,
            target_value: plan.expected_utilization(),
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
        };
        (decision, est)
    }
}
