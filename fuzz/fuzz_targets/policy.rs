//! Policy files: parse, validate, and print back (the round trip must parse again).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalelab_engine::PolicyConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(p) = PolicyConfig::from_toml_str(text) else { return };
    let again = PolicyConfig::from_toml_str(&p.to_toml_string()).expect("printed policy parses");
    assert_eq!(again, p);
});
