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

/// One VM alone on a roomy node for a day, with the given workload.
fn alone(vcpus: u32, workload: &str) -> String {
    format!(
        r#"
name = "alone"
seed = 3
duration_s = 86400
control_interval_s = 300
sample_interval_s = 60

[[nodes]]
name = "node"
count = 1
cores = 64
memory_mib = 262144
nic_mbps = 10000

[[vms]]
name = "vm"
count = 1
vcpus = {vcpus}
memory_mib = 4096
workload = {workload}
"#
    )
}

/// +1 for each scale-up, -1 for each scale-down, in order.
fn resizes(r: &scalelab_sim::RunRecord) -> Vec<i32> {
    r.events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ScaleUp => Some(1),
            EventKind::ScaleDown => Some(-1),
            _ => None,
        })
        .collect()
}

fn reversals(steps: &[i32]) -> usize {
    steps.windows(2).filter(|w| w[0] != w[1]).count()
}

#[test]
fn a_constant_load_settles_on_one_allocation() {
    // The issue's case: 90 % of 1 vCPU used to go 1 -> 2 -> 4 and back down, because
    // the history kept the old allocation's utilization after each resize.
    let r = run_checked(&alone(1, r#"{ kind = "constant", level = 0.9 }"#), None);
    assert_eq!(resizes(&r), vec![1], "{:?}", r.events);
    assert!(r.events.iter().any(|e| e.detail == "1 -> 2 vCPUs"));
}

mod settling {
    use super::*;
    use proptest::prelude::*;
    use scalelab_testkit::mutate::config;

    proptest! {
        #![proptest_config(config(24))]

        /// A constant load (with a little noise) is resized at most once, and a slowly
        /// varying one changes resize direction no more often than the load changes
        /// direction (a daily sine turns twice), plus once for the first resize, which
        /// corrects the scenario's arbitrary starting size whatever the load does next.
        #[test]
        fn loads_settle_without_flapping(
            vcpus in prop::sample::select(vec![1u32, 2, 4, 8]),
            level in 0.05f64..2.0,
            noise in 0.0f64..0.02,
            amplitude_frac in 0.0f64..0.6,
        ) {
            let constant = run_checked(
                &alone(vcpus, &format!("{{ kind = \"constant\", level = {level}, noise = {noise} }}")),
                None,
            );
            let steps = resizes(&constant);
            prop_assert!(steps.len() <= 1, "constant {level} on {vcpus} vCPUs: {steps:?}");
            let varying = run_checked(
                &alone(vcpus, &format!(
                    "{{ kind = \"diurnal\", mean = {level}, amplitude = {}, period_s = 86400, noise = {noise} }}",
                    level * amplitude_frac
                )),
                None,
            );
            let steps = resizes(&varying);
            prop_assert!(reversals(&steps) <= 3, "diurnal {level} x {amplitude_frac} on {vcpus} vCPUs: {steps:?}");
        }
    }
}

#[test]
fn without_hysteresis_noise_walks_a_constant_load_up_and_down() {
    // The case the property test found before hysteresis: 5 % of 4 vCPUs with noise.
    // The rebased history alone does not stop it: on 1 vCPU the noise is four times
    // larger in utilization, the forecast's upper bound crosses the scale-up peak, and
    // the VM goes 1 -> 2 -> 1 all day.
    let load = r#"{ kind = "constant", level = 0.05, noise = 0.0177 }"#;
    let off = run_checked(
        &format!(
            "{}\n[policy]\nscale_hysteresis_frac = 0.0\n",
            alone(4, load)
        ),
        None,
    );
    assert!(resizes(&off).len() >= 4, "{:?}", resizes(&off));
    let on = run_checked(&alone(4, load), None);
    assert_eq!(resizes(&on), vec![-1]);
}

/// The time of each resize, with its direction.
fn resize_times(r: &scalelab_sim::RunRecord) -> Vec<(u64, i32)> {
    r.events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ScaleUp => Some((e.t_ms, 1)),
            EventKind::ScaleDown => Some((e.t_ms, -1)),
            _ => None,
        })
        .collect()
}

#[test]
fn each_action_waits_its_own_cooldown() {
    // Idle at first (4 vCPUs scale down to 1 at once), then the load jumps at 10 min:
    // the scale-up it calls for waits the scale-up cooldown from the scale-down.
    let text = alone(
        4,
        r#"{ kind = "step", before = 0.1, after = 0.9, at_s = 600 }"#,
    )
    .replace("duration_s = 86400", "duration_s = 7200");
    let first_two = |extra: &str| {
        let r = run_checked(&format!("{text}\n{extra}"), None);
        let t = resize_times(&r);
        assert!(t.len() >= 2, "{t:?}");
        assert_eq!((t[0].1, t[1].1), (-1, 1), "{t:?}");
        (t[0].0, t[1].0)
    };
    // Default: 900 s for every action; the jump is seen at 600 s, acted on at 900 s.
    let (down, up) = first_two("");
    assert_eq!(up - down, 900_000, "waits exactly the default cooldown");
    // A short scale-up cooldown lets it through at the first round that sees the load.
    let (down, up_fast) = first_two("[policy.cooldowns]\nscale_up_s = 300\n");
    assert!(up_fast < up, "{up_fast} vs {up}");
    assert!(up_fast - down >= 300_000, "never before its own cooldown");
    // A long scale-down cooldown does not hold the scale-up back.
    let (_, up_same) = first_two("[policy.cooldowns]\nscale_up_s = 300\nscale_down_s = 3600\n");
    assert_eq!(up_same, up_fast);
    // The deprecated form means the same cooldown for every action.
    let (down, up_old) = first_two("[sim]\nscale_cooldown_intervals = 1\n");
    assert_eq!(up_old - down, up_fast - down);
}
