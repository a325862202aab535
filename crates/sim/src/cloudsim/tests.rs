//! The CloudSim profile's policies on hand-built clusters, each answer derived by hand
//! in the comments, and small scenarios run end to end.

use super::model::{Cluster, Host, Vm};
use super::policy::Policy;
use crate::baselines::{Baseline, VmSelection};
use crate::rng::Pcg32;

const G4: [f64; 11] = [
    86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0,
];
const G5: [f64; 11] = [
    93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0,
];

fn policy(detect: Baseline, parameter: f64) -> Policy {
    Policy {
        detect,
        parameter,
        selection: VmSelection::Mmt,
        consolidate: true,
    }
}

/// Hosts of 2 x `pe_mips`; VMs `(mips, ram, util)` placed on the given hosts, created
/// and updated as after a first scheduling interval.
fn cluster(hosts: &[(f64, [f64; 11])], vms: &[(f64, u64, f64, usize)]) -> Cluster {
    let mut c = Cluster {
        hosts: hosts
            .iter()
            .enumerate()
            .map(|(k, &(mips, p))| Host::new(k as u32, 2, mips, 4096, 1e6, p))
            .collect(),
        vms: vms
            .iter()
            .map(|&(mips, ram, u, _)| Vm::new(mips, 1, ram, 0.0, vec![u, u, u]))
            .collect(),
        interval_s: 300.0,
    };
    for (v, &(_, _, _, h)) in vms.iter().enumerate() {
        c.vms[v].instantiating = false;
        assert!(c.vm_create(h, v));
        c.vms[v].table_host = Some(h);
    }
    for h in 0..c.hosts.len() {
        c.update_host(h, 300.1, true);
    }
    c
}

fn set_history(c: &mut Cluster, v: usize, newest_first: &[f64]) {
    c.vms[v].history = newest_first.iter().copied().collect();
}

#[test]
fn thr_detects_by_requested_mips_and_mmt_moves_the_smallest_memory() {
    // Host 0: 2 x 1000 MIPS. VMs of 1000 MIPS at 90 % (RAM 1740) and 80 % (RAM 613):
    // 1700 / 2000 = 0.85 > 0.8. MMT takes the 613 MB VM; 900 / 2000 = 0.45 is fine.
    // It goes to host 1 (empty G5 of 2 x 1000): the only other host.
    let mut c = cluster(
        &[(1000.0, G4), (1000.0, G5)],
        &[
            (1000.0, 1740, 0.9, 0),
            (1000.0, 613, 0.8, 0),
            (500.0, 613, 0.2, 1),
        ],
    );
    let p = policy(Baseline::Thr, 0.8);
    assert!(p.overloaded(&c, 0));
    assert!(!p.overloaded(&c, 1));
    let moves = p.round(&mut c, &mut Pcg32::new(1, 1));
    assert_eq!(moves[0].vm, 1);
    assert_eq!(moves[0].target, 1);
    assert!(moves[0].overload);
    // Host 1 (100 MIPS of 2000 before) with the VM: (100 + 800) / 2000.
    assert!((moves[0].expected_util - 0.45).abs() < 1e-12);
    // The round leaves the cluster as it found it.
    assert_eq!(c.hosts[0].vms, vec![0, 1]);
    assert_eq!(c.hosts[1].vms, vec![2]);
}

#[test]
fn iqr_and_mad_thresholds_come_from_the_hosts_vm_history() {
    // One VM of 2000 MIPS on a 2 x 1000 host: host history = VM history. Twelve values
    // 0.30, 0.35, ..., 0.85 (newest first, any order). Sorted: q1 at round(3.25) - 1 = 2
    // -> 0.40, q3 at round(9.75) - 1 = 9 -> 0.75: IQR 0.35, threshold 1 - 1.5 x 0.35 =
    // 0.475. The VM now asks 0.5 x 2000 / 2000 = 0.5 > 0.475: overloaded.
    let mut c = cluster(&[(1000.0, G4)], &[(2000.0, 870, 0.5, 0)]);
    let h: Vec<f64> = (0..12).map(|i| 0.30 + 0.05 * i as f64).collect();
    set_history(&mut c, 0, &h);
    assert!(policy(Baseline::Iqr, 1.5).overloaded(&c, 0));
    // With safety 1.0: threshold 0.65, 0.5 is fine.
    assert!(!policy(Baseline::Iqr, 1.0).overloaded(&c, 0));
    // MAD: median 0.575, deviations 0.025, 0.025, 0.075, 0.075, ... 0.275 -> median
    // 0.15; threshold 1 - 2.5 x 0.15 = 0.625 > 0.5: not overloaded.
    assert!(!policy(Baseline::Mad, 2.5).overloaded(&c, 0));
    // With 11 values neither has enough history: the 0.7 fallback, and 0.5 < 0.7.
    set_history(&mut c, 0, &h[..11]);
    assert!(!policy(Baseline::Iqr, 1.5).overloaded(&c, 0));
    // ... which an 0.75 demand exceeds.
    c.vms[0].util = 0.75;
    assert!(policy(Baseline::Mad, 2.5).overloaded(&c, 0));
}

#[test]
fn lr_predicts_one_interval_past_the_last_sample() {
    // Last 10 samples (oldest first) 0.35, 0.40, ..., 0.80 at x = 1..10: the line is
    // 0.30 + 0.05 x. The largest VM (870 MB over 1 Gbit/s / 2) migrates in 13.9 s,
    // ceil(13.9 / 300) = 1 interval: x = 11 predicts 0.85; 1.2 x 0.85 = 1.02 >= 1.
    let mut c = cluster(&[(1000.0, G4)], &[(2000.0, 870, 0.5, 0)]);
    let oldest_first: Vec<f64> = (1..=10).map(|x| 0.30 + 0.05 * x as f64).collect();
    let newest_first: Vec<f64> = oldest_first.iter().rev().copied().collect();
    set_history(&mut c, 0, &newest_first);
    assert!(policy(Baseline::Lr, 1.2).overloaded(&c, 0));
    // 1.1 x 0.85 = 0.935 < 1.
    assert!(!policy(Baseline::Lr, 1.1).overloaded(&c, 0));
    // LRR decides the same (CloudSim's robust weights never apply).
    assert!(policy(Baseline::Lrr, 1.2).overloaded(&c, 0));
    // Nine samples: THR 0.7 fallback on the current 0.5.
    set_history(&mut c, 0, &newest_first[..9]);
    assert!(!policy(Baseline::Lr, 1.2).overloaded(&c, 0));
}

#[test]
fn power_aware_best_fit_takes_the_least_power_increase() {
    // A 500 MIPS VM at 100 % (on host 2, excluded) onto host 0, a G4 (2 x 1860 = 3720
    // MIPS) running 10 MIPS, or host 1, a G5 (2 x 2660 = 5320) running 2 x 5.32 MIPS.
    // Host 0: 0.27 % -> 13.71 %, 89.4 + 3.2 x 0.371 - (86 + 3.4 x 0.027) = 4.50 W.
    // Host 1: 0.20 % -> 9.60 %, 3.3 W per 10 % x 0.94 = 3.10 W. The G5 wins although
    // it is the bigger machine ("fullest host" would pick the G4).
    let mut c = cluster(
        &[(1860.0, G4), (2660.0, G5), (1000.0, G4)],
        &[
            (500.0, 613, 1.0, 2),
            (10.0, 613, 1.0, 0),
            (2660.0, 613, 0.002, 1),
            (2660.0, 613, 0.002, 1),
        ],
    );
    let p = policy(Baseline::Thr, 0.8);
    let (h, u) = p.find_host(&mut c, 0, &[false, false, true]).unwrap();
    assert_eq!(h, 1);
    assert!((u - (2.0 * 5.32 + 500.0) / 5320.0).abs() < 1e-12);
    // Host 1 busy at 85 % (2 x 2261 MIPS): the G5 curve is flat at the top, 0.85 ->
    // 0.944 costs 133.88 - 131 = 2.88 W, less than host 0's 4.50 W, but it would be
    // overloaded with the VM ((4522 + 500) / 5320 = 0.944 > 0.8), so host 0 takes it.
    c.vms[2].data = vec![0.85; 3];
    c.vms[3].data = vec![0.85; 3];
    c.update_host(1, 600.1, false);
    assert!((c.hosts[1].util() - 0.85).abs() < 1e-12);
    let (h, _) = p.find_host(&mut c, 0, &[false, false, true]).unwrap();
    assert_eq!(h, 0);
}

#[test]
fn consolidation_empties_the_least_utilized_host_all_or_nothing() {
    // Three hosts of 2 x 1000 MIPS (G4 curve): host 0 at 10 % (a VM of 200 MIPS), host
    // 1 at 50 %, host 2 at 30 %. Host 0 is the least utilized: its VM goes where power
    // rises least, host 2 (30 -> 40 %: 99.5 - 96 = 3.5 W) rather than host 1 (50 ->
    // 60 %: 106 - 102 = 4 W). Next, host 1 (host 2 is now a target): its 1000 MIPS VM
    // fits nowhere - host 0 is being emptied and host 2 would ask for (600 + 200 +
    // 1000) / 2000 = 0.9 > 0.8 - so none of its VMs move.
    let mut c = cluster(
        &[(1000.0, G4), (1000.0, G4), (1000.0, G4)],
        &[
            (1000.0, 613, 0.2, 0),
            (1000.0, 613, 1.0, 1),
            (1000.0, 613, 0.6, 2),
        ],
    );
    let moves = policy(Baseline::Thr, 0.8).round(&mut c, &mut Pcg32::new(1, 1));
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!((moves[0].vm, moves[0].target), (0, 2));
    assert!(!moves[0].overload);
}

/// The hand-derived day (its header says what it holds); the tests edit its text.
const SMALL: &str = include_str!("small-day.toml");

fn run(text: &str) -> crate::RunRecord {
    crate::run_scenario_text(text, None, &mut |_, _| {}).unwrap()
}

#[test]
fn a_small_day_by_hand() {
    // Placement at instantiation, each VM asking its full 1000 MIPS of a 2000 MIPS
    // host: VM a to host 0 (both idle, 102 - 86 = 16 W, the lower index). VM b: host 0
    // would go to 100 % (117 - 86 = 31 W), host 1 to 50 % (16 W): host 1.
    let r = run(SMALL);
    let init: Vec<_> = r.placements.iter().filter(|p| p.t_ms == 0).collect();
    assert_eq!(init[0].node, Some(0));
    assert_eq!(init[1].node, Some(1));
    // At 300.1 s VM b asks for 0 MIPS (samples 1 and 2 are 0): it has finished, and
    // host 1 runs nothing: one shutdown.
    assert_eq!(r.metrics.vm_departures, 1);
    assert_eq!(r.metrics.host_shutdowns, 1);
    // Host 0 at 50 % could only be emptied onto host 1, which is off (excluded as
    // CloudSim excludes switched-off hosts): no migration at all.
    assert_eq!(r.metrics.migrations, 0);
    // Updates at 300.1, 600.1, 900.1 (1200.1 is past the end). The first interval
    // draws nothing (utilization 0 before the first update); then 2 x 300 s of host 0
    // at 25 % (500 of 2000 MIPS: 92.6 + 3.4 / 2 = 94.3 W), and host 1 at 0 %:
    // 56,580 J. (At 900.1 s VM a is 0.1 s into its last interval, heading for the 0
    // past the end: 0.49983, which the tolerance covers.)
    let kwh = r.metrics.energy_kwh.unwrap();
    assert!((kwh - 56_580.0 / 3.6e6).abs() < 1e-6, "{kwh}");
    // Never short of MIPS: no SLA violation.
    assert_eq!(r.metrics.overload_time_frac, 0.0);
    assert_eq!(r.metrics.pdm, 0.0);
}

#[test]
fn the_zero_demand_rule_is_a_switch() {
    let r = run(&SMALL.replace(
        "profile = \"cloudsim\"",
        "profile = \"cloudsim\"\nzero_demand_finishes = false",
    ));
    assert_eq!(r.metrics.vm_departures, 0);
    // Host 1 still lists VM b at 0 %: CloudSim counts it inactive (no MIPS), so it
    // still reads as a shutdown and draws nothing.
    assert_eq!(r.metrics.host_shutdowns, 1);
}

#[test]
fn compat_scenarios_refuse_what_the_profile_cannot_run() {
    let err = |from: &str, to: &str| {
        crate::Scenario::from_toml_str(&SMALL.replace(from, to))
            .unwrap_err()
            .to_string()
    };
    let e = err(
        "baseline = \"beloglazov_thr\"",
        "baseline = \"watcher_workload_balance\"",
    );
    assert!(e.starts_with("sim.baseline:"), "{e}");
    let e = err("power = \"hp_ml110_g4\"", "");
    assert!(e.starts_with("nodes[0].power:"), "{e}");
    let e = err("core_mips = 1000", "");
    assert!(e.starts_with("nodes[0].core_mips:"), "{e}");
    let e = err(
        "mips = 1000\nmemory_mib = 1000\nworkload = { kind = \"constant\"",
        "memory_mib = 1000\nworkload = { kind = \"constant\"",
    );
    assert!(e.starts_with("vms[0].mips:"), "{e}");
    let e = err(
        "memory_mib = 1000\nworkload = { kind = \"constant\"",
        "memory_mib = 9000\nworkload = { kind = \"constant\"",
    );
    assert!(
        e.starts_with("vms[0].memory_mib:") && e.contains("4096"),
        "{e}"
    );
    let e = err(
        "baseline = \"beloglazov_thr\"",
        "baseline = \"beloglazov_thr\"\nbaseline_parameter = 1.5",
    );
    assert!(e.starts_with("sim.baseline_parameter:"), "{e}");
    // Without the profile the same cluster is scalelab's own model, which has
    // per-core speeds too.
    let own =
        crate::Scenario::from_toml_str(&SMALL.replace("[compat]\nprofile = \"cloudsim\"", ""));
    assert!(own.is_ok_and(|s| s.compat.is_none()));
}

#[test]
fn vms_arrive_and_leave_on_schedule() {
    // VM a (500 MIPS in use) leaves at 900 s; VM b arrives at 500 s and is placed at
    // the next update (600.1 s) at its full 1000 MIPS: host 0 goes 25 % -> 75 %
    // (110 - 94.3 = 15.7 W, and 0.75 <= 0.8), host 1 0 -> 50 % (102 - 86 = 16 W), so
    // host 0. VM c's one vCPU of 5000 MIPS fits no 1000 MIPS core: refused at 300.1 s.
    let text = SMALL
        .replace("duration_s = 1200", "duration_s = 1500")
        .replace(
            "workload = { kind = \"constant\", level = 0.5 }",
            "depart_s = 900\nworkload = { kind = \"constant\", level = 0.5 }",
        )
        .replace(
            "workload = { kind = \"replay\", samples = [0.5, 0.0, 0.0, 0.0], interval_s = 300 }",
            "arrive_s = 500\nworkload = { kind = \"constant\", level = 0.5 }\n[[vms]]\nname = \"c\"\nvcpus = 1\nmips = 5000\nmemory_mib = 100\narrive_s = 300\nworkload = { kind = \"constant\", level = 0.1 }",
        );
    let r = run(&text);
    let m = &r.metrics;
    assert_eq!(
        (m.vm_arrivals, m.vm_departures, m.refused_arrivals),
        (1, 1, 1)
    );
    let at = |kind: crate::record::EventKind| {
        r.events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| (e.t_ms, e.vm, e.node))
            .collect::<Vec<_>>()
    };
    use crate::record::EventKind as K;
    assert_eq!(at(K::VmArrival), vec![(600_100, Some(1), Some(0))]);
    assert_eq!(at(K::VmDeparture), vec![(900_100, Some(0), Some(0))]);
    assert_eq!(at(K::ArrivalRefused), vec![(300_100, Some(2), None)]);
    // Only a is placed at time 0; b's placement comes with its arrival.
    let first: Vec<_> = r.placements.iter().filter(|p| p.t_ms == 0).collect();
    assert_eq!(first.len(), 1);
    // Bad schedules are refused with the field named.
    let past = text.replace("arrive_s = 500", "arrive_s = 5000");
    let e = crate::Scenario::from_toml_str(&past)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("vms[1].arrive_s:"), "{e}");
    let early = text.replace("depart_s = 900", "depart_s = 0");
    let e = crate::Scenario::from_toml_str(&early)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("vms[0].depart_s:"), "{e}");
}

#[test]
fn a_switched_off_host_boots_for_an_arrival() {
    // VM a at 70 %; VM b finishes at 300.1 s and host 1 switches off. VM c (1000 MIPS)
    // arrives at 500 s, placed at the 600.1 s update: host 0 would run at
    // (700 + 1000) / 2000 = 85 % > 80 %, so host 1, which is off. With a 120 s boot, c
    // starts on it at 720.1 s; each boot costs its energy once.
    let text = |boot: &str| {
        SMALL
            .replace("level = 0.5 }", "level = 0.7 }")
            .replace(
                "power = \"hp_ml110_g4\"",
                &format!("power = \"hp_ml110_g4\"\n{boot}"),
            )
            .replace(
                "workload = { kind = \"replay\", samples = [0.5, 0.0, 0.0, 0.0], interval_s = 300 }",
                "workload = { kind = \"replay\", samples = [0.5, 0.0, 0.0, 0.0], interval_s = 300 }\n\
                 [[vms]]\nname = \"c\"\nvcpus = 1\nmips = 1000\nmemory_mib = 100\narrive_s = 500\n\
                 workload = { kind = \"constant\", level = 0.5 }",
            )
    };
    let r = run(&text("boot_s = 120"));
    let arrivals: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.kind == crate::record::EventKind::VmArrival)
        .map(|e| (e.t_ms, e.vm, e.node))
        .collect();
    assert_eq!(arrivals, vec![(720_100, Some(2), Some(1))]);
    assert_eq!(r.metrics.host_power_ons, 1);
    // Without a boot, c starts at the update itself.
    let r0 = run(&text(""));
    let p: Vec<_> = r0.placements.iter().filter(|p| p.vm == 2).collect();
    assert_eq!((p[0].t_ms, p[0].node), (600_100, Some(1)));
    // 5 kJ a boot: exactly 5000 J more than the same run without boot energy.
    let with = run(&text("boot_s = 120\nboot_energy_j = 5000"));
    let kwh = with.metrics.energy_kwh.unwrap() - r.metrics.energy_kwh.unwrap();
    assert!((kwh * 3.6e6 - 5000.0).abs() < 1e-6, "{kwh}");
    // The profile switches empty hosts off itself: a [power] section contradicts it.
    let e = crate::Scenario::from_toml_str(&format!(
        "{}\n[power]\nswitch_off_empty = true\n",
        text("")
    ))
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("power:"), "{e}");
    let e = crate::Scenario::from_toml_str(&text("boot_s = -1"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("nodes[0].boot_s:"), "{e}");
}

#[test]
fn trace_vms_arrive_and_leave_with_their_trace() {
    // Three trace VMs on the small day's two hosts: "full" reads all day, "late" from
    // 400 s, "early" until 700 s (the ends of their readings, as the loader gives
    // them). "late" is placed at the first update after 400 s (600.1 s); "early"
    // leaves at the first update after 700 s (900.1 s).
    let text = SMALL.replace(
        "workload = { kind = \"constant\", level = 0.5 }\n",
        "workload = { kind = \"trace\", path = \"x\" }\ncount = 3\ntrace_lifecycle = true\n",
    );
    let mut sc = crate::Scenario::from_toml_str(&text).unwrap();
    let vm = |id: &str, span_s| crate::workload::TraceVm {
        trace_id: id.into(),
        interval_s: 300,
        cpu: vec![0.3; 4],
        memory: None,
        vcpus: None,
        memory_mib: None,
        span_s,
    };
    let crate::workload::WorkloadSpec::Trace(t) = &mut sc.vms[0].workload else {
        unreachable!()
    };
    t.series = Some(std::sync::Arc::new(vec![
        vm("full", (0, 1200)),
        vm("late", (400, 1200)),
        vm("early", (0, 700)),
    ]));
    let r = crate::run_scenario(sc, String::new(), Default::default(), &mut |_, _| {}).unwrap();
    let at = |kind: crate::record::EventKind| {
        r.events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| (e.t_ms, e.vm))
            .collect::<Vec<_>>()
    };
    use crate::record::EventKind as K;
    assert_eq!(at(K::VmArrival), vec![(600_100, Some(1))]);
    assert_eq!(
        at(K::VmDeparture),
        // VM b of the small day finishes at 300.1 s (it asks for 0 MIPS).
        vec![(300_100, Some(3)), (900_100, Some(2))]
    );
    let first: Vec<_> = r
        .placements
        .iter()
        .filter(|p| p.t_ms == 0)
        .map(|p| p.vm)
        .collect();
    assert_eq!(first, vec![0, 2, 3]);
    // Only trace groups can follow their trace, and not with a schedule of their own.
    let e = crate::Scenario::from_toml_str(
        &SMALL.replace("level = 0.5 }\n", "level = 0.5 }\ntrace_lifecycle = true\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("vms[0].trace_lifecycle:"), "{e}");
    let e =
        crate::Scenario::from_toml_str(&text.replace("count = 3\n", "count = 3\narrive_s = 60\n"))
            .unwrap_err()
            .to_string();
    assert!(
        e.starts_with("vms[0].trace_lifecycle:") && e.contains("arrive_s"),
        "{e}"
    );
}

#[test]
fn the_engine_decides_in_cloudsims_datacenter() {
    // No baseline: the engine is the policy. Three hosts of 2 x 1000 MIPS; three VMs
    // of 1000 MIPS at 10 %. CloudSim's placement (each VM at its full size, the hosts'
    // power as of their last update, when all were idle): one VM per host, each host
    // rising 16 W with its first VM and 31 W with a second.
    let text = "name = \"engine-compat\"\nduration_s = 1200\ncontrol_interval_s = 300\n\
        [compat]\nprofile = \"cloudsim\"\n\
        [policy.planner]\nmemory_margin_mib = 0\n\
        [policy.consolidation]\nenabled = true\n\
        [[nodes]]\nname = \"h\"\ncount = 3\ncores = 2\ncore_mips = 1000\nmemory_mib = 4096\n\
        nic_mbps = 1000\npower = \"hp_ml110_g4\"\n\
        [[vms]]\nname = \"v\"\ncount = 3\nvcpus = 1\nmips = 1000\nmemory_mib = 1000\n\
        workload = { kind = \"constant\", level = 0.1 }\n";
    let r = run(text);
    let init: Vec<_> = r
        .placements
        .iter()
        .filter(|p| p.t_ms == 0)
        .map(|p| p.node)
        .collect();
    assert_eq!(init, vec![Some(0), Some(1), Some(2)]);
    // At 300.1 s the engine sees every host at 0.05 (100 of 2 "cores" of 1000 MIPS),
    // under the 0.2 consolidation threshold: h-0 first (ties by id), its v-0 (0.1
    // cores) packed onto the fullest host at or below 0.6, h-1 (tied with h-2 at 0.1
    // with it, the lower id); one host a round. At 600.1 s h-0 is off, h-1 runs 0.1
    // and h-2 0.05: h-2 is emptied onto h-1 (0.15). At 900.1 s only h-1 is on.
    let moves: Vec<_> = r
        .migrations
        .iter()
        .map(|m| (m.vm_id.as_str(), m.target, m.started_ms))
        .collect();
    assert_eq!(moves, vec![("v-0", 1, 300_100), ("v-2", 1, 600_100)]);
    let d = &r.migrations[0].decision;
    assert!(
        d.reasoning.starts_with("host h-0 CPU at 0.05"),
        "{}",
        d.reasoning
    );
    assert!(d.migration_plan.is_some());
    assert!((d.target_value - 0.1).abs() < 1e-9, "{}", d.target_value);
    // CloudSim's migration: 1000 MB over half of 1 Gbit/s, 16 s; then its source is
    // empty and off: two shutdowns in all.
    assert_eq!(r.migrations[0].ended_ms, Some(316_100));
    assert_eq!(r.metrics.host_shutdowns, 2);
    // Without consolidation the engine has nothing to do on so calm a day.
    let calm = run(&text.replace("[policy.consolidation]\nenabled = true\n", ""));
    assert!(calm.migrations.is_empty());
}
