//! Property tests of the engine's parsers: mutated policy files and `decide` inputs,
//! and arbitrary text, give a value or an error, never a panic; a policy that parses
//! prints back to the same policy; an input that parses can be decided on.

use proptest::prelude::*;
use scalelab_engine::batch::DecideInput;
use scalelab_engine::{Engine, PolicyConfig};
use scalelab_testkit::mutate::{apply, config, edits, json_to_toml, toml_to_json};

fn decide_base() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../examples/decide-input.json")).unwrap()
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn mutated_policies_parse_or_fail_cleanly(e in edits()) {
        let base = toml_to_json(&PolicyConfig::default().to_toml_string());
        if let Some(text) = json_to_toml(&apply(&base, &e))
            && let Ok(p) = PolicyConfig::from_toml_str(&text)
        {
            let again = PolicyConfig::from_toml_str(&p.to_toml_string());
            prop_assert_eq!(again.ok(), Some(p));
        }
    }

    #[test]
    fn mutated_decide_inputs_parse_or_fail_cleanly(e in edits()) {
        let text = serde_json::to_string(&apply(&decide_base(), &e)).unwrap();
        if let Ok(input) = DecideInput::from_json_str(&text) {
            for d in input.decide(&Engine::new(PolicyConfig::default())) {
                prop_assert!(d.confidence.is_finite(), "{d:?}");
                prop_assert!(serde_json::to_string(&d).is_ok());
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = PolicyConfig::from_toml_str(&s);
        let _ = DecideInput::from_json_str(&s);
    }
}
