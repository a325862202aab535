//! Cluster snapshot (the planner's input) and the index that finds migration targets
//! without scanning every node for every VM.
//!
//! # Target rule
//!
//! A node is a feasible target for VM `v` leaving node `s` when it is healthy, is not
//! `s`, keeps CPU utilization at or below `target_cpu_ceiling` with `v`'s demand added,
//! has free memory >= `v`'s memory + `memory_margin_mib`, offers a migration path of at
//! least `min_bandwidth_mbps` (min of both NICs and, across racks, the inter-rack link),
//! hosts no VM of `v`'s anti-affinity group, and is below the per-node migration cap.
//! Among feasible nodes the lowest post-placement utilization wins, then a node in the
//! source's rack, then the smallest node id: the choice is deterministic.
//!
//! A node that is switched off ([`NodeHealth::Off`]) is a target only when no node
//! that is on is feasible: it is powered on for the VM (the same tests, its load 0).
//! Consolidation packs instead ([`ClusterIndex::select_packing_target`]): the fullest
//! feasible node under the consolidation ceiling wins, so emptied hosts stay empty.
//!
//! # Why an index
//!
//! Post-placement utilization `(load + d) / cores` is monotone in `load` for nodes of
//! equal core count. Nodes are therefore grouped by core count and kept in ordered sets
//! keyed by load; a search walks each group from its least-loaded node and stops at the
//! first feasible one (or at the first that breaks the ceiling). Reservations move a
//! node within its set in O(log n). Clusters have few distinct node shapes, so a search
//! costs O(shapes x log n) plus the infeasible nodes it skips.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasherDefault;

use crate::fnv::Fnv;

type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<Fnv>>;

use serde::{Deserialize, Serialize};

use crate::input::{InputError, check_non_negative, check_positive, check_range, ensure};
use crate::policy::PlannerConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NodeHealth {
    #[default]
    Healthy,
    /// Up but not to be given new work (maintenance, recent errors).
    Degraded,
    Down,
    /// Switched off to save energy (not broken): powered on when a VM needs it and no
    /// node that is on can take it.
    Off,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSnapshot {
    pub id: String,
    pub cores: f64,
    /// CPU demand of its VMs (plus reservations) over its cores; may exceed 1.
    pub cpu_utilization: f64,
    pub memory_mib: u64,
    pub free_memory_mib: u64,
    pub bandwidth_mbps: f64,
    #[serde(default)]
    pub rack: String,
    #[serde(default)]
    pub health: NodeHealth,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSnapshot {
    pub id: String,
    pub node_id: String,
    pub vcpus: u32,
    pub memory_mib: u64,
    /// CPU the VM is using now, in cores.
    pub cpu_demand_cores: f64,
    #[serde(default)]
    pub dirty_rate_mib_s: f64,
    #[serde(default)]
    pub anti_affinity_group: Option<String>,
    #[serde(default)]
    pub service_group: Option<String>,
    /// Nodes the VM left by migration recently (within the planner's
    /// `return_window_s`, as the caller counts it): never chosen as its target, so a VM
    /// does not ping-pong between two hosts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recently_left: Vec<String>,
}

/// A migration already running when the snapshot was taken: it counts against caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InFlightMigration {
    pub vm_id: String,
    pub source_node_id: String,
    pub target_node_id: String,
    /// The least bandwidth at which its plan still meets its timeouts (see
    /// [`crate::planner::tolerable_mbps`]): the planner admits no new migration on its
    /// nodes that would leave it less. Absent = unknown: it only counts as a sharer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_share_mbps: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClusterSnapshot {
    pub nodes: Vec<NodeSnapshot>,
    #[serde(default)]
    pub vms: Vec<VmSnapshot>,
    /// Bandwidth between racks; `None` = as fast as the NICs.
    #[serde(default)]
    pub inter_rack_bandwidth_mbps: Option<f64>,
    #[serde(default)]
    pub in_flight: Vec<InFlightMigration>,
}

impl ClusterSnapshot {
    /// The cluster as decided migrations leave it: each `(vm id, target id)` in flight,
    /// its target carrying the VM's demand and memory. What a later decision of the
    /// same round (consolidation after relief) must plan on.
    pub fn with_moves<'m>(&self, moves: impl IntoIterator<Item = (&'m str, &'m str)>) -> Self {
        let mut after = self.clone();
        for (vm, target) in moves {
            let Some(v) = self.vms.iter().find(|v| v.id == vm) else {
                continue;
            };
            if let Some(n) = after.nodes.iter_mut().find(|n| n.id == target) {
                n.cpu_utilization += v.cpu_demand_cores / n.cores;
                n.free_memory_mib = n.free_memory_mib.saturating_sub(v.memory_mib);
            }
            after.in_flight.push(InFlightMigration {
                vm_id: v.id.clone(),
                source_node_id: v.node_id.clone(),
                target_node_id: target.to_string(),
                min_share_mbps: None,
            });
        }
        after
    }

    /// Check that every value is finite and in range and that every reference resolves.
    pub fn validate(&self) -> Result<(), InputError> {
        let mut node_ids = HashMap::with_capacity_and_hasher(self.nodes.len(), Default::default());
        for (i, n) in self.nodes.iter().enumerate() {
            let at = |e: InputError| e.within(&format!("nodes[{i}]"));
            ensure(!n.id.is_empty(), "id", || "must not be empty".into()).map_err(at)?;
            ensure(node_ids.insert(n.id.as_str(), i).is_none(), "id", || {
                format!("duplicate node id {:?}", n.id)
            })
            .map_err(at)?;
            check_positive("cores", n.cores).map_err(at)?;
            check_range("cpu_utilization", n.cpu_utilization, 0.0, 1000.0).map_err(at)?;
            ensure(n.memory_mib > 0, "memory_mib", || "must be > 0".into()).map_err(at)?;
            ensure(n.free_memory_mib <= n.memory_mib, "free_memory_mib", || {
                format!(
                    "{} is more than the node's memory_mib {}",
                    n.free_memory_mib, n.memory_mib
                )
            })
            .map_err(at)?;
            check_non_negative("bandwidth_mbps", n.bandwidth_mbps).map_err(at)?;
        }
        if let Some(bw) = self.inter_rack_bandwidth_mbps {
            check_non_negative("inter_rack_bandwidth_mbps", bw)?;
        }
        let mut vm_ids = HashMap::with_capacity_and_hasher(self.vms.len(), Default::default());
        for (i, v) in self.vms.iter().enumerate() {
            let at = |e: InputError| e.within(&format!("vms[{i}]"));
            ensure(!v.id.is_empty(), "id", || "must not be empty".into()).map_err(at)?;
            ensure(vm_ids.insert(v.id.as_str(), i).is_none(), "id", || {
                format!("duplicate vm id {:?}", v.id)
            })
            .map_err(at)?;
            ensure(node_ids.contains_key(v.node_id.as_str()), "node_id", || {
                format!("unknown node {:?}", v.node_id)
            })
            .map_err(at)?;
            ensure(v.vcpus > 0, "vcpus", || "must be > 0".into()).map_err(at)?;
            ensure(v.memory_mib > 0, "memory_mib", || "must be > 0".into()).map_err(at)?;
            check_non_negative("cpu_demand_cores", v.cpu_demand_cores).map_err(at)?;
            check_non_negative("dirty_rate_mib_s", v.dirty_rate_mib_s).map_err(at)?;
        }
        for (i, m) in self.in_flight.iter().enumerate() {
            let at = |e: InputError| e.within(&format!("in_flight[{i}]"));
            for (field, id) in [
                ("source_node_id", &m.source_node_id),
                ("target_node_id", &m.target_node_id),
            ] {
                ensure(node_ids.contains_key(id.as_str()), field, || {
                    format!("unknown node {id:?}")
                })
                .map_err(at)?;
            }
        }
        Ok(())
    }
}

/// f64 ordered by `total_cmp`, for keys of ordered sets.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ordf(f64);
impl Eq for Ordf {}
impl PartialOrd for Ordf {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordf {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Why no target was found, with how many nodes failed each test (a node is counted
/// under the first test it fails).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoTarget {
    pub considered: usize,
    pub over_ceiling: usize,
    pub short_of_memory: usize,
    pub short_of_bandwidth: usize,
    pub anti_affinity: usize,
    /// Nodes the VM left recently.
    pub recently_left: usize,
    pub at_migration_cap: usize,
    pub unhealthy: usize,
    pub source_bandwidth_too_low: bool,
}

impl std::fmt::Display for NoTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.source_bandwidth_too_low {
            return f.write_str("the source node's bandwidth is below the minimum");
        }
        let mut parts = Vec::new();
        for (n, what) in [
            (self.over_ceiling, "over the CPU ceiling"),
            (self.short_of_memory, "short of memory"),
            (self.short_of_bandwidth, "short of bandwidth"),
            (self.anti_affinity, "anti-affinity"),
            (self.recently_left, "left by this VM recently"),
            (self.at_migration_cap, "at the migration cap"),
            (self.unhealthy, "not healthy"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        if parts.is_empty() {
            write!(f, "no other node to move to")
        } else {
            write!(f, "no feasible target ({})", parts.join(", "))
        }
    }
}

/// A target candidate: (utilization with the VM, in another rack?, node, path Mbps).
type Cand = (f64, bool, usize, f64);

/// A chosen target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub node: usize,
    /// Target CPU utilization with the VM's demand added.
    pub post_utilization: f64,
    /// Bandwidth of the migration path in Mbps (the planner lowers it to the share a
    /// migration can count on under concurrency).
    pub path_bandwidth_mbps: f64,
    pub same_rack: bool,
}

/// Mutable planning state over one snapshot: loads with reservations, free memory,
/// migration counts.
#[derive(Debug, Clone)]
pub struct ClusterIndex<'a> {
    pub snapshot: &'a ClusterSnapshot,
    cfg: PlannerConfig,
    node_by_id: HashMap<&'a str, usize>,
    vm_by_id: HashMap<&'a str, usize>,
    vm_node: Vec<usize>,
    rack: Vec<u32>,
    load_cores: Vec<f64>,
    free_memory_mib: Vec<u64>,
    migrations: Vec<u32>,
    cluster_migrations: u32,
    unhealthy: usize,
    healthy_at_cap: usize,
    /// Core count -> ordered (load, node) of target-eligible nodes. Equal loads are
    /// adjacent, so id tie-breaks need no global sort of the ids.
    groups: BTreeMap<Ordf, BTreeSet<(Ordf, usize)>>,
    /// (node, anti-affinity group id) -> VMs of that group on the node.
    affinity: HashMap<(usize, u32), u32>,
    affinity_ids: HashMap<&'a str, u32>,
    vm_affinity: Vec<Option<u32>>,
    /// VMs per service group, for scale out / in.
    service_group_size: HashMap<&'a str, u32>,
    /// Migrations whose plans need a share of their path (in flight with a known
    /// need, and those planned on this index), and per node the ones crossing it.
    shares: Vec<Share>,
    shares_at: Vec<Vec<u32>>,
    /// Migrations crossing each rack pair (in flight and reserved).
    crossing: HashMap<(u32, u32), u32>,
}

/// A migration's claim on its path: it shares it with every migration at either end
/// (NICs are the usual bottleneck), and its plan holds down to `min_mbps`.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub source: usize,
    pub target: usize,
    /// The slower NIC of the two ends.
    pub nic_mbps: f64,
    /// The inter-rack link it crosses: (rack pair, capacity).
    pub link: Option<((u32, u32), f64)>,
    pub cap_mbps: Option<f64>,
    /// Planned in the planner round now running (`Some(vm)`): its plan is not built
    /// yet, so its estimate follows the round's final sharing. `None`: in flight or
    /// decided earlier, held to `min_mbps`.
    pub open_vm: Option<usize>,
    /// What its plan needs, once asked ([`Need::mbps`]): most shares are never asked,
    /// and the answer costs a search over the pre-copy model.
    pub need: Need,
}

/// The least rate a decided migration's plan holds at: known (in flight, from the
/// simulator) or to be found from its plan's timeouts when first needed.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    Known(f64),
    Plan {
        memory_mib: f64,
        dirty_rate_mib_s: f64,
        precopy_timeout_s: f64,
        stop_copy_s: f64,
        planned_mbps: f64,
        found: std::cell::Cell<Option<f64>>,
    },
}

impl Need {
    pub fn mbps(&self, params: &crate::precopy::PreCopyParams) -> f64 {
        match self {
            Self::Known(m) => *m,
            Self::Plan {
                memory_mib,
                dirty_rate_mib_s,
                precopy_timeout_s,
                stop_copy_s,
                planned_mbps,
                found,
            } => {
                if let Some(m) = found.get() {
                    return m;
                }
                let m = crate::planner::tolerable_mbps(
                    *memory_mib,
                    *dirty_rate_mib_s,
                    *precopy_timeout_s,
                    *stop_copy_s,
                    params,
                    *planned_mbps,
                );
                found.set(Some(m));
                m
            }
        }
    }
}

impl<'a> ClusterIndex<'a> {
    /// Build from a snapshot that passed [`ClusterSnapshot::validate`].
    pub fn new(snapshot: &'a ClusterSnapshot, cfg: &PlannerConfig) -> Self {
        let n = snapshot.nodes.len();
        let node_by_id: HashMap<&str, usize> = snapshot
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut rack_ids: HashMap<&str, u32> = HashMap::default();
        let rack = snapshot
            .nodes
            .iter()
            .map(|n| {
                let next = rack_ids.len() as u32;
                *rack_ids.entry(n.rack.as_str()).or_insert(next)
            })
            .collect();
        let load_cores: Vec<f64> = snapshot
            .nodes
            .iter()
            .map(|n| n.cpu_utilization * n.cores)
            .collect();
        let mut migrations = vec![0u32; n];
        for m in &snapshot.in_flight {
            for id in [&m.source_node_id, &m.target_node_id] {
                if let Some(&i) = node_by_id.get(id.as_str()) {
                    migrations[i] += 1;
                }
            }
        }
        let mut affinity_ids: HashMap<&str, u32> = HashMap::default();
        let mut affinity = HashMap::default();
        let mut vm_affinity = Vec::with_capacity(snapshot.vms.len());
        let mut vm_node = Vec::with_capacity(snapshot.vms.len());
        let mut service_group_size: HashMap<&str, u32> = HashMap::default();
        for v in &snapshot.vms {
            let node = node_by_id.get(v.node_id.as_str()).copied().unwrap_or(0);
            vm_node.push(node);
            let g = v.anti_affinity_group.as_deref().map(|g| {
                let next = affinity_ids.len() as u32;
                *affinity_ids.entry(g).or_insert(next)
            });
            if let Some(g) = g {
                *affinity.entry((node, g)).or_insert(0) += 1;
            }
            vm_affinity.push(g);
            if let Some(sg) = v.service_group.as_deref() {
                *service_group_size.entry(sg).or_insert(0) += 1;
            }
        }
        let vm_by_id = snapshot
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.as_str(), i))
            .collect();
        let mut index = Self {
            snapshot,
            cfg: cfg.clone(),
            node_by_id,
            vm_by_id,
            vm_node,
            rack,
            load_cores,
            free_memory_mib: snapshot.nodes.iter().map(|n| n.free_memory_mib).collect(),
            cluster_migrations: snapshot.in_flight.len() as u32,
            unhealthy: snapshot
                .nodes
                .iter()
                .filter(|n| n.health != NodeHealth::Healthy)
                .count(),
            healthy_at_cap: 0,
            migrations,
            groups: BTreeMap::new(),
            affinity,
            affinity_ids,
            vm_affinity,
            service_group_size,
            shares: Vec::new(),
            shares_at: vec![Vec::new(); n],
            crossing: HashMap::default(),
        };
        for i in 0..n {
            index.insert_eligible(i);
        }
        for m in &snapshot.in_flight {
            let ends = (
                index.node_by_id.get(m.source_node_id.as_str()).copied(),
                index.node_by_id.get(m.target_node_id.as_str()).copied(),
            );
            if let (Some(a), Some(b)) = ends {
                if let Some((pair, _)) = index.link_of(a, b) {
                    *index.crossing.entry(pair).or_insert(0) += 1;
                }
                if let Some(min) = m.min_share_mbps {
                    index.add_share(Share {
                        source: a,
                        target: b,
                        nic_mbps: index.nic_mbps(a, b),
                        link: index.link_of(a, b),
                        cap_mbps: None,
                        open_vm: None,
                        need: Need::Known(min),
                    });
                }
            }
        }
        index.healthy_at_cap = (0..n)
            .filter(|&i| {
                index.snapshot.nodes[i].health == NodeHealth::Healthy && index.node_cap_reached(i)
            })
            .count();
        index
    }

    fn is_eligible(&self, node: usize) -> bool {
        self.snapshot.nodes[node].health == NodeHealth::Healthy
            && self.migrations[node] < self.cfg.max_migrations_per_node
    }

    fn key(&self, node: usize) -> (Ordf, usize) {
        (Ordf(self.load_cores[node]), node)
    }

    fn insert_eligible(&mut self, node: usize) {
        if self.is_eligible(node) {
            let key = self.key(node);
            self.groups
                .entry(Ordf(self.snapshot.nodes[node].cores))
                .or_default()
                .insert(key);
        }
    }

    fn remove_eligible(&mut self, node: usize) {
        let key = self.key(node);
        if let Some(set) = self.groups.get_mut(&Ordf(self.snapshot.nodes[node].cores)) {
            set.remove(&key);
        }
    }

    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.node_by_id.get(id).copied()
    }

    pub fn vm_index(&self, id: &str) -> Option<usize> {
        self.vm_by_id.get(id).copied()
    }

    pub fn vm_node(&self, vm: usize) -> usize {
        self.vm_node[vm]
    }

    /// Node CPU utilization including reservations made so far.
    pub fn node_utilization(&self, node: usize) -> f64 {
        self.load_cores[node] / self.snapshot.nodes[node].cores
    }

    pub fn node_migrations(&self, node: usize) -> u32 {
        self.migrations[node]
    }

    pub fn cluster_migrations(&self) -> u32 {
        self.cluster_migrations
    }

    /// The same index with no cap on concurrent migrations: whether a set of moves
    /// fits at all, whatever the caps let start now (consolidation drains a host over
    /// several rounds, but only one whose VMs all fit).
    pub fn without_caps(&self) -> Self {
        let mut x = self.clone();
        x.cfg.max_migrations_per_node = u32::MAX;
        x.cfg.max_migrations_cluster = u32::MAX;
        x.healthy_at_cap = 0;
        x.groups.clear();
        for node in 0..x.snapshot.nodes.len() {
            x.insert_eligible(node);
        }
        x
    }

    pub fn cluster_cap_reached(&self) -> bool {
        self.cluster_migrations >= self.cfg.max_migrations_cluster
    }

    pub fn node_cap_reached(&self, node: usize) -> bool {
        self.migrations[node] >= self.cfg.max_migrations_per_node
    }

    pub fn service_group_size(&self, vm: usize) -> Option<u32> {
        let sg = self.snapshot.vms[vm].service_group.as_deref()?;
        self.service_group_size.get(sg).copied()
    }

    /// Migration path bandwidth between two nodes.
    pub fn path_bandwidth_mbps(&self, a: usize, b: usize) -> f64 {
        let nodes = &self.snapshot.nodes;
        let mut bw = nodes[a].bandwidth_mbps.min(nodes[b].bandwidth_mbps);
        if self.rack[a] != self.rack[b]
            && let Some(link) = self.snapshot.inter_rack_bandwidth_mbps
        {
            bw = bw.min(link);
        }
        bw
    }

    /// Best feasible target for `vm` (see the module docs), without reserving it.
    pub fn select_target(&self, vm: usize) -> Result<Target, NoTarget> {
        let v = &self.snapshot.vms[vm];
        let source = self.vm_node[vm];
        let mut why = NoTarget::default();
        if self.snapshot.nodes[source].bandwidth_mbps < self.cfg.min_bandwidth_mbps {
            why.source_bandwidth_too_low = true;
            return Err(why);
        }
        let demand = v.cpu_demand_cores;
        let source_rack = self.rack[source];
        // (post utilization, other rack?, node, path bandwidth)
        let mut best: Option<Cand> = None;
        for (cores, set) in &self.groups {
            let cores = cores.0;
            let mut group_best_load: Option<f64> = None;
            for (pos, &(Ordf(load), node)) in set.iter().enumerate() {
                if let Some(bl) = group_best_load
                    && load > bl
                {
                    break; // later nodes in this group are strictly worse
                }
                let post = (load + demand) / cores;
                if post > self.cfg.target_cpu_ceiling {
                    // This and every later node, except the source itself.
                    let source_key = self.key(source);
                    let source_later =
                        source_key >= (Ordf(load), node) && set.contains(&source_key);
                    why.over_ceiling += set.len() - pos - usize::from(source_later);
                    break;
                }
                if node == source {
                    continue;
                }
                let Some(bw) = self.admits(vm, node, &mut why) else {
                    continue;
                };
                group_best_load.get_or_insert(load);
                let cand = (post, self.rack[node] != source_rack, node, bw);
                if self.beats(&cand, best.as_ref(), false) {
                    best = Some(cand);
                }
            }
        }
        self.target_or_why(best, why)
    }

    /// Whether `cand` is a better target than `best`: lower utilization with the VM
    /// (higher when `fuller`, for packing), then the source's rack, then the smaller
    /// node id.
    fn beats(&self, cand: &Cand, best: Option<&Cand>, fuller: bool) -> bool {
        let nodes = &self.snapshot.nodes;
        best.is_none_or(|b| {
            let by_post = if fuller {
                b.0.total_cmp(&cand.0)
            } else {
                cand.0.total_cmp(&b.0)
            };
            by_post
                .then(cand.1.cmp(&b.1))
                .then_with(|| nodes[cand.2].id.cmp(&nodes[b.2].id))
                .is_lt()
        })
    }

    /// The chosen target, or why there is none (with the cluster-wide counts).
    fn target_or_why(&self, best: Option<Cand>, mut why: NoTarget) -> Result<Target, NoTarget> {
        match best {
            Some((post, other_rack, node, bw)) => Ok(Target {
                node,
                post_utilization: post,
                path_bandwidth_mbps: bw,
                same_rack: !other_rack,
            }),
            None => {
                why.unhealthy = self.unhealthy;
                why.at_migration_cap = self.healthy_at_cap;
                Err(why)
            }
        }
    }

    /// The per-node tests every target rule shares, counted in `why` when one fails:
    /// memory with the margin, the path's bandwidth, anti-affinity, and the nodes the
    /// VM left recently. The path's bandwidth when all pass.
    fn admits(&self, vm: usize, node: usize, why: &mut NoTarget) -> Option<f64> {
        let v = &self.snapshot.vms[vm];
        why.considered += 1;
        if self.free_memory_mib[node] < v.memory_mib.saturating_add(self.cfg.memory_margin_mib) {
            why.short_of_memory += 1;
            return None;
        }
        let bw = self.path_bandwidth_mbps(self.vm_node[vm], node);
        if bw < self.cfg.min_bandwidth_mbps {
            why.short_of_bandwidth += 1;
            return None;
        }
        if let Some(g) = self.vm_affinity[vm]
            && self.affinity.get(&(node, g)).copied().unwrap_or(0) > 0
        {
            why.anti_affinity += 1;
            return None;
        }
        if !v.recently_left.is_empty() && v.recently_left.contains(&self.snapshot.nodes[node].id) {
            why.recently_left += 1;
            return None;
        }
        Some(bw)
    }

    /// A switched-off node for `vm` when no node that is on can take it: below the
    /// migration cap, passing [`Self::admits`] and the CPU ceiling; the lowest
    /// utilization with the VM wins (the largest node), then the source's rack, then
    /// the smallest id. It is powered on for the VM.
    pub fn select_off_target(&self, vm: usize) -> Option<Target> {
        let source = self.vm_node[vm];
        let demand = self.snapshot.vms[vm].cpu_demand_cores;
        let nodes = &self.snapshot.nodes;
        let mut why = NoTarget::default();
        let mut best: Option<Cand> = None;
        for (node, n) in nodes.iter().enumerate() {
            if n.health != NodeHealth::Off
                || node == source
                || self.migrations[node] >= self.cfg.max_migrations_per_node
            {
                continue;
            }
            let post = (self.load_cores[node] + demand) / n.cores;
            if post > self.cfg.target_cpu_ceiling {
                continue;
            }
            let Some(bw) = self.admits(vm, node, &mut why) else {
                continue;
            };
            let cand = (post, self.rack[node] != self.rack[source], node, bw);
            if self.beats(&cand, best.as_ref(), false) {
                best = Some(cand);
            }
        }
        self.target_or_why(best, why).ok()
    }

    /// Consolidation's target for `vm`: the fullest healthy node below the migration
    /// cap that stays at or below `ceiling` with it and passes [`Self::admits`], not
    /// one marked in `excluded` (hosts being emptied); then the source's rack, then
    /// the smallest id. Packing keeps the other hosts empty, which is the point.
    pub fn select_packing_target(
        &self,
        vm: usize,
        ceiling: f64,
        excluded: &[bool],
    ) -> Result<Target, NoTarget> {
        let source = self.vm_node[vm];
        let demand = self.snapshot.vms[vm].cpu_demand_cores;
        let mut why = NoTarget::default();
        let mut best: Option<Cand> = None;
        for (cores, set) in &self.groups {
            // Fullest first within each core count: the first feasible load is the
            // group's best (nodes of equal load compete by rack and id).
            let mut group_best_load: Option<f64> = None;
            for &(Ordf(load), node) in set.iter().rev() {
                if group_best_load.is_some_and(|bl| load < bl) {
                    break;
                }
                if node == source || excluded.get(node).copied().unwrap_or(false) {
                    continue;
                }
                let post = (load + demand) / cores.0;
                if post > ceiling {
                    why.over_ceiling += 1;
                    continue;
                }
                let Some(bw) = self.admits(vm, node, &mut why) else {
                    continue;
                };
                group_best_load.get_or_insert(load);
                let cand = (post, self.rack[node] != self.rack[source], node, bw);
                if self.beats(&cand, best.as_ref(), true) {
                    best = Some(cand);
                }
            }
        }
        self.target_or_why(best, why)
    }

    fn add_share(&mut self, s: Share) {
        let k = self.shares.len() as u32;
        self.shares_at[s.source].push(k);
        if s.target != s.source {
            self.shares_at[s.target].push(k);
        }
        self.shares.push(s);
    }

    fn nic_mbps(&self, a: usize, b: usize) -> f64 {
        let nodes = &self.snapshot.nodes;
        nodes[a].bandwidth_mbps.min(nodes[b].bandwidth_mbps)
    }

    /// The inter-rack link a migration between `a` and `b` crosses, if it is limited.
    fn link_of(&self, a: usize, b: usize) -> Option<((u32, u32), f64)> {
        let (ra, rb) = (self.rack[a], self.rack[b]);
        if ra == rb {
            return None;
        }
        self.snapshot
            .inter_rack_bandwidth_mbps
            .map(|cap| ((ra.min(rb), ra.max(rb)), cap))
    }

    /// What one migration gets: its NICs split evenly with the migrations at its busier
    /// end, its link with the migrations crossing it, and its own cap. `own`: 1 when
    /// the migration is already counted.
    #[allow(clippy::too_many_arguments)]
    fn fair_share(
        &self,
        source: usize,
        target: usize,
        nic_mbps: f64,
        link: Option<((u32, u32), f64)>,
        cap_mbps: Option<f64>,
        plus: Option<(usize, usize)>,
        own: u32,
    ) -> f64 {
        let extra = |x: usize| u32::from(plus.is_some_and(|(a, b)| x == a || x == b));
        let at = |x: usize| self.migrations[x] + extra(x);
        let sharers = (at(source).max(at(target)) + 1).saturating_sub(own).max(1);
        let mut share = nic_mbps / sharers as f64;
        if let Some((pair, cap)) = link {
            let plus_crosses =
                plus.is_some_and(|(a, b)| self.link_of(a, b).map(|l| l.0) == Some(pair));
            let crossing = self.crossing.get(&pair).copied().unwrap_or(0) + u32::from(plus_crosses);
            share = share.min(cap / (crossing + 1).saturating_sub(own).max(1) as f64);
        }
        cap_mbps.map_or(share, |c| share.min(c))
    }

    /// The share of its path a new migration between `a` and `b` can count on next to
    /// the migrations in flight and planned.
    pub fn expected_share_mbps(&self, a: usize, b: usize, cap_mbps: Option<f64>) -> f64 {
        self.fair_share(
            a,
            b,
            self.nic_mbps(a, b),
            self.link_of(a, b),
            cap_mbps,
            None,
            0,
        )
    }

    /// The share a migration already counted gets now, with one more migration between
    /// `a` and `b` when given.
    pub fn share_mbps(&self, s: &Share, plus: Option<(usize, usize)>) -> f64 {
        self.fair_share(s.source, s.target, s.nic_mbps, s.link, s.cap_mbps, plus, 1)
    }

    /// The migrations at `a` or `b` whose path one more migration there would share.
    pub fn shares_near(&self, a: usize, b: usize) -> impl Iterator<Item = &Share> + '_ {
        let at_b = self.shares_at[b].iter().filter(move |&&k| {
            let s = &self.shares[k as usize];
            s.source != a && s.target != a
        });
        self.shares_at[a]
            .iter()
            .chain(at_b)
            .map(move |&k| &self.shares[k as usize])
    }

    /// The shares planned in the running round, in the order they were planned.
    pub fn open_shares(&self) -> impl Iterator<Item = &Share> + '_ {
        self.shares.iter().filter(|s| s.open_vm.is_some())
    }

    /// The same, to settle them when the round ends.
    pub fn open_shares_mut(&mut self) -> impl Iterator<Item = &mut Share> + '_ {
        self.shares.iter_mut().filter(|s| s.open_vm.is_some())
    }

    /// [`Self::reserve`], and record the migration's claim on its path; its need is
    /// settled when the round ends (see [`crate::planner::plan_round`]).
    pub fn reserve_with_share(&mut self, vm: usize, target: usize, cap_mbps: Option<f64>) {
        let source = self.vm_node[vm];
        self.reserve(vm, target);
        let link = self.link_of(source, target);
        if let Some((pair, _)) = link {
            *self.crossing.entry(pair).or_insert(0) += 1;
        }
        self.add_share(Share {
            source,
            target,
            nic_mbps: self.nic_mbps(source, target),
            link,
            cap_mbps,
            open_vm: Some(vm),
            need: Need::Known(0.0),
        });
    }

    /// Reserve `vm`'s demand and memory on `target` and count the migration on both ends.
    /// The source keeps its load until the migration completes (that is the point of
    /// the round's relief bookkeeping in the planner, not of the index).
    pub fn reserve(&mut self, vm: usize, target: usize) {
        let source = self.vm_node[vm];
        let v = &self.snapshot.vms[vm];
        for node in [source, target] {
            self.remove_eligible(node);
        }
        self.load_cores[target] += v.cpu_demand_cores;
        self.free_memory_mib[target] = self.free_memory_mib[target].saturating_sub(v.memory_mib);
        if let Some(g) = self.vm_affinity[vm] {
            *self.affinity.entry((target, g)).or_insert(0) += 1;
        }
        for node in [source, target] {
            self.migrations[node] += 1;
            if self.migrations[node] == self.cfg.max_migrations_per_node
                && self.snapshot.nodes[node].health == NodeHealth::Healthy
            {
                self.healthy_at_cap += 1;
            }
        }
        self.cluster_migrations += 1;
        for node in [source, target] {
            self.insert_eligible(node);
        }
    }

    /// Anti-affinity group id of a name, for tests and reports.
    pub fn affinity_group_id(&self, name: &str) -> Option<u32> {
        self.affinity_ids.get(name).copied()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn node(id: &str, cores: f64, util: f64, free_mib: u64, rack: &str) -> NodeSnapshot {
        NodeSnapshot {
            id: id.into(),
            cores,
            cpu_utilization: util,
            memory_mib: 65536,
            free_memory_mib: free_mib,
            bandwidth_mbps: 10_000.0,
            rack: rack.into(),
            health: NodeHealth::Healthy,
        }
    }

    pub fn vm(id: &str, node: &str, demand: f64, mem: u64) -> VmSnapshot {
        VmSnapshot {
            id: id.into(),
            node_id: node.into(),
            vcpus: 4,
            memory_mib: mem,
            cpu_demand_cores: demand,
            dirty_rate_mib_s: 10.0,
            anti_affinity_group: None,
            service_group: None,
            recently_left: Vec::new(),
        }
    }

    fn pick(s: &ClusterSnapshot, vm_id: &str) -> Result<String, NoTarget> {
        s.validate().unwrap();
        let idx = ClusterIndex::new(s, &PlannerConfig::default());
        idx.select_target(idx.vm_index(vm_id).unwrap())
            .map(|t| s.nodes[t.node].id.clone())
    }

    fn base() -> ClusterSnapshot {
        ClusterSnapshot {
            nodes: vec![
                node("src", 16.0, 0.9, 8192, "r1"),
                node("b", 16.0, 0.5, 32768, "r1"),
                node("c", 16.0, 0.3, 32768, "r2"),
                node("d", 16.0, 0.4, 32768, "r1"),
            ],
            vms: vec![vm("v", "src", 2.0, 4096)],
            ..Default::default()
        }
    }

    #[test]
    fn lowest_post_placement_utilization_wins() {
        assert_eq!(pick(&base(), "v").unwrap(), "c");
    }

    #[test]
    fn cpu_ceiling_excludes_nodes() {
        let mut s = base();
        // c would be 0.3 + 2/16 = 0.425; make every other node too hot.
        s.nodes[1].cpu_utilization = 0.6; // 0.725 > 0.7
        s.nodes[2].cpu_utilization = 0.59; // 0.715
        s.nodes[3].cpu_utilization = 0.575; // exactly 0.7 -> allowed
        assert_eq!(pick(&s, "v").unwrap(), "d");
        s.nodes[3].cpu_utilization = 0.58;
        let e = pick(&s, "v").unwrap_err();
        assert_eq!(e.over_ceiling, 3, "{e:?}");
        assert!(e.to_string().contains("over the CPU ceiling"));
    }

    #[test]
    fn memory_margin_is_two_gib() {
        let mut s = base();
        s.nodes[2].free_memory_mib = 4096 + 2047; // one MiB short
        assert_eq!(pick(&s, "v").unwrap(), "d");
        s.nodes[2].free_memory_mib = 4096 + 2048; // exactly enough
        assert_eq!(pick(&s, "v").unwrap(), "c");
    }

    #[test]
    fn unhealthy_and_low_bandwidth_nodes_are_skipped() {
        let mut s = base();
        s.nodes[2].health = NodeHealth::Down;
        assert_eq!(pick(&s, "v").unwrap(), "d");
        s.nodes[3].bandwidth_mbps = 99.0;
        assert_eq!(pick(&s, "v").unwrap(), "b");
        s.nodes[0].bandwidth_mbps = 50.0;
        assert!(pick(&s, "v").unwrap_err().source_bandwidth_too_low);
    }

    #[test]
    fn inter_rack_link_limits_the_path() {
        let mut s = base();
        s.inter_rack_bandwidth_mbps = Some(80.0);
        assert_eq!(pick(&s, "v").unwrap(), "d"); // c is in another rack
    }

    #[test]
    fn same_rack_breaks_ties_then_node_id() {
        let mut s = base();
        s.nodes[1].cpu_utilization = 0.3; // b ties c, b is in the source's rack
        assert_eq!(pick(&s, "v").unwrap(), "b");
        s.nodes[1].rack = "r2".into(); // both in other racks: smaller id wins
        assert_eq!(pick(&s, "v").unwrap(), "b");
        s.nodes[1].id = "z".into();
        assert_eq!(pick(&s, "v").unwrap(), "c");
    }

    #[test]
    fn anti_affinity_excludes_nodes_hosting_the_group() {
        let mut s = base();
        s.vms[0].anti_affinity_group = Some("db".into());
        let mut other = vm("w", "c", 0.1, 1024);
        other.anti_affinity_group = Some("db".into());
        s.vms.push(other);
        assert_eq!(pick(&s, "v").unwrap(), "d");
    }

    #[test]
    fn mixed_core_counts_compare_by_utilization() {
        let mut s = base();
        s.nodes.push(node("big", 64.0, 0.35, 32768, "r1"));
        // big: 0.35 + 2/64 = 0.381 < c: 0.3 + 2/16 = 0.425
        assert_eq!(pick(&s, "v").unwrap(), "big");
    }

    #[test]
    fn reservations_move_nodes_and_count_caps() {
        let s = base();
        let mut idx = ClusterIndex::new(&s, &PlannerConfig::default());
        let v = idx.vm_index("v").unwrap();
        let t = idx.select_target(v).unwrap();
        idx.reserve(v, t.node);
        assert!((idx.node_utilization(t.node) - 0.425).abs() < 1e-12);
        assert_eq!(idx.node_migrations(t.node), 1);
        assert_eq!(idx.node_migrations(0), 1);
        assert_eq!(idx.cluster_migrations(), 1);
        // c now at 0.425 + 0.125 = 0.55 vs d at 0.4 + 0.125 = 0.525: d next.
        let t2 = idx.select_target(v).unwrap();
        assert_eq!(s.nodes[t2.node].id, "d");
    }

    #[test]
    fn validation_names_fields() {
        let mut s = base();
        s.vms[0].node_id = "nope".into();
        let e = s.validate().unwrap_err();
        assert_eq!(e.path, "vms[0].node_id");
        let mut s = base();
        s.nodes[1].cores = f64::NAN;
        assert_eq!(s.validate().unwrap_err().path, "nodes[1].cores");
        let mut s = base();
        s.nodes[1].cores = -4.0;
        assert_eq!(s.validate().unwrap_err().path, "nodes[1].cores");
        let mut s = base();
        s.nodes.push(node("b", 1.0, 0.0, 1, ""));
        assert!(s.validate().unwrap_err().message.contains("duplicate"));
    }
}
