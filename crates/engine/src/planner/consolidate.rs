//! Energy-aware consolidation (policy `[consolidation]`): which underloaded hosts one
//! control round empties, and where their VMs go.
//!
//! Hosts whose window average and current CPU are both below `underload_avg` are
//! tried least utilized first (ties by id). A host is emptied only if every one of its
//! VMs finds a target, by decreasing demand, packed onto the fullest node that stays
//! under `target_ceiling` (CloudSim's all-or-none consolidation, with packing instead
//! of its power-aware fit: the engine knows no power curves). The caps on concurrent
//! migrations still hold: a host with more VMs than they let move at once starts
//! what they allow and drains over the next rounds. A host that takes VMs is
//! not emptied in the same round, and a host being emptied, or found impossible to
//! empty, takes none. Every move passes the same caps, pre-copy and bandwidth checks as
//! a relief migration.

use crate::cluster::{ClusterIndex, NodeHealth};
use crate::policy::PolicyConfig;
use crate::precopy::PreCopyParams;
use crate::rules::UtilStats;

use super::{Outcome, PlannedMigration, settle_round, try_pack};

/// One host to empty: the migrations of all its VMs, reserved in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct Emptied {
    pub host: usize,
    pub stats: UtilStats,
    /// VMs on the host; `moves` may be fewer, the caps permitting.
    pub vms: usize,
    pub moves: Vec<PlannedMigration>,
}

/// The round's hosts to empty among `hosts` (node index, its CPU over the window).
pub fn consolidation_round(
    index: &mut ClusterIndex<'_>,
    p: &PolicyConfig,
    hosts: &[(usize, UtilStats)],
) -> Vec<Emptied> {
    let c = &p.consolidation;
    let params = PreCopyParams::from(&p.migration);
    let snap = index.snapshot;
    let n = snap.nodes.len();
    let mut on_node: Vec<Vec<usize>> = vec![Vec::new(); n];
    for vm in 0..snap.vms.len() {
        on_node[index.vm_node(vm)].push(vm);
    }
    let mut order: Vec<(f64, &str, usize, UtilStats)> = hosts
        .iter()
        .filter(|&&(h, s)| {
            h < n
                && snap.nodes[h].health == NodeHealth::Healthy
                && index.node_migrations(h) == 0
                && s.avg < c.underload_avg
                && s.current < c.underload_avg
                && !on_node[h].is_empty()
        })
        .map(|&(h, s)| (index.node_utilization(h), snap.nodes[h].id.as_str(), h, s))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
    order.dedup_by_key(|x| x.2);
    let mut no_target = vec![false; n];
    let mut takes = vec![false; n];
    let mut out: Vec<Emptied> = Vec::new();
    let mut tries = 0;
    for (_, _, h, stats) in order {
        if out.len() as u32 >= c.max_hosts_per_round || tries >= c.max_tries_per_round {
            break;
        }
        if takes[h] {
            continue;
        }
        tries += 1;
        no_target[h] = true;
        let mut vms = on_node[h].clone();
        vms.sort_by(|&a, &b| {
            let (va, vb) = (&snap.vms[a], &snap.vms[b]);
            vb.cpu_demand_cores
                .total_cmp(&va.cpu_demand_cores)
                .then(va.id.cmp(&vb.id))
        });
        // All of its VMs must fit, caps aside: a host with more VMs than the per-node
        // cap drains over several rounds (being the least utilized, it is picked again
        // once its migrations are done).
        let mut fits = index.without_caps();
        if !vms
            .iter()
            .all(|&vm| try_pack(&mut fits, p, &params, vm, &no_target).is_ok())
        {
            continue;
        }
        // Then as many as the caps let start now, in the same order.
        let mut trial = index.clone();
        let mut moves = Vec::new();
        for &vm in &vms {
            // A cap reached, or sharing with the moves that do start now differing from
            // the feasibility pass: the rest waits for a later round.
            let Ok(m) = try_pack(&mut trial, p, &params, vm, &no_target) else {
                break;
            };
            moves.push(m);
        }
        if moves.is_empty() {
            continue;
        }
        *index = trial;
        for m in &moves {
            takes[m.target.node] = true;
        }
        out.push(Emptied {
            host: h,
            stats,
            vms: vms.len(),
            moves,
        });
    }
    // Estimates and timeouts at the round's final sharing, as for relief.
    let mut outcomes: Vec<Outcome> = out
        .iter()
        .flat_map(|e| e.moves.iter().map(|m| (m.vm, Ok(*m))))
        .collect();
    settle_round(index, p, &params, &mut outcomes);
    let mut settled = outcomes.into_iter().filter_map(|(_, r)| r.ok());
    for e in &mut out {
        for m in &mut e.moves {
            if let Some(s) = settled.next() {
                *m = s;
            }
        }
    }
    out
}
