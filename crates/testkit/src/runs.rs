//! Scenario runs for tests: the invariant checker on, and the invariants every run
//! record must satisfy checked on the record itself.

use std::path::PathBuf;

use scalelab_sim::record::{MigrationRecord, Outcome, RunRecord};
use scalelab_sim::{ParsedScenario, RunOptions, run_scenario};

pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

pub fn shipped(name: &str) -> String {
    std::fs::read_to_string(scenarios_dir().join(format!("{name}.toml")))
        .unwrap_or_else(|e| panic!("scenario {name}: {e}"))
}

/// Run a scenario text through the same pipeline as `scalelab run`, with the invariant
/// checker on, and check the invariants that must hold after every run.
pub fn run_checked(text: &str, seed: Option<u64>) -> RunRecord {
    let mut p = ParsedScenario::parse(text).expect("scenario parses");
    p.scenario.sim.check_invariants = true;
    let opts = RunOptions {
        seed,
        ..RunOptions::default()
    };
    let mut last = 0;
    let r = run_scenario(p.scenario, p.content_hash, opts, &mut |now, _| {
        assert!(now >= last, "progress went back");
        last = now;
    })
    .expect("placement fits");
    assert_invariants(&r);
    r
}

pub fn assert_invariants(r: &RunRecord) {
    assert!(
        r.invariant_violations.is_empty(),
        "{}: invariant violations: {:?}",
        r.scenario.name,
        r.invariant_violations
    );
    // Every started migration ends in exactly one outcome and the metrics agree.
    for m in &r.migrations {
        assert!(m.outcome.is_some(), "migration {} has no outcome", m.id);
        assert!(m.ended_ms.unwrap() >= m.started_ms);
    }
    assert_eq!(r.migrations.len() as u32, r.metrics.migrations);
    let by: u32 = r.metrics.migrations_by_outcome.values().sum();
    assert_eq!(by, r.metrics.migrations);
    let lost = outcomes(r, Outcome::DataLoss).len() as u32;
    assert!(r.metrics.data_loss_events >= lost);
    // Time never goes back in the record.
    for w in r.events.windows(2) {
        assert!(w[0].t_ms <= w[1].t_ms, "events out of order");
    }
    for w in r.series.times_ms.windows(2) {
        assert!(w[0] < w[1]);
    }
    // Every VM was placed somewhere at some point, unless it was refused when it
    // arrived (then it never was), or it was still to arrive when the run ended.
    let mut placed = vec![false; r.vms.len()];
    for p in &r.placements {
        placed[p.vm as usize] = true;
    }
    let mut refused = vec![false; r.vms.len()];
    for e in &r.events {
        if e.kind == scalelab_sim::record::EventKind::ArrivalRefused {
            let v = e.vm.expect("a refused arrival names its VM") as usize;
            assert!(!placed[v], "VM {v} was refused on arrival but placed");
            refused[v] = true;
        }
    }
    assert_eq!(
        refused.iter().filter(|x| **x).count() as u32,
        r.metrics.refused_arrivals
    );
    for (v, (p, x)) in placed.iter().zip(&refused).enumerate() {
        assert!(*p || *x, "VM {} was never placed", r.vms[v].id);
    }
    // Completed migrations carry a switchover and a result for every criterion.
    for m in outcomes(r, Outcome::Completed) {
        let plan = m.decision.migration_plan.as_ref().expect("plan");
        assert_eq!(m.criteria.len(), plan.success_criteria.len());
        assert!(m.switchover_ms.is_some());
    }
}

pub fn outcomes(r: &RunRecord, o: Outcome) -> Vec<&MigrationRecord> {
    r.migrations
        .iter()
        .filter(|m| m.outcome == Some(o))
        .collect()
}

pub fn node_ix(r: &RunRecord, id: &str) -> u32 {
    r.nodes.iter().position(|n| n.id == id).expect("node") as u32
}

pub fn vm_ix(r: &RunRecord, id: &str) -> u32 {
    r.vms.iter().position(|v| v.id == id).expect("vm") as u32
}
