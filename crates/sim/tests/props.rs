//! Property tests of the scenario parser and the simulator behind it: mutated shipped
//! scenarios give a scenario or an error naming a field, never a panic; the ones that
//! parse and are small enough run with the invariant checker on and write a record
//! that validates.

use proptest::prelude::*;
use scalelab_sim::scenario::ResourceLimits;
use scalelab_sim::{Scenario, Simulation};
use scalelab_testkit::mutate::{apply, config, edits, json_to_toml, toml_to_json};

const BASES: [&str; 4] = [
    include_str!("../../../scenarios/hot-node-relief.toml"),
    include_str!("../../../scenarios/source-crash.toml"),
    include_str!("../../../scenarios/rack-partition.toml"),
    include_str!("../../../scenarios/target-spike-rollback.toml"),
];

fn run_small(text: &str) -> Result<(), TestCaseError> {
    let Ok(mut sc) = Scenario::from_toml_str(text) else {
        return Ok(());
    };
    let Ok(est) = sc.check_resources(&ResourceLimits::default()) else {
        return Ok(());
    };
    if est.vm_ticks > 50_000.0 || est.nodes > 100 {
        return Ok(());
    }
    if std::env::var_os("SCALELAB_PROP_DEBUG").is_some() {
        eprintln!("=== CASE\n{text}");
    }
    sc.sim.check_invariants = true;
    let Ok(sim) = Simulation::new(sc, "prop".into(), None) else {
        return Ok(());
    };
    let r = sim.run(&mut |_, _| {});
    prop_assert!(
        r.invariant_violations.is_empty(),
        "{:?}\n{text}",
        r.invariant_violations
    );
    prop_assert_eq!(r.validate(), Ok(()));
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn mutated_scenarios_parse_or_fail_cleanly_and_run_clean(
        base in 0..BASES.len(),
        e in edits(),
    ) {
        let v = apply(&toml_to_json(BASES[base]), &e);
        if let Some(text) = json_to_toml(&v) {
            run_small(&text)?;
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
        let _ = Scenario::from_toml_str(&s);
    }

    #[test]
    fn mutated_run_records_validate_or_say_why(e in edits()) {
        // Validation must never panic, whatever a record file holds.
        let base = serde_json::to_value(record()).unwrap();
        let text = serde_json::to_string(&apply(&base, &e)).unwrap();
        if let Ok(r) = scalelab_engine::input::from_json_str::<scalelab_sim::RunRecord>(&text) {
            let _ = r.validate();
        }
    }
}

fn record() -> scalelab_sim::RunRecord {
    static R: std::sync::OnceLock<scalelab_sim::RunRecord> = std::sync::OnceLock::new();
    R.get_or_init(|| scalelab_sim::run_scenario_text(BASES[3], None, &mut |_, _| {}).expect("runs"))
        .clone()
}

// Regressions: inputs the property tests found, kept as plain tests.

#[test]
fn huge_step_timeouts_are_refused_not_overflowed() {
    let text = BASES[1].replace(
        "min_step_timeout_s = 120",
        "min_step_timeout_s = 9223372036854775807",
    );
    let e = Scenario::from_toml_str(&text).unwrap_err();
    assert_eq!(e.path, "policy.migration.min_step_timeout_s", "{e}");
}

#[test]
fn vanishing_node_cores_are_refused() {
    let text = BASES[3].replace("cores = 16", "cores = 1e-300");
    let e = Scenario::from_toml_str(&text).unwrap_err();
    assert!(e.path.ends_with("cores"), "{e}");
}

#[test]
fn recovery_after_the_end_of_time_is_just_never_reached() {
    let text = BASES[1].replace(
        "recover_after_s = 600",
        "recover_after_s = 2910147064659862914",
    );
    assert_ne!(text, BASES[1]);
    run_small(&text).unwrap();
}
