//! `scalelab calibrate`: stored runs in, a calibrated policy out that the other
//! commands load; bad input is one line and writes nothing.

use serde_json::Value;

use crate::util::{TempDir, assert_one_line_error, p, root, scalelab, stdout};

#[test]
fn stored_runs_give_a_policy_the_engine_loads() {
    let dir = TempDir::new("calibrate");
    let db = dir.path("runs.db");
    let sc = root().join("scenarios/mtbf-failures.toml");
    for seed in ["1", "2"] {
        let out = dir.path(&format!("m{seed}.json"));
        let o = scalelab(&[
            "--db",
            p(&db),
            "run",
            p(&sc),
            "--seed",
            seed,
            "--out",
            p(&out),
        ]);
        assert!(o.status.success(), "{o:?}");
    }
    let (policy, json) = (dir.path("calibrated.toml"), dir.path("fit.json"));
    let o = scalelab(&[
        "--db",
        p(&db),
        "calibrate",
        "--out",
        p(&policy),
        "--json",
        p(&json),
    ]);
    assert!(o.status.success(), "{o:?}");
    let text = stdout(&o);
    assert!(
        text.contains("MAE held out") && text.contains("2 folds by run over 2 run(s)"),
        "{text}"
    );
    // The fit as JSON: both estimators measured on every measured move of both runs.
    let fit: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let n = fit["fixed_factor"]["n"].as_u64().unwrap();
    assert!(n >= 100, "{fit}");
    assert_eq!(fit["model_based"]["n"].as_u64(), Some(n));
    assert_eq!(fit["folds_by"], "run");
    // The written policy says where it comes from, loads, and carries the fit.
    let toml = std::fs::read_to_string(&policy).unwrap();
    assert!(
        toml.starts_with("# Calibrated by `scalelab calibrate`"),
        "{toml}"
    );
    let o = scalelab(&["policy", "--policy", p(&policy)]);
    assert!(o.status.success(), "{o:?}");
    let shown = stdout(&o);
    let factor = fit["fixed_factor"]["params"][0][1].as_f64().unwrap();
    assert!(
        shown.contains(&format!("improvement_factor = {factor}")),
        "{shown}"
    );
    assert!(shown.contains("[model_correction]"), "{shown}");
    // decide runs with it.
    let o = scalelab(&[
        "decide",
        "--input",
        p(&root().join("examples/decide-input.json")),
        "--policy",
        p(&policy),
    ]);
    assert!(o.status.success(), "{o:?}");
    // Named inputs (a stored id and a record file) work as well as the whole store.
    let o = scalelab(&[
        "--db",
        p(&db),
        "calibrate",
        "1",
        p(&dir.path("m2.json")),
        "--out",
        p(&dir.path("again.toml")),
    ]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path("again.toml"))
            .unwrap()
            .lines()
            .skip(1)
            .collect::<Vec<_>>()[1..],
        toml.lines().skip(1).collect::<Vec<_>>()[1..],
        "the same runs give the same policy"
    );
}

#[test]
fn too_little_to_learn_from_is_one_line() {
    let dir = TempDir::new("calibrate-bad");
    let db = dir.path("runs.db");
    let out = dir.path("p.toml");
    // No database at all.
    let o = scalelab(&["--db", p(&db), "calibrate", "--out", p(&out)]);
    assert_one_line_error(&o, &["runs.db", "no such database"]);
    // One run with one migration.
    let sc = root().join("scenarios/hot-node-relief.toml");
    let rec = dir.path("h.json");
    let o = scalelab(&["--db", p(&db), "run", p(&sc), "--out", p(&rec)]);
    assert!(o.status.success(), "{o:?}");
    let o = scalelab(&["--db", p(&db), "calibrate", "--out", p(&out)]);
    assert_one_line_error(&o, &["run 1", "1 migration(s)", "at least 10"]);
    assert!(!out.exists(), "nothing written");
    // An unknown run id.
    let o = scalelab(&["--db", p(&db), "calibrate", "7", "--out", p(&out)]);
    assert_one_line_error(&o, &["7"]);
    assert!(!out.exists());
}
