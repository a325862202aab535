//! Simulator benchmarks: the event queue, the 1,000-VM day and the 100,000-VM day.
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

criterion_group!(benches, event_queue, fleet_1000_day, fleet_100k_day);
criterion_main!(benches);
