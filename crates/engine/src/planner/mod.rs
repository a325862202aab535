//! One control round of the cluster-level planner.
//!
//! The per-VM rule can flag many VMs at once; executing all of them would overcommit
//! targets and flood NICs. The planner decides which candidates actually migrate:
//! it reserves target capacity as it goes (so two migrations never overcommit one
//! node), enforces per-node and cluster-wide caps on concurrent migrations, and, with
//! the node-level strategies, stops moving VMs off a node once the planned departures
//! bring it under `migrate_current`.

pub mod build;
pub mod consolidate;

use std::collections::BTreeMap;

use crate::cluster::{ClusterIndex, Need, NoTarget, Target, VmSnapshot};
use crate::policy::{PolicyConfig, VmSelection};
use crate::precopy::{PreCopyEstimate, PreCopyParams, estimate, mbps_to_mib_s};

pub use build::{
    CLEANUP_EXPECTED_S, PlanInputs, VALIDATION_EXPECTED_S, VERIFICATION_EXPECTED_S, build_plan,
    expected_completion_s, source_relief_pct, timeout_for,
};

/// A migration the planner accepted; the target is already reserved in the index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedMigration {
    pub vm: usize,
    pub source: usize,
    pub target: Target,
    pub estimate: PreCopyEstimate,
}

/// Why a candidate does not migrate this round.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    NoTarget(NoTarget),
    NodeCap {
        node: usize,
    },
    ClusterCap,
    /// Earlier departures already bring the source under the threshold.
    SourceRelieved {
        projected_utilization: f64,
    },
    /// Pre-copy would not converge or would pause the VM too long.
    WouldNotConverge {
        estimate: PreCopyEstimate,
    },
    /// Another migration on this node would get less bandwidth than its plan needs.
    SharedBandwidth {
        node: usize,
    },
}

impl Rejection {
    pub fn describe(&self, index: &ClusterIndex<'_>, p: &PolicyConfig) -> String {
        match self {
            Self::NoTarget(n) => n.to_string(),
            Self::NodeCap { node } => format!(
                "node {} already has {} migration(s) in flight (cap {})",
                index.snapshot.nodes[*node].id,
                index.node_migrations(*node),
                p.planner.max_migrations_per_node
            ),
            Self::ClusterCap => format!(
                "the cluster already has {} migration(s) in flight (cap {})",
                index.cluster_migrations(),
                p.planner.max_migrations_cluster
            ),
            Self::SourceRelieved {
                projected_utilization,
            } => format!(
                "other VMs planned to leave this host bring it to {projected_utilization:.2}, \
                 at or below {:.2}",
                p.migrate_current
            ),
            Self::WouldNotConverge { estimate } => format!(
                "pre-copy would not converge in time at the bandwidth it would get \
                 (estimated downtime {:.1} s > {:.1} s limit)",
                estimate.downtime_s,
                p.migration.max_estimated_downtime_ms as f64 / 1000.0
            ),
            Self::SharedBandwidth { node } => format!(
                "sharing node {}'s NIC would slow a migration there below the rate its plan needs",
                index.snapshot.nodes[*node].id
            ),
        }
    }
}

pub type Outcome = (usize, Result<PlannedMigration, Rejection>);

/// The cluster's and the source's caps on migrations in flight leave room for `vm`'s.
fn caps_allow(index: &ClusterIndex<'_>, vm: usize) -> Result<(), Rejection> {
    let source = index.vm_node(vm);
    if index.cluster_cap_reached() {
        return Err(Rejection::ClusterCap);
    }
    if index.node_cap_reached(source) {
        return Err(Rejection::NodeCap { node: source });
    }
    Ok(())
}

/// Try to migrate `vm`: caps, target, model check, then reserve.
pub fn try_place(
    index: &mut ClusterIndex<'_>,
    p: &PolicyConfig,
    params: &PreCopyParams,
    vm: usize,
) -> Result<PlannedMigration, Rejection> {
    caps_allow(index, vm)?;
    // A node that is on first; a switched-off one (powered on for it) only if none is.
    let target = index
        .select_target(vm)
        .or_else(|why| index.select_off_target(vm).ok_or(why))
        .map_err(Rejection::NoTarget)?;
    place_at(index, p, params, vm, target)
}

/// Consolidation's [`try_place`]: the caps, then the fullest node that stays under
/// the consolidation ceiling (never one of `excluded`, the hosts being emptied).
pub fn try_pack(
    index: &mut ClusterIndex<'_>,
    p: &PolicyConfig,
    params: &PreCopyParams,
    vm: usize,
    excluded: &[bool],
) -> Result<PlannedMigration, Rejection> {
    caps_allow(index, vm)?;
    let target = index
        .select_packing_target(vm, p.consolidation.target_ceiling, excluded)
        .map_err(Rejection::NoTarget)?;
    place_at(index, p, params, vm, target)
}

/// A chosen target, if the pre-copy model and the network agree: estimate at the
/// share the migration will get, check it converges and squeezes no other
/// migration below its plan, then reserve.
fn place_at(
    index: &mut ClusterIndex<'_>,
    p: &PolicyConfig,
    params: &PreCopyParams,
    vm: usize,
    mut target: crate::cluster::Target,
) -> Result<PlannedMigration, Rejection> {
    let source = index.vm_node(vm);
    // Concurrent migrations share NICs: estimate with the share this one gets next to
    // the migrations already at its busier end (in flight and planned), so that a VM
    // on an idle link is not refused for a contention that is not there, and one on a
    // busy link gets timeouts that allow for it.
    let cap = p.migration.max_bandwidth_mbps;
    target.path_bandwidth_mbps = index.expected_share_mbps(source, target.node, cap);
    let v = &index.snapshot.vms[vm];
    let est = estimate_at(v, target.path_bandwidth_mbps, params);
    let max_downtime_s = p.migration.max_estimated_downtime_ms as f64 / 1000.0;
    if !est.converges || est.downtime_s > max_downtime_s {
        return Err(Rejection::WouldNotConverge { estimate: est });
    }
    // And it must not squeeze the others: a migration whose plan is out keeps what
    // its plan needs; one planned this round must still converge (its estimate and
    // timeouts follow the round's final sharing).
    let plus = Some((source, target.node));
    for s in index.shares_near(source, target.node) {
        let share = index.share_mbps(s, plus);
        let fits = match s.open_vm {
            None => share >= s.need.mbps(params) * (1.0 - 1e-9),
            Some(other) => {
                let e = estimate_at(&index.snapshot.vms[other], share, params);
                e.converges && e.downtime_s <= max_downtime_s
            }
        };
        if !fits {
            let node = if s.source == source || s.source == target.node {
                s.source
            } else {
                s.target
            };
            return Err(Rejection::SharedBandwidth { node });
        }
    }
    index.reserve_with_share(vm, target.node, cap);
    Ok(PlannedMigration {
        vm,
        source,
        target,
        estimate: est,
    })
}

/// The pre-copy model for a VM of the snapshot on a flow of `mbps`.
fn estimate_at(v: &VmSnapshot, mbps: f64, params: &PreCopyParams) -> PreCopyEstimate {
    estimate(
        v.memory_mib as f64,
        v.dirty_rate_mib_s,
        mbps_to_mib_s(mbps),
        params,
    )
}

/// End of a round: every migration planned in it is estimated at the share it gets
/// next to all the others (so its plan's timeouts allow for the sharing), and from
/// then on held to what that plan needs.
pub(crate) fn settle_round(
    index: &mut ClusterIndex<'_>,
    p: &PolicyConfig,
    params: &PreCopyParams,
    out: &mut [Outcome],
) {
    let max_downtime_s = p.migration.max_estimated_downtime_ms as f64 / 1000.0;
    let finals: Vec<(usize, f64)> = index
        .open_shares()
        .map(|s| (s.open_vm.unwrap_or(0), index.share_mbps(s, None)))
        .collect();
    let mut needs = Vec::with_capacity(finals.len());
    let at: std::collections::HashMap<usize, usize> = out
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| r.is_ok())
        .map(|(i, (vm, _))| (*vm, i))
        .collect();
    for &(vm, share) in &finals {
        let v = &index.snapshot.vms[vm];
        let planned = at.get(&vm).and_then(|&i| out[i].1.as_mut().ok());
        let est = match planned {
            Some(m) => {
                // Only a migration someone joined needs a new estimate.
                if m.target.path_bandwidth_mbps != share {
                    m.target.path_bandwidth_mbps = share;
                    m.estimate = estimate_at(v, share, params);
                }
                m.estimate
            }
            None => estimate_at(v, share, params),
        };
        needs.push(Need::Plan {
            memory_mib: v.memory_mib as f64,
            dirty_rate_mib_s: v.dirty_rate_mib_s,
            precopy_timeout_s: timeout_for(est.precopy_time_s, &p.migration) as f64,
            stop_copy_s: (timeout_for(est.downtime_s, &p.migration) as f64).min(max_downtime_s),
            planned_mbps: share,
            found: std::cell::Cell::new(None),
        });
    }
    for (s, need) in index.open_shares_mut().zip(needs) {
        s.need = need;
        s.open_vm = None;
    }
}

/// The least bandwidth at which a migration of `memory_mib` dirtying
/// `dirty_rate_mib_s` still converges and finishes pre-copy within `precopy_timeout_s`
/// and stop-and-copy within `stop_copy_s`: what its plan needs of its path, found by
/// bisection below `planned_mbps` (the rate it was planned at; returned when even that
/// does not hold).
pub fn tolerable_mbps(
    memory_mib: f64,
    dirty_rate_mib_s: f64,
    precopy_timeout_s: f64,
    stop_copy_s: f64,
    params: &PreCopyParams,
    planned_mbps: f64,
) -> f64 {
    let holds = |mbps: f64| {
        let e = estimate(memory_mib, dirty_rate_mib_s, mbps_to_mib_s(mbps), params);
        e.converges && e.precopy_time_s <= precopy_timeout_s && e.downtime_s <= stop_copy_s
    };
    if planned_mbps.is_nan() || planned_mbps <= 0.0 || !holds(planned_mbps) {
        return planned_mbps.max(0.0);
    }
    let (mut lo, mut hi) = (0.0, planned_mbps);
    for _ in 0..16 {
        let mid = 0.5 * (lo + hi);
        if holds(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Plan one round over `candidates` (VM indices whose MIGRATE rule fired). Returns one
/// outcome per candidate, in a deterministic order that does not depend on the order
/// of `candidates`.
pub fn plan_round(
    index: &mut ClusterIndex<'_>,
    p: &PolicyConfig,
    candidates: &[usize],
) -> Vec<Outcome> {
    let params = PreCopyParams::from(&p.migration);
    let snap = index.snapshot;
    let mut out = Vec::with_capacity(candidates.len());
    match p.planner.vm_selection {
        VmSelection::PerVmRule => {
            // Hottest hosts first, then VM id: deterministic and relieves the worst first.
            let mut order: Vec<(f64, &str, usize)> = candidates
                .iter()
                .map(|&vm| {
                    (
                        index.node_utilization(index.vm_node(vm)),
                        snap.vms[vm].id.as_str(),
                        vm,
                    )
                })
                .collect();
            order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            order.dedup_by_key(|x| x.2);
            for (_, _, vm) in order {
                out.push((vm, try_place(index, p, &params, vm)));
            }
        }
        VmSelection::MinimumMigrationTime
        | VmSelection::LargestRelief
        | VmSelection::ReliefPerByte => {
            let mut by_node: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for &vm in candidates {
                by_node.entry(index.vm_node(vm)).or_default().push(vm);
            }
            let mut nodes: Vec<(f64, &str, usize)> = by_node
                .keys()
                .map(|&n| (index.node_utilization(n), snap.nodes[n].id.as_str(), n))
                .collect();
            nodes.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            for (_, _, node) in nodes {
                let mut vms = by_node.remove(&node).unwrap_or_default();
                vms.dedup();
                let key = |vm: usize| -> f64 {
                    let v = &snap.vms[vm];
                    match p.planner.vm_selection {
                        VmSelection::MinimumMigrationTime => {
                            estimate_at(v, snap.nodes[node].bandwidth_mbps, &params).total_time_s
                        }
                        VmSelection::ReliefPerByte => {
                            let sent = estimate_at(v, snap.nodes[node].bandwidth_mbps, &params)
                                .data_sent_mib;
                            -(v.cpu_demand_cores / sent.max(1.0))
                        }
                        _ => -v.cpu_demand_cores,
                    }
                };
                let mut keyed: Vec<(f64, &str, usize)> = vms
                    .iter()
                    .map(|&vm| (key(vm), snap.vms[vm].id.as_str(), vm))
                    .collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
                let cores = snap.nodes[node].cores;
                let mut relieved = 0.0;
                for (_, _, vm) in keyed {
                    let projected = index.node_utilization(node) - relieved / cores;
                    if relieved > 0.0 && projected <= p.migrate_current {
                        out.push((
                            vm,
                            Err(Rejection::SourceRelieved {
                                projected_utilization: projected,
                            }),
                        ));
                        continue;
                    }
                    let r = try_place(index, p, &params, vm);
                    if r.is_ok() {
                        relieved += snap.vms[vm].cpu_demand_cores;
                    }
                    out.push((vm, r));
                }
            }
        }
    }
    settle_round(index, p, &params, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterSnapshot;
    use crate::cluster::tests::{node, vm};

    fn policy(sel: VmSelection) -> PolicyConfig {
        let mut p = PolicyConfig::default();
        p.planner.vm_selection = sel;
        p
    }

    fn hot_cluster() -> ClusterSnapshot {
        ClusterSnapshot {
            nodes: vec![
                node("hot", 16.0, 0.95, 4096, "r1"),
                node("t1", 16.0, 0.3, 16384, "r1"),
                node("t2", 16.0, 0.35, 16384, "r1"),
            ],
            vms: vec![
                vm("a", "hot", 6.0, 4096),
                vm("b", "hot", 4.0, 2048),
                vm("c", "hot", 5.0, 8192),
            ],
            ..Default::default()
        }
    }

    fn planned(out: &[Outcome], s: &ClusterSnapshot) -> Vec<(String, String)> {
        out.iter()
            .filter_map(|(vm, r)| {
                r.as_ref()
                    .ok()
                    .map(|m| (s.vms[*vm].id.clone(), s.nodes[m.target.node].id.clone()))
            })
            .collect()
    }

    #[test]
    fn reservations_prevent_overcommit() {
        // Each target can take at most 0.7*16 - load: t1 has 6.4 cores free, t2 5.6.
        let s = hot_cluster();
        let mut p = policy(VmSelection::PerVmRule);
        p.planner.max_migrations_per_node = 3;
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0, 1, 2]);
        let got = planned(&out, &s);
        // a (6 cores) -> t1 (0.3 -> 0.675); b (4) -> t2 (0.35 -> 0.6); c (5) fits nowhere.
        assert_eq!(
            got,
            vec![("a".into(), "t1".into()), ("b".into(), "t2".into())]
        );
        for n in 0..s.nodes.len() {
            assert!(idx.node_utilization(n) <= 0.7 + 1e-12 || n == 0);
        }
        assert!(matches!(out[2].1, Err(Rejection::NoTarget(_))));
    }

    #[test]
    fn per_node_cap_limits_departures() {
        let s = hot_cluster();
        let mut p = policy(VmSelection::PerVmRule);
        p.planner.max_migrations_per_node = 1;
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0, 1, 2]);
        assert_eq!(planned(&out, &s).len(), 1);
        assert!(matches!(out[1].1, Err(Rejection::NodeCap { node: 0 })));
    }

    #[test]
    fn cluster_cap_counts_in_flight() {
        let mut s = hot_cluster();
        s.in_flight.push(crate::cluster::InFlightMigration {
            vm_id: "x".into(),
            source_node_id: "t1".into(),
            target_node_id: "t2".into(),
            min_share_mbps: None,
        });
        let mut p = policy(VmSelection::PerVmRule);
        p.planner.max_migrations_cluster = 2;
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0, 1, 2]);
        assert_eq!(planned(&out, &s).len(), 1);
        assert!(
            out.iter()
                .any(|(_, r)| matches!(r, Err(Rejection::ClusterCap)))
        );
    }

    #[test]
    fn minimum_migration_time_moves_smallest_memory_first_and_stops_when_relieved() {
        let s = hot_cluster();
        let p = policy(VmSelection::MinimumMigrationTime);
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0, 1, 2]);
        // b (2 GiB) first: 0.95 - 4/16 = 0.70 <= 0.75, so the others stay.
        assert_eq!(planned(&out, &s), vec![("b".into(), "t1".into())]);
        assert_eq!(out.len(), 3);
        assert!(
            out[1..]
                .iter()
                .all(|(_, r)| matches!(r, Err(Rejection::SourceRelieved { .. })))
        );
    }

    #[test]
    fn largest_relief_moves_biggest_demand_first() {
        let s = hot_cluster();
        let p = policy(VmSelection::LargestRelief);
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[2, 1, 0]);
        // a (6 cores): 0.95 - 6/16 = 0.575: relieved after one.
        assert_eq!(planned(&out, &s), vec![("a".into(), "t1".into())]);
    }

    #[test]
    fn relief_per_byte_moves_the_most_cpu_per_mib_first_and_stops_when_relieved() {
        // a: 6 cores / 4 GiB, b: 4 cores / 2 GiB, c: 5 cores / 8 GiB (no dirtying, so
        // each sends about its memory): b relieves most per MiB (1.95 cores/GiB), and
        // 0.95 - 4/16 = 0.70 <= 0.75 relieves the node.
        let s = hot_cluster();
        let p = policy(VmSelection::ReliefPerByte);
        assert_eq!(
            PolicyConfig::default().planner.vm_selection,
            VmSelection::ReliefPerByte
        );
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0, 1, 2]);
        assert_eq!(planned(&out, &s), vec![("b".into(), "t1".into())]);
        assert!(
            out.iter()
                .filter(|(vm, _)| *vm != 1)
                .all(|(_, r)| matches!(r, Err(Rejection::SourceRelieved { .. })))
        );
    }

    #[test]
    fn a_vm_is_not_sent_back_to_a_node_it_left_recently() {
        let mut s = hot_cluster();
        s.vms[1].recently_left = vec!["t1".into()];
        let p = policy(VmSelection::ReliefPerByte);
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[1]);
        // t1 is the emptier node, but b left it: t2.
        assert_eq!(planned(&out, &s), vec![("b".into(), "t2".into())]);
        s.vms[1].recently_left = vec!["t1".into(), "t2".into()];
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[1]);
        match &out[0].1 {
            Err(Rejection::NoTarget(why)) => {
                assert_eq!(why.recently_left, 2);
                assert!(
                    why.to_string().contains("left by this VM recently"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_converging_vm_is_rejected() {
        let mut s = hot_cluster();
        s.vms[0].dirty_rate_mib_s = 5000.0; // far above a 10 Gbit/s NIC
        let p = policy(VmSelection::PerVmRule);
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0]);
        assert!(matches!(out[0].1, Err(Rejection::WouldNotConverge { .. })));
        // Nothing was reserved for it.
        assert_eq!(idx.cluster_migrations(), 0);
    }

    /// A source and two targets on 1 Gbit/s NICs; VMs of 1 GiB on the source.
    fn gigabit(dirty_mib_s: f64, vms: usize) -> ClusterSnapshot {
        let mut n = vec![
            node("src", 16.0, 0.95, 4096, "r1"),
            node("t1", 16.0, 0.1, 16384, "r1"),
            node("t2", 16.0, 0.1, 16384, "r1"),
        ];
        for x in &mut n {
            x.bandwidth_mbps = 1000.0;
        }
        let vms = (0..vms)
            .map(|i| {
                let mut v = vm(&format!("v{i}"), "src", 1.0, 1024);
                v.dirty_rate_mib_s = dirty_mib_s;
                v
            })
            .collect();
        ClusterSnapshot {
            nodes: n,
            vms,
            ..Default::default()
        }
    }

    #[test]
    fn a_vm_that_converges_on_its_idle_link_is_planned_at_the_links_rate() {
        // 1 GiB dirtying 65 MiB/s on an idle 1 Gbit/s (119 MiB/s) path converges
        // (SimGrid: 21.5 s). Estimated at half the NIC, the old rule refused it.
        let s = gigabit(65.0, 1);
        let p = policy(VmSelection::PerVmRule);
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0]);
        let m = out[0].1.as_ref().expect("planned");
        assert_eq!(m.target.path_bandwidth_mbps, 1000.0);
        assert!(m.estimate.converges);
        // A second one on the same NIC would get 500 Mbit/s (60 MiB/s < 65): refused,
        // and the first keeps its full estimate.
        let s = gigabit(65.0, 2);
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0, 1]);
        assert!(
            out.iter().filter(|(_, r)| r.is_ok()).count() == 1,
            "{out:?}"
        );
        let refused = out.iter().find(|(_, r)| r.is_err()).unwrap();
        assert!(
            matches!(refused.1, Err(Rejection::WouldNotConverge { .. })),
            "{refused:?}"
        );
        let kept = out.iter().find_map(|(_, r)| r.as_ref().ok()).unwrap();
        assert_eq!(kept.target.path_bandwidth_mbps, 1000.0);
    }

    #[test]
    fn migrations_planned_together_are_estimated_at_the_share_they_get() {
        // Two quiet VMs leave the same NIC: both planned, both estimated (and so
        // timed) at half of it, the first too although it was planned alone.
        let s = gigabit(0.0, 2);
        let mut p = policy(VmSelection::PerVmRule);
        p.planner.max_migrations_per_node = 4;
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0, 1]);
        let planned: Vec<&PlannedMigration> =
            out.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
        assert_eq!(planned.len(), 2);
        for m in planned {
            assert_eq!(m.target.path_bandwidth_mbps, 500.0);
            // 1024 MiB at 97 % (goodput) of 59.6 MiB/s.
            let rate = mbps_to_mib_s(500.0) * p.migration.goodput_frac;
            assert!((m.estimate.precopy_time_s - 1024.0 / rate).abs() < 1e-6);
        }
    }

    #[test]
    fn a_migration_in_flight_keeps_the_rate_its_plan_needs() {
        // In flight from src to t1, needing 600 Mbit/s: one more from src would leave
        // it 500.
        let mut s = gigabit(0.0, 1);
        s.in_flight.push(crate::cluster::InFlightMigration {
            vm_id: "x".into(),
            source_node_id: "src".into(),
            target_node_id: "t1".into(),
            min_share_mbps: Some(600.0),
        });
        let mut p = policy(VmSelection::PerVmRule);
        p.planner.max_migrations_per_node = 4;
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0]);
        assert!(
            matches!(out[0].1, Err(Rejection::SharedBandwidth { node: 0 })),
            "{out:?}"
        );
        // Needing 400, it can share.
        s.in_flight[0].min_share_mbps = Some(400.0);
        let mut idx = ClusterIndex::new(&s, &p.planner);
        let out = plan_round(&mut idx, &p, &[0]);
        assert_eq!(out[0].1.as_ref().unwrap().target.path_bandwidth_mbps, 500.0);
    }

    #[test]
    fn tolerable_rate_is_what_the_timeouts_allow() {
        // No dirtying, 1024 MiB, pre-copy timeout 20 s: at least 51.2 MiB/s of memory,
        // which at 97 % goodput is a flow of 52.8 MiB/s.
        let params = PreCopyParams::from(&PolicyConfig::default().migration);
        let r = tolerable_mbps(1024.0, 0.0, 20.0, 5.0, &params, 1000.0);
        let need = 1024.0 / 20.0 / 0.97;
        assert!((mbps_to_mib_s(r) - need).abs() / need < 1e-3, "{r}");
    }

    #[test]
    fn order_of_candidates_does_not_matter() {
        let s = hot_cluster();
        let p = policy(VmSelection::PerVmRule);
        let mut a = ClusterIndex::new(&s, &p.planner);
        let mut b = ClusterIndex::new(&s, &p.planner);
        assert_eq!(
            plan_round(&mut a, &p, &[0, 1, 2]),
            plan_round(&mut b, &p, &[2, 0, 1])
        );
    }
}
