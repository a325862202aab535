//! Each literature baseline on a hand-built cluster, showing its defining rule.

use scalelab_testkit::runs;

use runs::*;

/// node-0 (10 cores): a 3 cores / 8 GiB, b 2 cores / 2 GiB, c 3.6 cores / 4 GiB = 0.86.
/// node-1 carries 5 cores (0.5), node-2 5.5 (0.55), node-3 2 (0.2).
fn cluster(baseline: &str, node0_scale: f64, duration: u64) -> String {
    format!(
        r#"
name = "baseline-{baseline}"
duration_s = {duration}
control_interval_s = 300
sample_interval_s = 300
[sim]
baseline = "{baseline}"
[[nodes]]
name = "node"
count = 4
cores = 10
memory_mib = 65536
nic_mbps = 10000
[[vms]]
name = "a"
vcpus = 4
memory_mib = 8192
nodes = ["node-0"]
workload = {{ kind = "constant", level = {a} }}
[[vms]]
name = "b"
vcpus = 4
memory_mib = 2048
nodes = ["node-0"]
workload = {{ kind = "constant", level = {b} }}
[[vms]]
name = "c"
vcpus = 4
memory_mib = 4096
nodes = ["node-0"]
workload = {{ kind = "constant", level = {c} }}
[[vms]]
name = "l1"
vcpus = 10
memory_mib = 4096
nodes = ["node-1"]
workload = {{ kind = "constant", level = 0.5 }}
[[vms]]
name = "l2"
vcpus = 10
memory_mib = 4096
nodes = ["node-2"]
workload = {{ kind = "constant", level = 0.55 }}
[[vms]]
name = "l3"
vcpus = 10
memory_mib = 4096
nodes = ["node-3"]
workload = {{ kind = "constant", level = 0.2 }}
"#,
        a = 0.75 * node0_scale,
        b = 0.5 * node0_scale,
        c = 0.9 * node0_scale
    )
}

fn moves(r: &scalelab_sim::RunRecord) -> Vec<(String, String, u64)> {
    r.migrations
        .iter()
        .map(|m| {
            (
                m.vm_id.clone(),
                r.nodes[m.target as usize].id.clone(),
                m.started_ms,
            )
        })
        .collect()
}

#[test]
fn thr_moves_the_smallest_vm_to_the_fullest_host_under_0_8() {
    let r = run_checked(&cluster("thr", 1.0, 600), None);
    // 0.86 > 0.8: MMT takes b (2 GiB) first, which brings node-0 to 0.66 <= 0.8.
    // Best fit: node-2 ends at 0.75, fuller than node-1 (0.7) or node-3 (0.4).
    assert_eq!(moves(&r), vec![("b".to_string(), "node-2".to_string(), 0)]);
    let m = &r.migrations[0];
    assert!((m.expected_utilization - 0.75).abs() < 1e-9);
    assert!(m.decision.reasoning.starts_with("beloglazov_thr"));
    // No scaling decisions: baselines only migrate.
    assert!(
        r.decisions
            .iter()
            .all(|d| d.action == scalelab_engine::ScalingAction::Migrate)
    );
}

#[test]
fn thr_leaves_a_host_at_0_75_alone_but_iqr_and_mad_fall_back_to_0_7_before_12_samples() {
    // node-0 scaled to 0.75.
    let scale = 0.75 / 0.86;
    assert!(
        run_checked(&cluster("thr", scale, 600), None)
            .migrations
            .is_empty()
    );
    for b in ["iqr", "mad", "lr"] {
        let r = run_checked(&cluster(b, scale, 600), None);
        assert_eq!(r.migrations.len(), 1, "{b}: the 0.7 fallback applies");
        assert_eq!(r.migrations[0].vm_id, "b");
    }
}

#[test]
fn iqr_on_a_steady_host_tolerates_high_load_after_twelve_samples() {
    // 0.86 and perfectly steady: after 12 samples the IQR threshold is 1.0, so the
    // only migration is the fallback one at the start; later rounds leave node-0 be.
    let r = run_checked(&cluster("iqr", 0.8 / 0.86, 300 * 20), None);
    assert!(r.migrations.iter().all(|m| m.started_ms < 12 * 300_000));
}

#[test]
fn lr_acts_on_the_predicted_trend_not_the_level() {
    // node-0 sits at 0.6 for 13 samples, then steps to 0.82 and stays there.
    let step = |b: &str| {
        let mut text = cluster(b, 1.0, 300 * 30);
        for (v, lvl) in [("a", 0.75), ("b", 0.5), ("c", 0.9)] {
            let before = lvl * 0.6 / 0.86;
            let after = lvl * 0.82 / 0.86;
            text = text.replacen(
                &format!("level = {lvl} }}"),
                &format!("level = 0 }}\n# {v}"),
                1,
            );
            text = text.replacen(
                "workload = { kind = \"constant\", level = 0 }",
                &format!(
                    "workload = {{ kind = \"step\", before = {before}, after = {after}, at_s = 3900 }}"
                ),
                1,
            );
        }
        text
    };
    let thr = run_checked(&step("thr"), None);
    let lr = run_checked(&step("lr"), None);
    // THR reacts to the level at once: 0.82 > 0.8.
    assert_eq!(
        thr.migrations.first().map(|m| m.started_ms),
        Some(3_900_000)
    );
    // LR regresses the last 10 samples: right after the step the fitted line is still
    // low (1.2 x 0.70 < 1); as the rise fills the window the predicted load crosses
    // 1 / 1.2, three samples later.
    assert_eq!(
        lr.migrations.first().map(|m| m.started_ms),
        Some(3_900_000 + 900_000)
    );
}

#[test]
fn watcher_moves_one_vm_per_audit_to_the_least_loaded_host_under_25_percent() {
    // Add a small VM (0.3 cores) that fits under 25 % on node-3 (0.2 -> 0.23).
    let text = cluster("watcher", 1.0, 900)
        + "[[vms]]\nname = \"d\"\nvcpus = 1\nmemory_mib = 1024\nnodes = [\"node-0\"]\nworkload = { kind = \"constant\", level = 0.3 }\n";
    let r = run_checked(&text, None);
    assert!(!r.migrations.is_empty());
    let mut starts: Vec<u64> = r.migrations.iter().map(|m| m.started_ms).collect();
    starts.dedup();
    assert_eq!(starts.len(), r.migrations.len(), "one migration per audit");
    for m in &r.migrations {
        assert_eq!(r.nodes[m.target as usize].id, "node-3");
        assert!(m.expected_utilization <= 0.25 + 1e-12);
        assert!(m.decision.reasoning.starts_with("watcher_workload_balance"));
    }
    assert_eq!(r.migrations[0].vm_id, "d");
}

#[test]
fn no_migration_never_migrates() {
    let r = run_checked(&cluster("no_migration", 1.2, 1200), None);
    assert!(r.migrations.is_empty());
    assert!(r.decisions.is_empty());
}
