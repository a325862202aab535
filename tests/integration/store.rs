use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;

use crate::util::{TempDir, assert_one_line_error, bin, p, scalelab, stdout};

#[test]
fn run_and_decide_write_the_store_and_history_and_runs_read_it() {
    let dir = TempDir::new("storecli");
    let db = dir.path("s.db");
    let db = p(&db);
    let out = dir.path("r.json");
    let o = scalelab(&[
        "--db",
        db,
        "run",
        "scenarios/hot-node-relief.toml",
        "-o",
        p(&out),
    ]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("stored as run 1"));
    let o = scalelab(&[
        "--db",
        db,
        "decide",
        "--input",
        "examples/decide-input.json",
        "--record",
    ]);
    assert!(o.status.success());

    let o = scalelab(&["--db", db, "runs", "list"]);
    let text = stdout(&o);
    assert!(text.contains("hot-node-relief"), "{text}");
    let o = scalelab(&["--db", db, "runs", "list", "--json"]);
    let runs: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["metrics"]["migrations"], 1);

    let o = scalelab(&["--db", db, "runs", "show", "1"]);
    let text = stdout(&o);
    for needle in [
        "scenario hot-node-relief",
        "EXPECTED",
        "ACTUAL",
        "node-0 ->",
        "4/4 criteria passed",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    let o = scalelab(&["--db", db, "runs", "show", "7"]);
    assert_one_line_error(&o, &["s.db", "no run with id 7"]);

    let o = scalelab(&["--db", db, "history", "--action", "migrate", "--json"]);
    let rows: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["action"] == "migrate" && r["migration_plan"].is_object())
    );
    let o = scalelab(&["--db", db, "history", "--vm", "vm-001", "--limit", "1"]);
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("vm-001"));
    let o = scalelab(&["--db", db, "history", "--since", "2100-01-01"]);
    assert!(stdout(&o).contains("(no decisions match)"));
    let o = scalelab(&["--db", db, "history", "--action", "teleport"]);
    assert_one_line_error(&o, &["--action", "teleport"]);
}

#[test]
fn bad_databases_are_one_line_errors_and_stay_untouched() {
    let dir = TempDir::new("baddb");
    let junk = dir.write("junk.db", &"not sqlite at all ".repeat(300));
    let before = std::fs::read(&junk).unwrap();
    let o = scalelab(&[
        "--db",
        p(&junk),
        "run",
        "scenarios/hot-node-relief.toml",
        "-o",
        p(&dir.path("r.json")),
    ]);
    assert_one_line_error(&o, &["junk.db", "not a SQLite database"]);
    assert_eq!(std::fs::read(&junk).unwrap(), before);
    // Refused before simulating: no record was written.
    assert!(!dir.path("r.json").exists());

    let newer = dir.path("newer.db");
    let c = rusqlite::Connection::open(&newer).unwrap();
    c.pragma_update(None, "user_version", 42).unwrap();
    drop(c);
    let o = scalelab(&["--db", p(&newer), "history"]);
    assert_one_line_error(&o, &["newer.db", "schema version 42 is newer"]);

    let o = scalelab(&["--db", p(&dir.path("missing.db")), "runs", "list"]);
    assert_one_line_error(&o, &["missing.db", "no such database"]);
    assert!(!dir.path("missing.db").exists());
}

#[test]
fn the_env_variable_chooses_the_database() {
    let dir = TempDir::new("envdb");
    let db = dir.path("env.db");
    let o = bin()
        .args([
            "decide",
            "--input",
            "examples/decide-input.json",
            "--record",
        ])
        .env("SCALELAB_DB", &db)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(db.exists());
}

#[test]
fn a_writer_killed_mid_batch_leaves_only_whole_batches() {
    let dir = TempDir::new("kill");
    let db = dir.path("k.db");
    let batch_size = 2000;
    let mut child = bin()
        .args([
            "--db",
            p(&db),
            "debug-insert-batches",
            "--batches",
            "100000",
        ])
        .args(["--batch-size", &batch_size.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed = 0;
    while committed < 5 {
        let line = lines.next().expect("the writer reports commits").unwrap();
        assert!(line.starts_with("committed batch"));
        committed += 1;
    }
    // SIGKILL while it is somewhere inside the next batches.
    child.kill().unwrap();
    child.wait().unwrap();

    let store = scalelab_store::Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let c = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = c
        .prepare("SELECT vm_id, count(*) FROM scaling_history GROUP BY vm_id ORDER BY vm_id")
        .unwrap();
    let groups: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        groups.len() >= 5,
        "every reported batch is there: {}",
        groups.len()
    );
    for (batch, n) in &groups {
        assert_eq!(*n, batch_size, "{batch} is partial");
    }
    // Batches are numbered without gaps: no committed batch went missing.
    let mut ids: Vec<u32> = groups
        .iter()
        .map(|(b, _)| b.trim_start_matches("batch-").parse().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..ids.len() as u32).collect::<Vec<_>>());
}
