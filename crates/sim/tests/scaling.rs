//! Scale up/down change a VM's vCPUs when its host can take it; scale out/in add or
//! remove replicas of a service group, which share the group's load.

use scalelab_testkit::runs;

use runs::*;
use scalelab_engine::ScalingAction;
use scalelab_sim::record::EventKind;

fn group(level: f64, count: u32, extra: &str) -> String {
    format!(
        r#"
name = "group"
seed = 5
duration_s = 3600
control_interval_s = 300
sample_interval_s = 300

[[nodes]]
name = "node"
count = 4
cores = 64
memory_mib = 262144
nic_mbps = 10000

[[vms]]
name = "web"
count = {count}
vcpus = 4
memory_mib = 4096
service_group = "web"
workload = {{ kind = "constant", level = {level} }}
{extra}
"#
    )
}

#[test]
fn sustained_load_scales_a_group_out_and_shares_it() {
    let r = run_checked(&group(0.95, 2, ""), None);
    let out: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::ScaleOut)
        .collect();
    assert!(!out.is_empty());
    // ceil(2 x 0.95 / 0.6) = 4 replicas: two were added.
    assert!(
        out[0].detail.contains("+2 replica(s), now 4"),
        "{}",
        out[0].detail
    );
    assert_eq!(r.vms.len(), 4);
    assert!(r.vms[2].id.starts_with("web-r"));
    // The new replicas got a node.
    assert!(r.placements.iter().any(|p| p.vm == 2 && p.node.is_some()));
    // With the load shared by 4, utilization per VM is 0.475: no further scale out.
    assert_eq!(out.len(), 1);
    let d = r
        .decisions
        .iter()
        .find(|d| d.action == ScalingAction::ScaleOut)
        .unwrap();
    assert_eq!(d.target_value, 4.0);
    assert!(d.applied);
}

#[test]
fn an_idle_group_scales_in_down_to_min_replicas() {
    let r = run_checked(&group(0.05, 4, ""), None);
    let ins: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::ScaleIn)
        .collect();
    assert!(!ins.is_empty());
    // Removed replicas leave the cluster (placement = none) and are never lost.
    assert!(r.placements.iter().any(|p| p.node.is_none()));
    assert_eq!(r.metrics.data_loss_events, 0);
    let last = ins.last().unwrap();
    assert!(last.detail.ends_with("now 1"), "{}", last.detail);
}

#[test]
fn scale_up_needs_room_on_the_host() {
    // A lone VM at 0.95 (no group) scales up: 4 -> 7 vCPUs fits a 64-core host.
    let text = group(0.95, 1, "").replace("service_group = \"web\"\n", "");
    let r = run_checked(&text, None);
    let up = r
        .events
        .iter()
        .find(|e| e.kind == EventKind::ScaleUp)
        .expect("scale up");
    assert_eq!(up.detail, "4 -> 7 vCPUs");
    // With no overcommit room the same decision is refused and counted, not applied.
    let tight = text.replace("[[nodes]]", "[sim]\nvcpu_overcommit = 0.07\n\n[[nodes]]");
    let r = run_checked(&tight, None);
    assert!(!r.events.iter().any(|e| e.kind == EventKind::ScaleUp));
    let refused = r
        .metrics
        .unapplied_decisions_by_action
        .get(&ScalingAction::ScaleUp);
    assert!(refused.copied().unwrap_or(0) > 0);
}

#[test]
fn an_under_used_vm_scales_down() {
    let text = group(0.1, 1, "").replace("service_group = \"web\"\n", "");
    let r = run_checked(&text, None);
    let down = r
        .events
        .iter()
        .find(|e| e.kind == EventKind::ScaleDown)
        .expect("scale down");
    // max(0.1, 0.1 / 0.6) x 4 -> ceil(0.67) = 1 vCPU.
    assert_eq!(down.detail, "4 -> 1 vCPUs");
}
