//! Random valid scenarios with random failure schedules, for chaos runs of the
//! simulator under its invariant checker. The same seed always gives the same
//! scenario, so a failing seed can be replayed exactly.

use crate::baselines::Baseline;
use crate::rng::{Pcg32, derive};
use crate::scenario::{
    DurationDist, DurationSpec, FailureDistribution, FailureSpec, NetworkConfig, NodeGroup,
    NodeOrder, PowerConfig, PowerSpec, Scenario, SimConfig, StepDurations, StochasticConfig,
    VmGroup,
};
use crate::workload::WorkloadSpec;
use scalelab_engine::PolicyConfig;
use scalelab_engine::policy::{Estimator, VmSelection};

fn pick<'a, T>(r: &mut Pcg32, xs: &'a [T]) -> &'a T {
    &xs[r.below(xs.len() as u64) as usize]
}

fn range(r: &mut Pcg32, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * r.uniform()
}

fn workload(r: &mut Pcg32) -> WorkloadSpec {
    match r.below(7) {
        0 => WorkloadSpec::Constant {
            level: range(r, 0.0, 1.2),
            noise: range(r, 0.0, 0.1),
        },
        1 => WorkloadSpec::Diurnal {
            mean: range(r, 0.2, 0.8),
            amplitude: range(r, 0.0, 0.4),
            period_s: range(r, 600.0, 86_400.0),
            phase_s: range(r, 0.0, 3600.0),
            noise: range(r, 0.0, 0.1),
            phase_jitter_s: range(r, 0.0, 3600.0),
            mean_jitter: range(r, 0.0, 0.5),
        },
        2 => WorkloadSpec::Bursts {
            base: range(r, 0.0, 0.5),
            spike_level: range(r, 0.5, 1.5),
            spike_prob: range(r, 0.0, 0.3),
            spike_duration_s: range(r, 60.0, 1800.0),
            noise: range(r, 0.0, 0.05),
        },
        3 => WorkloadSpec::RandomWalk {
            start: 0.5,
            step_sd: range(r, 0.0, 0.2),
            min: 0.0,
            max: range(r, 0.6, 1.5),
        },
        4 => WorkloadSpec::Step {
            before: range(r, 0.0, 1.0),
            after: range(r, 0.0, 1.2),
            at_s: range(r, 0.0, 7200.0),
            noise: range(r, 0.0, 0.05),
        },
        5 => WorkloadSpec::OnOff {
            on_level: range(r, 0.5, 1.2),
            off_level: range(r, 0.0, 0.3),
            on_s: range(r, 60.0, 1800.0),
            off_s: range(r, 60.0, 1800.0),
            phase_s: range(r, 0.0, 600.0),
        },
        _ => WorkloadSpec::Replay {
            samples: (0..1 + r.below(20)).map(|_| range(r, 0.0, 1.2)).collect(),
            interval_s: range(r, 30.0, 900.0),
            repeat: r.chance(0.5),
        },
    }
}

/// A random valid scenario for `seed`.
pub fn random_scenario(seed: u64) -> Scenario {
    let r = &mut Pcg32::new(derive(seed, 0xc4a05), 11);
    let racks: Vec<String> = (0..1 + r.below(3)).map(|i| format!("r{i}")).collect();
    let node_groups = 1 + r.below(3) as usize;
    let mut nodes = Vec::new();
    let mut names = Vec::new();
    for g in 0..node_groups {
        let count = 1 + r.below(5) as u32;
        let name = format!("n{g}");
        for i in 0..count {
            names.push(crate::scenario::member_name(&name, count, i));
        }
        nodes.push(NodeGroup {
            name,
            count,
            cores: *pick(r, &[4.0, 8.0, 16.0, 32.0]),
            memory_mib: *pick(r, &[32_768, 65_536, 131_072]),
            nic_mbps: *pick(r, &[1000.0, 10_000.0, 25_000.0]),
            rack: None,
            racks: racks.clone(),
            power: r
                .chance(0.5)
                .then(|| PowerSpec::Preset("hp_ml110_g4".into())),
            mtbf_s: r.chance(0.3).then(|| range(r, 600.0, 20_000.0)),
            mttr_s: range(r, 60.0, 1200.0),
            failure_distribution: if r.chance(0.5) {
                FailureDistribution::Exponential
            } else {
                FailureDistribution::Weibull
            },
            weibull_shape: range(r, 0.5, 3.0),
            core_mips: None,
            boot_s: r.chance(0.3).then(|| range(r, 0.0, 120.0)),
            boot_energy_j: r.chance(0.3).then(|| range(r, 0.0, 20_000.0)),
        });
    }
    let mut vms = Vec::new();
    let mut vm_names = Vec::new();
    for g in 0..1 + r.below(4) as usize {
        // Few enough VMs per node that spread placement always fits (4 GiB x 2 per
        // smallest node of 32 GiB).
        let count = 1 + r.below((names.len() * 2).max(1) as u64) as u32;
        let name = format!("v{g}");
        for i in 0..count {
            vm_names.push(crate::scenario::member_name(&name, count, i));
        }
        vms.push(VmGroup {
            name,
            count,
            vcpus: *pick(r, &[1, 2, 4, 8]),
            memory_mib: *pick(r, &[1024, 2048, 4096]),
            dirty_rate_mib_s: range(r, 0.0, 80.0),
            dirty_rate_follows_cpu: r.chance(0.3),
            resident_memory_frac: 1.0,
            service_group: r.chance(0.3).then(|| format!("svc{g}")),
            anti_affinity_group: r.chance(0.2).then(|| format!("aa{g}")),
            mips: None,
            arrive_s: None,
            depart_s: None,
            trace_lifecycle: false,
            nodes: Vec::new(),
            workload: workload(r),
        });
    }
    let duration_s = *pick(r, &[1800, 3600, 7200, 14_400]);
    let control = *pick(r, &[60, 300, 600]);
    let sample = (*pick(r, &[control, control / 2, control / 3])).max(1);
    let sample = if control % sample == 0 {
        sample
    } else {
        control
    };
    let mut failures = Vec::new();
    for _ in 0..r.below(6) {
        let at_s = range(r, 0.0, duration_s as f64 * 0.9);
        let duration = range(r, 10.0, 1800.0);
        let node = pick(r, &names).clone();
        let vm = pick(r, &vm_names).clone();
        let f = match r.below(6) {
            0 => FailureSpec::NodeCrash {
                at_s,
                node,
                recover_after_s: r.chance(0.7).then(|| range(r, 30.0, 1800.0)),
            },
            1 => FailureSpec::LinkDegrade {
                at_s,
                duration_s: duration,
                factor: range(r, 0.01, 1.0),
                node: Some(node),
                racks: None,
            },
            2 if racks.len() > 1 => FailureSpec::Partition {
                at_s,
                duration_s: duration,
                racks: [racks[0].clone(), racks[1].clone()],
            },
            3 => FailureSpec::DirtyRateSpike {
                at_s,
                duration_s: duration,
                vm,
                factor: range(r, 1.0, 20.0),
            },
            4 => FailureSpec::LoadSpike {
                at_s,
                duration_s: duration,
                node,
                extra_cores: range(r, 0.0, 16.0),
            },
            _ => FailureSpec::VmHang {
                at_s,
                duration_s: duration,
                vm,
            },
        };
        failures.push(f);
    }
    let mut policy = PolicyConfig::default();
    policy.planner.vm_selection = *pick(
        r,
        &[
            VmSelection::PerVmRule,
            VmSelection::MinimumMigrationTime,
            VmSelection::LargestRelief,
        ],
    );
    policy.estimator = *pick(r, &[Estimator::FixedFactor, Estimator::ModelBased]);
    policy.planner.max_migrations_per_node = 1 + r.below(3) as u32;
    policy.planner.max_migrations_cluster = 1 + r.below(8) as u32;
    policy.migrate_avg = range(r, 0.5, 0.7);
    policy.migrate_current = range(r, 0.72, 0.9);
    // The executor's options: QEMU's bandwidth cap and auto-converge, and Xen's data
    // limit or a looser one (auto-converge needs rounds to act).
    let m = &mut policy.migration;
    m.max_bandwidth_mbps = r.chance(0.3).then(|| range(r, 200.0, 5000.0));
    m.auto_converge = r.chance(0.4);
    m.auto_converge_initial_pct = range(r, 5.0, 50.0);
    m.auto_converge_increment_pct = range(r, 5.0, 30.0);
    m.max_data_factor = *pick(r, &[3.0, 10.0]);
    let baseline = r.chance(0.2).then(|| *pick(r, &Baseline::ALL));
    // Nodes switch off when empty in some runs (only where one has a power model).
    let power = if nodes.iter().any(|g| g.power.is_some()) && r.chance(0.4) {
        PowerConfig {
            switch_off_empty: true,
            empty_for_s: *pick(r, &[0, 300, 900]),
            min_nodes_on: r.below(nodes.iter().map(|g| g.count).sum::<u32>().min(2) as u64 + 1)
                as u32,
        }
    } else {
        PowerConfig::default()
    };
    // Where hosts switch off, the engine consolidates in some runs, and a Beloglazov
    // baseline in some.
    let consolidating = power.switch_off_empty && r.chance(0.6);
    if consolidating && baseline.is_none() {
        let underload = range(r, 0.05, 0.4).min(policy.migrate_avg - 0.05);
        let ceiling = range(r, underload + 0.05, policy.planner.target_cpu_ceiling);
        let hosts = 1 + r.below(3) as u32;
        policy.consolidation = scalelab_engine::policy::ConsolidationConfig {
            enabled: true,
            underload_avg: underload,
            target_ceiling: ceiling,
            max_hosts_per_round: hosts,
            max_tries_per_round: hosts + r.below(4) as u32,
        };
    }
    let consolidate = consolidating && baseline.is_some_and(Baseline::is_beloglazov);
    // Drawn last, so the draws above (and the scenarios of older seeds, as far as
    // they go) stay as they were: unlike CPUs in some runs (all or nothing, as the
    // format requires), and VMs that arrive and leave.
    if r.chance(0.3) {
        for g in &mut nodes {
            g.core_mips = Some(*pick(r, &[1860.0, 2660.0, 3000.0]));
        }
        for g in &mut vms {
            g.mips = Some(*pick(r, &[500.0, 1000.0, 2000.0, 2500.0]));
        }
    }
    for g in vms.iter_mut().filter(|g| g.service_group.is_none()) {
        if r.chance(0.3) {
            g.arrive_s = Some(range(r, 1.0, duration_s as f64 * 0.8));
        }
        if r.chance(0.3) {
            let from = g.arrive_s.unwrap_or(0.0);
            g.depart_s = Some(range(r, from + 1.0, duration_s as f64 * 1.2));
        }
    }
    Scenario {
        name: format!("chaos-{seed}"),
        description: "generated".into(),
        seed,
        duration_s,
        control_interval_s: control,
        sample_interval_s: Some(sample),
        record_interval_s: None,
        policy,
        sim: SimConfig {
            restart_elsewhere: r.chance(0.5),
            check_invariants: true,
            baseline,
            consolidate,
            ..SimConfig::default()
        },
        network: NetworkConfig {
            inter_rack_mbps: r.chance(0.5).then(|| range(r, 500.0, 40_000.0)),
            links: Vec::new(),
        },
        nodes,
        vms,
        failures,
        stochastic: StochasticConfig {
            step_failure_prob: if r.chance(0.3) {
                range(r, 0.0, 0.3)
            } else {
                0.0
            },
            step_durations: if r.chance(0.3) {
                let validation = range(r, 0.5, 40.0);
                StepDurations {
                    validation_s: DurationSpec::Drawn(DurationDist::Uniform {
                        min: validation / 2.0,
                        max: validation,
                    }),
                    verification_s: DurationSpec::Drawn(DurationDist::Lognormal {
                        median: range(r, 1.0, 30.0),
                        sigma: range(r, 0.0, 1.5),
                    }),
                    cleanup_s: DurationSpec::Fixed(range(r, 0.0, 10.0)),
                }
            } else {
                StepDurations::default()
            },
        },
        node_order: if r.chance(0.3) {
            NodeOrder::Interleaved
        } else {
            NodeOrder::Grouped
        },
        compat: None,
        power,
    }
}
