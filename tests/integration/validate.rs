//! `scalelab validate`: a suite of a peer simulator's numbers against scalelab's, on a
//! small CloudSim-profile scenario whose numbers are derived by hand (see
//! `crates/sim/src/cloudsim/tests.rs`: 56,580 J, one shutdown, no migration).

use crate::util::{TempDir, assert_one_line_error, p, scalelab, stdout};

const SCENARIO: &str = include_str!("../../crates/sim/src/cloudsim/small-day.toml");

fn suite(dir: &TempDir, energy_kwh: f64, extra: &str) -> std::path::PathBuf {
    dir.write("small.toml", SCENARIO);
    dir.write(
        "suite.toml",
        &format!(
            r#"name = "small"
reference = "hand-computed"
scenario = "small.toml"
[tolerances]
energy_kwh = 0.05
migrations = 0.15
host_shutdowns = 0.2
{extra}
[[runs]]
label = "THR-MMT-0.8"
baseline = "beloglazov_thr"
parameter = 0.8
reference = {{ energy_kwh = {energy_kwh}, migrations = 0, host_shutdowns = 1 }}
"#
        ),
    )
}

#[test]
fn numbers_within_tolerance_pass_and_outside_fail() {
    let dir = TempDir::new("validate");
    let md = dir.path("table.md");
    let s = suite(&dir, 56_580.0 / 3.6e6, "");
    let o = scalelab(&["validate", p(&s), "--markdown", p(&md)]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(out.contains("all 3 numbers within tolerance"), "{out}");
    assert!(
        out.contains("| THR-MMT-0.8 | host_shutdowns | 1 | 1 |"),
        "{out}"
    );
    assert!(std::fs::read_to_string(&md).unwrap().contains("energy_kwh"));
    // 10 % more energy than the run uses: outside the 5 % tolerance.
    let s = suite(&dir, 1.1 * 56_580.0 / 3.6e6, "");
    let o = scalelab(&["validate", p(&s)]);
    assert_one_line_error(&o, &["1 of 3 numbers outside tolerance"]);
    assert!(stdout(&o).contains("**outside**"));
}

#[test]
fn bad_suites_are_one_line_errors() {
    let dir = TempDir::new("validate-bad");
    let s = suite(&dir, 0.0157, "colour = 0.1");
    let o = scalelab(&["validate", p(&s)]);
    assert_one_line_error(&o, &["suite.toml", "tolerances.colour", "unknown metric"]);
    let s = suite(&dir, 0.0157, "");
    std::fs::remove_file(dir.path("small.toml")).unwrap();
    let o = scalelab(&["validate", p(&s)]);
    assert_one_line_error(&o, &["small.toml"]);
}
