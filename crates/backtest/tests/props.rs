//! Property test of the sweep parser: mutated sweep files give a plan or an error
//! naming a field, never a panic, and never a plan above the run limit.

use proptest::prelude::*;
use scalelab_backtest::spec::SweepSpec;
use scalelab_engine::PolicyConfig;
use scalelab_testkit::mutate::{apply, config, edits, json_to_toml, toml_to_json};

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn mutated_sweeps_plan_or_fail_cleanly(e in edits()) {
        let base = toml_to_json(include_str!("../../../examples/sweep.toml"));
        let Some(text) = json_to_toml(&apply(&base, &e)) else {
            return Ok(());
        };
        let Ok(spec) = SweepSpec::from_toml_str(&text) else {
            return Ok(());
        };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        if let Ok(plan) = spec.plan(&dir, &PolicyConfig::default(), 5_000) {
            let runs = plan.configs.len() * plan.scenarios.len() * plan.spec.seeds.len();
            prop_assert!(runs <= 5_000, "{runs} runs");
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = SweepSpec::from_toml_str(&s);
    }
}

// Regressions found by the property test.

#[test]
fn a_range_with_a_vanishing_step_is_refused() {
    let text = include_str!("../../../examples/sweep.toml").replace("step = 0.05", "step = 1e-18");
    let e = SweepSpec::from_toml_str(&text)
        .and_then(|s| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
            s.plan(&dir, &PolicyConfig::default(), 5_000).map(|_| ())
        })
        .unwrap_err();
    assert_eq!(e.path, "parameters.migrate_current.step", "{e}");
}
