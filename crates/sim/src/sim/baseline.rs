//! The control round of a reference policy (see [`crate::baselines`]) in place of the
//! engine: overload detection, VM selection and placement as the literature defines
//! them, each move a full MIGRATE decision so the same executor runs it.
//!
//! The Beloglazov & Buyya policies follow CloudSim's `optimizeAllocation` on
//! scalelab's own cluster: the VMs selected off every overloaded host are placed
//! together, in decreasing order of CPU demand, each on the host whose power rises
//! least with it (PABFD; without power models, the fullest), never on an overloaded
//! host nor on one the VM would overload; a host that is off may be woken for them.
//! With `sim.consolidate`, the least utilized host is then emptied (all of its VMs
//! move, or none) onto hosts that are on, then the next, and `[power]` switches the
//! emptied hosts off. No baseline puts a VM beside one of its anti-affinity group
//! (placed there, migrating there, or moved there earlier in the round): the
//! literature's policies have no such rule, but a cluster that declares one would
//! not let them break it. Each move's plan is estimated at the share of the network it
//! will get with the migrations in flight and the rest of the round's.

use super::*;
use crate::baselines::{VmSelection, overloaded_with};

/// One move of a round: the VM, its host, its target and the target's utilization
/// with it.
#[derive(Debug, Clone, Copy)]
struct Move {
    vm: usize,
    src: usize,
    dst: usize,
    after: f64,
    consolidation: bool,
}

/// A round's overload test: the policy and its parameter, and per node its
/// utilization history and how far LR predicts (its longest migration, in samples),
/// taken once when the round starts.
struct Detect {
    b: Baseline,
    p: f64,
    history: Vec<Vec<f64>>,
    ahead: Vec<f64>,
}

/// What a round has placed so far but not yet started, per node.
#[derive(Debug, Clone, Default)]
struct Tentative {
    cores: Vec<f64>,
    mem_mib: Vec<u64>,
    /// (node, VM) of the round's moves of VMs in an anti-affinity group.
    spread: Vec<(usize, usize)>,
}

impl Tentative {
    /// Nothing placed yet on any of `n` nodes.
    fn new(n: usize) -> Self {
        Self {
            cores: vec![0.0; n],
            mem_mib: vec![0; n],
            spread: Vec::new(),
        }
    }
}

impl Simulation {
    /// One control round of a reference policy (see [`crate::baselines`]).
    pub(super) fn baseline_round(&mut self, b: Baseline, now: TimeMs) {
        match b {
            Baseline::Watcher => self.watcher_round(now),
            Baseline::NoMigration => {}
            _ => self.beloglazov_round(b, now),
        }
    }

    /// Utilization with what is reserved for incoming migrations.
    fn booked_util(&self, n: usize) -> f64 {
        let node = &self.nodes[n];
        (node.load_cores + node.reserved_cores) / node.cores
    }

    /// The round's overload test for baseline `b`.
    fn detect(&self, b: Baseline) -> Detect {
        let sample_s = (self.sample_ms as f64 / 1000.0).max(1e-9);
        let ahead = (0..self.nodes.len())
            .map(|n| {
                let biggest = self.node_vms[n]
                    .iter()
                    .map(|&v| self.vms[v as usize].memory_mib)
                    .max()
                    .unwrap_or(0) as f64;
                biggest / mbps_to_mib_s(self.nodes[n].nic_mbps.max(1.0)) / sample_s
            })
            .collect();
        Detect {
            b,
            p: self
                .sc
                .sim
                .baseline_parameter
                .unwrap_or(b.default_parameter()),
            history: self.nodes.iter().map(|x| x.hist.ordered()).collect(),
            ahead,
        }
    }

    /// The policy's overload test on node `n` with `extra` utilization added to its
    /// present and to every past sample (as in CloudSim, a host's history is its VMs'
    /// history, so a VM leaving or arriving shifts all of it).
    fn overloaded_by(&self, d: &Detect, n: usize, extra: f64) -> bool {
        let h: Vec<f64> = d.history[n].iter().map(|x| (x + extra).max(0.0)).collect();
        overloaded_with(d.b, d.p, &h, self.booked_util(n) + extra, d.ahead[n])
    }

    fn beloglazov_round(&mut self, b: Baseline, now: TimeMs) {
        let d = self.detect(b);
        let n = self.nodes.len();
        let over: Vec<usize> = (0..n)
            .filter(|&h| self.nodes[h].up && self.overloaded_by(&d, h, 0.0))
            .collect();
        let mut excluded = vec![false; n];
        for &h in &over {
            excluded[h] = true;
        }
        // VM selection on each overloaded host until the test passes without them.
        let mut selected = Vec::new();
        for &h in &over {
            let cores = self.nodes[h].cores;
            let mut left: Vec<usize> = self.node_vms[h]
                .iter()
                .map(|&v| v as usize)
                .filter(|&v| self.vms[v].movable())
                .collect();
            left.sort_unstable();
            let mut removed = 0.0;
            while !left.is_empty() && self.overloaded_by(&d, h, -removed) {
                let k = self.select_vm(&left);
                let v = left.remove(k);
                removed += self.vms[v].capped_demand() / cores;
                selected.push(v);
            }
        }
        let mut tent = Tentative::new(n);
        let mut moves = self.place(&d, selected, &excluded, true, &mut tent);
        if self.sc.sim.consolidate {
            let more = self.consolidate(&d, &over, &moves, &mut tent);
            moves.extend(more);
        }
        if moves.is_empty() {
            return;
        }
        let shares = self.round_shares_mbps(&moves);
        for (m, bw) in moves.into_iter().zip(shares) {
            if !self.vms[m.vm].movable() || self.vms[m.vm].node != Some(m.src) {
                continue;
            }
            let current = self.booked_util(m.src);
            let why = if m.consolidation {
                format!(
                    "host {} is the least utilized: emptying it",
                    self.nodes[m.src].id
                )
            } else {
                format!(
                    "host {} at {current:.2} is overloaded",
                    self.nodes[m.src].id
                )
            };
            let (decision, est) =
                self.baseline_decision(b, m.vm, m.src, m.dst, current, m.after, bw, &why, now);
            self.decision_counts[action_index(Act::Migrate)] += 1;
            self.start_migration(m.vm, decision, Some(est), Some(m.after), now);
        }
    }

    /// The index in `vms` (sorted by index) of the VM the policy's selection takes.
    fn select_vm(&mut self, vms: &[usize]) -> usize {
        let argmin = |key: &dyn Fn(usize) -> f64| {
            let mut best = (f64::MAX, 0);
            for (k, &v) in vms.iter().enumerate() {
                let x = key(v);
                if x < best.0 {
                    best = (x, k);
                }
            }
            best.1
        };
        let mmt = |s: &Self| argmin(&|v| s.vms[v].memory_mib as f64);
        match self.sc.sim.vm_selection {
            VmSelection::Mmt => mmt(self),
            VmSelection::Mu => argmin(&|v| {
                let x = &self.vms[v];
                x.capped_demand() / x.alloc_cores()
            }),
            VmSelection::Rs => (self.rng_selection.uniform() * vms.len() as f64) as usize,
            VmSelection::Mc => {
                let hists: Vec<Vec<f64>> = vms
                    .iter()
                    .map(|&v| self.vms[v].hist.ordered().into_iter().rev().collect())
                    .collect();
                crate::baselines::max_correlation(&hists).unwrap_or_else(|| mmt(self))
            }
        }
    }

    /// Power-aware best fit decreasing: `vms` by decreasing CPU demand, each to the
    /// node whose power rises least with it; a VM that finds none stays. `wake`: nodes
    /// that are off may be used (overload relief; else the moves are consolidation's).
    fn place(
        &self,
        d: &Detect,
        mut vms: Vec<usize>,
        excluded: &[bool],
        wake: bool,
        tent: &mut Tentative,
    ) -> Vec<Move> {
        let demand = |v: usize| self.vms[v].capped_demand();
        vms.sort_by(|&a, &c| demand(c).total_cmp(&demand(a)).then(a.cmp(&c)));
        let mut moves = Vec::new();
        for v in vms {
            let Some(src) = self.vms[v].node else {
                continue;
            };
            if let Some((dst, after)) = self.find_node(d, v, Some(src), excluded, wake, tent) {
                tent.cores[dst] += self.vms[v].capped_demand_on(self.nodes[dst].core_speed);
                tent.mem_mib[dst] += self.vms[v].memory_mib;
                if self.vms[v].anti_affinity.is_some() {
                    tent.spread.push((dst, v));
                }
                moves.push(Move {
                    vm: v,
                    src,
                    dst,
                    after,
                    consolidation: !wake,
                });
            }
        }
        moves
    }

    /// `findHostForVm` on scalelab's nodes: with room for the VM's memory, a path to
    /// its host (`src`; none for an arriving VM), not excluded, at most 100 % with it
    /// and not overloaded by it (a node with nothing on it is not asked); the least power increase wins, then the
    /// fullest, then the lower index. The node's utilization with the VM comes with it.
    fn find_node(
        &self,
        d: &Detect,
        v: usize,
        src: Option<usize>,
        excluded: &[bool],
        wake: bool,
        tent: &Tentative,
    ) -> Option<(usize, f64)> {
        let vm = &self.vms[v];
        let mut best: Option<(f64, f64, usize)> = None;
        for (t, node) in self.nodes.iter().enumerate() {
            let asleep = node.asleep();
            if src == Some(t) || excluded[t] || !(node.up || (wake && asleep)) {
                continue;
            }
            if node.free_mem_mib() < vm.memory_mib + tent.mem_mib[t]
                || src.is_some_and(|s| self.nominal_path_mbps(s, t) <= 0.0)
            {
                continue;
            }
            if self.breaks_anti_affinity(v, t, &tent.spread) {
                continue;
            }
            let before = self.booked_util(t) + tent.cores[t] / node.cores;
            let after = before + vm.capped_demand_on(node.core_speed) / node.cores;
            if after > 1.0 {
                continue;
            }
            let increase = node.power.as_ref().map_or(0.0, |w| {
                let now_w = if asleep { 0.0 } else { power_w(w, before) };
                power_w(w, after) - now_w
            });
            let better =
                best.is_none_or(|(bi, ba, _)| increase < bi || (increase == bi && after > ba));
            if !better {
                continue;
            }
            let occupied = before > 0.0 || !self.node_vms[t].is_empty();
            if occupied && self.overloaded_by(d, t, after - self.booked_util(t)) {
                continue;
            }
            best = Some((increase, after, t));
        }
        best.map(|(_, after, t)| (t, after))
    }

    /// Where a Beloglazov baseline puts an arriving VM: as CloudSim places a new VM,
    /// by power-aware best fit over every node that is not crashed (one that is off is
    /// powered on for it); `None` when none can take it without overload.
    pub(super) fn power_aware_arrival(
        &mut self,
        b: Baseline,
        v: usize,
        now: TimeMs,
    ) -> Option<usize> {
        let d = self.detect(b);
        let n = self.nodes.len();
        let tent = Tentative::new(n);
        let (t, _) = self.find_node(&d, v, None, &vec![false; n], true, &tent)?;
        self.power_on(t, now, "a VM arrived for it");
        Some(t)
    }

    /// `getMigrationMapFromUnderUtilizedHosts`: the least utilized node first, all of
    /// its VMs onto nodes that are on and not empty, or none; the nodes that take VMs
    /// are not emptied in the same round, nor are overloaded nodes, nodes that are off
    /// or have migrations in flight, or nodes this round already sends VMs from.
    fn consolidate(
        &self,
        d: &Detect,
        over: &[usize],
        relief: &[Move],
        tent: &mut Tentative,
    ) -> Vec<Move> {
        let n = self.nodes.len();
        let mut no_src = vec![false; n];
        let mut no_dst = vec![false; n];
        for &h in over {
            no_src[h] = true;
            no_dst[h] = true;
        }
        for m in relief {
            no_src[m.src] = true;
            no_src[m.dst] = true;
        }
        // Nodes with nothing on them are about to switch off: not targets (CloudSim
        // excludes its switched-off hosts, those at 0 %).
        for (h, dst) in no_dst.iter_mut().enumerate() {
            *dst |= self.node_vms[h].is_empty() && self.booked_util(h) == 0.0;
        }
        let mut order: Vec<usize> = (0..n)
            .filter(|&h| {
                let x = &self.nodes[h];
                x.up && x.migrations == 0 && x.reserved_cores == 0.0 && !self.node_vms[h].is_empty()
            })
            .collect();
        order.sort_by(|&a, &c| {
            self.booked_util(a)
                .total_cmp(&self.booked_util(c))
                .then(a.cmp(&c))
        });
        let mut moves = Vec::new();
        for h in order {
            if no_src[h] {
                continue;
            }
            no_src[h] = true;
            no_dst[h] = true;
            let vms: Vec<usize> = self.node_vms[h].iter().map(|&v| v as usize).collect();
            if vms.iter().any(|&v| !self.vms[v].movable()) {
                continue;
            }
            let mut trial = tent.clone();
            let placed = self.place(d, vms.clone(), &no_dst, false, &mut trial);
            if placed.len() < vms.len() {
                continue;
            }
            *tent = trial;
            for m in &placed {
                no_src[m.dst] = true;
            }
            moves.extend(placed);
        }
        moves
    }

    /// What each of the round's moves will get of the network, max-min shared with
    /// the migrations in flight (before switchover) and the rest of the round's.
    fn round_shares_mbps(&self, moves: &[Move]) -> Vec<f64> {
        let mut flows: Vec<Flow> = self
            .active
            .iter()
            .filter(|&&m| !self.migs[m].phase.switched())
            .map(|&m| self.flow_between(usize::MAX, self.migs[m].src, self.migs[m].dst))
            .collect();
        let base = flows.len();
        flows.extend(
            moves
                .iter()
                .enumerate()
                .map(|(k, m)| self.flow_between(k, m.src, m.dst)),
        );
        let caps: Vec<f64> = self
            .nodes
            .iter()
            .map(|x| {
                if x.usable() {
                    x.nic_mbps * x.nic_factor
                } else {
                    0.0
                }
            })
            .collect();
        fair_rates(&flows, &caps)[base..].to_vec()
    }

    /// OpenStack Watcher's `workload_balance` audit: the busiest host above 25 %, the
    /// VM whose departure leaves it closest to the cluster average, the least loaded
    /// host that stays under 25 % with it; one migration per audit.
    fn watcher_round(&mut self, now: TimeMs) {
        use crate::baselines::WATCHER_THRESHOLD;
        let b = Baseline::Watcher;
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].up)
            .collect();
        if up.is_empty() {
            return;
        }
        let avg = up.iter().map(|&n| self.booked_util(n)).sum::<f64>() / up.len() as f64;
        let Some(src) = up
            .iter()
            .copied()
            .filter(|&n| self.booked_util(n) > WATCHER_THRESHOLD)
            .max_by(|&a, &c| {
                self.booked_util(a)
                    .total_cmp(&self.booked_util(c))
                    .then(c.cmp(&a))
            })
        else {
            return;
        };
        let cores = self.nodes[src].cores;
        let projected = self.booked_util(src);
        let mut vms: Vec<usize> = self.node_vms[src]
            .iter()
            .map(|&v| v as usize)
            .filter(|&v| self.vms[v].movable())
            .collect();
        vms.sort_by(|&a, &c| {
            let after = |v: usize| (projected - self.vms[v].demand_cores / cores - avg).abs();
            after(a).total_cmp(&after(c)).then(a.cmp(&c))
        });
        for vm in vms {
            let v = &self.vms[vm];
            let mem = v.memory_mib;
            let best = up
                .iter()
                .copied()
                .filter(|&t| {
                    t != src
                        && self.nodes[t].free_mem_mib() >= mem
                        && self.path_capacity_mbps(src, t) > 0.0
                        && !self.breaks_anti_affinity(vm, t, &[])
                })
                .map(|t| {
                    let n = &self.nodes[t];
                    (
                        self.booked_util(t) + v.capped_demand_on(n.core_speed) / n.cores,
                        t,
                    )
                })
                .filter(|&(post, _)| post <= WATCHER_THRESHOLD)
                .min_by(|a, c| a.0.total_cmp(&c.0).then(a.1.cmp(&c.1)));
            let Some((post, dst)) = best else { continue };
            let bw = self.path_capacity_mbps(src, dst);
            let why = format!(
                "host {} at {projected:.2} is overloaded",
                self.nodes[src].id
            );
            let (decision, est) =
                self.baseline_decision(b, vm, src, dst, projected, post, bw, &why, now);
            self.decision_counts[action_index(Act::Migrate)] += 1;
            self.start_migration(vm, decision, Some(est), Some(post), now);
            return;
        }
    }

    /// A MIGRATE decision with a full plan for a baseline's choice, so the same
    /// executor runs it and expected vs actual is measured the same way (expected =
    /// the target's utilization with the VM). `bw_mbps`: what the migration is
    /// expected to get of the network; `why`: the reason, for the reasoning.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn baseline_decision(
        &self,
        b: Baseline,
        vm: usize,
        src: usize,
        dst: usize,
        current: f64,
        post: f64,
        bw_mbps: f64,
        why: &str,
        now: TimeMs,
    ) -> (ScalingDecision, PreCopyEstimate) {
        use scalelab_engine::planner::{PlanInputs, build_plan};
        let v = &self.vms[vm];
        let bw = bw_mbps;
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
                "{}: {why}; moving {} ({} MiB) to {} ({post:.2} after)",
                b.name(),
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
