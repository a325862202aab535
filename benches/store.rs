//! Store benchmark: batched inserts of decisions carrying migration plans.
//!
//! Run: `cargo bench --bench store`. Goal: >= 200,000 decisions per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scalelab_engine::plan::MigrationPlan;
use scalelab_engine::{ResourceType, ScalingAction, ScalingDecision};
use scalelab_store::Store;

fn decisions(n: usize, with_plans: bool) -> Vec<ScalingDecision> {
    let plan: MigrationPlan = serde_json::from_str(include_str!(
        "../crates/engine/tests/fixtures/seed_plan.json"
    ))
    .expect("fixture");
    (0..n)
        .map(|i| ScalingDecision {
            vm_id: format!("vm-{:05}", i % 10_000),
            resource_type: ResourceType::Cpu,
            action: ScalingAction::Migrate,
            current_value: 0.8,
            target_value: 0.56,
            confidence: 0.9,
            reasoning:
                "host node-01 CPU at 0.84 (avg 0.81, peak 0.84) is above the migration thresholds"
                    .into(),
            timestamp_ms: 1_700_000_000_000 + i as i64,
            target_node_id: with_plans.then(|| "node-02".into()),
            migration_plan: with_plans.then(|| plan.clone()),
        })
        .collect()
}

/// 100,000 decisions in ten transactions of 10,000 into a fresh database per
/// iteration (creating it is not timed): what one large run or sweep writes.
fn inserts(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("scalelab-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("bench.db");
    let fresh = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("bench.db{suffix}")));
        }
        Store::open(&db).expect("store opens")
    };
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    for (name, plans) in [
        ("insert_100k_decisions_with_plans_10k_per_transaction", true),
        (
            "insert_100k_decisions_without_plans_10k_per_transaction",
            false,
        ),
    ] {
        let batch = decisions(10_000, plans);
        g.throughput(Throughput::Elements(10 * batch.len() as u64));
        g.bench_function(name, |b| {
            b.iter_batched(
                fresh,
                |mut store| {
                    for _ in 0..10 {
                        store.insert_decisions(black_box(&batch)).expect("insert");
                    }
                    store
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, inserts);
criterion_main!(benches);
