//! Unit tests of the simulator's private state: the invariant checker and helpers.

use super::ring::INLINE_WINDOW;
use super::sampling::power_w;
use super::*;

const TWO_NODES: &str = r#"
name = "t"
duration_s = 600
[[nodes]]
name = "n"
count = 2
cores = 8
memory_mib = 16384
nic_mbps = 1000
[[vms]]
name = "v"
count = 2
vcpus = 2
memory_mib = 4096
workload = { kind = "constant", level = 0.5 }
"#;

fn sim() -> Simulation {
    let sc = Scenario::from_toml_str(TWO_NODES).unwrap();
    Simulation::new(sc, "h".into(), None).unwrap()
}

#[test]
fn the_checker_sees_broken_memory_accounting() {
    let mut s = sim();
    s.check_invariants();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    s.nodes[0].used_mem_mib += 1;
    s.check_invariants();
    assert!(s.violations.iter().any(|v| v.contains("memory accounting")));
}

#[test]
fn the_checker_sees_a_vm_on_no_node_and_overcommitted_reservations() {
    let mut s = sim();
    s.vms[0].node = None;
    s.nodes[1].held_mem_mib = 1 << 30;
    s.check_invariants();
    assert!(s.violations.iter().any(|v| v.contains("on no node")));
    assert!(s.violations.iter().any(|v| v.contains("exceed capacity")));
}

#[test]
fn a_second_outcome_is_a_violation() {
    let mut s = sim();
    // Forge one finished migration and finish it again.
    s.records.push(sample_record());
    let mut mig = MigRt::new(0, 0, 1, sample_plan(), 0.0);
    mig.phase = Phase::Cleanup;
    s.migs.push(mig);
    s.nodes[0].migrations = 1;
    s.nodes[1].migrations = 1;
    s.finish_migration(MigId::from_ix(0), 5, Outcome::RolledBack, None);
    assert!(s.violations.iter().any(|v| v.contains("second outcome")));
    assert_eq!(s.records[0].outcome, Some(Outcome::Completed));
}

/// A finished migration record, for tests that need one to exist.
pub(super) fn sample_record() -> MigrationRecord {
    MigrationRecord {
        id: 0,
        vm: 0,
        vm_id: "v-0".into(),
        source: 0,
        target: 1,
        started_ms: 0,
        ended_ms: Some(1),
        outcome: Some(Outcome::Completed),
        rollback_reason: None,
        decision: ScalingDecision {
            vm_id: "v-0".into(),
            resource_type: ResourceType::Cpu,
            action: Act::Migrate,
            current_value: 0.8,
            target_value: 0.5,
            confidence: 1.0,
            reasoning: String::new(),
            timestamp_ms: 0,
            target_node_id: None,
            migration_plan: None,
        },
        steps: vec![],
        precopy_rounds: 0,
        data_sent_mib: 0.0,
        downtime_ms: 0,
        switchover_ms: None,
        criteria: vec![],
        expected: None,
        expected_utilization: 0.5,
        actual_utilization: None,
        source_before: 0.8,
        source_after: None,
        vm_served_before: None,
        vm_served_after: None,
        max_throttle_pct: 0.0,
    }
}

fn sample_plan() -> MigrationPlan {
    use scalelab_engine::planner::{PlanInputs, build_plan};
    use scalelab_engine::precopy::estimate;
    let cfg = scalelab_engine::policy::MigrationConfig::default();
    build_plan(
        &PlanInputs {
            vm_id: "v-0",
            target_node_id: "n-1",
            vm_memory_mib: 4096,
            vm_share_of_target: 0.1,
            current_utilization: 0.8,
            expected_utilization: 0.5,
            source_relief_pct: 20.0,
            cpu_ceiling_frac: 0.7,
            rollback_cpu_frac: 0.9,
            memory_margin_mib: 2048,
            min_bandwidth_mbps: 100.0,
            path_bandwidth_mbps: 1000.0,
            estimate: estimate(4096.0, 1.0, 100.0, &PreCopyParams::from(&cfg)),
        },
        &cfg,
    )
}

#[test]
fn power_curve_interpolates() {
    let w = [
        0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
    ];
    assert_eq!(power_w(&w, 0.0), 0.0);
    assert!((power_w(&w, 0.55) - 55.0).abs() < 1e-9);
    assert_eq!(power_w(&w, 1.7), 100.0);
}

#[test]
fn ring_stats_cover_the_window() {
    for cap in [3, INLINE_WINDOW + 1] {
        let mut r = Ring::new(cap);
        let xs: Vec<f64> = (0..cap + 1).map(|i| (i as f64 * 0.37) % 1.0).collect();
        for &x in &xs {
            r.push(x);
        }
        let window = &xs[1..];
        let s = r.stats();
        assert_eq!(s.current, *xs.last().unwrap());
        assert_eq!(s.peak, window.iter().copied().fold(f64::MIN, f64::max));
        let avg = window.iter().sum::<f64>() / cap as f64;
        assert!((s.avg - avg).abs() < 1e-12);
    }
}

#[test]
fn the_plans_overall_timeout_is_enforced_with_its_parameter() {
    // A plan whose Timeout condition is 3 s, far below the sum of its step timeouts:
    // the migration is stopped at 3 s, in pre-copy (4 GiB at 1 Gbit/s takes ~35 s).
    let mut s = sim();
    let mut plan = sample_plan();
    plan.rollback_conditions[0] = RollbackCondition::Timeout { timeout_s: Some(3) };
    assert!(plan.total_timeout_s() > 3);
    let decision = ScalingDecision {
        vm_id: "v-0".into(),
        resource_type: ResourceType::Cpu,
        action: Act::Migrate,
        current_value: 0.25,
        target_value: 0.25,
        confidence: 1.0,
        reasoning: String::new(),
        timestamp_ms: 0,
        target_node_id: Some("n-1".into()),
        migration_plan: Some(plan),
    };
    s.start_migration(0, decision, None, None, 0);
    let r = s.run(&mut |_, _| {});
    let m = &r.migrations[0];
    assert_eq!(m.outcome, Some(Outcome::RolledBack));
    assert_eq!(m.ended_ms, Some(3000));
    assert_eq!(
        m.rollback_reason.as_deref(),
        Some("migration exceeded its overall 3 s timeout")
    );
    assert_eq!(m.steps.last().unwrap().action, StepAction::MemoryPreCopy);
    assert_eq!(m.steps.last().unwrap().outcome, Some(StepOutcome::TimedOut));
    assert!(
        r.invariant_violations.is_empty(),
        "{:?}",
        r.invariant_violations
    );
}
