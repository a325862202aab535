//! Unlike CPUs in scalelab's own model: node `core_mips`, VM `mips`, and the cap of one
//! host core per vCPU. Every number is derived by hand from the scenario: capacity and
//! demand are counted in cores of 1,000 MIPS.

use scalelab_sim::ParsedScenario;
use scalelab_sim::record::Outcome;
use scalelab_testkit::runs;

use runs::*;

/// A slow node (2 x 1,860 MIPS = 3.72 reference cores) and a fast one (2 x 2,660 =
/// 5.32), as CloudSim's HP ProLiant G4 and G5. `vms`: the VM groups.
fn slow_fast(baseline: &str, vms: &str) -> String {
    format!(
        r#"
name = "speeds"
duration_s = 1800
control_interval_s = 300
sample_interval_s = 300
[sim]
baseline = "{baseline}"
[[nodes]]
name = "slow"
cores = 2
core_mips = 1860
memory_mib = 8192
nic_mbps = 10000
[[nodes]]
name = "fast"
cores = 2
core_mips = 2660
memory_mib = 8192
nic_mbps = 10000
{vms}
"#
    )
}

/// One 1-vCPU VM of `mips` at full use on `node`.
fn vm(name: &str, mips: f64, mem: u64, node: &str) -> String {
    format!(
        r#"
[[vms]]
name = "{name}"
vcpus = 1
mips = {mips}
memory_mib = {mem}
nodes = ["{node}"]
workload = {{ kind = "constant", level = 1.0 }}
"#
    )
}

#[test]
fn a_vcpu_gets_at_most_one_host_core() {
    // The same 2,500 MIPS vCPU at full use on each node: on the slow node it runs at
    // one 1,860 MIPS core, 1.86 / 3.72 = 50 %; on the fast one it gets its 2,500,
    // 2.5 / 5.32 = 47.0 %.
    let vms = vm("a", 2500.0, 1024, "slow") + &vm("b", 2500.0, 1024, "fast");
    let r = run_checked(&slow_fast("no_migration", &vms), None);
    let (slow, fast) = (node_ix(&r, "slow") as usize, node_ix(&r, "fast") as usize);
    for u in &r.series.node_util {
        assert!((f64::from(u[slow]) - 0.5).abs() < 1e-6, "{u:?}");
        assert!((f64::from(u[fast]) - 2.5 / 5.32).abs() < 1e-6, "{u:?}");
    }
    // The record says what the cores and vCPUs are.
    assert_eq!(r.nodes[slow].cores, 2.0);
    assert_eq!(r.nodes[slow].core_mips, Some(1860.0));
    assert_eq!(r.vms[0].mips, Some(2500.0));
    // A capped vCPU is not an overloaded host.
    assert_eq!(r.metrics.overload_time_frac, 0.0);
}

#[test]
fn a_migration_to_faster_cores_lifts_the_cap() {
    // The slow node carries a (2,500 MIPS, capped to 1.86) and b (1,860): 3.72 / 3.72
    // = 100 %, over THR's 0.8. MMT picks a (less memory); on the fast node it uses
    // its whole 2.5: expected and measured 2.5 / 5.32, and the slow node is left at
    // 1.86 / 3.72 = 50 %.
    let vms = vm("a", 2500.0, 1024, "slow") + &vm("b", 1860.0, 2048, "slow");
    let r = run_checked(&slow_fast("thr", &vms), None);
    let done = outcomes(&r, Outcome::Completed);
    assert_eq!(done.len(), 1, "{:?}", r.migrations);
    let m = done[0];
    assert_eq!(m.vm, vm_ix(&r, "a"));
    assert_eq!(m.target, node_ix(&r, "fast"));
    // (The decision rounds it to 4 decimals.)
    assert!((m.expected_utilization - 2.5 / 5.32).abs() < 1e-4, "{m:?}");
    let actual = m.actual_utilization.expect("measured");
    assert!((actual - 2.5 / 5.32).abs() < 1e-6, "{actual}");
    let (slow, fast) = (node_ix(&r, "slow") as usize, node_ix(&r, "fast") as usize);
    let last = r.series.node_util.last().unwrap();
    assert!((f64::from(last[slow]) - 0.5).abs() < 1e-6, "{last:?}");
    assert!(
        (f64::from(last[fast]) - 2.5 / 5.32).abs() < 1e-6,
        "{last:?}"
    );
    assert_eq!(r.metrics.migrations, 1);
}

/// Every node group and VM group of a scenario text given `mips` MIPS.
fn with_speed(text: &str, mips: f64) -> String {
    text.replace("[[nodes]]\n", &format!("[[nodes]]\ncore_mips = {mips}\n"))
        .replace("[[vms]]\n", &format!("[[vms]]\nmips = {mips}\n"))
}

#[test]
fn speeds_alike_everywhere_change_nothing_but_the_unit() {
    // Every core and vCPU at 2,000 MIPS: capacities and demands double, utilizations
    // (ratios of the two) are the same to the bit, so every decision is.
    for name in ["hot-node-relief", "diurnal-fleet-1000", "mtbf-failures"] {
        let text = shipped(name);
        assert!(text.contains("[[nodes]]\n") && text.contains("[[vms]]\n"));
        let base = run_checked(&text, None);
        let mut fast = run_checked(&with_speed(&text, 2000.0), None);
        // Only the reasoning's "N cores" (of 1,000 MIPS) doubles.
        for (a, b) in base.migrations.iter().zip(fast.migrations.iter_mut()) {
            let (x, y) = (&a.decision.reasoning, &mut b.decision.reasoning);
            assert_eq!(x == y, !x.contains(" cores"), "{x} / {y}");
            *y = x.clone();
        }
        assert_eq!(base.series.node_util, fast.series.node_util, "{name}");
        assert_eq!(base.migrations, fast.migrations, "{name}");
        assert_eq!(base.decisions, fast.decisions, "{name}");
        assert_eq!(base.metrics.energy_kwh, fast.metrics.energy_kwh, "{name}");
        assert_eq!(
            base.metrics.unmet_demand_core_s * 2.0,
            fast.metrics.unmet_demand_core_s,
            "{name}: unmet demand is counted in cores of 1,000 MIPS"
        );
    }
}

#[test]
fn speeds_are_given_everywhere_or_nowhere() {
    let err = |text: &str| ParsedScenario::parse(text).unwrap_err().to_string();
    // A VM group without a size beside nodes with speeds.
    let vms = vm("a", 2500.0, 1024, "slow").replace("mips = 2500\n", "");
    let e = err(&slow_fast("thr", &vms));
    assert!(e.starts_with("vms[0].mips: missing"), "{e}");
    assert!(e.contains("nodes[0].core_mips"), "{e}");
    // A node group without a speed beside VMs with sizes.
    let text =
        slow_fast("thr", &vm("a", 2500.0, 1024, "slow")).replacen("core_mips = 2660\n", "", 1);
    let e = err(&text);
    assert!(e.starts_with("nodes[1].core_mips: missing"), "{e}");
    let e = err(&slow_fast("thr", &vm("a", -5.0, 1024, "slow")));
    assert!(e.starts_with("vms[0].mips:"), "{e}");
}
