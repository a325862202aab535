use crate::util::{TempDir, assert_one_line_error, p, root, scalelab, stdout};

fn spec(dir: &TempDir) -> std::path::PathBuf {
    let sc = root().join("scenarios");
    dir.write(
        "s.toml",
        &format!(
            "name = \"cli\"\nscenarios = [\"{}/hot-node-relief.toml\", \"{}/target-spike-rollback.toml\"]\nseeds = [1, 2]\n[parameters]\nmigrate_current = {{ values = [0.75, 0.85] }}\n",
            sc.display(),
            sc.display()
        ),
    )
}

#[test]
fn sweep_writes_files_and_store_and_merge_reproduces_it_from_shards() {
    let dir = TempDir::new("sweepcli");
    let s = spec(&dir);
    let db = dir.path("s.db");
    let full = dir.path("full");
    let o = scalelab(&["--db", p(&db), "sweep", p(&s), "--out", p(&full)]);
    assert!(
        o.status.success(),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = stdout(&o);
    assert!(
        text.contains("3 configs x 2 scenarios -> 12 runs"),
        "{text}"
    );
    assert!(text.contains("p:migrate_current"));
    for f in ["runs", "configs", "scenarios"] {
        for ext in ["csv", "parquet"] {
            assert!(full.join(format!("{f}.{ext}")).exists(), "{f}.{ext}");
        }
    }
    // Resume finds everything done.
    let o = scalelab(&[
        "--db",
        p(&db),
        "sweep",
        p(&s),
        "--out",
        p(&full),
        "--resume",
    ]);
    assert!(stdout(&o).contains("12 runs, 0 to do"), "{}", stdout(&o));

    // Two shards into their own databases, merged: the same result.
    let sharded = dir.path("sharded");
    for k in ["1/2", "2/2"] {
        let db = dir.path(&format!("shard{}.db", &k[..1]));
        let o = scalelab(&[
            "--db",
            p(&db),
            "sweep",
            p(&s),
            "--out",
            p(&sharded),
            "--shard",
            k,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let merged = dir.path("merged");
    let o = scalelab(&[
        "merge",
        p(&s),
        p(&sharded.join("runs-shard-1-of-2.parquet")),
        p(&sharded.join("runs-shard-2-of-2.parquet")),
        "--out",
        p(&merged),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["runs.csv", "configs.csv", "scenarios.csv"] {
        assert_eq!(
            std::fs::read_to_string(full.join(f)).unwrap(),
            std::fs::read_to_string(merged.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

/// Run `scalelab --db DB sweep SPEC --out OUT --shard K/N [extra]`.
fn shard(
    dir: &TempDir,
    s: &std::path::Path,
    out: &std::path::Path,
    k: &str,
) -> std::process::Output {
    let db = dir.path(&format!("shard-{}.db", k.replace('/', "-")));
    scalelab(&["--db", p(&db), "sweep", p(s), "--out", p(out), "--shard", k])
}

#[test]
fn a_killed_shard_resumes_and_merge_refuses_incomplete_or_foreign_sets() {
    let dir = TempDir::new("shards");
    let s = spec(&dir);
    let full = dir.path("full");
    let o = scalelab(&[
        "--db",
        p(&dir.path("full.db")),
        "sweep",
        p(&s),
        "--out",
        p(&full),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let res = dir.path("res");
    for k in ["1/3", "3/3"] {
        let o = shard(&dir, &s, &res, k);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    // Shard 2 is "killed" after its runs are journaled: its output cannot be written
    // (a directory stands where the temporary file goes), so it fails, keeping the
    // journal and leaving no shard file.
    let blocker = res.join("runs-shard-2-of-3.parquet.tmp");
    std::fs::create_dir_all(&blocker).unwrap();
    let o = shard(&dir, &s, &res, "2/3");
    assert!(!o.status.success());
    let journal = res.join("runs-shard-2-of-3.progress.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 3, "header and every run: {text}");
    assert!(!res.join("runs-shard-2-of-3.parquet").exists());
    // The kill came in the middle of writing the third run: two whole runs and a torn
    // line are left.
    let torn = format!(
        "{}\n{}\n{}\n{}",
        lines[0],
        lines[1],
        lines[2],
        &lines[3][..lines[3].len() / 2]
    );
    std::fs::write(&journal, torn).unwrap();
    std::fs::remove_dir(&blocker).unwrap();

    // Merging now is refused before anything is written: shard 2 is missing.
    let merged = dir.path("merged");
    let shards = |ks: &[u32]| -> Vec<String> {
        ks.iter()
            .map(|k| p(&res.join(format!("runs-shard-{k}-of-3.parquet"))).to_string())
            .collect()
    };
    let merge = |files: &[String]| {
        let mut args = vec!["merge", p(&s)];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--out", p(&merged)]);
        scalelab(&args)
    };
    let o = merge(&shards(&[1, 3]));
    assert_one_line_error(&o, &["shard(s) 2 of 3 missing"]);
    assert!(!merged.exists(), "a refused merge writes nothing");

    // Resubmitted: it keeps the two finished runs and runs the rest.
    let o = shard(&dir, &s, &res, "2/3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("resuming with 2 finished runs"), "{out}");
    assert!(
        !journal.exists(),
        "the journal goes once the shard file is written"
    );
    // Submitted once more, a finished shard does nothing.
    let o = shard(&dir, &s, &res, "2/3");
    assert!(stdout(&o).contains("already complete"), "{}", stdout(&o));

    // A duplicated shard, and a shard of another sweep, are named.
    let o = merge(&shards(&[1, 2, 3, 2]));
    assert_one_line_error(&o, &["runs-shard-2-of-3.parquet", "given twice"]);
    let other = dir.write(
        "other.toml",
        &std::fs::read_to_string(&s)
            .unwrap()
            .replace("seeds = [1, 2]", "seeds = [1, 3]"),
    );
    let ores = dir.path("ores");
    let o = shard(&dir, &other, &ores, "1/3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut mixed = shards(&[2, 3]);
    mixed.push(p(&ores.join("runs-shard-1-of-3.parquet")).to_string());
    let o = merge(&mixed);
    assert_one_line_error(&o, &["ores", "runs-shard-1-of-3.parquet", "another sweep"]);
    let o = merge(&[p(&full.join("runs.parquet")).to_string()]);
    assert_one_line_error(&o, &["runs.parquet", "not a scalelab sweep shard"]);
    assert!(!merged.exists());

    // The complete set merges into exactly the unsharded result.
    let o = merge(&shards(&[3, 1, 2]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["runs", "configs", "scenarios"] {
        for ext in ["csv", "parquet"] {
            let name = format!("{f}.{ext}");
            assert_eq!(
                std::fs::read(full.join(&name)).unwrap(),
                std::fs::read(merged.join(&name)).unwrap(),
                "{name} differs"
            );
        }
    }
}

#[test]
fn plan_shards_splits_every_run_and_suggests_a_time_limit() {
    let dir = TempDir::new("planshards");
    let s = spec(&dir);
    let o = scalelab(&["sweep", p(&s), "--plan-shards", "3", "--threads", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("12 runs in 3 shards"), "{out}");
    let runs: usize = out
        .lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(runs, 12, "{out}");
    assert!(out.contains("sbatch --time=00:01:00"), "{out}");
}

#[test]
fn sweep_errors_are_one_line() {
    let dir = TempDir::new("sweeperr");
    let bad = dir.write("bad.toml", "name = \"x\"\nscenarios = [\"none.toml\"]\n");
    let o = scalelab(&["sweep", p(&bad)]);
    assert_one_line_error(&o, &["bad.toml", "scenarios[0]", "matches no file"]);
    let s = spec(&dir);
    for bad in ["3/2", "0/4", "5/4", "1/0", "x"] {
        let o = scalelab(&["sweep", p(&s), "--shard", bad]);
        assert_one_line_error(&o, &["--shard", bad]);
    }
    let o = scalelab(&["sweep", p(&s), "--max-runs", "5"]);
    assert_one_line_error(&o, &["s.toml", "12 runs, above the limit of 5"]);
}

#[test]
fn tune_picks_the_config_known_to_be_better_and_compares_with_baselines() {
    // On target-spike-rollback the default thresholds migrate into a load spike and
    // half the migrations roll back; with rollback_rate capped at 0.1 only the config
    // that does not migrate there is feasible.
    let dir = TempDir::new("tune");
    let sc = root().join("scenarios/target-spike-rollback.toml");
    let s = dir.write(
        "tune.toml",
        &format!(
            "name = \"tune\"\nscenarios = [\"{}\"]\n[parameters]\nmigrate_current = {{ values = [0.76, 0.95] }}\n[constraints]\nrollback_rate = {{ max = 0.1 }}\ndata_loss_events = {{ max = 0 }}\n",
            sc.display()
        ),
    );
    let o = scalelab(&["tune", p(&s)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    assert!(text.contains("# tuned: migrate_current = 0.95"), "{text}");
    // The printed policy is a loadable policy TOML with the tuned value.
    let toml: String = text
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .take_while(|l| !l.starts_with("scenario "))
        .collect::<Vec<_>>()
        .join("\n");
    let pol = dir.write("tuned.toml", &toml);
    let o2 = scalelab(&["policy", "--policy", p(&pol)]);
    assert!(
        o2.status.success(),
        "{}",
        String::from_utf8_lossy(&o2.stderr)
    );
    assert!(stdout(&o2).contains("migrate_current = 0.95"));
    for needle in [
        "recommended",
        "defaults",
        "beloglazov_thr",
        "beloglazov_lr",
        "watcher_workload_balance",
        "no_migration",
        "eva MAE fixed",
        "eva MAE model",
        "downtime",
        "rollback (%)",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
}

#[test]
fn ctrl_c_keeps_finished_runs_and_resume_completes_the_sweep() {
    use std::process::{Command, Stdio};
    let dir = TempDir::new("sigint");
    let sc = root().join("scenarios/diurnal-fleet-1000.toml");
    let s = dir.write(
        "slow.toml",
        &format!(
            "name = \"slow\"\nscenarios = [\"{}\"]\nseeds = [1, 2, 3, 4]\n[parameters]\nmigrate_current = {{ values = [0.76, 0.8, 0.85] }}\n",
            sc.display()
        ),
    );
    let db = dir.path("slow.db");
    let out = dir.path("out");
    let child = Command::new(env!("CARGO_BIN_EXE_scalelab"))
        .args([
            "--db",
            p(&db),
            "sweep",
            p(&s),
            "--out",
            p(&out),
            "--threads",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until at least one run is stored, then interrupt.
    let start = std::time::Instant::now();
    loop {
        let stored = rusqlite::Connection::open(&db)
            .ok()
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM sweep_runs", [], |r| {
                    r.get::<_, i64>(0)
                })
                .ok()
            })
            .unwrap_or(0);
        if stored >= 1 {
            break;
        }
        assert!(start.elapsed().as_secs() < 120, "no run finished");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "an interrupted sweep exits non-zero");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("interrupted:") && err.contains("--resume"),
        "{err}"
    );
    let kept: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM sweep_runs", [], |r| r.get(0))
        .unwrap();
    assert!((1..16).contains(&kept), "{kept} runs kept");
    let o = scalelab(&["--db", p(&db), "sweep", p(&s), "--out", p(&out), "--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout(&o).contains(&format!("16 runs, {} to do", 16 - kept)),
        "{}",
        stdout(&o)
    );
    assert!(out.join("configs.parquet").exists());
}

#[test]
fn a_sweep_too_long_for_the_machine_is_refused_before_anything_is_stored() {
    let dir = TempDir::new("longsweep");
    // Each run of this day at 1 s samples with 5,000 VMs is ~5 minutes of simulation;
    // 11,000 of them are weeks of work.
    let base = std::fs::read_to_string(root().join("scenarios/hot-node-relief.toml")).unwrap();
    let big = base
        .replace("count = 4\nvcpus = 4", "count = 5000\nvcpus = 1")
        .replace("memory_mib = 8192", "memory_mib = 16")
        .replace("duration_s = 14400", "duration_s = 86400")
        .replace(
            "control_interval_s = 300\nsample_interval_s = 60",
            "control_interval_s = 10\nsample_interval_s = 1",
        );
    let sc = dir.write("big.toml", &big);
    let s = dir.write(
        "s.toml",
        &format!(
            "name = \"long\"\nscenarios = [\"{}\"]\nseeds = [{}]\n[parameters]\nmigrate_current = {{ range = [0.75, 0.95], step = 0.02 }}\n",
            sc.display(),
            (1..=1000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        ),
    );
    let db = dir.path("s.db");
    let o = scalelab(&["--db", p(&db), "sweep", p(&s), "--threads", "2"]);
    assert_one_line_error(
        &o,
        &["runs need an estimated", "--shard", "--no-resource-limits"],
    );
    assert!(!db.exists(), "nothing was stored for a refused sweep");
}
