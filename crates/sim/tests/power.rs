//! Power states in scalelab's own model: empty nodes switched off by `[power]`, woken
//! for a VM that needs a host, booting with a delay and an energy cost. Every number
//! below is derived by hand from the scenario.

use scalelab_testkit::runs;

use runs::*;
use scalelab_sim::record::{EventKind, node_state};

/// HP ProLiant ML110 G5 at 0 % CPU (SPECpower).
const G5_IDLE_W: f64 = 93.7;

/// Two nodes, one VM pinned to node-0: node-1 is empty from the start.
fn two_nodes(power: &str, extra_node: &str, extra: &str) -> String {
    format!(
        r#"
name = "power"
seed = 3
duration_s = 3600
control_interval_s = 300
sample_interval_s = 300
{extra}

[[nodes]]
name = "node"
count = 2
cores = 8
memory_mib = 16384
nic_mbps = 10000
power = "hp_ml110_g5"
{extra_node}

[[vms]]
name = "v"
count = 1
vcpus = 2
memory_mib = 4096
nodes = ["node-0"]
workload = {{ kind = "constant", level = 0.5 }}

{power}
"#
    )
}

fn kwh(r: &scalelab_sim::record::RunRecord) -> f64 {
    r.metrics.energy_kwh.expect("nodes have power models")
}

#[test]
fn an_empty_node_switches_off_and_draws_nothing() {
    let on = run_checked(&two_nodes("", "", ""), None);
    let off = run_checked(&two_nodes("[power]\nswitch_off_empty = true", "", ""), None);
    // node-1 is off from the first control round (t = 0): the run saves its idle
    // power for the whole hour, and nothing else changes.
    let saved_j = (kwh(&on) - kwh(&off)) * 3.6e6;
    assert!((saved_j - G5_IDLE_W * 3600.0).abs() < 1e-6, "{saved_j}");
    assert_eq!(off.metrics.host_shutdowns, 1);
    assert_eq!(off.metrics.host_power_ons, 0);
    assert_eq!(on.metrics.host_shutdowns, 0);
    let offs: Vec<_> = off
        .events
        .iter()
        .filter(|e| e.kind == EventKind::HostPowerOff)
        .map(|e| (e.t_ms, e.node))
        .collect();
    assert_eq!(offs, vec![(0, Some(node_ix(&off, "node-1")))]);
    // Active host time: one node for the hour against two.
    assert_eq!(off.metrics.active_host_s, Some(3600.0));
    assert_eq!(on.metrics.active_host_s, Some(7200.0));
    // The replay shows it off (not crashed) from the sample after the round that
    // switched it off; the sample at t = 0 is taken before that round.
    let states = &off.series.node_state;
    assert_eq!(states[0], vec![node_state::HEALTHY; 2]);
    assert!(
        states[1..]
            .iter()
            .all(|s| s[1] == node_state::OFF && s[0] == node_state::HEALTHY)
    );
}

#[test]
fn a_node_switches_off_after_being_empty_for_empty_for_s() {
    let on = run_checked(&two_nodes("", "", ""), None);
    let late = run_checked(
        &two_nodes(
            "[power]\nswitch_off_empty = true\nempty_for_s = 900",
            "",
            "",
        ),
        None,
    );
    // Found empty at t = 0, switched off at the round of t = 900 s.
    let off_at: Vec<_> = late
        .events
        .iter()
        .filter(|e| e.kind == EventKind::HostPowerOff)
        .map(|e| e.t_ms)
        .collect();
    assert_eq!(off_at, vec![900_000]);
    let saved_j = (kwh(&on) - kwh(&late)) * 3.6e6;
    assert!((saved_j - G5_IDLE_W * 2700.0).abs() < 1e-6, "{saved_j}");
    // A floor of two nodes on: nothing switches off.
    let kept = run_checked(
        &two_nodes("[power]\nswitch_off_empty = true\nmin_nodes_on = 2", "", ""),
        None,
    );
    assert_eq!(kept.metrics.host_shutdowns, 0);
    assert_eq!(kwh(&kept), kwh(&on));
}

#[test]
fn a_restarted_vm_wakes_an_off_node_and_runs_once_it_has_booted() {
    let crash = "[sim]\nrestart_elsewhere = true\nrestart_delay_s = 60\n\n\
                 [[failures]]\nkind = \"node_crash\"\nat_s = 1000\nnode = \"node-0\"";
    let boot = "boot_s = 120\nboot_energy_j = 5000";
    let r = run_checked(
        &two_nodes("[power]\nswitch_off_empty = true", boot, crash),
        None,
    );
    // node-1 off at 0; node-0 crashes at 1000 s; the restart at 1060 s finds no node
    // on, wakes node-1, and the VM runs when it has booted at 1180 s.
    let n1 = Some(node_ix(&r, "node-1"));
    let ons: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::HostPowerOn)
        .map(|e| (e.t_ms, e.node))
        .collect();
    assert_eq!(ons, vec![(1_060_000, n1)]);
    assert_eq!(r.metrics.host_power_ons, 1);
    let restarts: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::VmRestart)
        .map(|e| (e.t_ms, e.node))
        .collect();
    assert_eq!(restarts, vec![(1_060_000, n1)]);
    // Down from the crash until the boot ended.
    assert_eq!(r.metrics.total_downtime_ms, 180_000);
    // The crashed node-0 is down, not off, and is never switched off while crashed.
    assert_eq!(r.metrics.host_shutdowns, 1);
    let last = r.series.node_state.last().unwrap();
    assert_eq!(last[0], node_state::DOWN);
    // The boot's energy is counted once: the same run with a free boot draws exactly
    // 5 kJ less.
    let free = run_checked(
        &two_nodes("[power]\nswitch_off_empty = true", "boot_s = 120", crash),
        None,
    );
    let boot_j = (kwh(&r) - kwh(&free)) * 3.6e6;
    assert!((boot_j - 5000.0).abs() < 1e-6, "{boot_j}");
}

#[test]
fn power_settings_that_cannot_work_are_refused_with_the_field() {
    let err = |text: &str| {
        scalelab_sim::Scenario::from_toml_str(text)
            .unwrap_err()
            .to_string()
    };
    let no_curves = two_nodes("[power]\nswitch_off_empty = true", "", "")
        .replace("power = \"hp_ml110_g5\"\n", "");
    assert!(
        err(&no_curves).starts_with("power.switch_off_empty:"),
        "{}",
        err(&no_curves)
    );
    let e = err(&two_nodes(
        "[power]\nswitch_off_empty = true\nmin_nodes_on = 3",
        "",
        "",
    ));
    assert!(e.starts_with("power.min_nodes_on:"), "{e}");
    let e = err(&two_nodes(
        "[power]\nswitch_off_empty = true\nempty_for_s = 3600",
        "",
        "",
    ));
    assert!(e.starts_with("power.empty_for_s:"), "{e}");
    let e = err(&two_nodes(
        "[power]\nswitch_off_empty = true",
        "boot_s = -1",
        "",
    ));
    assert!(e.starts_with("nodes[0].boot_s:"), "{e}");
    let e = err(&two_nodes("[power]\nswitch_of_empty = true", "", ""));
    assert!(e.contains("switch_of_empty"), "{e}");
}

#[test]
fn the_engine_empties_an_underloaded_host_and_it_switches_off() {
    let text = r#"
name = "engine-consolidation"
seed = 1
duration_s = 900
control_interval_s = 300
sample_interval_s = 300
[policy.consolidation]
enabled = true
[power]
switch_off_empty = true
[[nodes]]
name = "node"
count = 3
cores = 8
memory_mib = 32768
nic_mbps = 10000
power = "hp_ml110_g5"
[[vms]]
name = "a"
vcpus = 1
memory_mib = 2048
nodes = ["node-0"]
workload = { kind = "constant", level = 0.5 }
[[vms]]
name = "b"
vcpus = 8
memory_mib = 2048
nodes = ["node-1"]
workload = { kind = "constant", level = 0.5 }
[[vms]]
name = "c"
vcpus = 4
memory_mib = 2048
nodes = ["node-2"]
workload = { kind = "constant", level = 0.5 }
"#;
    let r = run_checked(text, None);
    // node-0 runs 0.5 of 8 cores (0.0625), below the 0.2 threshold; node-1 (0.5) and
    // node-2 (0.25) are not. a goes to the fullest node that stays at or below 0.6
    // with it: node-1 (0.5625), not node-2 (0.3125).
    let ms: Vec<_> = r
        .migrations
        .iter()
        .map(|m| {
            (
                m.vm_id.as_str(),
                r.nodes[m.target as usize].id.as_str(),
                m.started_ms,
            )
        })
        .collect();
    assert_eq!(ms, vec![("a", "node-1", 0)]);
    let m = &r.migrations[0];
    assert!(
        m.decision
            .reasoning
            .contains("below the consolidation threshold"),
        "{}",
        m.decision.reasoning
    );
    assert!((m.expected_utilization - 0.5625).abs() < 1e-9);
    // Emptied, node-0 switches off at the next round.
    let offs: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::HostPowerOff)
        .map(|e| (e.t_ms, e.node))
        .collect();
    assert_eq!(offs, vec![(300_000, Some(node_ix(&r, "node-0")))]);
    // Consolidation needs hosts that switch off, and runs in the engine only.
    let err = |t: &str| {
        scalelab_sim::Scenario::from_toml_str(t)
            .unwrap_err()
            .to_string()
    };
    let e = err(&text.replace("[power]\nswitch_off_empty = true", ""));
    assert!(e.starts_with("policy.consolidation.enabled:"), "{e}");
    let e = err(&text.replace("[power]", "[sim]\nbaseline = \"thr\"\n[power]"));
    assert!(e.starts_with("policy.consolidation.enabled:"), "{e}");
    let e = err(&text.replace("enabled = true", "enabled = true\nunderload_avg = 0.9"));
    assert!(e.starts_with("policy.consolidation.underload_avg:"), "{e}");
}
