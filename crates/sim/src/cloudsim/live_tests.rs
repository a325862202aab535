//! scalelab's migration model inside the CloudSim profile, on small days whose
//! answers are derived by hand: one consolidation that empties a host of two VMs.
//!
//! Two hosts of 4 x 1000 MIPS, 1 Gbit/s, G4 power; VMs 0-2 busy (80 %), 3-4 idle
//! (10 %). Placement at full size (1000 MIPS each) by the least power increase, every
//! host at 0 % until the first update (86 W): VM 0 to host 0 (8.3 W either way, the
//! lower index), VM 1 to host 1 (8.3 W against 16 W), VM 2 to host 0 (16 W either
//! way), VM 3 to host 1 (16 W against 24 W), VM 4 to host 0 (24 W either way). At the
//! first update (300.1 s) host 0 runs at (800 + 800 + 100) / 4000 = 42.5 % and host 1
//! at (800 + 100) / 4000 = 22.5 %. Host 1 is the least used, and both its VMs fit on
//! host 0 (65 % <= 80 %), so VMs 1 and 3 migrate at once, host 1 -> host 0, over host
//! 1's send side and host 0's receive side: 500 Mbit/s each.

use crate::record::{Outcome, StepOutcome};
use scalelab_engine::plan::StepAction;
use scalelab_engine::precopy::mbps_to_mib_s;

const DAY: &str = include_str!("live-day.toml");

/// The day under the pre-copy model, the idle VMs given `dirty`, the policy `policy`.
fn day(dirty: &str, policy: &str) -> String {
    let text = DAY
        .replace(
            "profile = \"cloudsim\"\n",
            "profile = \"cloudsim\"\nmigrations = \"precopy\"\n",
        )
        .replace("level = 0.1 }", &format!("level = 0.1 }}\n{dirty}"));
    format!("{text}\n{policy}")
}

fn run(text: &str) -> crate::RunRecord {
    crate::run_scenario_text(text, None, &mut |_, _| {}).unwrap()
}

/// The default duration of validation, verification and cleanup (measured, see
/// `scalelab_engine::planner::VALIDATION_EXPECTED_S`).
const STEP_S: f64 = 1.45;

/// Memory per second at `mbps` on the wire (goodput 0.97).
fn mib_s(mbps: f64) -> f64 {
    mbps_to_mib_s(mbps) * 0.97
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn two_migrations_share_the_nic_and_finish_as_estimated() {
    let r = run(&day("", ""));
    let m: Vec<_> = r
        .migrations
        .iter()
        .filter(|m| m.started_ms == 300_100)
        .collect();
    assert_eq!(m.len(), 2, "{:?}", r.migrations);
    // No dirty memory: one round of 1000 MiB at 500 Mbit/s, then an empty stop-and-copy
    // and the 20 ms resume, with the default 1.45 s for each step that moves no
    // memory: 1.45 + 1000 / 57.82 + 0.02 + 1.45 + 1.45 = 21.666 s.
    let precopy_s = 1000.0 / mib_s(500.0);
    let total_s = STEP_S + precopy_s + 0.02 + 2.0 * STEP_S;
    for x in &m {
        assert_eq!((x.source, x.target), (1, 0));
        assert_eq!(x.outcome, Some(Outcome::Completed));
        let took = (x.ended_ms.unwrap() - x.started_ms) as f64 / 1000.0;
        assert!(close(took, total_s, 0.002), "{took} vs {total_s}");
        assert_eq!(x.downtime_ms, 20);
        assert_eq!(x.precopy_rounds, 1);
        assert!(close(x.data_sent_mib, 1000.0, 1e-6));
        // The plan knew the share: expected equals actual.
        let e = x.expected.as_ref().unwrap();
        assert!(close(e.completion_s, total_s, 1e-6), "{e:?}");
        assert!(close(e.downtime_ms, 20.0, 1e-6));
        // Timeouts: 2 x the pre-copy estimate at the least the flow can get with two
        // migrations per host (500 Mbit/s here too): ceil(34.59) = 35 s.
        let steps: Vec<_> = x.steps.iter().map(|s| (s.action, s.timeout_s)).collect();
        assert_eq!(steps[1], (StepAction::MemoryPreCopy, 35));
        assert_eq!(steps.len(), 5);
        assert!(x.steps.iter().all(|s| s.outcome == Some(StepOutcome::Ok)));
        // Switchover after the copy and resume, then verification and cleanup.
        let sw = x.switchover_ms.unwrap() - x.started_ms;
        assert!(close(sw as f64 / 1000.0, STEP_S + precopy_s + 0.02, 0.002));
    }
    // Host 1 runs nothing afterwards: it is switched off.
    assert_eq!(r.metrics.host_shutdowns, 1);
    assert_eq!(r.metrics.migration_downtime_ms, 40);
}

#[test]
fn dirty_memory_takes_rounds_and_the_freed_nic_speeds_them_up() {
    // VM 3 dirties 10 MiB/s, VM 1 nothing. Both send 1000 MiB at 500 Mbit/s (57.82
    // MiB/s) for 17.296 s, and VM 3 dirtied 172.96 MiB meanwhile, more than fits a
    // 300 ms pause at that rate (17.35 MiB): round 1. VM 1 has nothing left: its
    // stop-and-copy is empty and it leaves the NIC, so VM 3 gets all 1000 Mbit/s
    // (115.63 MiB/s): round 1 takes 1.4958 s and dirties 14.958 MiB, which fits a
    // 300 ms pause now (34.69 MiB). Stop-and-copy 14.958 / 115.63 = 129.4 ms, + 20 ms.
    let r = run(&day("dirty_rate_mib_s = 10", ""));
    let x = r.migrations.iter().find(|m| m.vm == 3).unwrap();
    let (half, full) = (mib_s(500.0), mib_s(1000.0));
    let d0 = 10.0 * 1000.0 / half;
    let d1 = 10.0 * d0 / full;
    assert_eq!(x.precopy_rounds, 2);
    let pause_ms = (d1 / full + 0.02) * 1000.0;
    assert_eq!(x.downtime_ms, pause_ms.round() as u64, "{pause_ms}");
    let sent = 1000.0 + d0 + d1;
    assert!(
        close(x.data_sent_mib, sent, 1e-6),
        "{} vs {sent}",
        x.data_sent_mib
    );
    // The plan expected the shared rate all along: three rounds (2.991 s dirtying
    // 29.91 MiB, then 0.5173 s dirtying 5.173 MiB, which fits) and a 109.5 ms pause.
    // Its estimate was pessimistic by what the freed NIC gave back.
    let e = x.expected.as_ref().unwrap();
    let e1 = 10.0 * d0 / half;
    let e2 = 10.0 * e1 / half;
    assert_eq!(e.precopy_rounds, 3);
    assert!(close(e.data_sent_mib, 1000.0 + d0 + e1 + e2, 1e-6), "{e:?}");
    assert!(close(e.downtime_ms, (e2 / half + 0.02) * 1000.0, 1e-6));
    // The pauses count as degradation: PDM above zero.
    assert!(r.metrics.pdm > 0.0);
}

#[test]
fn one_migration_per_host_serializes_them() {
    let r = run(&day("", "[policy.planner]\nmax_migrations_per_node = 1\n"));
    let m: Vec<_> = r.migrations.iter().take(2).collect();
    // Alone, each gets the whole NIC: 1000 MiB / 115.63 MiB/s = 8.648 s. The second
    // starts when the first has cleaned up: 300.1 + 1.45 + 8.648 + 0.02 + 2 x 1.45 s.
    let alone_s = STEP_S + 1000.0 / mib_s(1000.0) + 0.02 + 2.0 * STEP_S;
    assert_eq!(m[0].started_ms, 300_100);
    assert_eq!(m[1].started_ms, m[0].ended_ms.unwrap());
    for x in &m {
        let took = (x.ended_ms.unwrap() - x.started_ms) as f64 / 1000.0;
        assert!(close(took, alone_s, 0.002), "{took} vs {alone_s}");
        assert!(close(
            x.expected.as_ref().unwrap().completion_s,
            alone_s,
            1e-6
        ));
    }
}

#[test]
fn plans_roll_back_on_their_own_conditions() {
    // The target would run at 65 % with both VMs (host 0 lists them while they
    // migrate in), above a 0.6 ceiling. VM 1 finishes validation first and rolls back
    // (it stays on host 1). Without it host 0 would run at 45 % with VM 3, which passes
    // and migrates alone at the full link: 1.45 + 8.648 + 0.02 + 2 x 1.45 s.
    let r = run(&day(
        "",
        "[policy.planner]\ntarget_cpu_ceiling = 0.5\n[policy.migration]\nrollback_target_cpu_frac = 0.6\n",
    ));
    let by_vm = |v: u32, t: u64| {
        r.migrations
            .iter()
            .find(|m| m.vm == v && m.started_ms == t)
            .unwrap()
    };
    let x = by_vm(1, 300_100);
    assert_eq!(x.outcome, Some(Outcome::RolledBack));
    let why = x.rollback_reason.as_deref().unwrap();
    assert!(
        why.starts_with("validation: target h-0 would run at 0.65"),
        "{why}"
    );
    assert_eq!(x.ended_ms, Some(301_550));
    assert_eq!(x.steps.last().unwrap().outcome, Some(StepOutcome::Failed));
    let y = by_vm(3, 300_100);
    assert_eq!(y.outcome, Some(Outcome::Completed));
    let alone_ms = 300_100.0 + (STEP_S + 1000.0 / mib_s(1000.0) + 0.02 + 2.0 * STEP_S) * 1000.0;
    assert_eq!(y.ended_ms, Some(alone_ms.round() as u64));
    // The next round tries VM 1 again, and host 0 (now 45 % with VM 3) would again
    // run at 65 %: rolled back again. Host 1 never empties.
    assert_eq!(by_vm(1, 600_100).outcome, Some(Outcome::RolledBack));
    assert_eq!(r.metrics.host_shutdowns, 0);
    // Two flows of 500 Mbit/s are below a 600 Mbit/s minimum: both roll back as soon as
    // pre-copy starts.
    let r = run(&day(
        "",
        "[policy.migration]\nmin_connectivity_mbps = 600\n",
    ));
    let x = &r.migrations[0];
    assert_eq!(x.outcome, Some(Outcome::RolledBack));
    assert!(
        x.rollback_reason
            .as_deref()
            .unwrap()
            .contains("gets 500 Mbps, below 600")
    );
    // VM 3 dirtying memory almost as fast as the link carries it, alone on the link
    // (one migration per host): after the one round allowed, 864.8 MiB remain, 7.5 s
    // of pause at 115.63 MiB/s; at 5 s the plan gives up and the VM resumes on its
    // source.
    let r = run(&day(
        "dirty_rate_mib_s = 100",
        "[policy.planner]\nmax_migrations_per_node = 1\n[policy.migration]\nmax_rounds = 1\n",
    ));
    let x = r.migrations.iter().find(|m| m.vm == 3).unwrap();
    assert_eq!(x.outcome, Some(Outcome::RolledBack));
    assert!(
        x.rollback_reason
            .as_deref()
            .unwrap()
            .starts_with("unresponsive")
    );
    assert_eq!(x.downtime_ms, 5000);
    assert_eq!(x.steps.last().unwrap().action, StepAction::StopAndCopy);
    // What it sent counts up to the rollback, not to the last event before it: the
    // 1000 MiB of round 0 and 5 s of the final copy at the full link.
    let sent = 1000.0 + 5.0 * mib_s(1000.0);
    assert!(
        close(x.data_sent_mib, sent, 0.01),
        "{} vs {sent}",
        x.data_sent_mib
    );
}

#[test]
fn contradictory_settings_are_refused() {
    let e = crate::Scenario::from_toml_str(
        &day("dirty_rate_mib_s = 10", "").replace("migrations = \"precopy\"\n", ""),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("vms[1].dirty_rate_mib_s:"), "{e}");
    let e = crate::Scenario::from_toml_str(&day("", "[policy.migration]\nauto_converge = true\n"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("policy.migration.auto_converge:"), "{e}");
}

#[test]
fn a_migration_to_a_switched_off_host_waits_for_its_boot() {
    // Host h0 (G4) and h1 (G5), 2 x 1000 MIPS. VM a goes to h0 (16 W against 22.3 W),
    // VM b to h1 (h0 would be full). b finishes at 300.1 s: h1 switches off. VM c
    // (100 MiB) arrives at 500 s and at 600.1 s goes to h0, where a runs at 20 %
    // (16.6 W against 22.3 W for the off h1). At 900.1 s a asks for all of its core:
    // h0 at 100 % is overloaded, MMT moves c, and only h1 can take it: h1 boots for
    // 60 s before validation begins.
    let text = r#"
name = "boot-migration"
duration_s = 1200
control_interval_s = 300
[compat]
profile = "cloudsim"
migrations = "precopy"
[sim]
baseline = "beloglazov_thr"
[[nodes]]
name = "h0"
cores = 2
core_mips = 1000
memory_mib = 4096
nic_mbps = 1000
power = "hp_ml110_g4"
[[nodes]]
name = "h1"
cores = 2
core_mips = 1000
memory_mib = 4096
nic_mbps = 1000
power = "hp_ml110_g5"
boot_s = 60
[[vms]]
name = "a"
vcpus = 1
mips = 1000
memory_mib = 1000
workload = { kind = "replay", samples = [0.2, 0.2, 0.2, 1.0, 1.0], interval_s = 300 }
[[vms]]
name = "b"
vcpus = 1
mips = 1000
memory_mib = 1000
workload = { kind = "replay", samples = [0.5, 0.0, 0.0, 0.0, 0.0], interval_s = 300 }
[[vms]]
name = "c"
vcpus = 1
mips = 1000
memory_mib = 100
arrive_s = 500
workload = { kind = "constant", level = 1.0 }
"#;
    let r = run(text);
    assert_eq!(r.migrations.len(), 1, "{:?}", r.migrations);
    let x = &r.migrations[0];
    assert_eq!((x.vm, x.source, x.target), (2, 0, 1));
    assert_eq!(x.started_ms, 900_100);
    assert_eq!(x.steps[0].action, StepAction::PreMigrationValidation);
    assert_eq!(x.steps[0].start_ms, 960_100);
    assert_eq!(x.outcome, Some(Outcome::Completed));
    // 60 s boot + 1.45 s validation + 100 MiB alone on the link + 20 ms + 1.45 s
    // verification + 1.45 s cleanup.
    let total_s = 60.0 + 1.45 + 100.0 / mib_s(1000.0) + 0.02 + 1.45 + 1.45;
    let took = (x.ended_ms.unwrap() - x.started_ms) as f64 / 1000.0;
    assert!(close(took, total_s, 0.002), "{took} vs {total_s}");
    assert!(close(
        x.expected.as_ref().unwrap().completion_s,
        total_s,
        1e-6
    ));
    assert_eq!(r.metrics.host_power_ons, 1);
}

#[test]
fn steps_that_move_no_memory_take_the_scenarios_durations() {
    // One migration at a time, each step as the scenario says: 10 s validation, 1 s
    // verification and cleanup; the plan still expects 3 x 1.45 s.
    let r = run(&day(
        "",
        "[policy.planner]\nmax_migrations_per_node = 1\n\
         [stochastic.step_durations]\nvalidation_s = 10\nverification_s = 1\ncleanup_s = 1\n",
    ));
    let x = &r.migrations[0];
    let took = (x.ended_ms.unwrap() - x.started_ms) as f64 / 1000.0;
    let copy_s = 1000.0 / mib_s(1000.0) + 0.02;
    assert!(close(took, 10.0 + copy_s + 1.0 + 1.0, 0.002), "{took}");
    let e = x.expected.as_ref().unwrap();
    assert!(
        close(e.completion_s, 1.45 + copy_s + 1.45 + 1.45, 1e-6),
        "{e:?}"
    );
}
