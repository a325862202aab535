//! Scenario files: parse, validate, estimate, and run the small ones with the invariant
//! checker on. Any panic or violated invariant is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalelab_sim::scenario::ResourceLimits;
use scalelab_sim::{Scenario, Simulation};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut sc) = Scenario::from_toml_str(text) else { return };
    let Ok(est) = sc.check_resources(&ResourceLimits::default()) else { return };
    // Keep each input fast: simulate only small scenarios.
    if est.vm_ticks > 20_000.0 || est.nodes > 200 {
        return;
    }
    sc.sim.check_invariants = true;
    let Ok(sim) = Simulation::new(sc, "fuzz".into(), None) else { return };
    let r = sim.run(&mut |_, _| {});
    assert!(r.invariant_violations.is_empty(), "{:?}", r.invariant_violations);
    r.validate().expect("the simulator writes valid records");
});
