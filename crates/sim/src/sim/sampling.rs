//! Every tick: sample the workloads, recompute node loads, feed histories and
//! forecasters; and account the interval that just ended (active time, overload,
//! energy, PDM's demand). A node whose state changes between ticks (a crash, a
//! recovery, a switchover, a load spike, a restarted VM) is charged up to that instant
//! first, with the state it had, so nothing is applied to time before it happened.

use super::*;

impl Simulation {
    /// Metrics for [last tick, now): each node from where it was last charged, with
    /// the state it has had since.
    pub(super) fn account(&mut self, now: TimeMs) {
        let dt = (now - self.last_tick_ms) as f64;
        self.last_tick_ms = now;
        if dt <= 0.0 {
            return;
        }
        for n in 0..self.nodes.len() {
            self.account_node(n, now);
        }
        self.pdm_requested += self.running_demand_cores * dt;
    }

    /// Node `n` charged up to `now` with its current state; call before changing it.
    #[inline]
    pub(super) fn account_node(&mut self, n: usize, now: TimeMs) {
        let node = &mut self.nodes[n];
        let dt = now.saturating_sub(node.acct_ms) as f64;
        node.acct_ms = node.acct_ms.max(now);
        if dt <= 0.0 || !node.up {
            return;
        }
        self.active_ms += dt;
        let u = node.load_cores / node.cores;
        if u > 1.0 {
            self.overload_ms += dt;
            self.metrics.unmet_demand_core_s += (node.load_cores - node.cores) * dt / 1000.0;
        }
        if let Some(w) = &node.power {
            self.energy_j += power_w(w, u) * dt / 1000.0;
        }
    }

    /// One pass over the VMs after the group shares are known: demand, node loads,
    /// histories, forecasters, and (on control ticks) the stats the rules read. At
    /// 100,000 VMs the cost is memory traffic, so everything per VM happens in one go.
    pub(super) fn sample(&mut self, now: TimeMs) {
        let t_s = now as f64 / 1000.0;
        // Service groups first: a replica's demand is a share of the group's total.
        for g in &self.groups {
            let mut total = 0.0;
            for &i in &g.originals {
                let v = &mut self.vms[i];
                if let Some(w) = &mut v.workload {
                    v.own_level = w.sample(t_s);
                }
                total += v.own_demand_cores();
            }
            let share = total / g.active.len().max(1) as f64;
            for &i in &g.active {
                self.vms[i].demand_cores = share;
            }
        }
        for n in &mut self.nodes {
            n.load_cores = n.background_cores;
        }
        let control = now % self.control_ms == 0;
        let mut alive = 0;
        let mut running_demand = 0.0;
        for v in &mut self.vms {
            if v.group.is_none() {
                if let Some(w) = &mut v.workload {
                    v.own_level = w.sample(t_s);
                }
                v.demand_cores = v.own_demand_cores();
            }
            alive += u64::from(v.alive());
            if let Some(n) = v.node {
                self.nodes[n].load_cores += v.used_cores();
            }
            if v.status == VmStatus::Running {
                running_demand += v.demand_cores;
                let u = v.demand_cores / v.alloc_cores();
                v.hist.push(u);
                v.forecaster.observe(u);
                if control {
                    v.stats = v.hist.stats();
                    v.summary = v.forecaster.summary();
                }
            }
        }
        self.running_demand_cores = running_demand;
        self.add_migration_overheads();
        for n in &mut self.nodes {
            if n.up {
                let u = n.load_cores / n.cores;
                n.hist.push(u);
                n.forecaster.observe(u);
                if control {
                    n.stats = n.hist.stats();
                    n.summary = n.forecaster.summary();
                }
            }
        }
        self.metrics.vm_ticks += alive;
    }

    /// Source and target of every migration moving memory carry its CPU overhead.
    /// A guest auto-converge throttles in pre-copy runs that much slower on its source.
    /// Also notes, per migration, what this sample put on the nodes for it (the VM's
    /// own cores and the overhead), so a switchover before the next sample moves
    /// exactly that. Only migrations are visited: the per-VM pass stays as it was.
    pub(super) fn add_migration_overheads(&mut self) {
        let overhead = self.sc.sim.migration_cpu_overhead_frac;
        for &m in &self.active {
            let mig = &mut self.migs[m];
            let v = &self.vms[mig.vm];
            let mut vm_cores = v.used_cores();
            if mig.phase == Phase::PreCopy && mig.throttle.frac > 0.0 {
                let throttled = mig.throttle.frac * vm_cores;
                self.nodes[mig.src].load_cores -= throttled;
                vm_cores -= throttled;
            }
            mig.sampled_vm_cores = vm_cores;
            mig.sampled_overhead_cores = 0.0;
            if mig.phase.moves_memory() {
                let extra = overhead * v.demand_cores;
                mig.sampled_overhead_cores = extra;
                self.nodes[mig.src].load_cores += extra;
                self.nodes[mig.dst].load_cores += extra;
            }
        }
    }
}

/// Linear interpolation of an 11-point SPECpower curve.
pub(super) fn power_w(w: &[f64; 11], util: f64) -> f64 {
    let u = util.clamp(0.0, 1.0) * 10.0;
    let i = (u.floor() as usize).min(9);
    let f = u - i as f64;
    w[i] + (w[i + 1] - w[i]) * f
}
