//! The migration plan handed to executors with every MIGRATE decision.
//!
//! Its JSON has exactly the keys and nesting of the seed's example, so existing
//! executors keep working. Success criteria, rollback conditions and resource
//! requirements are typed values with parameters (a simulator evaluates them), written
//! into the JSON as the seed's human-readable strings with the parameters in them, and
//! parsed back from those strings: the JSON stays the single source of truth.

//!
//! This module holds only the contract types, so everything else in the crate can
//! depend on them without a cycle: the builder lives beside the planner
//! ([`crate::planner::build`]) and the text/JSON codec in [`codec`].

mod codec;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationType {
    LiveMigration,
}

/// The five steps, in order (domain facts section 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    PreMigrationValidation,
    MemoryPreCopy,
    StopAndCopy,
    PostMigrationVerification,
    Cleanup,
}

impl StepAction {
    pub const ORDER: [StepAction; 5] = [
        Self::PreMigrationValidation,
        Self::MemoryPreCopy,
        Self::StopAndCopy,
        Self::PostMigrationVerification,
        Self::Cleanup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreMigrationValidation => "pre_migration_validation",
            Self::MemoryPreCopy => "memory_pre_copy",
            Self::StopAndCopy => "stop_and_copy",
            Self::PostMigrationVerification => "post_migration_verification",
            Self::Cleanup => "cleanup",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionStep {
    pub step: u32,
    pub action: StepAction,
    pub description: String,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedImprovement {
    pub current_utilization: f64,
    pub expected_utilization: f64,
    pub improvement_percentage: f64,
}

/// What must hold for a migration to count as a success.
#[derive(Debug, Clone, PartialEq)]
pub enum SuccessCriterion {
    /// The VM is never paused (or unreachable) longer than this. Parameters are `None`
    /// when a plan states the criterion without a number (the seed's bare strings); an
    /// evaluator then uses the policy's value.
    RemainsResponsive { max_pause_ms: Option<u64> },
    /// All steps finish within this many seconds of the start.
    CompletesWithin { max_duration_s: u64 },
    /// The migrated VM's host utilization after the move is at least this much below
    /// the source's before it (relative, in percent).
    UtilizationImproves { min_improvement_pct: f64 },
    /// No memory lost: the VM ran on exactly one node throughout.
    NoDataLoss,
}

/// What aborts a migration in flight (the VM then stays on its source).
#[derive(Debug, Clone, PartialEq)]
pub enum RollbackCondition {
    /// The migration has not completed this many seconds after it started (the sum of
    /// the step timeouts).
    Timeout { timeout_s: Option<u64> },
    /// The VM stops responding for longer than this.
    Unresponsive { max_pause_ms: Option<u64> },
    /// The target's CPU utilization would exceed the ceiling with the VM, or its free
    /// memory falls below what the VM needs.
    TargetInsufficient { limits: Option<TargetLimits> },
    /// Migration bandwidth between source and target falls below this.
    ConnectivityLost { min_bandwidth_mbps: Option<f64> },
}

/// Parameters of [`RollbackCondition::TargetInsufficient`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetLimits {
    pub cpu_ceiling_frac: f64,
    pub min_free_memory_mib: u64,
}

/// What the target must offer, as checked by pre_migration_validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRequirements {
    /// Share of the target's CPU that must be free before the move: the VM's share plus
    /// the headroom kept under the ceiling.
    pub cpu_available_frac: f64,
    pub memory_margin_mib: u64,
    pub vm_memory_mib: u64,
    pub min_bandwidth_mbps: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationPlan {
    pub migration_type: MigrationType,
    pub source_vm_id: String,
    pub target_node_id: String,
    pub expected_utilization_improvement: ExpectedImprovement,
    pub execution_steps: Vec<ExecutionStep>,
    #[serde(with = "codec::as_strings")]
    pub success_criteria: Vec<SuccessCriterion>,
    #[serde(with = "codec::as_strings")]
    pub rollback_conditions: Vec<RollbackCondition>,
    pub resource_requirements: ResourceRequirements,
    pub estimated_downtime_seconds: f64,
    pub estimated_completion_minutes: f64,
}

impl MigrationPlan {
    pub fn step(&self, action: StepAction) -> Option<&ExecutionStep> {
        self.execution_steps.iter().find(|s| s.action == action)
    }

    /// The utilization the plan expects after migration, as it states it: the number a
    /// MIGRATE decision's `target_value` must repeat, so that an executor comparing the
    /// two sees one value.
    pub fn expected_utilization(&self) -> f64 {
        self.expected_utilization_improvement.expected_utilization
    }

    /// Sum of step timeouts: the overall deadline of the migration.
    pub fn total_timeout_s(&self) -> u64 {
        self.execution_steps.iter().map(|s| s.timeout_seconds).sum()
    }
}

/// "Never", in seconds: the timeout a plan states for a step whose estimate is
/// infinite (a pre-copy that cannot converge), and what executors use for a step a
/// plan does not time. Past the end of any run; in milliseconds it saturates.
pub const NEVER_S: u64 = u64::MAX / 8;

/// Rounding for the numbers a plan states (4 decimals for fractions, 2 for percentages).
pub(crate) fn round_to(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}
