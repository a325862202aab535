//! Sweep files: parse and expand into a plan (bounded by the run limit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalelab_backtest::spec::SweepSpec;
use scalelab_engine::PolicyConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(spec) = SweepSpec::from_toml_str(text) else { return };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let _ = spec.plan(&dir, &PolicyConfig::default(), 10_000);
});
