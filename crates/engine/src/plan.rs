//! The migration plan handed to executors with every MIGRATE decision.
//!
//! Its JSON has exactly the keys and nesting of the seed's example, so existing
//! executors keep working. Success criteria, rollback conditions and resource
//! requirements are typed values with parameters (a simulator evaluates them), written
//! into the JSON as the seed's human-readable strings with the parameters in them, and
//! parsed back from those strings: the JSON stays the single source of truth.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::policy::MigrationConfig;
use crate::precopy::PreCopyEstimate;

/// Nominal durations of the steps that move no memory, used for the completion
/// estimate; the simulator uses the same values as the steps' nominal durations.
pub const VALIDATION_EXPECTED_S: f64 = 2.0;
pub const VERIFICATION_EXPECTED_S: f64 = 5.0;
pub const CLEANUP_EXPECTED_S: f64 = 2.0;

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
    #[serde(with = "as_strings")]
    pub success_criteria: Vec<SuccessCriterion>,
    #[serde(with = "as_strings")]
    pub rollback_conditions: Vec<RollbackCondition>,
    pub resource_requirements: ResourceRequirements,
    pub estimated_downtime_seconds: f64,
    pub estimated_completion_minutes: f64,
}

impl MigrationPlan {
    pub fn step(&self, action: StepAction) -> Option<&ExecutionStep> {
        self.execution_steps.iter().find(|s| s.action == action)
    }

    /// Sum of step timeouts: the overall deadline of the migration.
    pub fn total_timeout_s(&self) -> u64 {
        self.execution_steps.iter().map(|s| s.timeout_seconds).sum()
    }
}

/// Everything the plan builder needs besides the policy.
#[derive(Debug, Clone)]
pub struct PlanInputs<'a> {
    pub vm_id: &'a str,
    pub target_node_id: &'a str,
    pub vm_memory_mib: u64,
    /// VM's CPU demand as a share of the target's capacity.
    pub vm_share_of_target: f64,
    pub current_utilization: f64,
    pub expected_utilization: f64,
    pub cpu_ceiling_frac: f64,
    /// Rollback when the target would exceed this with the VM.
    pub rollback_cpu_frac: f64,
    pub memory_margin_mib: u64,
    pub min_bandwidth_mbps: f64,
    pub path_bandwidth_mbps: f64,
    pub estimate: PreCopyEstimate,
}

fn round_to(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

fn timeout_for(expected_s: f64, cfg: &MigrationConfig) -> u64 {
    let t = (expected_s * cfg.timeout_safety_factor).ceil();
    if t.is_finite() {
        (t as u64).max(cfg.min_step_timeout_s)
    } else {
        u64::MAX / 8
    }
}

/// Build a plan whose timeouts and estimates come from the pre-copy model.
///
/// Data-moving steps get `estimate x timeout_safety_factor` (at least
/// `min_step_timeout_s`); the success deadline is the completion estimate plus 25 %,
/// rounded up to a whole minute, so a migration that runs as modelled passes while one
/// that merely avoids its rollback timeout does not.
pub fn build_plan(inp: &PlanInputs<'_>, cfg: &MigrationConfig) -> MigrationPlan {
    let est = &inp.estimate;
    let steps = vec![
        ExecutionStep {
            step: 1,
            action: StepAction::PreMigrationValidation,
            description: format!(
                "Validate target node {} capacity (CPU, memory >= {} MiB) and network \
                 connectivity (>= {} Mbps), and reserve the resources",
                inp.target_node_id,
                inp.vm_memory_mib + inp.memory_margin_mib,
                inp.min_bandwidth_mbps
            ),
            timeout_seconds: cfg.validation_timeout_s,
        },
        ExecutionStep {
            step: 2,
            action: StepAction::MemoryPreCopy,
            description: format!(
                "Iteratively pre-copy {} MiB of memory at about {:.0} Mbps: {} round(s), \
                 about {:.1} s, until the dirty remainder fits a {} ms pause",
                inp.vm_memory_mib,
                inp.path_bandwidth_mbps,
                est.precopy_rounds,
                est.precopy_time_s,
                cfg.downtime_target_ms
            ),
            timeout_seconds: timeout_for(est.precopy_time_s, cfg),
        },
        ExecutionStep {
            step: 3,
            action: StepAction::StopAndCopy,
            description: format!(
                "Pause the VM, copy the last {:.1} MiB of dirty memory and CPU state, and \
                 switch over to {} (expected pause {:.0} ms)",
                est.remainder_mib,
                inp.target_node_id,
                est.downtime_s * 1000.0
            ),
            timeout_seconds: timeout_for(est.downtime_s, cfg),
        },
        ExecutionStep {
            step: 4,
            action: StepAction::PostMigrationVerification,
            description: "Verify the VM responds on the target and its utilization improved"
                .to_string(),
            timeout_seconds: cfg.verification_timeout_s,
        },
        ExecutionStep {
            step: 5,
            action: StepAction::Cleanup,
            description: "Release the VM's resources on the source node".to_string(),
            timeout_seconds: cfg.cleanup_timeout_s,
        },
    ];
    let completion_s =
        VALIDATION_EXPECTED_S + est.total_time_s + VERIFICATION_EXPECTED_S + CLEANUP_EXPECTED_S;
    let total_timeout: u64 = steps.iter().map(|s| s.timeout_seconds).sum();
    let success_deadline_s = if completion_s.is_finite() {
        (((completion_s * 1.25) / 60.0).ceil().max(1.0) as u64) * 60
    } else {
        total_timeout
    };
    let improvement = if inp.current_utilization > 0.0 {
        (inp.current_utilization - inp.expected_utilization) / inp.current_utilization * 100.0
    } else {
        0.0
    };
    MigrationPlan {
        migration_type: MigrationType::LiveMigration,
        source_vm_id: inp.vm_id.to_string(),
        target_node_id: inp.target_node_id.to_string(),
        expected_utilization_improvement: ExpectedImprovement {
            current_utilization: round_to(inp.current_utilization, 4),
            expected_utilization: round_to(inp.expected_utilization, 4),
            improvement_percentage: round_to(improvement, 2),
        },
        execution_steps: steps,
        success_criteria: vec![
            SuccessCriterion::RemainsResponsive {
                max_pause_ms: Some(cfg.max_unresponsive_ms),
            },
            SuccessCriterion::CompletesWithin {
                max_duration_s: success_deadline_s,
            },
            SuccessCriterion::UtilizationImproves {
                min_improvement_pct: cfg.min_improvement_pct,
            },
            SuccessCriterion::NoDataLoss,
        ],
        rollback_conditions: vec![
            RollbackCondition::Timeout {
                timeout_s: Some(total_timeout),
            },
            RollbackCondition::Unresponsive {
                max_pause_ms: Some(cfg.max_unresponsive_ms),
            },
            RollbackCondition::TargetInsufficient {
                limits: Some(TargetLimits {
                    cpu_ceiling_frac: inp.rollback_cpu_frac,
                    min_free_memory_mib: inp.vm_memory_mib,
                }),
            },
            RollbackCondition::ConnectivityLost {
                min_bandwidth_mbps: Some(cfg.min_connectivity_mbps),
            },
        ],
        resource_requirements: ResourceRequirements {
            cpu_available_frac: round_to(
                (1.0 - inp.cpu_ceiling_frac + inp.vm_share_of_target).min(1.0),
                4,
            ),
            memory_margin_mib: inp.memory_margin_mib,
            vm_memory_mib: inp.vm_memory_mib,
            min_bandwidth_mbps: inp.min_bandwidth_mbps,
        },
        estimated_downtime_seconds: finite_or_max(round_to(est.downtime_s, 3)),
        estimated_completion_minutes: finite_or_max(round_to(completion_s / 60.0, 2)),
    }
}

/// JSON has no infinity; a plan that could never finish says so with a huge number.
fn finite_or_max(v: f64) -> f64 {
    if v.is_finite() { v } else { f64::MAX }
}

// ---- human-readable strings ------------------------------------------------------------

/// Seconds as the plan's text writes them ("10 minutes", "95 seconds"); a Display
/// rather than a String: the store writes these for every plan.
struct Duration(u64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s % 60 == 0 && s > 0 {
            let m = s / 60;
            write!(f, "{m} minute{}", if m == 1 { "" } else { "s" })
        } else {
            write!(f, "{s} seconds")
        }
    }
}

fn parse_duration(text: &str) -> Option<u64> {
    let mut it = text.split_whitespace();
    let n: u64 = it.next()?.parse().ok()?;
    match it.next()? {
        "minute" | "minutes" => Some(n * 60),
        "second" | "seconds" => Some(n),
        _ => None,
    }
}

/// The number right after `prefix` in `s`, e.g. `number_after("over 5000 ms", "over ")`.
fn number_after<T: FromStr>(s: &str, prefix: &str) -> Option<T> {
    let rest = &s[s.find(prefix)? + prefix.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A leading memory size such as `2048MiB`, `2GB` or `2 GiB`, in MiB. GB is read as
/// GiB: the seed's "2GB" margin is the 2 GiB the issue asks for.
fn parse_mib(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..end].parse().ok()?;
    let unit = s[end..].trim_start();
    let factor = if unit.starts_with("GiB") || unit.starts_with("GB") {
        1024.0
    } else if unit.starts_with("MiB") || unit.starts_with("MB") {
        1.0
    } else {
        return None;
    };
    Some((n * factor).round() as u64)
}

/// A number rounded to 2 decimals, without trailing zeros.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = round_to(self.0, 2);
        if r.fract() == 0.0 && r.abs() < 1e15 {
            // Integer printing: `{:.0}` takes float formatting's slow exact path, which
            // showed in the store's insert profile.
            write!(f, "{}", r as i64)
        } else if r.fract() == 0.0 {
            write!(f, "{r:.0}")
        } else {
            write!(f, "{r}")
        }
    }
}

const RESPONSIVE: &str = "VM remains responsive throughout migration";
const COMPLETES: &str = "Migration completes within ";
const IMPROVES: &str = "Resource utilization improves by at least ";
const NO_LOSS: &str = "No data loss or corruption detected";
const TIMEOUT: &str = "Migration fails to complete within timeout";
const UNRESPONSIVE: &str = "VM becomes unresponsive";
const INSUFFICIENT: &str = "Target node resources become insufficient";
const CONNECTIVITY: &str = "Network connectivity issues detected";

/// `base`, plus ` (detail)` when a parameter is stated.
fn with_detail(
    f: &mut fmt::Formatter<'_>,
    base: &str,
    detail: Option<impl FnOnce(&mut fmt::Formatter<'_>) -> fmt::Result>,
) -> fmt::Result {
    f.write_str(base)?;
    if let Some(d) = detail {
        f.write_str(" (")?;
        d(f)?;
        f.write_str(")")?;
    }
    Ok(())
}

/// The parenthesised detail after `base`, `None` when absent, `Err` for other text.
fn detail_of<'s>(s: &'s str, base: &str) -> Option<Result<Option<&'s str>, ()>> {
    let rest = s.strip_prefix(base)?;
    Some(if rest.is_empty() {
        Ok(None)
    } else {
        rest.strip_prefix(" (")
            .and_then(|r| r.strip_suffix(')'))
            .map(Some)
            .ok_or(())
    })
}

impl fmt::Display for SuccessCriterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RemainsResponsive { max_pause_ms } => with_detail(
                f,
                RESPONSIVE,
                max_pause_ms
                    .map(|ms| move |f: &mut fmt::Formatter<'_>| write!(f, "no pause over {ms} ms")),
            ),
            Self::CompletesWithin { max_duration_s } => {
                write!(f, "{COMPLETES}{}", Duration(*max_duration_s))
            }
            Self::UtilizationImproves {
                min_improvement_pct,
            } => write!(f, "{IMPROVES}{}%", Num(*min_improvement_pct)),
            Self::NoDataLoss => f.write_str(NO_LOSS),
        }
    }
}

impl FromStr for SuccessCriterion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = if let Some(d) = detail_of(s, RESPONSIVE) {
            d.ok().and_then(|d| match d {
                None => Some(Self::RemainsResponsive { max_pause_ms: None }),
                Some(d) => number_after(d, "no pause over ").map(|ms| Self::RemainsResponsive {
                    max_pause_ms: Some(ms),
                }),
            })
        } else if let Some(rest) = s.strip_prefix(COMPLETES) {
            parse_duration(rest).map(|max_duration_s| Self::CompletesWithin { max_duration_s })
        } else if let Some(rest) = s.strip_prefix(IMPROVES) {
            rest.strip_suffix('%')
                .and_then(|n| n.parse().ok())
                .map(|min_improvement_pct| Self::UtilizationImproves {
                    min_improvement_pct,
                })
        } else if s == NO_LOSS {
            Some(Self::NoDataLoss)
        } else {
            None
        };
        parsed.ok_or_else(|| format!("unrecognized success criterion {s:?}"))
    }
}

impl fmt::Display for RollbackCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { timeout_s } => with_detail(
                f,
                TIMEOUT,
                timeout_s.map(|s| move |f: &mut fmt::Formatter<'_>| write!(f, "{}", Duration(s))),
            ),
            Self::Unresponsive { max_pause_ms } => with_detail(
                f,
                UNRESPONSIVE,
                max_pause_ms.map(|ms| {
                    move |f: &mut fmt::Formatter<'_>| write!(f, "no response for over {ms} ms")
                }),
            ),
            Self::TargetInsufficient { limits } => with_detail(
                f,
                INSUFFICIENT,
                limits.map(|l| {
                    move |f: &mut fmt::Formatter<'_>| {
                        write!(
                            f,
                            "CPU above {}% with the VM, or free memory below {} MiB",
                            Num(l.cpu_ceiling_frac * 100.0),
                            l.min_free_memory_mib
                        )
                    }
                }),
            ),
            Self::ConnectivityLost { min_bandwidth_mbps } => with_detail(
                f,
                CONNECTIVITY,
                min_bandwidth_mbps.map(|b| {
                    move |f: &mut fmt::Formatter<'_>| write!(f, "bandwidth below {} Mbps", Num(b))
                }),
            ),
        }
    }
}

impl FromStr for RollbackCondition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        /// Bare string -> `None`; a detail -> `Some(parse(detail))`, failing if unreadable.
        fn param<T>(
            d: Option<Result<Option<&str>, ()>>,
            parse: impl Fn(&str) -> Option<T>,
        ) -> Option<Option<T>> {
            match d? {
                Ok(None) => Some(None),
                Ok(Some(detail)) => parse(detail).map(Some),
                Err(()) => None,
            }
        }
        let parsed = if s.starts_with(TIMEOUT) {
            param(detail_of(s, TIMEOUT), parse_duration)
                .map(|timeout_s| Self::Timeout { timeout_s })
        } else if s.starts_with(UNRESPONSIVE) {
            param(detail_of(s, UNRESPONSIVE), |d| number_after(d, "for over "))
                .map(|max_pause_ms| Self::Unresponsive { max_pause_ms })
        } else if s.starts_with(INSUFFICIENT) {
            param(detail_of(s, INSUFFICIENT), |d| {
                Some(TargetLimits {
                    cpu_ceiling_frac: number_after::<f64>(d, "CPU above ")? / 100.0,
                    min_free_memory_mib: number_after(d, "memory below ")?,
                })
            })
            .map(|limits| Self::TargetInsufficient { limits })
        } else if s.starts_with(CONNECTIVITY) {
            param(detail_of(s, CONNECTIVITY), |d| {
                number_after(d, "bandwidth below ")
            })
            .map(|min_bandwidth_mbps| Self::ConnectivityLost { min_bandwidth_mbps })
        } else {
            None
        };
        parsed.ok_or_else(|| format!("unrecognized rollback condition {s:?}"))
    }
}

/// `Vec<T>` as a JSON array of T's Display strings, parsed back with FromStr.
mod as_strings {
    use super::*;

    pub fn serialize<T: fmt::Display, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_string()))
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<Vec<T>, D::Error>
    where
        T: FromStr<Err = String>,
        D: Deserializer<'de>,
    {
        let raw = Vec::<String>::deserialize(d)?;
        raw.iter()
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementStrings {
    target_node_cpu_available: String,
    target_node_memory_available: String,
    network_bandwidth_required: String,
}

impl ResourceRequirements {
    /// The three strings of the JSON, as (key, text): one place for their wording.
    fn texts(&self) -> [(&'static str, String); 3] {
        [
            (
                "target_node_cpu_available",
                format!(">{}%", Num(self.cpu_available_frac * 100.0)),
            ),
            (
                "target_node_memory_available",
                format!(
                    ">{}MiB + VM_size ({}MiB)",
                    self.memory_margin_mib, self.vm_memory_mib
                ),
            ),
            (
                "network_bandwidth_required",
                format!("{}Mbps minimum", Num(self.min_bandwidth_mbps)),
            ),
        ]
    }
}

impl Serialize for ResourceRequirements {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let [(_, cpu), (_, memory), (_, bandwidth)] = self.texts();
        RequirementStrings {
            target_node_cpu_available: cpu,
            target_node_memory_available: memory,
            network_bandwidth_required: bandwidth,
        }
        .serialize(s)
    }
}

impl MigrationPlan {
    /// Append the plan's JSON to `out`: byte for byte what `serde_json::to_writer`
    /// writes (tests hold the two together), several times faster. The store writes a
    /// plan with every MIGRATE decision, and serde's path (each string escaped a byte at
    /// a time, a String per criterion) took a core's third while SQLite, on the other
    /// core, waited for CPU. Strings that need no escaping are copied whole; any that do
    /// go through serde_json.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Every field named: a field added to the plan without being added here does
        // not compile.
        let MigrationPlan {
            migration_type: MigrationType::LiveMigration,
            source_vm_id,
            target_node_id,
            expected_utilization_improvement:
                ExpectedImprovement {
                    current_utilization,
                    expected_utilization,
                    improvement_percentage,
                },
            execution_steps,
            success_criteria,
            rollback_conditions,
            resource_requirements,
            estimated_downtime_seconds,
            estimated_completion_minutes,
        } = self;
        out.extend_from_slice(br#"{"migration_type":"live_migration","source_vm_id":"#);
        json::string(out, source_vm_id);
        out.extend_from_slice(br#","target_node_id":"#);
        json::string(out, target_node_id);
        out.extend_from_slice(br#","expected_utilization_improvement":{"current_utilization":"#);
        json::number(out, *current_utilization);
        out.extend_from_slice(br#","expected_utilization":"#);
        json::number(out, *expected_utilization);
        out.extend_from_slice(br#","improvement_percentage":"#);
        json::number(out, *improvement_percentage);
        out.extend_from_slice(br#"},"execution_steps":["#);
        for (i, step) in execution_steps.iter().enumerate() {
            let ExecutionStep {
                step,
                action,
                description,
                timeout_seconds,
            } = step;
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"step":"#);
            json::integer(out, u64::from(*step));
            out.extend_from_slice(br#","action":""#);
            out.extend_from_slice(action.as_str().as_bytes());
            out.extend_from_slice(br#"","description":"#);
            json::string(out, description);
            out.extend_from_slice(br#","timeout_seconds":"#);
            json::integer(out, *timeout_seconds);
            out.push(b'}');
        }
        out.extend_from_slice(br#"],"success_criteria":"#);
        json::displayed(out, success_criteria);
        out.extend_from_slice(br#","rollback_conditions":"#);
        json::displayed(out, rollback_conditions);
        out.extend_from_slice(br#","resource_requirements":{"#);
        for (i, (key, text)) in resource_requirements.texts().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::string(out, key);
            out.push(b':');
            json::string(out, text);
        }
        out.extend_from_slice(br#"},"estimated_downtime_seconds":"#);
        json::number(out, *estimated_downtime_seconds);
        out.extend_from_slice(br#","estimated_completion_minutes":"#);
        json::number(out, *estimated_completion_minutes);
        out.push(b'}');
    }
}

/// The pieces of [`MigrationPlan::write_json`], each as serde_json writes it.
mod json {
    use std::fmt::Display;
    use std::io::Write;

    /// No escape needed: serde_json escapes only `"`, `\\` and control characters.
    fn plain(s: &[u8]) -> bool {
        // No early exit: the compiler can then check many bytes at a time.
        s.iter()
            .fold(true, |ok, &b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'))
    }

    pub fn string(out: &mut Vec<u8>, s: &str) {
        if plain(s.as_bytes()) {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        } else {
            serde_json::to_writer(&mut *out, s).expect("a string serializes");
        }
    }

    pub fn number(out: &mut Vec<u8>, v: f64) {
        serde_json::to_writer(&mut *out, &v).expect("a number serializes");
    }

    pub fn integer(out: &mut Vec<u8>, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[i..]);
    }

    /// A JSON array of the items' Display strings, written in place.
    pub fn displayed<T: Display>(out: &mut Vec<u8>, items: &[T]) {
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let start = out.len();
            out.push(b'"');
            write!(out, "{item}").expect("writing to a Vec");
            if plain(&out[start + 1..]) {
                out.push(b'"');
            } else {
                let text = item.to_string();
                out.truncate(start);
                string(out, &text);
            }
        }
        out.push(b']');
    }
}

impl<'de> Deserialize<'de> for ResourceRequirements {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = RequirementStrings::deserialize(d)?;
        let bad = |field: &str, v: &str| D::Error::custom(format!("{field}: cannot read {v:?}"));
        let cpu: f64 = number_after(&r.target_node_cpu_available, ">")
            .ok_or_else(|| bad("target_node_cpu_available", &r.target_node_cpu_available))?;
        let mem = &r.target_node_memory_available;
        let margin = mem
            .strip_prefix('>')
            .and_then(parse_mib)
            .ok_or_else(|| bad("target_node_memory_available", mem))?;
        // The seed writes ">2GB + VM_size" without the VM's size: 0 = not stated.
        let vm = match mem.split_once("VM_size (") {
            Some((_, rest)) => {
                parse_mib(rest).ok_or_else(|| bad("target_node_memory_available", mem))?
            }
            None => 0,
        };
        let bw: f64 = number_after(&format!(" {}", r.network_bandwidth_required), " ")
            .ok_or_else(|| bad("network_bandwidth_required", &r.network_bandwidth_required))?;
        Ok(Self {
            cpu_available_frac: cpu / 100.0,
            memory_margin_mib: margin,
            vm_memory_mib: vm,
            min_bandwidth_mbps: bw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::precopy::{PreCopyParams, estimate, mbps_to_mib_s};

    /// `write_json` is serde_json's output, byte for byte, for the seed's plan, built
    /// plans, and plans with every kind of string and number serde_json treats apart.
    #[test]
    fn fast_json_is_serde_json_byte_for_byte() {
        let seed: MigrationPlan =
            serde_json::from_str(include_str!("../tests/fixtures/seed_plan.json")).unwrap();
        let strings = [
            "vm-001",
            "",
            "quote \" and backslash \\",
            "tab\tnew\nline\u{1}\u{1f}",
            "unicode é ✓ 𝄞",
            "del \u{7f} ok",
        ];
        let numbers = [
            0.0,
            -0.0,
            0.56,
            1.0 / 3.0,
            30.0,
            1e300,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            -1.5,
        ];
        let mut state = 1u64;
        let mut pick = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        let mut plans = vec![seed, sample_plan()];
        for _ in 0..500 {
            let mut p = sample_plan();
            p.source_vm_id = strings[pick(strings.len())].to_string();
            p.target_node_id = strings[pick(strings.len())].to_string();
            let e = &mut p.expected_utilization_improvement;
            e.current_utilization = numbers[pick(numbers.len())];
            e.expected_utilization = numbers[pick(numbers.len())];
            e.improvement_percentage = numbers[pick(numbers.len())];
            p.estimated_downtime_seconds = numbers[pick(numbers.len())];
            p.estimated_completion_minutes = numbers[pick(numbers.len())];
            for step in &mut p.execution_steps {
                step.description = strings[pick(strings.len())].to_string();
                step.timeout_seconds = [0, 1, 30, u64::MAX][pick(4)];
                step.step = [0, 1, u32::MAX][pick(3)];
            }
            p.execution_steps.truncate(pick(6));
            p.success_criteria = vec![
                SuccessCriterion::RemainsResponsive {
                    max_pause_ms: [None, Some(0), Some(u64::MAX)][pick(3)],
                },
                SuccessCriterion::CompletesWithin {
                    max_duration_s: [0, 59, 600, 86_400][pick(4)],
                },
                SuccessCriterion::UtilizationImproves {
                    min_improvement_pct: numbers[pick(numbers.len())],
                },
                SuccessCriterion::NoDataLoss,
            ];
            p.success_criteria.truncate(pick(5));
            p.rollback_conditions = vec![
                RollbackCondition::Timeout {
                    timeout_s: [None, Some(3_600)][pick(2)],
                },
                RollbackCondition::Unresponsive {
                    max_pause_ms: [None, Some(500)][pick(2)],
                },
                RollbackCondition::TargetInsufficient {
                    limits: [
                        None,
                        Some(TargetLimits {
                            cpu_ceiling_frac: numbers[pick(numbers.len())],
                            min_free_memory_mib: 2048,
                        }),
                    ][pick(2)],
                },
                RollbackCondition::ConnectivityLost {
                    min_bandwidth_mbps: [None, Some(numbers[pick(numbers.len())])][pick(2)],
                },
            ];
            p.rollback_conditions.truncate(pick(5));
            p.resource_requirements.cpu_available_frac = numbers[pick(numbers.len())];
            p.resource_requirements.min_bandwidth_mbps = numbers[pick(numbers.len())];
            p.resource_requirements.vm_memory_mib = [0, 4096, u64::MAX][pick(3)];
            plans.push(p);
        }
        for p in &plans {
            let mut fast = b"prefix".to_vec();
            p.write_json(&mut fast);
            let serde = serde_json::to_vec(p).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&fast[6..]),
                String::from_utf8_lossy(&serde)
            );
        }
    }

    pub(crate) fn sample_plan() -> MigrationPlan {
        let cfg = MigrationConfig::default();
        let est = estimate(
            4096.0,
            20.0,
            mbps_to_mib_s(1000.0),
            &PreCopyParams::from(&cfg),
        );
        build_plan(
            &PlanInputs {
                vm_id: "vm-001",
                target_node_id: "node-02",
                vm_memory_mib: 4096,
                vm_share_of_target: 0.125,
                current_utilization: 0.8,
                expected_utilization: 0.56,
                cpu_ceiling_frac: 0.7,
                rollback_cpu_frac: 0.9,
                memory_margin_mib: 2048,
                min_bandwidth_mbps: 100.0,
                path_bandwidth_mbps: 1000.0,
                estimate: est,
            },
            &cfg,
        )
    }

    #[test]
    fn strings_round_trip() {
        let crits = [
            SuccessCriterion::RemainsResponsive {
                max_pause_ms: Some(5000),
            },
            SuccessCriterion::RemainsResponsive { max_pause_ms: None },
            SuccessCriterion::CompletesWithin {
                max_duration_s: 600,
            },
            SuccessCriterion::CompletesWithin { max_duration_s: 95 },
            SuccessCriterion::UtilizationImproves {
                min_improvement_pct: 20.0,
            },
            SuccessCriterion::UtilizationImproves {
                min_improvement_pct: 12.5,
            },
            SuccessCriterion::NoDataLoss,
        ];
        for c in crits {
            assert_eq!(c.to_string().parse::<SuccessCriterion>().unwrap(), c);
        }
        let conds = [
            RollbackCondition::Timeout {
                timeout_s: Some(900),
            },
            RollbackCondition::Timeout { timeout_s: None },
            RollbackCondition::Unresponsive {
                max_pause_ms: Some(5000),
            },
            RollbackCondition::Unresponsive { max_pause_ms: None },
            RollbackCondition::TargetInsufficient {
                limits: Some(TargetLimits {
                    cpu_ceiling_frac: 0.7,
                    min_free_memory_mib: 4096,
                }),
            },
            RollbackCondition::TargetInsufficient { limits: None },
            RollbackCondition::ConnectivityLost {
                min_bandwidth_mbps: Some(100.0),
            },
            RollbackCondition::ConnectivityLost {
                min_bandwidth_mbps: None,
            },
        ];
        for c in conds {
            assert_eq!(c.to_string().parse::<RollbackCondition>().unwrap(), c);
        }
        assert_eq!(
            SuccessCriterion::CompletesWithin {
                max_duration_s: 600
            }
            .to_string(),
            "Migration completes within 10 minutes"
        );
        assert_eq!(
            SuccessCriterion::UtilizationImproves {
                min_improvement_pct: 20.0
            }
            .to_string(),
            "Resource utilization improves by at least 20%"
        );
        assert!("Something else".parse::<SuccessCriterion>().is_err());
        assert!("Something else".parse::<RollbackCondition>().is_err());
    }

    #[test]
    fn seed_strings_without_parameters_still_parse() {
        // Plans written from the seed's example carry no parameters; they must load.
        assert_eq!(
            "VM remains responsive throughout migration"
                .parse::<SuccessCriterion>()
                .unwrap(),
            SuccessCriterion::RemainsResponsive { max_pause_ms: None }
        );
        assert_eq!(
            "VM becomes unresponsive"
                .parse::<RollbackCondition>()
                .unwrap(),
            RollbackCondition::Unresponsive { max_pause_ms: None }
        );
        // A detail that cannot be read is an error, not a silent default.
        assert!(
            "VM becomes unresponsive (soon)"
                .parse::<RollbackCondition>()
                .is_err()
        );
        assert!(
            "Migration completes within a while"
                .parse::<SuccessCriterion>()
                .is_err()
        );
    }

    #[test]
    fn plan_json_round_trips() {
        let plan = sample_plan();
        let json = serde_json::to_string(&plan).unwrap();
        let back: MigrationPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn plan_uses_the_model_not_constants() {
        let plan = sample_plan();
        assert_eq!(plan.execution_steps.len(), 5);
        let actions: Vec<_> = plan.execution_steps.iter().map(|s| s.action).collect();
        assert_eq!(actions, StepAction::ORDER);
        let steps: Vec<_> = plan.execution_steps.iter().map(|s| s.step).collect();
        assert_eq!(steps, [1, 2, 3, 4, 5]);
        // 4 GiB at 1 Gbit/s: about 34 s first round, 2x safety.
        let precopy = plan.step(StepAction::MemoryPreCopy).unwrap();
        assert!((60..=90).contains(&precopy.timeout_seconds), "{precopy:?}");
        assert!(plan.estimated_downtime_seconds > 0.0 && plan.estimated_downtime_seconds < 0.4);
        assert!(plan.estimated_completion_minutes > 0.5 && plan.estimated_completion_minutes < 1.0);
        assert_eq!(
            plan.expected_utilization_improvement.improvement_percentage,
            30.0
        );
        assert_eq!(
            plan.rollback_conditions[0],
            RollbackCondition::Timeout {
                timeout_s: Some(plan.total_timeout_s())
            }
        );
        let v = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            v["resource_requirements"]["target_node_cpu_available"],
            ">42.5%"
        );
    }
}
