use crate::util::{TempDir, assert_one_line_error, p, scalelab, stderr};

fn figure_ids(html: &str) -> Vec<String> {
    html.split("<figure id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect()
}

#[test]
fn report_of_a_run_a_stored_run_a_comparison_and_a_sweep() {
    let dir = TempDir::new("report");
    let db = dir.path("x.db");
    let rec = dir.path("a.run.json");
    let o = scalelab(&[
        "--db",
        p(&db),
        "run",
        "scenarios/hot-node-relief.toml",
        "--out",
        p(&rec),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = dir.path("run.html");
    let o = scalelab(&[
        "report",
        p(&rec),
        "--out",
        p(&html),
        "--nodes",
        "node-0,node-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("plots"), "{}", stderr(&o));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(figure_ids(&text).contains(&"fig-heatmap".to_string()));
    assert!(text.contains("the nodes chosen with --nodes"));
    // The stored run (id 1) gives the same report.
    let stored = dir.path("stored.html");
    let o = scalelab(&["--db", p(&db), "report", "1", "--out", p(&stored)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        figure_ids(&std::fs::read_to_string(&stored).unwrap()),
        figure_ids(&text)
    );
    // Two runs: a comparison.
    let cmp = dir.path("cmp.html");
    let o = scalelab(&["report", p(&rec), p(&rec), "--out", p(&cmp)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        figure_ids(&std::fs::read_to_string(&cmp).unwrap()).contains(&"fig-cmp-active".to_string())
    );
    // A sweep directory, with the description the sweep writes beside its tables.
    let spec = dir.write(
        "s.toml",
        &format!(
            "name = \"s\"\nscenarios = [\"{}\"]\nseeds = [1, 2]\n[parameters]\nmigrate_current = {{ values = [0.8, 0.9] }}\n",
            crate::util::root().join("scenarios/hot-node-relief.toml").display()
        ),
    );
    let out = dir.path("sweep-out");
    let o = scalelab(&["--db", p(&db), "sweep", p(&spec), "--out", p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("sweep.json").is_file());
    let sw = dir.path("sweep.html");
    let o = scalelab(&["report", p(&out), "--out", p(&sw)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ids = figure_ids(&std::fs::read_to_string(&sw).unwrap());
    assert!(ids.contains(&"fig-param-0".to_string()), "{ids:?}");
    assert!(ids.contains(&"fig-pareto-0".to_string()), "{ids:?}");
}

#[test]
fn bad_report_inputs_are_one_line_errors_and_write_nothing() {
    let dir = TempDir::new("report-bad");
    let rec = dir.path("a.run.json");
    let o = scalelab(&[
        "run",
        "scenarios/target-spike-rollback.toml",
        "--no-store",
        "--out",
        p(&rec),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // An output path in a missing directory.
    let missing = dir.path("no/such/dir/r.html");
    let o = scalelab(&["report", p(&rec), "--out", p(&missing)]);
    assert_one_line_error(&o, &["r.html", "does not exist"]);
    // A record of a newer format version.
    let text = std::fs::read_to_string(&rec).unwrap();
    let newer = dir.write(
        "newer.run.json",
        &text.replacen("\"version\":1", "\"version\":7", 1),
    );
    let out = dir.path("r.html");
    let o = scalelab(&["report", p(&newer), "--out", p(&out)]);
    assert_one_line_error(&o, &["newer.run.json", "version 7 is newer"]);
    assert!(!out.exists(), "nothing half-written");
    // A sweep directory without its configs file.
    let sweep = dir.path("sweep");
    std::fs::create_dir_all(&sweep).unwrap();
    std::fs::write(sweep.join("runs.csv"), "config_id\n0\n").unwrap();
    let o = scalelab(&["report", p(&sweep), "--out", p(&out)]);
    assert_one_line_error(&o, &["sweep", "configs.parquet"]);
    // A node the record does not have.
    let o = scalelab(&["report", p(&rec), "--out", p(&out), "--nodes", "node-42"]);
    assert_one_line_error(&o, &["--nodes", "node-42"]);
    // Three inputs.
    let o = scalelab(&["report", p(&rec), p(&rec), p(&rec), "--out", p(&out)]);
    assert!(!o.status.success());
    assert!(!out.exists());
    // Nothing else was left in the directory (no temporary files).
    let names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}
