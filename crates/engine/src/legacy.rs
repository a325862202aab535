//! The legacy `AutoScaler` API: callers that predate migration plans get the same map
//! they always got, and MIGRATE results carry two extra keys.
//!
//! # Shape
//!
//! Every result is a JSON object with exactly these keys:
//!
//! ```text
//! vm_id          string
//! resource_type  "cpu" | "memory" | "disk" | "network"
//! action         "scale_up" | "scale_down" | "scale_out" | "scale_in" | "migrate" | "no_action"
//! current_value  number
//! target_value   number   (for "migrate": expected utilization after migration)
//! confidence     number in [0, 1]
//! reasoning      string
//! timestamp_ms   integer
//! ```
//!
//! For `"migrate"` (and only then) two keys are added:
//!
//! ```text
//! target_node_id     string
//! migration_details  {
//!     migration_type, expected_improvement {current_utilization, expected_utilization,
//!     improvement_percentage}, execution_steps [...], estimated_downtime_seconds,
//!     estimated_completion_minutes, success_criteria [...], rollback_conditions [...]
//! }
//! ```
//! whose values are copied from the decision's migration plan.

use serde_json::{Map, Value, json};

use crate::cluster::{ClusterIndex, ClusterSnapshot};
use crate::engine::Engine;
use crate::forecast::Forecaster;
use crate::model::{ResourceType, ScalingAction, ScalingDecision};
use crate::policy::PolicyConfig;
use crate::rules::UtilStats;

/// Legacy facade over [`Engine`].
#[derive(Debug, Clone, Default)]
pub struct AutoScaler {
    engine: Engine,
}

impl AutoScaler {
    pub fn new(policy: PolicyConfig) -> Self {
        Self {
            engine: Engine::new(policy),
        }
    }

    /// Decide for one VM resource from its raw history (oldest first, fractions of
    /// capacity, `step_seconds` apart) and return the legacy map. With a cluster
    /// snapshot that contains the VM, MIGRATE decisions name a real target; the
    /// snapshot must have passed [`ClusterSnapshot::validate`].
    pub fn scale_decision(
        &self,
        vm_id: &str,
        resource_type: ResourceType,
        history: &[f64],
        step_seconds: u64,
        timestamp_ms: i64,
        cluster: Option<&ClusterSnapshot>,
    ) -> Value {
        let policy = self.engine.policy();
        let stats = UtilStats::from_window(history);
        let mut f = Forecaster::new(&policy.forecast);
        for &x in history {
            f.observe(x);
        }
        let forecast = f.forecast(resource_type, step_seconds);
        let mut index = cluster.map(|c| ClusterIndex::new(c, &policy.planner));
        let target = index
            .as_mut()
            .and_then(|ix| ix.vm_index(vm_id).map(|i| (ix, i)));
        let (action, target_value, reasoning, target_node_id, migration_plan) =
            self.engine.determine_scaling_action(
                target,
                resource_type,
                stats.current,
                stats.peak,
                stats.avg,
                forecast.as_ref(),
            );
        let decision = ScalingDecision {
            vm_id: vm_id.to_string(),
            resource_type,
            action,
            current_value: stats.current,
            target_value,
            confidence: forecast
                .as_ref()
                .map_or(policy.confidence_without_forecast, |f| f.forecast_accuracy),
            reasoning,
            timestamp_ms,
            target_node_id,
            migration_plan,
        };
        legacy_map(&decision)
    }
}

/// The legacy map of a decision (shape in the module docs).
pub fn legacy_map(d: &ScalingDecision) -> Value {
    let mut m = Map::new();
    m.insert("vm_id".into(), json!(d.vm_id));
    m.insert("resource_type".into(), json!(d.resource_type));
    m.insert("action".into(), json!(d.action));
    m.insert("current_value".into(), json!(d.current_value));
    m.insert("target_value".into(), json!(d.target_value));
    m.insert("confidence".into(), json!(d.confidence));
    m.insert("reasoning".into(), json!(d.reasoning));
    m.insert("timestamp_ms".into(), json!(d.timestamp_ms));
    if d.action == ScalingAction::Migrate
        && let Some(plan) = &d.migration_plan
    {
        let p = serde_json::to_value(plan).expect("plans serialize");
        m.insert("target_node_id".into(), json!(d.target_node_id));
        m.insert(
            "migration_details".into(),
            json!({
                "migration_type": p["migration_type"],
                "expected_improvement": p["expected_utilization_improvement"],
                "execution_steps": p["execution_steps"],
                "estimated_downtime_seconds": p["estimated_downtime_seconds"],
                "estimated_completion_minutes": p["estimated_completion_minutes"],
                "success_criteria": p["success_criteria"],
                "rollback_conditions": p["rollback_conditions"],
            }),
        );
    }
    Value::Object(m)
}
