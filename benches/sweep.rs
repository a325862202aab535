//! Sweep throughput: runs per second of the 1,000-VM day, on 1 and 2 threads.
//!
//! Run: `cargo bench --bench sweep`. Goal: 2 threads >= 1.8x the runs/s of 1.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scalelab_backtest::exec;
use scalelab_backtest::spec::{DEFAULT_MAX_RUNS, SweepSpec};
use scalelab_engine::PolicyConfig;

fn sweep(c: &mut Criterion) {
    let spec = SweepSpec::from_toml_str(
        "name = \"bench\"\nscenarios = [\"diurnal-fleet-1000.toml\"]\nseeds = [1, 2]\n[parameters]\nmigrate_current = { values = [0.75, 0.8, 0.85] }\n",
    )
    .expect("spec");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let plan = spec
        .plan(&dir, &PolicyConfig::default(), DEFAULT_MAX_RUNS)
        .expect("plan");
    let scenarios = exec::load(&plan.scenarios).expect("scenarios");
    let jobs = exec::jobs(&plan, &scenarios);
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.throughput(Throughput::Elements(jobs.len() as u64));
    for threads in [1, 2] {
        g.bench_function(
            format!("diurnal_fleet_1000_{}_runs_{threads}_threads", jobs.len()),
            |b| {
                b.iter(|| {
                    let stop = AtomicBool::new(false);
                    exec::execute(
                        &plan,
                        &scenarios,
                        &jobs,
                        &HashSet::new(),
                        threads,
                        &stop,
                        &|_| {},
                    )
                    .expect("sweep runs")
                    .len()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
