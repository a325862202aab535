use serde_json::Value;

use crate::util::{TempDir, assert_one_line_error, p, root, scalelab, stdout};

fn suite(dir: &TempDir, extra: &str) -> std::path::PathBuf {
    let sc = root().join("scenarios/target-spike-rollback.toml");
    dir.write(
        "suite.toml",
        &format!(
            "name = \"t\"\nbaseline = \"b.json\"\n[[runs]]\nscenario = \"{}\"\nseeds = [2, 3]\n{extra}",
            sc.display()
        ),
    )
}

fn edit_baseline(path: &std::path::Path, f: impl Fn(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, v.to_string()).unwrap();
}

#[test]
fn the_shipped_suite_passes_against_its_committed_baseline() {
    let o = scalelab(&["check", "checks/shipped.toml"]);
    assert!(
        o.status.success(),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&o).contains("0 regressions"));
}

#[test]
fn a_deliberate_regression_fails_the_gate_with_reports() {
    let dir = TempDir::new("check");
    let s = suite(&dir, "[tolerances]\nmigrations = { abs = 2, rel = 0.0 }\n");
    let o = scalelab(&["check", p(&s), "--update-baseline"]);
    assert!(o.status.success(), "{o:?}");
    let b = dir.path("b.json");
    assert!(b.exists());
    // Unchanged code against its own baseline: all the same, exit 0.
    let o = scalelab(&["check", p(&s)]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("0 regressions"));

    // Tolerance edge: baseline 2 fewer migrations with abs = 2 is still fine...
    let current = {
        let v: Value = serde_json::from_slice(&std::fs::read(&b).unwrap()).unwrap();
        v["entries"][0]["metrics"]["migrations"].as_f64().unwrap()
    };
    edit_baseline(&b, |v| {
        v["entries"][0]["metrics"]["migrations"] = (current - 2.0).into()
    });
    let o = scalelab(&["check", p(&s)]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("worse (within tolerance)"));
    // ...3 fewer is a regression.
    edit_baseline(&b, |v| {
        v["entries"][0]["metrics"]["migrations"] = (current - 3.0).into()
    });
    let (junit, md) = (dir.path("j.xml"), dir.path("m.md"));
    let o = scalelab(&["check", p(&s), "--junit", p(&junit), "--markdown", p(&md)]);
    assert_one_line_error(&o, &["suite t: 1 regression(s)", "b.json"]);
    assert!(stdout(&o).contains("REGRESSION"));

    // JUnit parses back: one test case per run and metric, one failure.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2 * 11);
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|k| k.has_tag_name("failure")))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attribute("name"), Some("migrations"));
    assert_eq!(
        failed[0].attribute("classname"),
        Some("target-spike-rollback.seed2")
    );
    let suite_node = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite_node.attribute("failures"), Some("1"));
    assert_eq!(suite_node.attribute("tests"), Some("22"));

    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("❌ 1 regression(s)"));
    assert!(md.contains("| target-spike-rollback | 2 | migrations |"));
}

#[test]
fn suite_and_baseline_errors_are_one_line() {
    let dir = TempDir::new("checkerr");
    let s = suite(&dir, "");
    let o = scalelab(&["check", p(&s)]);
    assert_one_line_error(&o, &["b.json", "--update-baseline"]);
    let s = suite(&dir, "[tolerances]\nhappiness = { abs = 1 }\n");
    let o = scalelab(&["check", p(&s)]);
    assert_one_line_error(
        &o,
        &["suite.toml", "tolerances.happiness", "unknown metric"],
    );
    let bad = dir.write("bad.toml", "name = \"x\"\nruns = []\n");
    let o = scalelab(&["check", p(&bad)]);
    assert_one_line_error(&o, &["bad.toml", "runs"]);
}
