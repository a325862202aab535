//! The `decide` input: parse, then run the engine on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalelab_engine::batch::DecideInput;
use scalelab_engine::{Engine, PolicyConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(input) = DecideInput::from_json_str(text) else { return };
    let decisions = input.decide(&Engine::new(PolicyConfig::default()));
    for d in &decisions {
        serde_json::to_string(d).expect("decisions serialize");
    }
});
