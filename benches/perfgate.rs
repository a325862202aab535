//! Deterministic performance gate: instruction counts under valgrind's callgrind.
//!
//! Wall-clock time on shared 2-core machines varies by a third between runs, so CI
//! gates on instructions executed, which are the same for the same binary and input.
//! Each case's measured part is a function named `measured_*`; callgrind counts only
//! inside it (`--toggle-collect`), so building the inputs is not counted.
//!
//! ```text
//! cargo bench --bench perfgate -- gate            # compare with benches/perf-baseline.json
//! cargo bench --bench perfgate -- gate --update   # refresh the baseline after an intended change
//! ```
//!
//! The gate fails when a count grows by more than 5 %, and writes a summary of every
//! figure to `perf-summary.json` in cargo's target directory.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

use scalelab_engine::cluster::{
    ClusterIndex, ClusterSnapshot, NodeHealth, NodeSnapshot, VmSnapshot,
};
use scalelab_engine::model::ResourceType;
use scalelab_engine::planner::plan_round;
use scalelab_engine::policy::PolicyConfig;
use scalelab_engine::rules::{MigrationCheck, UtilStats, migration_check, scaling_rule};
use scalelab_sim::queue::EventQueue;

const TOLERANCE: f64 = 0.05;
const CASES: [&str; 4] = ["rule_eval", "planner_round", "event_loop", "small_scenario"];

/// Deterministic pseudo-random numbers (xorshift), so inputs never change.
struct X(u64);
impl X {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[inline(never)]
fn measured_rule_eval(p: &PolicyConfig, inputs: &[UtilStats]) -> u64 {
    let mut n = 0;
    for s in inputs {
        if migration_check(p, ResourceType::Cpu, s.current, s.avg, None) == MigrationCheck::Wanted {
            n += 1;
        } else {
            n += black_box(scaling_rule(p, *s, None, None)).target_value as u64;
        }
    }
    n
}

#[inline(never)]
fn measured_planner_round(snap: &ClusterSnapshot, p: &PolicyConfig, candidates: &[usize]) -> usize {
    let mut ix = ClusterIndex::new(snap, &p.planner);
    plan_round(&mut ix, p, candidates)
        .iter()
        .filter(|(_, r)| r.is_ok())
        .count()
}

#[inline(never)]
fn measured_event_loop(pending: u64, events: u64) -> u64 {
    let mut q = EventQueue::new();
    let mut x = X(0x2545_F491_4F6C_DD1D);
    for i in 0..pending {
        q.schedule(i, i as u32);
    }
    let mut sum = 0u64;
    for _ in 0..events {
        let (t, e) = q.pop().expect("pending events");
        q.schedule(t + (x.next() * 1000.0) as u64, e);
        sum = sum.wrapping_add(e as u64);
    }
    sum
}

#[inline(never)]
fn measured_small_scenario(text: &str) -> u32 {
    scalelab_sim::run_scenario_text(text, None, &mut |_, _| {})
        .expect("scenario runs")
        .metrics
        .migrations
}

fn run_case(name: &str) {
    match name {
        "rule_eval" => {
            let mut x = X(7);
            let inputs: Vec<UtilStats> = (0..100_000)
                .map(|_| {
                    let avg = x.next();
                    UtilStats {
                        current: avg + 0.1 * (x.next() - 0.5),
                        avg,
                        peak: avg + 0.2 * x.next(),
                    }
                })
                .collect();
            black_box(measured_rule_eval(&PolicyConfig::default(), &inputs));
        }
        "planner_round" => {
            let mut x = X(11);
            let mut snap = ClusterSnapshot::default();
            for i in 0..2000 {
                let hot = i < 400;
                snap.nodes.push(NodeSnapshot {
                    id: format!("node-{i:05}"),
                    cores: [16.0, 32.0, 48.0, 64.0][i % 4],
                    cpu_utilization: if hot {
                        0.8 + 0.15 * x.next()
                    } else {
                        0.1 + 0.5 * x.next()
                    },
                    memory_mib: 262_144,
                    free_memory_mib: 65_536 + (x.next() * 131_072.0) as u64,
                    bandwidth_mbps: 10_000.0,
                    rack: format!("rack-{:03}", i / 40),
                    health: NodeHealth::Healthy,
                });
                for k in 0..if hot { 5 } else { 1 } {
                    snap.vms.push(VmSnapshot {
                        id: format!("vm-{i:05}-{k}"),
                        node_id: format!("node-{i:05}"),
                        vcpus: 4,
                        memory_mib: 2048 + 2048 * (k % 4),
                        cpu_demand_cores: 0.5 + 3.0 * x.next(),
                        dirty_rate_mib_s: 5.0 + 40.0 * x.next(),
                        anti_affinity_group: None,
                        service_group: None,
                        recently_left: Vec::new(),
                    });
                }
            }
            let mut p = PolicyConfig::default();
            p.planner.max_migrations_cluster = 1_000_000;
            p.planner.max_migrations_per_node = 1_000;
            let candidates: Vec<usize> = (0..2000).collect();
            let planned = black_box(measured_planner_round(&snap, &p, &candidates));
            eprintln!(
                "planner_round: {planned} of {} candidates planned",
                candidates.len()
            );
        }
        "event_loop" => {
            black_box(measured_event_loop(2_000, 200_000));
        }
        "small_scenario" => {
            let text = include_str!("../scenarios/target-spike-rollback.toml");
            black_box(measured_small_scenario(text));
        }
        other => {
            eprintln!(
                "perfgate: unknown case {other:?} (one of {})",
                CASES.join(", ")
            );
            std::process::exit(2);
        }
    }
}

fn baseline_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/perf-baseline.json")
}

fn summary_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("perf-summary.json")
}

/// Instructions executed inside the case's `measured_*` function.
fn count(case: &str) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::env::temp_dir().join(format!("perfgate-{}-{case}.out", std::process::id()));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--toggle-collect=*measured_*")
        .arg(&exe)
        .args(["case", case])
        .output()
        .map_err(|e| format!("cannot run valgrind ({e}); install it (apt-get install valgrind)"))?;
    if !status.status.success() {
        return Err(format!(
            "valgrind failed on {case}: {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("{case}: no instruction total in the callgrind output"))
}

fn gate(update: bool) -> i32 {
    let baseline: BTreeMap<String, u64> = std::fs::read_to_string(baseline_path())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut counts = BTreeMap::new();
    let mut summary = Vec::new();
    let mut failed = 0;
    println!(
        "{:<16} {:>15} {:>15} {:>8}  verdict",
        "case", "baseline", "now", "change"
    );
    for case in CASES {
        let t = std::time::Instant::now();
        let n = match count(case) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("perfgate: {e}");
                return 2;
            }
        };
        let wall_ms = t.elapsed().as_millis();
        counts.insert(case.to_string(), n);
        let base = baseline.get(case).copied();
        let change = base.map(|b| (n as f64 - b as f64) / b as f64);
        let verdict = match change {
            None => "new",
            Some(c) if c > TOLERANCE => {
                failed += 1;
                "REGRESSION"
            }
            Some(c) if c < -TOLERANCE => "faster (refresh the baseline)",
            Some(_) => "ok",
        };
        println!(
            "{case:<16} {:>15} {n:>15} {:>8}  {verdict}",
            base.map_or("-".into(), |b| b.to_string()),
            change.map_or("-".into(), |c| format!("{:+.2}%", c * 100.0))
        );
        summary.push(serde_json::json!({
            "case": case,
            "instructions": n,
            "baseline": base,
            "change": change,
            "verdict": verdict,
            "wall_ms_under_valgrind": wall_ms,
        }));
    }
    let sp = summary_path();
    if let Some(dir) = sp.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(
        &sp,
        serde_json::to_string_pretty(&summary).unwrap_or_default(),
    );
    println!("summary: {}", sp.display());
    if update {
        let text = serde_json::to_string_pretty(&counts).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(baseline_path(), text) {
            eprintln!("perfgate: {}: {e}", baseline_path().display());
            return 2;
        }
        println!("baseline written: {}", baseline_path().display());
        return 0;
    }
    if failed > 0 {
        eprintln!(
            "perfgate: {failed} case(s) grew by more than {:.0} % in instructions",
            TOLERANCE * 100.0
        );
        return 1;
    }
    0
}

fn main() {
    // `cargo bench` passes `--bench`; the rest are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let code = match args.first().map(String::as_str) {
        Some("case") => {
            run_case(args.get(1).map_or("", String::as_str));
            0
        }
        Some("gate") => gate(args.iter().any(|a| a == "--update")),
        _ => {
            // Plain `cargo bench` runs every bench target: say how to use this one.
            println!("perfgate: run `cargo bench --bench perfgate -- gate [--update]`");
            0
        }
    };
    std::process::exit(code);
}
