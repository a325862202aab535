//! Simulator benchmarks: the event queue, the 1,000-VM day, the 100,000-VM day and
//! CloudSim's PlanetLab day under the CloudSim profile.
//!
//! Run: `cargo bench --bench sim`. The 100,000-VM day takes about ten seconds an
//! iteration; criterion's minimum of ten samples makes that bench a few minutes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scalelab_sim::queue::EventQueue;
use scalelab_sim::{Scenario, Simulation, scenario};

fn event_queue(c: &mut Criterion) {
    // A steady state like the simulator's: a heap of pending events, each pop
    // scheduling a new one a pseudo-random delay ahead.
    const PENDING: u64 = 10_000;
    const EVENTS: u64 = 1_000_000;
    let mut g = c.benchmark_group("event_queue");
    g.throughput(Throughput::Elements(EVENTS));
    g.bench_function("pop_and_schedule_1m_events_10k_pending", |b| {
        b.iter(|| {
            let mut q = EventQueue::new();
            let mut x: u64 = 0x2545_F491_4F6C_DD1D;
            for i in 0..PENDING {
                q.schedule(i, i as u32);
            }
            let mut sum = 0u64;
            for _ in 0..EVENTS {
                let (t, e) = q.pop().expect("events pending");
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                q.schedule(t + x % 1000, e);
                sum = sum.wrapping_add(e as u64);
            }
            black_box(sum)
        })
    });
    g.finish();
}

fn run_text(text: &str) -> scalelab_sim::RunRecord {
    let sc = Scenario::from_toml_str(text).expect("scenario parses");
    Simulation::new(sc, scenario::content_hash(text), None)
        .expect("placement fits")
        .run(&mut |_, _| {})
}

fn vm_ticks(text: &str) -> u64 {
    run_text(text).metrics.vm_ticks
}

fn fleet_1000_day(c: &mut Criterion) {
    let text = include_str!("../scenarios/diurnal-fleet-1000.toml");
    let mut g = c.benchmark_group("scenario");
    g.sample_size(10);
    // Throughput in VM-ticks (VM samples simulated).
    g.throughput(Throughput::Elements(vm_ticks(text)));
    g.bench_function("diurnal_fleet_1000_vms_24h", |b| {
        b.iter(|| black_box(run_text(text).metrics.migrations))
    });
    g.finish();
}

fn fleet_100k_day(c: &mut Criterion) {
    let text = include_str!("scenarios/fleet-100k-day.toml");
    let mut g = c.benchmark_group("scenario");
    g.sample_size(10);
    g.throughput(Throughput::Elements(vm_ticks(text)));
    g.bench_function("fleet_100k_vms_10k_nodes_24h", |b| {
        b.iter(|| black_box(run_text(text).metrics.migrations))
    });
    g.finish();
}

/// CloudSim's PlanetLab experiment under the CloudSim profile: 1,052 VMs on 800 hosts for
/// a day, placement and consolidation every 300 s (CloudSim 3.0.3 itself takes 26-50 s
/// for this on the same machine). With `../shared/traces` the real day; without it, the
/// same cluster under random-walk demand so the bench still runs.
fn cloudsim_planetlab_day(c: &mut Criterion) {
    use scalelab_sim::workload::WorkloadSpec;
    let text = include_str!("../scenarios/validation/cloudsim-planetlab-20110303.toml");
    let mut sc = Scenario::from_toml_str(text).expect("scenario parses");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/traces");
    let data = if dir.join("planetlab/20110303").is_dir() {
        scalelab_traces::load::load_scenario(&mut sc, &dir).expect("traces load");
        "planetlab_20110303"
    } else {
        for g in &mut sc.vms {
            g.workload = WorkloadSpec::RandomWalk {
                start: 0.3,
                step_sd: 0.05,
                min: 0.0,
                max: 1.0,
            };
        }
        "synthetic"
    };
    let run = |sc: &Scenario| {
        scalelab_sim::run_scenario(
            sc.clone(),
            scenario::content_hash(text),
            scalelab_sim::RunOptions::default(),
            &mut |_, _| {},
        )
        .expect("runs")
    };
    let mut g = c.benchmark_group("scenario");
    g.sample_size(10);
    g.throughput(Throughput::Elements(run(&sc).metrics.vm_ticks));
    g.bench_function(
        format!("cloudsim_profile_{data}_1052_vms_800_hosts_24h"),
        |b| b.iter(|| black_box(run(&sc).metrics.migrations)),
    );
    // The same day with scalelab's migration model, as the README's study runs it
    // (validation/cloudsim-planetlab-20110303.toml, 20 MiB/s at full CPU).
    let mut live = sc.clone();
    if let Some(c) = &mut live.compat {
        c.migrations = scenario::CompatMigrations::Precopy;
    }
    live.policy.planner.max_migrations_cluster = 800;
    for g in &mut live.vms {
        g.dirty_rate_mib_s = 20.0;
        g.dirty_rate_follows_cpu = true;
    }
    live.validate().expect("the study's scenario is valid");
    g.bench_function(
        format!("cloudsim_profile_precopy_{data}_1052_vms_800_hosts_24h"),
        |b| b.iter(|| black_box(run(&live).metrics.migrations)),
    );
    g.finish();
}

criterion_group!(
    benches,
    event_queue,
    fleet_1000_day,
    fleet_100k_day,
    cloudsim_planetlab_day
);
criterion_main!(benches);
