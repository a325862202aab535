//! The engine as the CloudSim profile's policy (a scenario without `sim.baseline`):
//! every round, the engine's MIGRATE decisions on CloudSim's datacenter, relief first
//! and then consolidation (policy `[consolidation]`), become the round's moves. They
//! run as CloudSim runs migrations, or under scalelab's pre-copy model with
//! `compat.migrations = "precopy"`, and everything else (demand, CPU sharing, power,
//! host shutdowns, metrics) stays CloudSim's, so the engine's numbers compare with the
//! baselines' validated ones.
//!
//! How the engine sees the datacenter:
//! - capacity in cores of [`MIPS_PER_CORE`] MIPS: a G4 (2 x 1860 MIPS) has 3.72, a
//!   VM asking for 1250 MIPS demands 1.25; utilizations are CloudSim's requested MIPS
//!   over the host's;
//! - a host with nothing listed is switched off (CloudSim's model), so a relief move
//!   goes there only when no host that is on fits;
//! - host and VM histories are CloudSim's (the VMs' last 30 samples, a host's being the
//!   sum of its VMs', moving with them), the window and forecast as the policy says;
//! - memory as the profile has it: checked when a VM is first placed only, so every
//!   host shows all of its RAM free (CloudSim's policies pack hosts far past their
//!   RAM this way; the engine is held to the same rules, not to stricter ones);
//! - no cooldown or return-window clocks (CloudSim's VMs keep none).
//!
//! Its scaling decisions have nothing to act on (CloudSim's VMs keep their size).
//! Arrivals are placed by CloudSim's power-aware best fit, as for the baselines.

use scalelab_engine::cluster::{
    ClusterSnapshot, InFlightMigration, NodeHealth, NodeSnapshot, VmSnapshot,
};
use scalelab_engine::engine::{ResourceObservation, VmObservation};
use scalelab_engine::forecast::Forecaster;
use scalelab_engine::rules::UtilStats;
use scalelab_engine::triage::{host_check, is_candidate};
use scalelab_engine::{Engine, HostLoad, PolicyConfig};

use super::*;

/// What the engine counts as one core.
pub const MIPS_PER_CORE: f64 = 1000.0;

/// The engine and what it needs of the scenario.
#[derive(Debug)]
pub(super) struct EngineRound {
    engine: Engine,
    window: usize,
    step_s: u64,
}

impl EngineRound {
    pub(super) fn new(sc: &Scenario) -> Self {
        let policy: PolicyConfig = sc.effective_policy();
        Self {
            window: policy.window_len(sc.sample_interval_s()),
            step_s: sc.sample_interval_s(),
            engine: Engine::new(policy),
        }
    }

    /// Window stats and a forecast of a CloudSim history (newest first).
    fn observe(&self, newest_first: &[f64]) -> ResourceObservation {
        let oldest_first: Vec<f64> = newest_first.iter().rev().copied().collect();
        let from = oldest_first.len().saturating_sub(self.window);
        let mut f = Forecaster::new(&self.engine.policy().forecast);
        for &x in &oldest_first {
            f.observe(x);
        }
        ResourceObservation {
            resource_type: ResourceType::Cpu,
            stats: UtilStats::from_window(&oldest_first[from..]),
            forecast: f.forecast(ResourceType::Cpu, self.step_s),
        }
    }
}

impl Dc {
    /// The engine's round: relief decisions for the VMs of hot hosts, then
    /// consolidation on the cluster as those leave it. Their decisions are kept for
    /// the migrations' records.
    pub(super) fn engine_moves(&mut self, t: f64) -> Vec<Move> {
        let Some(er) = self.engine.as_ref() else {
            return Vec::new();
        };
        let now_ms = ms(t) as i64;
        let snapshot = self.engine_snapshot();
        let p = er.engine.policy();
        // Relief: the VMs of hosts whose MIGRATE rule fires.
        let hosts: Vec<ResourceObservation> = (0..self.c.hosts.len())
            .map(|h| er.observe(&self.c.host_history(h)))
            .collect();
        let mut obs = Vec::new();
        for (h, host) in self.c.hosts.iter().enumerate() {
            let o = &hosts[h];
            let summary = o.forecast.as_ref().map(Into::into);
            if host.vms.is_empty() || !is_candidate(Some(host_check(p, o.stats, summary))) {
                continue;
            }
            for &v in &host.vms {
                let vm = &self.c.vms[v];
                if vm.finished || vm.in_migration || vm.host != Some(h) {
                    continue;
                }
                obs.push(VmObservation {
                    vm_id: self.vm_ids[v].clone(),
                    resources: vec![er.observe(&vm.history.iter().copied().collect::<Vec<_>>())],
                    host_cpu: Some(o.clone()),
                    last_scaled_ms: None,
                    last_migrated_ms: None,
                });
            }
        }
        let relief: Vec<ScalingDecision> = er
            .engine
            .decide_planned(now_ms, Some(&snapshot), &obs)
            .into_iter()
            .map(|d| d.decision)
            .filter(|d| d.action == ScalingAction::Migrate && d.target_node_id.is_some())
            .collect();
        // Consolidation, on the cluster with the relief moves in flight.
        let loads: Vec<HostLoad> = (0..self.c.hosts.len())
            .filter(|&h| !self.c.hosts[h].vms.is_empty())
            .map(|h| HostLoad {
                node_id: self.node_ids[h].clone(),
                stats: hosts[h].stats,
            })
            .collect();
        let packed: Vec<ScalingDecision> = er
            .engine
            .consolidate_after(now_ms, &snapshot, &relief, &loads)
            .into_iter()
            .map(|d| d.decision)
            .collect();
        let node_ix: BTreeMap<&str, usize> = self
            .node_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let vm_ix: BTreeMap<&str, usize> = self
            .vm_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let mut moves = Vec::new();
        let mut decisions = BTreeMap::new();
        let tagged = relief
            .into_iter()
            .map(|d| (d, true))
            .chain(packed.into_iter().map(|d| (d, false)));
        for (d, overload) in tagged {
            let (Some(&vm), Some(&target)) = (
                vm_ix.get(d.vm_id.as_str()),
                d.target_node_id.as_deref().and_then(|id| node_ix.get(id)),
            ) else {
                continue;
            };
            moves.push(Move {
                vm,
                target,
                expected_util: d.target_value,
                overload,
            });
            decisions.insert(vm, d);
        }
        self.engine_decisions = decisions;
        moves
    }

    /// The datacenter as the engine's snapshot (see the module docs).
    fn engine_snapshot(&self) -> ClusterSnapshot {
        let c = &self.c;
        let mut in_flight = Vec::new();
        let nodes = c
            .hosts
            .iter()
            .enumerate()
            .map(|(h, host)| {
                for &v in &host.migrating_in {
                    if let Some(src) = c.vms[v].host {
                        in_flight.push(InFlightMigration {
                            vm_id: self.vm_ids[v].clone(),
                            source_node_id: self.node_ids[src].clone(),
                            target_node_id: self.node_ids[h].clone(),
                            min_share_mbps: None,
                        });
                    }
                }
                NodeSnapshot {
                    id: self.node_ids[h].clone(),
                    cores: host.total_mips / MIPS_PER_CORE,
                    cpu_utilization: c.requested_util(h),
                    memory_mib: host.ram_mib,
                    free_memory_mib: host.ram_mib,
                    bandwidth_mbps: host.bw_kbps / 1000.0,
                    rack: String::new(),
                    health: if host.vms.is_empty() {
                        NodeHealth::Off
                    } else {
                        NodeHealth::Healthy
                    },
                }
            })
            .collect();
        let vms = c
            .vms
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.finished)
            .filter_map(|(i, v)| {
                let h = v.host?;
                Some(VmSnapshot {
                    id: self.vm_ids[i].clone(),
                    node_id: self.node_ids[h].clone(),
                    vcpus: v.pes,
                    memory_mib: v.ram_mib,
                    cpu_demand_cores: v.req_total() / MIPS_PER_CORE,
                    dirty_rate_mib_s: if self.live.is_some() {
                        self.dirty_now(i)
                    } else {
                        0.0
                    },
                    anti_affinity_group: None,
                    service_group: None,
                    recently_left: Vec::new(),
                })
            })
            .collect();
        ClusterSnapshot {
            nodes,
            vms,
            inter_rack_bandwidth_mbps: None,
            in_flight,
        }
    }
}
