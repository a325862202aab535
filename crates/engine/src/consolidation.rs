//! The engine's energy-aware consolidation (policy `[consolidation]`, off by default):
//! MIGRATE decisions with full plans that empty underloaded hosts, so that the caller
//! can switch them off. Which hosts and where their VMs go is the planner's
//! [`crate::planner::consolidate`]; this module turns its moves into decisions.

use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterIndex, ClusterSnapshot};
use crate::engine::{Decided, Engine, plan_of, where_is};
use crate::model::{ResourceType, ScalingAction, ScalingDecision};
use crate::planner::consolidate::consolidation_round;
use crate::rules::UtilStats;

/// A host's CPU over the policy's window, offered for consolidation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostLoad {
    pub node_id: String,
    pub stats: UtilStats,
}

impl Engine {
    /// One consolidation round over `snapshot`, which must list every VM of the hosts
    /// in `hosts` (a host's VMs all move or none does). Decisions come host by host,
    /// each host's VMs by decreasing demand. The expected utilization after each move
    /// is the target's with the VM (the model, calibrated when the policy says so):
    /// the seed's fixed factor describes the relief of a hot host, not packing.
    pub fn consolidate(
        &self,
        timestamp_ms: i64,
        snapshot: &ClusterSnapshot,
        hosts: &[HostLoad],
    ) -> Vec<Decided> {
        let p = self.policy();
        if !p.consolidation.enabled {
            return Vec::new();
        }
        let mut index = ClusterIndex::new(snapshot, &p.planner);
        let hosts: Vec<(usize, UtilStats)> = hosts
            .iter()
            .filter_map(|h| Some((index.node_index(&h.node_id)?, h.stats)))
            .collect();
        let emptied = consolidation_round(&mut index, p, &hosts);
        let ceiling = p.consolidation.target_ceiling;
        let mut out = Vec::new();
        for e in &emptied {
            let source = &snapshot.nodes[e.host];
            for (k, m) in e.moves.iter().enumerate() {
                let vm = &snapshot.vms[m.vm];
                let target = &snapshot.nodes[m.target.node];
                let post = m.target.post_utilization;
                let expected = p.model_correction.map_or(post, |c| c.apply(post));
                let plan = plan_of(p, &index, m, e.stats.current, expected, ceiling);
                let reasoning = format!(
                    "host {} CPU at {:.2} (avg {:.2}) is below the consolidation threshold \
                     {:.2}: emptying it so that it can be switched off (move {} of {} this \
                     round; {} VM(s) on it, all of which fit elsewhere); migrate {} ({:.2} \
                     cores, {} MiB) to {} ({}), the fullest host at or below {:.2} with it \
                     ({post:.2}); expected utilization after migration {:.2} (model); \
                     estimated downtime {:.2} s, completion {:.1} min",
                    source.id,
                    e.stats.current,
                    e.stats.avg,
                    p.consolidation.underload_avg,
                    k + 1,
                    e.moves.len(),
                    e.vms,
                    vm.id,
                    vm.cpu_demand_cores,
                    vm.memory_mib,
                    target.id,
                    where_is(m, target),
                    ceiling,
                    plan.expected_utilization(),
                    plan.estimated_downtime_seconds,
                    plan.estimated_completion_minutes
                );
                out.push(Decided {
                    decision: ScalingDecision {
                        vm_id: vm.id.clone(),
                        resource_type: ResourceType::Cpu,
                        action: ScalingAction::Migrate,
                        current_value: e.stats.current,
                        target_value: plan.expected_utilization(),
                        confidence: p.confidence_without_forecast,
                        reasoning,
                        timestamp_ms,
                        target_node_id: Some(target.id.clone()),
                        migration_plan: Some(plan),
                    },
                    estimate: Some(m.estimate),
                    model_utilization: Some(post),
                });
            }
        }
        out
    }

    /// [`Self::consolidate`] after a round's other `decisions`, on the cluster as
    /// their MIGRATE decisions leave it (their moves in flight, their targets
    /// loaded).
    pub fn consolidate_after(
        &self,
        timestamp_ms: i64,
        snapshot: &ClusterSnapshot,
        decisions: &[ScalingDecision],
        hosts: &[HostLoad],
    ) -> Vec<Decided> {
        if !self.policy().consolidation.enabled {
            return Vec::new();
        }
        let after = snapshot.with_moves(decisions.iter().filter_map(|d| {
            let target = d.target_node_id.as_deref()?;
            (d.action == ScalingAction::Migrate).then_some((d.vm_id.as_str(), target))
        }));
        self.consolidate(timestamp_ms, &after, hosts)
    }
}
