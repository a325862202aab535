//! The Beloglazov & Buyya policies as CloudSim 3.0.3 runs them
//! (`PowerVmAllocationPolicyMigrationAbstract` and its subclasses, the
//! `PowerVmSelectionPolicy*` classes): overload detection, VM selection, power-aware
//! best fit decreasing, and underload consolidation.

use crate::baselines::{
    Baseline, FALLBACK_THR, LR_WINDOW, MIN_HISTORY, VmSelection, cloudsim_stats,
};
use crate::rng::Pcg32;

use super::model::{Cluster, power_w};

/// One planned move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    pub vm: usize,
    pub target: usize,
    /// The target's utilization with the VM, as the placement estimated it.
    pub expected_util: f64,
    /// Whether the move relieves an overloaded host (else it empties an underloaded one).
    pub overload: bool,
}

/// A baseline with its parameter and VM selection.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub detect: Baseline,
    pub parameter: f64,
    pub selection: VmSelection,
    pub consolidate: bool,
}

impl Policy {
    /// `isHostOverUtilized` of the policy, on the host's VMs as now listed (so a VM
    /// removed or added tentatively this round counts as gone or there).
    pub fn overloaded(&self, c: &Cluster, h: usize) -> bool {
        match self.detect {
            Baseline::Thr => c.requested_util(h) > self.parameter,
            Baseline::Iqr | Baseline::Mad => {
                let hist = c.host_history(h);
                if hist.len() < MIN_HISTORY {
                    return c.requested_util(h) > FALLBACK_THR;
                }
                let spread = if self.detect == Baseline::Iqr {
                    cloudsim_stats::iqr(&hist)
                } else {
                    cloudsim_stats::mad(&hist)
                };
                c.requested_util(h) > 1.0 - self.parameter * spread
            }
            Baseline::Lr | Baseline::Lrr => {
                let hist = c.host_history(h);
                if hist.len() < LR_WINDOW {
                    return c.requested_util(h) > FALLBACK_THR;
                }
                // Newest first in the history; the fit runs oldest first.
                let y: Vec<f64> = hist[..LR_WINDOW].iter().rev().copied().collect();
                let (a, b) = cloudsim_stats::ols(&y);
                let intervals = (max_migration_s(c, h) / c.interval_s).ceil();
                let predicted = (a + b * (LR_WINDOW as f64 + intervals)) * self.parameter;
                predicted >= 1.0
            }
            Baseline::NoMigration => false,
            // Refused by scenario validation under the CloudSim profile.
            Baseline::Watcher => false,
        }
    }

    /// The VM to move off an overloaded host, among those not already migrating.
    fn select(&self, c: &Cluster, h: usize, rng: &mut Pcg32) -> Option<usize> {
        let migratable: Vec<usize> = c.hosts[h]
            .vms
            .iter()
            .copied()
            .filter(|&v| !c.vms[v].in_migration)
            .collect();
        if migratable.is_empty() {
            return None;
        }
        let argmin = |key: &dyn Fn(usize) -> f64| {
            let mut best = (f64::MAX, None);
            for &v in &migratable {
                let k = key(v);
                if k < best.0 {
                    best = (k, Some(v));
                }
            }
            best.1
        };
        match self.selection {
            VmSelection::Mmt => argmin(&|v| c.vms[v].ram_mib as f64),
            VmSelection::Mu => argmin(&|v| c.vms[v].util),
            VmSelection::Rs => Some(migratable[(rng.uniform() * migratable.len() as f64) as usize]),
            VmSelection::Mc => {
                max_correlation(c, &migratable).or_else(|| argmin(&|v| c.vms[v].ram_mib as f64))
            }
        }
    }

    /// `optimizeAllocation`: the round's moves, overload relief first, then
    /// consolidation. The cluster is left as it was found.
    pub fn round(&self, c: &mut Cluster, rng: &mut Pcg32) -> Vec<Move> {
        let over: Vec<usize> = (0..c.hosts.len())
            .filter(|&h| self.overloaded(c, h))
            .collect();
        let saved: Vec<(usize, Vec<usize>)> = (0..c.hosts.len())
            .map(|h| {
                let host = &c.hosts[h];
                let vms = host
                    .vms
                    .iter()
                    .copied()
                    .filter(|v| !host.migrating_in.contains(v))
                    .collect();
                (h, vms)
            })
            .collect();
        let mut to_move = Vec::new();
        for &h in &over {
            while let Some(v) = self.select(c, h, rng) {
                to_move.push(v);
                c.vm_destroy(h, v);
                if !self.overloaded(c, h) {
                    break;
                }
            }
        }
        let mut excluded = vec![false; c.hosts.len()];
        for &h in &over {
            excluded[h] = true;
        }
        let mut moves = self.place(c, to_move, &excluded, false, true);
        if self.consolidate {
            moves.extend(self.consolidate(c, &over));
        }
        // restoreAllocation.
        for h in 0..c.hosts.len() {
            c.reset_host(h);
        }
        for (h, vms) in saved {
            for v in vms {
                c.vm_create(h, v);
            }
        }
        moves
    }

    /// Power-aware best fit decreasing: the VMs by decreasing MIPS, each to the host
    /// whose power rises least. `all_or_none`: undo and give nothing when one VM finds
    /// no host (consolidation).
    fn place(
        &self,
        c: &mut Cluster,
        mut vms: Vec<usize>,
        excluded: &[bool],
        all_or_none: bool,
        overload: bool,
    ) -> Vec<Move> {
        // Stable, decreasing by the MIPS each VM uses now.
        vms.sort_by(|&a, &b| {
            let (ua, ub) = (
                c.vms[a].util * c.vms[a].total_mips(),
                c.vms[b].util * c.vms[b].total_mips(),
            );
            ub.total_cmp(&ua)
        });
        let mut moves: Vec<Move> = Vec::new();
        for v in vms {
            match self.find_host(c, v, excluded) {
                Some((h, u)) => {
                    c.vm_create(h, v);
                    moves.push(Move {
                        vm: v,
                        target: h,
                        expected_util: u,
                        overload,
                    });
                }
                None if all_or_none => {
                    for m in &moves {
                        c.vm_destroy(m.target, m.vm);
                    }
                    return Vec::new();
                }
                None => {}
            }
        }
        moves
    }

    /// `findHostForVm`: among suitable hosts that are not excluded and would not be
    /// overloaded with the VM (a host with nothing allocated is not asked), the one
    /// with the least power increase; with the host's utilization after.
    pub fn find_host(&self, c: &mut Cluster, v: usize, excluded: &[bool]) -> Option<(usize, f64)> {
        let mut best: Option<(f64, usize, f64)> = None;
        // Of the pristine hosts of a kind only the first can win (ties go to the lower
        // index, and they tie on everything), so the others are not asked.
        let mut pristine_seen: Vec<u32> = Vec::new();
        for (h, &out) in excluded.iter().enumerate() {
            if out {
                continue;
            }
            if c.hosts[h].pristine() {
                let kind = c.hosts[h].kind;
                if pristine_seen.contains(&kind) {
                    continue;
                }
                pristine_seen.push(kind);
            }
            if !c.suitable(h, v) {
                continue;
            }
            let allocated = c.hosts[h].allocated_mips();
            let after = (allocated + c.vms[v].req_total()) / c.hosts[h].total_mips;
            // CloudSim stops the simulation here (its power model refuses more than
            // 100 %); a host that cannot take the VM is skipped instead.
            if after > 1.0 {
                continue;
            }
            let host = &c.hosts[h];
            let diff = power_w(&host.power, after) - host.power_now_w();
            // The overload check (a tentative placement) only for a host that would
            // win: the choice is the same as CloudSim's, which checks every host.
            if best.is_some_and(|(d, _, _)| diff >= d) {
                continue;
            }
            if allocated != 0.0 && self.overloaded_with(c, h, v) {
                continue;
            }
            best = Some((diff, h, after));
        }
        best.map(|(_, h, u)| (h, u))
    }

    /// `isHostOverUtilizedAfterAllocation`.
    fn overloaded_with(&self, c: &mut Cluster, h: usize, v: usize) -> bool {
        // Where the VM is listed now, so that the tentative create cannot move it.
        let home = c.vms[v].host;
        if !c.vm_create(h, v) {
            return true;
        }
        let over = self.overloaded(c, h);
        c.vm_destroy(h, v);
        c.vms[v].host = home;
        over
    }

    /// `getMigrationMapFromUnderUtilizedHosts`: the least utilized host first; all its
    /// VMs move or none. As in CloudSim, the targets of this round's overload moves
    /// are not excluded, so a VM placed on a host this round can be moved on again.
    fn consolidate(&self, c: &mut Cluster, over: &[usize]) -> Vec<Move> {
        // Utilization at the last update does not change during the round: candidates
        // in the order `getUnderUtilizedHost` would pick them (least first, then the
        // lower index).
        let mut by_util: Vec<usize> = (0..c.hosts.len())
            .filter(|&h| {
                let u = c.hosts[h].util();
                u > 0.0 && u < 1.0
            })
            .collect();
        by_util.sort_by(|&a, &b| {
            c.hosts[a]
                .util()
                .total_cmp(&c.hosts[b].util())
                .then(a.cmp(&b))
        });
        let mut cursor = 0;
        let n = c.hosts.len();
        let mut excluded_src = vec![false; n];
        let mut n_excluded = 0;
        let exclude = |set: &mut Vec<bool>, h: usize, count: &mut usize| {
            if !set[h] {
                set[h] = true;
                *count += 1;
            }
        };
        for &h in over {
            exclude(&mut excluded_src, h, &mut n_excluded);
        }
        for h in 0..n {
            if c.hosts[h].util() == 0.0 {
                exclude(&mut excluded_src, h, &mut n_excluded);
            }
        }
        let mut excluded_dst = excluded_src.clone();
        let mut moves = Vec::new();
        while n_excluded < n {
            let Some(h) = underloaded(c, &by_util, &mut cursor, &excluded_src) else {
                break;
            };
            exclude(&mut excluded_src, h, &mut n_excluded);
            excluded_dst[h] = true;
            let vms: Vec<usize> = c.hosts[h]
                .vms
                .iter()
                .copied()
                .filter(|&v| !c.vms[v].in_migration)
                .collect();
            if vms.is_empty() {
                continue;
            }
            let placed = self.place(c, vms, &excluded_dst, true, false);
            for m in &placed {
                exclude(&mut excluded_src, m.target, &mut n_excluded);
            }
            moves.extend(placed);
        }
        moves
    }
}

/// `areAllVmsMigratingOutOrAnyVmMigratingIn`, read as CloudSim reads it: the first VM
/// not in migration answers no, unless a migrating-in VM came before it; an empty host
/// answers yes.
fn only_moving(c: &Cluster, h: usize) -> bool {
    let host = &c.hosts[h];
    for &v in &host.vms {
        if !c.vms[v].in_migration {
            return false;
        }
        if host.migrating_in.contains(&v) {
            return true;
        }
    }
    true
}

/// `getUnderUtilizedHost`: the least utilized host (at the last update) that is not
/// excluded, runs something, and is not only sending VMs away or receiving one. Hosts
/// excluded once stay excluded, so the scan resumes where it stopped.
fn underloaded(
    c: &Cluster,
    by_util: &[usize],
    cursor: &mut usize,
    excluded: &[bool],
) -> Option<usize> {
    while *cursor < by_util.len() && excluded[by_util[*cursor]] {
        *cursor += 1;
    }
    let mut k = *cursor;
    while k < by_util.len() {
        let h = by_util[k];
        if !excluded[h] && !only_moving(c, h) {
            return Some(h);
        }
        k += 1;
    }
    None
}

/// `getMaximumVmMigrationTime`: the largest memory on the host over half its link.
fn max_migration_s(c: &Cluster, h: usize) -> f64 {
    let host = &c.hosts[h];
    let ram = host
        .vms
        .iter()
        .map(|&v| c.vms[v].ram_mib)
        .max()
        .unwrap_or(0);
    super::migration_time_s(ram, host.bw_kbps)
}

/// Maximum correlation over the VMs' CPU histories (newest first), as CloudSim's
/// `PowerVmSelectionPolicyMaximumCorrelation` reads them.
fn max_correlation(c: &Cluster, vms: &[usize]) -> Option<usize> {
    let hists: Vec<Vec<f64>> = vms
        .iter()
        .map(|&v| c.vms[v].history.iter().copied().collect())
        .collect();
    crate::baselines::max_correlation(&hists).map(|i| vms[i])
}
