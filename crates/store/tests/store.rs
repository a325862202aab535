//! The store: legacy upgrade, refusal of newer schemas and non-databases, round trips,
//! concurrency, and faults.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::Connection;
use scalelab_engine::plan::MigrationPlan;
use scalelab_engine::{ResourceType, ScalingAction, ScalingDecision};
use scalelab_store::{HistoryQuery, LEGACY_DDL, SCHEMA_VERSION, Store, StoreError};

struct Dir(PathBuf);
impl Dir {
    fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("scalelab-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
    fn db(&self) -> PathBuf {
        self.0.join("t.db")
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn decision(i: usize, plan: Option<MigrationPlan>) -> ScalingDecision {
    ScalingDecision {
        vm_id: format!("vm-{}", i % 7),
        resource_type: ResourceType::ALL[i % 4],
        action: if plan.is_some() {
            ScalingAction::Migrate
        } else {
            ScalingAction::ALL[i % 6]
        },
        current_value: 0.5 + (i % 10) as f64 / 100.0,
        target_value: 0.25,
        confidence: 0.9,
        reasoning: format!("because {i}"),
        timestamp_ms: 1_700_000_000_000 + i as i64 * 1000,
        target_node_id: plan.as_ref().map(|p| p.target_node_id.clone()),
        migration_plan: plan,
    }
}

fn plan() -> MigrationPlan {
    serde_json::from_str(include_str!("../../engine/tests/fixtures/seed_plan.json")).unwrap()
}

#[test]
fn legacy_database_is_upgraded_in_place_and_every_row_survives() {
    let dir = Dir::new("legacy");
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute_batch(LEGACY_DDL).unwrap();
    let n = 500;
    for i in 0..n {
        conn.execute(
            "INSERT INTO scaling_history (vm_id, resource_type, action, current_value,
             target_value, confidence, reasoning, timestamp_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            rusqlite::params![
                format!("legacy-{i}"),
                "cpu",
                "scale_up",
                i as f64 / n as f64,
                1.5,
                0.7,
                format!("old row {i}"),
                i as i64
            ],
        )
        .unwrap();
    }
    drop(conn);
    let store = Store::open(&dir.db()).unwrap();
    assert_eq!(store.user_version().unwrap(), SCHEMA_VERSION);
    let rows = store.history(&HistoryQuery::default()).unwrap();
    assert_eq!(rows.len(), n);
    for r in &rows {
        let i: usize = r
            .decision
            .vm_id
            .trim_start_matches("legacy-")
            .parse()
            .unwrap();
        assert_eq!(r.decision.current_value, i as f64 / n as f64);
        assert_eq!(r.decision.reasoning, format!("old row {i}"));
        assert_eq!(r.decision.timestamp_ms, i as i64);
        assert_eq!(r.decision.action, ScalingAction::ScaleUp);
        assert_eq!(r.decision.target_node_id, None);
        assert_eq!(r.decision.migration_plan, None);
    }
    // New rows with plans go in next to the old ones.
    drop(store);
    let mut store = Store::open(&dir.db()).unwrap();
    store
        .insert_decisions(&[decision(1, Some(plan()))])
        .unwrap();
    assert_eq!(store.count_decisions().unwrap(), n as i64 + 1);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn a_database_with_the_seeds_alter_table_applied_is_recognized() {
    let dir = Dir::new("seedalter");
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute_batch(LEGACY_DDL).unwrap();
    conn.execute_batch(
        "ALTER TABLE scaling_history ADD COLUMN target_node_id TEXT;
         ALTER TABLE scaling_history ADD COLUMN migration_plan TEXT;
         INSERT INTO scaling_history (vm_id, resource_type, action, current_value, target_value,
           confidence, reasoning, timestamp_ms, target_node_id) VALUES
           ('v', 'cpu', 'migrate', 0.8, 0.56, 0.9, 'r', 5, 'node-02');",
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&dir.db()).unwrap();
    let rows = store.history(&HistoryQuery::default()).unwrap();
    assert_eq!(rows[0].decision.target_node_id.as_deref(), Some("node-02"));
    assert_eq!(store.user_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = Dir::new("newer");
    drop(Store::open(&dir.db()).unwrap());
    let conn = Connection::open(dir.db()).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let before = std::fs::read(dir.db()).unwrap();
    let err = Store::open(&dir.db()).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("t.db"));
    assert_eq!(std::fs::read(dir.db()).unwrap(), before);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = Dir::new("garbage");
    let junk = b"this is a text file, not a database at all, and it is long enough".repeat(100);
    std::fs::write(dir.db(), &junk).unwrap();
    let err = Store::open(&dir.db()).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{}: not a SQLite database", dir.db().display())
    );
    assert_eq!(std::fs::read(dir.db()).unwrap(), junk);
}

#[test]
fn decisions_round_trip_with_and_without_plans_and_filter() {
    let dir = Dir::new("roundtrip");
    let mut store = Store::open(&dir.db()).unwrap();
    let mut ds: Vec<_> = (0..60).map(|i| decision(i, None)).collect();
    ds.push(decision(100, Some(plan())));
    store.insert_decisions(&ds).unwrap();
    let all = store.history(&HistoryQuery::default()).unwrap();
    assert_eq!(all.len(), ds.len());
    // Newest first; every decision comes back equal.
    let mut back: Vec<_> = all.iter().map(|r| r.decision.clone()).collect();
    back.reverse();
    assert_eq!(back, ds);
    let migrates = store
        .history(&HistoryQuery {
            action: Some(ScalingAction::Migrate),
            ..Default::default()
        })
        .unwrap();
    assert!(
        migrates
            .iter()
            .all(|r| r.decision.action == ScalingAction::Migrate)
    );
    assert_eq!(
        migrates
            .iter()
            .filter(|r| r.decision.migration_plan.is_some())
            .count(),
        1
    );
    let vm = store
        .history(&HistoryQuery {
            vm_id: Some("vm-3".into()),
            since_ms: Some(1_700_000_000_000 + 30_000),
            limit: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(vm.len(), 2);
    assert!(vm.iter().all(|r| r.decision.vm_id == "vm-3"));
    assert!(vm[0].decision.timestamp_ms >= vm[1].decision.timestamp_ms);
}

#[test]
fn large_batches_of_plans_round_trip_in_order() {
    // Above the size where plans are serialized on a second thread, across chunks.
    let dir = Dir::new("bigbatch");
    let mut store = Store::open(&dir.db()).unwrap();
    let mut p = plan();
    let ds: Vec<_> = (0..1500)
        .map(|i| {
            // Every third decision has a plan, each one different.
            if i % 3 == 0 {
                p.source_vm_id = format!("vm-{i}");
                decision(i, Some(p.clone()))
            } else {
                decision(i, None)
            }
        })
        .collect();
    store.insert_decisions(&ds).unwrap();
    let mut back: Vec<_> = store
        .history(&HistoryQuery::default())
        .unwrap()
        .into_iter()
        .map(|r| r.decision)
        .collect();
    back.reverse();
    assert_eq!(back, ds);
}

#[test]
fn readers_are_not_blocked_by_a_writer() {
    let dir = Dir::new("concurrent");
    let mut store = Store::open(&dir.db()).unwrap();
    store.insert_decisions(&[decision(0, None)]).unwrap();
    // A second connection writes inside an open transaction...
    let writer = Connection::open(dir.db()).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    writer
        .execute(
            "INSERT INTO scaling_history (vm_id, resource_type, action, current_value,
             target_value, confidence, reasoning, timestamp_ms) VALUES ('w','cpu','no_action',0,0,0,'',1)",
            [],
        )
        .unwrap();
    // ...while a reader reads the committed state at once.
    let reader = Store::open_read_only(&dir.db()).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(reader.count_decisions().unwrap(), 1);
    assert!(t.elapsed() < Duration::from_secs(1));
    // A second writer waits, then fails with a clear "locked" error.
    store.set_busy_timeout(Duration::from_millis(200)).unwrap();
    let err = store.insert_decisions(&[decision(1, None)]).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    writer.execute_batch("COMMIT").unwrap();
    assert_eq!(reader.count_decisions().unwrap(), 2);
    // Nothing of the failed batch is there; the retry works.
    store.insert_decisions(&[decision(1, None)]).unwrap();
    assert_eq!(store.count_decisions().unwrap(), 3);
}

#[test]
fn read_only_and_full_disk_errors_keep_the_data() {
    let dir = Dir::new("faults");
    let mut store = Store::open(&dir.db()).unwrap();
    store.insert_decisions(&[decision(0, None)]).unwrap();
    drop(store);
    let mut ro = Store::open_read_only(&dir.db()).unwrap();
    let err = ro.insert_decisions(&[decision(1, None)]).unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("read-only"));
    drop(ro);

    let mut store = Store::open(&dir.db()).unwrap();
    let pages: i64 = 64;
    store.set_max_page_count(pages).unwrap();
    let big: Vec<_> = (0..5000).map(|i| decision(i, Some(plan()))).collect();
    let err = store.insert_decisions(&big).unwrap_err();
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err}");
    // The failed batch left nothing behind; the old row is intact.
    assert_eq!(store.count_decisions().unwrap(), 1);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn timestamps_format_and_parse() {
    use scalelab_store::{parse_rfc3339_utc, rfc3339_utc};
    assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339_utc(1_764_201_600_000), "2025-11-27T00:00:00Z");
    for ms in [0i64, 951_782_400_000, 1_764_208_123_000, 4_102_444_800_000] {
        assert_eq!(parse_rfc3339_utc(&rfc3339_utc(ms)), Some(ms));
    }
    assert_eq!(parse_rfc3339_utc("2026-02-30x"), None);
    assert_eq!(parse_rfc3339_utc("2026-11-27"), Some(1_795_737_600_000));
}

#[test]
fn processes_opening_a_new_database_at_once_do_not_collide() {
    let dir = Dir::new("race");
    let db = dir.db();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut s = Store::open(&db).expect("open");
                s.insert_decisions(&[decision(i, None)]).expect("insert");
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let s = Store::open(&db).unwrap();
    assert_eq!(s.count_decisions().unwrap(), 8);
    assert_eq!(s.user_version().unwrap(), SCHEMA_VERSION);
}
