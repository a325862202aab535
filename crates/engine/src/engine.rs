//! The engine: the seed's decision function and the batch decision over a cluster.

use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterIndex, ClusterSnapshot};
use crate::model::{ResourceForecast, ResourceType, ScalingAction, ScalingDecision};
use crate::plan::MigrationPlan;
use crate::planner::{
    PlanInputs, PlannedMigration, Rejection, build_plan, plan_round, source_relief_pct,
};
use crate::policy::{Estimator, PolicyConfig};
use crate::rules::{
    ForecastSummary, MigrationCheck, ScaleOutcome, UtilStats, explain_migration_check,
    explain_scaling, migration_check, scaling_rule,
};
use crate::triage::{Triage, VmView, cooldown_holds, host_check, is_candidate, triage};

/// A decision and, for MIGRATE, the pre-copy estimate its plan was built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub decision: ScalingDecision,
    pub estimate: Option<crate::precopy::PreCopyEstimate>,
    /// The model's target utilization with the VM placed, whichever estimator the
    /// decision states: measured runs keep it so that either estimator can be
    /// calibrated from them.
    pub model_utilization: Option<f64>,
}

/// The plan of a planned migration: `current` the source's utilization, `expected`
/// the target's after the move as the decision states it, `ceiling` the target's CPU
/// ceiling.
pub(crate) fn plan_of(
    p: &PolicyConfig,
    index: &ClusterIndex<'_>,
    m: &PlannedMigration,
    current: f64,
    expected: f64,
    ceiling: f64,
) -> MigrationPlan {
    let snap = index.snapshot;
    let (vm, source, target) = (
        &snap.vms[m.vm],
        &snap.nodes[m.source],
        &snap.nodes[m.target.node],
    );
    build_plan(
        &PlanInputs {
            vm_id: &vm.id,
            target_node_id: &target.id,
            vm_memory_mib: vm.memory_mib,
            vm_share_of_target: vm.cpu_demand_cores / target.cores,
            current_utilization: current,
            expected_utilization: expected,
            source_relief_pct: source_relief_pct(vm.cpu_demand_cores, source.cores, current),
            cpu_ceiling_frac: ceiling,
            rollback_cpu_frac: p.migration.rollback_target_cpu_frac,
            memory_margin_mib: p.planner.memory_margin_mib,
            min_bandwidth_mbps: p.planner.min_bandwidth_mbps,
            path_bandwidth_mbps: m.target.path_bandwidth_mbps,
            estimate: m.estimate,
        },
        &p.migration,
    )
}

/// The target's rack relative to the source, and whether it must be powered on.
pub(crate) fn where_is(
    m: &PlannedMigration,
    target: &crate::cluster::NodeSnapshot,
) -> &'static str {
    match (
        m.target.same_rack,
        target.health == crate::cluster::NodeHealth::Off,
    ) {
        (true, false) => "same rack",
        (false, false) => "other rack",
        (true, true) => "same rack, switched off: powered on for it",
        (false, true) => "other rack, switched off: powered on for it",
    }
}

/// The seed's 5-tuple: (action, target_value, reasoning, target_node_id, migration_plan).
pub type DecisionTuple = (
    ScalingAction,
    f64,
    String,
    Option<String>,
    Option<MigrationPlan>,
);

/// One resource of one VM as the engine sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceObservation {
    pub resource_type: ResourceType,
    pub stats: UtilStats,
    #[serde(default)]
    pub forecast: Option<ResourceForecast>,
}

/// Everything the engine needs about one VM in one round.
///
/// `host_cpu` is the CPU pressure on the VM's host: the MIGRATE rule reads it, so a hot
/// host makes its VMs candidates and the planner decides which one leaves. The scale
/// rules read the VM's own resources (demand relative to its allocation). Without
/// `host_cpu` the MIGRATE rule falls back to the VM's own CPU, as in the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmObservation {
    pub vm_id: String,
    pub resources: Vec<ResourceObservation>,
    #[serde(default)]
    pub host_cpu: Option<ResourceObservation>,
    /// When the VM (or its service group) was last scaled, epoch ms: the engine holds
    /// an action back for its cooldown from then. Absent: never scaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scaled_ms: Option<i64>,
    /// When the VM last switched over to a new host, epoch ms (the MIGRATE cooldown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_migrated_ms: Option<i64>,
}

impl VmObservation {
    /// The cooldown clocks of this VM at `now_ms` (an event stamped after `now_ms`
    /// counts as just now).
    fn since(&self, now_ms: i64) -> (Option<u64>, Option<u64>) {
        let age = |at: Option<i64>| at.map(|t| now_ms.saturating_sub(t).max(0) as u64);
        (age(self.last_scaled_ms), age(self.last_migrated_ms))
    }
}

/// The predictive scaling engine. Holds only its policy: no clock, no I/O, no state
/// between calls, so the same inputs always give the same decisions.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    policy: PolicyConfig,
}

impl Engine {
    pub fn new(policy: PolicyConfig) -> Self {
        Self { policy }
    }

    pub fn policy(&self) -> &PolicyConfig {
        &self.policy
    }

    /// The seed's `_determine_scaling_action`, for one VM and one resource.
    ///
    /// MIGRATE is checked first. When it fires and `target` names the VM's index in a
    /// cluster, the target is chosen (and reserved) by the planner's rules; the
    /// returned `target_value` is then the EXPECTED UTILIZATION AFTER MIGRATION. When
    /// no target is possible the scaling rule decides and `reasoning` says why the
    /// migration did not happen.
    pub fn determine_scaling_action(
        &self,
        target: Option<(&mut ClusterIndex<'_>, usize)>,
        resource_type: ResourceType,
        current: f64,
        peak: f64,
        avg: f64,
        forecast: Option<&ResourceForecast>,
    ) -> DecisionTuple {
        let stats = UtilStats { current, avg, peak };
        let check = migration_check(
            &self.policy,
            resource_type,
            current,
            avg,
            forecast.map(ForecastSummary::from),
        );
        let mut replicas = None;
        let fallback_note = if check == MigrationCheck::Wanted {
            match target {
                None => Some("no cluster snapshot to choose a target from".to_string()),
                Some((index, vm)) => {
                    replicas = index.service_group_size(vm);
                    let mut out = plan_round(index, &self.policy, &[vm]);
                    match out.pop().map(|(_, r)| r) {
                        Some(Ok(planned)) => {
                            return self.migrate_tuple(index, &planned, stats, forecast);
                        }
                        Some(Err(rejection)) => Some(rejection.describe(index, &self.policy)),
                        None => Some("the planner returned nothing".to_string()),
                    }
                }
            }
        } else {
            if let Some((index, vm)) = target {
                replicas = index.service_group_size(vm);
            }
            explain_migration_check(&self.policy, check)
        };
        self.scaling_tuple(resource_type, stats, forecast, replicas, fallback_note)
    }

    fn migrate_tuple(
        &self,
        index: &ClusterIndex<'_>,
        m: &PlannedMigration,
        host: UtilStats,
        forecast: Option<&ResourceForecast>,
    ) -> DecisionTuple {
        let p = &self.policy;
        let snap = index.snapshot;
        let vm = &snap.vms[m.vm];
        let source = &snap.nodes[m.source];
        let target = &snap.nodes[m.target.node];
        let (expected, how) = match p.estimator {
            Estimator::FixedFactor => (
                host.current * p.improvement_factor,
                format!(
                    "fixed factor {:.2}, a {:.0}% improvement",
                    p.improvement_factor,
                    (1.0 - p.improvement_factor) * 100.0
                ),
            ),
            Estimator::ModelBased => {
                let model = format!(
                    "model: target load {:.2} + VM demand {:.2} cores over {} cores",
                    index.node_utilization(m.target.node) - vm.cpu_demand_cores / target.cores,
                    vm.cpu_demand_cores,
                    target.cores
                );
                match p.model_correction {
                    None => (m.target.post_utilization, model),
                    Some(c) => (
                        c.apply(m.target.post_utilization),
                        format!(
                            "{model} = {:.2}, calibrated: {:+.3} + {:.3} x",
                            m.target.post_utilization, c.intercept, c.slope
                        ),
                    ),
                }
            }
        };
        let plan = plan_of(
            p,
            index,
            m,
            host.current,
            expected,
            p.planner.target_cpu_ceiling,
        );
        let forecast_txt = match forecast {
            Some(f) => format!(
                "forecast accuracy {:.2} > {:.2}",
                f.forecast_accuracy, p.min_forecast_accuracy
            ),
            None => "no forecast (immediate decision)".to_string(),
        };
        let reasoning = format!(
            "host {} CPU at {:.2} (avg {:.2}, peak {:.2}) is above the migration thresholds \
             (avg > {:.2}, current > {:.2}), {}; migrate {} ({:.2} cores, {} MiB) to {} ({}), \
             which runs at {:.2} with it (ceiling {:.2}); expected utilization after \
             migration {:.2} ({}); estimated downtime {:.2} s, completion {:.1} min",
            source.id,
            host.current,
            host.avg,
            host.peak,
            p.migrate_avg,
            p.migrate_current,
            forecast_txt,
            vm.id,
            vm.cpu_demand_cores,
            vm.memory_mib,
            target.id,
            where_is(m, target),
            m.target.post_utilization,
            p.planner.target_cpu_ceiling,
            expected,
            how,
            plan.estimated_downtime_seconds,
            plan.estimated_completion_minutes
        );
        (
            ScalingAction::Migrate,
            plan.expected_utilization(),
            reasoning,
            Some(target.id.clone()),
            Some(plan),
        )
    }

    /// The scaling rule's decision as a tuple; `migration_note` says why the VM did not
    /// migrate when it was a candidate.
    fn scaling_tuple(
        &self,
        resource_type: ResourceType,
        stats: UtilStats,
        forecast: Option<&ResourceForecast>,
        replicas: Option<u32>,
        migration_note: Option<String>,
    ) -> DecisionTuple {
        let o = scaling_rule(
            &self.policy,
            stats,
            forecast.map(ForecastSummary::from),
            replicas,
        );
        self.scale_outcome_tuple(resource_type, stats, &o, replicas, migration_note)
    }

    fn scale_outcome_tuple(
        &self,
        resource_type: ResourceType,
        stats: UtilStats,
        o: &ScaleOutcome,
        replicas: Option<u32>,
        migration_note: Option<String>,
    ) -> DecisionTuple {
        let mut reasoning = explain_scaling(&self.policy, resource_type, stats, o, replicas);
        if let Some(note) = migration_note {
            reasoning = format!("{note}; scaling rule instead: {reasoning}");
        }
        (o.action, o.target_value, reasoning, None, None)
    }

    fn confidence(&self, forecast: Option<&ResourceForecast>) -> f64 {
        forecast.map_or(self.policy.confidence_without_forecast, |f| {
            f.forecast_accuracy.clamp(0.0, 1.0)
        })
    }

    /// Decide for every VM and resource in one control round.
    ///
    /// MIGRATE candidates from all VMs go through one planner round together (so
    /// reservations and caps hold across VMs); every other resource goes through the
    /// scaling rule. Output order follows `vms` and, within a VM, its `resources`.
    pub fn decide(
        &self,
        timestamp_ms: i64,
        snapshot: Option<&ClusterSnapshot>,
        vms: &[VmObservation],
    ) -> Vec<ScalingDecision> {
        self.decide_planned(timestamp_ms, snapshot, vms)
            .into_iter()
            .map(|d| d.decision)
            .collect()
    }

    /// [`Self::decide`], with the pre-copy estimate behind each MIGRATE decision's plan
    /// (the seed's plan states only its downtime and completion time; an executor
    /// measuring expected against actual also wants the data and rounds it expects).
    pub fn decide_planned(
        &self,
        timestamp_ms: i64,
        snapshot: Option<&ClusterSnapshot>,
        vms: &[VmObservation],
    ) -> Vec<Decided> {
        let p = &self.policy;
        let mut index = snapshot.map(|s| ClusterIndex::new(s, &p.planner));
        let vm_idx: Vec<Option<usize>> = vms
            .iter()
            .map(|o| index.as_ref().and_then(|ix| ix.vm_index(&o.vm_id)))
            .collect();
        // Pass 1: the host check of every VM, and the triage's candidates.
        let host_obs = |o: &'_ VmObservation| -> Option<ResourceObservation> {
            o.host_cpu.clone().or_else(|| {
                o.resources
                    .iter()
                    .find(|r| r.resource_type == ResourceType::Cpu)
                    .cloned()
            })
        };
        let checks: Vec<Option<(ResourceObservation, MigrationCheck)>> = vms
            .iter()
            .map(|o| {
                host_obs(o).map(|h| {
                    let c = host_check(p, h.stats, h.forecast.as_ref().map(ForecastSummary::from));
                    (h, c)
                })
            })
            .collect();
        // A VM is a candidate when its host is hot, whatever its own resources say.
        let moved_recently =
            |o: &VmObservation| cooldown_holds(p, ScalingAction::Migrate, o.since(timestamp_ms).1);
        let candidates: Vec<usize> = checks
            .iter()
            .zip(&vm_idx)
            .zip(vms)
            .filter_map(|((check, ix), o)| {
                ix.filter(|_| is_candidate(check.as_ref().map(|(_, c)| *c)) && !moved_recently(o))
            })
            .collect();
        let mut outcomes: std::collections::HashMap<usize, Result<PlannedMigration, Rejection>> =
            match index.as_mut() {
                Some(ix) => plan_round(ix, p, &candidates).into_iter().collect(),
                None => Default::default(),
            };
        // Pass 2: one decision per VM and resource.
        let mut decisions = Vec::with_capacity(vms.len() * 2);
        for ((o, check), ix) in vms.iter().zip(&checks).zip(&vm_idx) {
            let replicas = ix.and_then(|i| index.as_ref().and_then(|x| x.service_group_size(i)));
            for r in &o.resources {
                // The host check speaks for the VM's CPU only.
                let host = check
                    .as_ref()
                    .filter(|_| r.resource_type == ResourceType::Cpu);
                let (since_scaled_ms, since_migrated_ms) = o.since(timestamp_ms);
                let view = VmView {
                    stats: r.stats,
                    forecast: r.forecast.as_ref().map(ForecastSummary::from),
                    replicas,
                    since_scaled_ms,
                    since_migrated_ms,
                };
                let own = (r.stats.current, self.confidence(r.forecast.as_ref()));
                let mut estimate = None;
                let (tuple, (current, confidence)) =
                    match (triage(p, host.map(|(_, c)| *c), &view), host) {
                        (Triage::Candidate, Some((h, _))) => {
                            let planned = match (ix, index.as_ref()) {
                                (_, None) => {
                                    Err("no cluster snapshot to choose a target from".to_string())
                                }
                                (None, Some(_)) => {
                                    Err("VM is not in the cluster snapshot".to_string())
                                }
                                (Some(i), Some(x)) => match outcomes.remove(i) {
                                    Some(Ok(m)) => {
                                        estimate = Some((m.estimate, m.target.post_utilization));
                                        Ok(self.migrate_tuple(x, &m, h.stats, h.forecast.as_ref()))
                                    }
                                    Some(Err(rej)) => Err(rej.describe(x, p)),
                                    None => Err("the planner did not consider it".to_string()),
                                },
                            };
                            match planned {
                                // A MIGRATE decision is about the host's pressure.
                                Ok(t) => {
                                    (t, (h.stats.current, self.confidence(h.forecast.as_ref())))
                                }
                                Err(note) => (
                                    self.scaling_tuple(
                                        r.resource_type,
                                        r.stats,
                                        r.forecast.as_ref(),
                                        replicas,
                                        Some(note),
                                    ),
                                    own,
                                ),
                            }
                        }
                        (Triage::Scale(s), _) => (
                            self.scale_outcome_tuple(
                                r.resource_type,
                                r.stats,
                                &s,
                                replicas,
                                host.and_then(|(_, c)| explain_migration_check(p, *c)),
                            ),
                            own,
                        ),
                        (Triage::CoolingDown(s), _) => {
                            let why = explain_scaling(p, r.resource_type, r.stats, &s, replicas);
                            let waited_s = since_scaled_ms.unwrap_or(0) / 1000;
                            let cooldown_s = p.cooldowns.of_ms(s.action) / 1000;
                            (
                                (
                                    ScalingAction::NoAction,
                                    r.stats.current,
                                    format!(
                                        "{} held back by its cooldown ({waited_s} s of \
                                         {cooldown_s} s since the last scaling action): {why}",
                                        s.action.as_str()
                                    ),
                                    None,
                                    None,
                                ),
                                own,
                            )
                        }
                        // A candidate always has a host check.
                        (Triage::Candidate, None) => {
                            unreachable!("Engine::decide makes candidates only with a host check")
                        }
                    };
                let (action, target_value, reasoning, target_node_id, migration_plan) = tuple;
                let estimate = estimate.filter(|_| action == ScalingAction::Migrate);
                decisions.push(Decided {
                    decision: ScalingDecision {
                        vm_id: o.vm_id.clone(),
                        resource_type: r.resource_type,
                        action,
                        current_value: current,
                        target_value,
                        confidence,
                        reasoning,
                        timestamp_ms,
                        target_node_id,
                        migration_plan,
                    },
                    estimate: estimate.map(|(e, _)| e),
                    model_utilization: estimate.map(|(_, u)| u),
                });
            }
        }
        decisions
    }
}
