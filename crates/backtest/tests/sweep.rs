//! Sweeps: determinism across thread counts, shards, resume, files.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use scalelab_backtest::exec::{self, RunResult};
use scalelab_backtest::frame;
use scalelab_backtest::spec::{DEFAULT_MAX_RUNS, Plan, SweepSpec};
use scalelab_engine::PolicyConfig;

const SPEC: &str = r#"
name = "t"
scenarios = ["hot-node-relief.toml", "target-spike-rollback.toml"]
seeds = [1, 2]
[parameters]
migrate_current = { values = [0.75, 0.85] }
estimator = { values = ["fixed_factor", "model_based"] }
"#;

fn plan(src: &str) -> (Plan, Vec<exec::LoadedScenario>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let plan = SweepSpec::from_toml_str(src)
        .unwrap()
        .plan(&dir, &PolicyConfig::default(), DEFAULT_MAX_RUNS)
        .unwrap();
    let scenarios = exec::load(&plan.scenarios).unwrap();
    (plan, scenarios)
}

fn run(
    plan: &Plan,
    sc: &[exec::LoadedScenario],
    jobs: &[exec::Job],
    threads: usize,
) -> Vec<RunResult> {
    let stop = AtomicBool::new(false);
    exec::execute(plan, sc, jobs, &HashSet::new(), threads, &stop, &|_| {}).unwrap()
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (plan, sc) = plan(SPEC);
    let jobs = exec::jobs(&plan, &sc);
    assert_eq!(jobs.len(), 5 * 2 * 2);
    let one = run(&plan, &sc, &jobs, 1);
    let two = run(&plan, &sc, &jobs, 2);
    assert_eq!(one, two);
    let a = frame::runs_frame(&plan, &one).unwrap();
    let b = frame::runs_frame(&plan, &two).unwrap();
    assert!(a.equals_missing(&b));
    // The thresholds matter: not every config gives the same metrics.
    let distinct: HashSet<String> = one.iter().map(|r| format!("{:?}", r.metrics)).collect();
    assert!(distinct.len() > 2);
}

#[test]
fn the_union_of_shards_is_the_whole_sweep() {
    let (plan, sc) = plan(SPEC);
    let jobs = exec::jobs(&plan, &sc);
    let full = run(&plan, &sc, &jobs, 2);
    let mut union = Vec::new();
    let mut seen = 0;
    for k in 1..=3 {
        let part = exec::shard(jobs.clone(), k, 3);
        seen += part.len();
        union.extend(run(&plan, &sc, &part, 1));
    }
    assert_eq!(seen, jobs.len(), "every job in exactly one shard");
    union.sort_by(|a, b| {
        (a.config_id, &a.scenario, a.seed).cmp(&(b.config_id, &b.scenario, b.seed))
    });
    assert_eq!(union, full);
    let a = frame::configs_frame(&plan, &frame::runs_frame(&plan, &union).unwrap()).unwrap();
    let b = frame::configs_frame(&plan, &frame::runs_frame(&plan, &full).unwrap()).unwrap();
    assert!(a.equals_missing(&b));
}

#[test]
fn an_interrupted_sweep_resumes_without_redoing_finished_runs() {
    let (plan, sc) = plan(SPEC);
    let jobs = exec::jobs(&plan, &sc);
    let stop = AtomicBool::new(false);
    let count = AtomicUsize::new(0);
    let first = exec::execute(&plan, &sc, &jobs, &HashSet::new(), 1, &stop, &|_| {
        if count.fetch_add(1, Ordering::SeqCst) + 1 >= 5 {
            stop.store(true, Ordering::SeqCst);
        }
    })
    .unwrap();
    assert!(
        first.len() >= 5 && first.len() < jobs.len(),
        "{}",
        first.len()
    );
    let done: HashSet<String> = first.iter().map(|r| r.key.clone()).collect();
    let redone = AtomicUsize::new(0);
    let rest = exec::execute(&plan, &sc, &jobs, &done, 2, &AtomicBool::new(false), &|r| {
        assert!(!done.contains(&r.key), "a finished run was redone");
        redone.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    assert_eq!(first.len() + rest.len(), jobs.len());
    let mut all: Vec<_> = first.into_iter().chain(rest).collect();
    all.sort_by(|a, b| (a.config_id, &a.scenario, a.seed).cmp(&(b.config_id, &b.scenario, b.seed)));
    assert_eq!(all, run(&plan, &sc, &jobs, 2));
}

#[test]
fn frames_aggregate_rank_and_round_trip_through_files() {
    let (plan, sc) = plan(SPEC);
    let results = run(&plan, &sc, &exec::jobs(&plan, &sc), 2);
    let mut runs = frame::runs_frame(&plan, &results).unwrap();
    assert_eq!(runs.height(), 20);
    let configs = frame::configs_frame(&plan, &runs).unwrap();
    assert_eq!(configs.height(), 5);
    for c in [
        "migrations_mean",
        "migrations_std",
        "migrations_p95",
        "objective",
        "rank",
        "pareto",
    ] {
        assert!(configs.column(c).is_ok(), "{c}");
    }
    // Rank 1 has the lowest objective among feasible configs.
    let obj = configs.column("objective").unwrap().f64().unwrap().to_vec();
    let rank = configs.column("rank").unwrap().u32().unwrap().to_vec();
    let best = rank.iter().position(|r| *r == Some(1)).unwrap();
    let min = obj.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(obj[best], Some(min));
    // At least one config is on the Pareto front.
    assert!(
        configs
            .column("pareto")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .any(|x| x == Some(true))
    );
    let dir = std::env::temp_dir().join(format!("scalelab-frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pq = dir.join("runs.parquet");
    frame::write_parquet(&mut runs, &pq).unwrap();
    assert!(frame::read_parquet(&pq).unwrap().equals_missing(&runs));
    let csv = dir.join("runs.csv");
    frame::write_csv(&mut runs, &csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with(
        "config_id,scenario,seed,run_key,policy,p:estimator,p:migrate_current,overload_time_frac"
    ));
    assert_eq!(text.lines().count(), 21);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Three nodes where THR, consolidating, moves four VMs in 900 s and switches two hosts
/// off (`crates/sim/tests/baselines.rs`, derived by hand there).
const CONSOLIDATION: &str = r#"
name = "consolidation"
duration_s = 900
control_interval_s = 300
sample_interval_s = 300
[power]
switch_off_empty = true
[[nodes]]
name = "g5"
cores = 8
memory_mib = 65536
nic_mbps = 10000
power = "hp_ml110_g5"
[[nodes]]
name = "g4"
cores = 8
memory_mib = 65536
nic_mbps = 10000
power = "hp_ml110_g4"
[[nodes]]
name = "g5b"
cores = 8
memory_mib = 65536
nic_mbps = 10000
power = "hp_ml110_g5"
[[vms]]
name = "hot"
vcpus = 2
memory_mib = 2048
nodes = ["g5"]
workload = { kind = "constant", level = 0.5 }
[[vms]]
name = "big"
vcpus = 6
memory_mib = 8192
nodes = ["g5"]
workload = { kind = "constant", level = 0.0 }
[[vms]]
name = "c"
vcpus = 4
memory_mib = 2048
nodes = ["g4"]
workload = { kind = "constant", level = 0.25 }
[[vms]]
name = "d"
vcpus = 4
memory_mib = 2048
nodes = ["g5b"]
workload = { kind = "constant", level = 0.75 }
"#;

#[test]
fn baselines_run_where_they_can_and_consolidate_where_hosts_switch_off() {
    let dir = std::env::temp_dir().join(format!("scalelab-sweep-bl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("own.toml"), CONSOLIDATION).unwrap();
    std::fs::write(
        dir.join("compat.toml"),
        include_str!("../../sim/src/cloudsim/small-day.toml"),
    )
    .unwrap();
    let spec = "name = \"b\"\nscenarios = [\"own.toml\", \"compat.toml\"]\n";
    let mut plan = SweepSpec::from_toml_str(spec)
        .unwrap()
        .plan(&dir, &PolicyConfig::default(), DEFAULT_MAX_RUNS)
        .unwrap();
    plan.add_baselines();
    let sc = exec::load(&plan.scenarios).unwrap();
    let jobs = exec::jobs(&plan, &sc);
    // The defaults and seven baselines on scalelab's own model; no Watcher under the
    // CloudSim profile, which has no such policy.
    assert_eq!(jobs.len(), 8 + 7);
    let results = run(&plan, &sc, &jobs, 2);
    let thr = plan
        .configs
        .iter()
        .find(|c| c.label() == "beloglazov_thr")
        .unwrap()
        .id;
    let own = results
        .iter()
        .find(|r| r.config_id == thr && r.scenario == "consolidation")
        .unwrap();
    assert_eq!(own.metrics["migrations"], Some(4.0));
    assert_eq!(own.metrics["host_shutdowns"], Some(2.0));
    // The engine's run under the CloudSim profile (the scenario names THR; a sweep's
    // own configs are the engine's).
    let engine = results
        .iter()
        .find(|r| r.config_id == 0 && r.scenario == "compat-small")
        .unwrap();
    assert_eq!(engine.metrics["migrations"], Some(0.0));
    let _ = std::fs::remove_dir_all(&dir);
}
