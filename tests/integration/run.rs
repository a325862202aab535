use serde_json::Value;

use crate::util::{TempDir, assert_one_line_error, p, scalelab, stdout};

#[test]
fn run_prints_a_summary_and_writes_the_record() {
    let dir = TempDir::new("run");
    let out = dir.path("r.json");
    let o = scalelab(&["run", "scenarios/hot-node-relief.toml", "--out", p(&out)]);
    assert!(o.status.success(), "{o:?}");
    let text = stdout(&o);
    for needle in [
        "scenario hot-node-relief (seed 1)",
        "migrations: 1 started: 1 completed",
        "expected vs actual utilization after migration: MAE",
        "SLA: overload time",
        "data-loss events: 0",
        "decisions:",
        "run record:",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let rec: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(rec["format"], "scalelab-run");
    assert_eq!(rec["scenario"]["name"], "hot-node-relief");
    assert_eq!(rec["metrics"]["migrations"], 1);
    // No temporary file is left beside the record.
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn run_is_deterministic_and_the_seed_flag_matters() {
    let dir = TempDir::new("det");
    let (a, b, c) = (dir.path("a.json"), dir.path("b.json"), dir.path("c.json"));
    let sc = "scenarios/target-spike-rollback.toml";
    assert!(scalelab(&["run", sc, "-o", p(&a)]).status.success());
    assert!(scalelab(&["run", sc, "-o", p(&b)]).status.success());
    assert!(
        scalelab(&["run", sc, "--seed", "77", "-o", p(&c)])
            .status
            .success()
    );
    let (a, b, c) = (
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap(),
        std::fs::read(c).unwrap(),
    );
    assert_eq!(a, b);
    let seed: Value = serde_json::from_slice(&c).unwrap();
    assert_eq!(seed["scenario"]["seed"], 77);
}

#[test]
fn bad_scenarios_are_one_line_naming_file_and_field() {
    let dir = TempDir::new("badsc");
    let good = std::fs::read_to_string(crate::util::root().join("scenarios/hot-node-relief.toml"))
        .unwrap();
    let f = dir.write(
        "zero-mem.toml",
        &good.replace("memory_mib = 8192", "memory_mib = 0"),
    );
    let o = scalelab(&["run", p(&f)]);
    assert_one_line_error(&o, &["zero-mem.toml", "vms[0].memory_mib: must be > 0"]);

    let f = dir.write("unknown.toml", &format!("{good}\nflavour = \"x\"\n"));
    let o = scalelab(&["run", p(&f)]);
    assert_one_line_error(&o, &["unknown.toml", "flavour"]);

    let f = dir.write("syntax.toml", "name = \"x\"\nduration_s = = 3\n");
    let o = scalelab(&["run", p(&f)]);
    assert_one_line_error(&o, &["syntax.toml", "line 2"]);

    let f = dir.write(
        "nofit.toml",
        &good.replace("memory_mib = 131072", "memory_mib = 9000"),
    );
    let o = scalelab(&["run", p(&f)]);
    assert_one_line_error(&o, &["nofit.toml", "does not fit"]);

    let o = scalelab(&["run", "scenarios/none.toml"]);
    assert_one_line_error(&o, &["scenarios/none.toml", "cannot read"]);
}

#[test]
fn a_scenario_too_big_for_the_machine_is_refused_up_front() {
    let dir = TempDir::new("huge");
    let good = std::fs::read_to_string(crate::util::root().join("scenarios/hot-node-relief.toml"))
        .unwrap();
    // 100,000 VMs sampled every second for a day: ~8.6e9 samples.
    let huge = good
        .replace("count = 4\nvcpus = 4", "count = 100000\nvcpus = 4")
        .replace("duration_s = 14400", "duration_s = 86400")
        .replace(
            "control_interval_s = 300\nsample_interval_s = 60",
            "control_interval_s = 1\nsample_interval_s = 1",
        );
    let f = dir.write("huge.toml", &huge);
    let t = std::time::Instant::now();
    let o = scalelab(&["run", p(&f), "--no-store", "-o", p(&dir.path("r.json"))]);
    assert_one_line_error(
        &o,
        &[
            "huge.toml",
            "duration_s",
            "estimated",
            "--no-resource-limits",
        ],
    );
    assert!(
        t.elapsed().as_secs() < 30,
        "refused up front, not after trying"
    );
}

#[test]
fn a_deprecated_policy_key_still_works_and_says_so() {
    let dir = TempDir::new("deprecated");
    let text = std::fs::read_to_string(crate::util::root().join("scenarios/hot-node-relief.toml"))
        .unwrap();
    // The old window in samples: 60 samples at 60 s is the default hour, so the run is
    // the same as without it, and a warning names the file and the key.
    let old = dir.write(
        "old.toml",
        &format!("{text}\n[policy]\nwindow_samples = 60\n"),
    );
    let new = dir.write("new.toml", &text);
    let (ro, rn) = (dir.path("o.json"), dir.path("n.json"));
    let o = scalelab(&[
        "--db",
        p(&dir.path("x.db")),
        "run",
        p(&old),
        "--out",
        p(&ro),
    ]);
    assert!(o.status.success(), "{o:?}");
    let err = crate::util::stderr(&o);
    assert!(
        err.contains("warning:")
            && err.contains("old.toml")
            && err.contains("policy.window_samples"),
        "{err}"
    );
    let n = scalelab(&[
        "--db",
        p(&dir.path("x.db")),
        "run",
        p(&new),
        "--out",
        p(&rn),
    ]);
    assert!(n.status.success(), "{n:?}");
    assert!(!crate::util::stderr(&n).contains("deprecated"));
    let metrics = |f: &std::path::Path| -> Value {
        serde_json::from_str::<Value>(&std::fs::read_to_string(f).unwrap()).unwrap()["metrics"]
            .clone()
    };
    assert_eq!(metrics(&ro), metrics(&rn));
}

#[test]
fn cooldowns_in_intervals_still_work_and_say_so() {
    let dir = TempDir::new("deprecated-cooldown");
    let text = std::fs::read_to_string(crate::util::root().join("scenarios/hot-node-relief.toml"))
        .unwrap();
    // Three 300 s intervals are the default 900 s per action: the same run, a warning
    // naming the file, the key and what it means in seconds.
    let old = dir.write(
        "old.toml",
        &format!("{text}\n[sim]\nscale_cooldown_intervals = 3\n"),
    );
    let new = dir.write(
        "new.toml",
        &format!("{text}\n[policy.cooldowns]\nscale_up_s = 900\nscale_in_s = 900\n"),
    );
    let (ro, rn) = (dir.path("o.json"), dir.path("n.json"));
    let run = |f: &std::path::Path, out: &std::path::Path| {
        let o = scalelab(&["--db", p(&dir.path("x.db")), "run", p(f), "--out", p(out)]);
        assert!(o.status.success(), "{o:?}");
        crate::util::stderr(&o)
    };
    let err = run(&old, &ro);
    assert!(
        err.contains("warning:")
            && err.contains("old.toml")
            && err.contains("sim.scale_cooldown_intervals")
            && err.contains("900 s"),
        "{err}"
    );
    assert!(!run(&new, &rn).contains("deprecated"));
    let metrics = |f: &std::path::Path| -> Value {
        serde_json::from_str::<Value>(&std::fs::read_to_string(f).unwrap()).unwrap()["metrics"]
            .clone()
    };
    assert_eq!(metrics(&ro), metrics(&rn));
    // Both at once contradict each other; a cooldown as long as the run is a mistake.
    for (extra, field) in [
        (
            "[sim]\nscale_cooldown_intervals = 2\n[policy.cooldowns]\nscale_up_s = 60\n",
            "sim.scale_cooldown_intervals",
        ),
        (
            "[policy.cooldowns]\nscale_down_s = 20000\n",
            "policy.cooldowns.scale_down_s",
        ),
    ] {
        let bad = dir.write("bad.toml", &format!("{text}\n{extra}"));
        let o = scalelab(&["--db", p(&dir.path("x.db")), "run", p(&bad)]);
        assert!(!o.status.success());
        let err = crate::util::stderr(&o);
        assert!(
            err.contains("bad.toml") && err.contains(field) && err.lines().count() == 1,
            "{err}"
        );
    }
}

#[test]
fn a_summary_record_keeps_the_numbers_and_drops_the_migration_detail() {
    let dir = TempDir::new("summary");
    let (full, summary) = (dir.path("full.json"), dir.path("summary.json"));
    let sc = "scenarios/target-spike-rollback.toml";
    assert!(
        scalelab(&["run", sc, "--no-store", "-o", p(&full)])
            .status
            .success()
    );
    let o = scalelab(&[
        "run",
        sc,
        "--no-store",
        "--record-detail",
        "summary",
        "-o",
        p(&summary),
    ]);
    assert!(o.status.success(), "{o:?}");
    let read = |f: &std::path::Path| -> (Value, usize) {
        let bytes = std::fs::read(f).unwrap();
        (serde_json::from_slice(&bytes).unwrap(), bytes.len())
    };
    let ((f, f_len), (s, s_len)) = (read(&full), read(&summary));
    assert!(f.get("detail").is_none());
    assert_eq!(s["detail"], "summary");
    assert_eq!(s["metrics"], f["metrics"]);
    assert_eq!(s["series"], f["series"]);
    assert!(f["metrics"]["migrations"].as_u64().unwrap() > 0);
    assert_eq!(s["migrations"].as_array().unwrap().len(), 0);
    assert!(s_len * 2 < f_len, "{s_len} vs {f_len}");
    let kinds: Vec<&str> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"rollback") && !kinds.contains(&"migration_start"));
    // The report opens it.
    let html = dir.path("s.html");
    let o = scalelab(&["report", p(&summary), "--out", p(&html)]);
    assert!(o.status.success(), "{o:?}");
}

#[test]
fn the_summary_says_how_many_decisions_were_not_carried_out() {
    let dir = TempDir::new("held");
    let out = dir.path("r.json");
    let sc = "scenarios/mixed-fleet-churn.toml";
    let o = scalelab(&["run", sc, "--no-store", "-o", p(&out)]);
    assert!(o.status.success(), "{o:?}");
    let rec: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let held = rec["metrics"]["unapplied_decisions_by_action"]["scale_down"]
        .as_u64()
        .expect("a day of diurnal load holds some scale-downs back");
    let line = stdout(&o)
        .lines()
        .find(|l| l.starts_with("decisions:"))
        .unwrap()
        .to_string();
    let held = held.to_string();
    // Thousands are grouped in the summary.
    let grouped = if held.len() > 3 {
        format!("{},{}", &held[..held.len() - 3], &held[held.len() - 3..])
    } else {
        held
    };
    assert!(
        line.contains(&format!("({grouped} not carried out)")),
        "{line}"
    );
}
