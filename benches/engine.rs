//! Engine benchmarks: rule evaluations per second over 100,000 VMs, full decisions,
//! one planner round of 10,000 candidates over 10,000 nodes, and the pre-copy model.
//!
//! Run: `cargo bench --bench engine`. Figures and the machine are in the README.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scalelab_engine::cluster::{
    ClusterIndex, ClusterSnapshot, NodeHealth, NodeSnapshot, VmSnapshot,
};
use scalelab_engine::engine::{Engine, ResourceObservation, VmObservation};
use scalelab_engine::model::ResourceType;
use scalelab_engine::planner::plan_round;
use scalelab_engine::policy::PolicyConfig;
use scalelab_engine::precopy::{PreCopyParams, estimate, mbps_to_mib_s};
use scalelab_engine::rules::{UtilStats, migration_check, scaling_rule};

/// SplitMix64: a tiny deterministic generator so the inputs are the same every run.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn stats(n: usize) -> Vec<UtilStats> {
    let mut r = Mix(7);
    (0..n)
        .map(|_| {
            let avg = r.next();
            UtilStats {
                current: (avg + 0.2 * (r.next() - 0.5)).max(0.0),
                avg,
                peak: (avg + 0.3 * r.next()).min(1.2),
            }
        })
        .collect()
}

fn rule_evaluations(c: &mut Criterion) {
    let p = PolicyConfig::default();
    let inputs = stats(100_000);
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.bench_function("rule_evaluations_100k_vms", |b| {
        b.iter(|| {
            let mut migrate = 0u32;
            for s in &inputs {
                let chk = migration_check(&p, ResourceType::Cpu, s.current, s.avg, None);
                if chk == scalelab_engine::rules::MigrationCheck::Wanted {
                    migrate += 1;
                } else {
                    black_box(scaling_rule(&p, *s, None, None));
                }
            }
            black_box(migrate)
        })
    });
    g.finish();
}

/// `nodes` nodes of four shapes; the first `hot` nodes run hot with `per_hot` VMs each,
/// the rest are cool with `per_cool` VMs each.
fn cluster(nodes: usize, hot: usize, per_hot: usize, per_cool: usize) -> ClusterSnapshot {
    let mut r = Mix(11);
    let shapes = [16.0, 32.0, 48.0, 64.0];
    let mut snap = ClusterSnapshot::default();
    for i in 0..nodes {
        let cores = shapes[i % 4];
        let util = if i < hot {
            0.8 + 0.15 * r.next()
        } else {
            0.1 + 0.5 * r.next()
        };
        snap.nodes.push(NodeSnapshot {
            id: format!("node-{i:05}"),
            cores,
            cpu_utilization: util,
            memory_mib: 262_144,
            free_memory_mib: 65_536 + (r.next() * 131_072.0) as u64,
            bandwidth_mbps: 10_000.0,
            rack: format!("rack-{:03}", i / 40),
            health: NodeHealth::Healthy,
        });
        let count = if i < hot { per_hot } else { per_cool };
        for k in 0..count {
            snap.vms.push(VmSnapshot {
                id: format!("vm-{i:05}-{k}"),
                node_id: format!("node-{i:05}"),
                vcpus: 4,
                memory_mib: 2048 + 2048 * (k as u64 % 4),
                cpu_demand_cores: 0.5 + 3.0 * r.next(),
                dirty_rate_mib_s: 5.0 + 40.0 * r.next(),
                anti_affinity_group: None,
                service_group: None,
                recently_left: Vec::new(),
            });
        }
    }
    snap.inter_rack_bandwidth_mbps = Some(40_000.0);
    snap
}

fn planner_round(c: &mut Criterion) {
    let snap = cluster(10_000, 2_000, 5, 2);
    let mut p = PolicyConfig::default();
    p.planner.max_migrations_cluster = 1_000_000;
    p.planner.max_migrations_per_node = 1_000;
    let candidates: Vec<usize> = (0..10_000).collect(); // the VMs of the 2,000 hot nodes
    let mut g = c.benchmark_group("planner");
    g.sample_size(10);
    g.throughput(Throughput::Elements(candidates.len() as u64));
    g.bench_function("index_build_10k_nodes", |b| {
        b.iter(|| black_box(ClusterIndex::new(&snap, &p.planner).cluster_migrations()))
    });
    g.bench_function("round_10k_candidates_10k_nodes", |b| {
        b.iter(|| {
            let mut ix = ClusterIndex::new(&snap, &p.planner);
            let out = plan_round(&mut ix, &p, black_box(&candidates));
            black_box(out.iter().filter(|(_, r)| r.is_ok()).count())
        })
    });
    g.finish();
}

fn full_decisions(c: &mut Criterion) {
    // 100,000 VMs with CPU and memory observations on 10,000 nodes, one decide() call:
    // rules, planner, plans and reasoning strings included.
    let snap = cluster(10_000, 500, 10, 10);
    let n_vms = snap.vms.len();
    let s = stats(n_vms);
    let obs: Vec<VmObservation> = snap
        .vms
        .iter()
        .zip(&s)
        .map(|(v, st)| {
            let node = &snap.nodes[v.node_id[5..].parse::<usize>().unwrap()];
            VmObservation {
                vm_id: v.id.clone(),
                resources: vec![
                    ResourceObservation {
                        resource_type: ResourceType::Cpu,
                        stats: *st,
                        forecast: None,
                    },
                    ResourceObservation {
                        resource_type: ResourceType::Memory,
                        stats: *st,
                        forecast: None,
                    },
                ],
                host_cpu: Some(ResourceObservation {
                    resource_type: ResourceType::Cpu,
                    stats: UtilStats {
                        current: node.cpu_utilization,
                        avg: node.cpu_utilization,
                        peak: node.cpu_utilization,
                    },
                    forecast: None,
                }),
                last_scaled_ms: None,
                last_migrated_ms: None,
            }
        })
        .collect();
    let engine = Engine::default();
    let mut g = c.benchmark_group("decide");
    g.sample_size(10);
    g.throughput(Throughput::Elements(obs.len() as u64));
    g.bench_function(format!("decide_{n_vms}_vms"), |b| {
        b.iter(|| black_box(engine.decide(0, Some(&snap), black_box(&obs)).len()))
    });
    g.finish();
}

fn precopy_model(c: &mut Criterion) {
    let params = PreCopyParams::from(&PolicyConfig::default().migration);
    let mut g = c.benchmark_group("precopy");
    g.throughput(Throughput::Elements(1));
    g.bench_function("estimate_8gib_1gbps", |b| {
        b.iter(|| {
            estimate(
                black_box(8192.0),
                black_box(40.0),
                mbps_to_mib_s(1000.0),
                &params,
            )
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    rule_evaluations,
    planner_round,
    full_decisions,
    precopy_model
);
criterion_main!(benches);
