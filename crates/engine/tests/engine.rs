//! Contract tests of the engine's public API: the seed's 5-tuple, the plan's JSON
//! shape, the legacy map, backward-compatible decisions and the batch planner.

use scalelab_engine::cluster::{
    ClusterIndex, ClusterSnapshot, NodeHealth, NodeSnapshot, VmSnapshot,
};
use scalelab_engine::engine::{Engine, ResourceObservation, VmObservation};
use scalelab_engine::model::{
    ForecasterKind, ResourceForecast, ResourceType, ScalingAction, ScalingDecision,
};
use scalelab_engine::plan::MigrationPlan;
use scalelab_engine::policy::{Estimator, PolicyConfig};
use scalelab_engine::rules::UtilStats;
use scalelab_engine::{AutoScaler, legacy};
use serde_json::Value;

fn node(id: &str, cores: f64, util: f64, rack: &str) -> NodeSnapshot {
    NodeSnapshot {
        id: id.into(),
        cores,
        cpu_utilization: util,
        memory_mib: 131072,
        free_memory_mib: 65536,
        bandwidth_mbps: 10_000.0,
        rack: rack.into(),
        health: NodeHealth::Healthy,
    }
}

fn vm(id: &str, node: &str, demand: f64) -> VmSnapshot {
    VmSnapshot {
        id: id.into(),
        node_id: node.into(),
        vcpus: 4,
        memory_mib: 4096,
        cpu_demand_cores: demand,
        dirty_rate_mib_s: 20.0,
        anti_affinity_group: None,
        service_group: None,
        recently_left: Vec::new(),
    }
}

fn cluster() -> ClusterSnapshot {
    ClusterSnapshot {
        nodes: vec![
            node("node-01", 16.0, 0.8, "r1"),
            node("node-02", 16.0, 0.3, "r1"),
            node("node-03", 16.0, 0.5, "r2"),
        ],
        vms: vec![vm("vm-001", "node-01", 2.0), vm("vm-002", "node-01", 3.0)],
        ..Default::default()
    }
}

/// The engine's tuple for vm-001's CPU (index 0) on `snap`, without a forecast.
fn cpu_decision(
    engine: &Engine,
    snap: &ClusterSnapshot,
    current: f64,
    peak: f64,
    avg: f64,
) -> scalelab_engine::DecisionTuple {
    let mut ix = ClusterIndex::new(snap, &engine.policy().planner);
    engine.determine_scaling_action(
        Some((&mut ix, 0)),
        ResourceType::Cpu,
        current,
        peak,
        avg,
        None,
    )
}

fn forecast(acc: f64) -> ResourceForecast {
    ResourceForecast {
        resource_type: ResourceType::Cpu,
        forecaster: ForecasterKind::Holt,
        step_seconds: 300,
        predicted_values: vec![0.8; 3],
        lower_bound: vec![0.75; 3],
        upper_bound: vec![0.85; 3],
        forecast_accuracy: acc,
    }
}

#[test]
fn five_tuple_migrate_carries_expected_utilization_target_and_plan() {
    let snap = cluster();
    let engine = Engine::default();
    let mut ix = ClusterIndex::new(&snap, &engine.policy().planner);
    let vm = ix.vm_index("vm-001").unwrap();
    let (action, target_value, reasoning, target, plan) = engine.determine_scaling_action(
        Some((&mut ix, vm)),
        ResourceType::Cpu,
        0.80,
        0.85,
        0.76,
        None,
    );
    assert_eq!(action, ScalingAction::Migrate);
    // The seed's default estimator: current x 0.7, NOT the current value.
    assert!((target_value - 0.56).abs() < 1e-12, "{target_value}");
    assert_eq!(target.as_deref(), Some("node-02"));
    let plan = plan.expect("MIGRATE carries a plan");
    assert_eq!(plan.target_node_id, "node-02");
    assert_eq!(plan.source_vm_id, "vm-001");
    assert_eq!(
        plan.expected_utilization_improvement.expected_utilization,
        0.56
    );
    assert_eq!(
        plan.expected_utilization_improvement.improvement_percentage,
        30.0
    );
    for needle in [
        "0.80",
        "0.76",
        "0.70",
        "0.75",
        "node-02",
        "0.56",
        "no forecast",
    ] {
        assert!(
            reasoning.contains(needle),
            "{needle} missing from: {reasoning}"
        );
    }
}

#[test]
fn five_tuple_respects_forecast_accuracy_boundary() {
    let snap = cluster();
    let engine = Engine::default();
    for (acc, migrate) in [(0.8, false), (0.81, true)] {
        let mut ix = ClusterIndex::new(&snap, &engine.policy().planner);
        let f = forecast(acc);
        let (action, _, reasoning, target, plan) = engine.determine_scaling_action(
            Some((&mut ix, 0)),
            ResourceType::Cpu,
            0.8,
            0.85,
            0.76,
            Some(&f),
        );
        assert_eq!(
            action == ScalingAction::Migrate,
            migrate,
            "{acc}: {reasoning}"
        );
        assert_eq!(target.is_some(), migrate);
        assert_eq!(plan.is_some(), migrate);
        if !migrate {
            assert!(reasoning.contains("forecast accuracy 0.80"), "{reasoning}");
        }
    }
}

#[test]
fn no_feasible_target_falls_back_to_scaling_and_says_so() {
    let mut snap = cluster();
    snap.nodes[1].cpu_utilization = 0.69;
    snap.nodes[2].health = NodeHealth::Down;
    let engine = Engine::default();
    let (action, target_value, reasoning, target, plan) =
        cpu_decision(&engine, &snap, 0.80, 0.95, 0.76);
    assert_eq!(action, ScalingAction::ScaleUp);
    assert!(target.is_none() && plan.is_none());
    assert!((target_value - 0.95 / 0.6).abs() < 1e-12);
    assert!(reasoning.contains("no feasible target"), "{reasoning}");
    assert!(reasoning.contains("scaling rule instead"), "{reasoning}");
}

#[test]
fn without_a_cluster_the_rule_still_decides() {
    let engine = Engine::default();
    let (action, _, reasoning, target, _) =
        engine.determine_scaling_action(None, ResourceType::Cpu, 0.8, 0.8, 0.76, None);
    assert_eq!(action, ScalingAction::NoAction);
    assert!(target.is_none());
    assert!(reasoning.contains("no cluster snapshot"));
    let (action, target_value, ..) =
        engine.determine_scaling_action(None, ResourceType::Memory, 0.8, 0.8, 0.76, None);
    assert_eq!(action, ScalingAction::NoAction);
    assert_eq!(target_value, 0.8);
}

#[test]
fn model_based_estimator_predicts_the_target_load() {
    let snap = cluster();
    let policy = PolicyConfig {
        estimator: Estimator::ModelBased,
        ..PolicyConfig::default()
    };
    let engine = Engine::new(policy);
    let (action, target_value, reasoning, ..) = cpu_decision(&engine, &snap, 0.8, 0.8, 0.76);
    assert_eq!(action, ScalingAction::Migrate);
    // node-02: 0.3 * 16 = 4.8 cores + 2.0 = 6.8 / 16
    assert!((target_value - 0.425).abs() < 1e-12, "{target_value}");
    assert!(reasoning.contains("model:"), "{reasoning}");
    // A calibrated correction: 0.1 + 0.8 x 0.425 = 0.44, stated in the plan too.
    let engine = Engine::new(PolicyConfig {
        estimator: Estimator::ModelBased,
        model_correction: Some(scalelab_engine::policy::LinearCorrection {
            intercept: 0.1,
            slope: 0.8,
        }),
        ..PolicyConfig::default()
    });
    let (_, target_value, reasoning, _, plan) = cpu_decision(&engine, &snap, 0.8, 0.8, 0.76);
    assert!((target_value - 0.44).abs() < 1e-12, "{target_value}");
    assert_eq!(plan.unwrap().expected_utilization(), target_value);
    assert!(
        reasoning.contains("calibrated: +0.100 + 0.800 x"),
        "{reasoning}"
    );
}

/// Same keys, nesting and JSON types, recursively; arrays compare their first element.
fn same_shape(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            assert_eq!(kx, ky, "keys differ at {path}");
            for k in x.keys() {
                same_shape(&x[k], &y[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "length differs at {path}");
            if let (Some(p), Some(q)) = (x.first(), y.first()) {
                same_shape(p, q, &format!("{path}[0]"));
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        _ => panic!("type differs at {path}: {a} vs {b}"),
    }
}

#[test]
fn plan_json_has_the_seed_shape() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/seed_plan.json")).expect("fixture parses");
    let snap = cluster();
    let engine = Engine::default();
    let (.., plan) = cpu_decision(&engine, &snap, 0.8, 0.8, 0.76);
    let ours = serde_json::to_value(plan.unwrap()).unwrap();
    // serde_json sorts keys (no preserve_order), so key order is compared sorted.
    same_shape(&ours, &fixture, "plan");
    // The seed's own example (no parameters in its strings) loads as a typed plan.
    let seed: MigrationPlan = serde_json::from_value(fixture).expect("seed plan loads");
    assert_eq!(seed.execution_steps.len(), 5);
    assert_eq!(seed.success_criteria.len(), 4);
}

#[test]
fn decisions_from_before_migration_fields_still_deserialize() {
    let old = r#"{"vm_id":"vm-9","resource_type":"memory","action":"scale_up",
        "current_value":0.91,"target_value":1.5,"confidence":0.5,
        "reasoning":"x","timestamp_ms":1700000000000}"#;
    let d: ScalingDecision = serde_json::from_str(old).unwrap();
    assert_eq!(d.target_node_id, None);
    assert_eq!(d.migration_plan, None);
    let back: ScalingDecision = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(back, d);
}

#[test]
fn legacy_map_shape() {
    let scaler = AutoScaler::default();
    let flat = scaler.scale_decision("vm-x", ResourceType::Memory, &[0.5; 20], 300, 7, None);
    let keys: Vec<_> = flat.as_object().unwrap().keys().cloned().collect();
    let mut expected = vec![
        "action",
        "confidence",
        "current_value",
        "reasoning",
        "resource_type",
        "target_value",
        "timestamp_ms",
        "vm_id",
    ];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(flat["action"], "no_action");

    let snap = cluster();
    let m = scaler.scale_decision("vm-001", ResourceType::Cpu, &[0.8; 20], 300, 7, Some(&snap));
    assert_eq!(m["action"], "migrate", "{m}");
    assert_eq!(m["target_node_id"], "node-02");
    let details = m["migration_details"].as_object().unwrap();
    let mut dk: Vec<_> = details.keys().cloned().collect();
    dk.sort();
    assert_eq!(
        dk,
        [
            "estimated_completion_minutes",
            "estimated_downtime_seconds",
            "execution_steps",
            "expected_improvement",
            "migration_type",
            "rollback_conditions",
            "success_criteria"
        ]
    );
    assert_eq!(details["migration_type"], "live_migration");
    assert_eq!(details["execution_steps"].as_array().unwrap().len(), 5);
    assert_eq!(
        details["expected_improvement"]["expected_utilization"],
        0.56
    );
    assert_eq!(m.as_object().unwrap().len(), expected.len() + 2);
    // The map of a decision equals legacy_map of the same decision.
    let d: ScalingDecision = ScalingDecision {
        vm_id: "v".into(),
        resource_type: ResourceType::Disk,
        action: ScalingAction::ScaleDown,
        current_value: 0.1,
        target_value: 0.5,
        confidence: 0.5,
        reasoning: "r".into(),
        timestamp_ms: 1,
        target_node_id: None,
        migration_plan: None,
    };
    assert!(legacy::legacy_map(&d).get("migration_details").is_none());
}

fn obs(vm_id: &str, host: UtilStats) -> VmObservation {
    VmObservation {
        vm_id: vm_id.into(),
        resources: vec![
            ResourceObservation {
                resource_type: ResourceType::Cpu,
                stats: UtilStats {
                    current: 0.5,
                    avg: 0.5,
                    peak: 0.6,
                },
                forecast: None,
            },
            ResourceObservation {
                resource_type: ResourceType::Memory,
                stats: UtilStats {
                    current: 0.2,
                    avg: 0.2,
                    peak: 0.25,
                },
                forecast: None,
            },
        ],
        host_cpu: Some(ResourceObservation {
            resource_type: ResourceType::Cpu,
            stats: host,
            forecast: None,
        }),
        last_scaled_ms: None,
        last_migrated_ms: None,
    }
}

#[test]
fn decide_holds_an_action_back_for_its_own_cooldown() {
    let snap = cluster();
    let calm = UtilStats {
        current: 0.3,
        avg: 0.3,
        peak: 0.35,
    };
    let mut policy = PolicyConfig::default();
    policy.cooldowns.scale_down_s = Some(600);
    let engine = Engine::new(policy);
    let now = 1_000_000;
    let mut o = obs("vm-001", calm);
    // Scaled 599 s ago: the idle memory's scale-down waits, and says why and how long;
    // the CPU (0.5, no action) is not held by anything.
    o.last_scaled_ms = Some(now - 599_000);
    let ds = engine.decide(now, Some(&snap), std::slice::from_ref(&o));
    let mem = ds
        .iter()
        .find(|d| d.resource_type == ResourceType::Memory)
        .unwrap();
    assert_eq!(mem.action, ScalingAction::NoAction);
    assert_eq!(mem.target_value, mem.current_value);
    assert!(
        mem.reasoning
            .starts_with("scale_down held back by its cooldown (599 s of 600 s"),
        "{}",
        mem.reasoning
    );
    // At 600 s it goes through.
    o.last_scaled_ms = Some(now - 600_000);
    let ds = engine.decide(now, Some(&snap), std::slice::from_ref(&o));
    assert!(ds.iter().any(|d| d.action == ScalingAction::ScaleDown));
    // A hot host's VM is a candidate whatever its scaling cooldown, but not when it
    // moved less than the MIGRATE cooldown ago.
    let hot = UtilStats {
        current: 0.8,
        avg: 0.78,
        peak: 0.82,
    };
    let mut o = obs("vm-001", hot);
    o.last_scaled_ms = Some(now);
    let migrates = |e: &Engine, o: &VmObservation| {
        e.decide(now, Some(&snap), std::slice::from_ref(o))
            .iter()
            .any(|d| d.action == ScalingAction::Migrate)
    };
    assert!(migrates(&engine, &o));
    o.last_migrated_ms = Some(now - 100_000);
    assert!(migrates(&engine, &o), "migrate_s is 0 by default");
    let mut p = PolicyConfig::default();
    p.cooldowns.migrate_s = Some(101);
    assert!(!migrates(&Engine::new(p), &o));
}

#[test]
fn batch_decide_uses_host_pressure_and_one_planner_round() {
    let snap = cluster();
    let mut policy = PolicyConfig::default();
    policy.planner.max_migrations_per_node = 1;
    // Every candidate planned on its own, so that the cap (not the host's relief by
    // the first departure) is what holds the second back.
    policy.planner.vm_selection = scalelab_engine::policy::VmSelection::PerVmRule;
    let engine = Engine::new(policy);
    let hot = UtilStats {
        current: 0.8,
        avg: 0.78,
        peak: 0.82,
    };
    let decisions = engine.decide(42, Some(&snap), &[obs("vm-001", hot), obs("vm-002", hot)]);
    assert_eq!(decisions.len(), 4);
    let cpu: Vec<_> = decisions
        .iter()
        .filter(|d| d.resource_type == ResourceType::Cpu)
        .collect();
    // The per-node cap of 1 lets exactly one of the two leave node-01.
    assert_eq!(
        cpu.iter()
            .filter(|d| d.action == ScalingAction::Migrate)
            .count(),
        1
    );
    let other = cpu
        .iter()
        .find(|d| d.action != ScalingAction::Migrate)
        .unwrap();
    assert!(other.reasoning.contains("cap 1"), "{}", other.reasoning);
    // The VM's own CPU (0.5) drives the fallback: no action.
    assert_eq!(other.action, ScalingAction::NoAction);
    let m = cpu
        .iter()
        .find(|d| d.action == ScalingAction::Migrate)
        .unwrap();
    assert_eq!(m.current_value, 0.8);
    assert!((m.target_value - 0.56).abs() < 1e-12);
    assert!(decisions.iter().all(|d| d.timestamp_ms == 42));
    // Memory is idle -> scale down.
    assert!(
        decisions
            .iter()
            .filter(|d| d.resource_type == ResourceType::Memory)
            .all(|d| d.action == ScalingAction::ScaleDown)
    );
    // Deterministic.
    assert_eq!(
        decisions,
        engine.decide(42, Some(&snap), &[obs("vm-001", hot), obs("vm-002", hot)])
    );
}
