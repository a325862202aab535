//! scalelab-store: the embedded SQLite store (bundled SQLite, no server).
//!
//! # Schema and upgrades
//!
//! The schema is versioned with `PRAGMA user_version` and upgraded by ordered
//! migrations, each in its own transaction:
//!
//! 1. the legacy `scaling_history` table, as the seed's engine created it (no
//!    migration columns); a database with that table and `user_version = 0` is a
//!    version-1 database;
//! 2. the seed's upgrade: `ALTER TABLE scaling_history ADD COLUMN target_node_id TEXT`
//!    and `ADD COLUMN migration_plan TEXT` (the plan's JSON), plus indexes by VM and
//!    by time; old rows read back with `None` for both;
//! 3. simulation runs (`runs`, `run_migrations`) and backtest sweeps (`sweeps`,
//!    `sweep_runs`, `sweep_configs`).
//!
//! A database newer than this binary knows is refused, untouched.
//!
//! # Behaviour
//!
//! WAL journal (readers never wait for a writer), `synchronous = NORMAL` (a crash loses
//! at most the last transactions, never consistency), a busy timeout for concurrent
//! writers, and every batch of writes in one transaction, so a killed writer leaves
//! only whole batches. Errors name the file and say what is wrong.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use scalelab_engine::plan::MigrationPlan;
use scalelab_engine::{ResourceType, ScalingAction, ScalingDecision};
use scalelab_sim::record::RunRecord;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 3;

/// The legacy DDL, kept verbatim: tests build a legacy database from it, and version 1
/// is defined by it.
pub const LEGACY_DDL: &str = "CREATE TABLE scaling_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vm_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    action TEXT NOT NULL,
    current_value REAL NOT NULL,
    target_value REAL NOT NULL,
    confidence REAL NOT NULL,
    reasoning TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL
)";

const MIGRATION_2: &str = "
ALTER TABLE scaling_history ADD COLUMN target_node_id TEXT;
ALTER TABLE scaling_history ADD COLUMN migration_plan TEXT;
CREATE INDEX IF NOT EXISTS scaling_history_vm_time ON scaling_history (vm_id, timestamp_ms);
CREATE INDEX IF NOT EXISTS scaling_history_time ON scaling_history (timestamp_ms);
";

const MIGRATION_3: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scenario_name TEXT NOT NULL,
    scenario_hash TEXT NOT NULL,
    seed INTEGER NOT NULL,
    policy TEXT NOT NULL,
    scalelab_version TEXT NOT NULL,
    started_at TEXT NOT NULL,
    metrics TEXT NOT NULL,
    record_path TEXT,
    record TEXT
);
CREATE TABLE run_migrations (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    migration_id INTEGER NOT NULL,
    vm_id TEXT NOT NULL,
    source_node TEXT NOT NULL,
    target_node TEXT NOT NULL,
    outcome TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER,
    downtime_ms INTEGER NOT NULL,
    expected_utilization REAL NOT NULL,
    actual_utilization REAL,
    rollback_reason TEXT,
    criteria TEXT NOT NULL,
    PRIMARY KEY (run_id, migration_id)
);
CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE sweep_runs (
    sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    run_key TEXT NOT NULL,
    config_id INTEGER NOT NULL,
    scenario TEXT NOT NULL,
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (sweep_id, run_key)
);
CREATE TABLE sweep_configs (
    sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    config_id INTEGER NOT NULL,
    config TEXT NOT NULL,
    aggregates TEXT NOT NULL,
    PRIMARY KEY (sweep_id, config_id)
);
";

/// Batches with fewer plans than this serialize them inline (a thread is not worth it).
const PIPELINE_MIN_PLANS: usize = 256;
/// Decisions per chunk handed from the serializing thread to the writer.
const PIPELINE_CHUNK: usize = 512;

/// The decision's plan as JSON, written into `buf` (reused between decisions).
/// The plans of `chunk` as JSON, one after another, and where each ends (a decision
/// without a plan adds nothing). One buffer per chunk, checked as UTF-8 once.
fn plan_texts(chunk: &[ScalingDecision]) -> (String, Vec<usize>) {
    let plans = chunk.iter().filter(|d| d.migration_plan.is_some()).count();
    let mut text = Vec::with_capacity(plans * 2048);
    let mut ends = Vec::with_capacity(chunk.len());
    for d in chunk {
        if let Some(p) = &d.migration_plan {
            p.write_json(&mut text);
        }
        ends.push(text.len());
    }
    (String::from_utf8(text).expect("JSON is UTF-8"), ends)
}

/// Rows per multi-row INSERT statement. The statement is `INSERT OR FAIL`: a plain
/// multi-row INSERT keeps a statement journal so that it could undo its own earlier rows
/// on a constraint error, copying every page it touches (32-64 KiB each) a second
/// time, which made groups slower than single rows. FAIL leaves that undo to the enclosing
/// transaction, which `insert_decisions` rolls back on any error: all or none still.
const INSERT_GROUP: usize = 8;

const INSERT_COLUMNS: usize = 10;

/// `INSERT ... VALUES (?1, ..., ?10), (?11, ...)` for `rows` rows.
fn insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=INSERT_COLUMNS)
                .map(|c| format!("?{}", r * INSERT_COLUMNS + c))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT OR FAIL INTO scaling_history (vm_id, resource_type, action, current_value, \
         target_value, confidence, reasoning, timestamp_ms, target_node_id, migration_plan) \
         VALUES {}",
        values.join(", ")
    )
}

fn bind_rows(
    stmt: &mut rusqlite::CachedStatement<'_>,
    rows: &[(&ScalingDecision, Option<&str>)],
) -> rusqlite::Result<()> {
    for (r, (d, plan)) in rows.iter().enumerate() {
        let at = r * INSERT_COLUMNS;
        stmt.raw_bind_parameter(at + 1, &d.vm_id)?;
        stmt.raw_bind_parameter(at + 2, d.resource_type.as_str())?;
        stmt.raw_bind_parameter(at + 3, d.action.as_str())?;
        stmt.raw_bind_parameter(at + 4, d.current_value)?;
        stmt.raw_bind_parameter(at + 5, d.target_value)?;
        stmt.raw_bind_parameter(at + 6, d.confidence)?;
        stmt.raw_bind_parameter(at + 7, &d.reasoning)?;
        stmt.raw_bind_parameter(at + 8, d.timestamp_ms)?;
        stmt.raw_bind_parameter(at + 9, &d.target_node_id)?;
        stmt.raw_bind_parameter(at + 10, plan)?;
    }
    Ok(())
}

/// Run records larger than this are stored by path only.
pub const MAX_INLINE_RECORD_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: not a SQLite database")]
    NotADatabase { path: PathBuf },
    #[error(
        "{path}: schema version {found} is newer than this scalelab knows ({known}); use a newer scalelab"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{path}: database is locked by another writer (tried for {waited_ms} ms)")]
    Locked { path: PathBuf, waited_ms: u64 },
    #[error("{path}: database is read-only")]
    ReadOnly { path: PathBuf },
    #[error("{path}: disk full")]
    DiskFull { path: PathBuf },
    #[error("{path}: cannot open: {detail}")]
    CannotOpen { path: PathBuf, detail: String },
    #[error("{path}: {what}: {detail}")]
    Corrupt {
        path: PathBuf,
        what: String,
        detail: String,
    },
    #[error("{path}: {context}: {source}")]
    Sqlite {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: no run with id {id}")]
    NoSuchRun { path: PathBuf, id: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How long a writer waits for another writer's lock.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// A stored decision with its row id.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDecision {
    pub id: i64,
    pub decision: ScalingDecision,
}

/// Filters for [`Store::history`].
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub vm_id: Option<String>,
    pub action: Option<ScalingAction>,
    pub since_ms: Option<i64>,
    pub limit: Option<u32>,
}

/// One row of `runs`, without the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub scenario_name: String,
    pub scenario_hash: String,
    pub seed: u64,
    pub scalelab_version: String,
    pub started_at: String,
    pub metrics: scalelab_sim::record::RunMetrics,
    pub record_path: Option<String>,
}

/// One row of `run_migrations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMigration {
    pub migration_id: u32,
    pub vm_id: String,
    pub source_node: String,
    pub target_node: String,
    pub outcome: String,
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    pub downtime_ms: u64,
    pub expected_utilization: f64,
    pub actual_utilization: Option<f64>,
    pub rollback_reason: Option<String>,
    pub criteria: serde_json::Value,
}

/// One finished (config, scenario, seed) run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRunRow {
    pub run_key: String,
    pub config_id: u32,
    pub scenario: String,
    pub seed: u64,
    pub config: serde_json::Value,
    pub metrics: serde_json::Value,
}

#[derive(Debug)]
pub struct Store {
    // Dropped before `conn`: the checkpoint thread finishes first, then closing the
    // last connection folds the rest of the WAL into the database.
    checkpointer: Option<Checkpointer>,
    conn: Connection,
    path: PathBuf,
}

/// Copies the WAL into the database file on a second thread, woken after each commit,
/// so a writer of thousands of plans never stops to checkpoint: that copy (reading the
/// WAL back, writing the pages again) was a third of the insert time on one thread.
/// PASSIVE checkpoints never block the writer or readers and never lose data.
#[derive(Debug)]
struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Option<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        conn.busy_timeout(BUSY_TIMEOUT).ok()?;
        let (wake, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("scalelab-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(Self {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    fn poke(&self) {
        if let Some(w) = &self.wake {
            // A wake-up already pending covers this commit too.
            let _ = w.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Store {
    /// Open (creating if needed) and upgrade the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, false)
    }

    /// Open an existing database for reading only: no upgrade, no writes.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        Self::open_with(path, true)
    }

    fn open_with(path: &Path, read_only: bool) -> Result<Self> {
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| StoreError::CannotOpen {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        let mut store = Self {
            checkpointer: None,
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| store.err("setting the busy timeout", e))?;
        // Reading the version is the first real access: a file that is not a
        // database fails here, before anything is written to it.
        let version = store.user_version()?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: store.path.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if !read_only {
            if version == 0 && !store.has_table("scaling_history")? {
                // A new database: large pages mean far fewer write calls for rows that
                // carry a 1.5 KB plan (SQLite's largest, 64 KiB, measured ~5 % faster
                // than 32 KiB once rows go in groups). Only possible before the first
                // table exists.
                store
                    .conn
                    .pragma_update(None, "page_size", 65_536)
                    .map_err(|e| store.err("setting the page size", e))?;
            }
            store.enable_wal()?;
            store
                .conn
                .pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| store.err("setting synchronous", e))?;
            store
                .conn
                .pragma_update(None, "foreign_keys", "ON")
                .map_err(|e| store.err("enabling foreign keys", e))?;
            // Batches of thousands of plans: a 64 MiB page cache keeps the indexes in
            // memory, reads go through mmap instead of read calls, and checkpointing
            // every 64 MiB of WAL keeps fsyncs rare (WAL checkpoints never lose
            // committed data).
            store
                .conn
                .pragma_update(None, "cache_size", -65_536)
                .map_err(|e| store.err("setting the cache size", e))?;
            store
                .conn
                .pragma_update(None, "mmap_size", 268_435_456)
                .map_err(|e| store.err("setting mmap", e))?;
            store.migrate()?;
            // Checkpoints on a second thread when one can be started; else every 64
            // MiB of WAL on this one.
            store.checkpointer = Checkpointer::start(path);
            let pages = if store.checkpointer.is_some() {
                0
            } else {
                let page_bytes: i64 = store
                    .conn
                    .query_row("PRAGMA page_size", [], |r| r.get(0))
                    .map_err(|e| store.err("reading the page size", e))?;
                (64 << 20) / page_bytes.max(512)
            };
            store
                .conn
                .pragma_update(None, "wal_autocheckpoint", pages)
                .map_err(|e| store.err("setting the checkpoint interval", e))?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// WAL is a property of the file: set once, at creation. Switching needs the
    /// database to itself, and SQLite answers "busy" at once (no busy handler) when
    /// another process is creating the same new database, so retry for a while.
    fn enable_wal(&self) -> Result<()> {
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            let mode: std::result::Result<String, _> =
                self.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0));
            let result = match mode {
                Ok(m) if m.eq_ignore_ascii_case("wal") => return Ok(()),
                Ok(_) => self
                    .conn
                    .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => continue,
                Err(e) => {
                    let busy = matches!(
                        &e,
                        rusqlite::Error::SqliteFailure(f, _)
                            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    );
                    if !busy || std::time::Instant::now() >= deadline {
                        return Err(self.err("enabling WAL", e));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// How long a write waits for another writer before failing with
    /// [`StoreError::Locked`] (default 5 s).
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<()> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| self.err("setting the busy timeout", e))
    }

    /// Cap the database size in pages (tests use it to simulate a full disk).
    pub fn set_max_page_count(&self, pages: i64) -> Result<()> {
        self.conn
            .pragma_update(None, "max_page_count", pages)
            .map_err(|e| self.err("setting max_page_count", e))
    }

    /// Map SQLite failures to the errors users can act on.
    fn err(&self, context: &'static str, e: rusqlite::Error) -> StoreError {
        map_err(&self.path, context, e)
    }

    pub fn user_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err("reading the schema version", e))
    }

    fn has_table(&self, name: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err("reading the schema", e))
    }

    fn has_column(&self, table: &str, column: &str) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .map_err(|e| self.err("reading the schema", e))?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .map_err(|e| self.err("reading the schema", e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err("reading the schema", e))?;
        Ok(names.iter().any(|n| n == column))
    }

    /// The schema version, reading a legacy database (no `user_version`) as 1 or 2.
    fn effective_version(&self) -> Result<i64> {
        let version = self.user_version()?;
        if version == 0 && self.has_table("scaling_history")? {
            // Created by the legacy engine, which never set user_version. It may
            // already carry the seed's ALTER TABLE columns.
            return Ok(if self.has_column("scaling_history", "migration_plan")? {
                2
            } else {
                1
            });
        }
        Ok(version)
    }

    /// Bring the schema to [`SCHEMA_VERSION`], one transaction per step. Each step
    /// takes the write lock first (`BEGIN IMMEDIATE`) and re-reads the version under
    /// it, so two processes opening a new database at once do not both upgrade it.
    fn migrate(&self) -> Result<()> {
        let steps: [(i64, &str); 3] = [(1, LEGACY_DDL), (2, MIGRATION_2), (3, MIGRATION_3)];
        for (to, sql) in steps {
            if self.effective_version()? >= to {
                continue;
            }
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| self.err("starting a schema upgrade", e))?;
            let step = (|| {
                if self.effective_version()? >= to {
                    return Ok(());
                }
                self.conn
                    .execute_batch(sql)
                    .map_err(|e| self.err("upgrading the schema", e))?;
                self.conn
                    .pragma_update(None, "user_version", to)
                    .map_err(|e| self.err("upgrading the schema", e))
            })();
            match step {
                Ok(()) => self
                    .conn
                    .execute_batch("COMMIT")
                    .map_err(|e| self.err("committing a schema upgrade", e))?,
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    // ---- scaling history -----------------------------------------------------------------

    /// Insert decisions in one transaction: all or none.
    pub fn insert_decisions(&mut self, decisions: &[ScalingDecision]) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| map_err(&path, "starting a write", e))?;
        {
            let prepare = |rows| {
                tx.prepare_cached(&insert_sql(rows))
                    .map_err(|e| map_err(&path, "preparing an insert", e))
            };
            let (mut one, mut group) = (prepare(1)?, prepare(INSERT_GROUP)?);
            // Rows go in INSERT_GROUP to a statement: a statement's own cost (its start,
            // its cursors, the AUTOINCREMENT counter written back at its end) is then
            // paid once per group instead of once per row.
            let mut insert = |chunk: &[ScalingDecision], text: &str, ends: &[usize]| {
                let mut start = 0;
                let rows: Vec<(&ScalingDecision, Option<&str>)> = chunk
                    .iter()
                    .zip(ends)
                    .map(|(d, &end)| {
                        let plan = d.migration_plan.as_ref().map(|_| &text[start..end]);
                        start = end;
                        (d, plan)
                    })
                    .collect();
                for g in rows.chunks(INSERT_GROUP) {
                    if g.len() == INSERT_GROUP {
                        bind_rows(&mut group, g)
                            .and_then(|()| group.raw_execute())
                            .map_err(|e| map_err(&path, "inserting decisions", e))?;
                    } else {
                        for row in g {
                            bind_rows(&mut one, std::slice::from_ref(row))
                                .and_then(|()| one.raw_execute())
                                .map_err(|e| map_err(&path, "inserting a decision", e))?;
                        }
                    }
                }
                Ok::<(), StoreError>(())
            };
            let plans = decisions
                .iter()
                .filter(|d| d.migration_plan.is_some())
                .count();
            if plans < PIPELINE_MIN_PLANS {
                for chunk in decisions.chunks(PIPELINE_CHUNK) {
                    let (text, ends) = plan_texts(chunk);
                    insert(chunk, &text, &ends)?;
                }
            } else {
                // Writing a plan's JSON costs about half of SQLite's insert of it: do it
                // on a second thread, a chunk ahead, so the two overlap.
                std::thread::scope(|scope| -> Result<()> {
                    let (tx_chunks, rx_chunks) =
                        std::sync::mpsc::sync_channel::<(String, Vec<usize>)>(4);
                    scope.spawn(move || {
                        for chunk in decisions.chunks(PIPELINE_CHUNK) {
                            if tx_chunks.send(plan_texts(chunk)).is_err() {
                                return; // the writer stopped on an error
                            }
                        }
                    });
                    for chunk in decisions.chunks(PIPELINE_CHUNK) {
                        let (text, ends) =
                            rx_chunks.recv().expect("the serializer sends every chunk");
                        insert(chunk, &text, &ends)?;
                    }
                    Ok(())
                })?;
            }
        }
        tx.commit()
            .map_err(|e| map_err(&path, "committing decisions", e))?;
        self.committed();
        Ok(())
    }

    /// After a commit: let the checkpoint thread fold the new WAL frames in.
    fn committed(&self) {
        if let Some(c) = &self.checkpointer {
            c.poke();
        }
    }

    pub fn history(&self, q: &HistoryQuery) -> Result<Vec<StoredDecision>> {
        let mut sql = String::from(
            "SELECT id, vm_id, resource_type, action, current_value, target_value, confidence,
             reasoning, timestamp_ms, target_node_id, migration_plan FROM scaling_history
             WHERE 1 = 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(vm) = &q.vm_id {
            args.push(vm.clone().into());
            sql += &format!(" AND vm_id = ?{}", args.len());
        }
        if let Some(a) = q.action {
            args.push(a.as_str().to_string().into());
            sql += &format!(" AND action = ?{}", args.len());
        }
        if let Some(t) = q.since_ms {
            args.push(t.into());
            sql += &format!(" AND timestamp_ms >= ?{}", args.len());
        }
        sql += " ORDER BY timestamp_ms DESC, id DESC";
        if let Some(n) = q.limit {
            args.push((n as i64).into());
            sql += &format!(" LIMIT ?{}", args.len());
        }
        let mut stmt = self
            .conn
            .prepare(&sql)
            .map_err(|e| self.err("querying history", e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, f64>(5)?,
                    r.get::<_, f64>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ))
            })
            .map_err(|e| self.err("querying history", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, vm, res, act, cur, tgt, conf, why, ts, node, plan) =
                row.map_err(|e| self.err("reading history", e))?;
            let corrupt = |what: String, detail: String| StoreError::Corrupt {
                path: self.path.clone(),
                what,
                detail,
            };
            let resource_type: ResourceType = res
                .parse()
                .map_err(|e| corrupt(format!("scaling_history row {id}: resource_type"), e))?;
            let action: ScalingAction = act
                .parse()
                .map_err(|e| corrupt(format!("scaling_history row {id}: action"), e))?;
            let migration_plan = match plan {
                None => None,
                Some(p) => Some(serde_json::from_str::<MigrationPlan>(&p).map_err(|e| {
                    corrupt(
                        format!("scaling_history row {id}: migration_plan"),
                        e.to_string(),
                    )
                })?),
            };
            out.push(StoredDecision {
                id,
                decision: ScalingDecision {
                    vm_id: vm,
                    resource_type,
                    action,
                    current_value: cur,
                    target_value: tgt,
                    confidence: conf,
                    reasoning: why,
                    timestamp_ms: ts,
                    target_node_id: node,
                    migration_plan,
                },
            });
        }
        Ok(out)
    }

    pub fn count_decisions(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT count(*) FROM scaling_history", [], |r| r.get(0))
            .map_err(|e| self.err("counting decisions", e))
    }

    /// `PRAGMA integrity_check`: "ok" or the problems found.
    pub fn integrity_check(&self) -> Result<String> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| self.err("checking integrity", e))?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err("checking integrity", e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err("checking integrity", e))?;
        Ok(lines.join("; "))
    }

    // ---- runs --------------------------------------------------------------------------

    /// Store a run and its migrations in one transaction; returns the run id.
    /// `started_at` is the wall-clock start (RFC 3339), which the record itself does
    /// not carry so that records stay deterministic.
    pub fn insert_run(
        &mut self,
        record: &RunRecord,
        started_at: &str,
        record_path: Option<&str>,
    ) -> Result<i64> {
        let path = self.path.clone();
        let json = serde_json::to_string(record).expect("records serialize");
        let inline = (json.len() <= MAX_INLINE_RECORD_BYTES).then_some(json);
        let tx = self
            .conn
            .transaction()
            .map_err(|e| map_err(&path, "starting a write", e))?;
        tx.execute(
            "INSERT INTO runs (scenario_name, scenario_hash, seed, policy, scalelab_version,
             started_at, metrics, record_path, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                record.scenario.name,
                record.scenario.content_hash,
                record.scenario.seed as i64,
                serde_json::to_string(&record.policy).expect("policies serialize"),
                record.scalelab_version,
                started_at,
                serde_json::to_string(&record.metrics).expect("metrics serialize"),
                record_path,
                inline,
            ],
        )
        .map_err(|e| map_err(&path, "inserting a run", e))?;
        let run_id = tx.last_insert_rowid();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO run_migrations (run_id, migration_id, vm_id, source_node,
                     target_node, outcome, started_ms, ended_ms, downtime_ms,
                     expected_utilization, actual_utilization, rollback_reason, criteria)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(|e| map_err(&path, "preparing an insert", e))?;
            for m in &record.migrations {
                let node = |i: u32| {
                    record
                        .nodes
                        .get(i as usize)
                        .map(|n| n.id.clone())
                        .unwrap_or_default()
                };
                stmt.execute(params![
                    run_id,
                    m.id,
                    m.vm_id,
                    node(m.source),
                    node(m.target),
                    m.outcome.map(|o| o.as_str()).unwrap_or("unknown"),
                    m.started_ms as i64,
                    m.ended_ms.map(|t| t as i64),
                    m.downtime_ms as i64,
                    m.expected_utilization,
                    m.actual_utilization,
                    m.rollback_reason,
                    serde_json::to_string(&m.criteria).expect("criteria serialize"),
                ])
                .map_err(|e| map_err(&path, "inserting a migration", e))?;
            }
        }
        tx.commit()
            .map_err(|e| map_err(&path, "committing a run", e))?;
        self.committed();
        Ok(run_id)
    }

    pub fn list_runs(&self, limit: Option<u32>) -> Result<Vec<RunSummary>> {
        self.runs_where("ORDER BY id DESC LIMIT ?1", limit.map_or(-1, |n| n as i64))
    }

    pub fn run_summary(&self, id: i64) -> Result<RunSummary> {
        self.runs_where("WHERE id = ?1", id)?
            .pop()
            .ok_or_else(|| StoreError::NoSuchRun {
                path: self.path.clone(),
                id,
            })
    }

    /// Run summaries selected by `tail` (a WHERE and/or ORDER BY clause with one
    /// parameter), through one row mapper.
    fn runs_where(&self, tail: &str, param: i64) -> Result<Vec<RunSummary>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, scenario_name, scenario_hash, seed, scalelab_version, started_at,
                 metrics, record_path FROM runs {tail}"
            ))
            .map_err(|e| self.err("listing runs", e))?;
        let rows = stmt
            .query_map([param], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .map_err(|e| self.err("listing runs", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, hash, seed, version, started, metrics, record_path) =
                row.map_err(|e| self.err("reading runs", e))?;
            let metrics = serde_json::from_str(&metrics).map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("runs row {id}: metrics"),
                detail: e.to_string(),
            })?;
            out.push(RunSummary {
                id,
                scenario_name: name,
                scenario_hash: hash,
                seed: seed as u64,
                scalelab_version: version,
                started_at: started,
                metrics,
                record_path,
            });
        }
        Ok(out)
    }

    pub fn run_migrations(&self, run_id: i64) -> Result<Vec<StoredMigration>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT migration_id, vm_id, source_node, target_node, outcome, started_ms,
                 ended_ms, downtime_ms, expected_utilization, actual_utilization,
                 rollback_reason, criteria FROM run_migrations WHERE run_id = ?1
                 ORDER BY migration_id",
            )
            .map_err(|e| self.err("reading migrations", e))?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok(StoredMigration {
                    migration_id: r.get(0)?,
                    vm_id: r.get(1)?,
                    source_node: r.get(2)?,
                    target_node: r.get(3)?,
                    outcome: r.get(4)?,
                    started_ms: r.get::<_, i64>(5)? as u64,
                    ended_ms: r.get::<_, Option<i64>>(6)?.map(|t| t as u64),
                    downtime_ms: r.get::<_, i64>(7)? as u64,
                    expected_utilization: r.get(8)?,
                    actual_utilization: r.get(9)?,
                    rollback_reason: r.get(10)?,
                    criteria: serde_json::from_str(&r.get::<_, String>(11)?)
                        .unwrap_or(serde_json::Value::Null),
                })
            })
            .map_err(|e| self.err("reading migrations", e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err("reading migrations", e))
    }

    /// The full run record: stored inline, or read back from its file by the caller.
    pub fn run_record_json(&self, id: i64) -> Result<Option<String>> {
        let row: Option<Option<String>> = self
            .conn
            .query_row("SELECT record FROM runs WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err("reading a run record", e))?;
        match row {
            None => Err(StoreError::NoSuchRun {
                path: self.path.clone(),
                id,
            }),
            Some(r) => Ok(r),
        }
    }

    // ---- sweeps ------------------------------------------------------------------------

    /// The sweep with this spec hash, created if new; `(id, created)`.
    pub fn sweep(
        &mut self,
        name: &str,
        spec: &str,
        spec_hash: &str,
        created_at: &str,
    ) -> Result<(i64, bool)> {
        let existing: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM sweeps WHERE spec_hash = ?1 ORDER BY id DESC LIMIT 1",
                [spec_hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err("reading sweeps", e))?;
        if let Some(id) = existing {
            return Ok((id, false));
        }
        self.conn
            .execute(
                "INSERT INTO sweeps (name, spec, spec_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, spec, spec_hash, created_at],
            )
            .map_err(|e| self.err("creating a sweep", e))?;
        Ok((self.conn.last_insert_rowid(), true))
    }

    /// Store finished sweep runs in one transaction (re-storing a key replaces it).
    pub fn insert_sweep_runs(&mut self, sweep_id: i64, rows: &[SweepRunRow]) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| map_err(&path, "starting a write", e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO sweep_runs (sweep_id, run_key, config_id, scenario,
                     seed, config, metrics) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(|e| map_err(&path, "preparing an insert", e))?;
            for r in rows {
                stmt.execute(params![
                    sweep_id,
                    r.run_key,
                    r.config_id,
                    r.scenario,
                    r.seed as i64,
                    r.config.to_string(),
                    r.metrics.to_string(),
                ])
                .map_err(|e| map_err(&path, "inserting a sweep run", e))?;
            }
        }
        tx.commit()
            .map_err(|e| map_err(&path, "committing sweep runs", e))?;
        self.committed();
        Ok(())
    }

    pub fn sweep_runs(&self, sweep_id: i64) -> Result<Vec<SweepRunRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_key, config_id, scenario, seed, config, metrics FROM sweep_runs
                 WHERE sweep_id = ?1 ORDER BY run_key",
            )
            .map_err(|e| self.err("reading sweep runs", e))?;
        let rows = stmt
            .query_map([sweep_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(|e| self.err("reading sweep runs", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (run_key, config_id, scenario, seed, config, metrics) =
                row.map_err(|e| self.err("reading sweep runs", e))?;
            let parse = |s: &str, what: &str| {
                serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
                    path: self.path.clone(),
                    what: format!("sweep_runs {run_key}: {what}"),
                    detail: e.to_string(),
                })
            };
            out.push(SweepRunRow {
                config: parse(&config, "config")?,
                metrics: parse(&metrics, "metrics")?,
                run_key,
                config_id,
                scenario,
                seed: seed as u64,
            });
        }
        Ok(out)
    }

    /// Store per-config aggregates (replacing earlier ones) in one transaction.
    pub fn insert_sweep_configs(
        &mut self,
        sweep_id: i64,
        configs: &[(u32, serde_json::Value, serde_json::Value)],
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| map_err(&path, "starting a write", e))?;
        for (id, config, aggregates) in configs {
            tx.execute(
                "INSERT OR REPLACE INTO sweep_configs (sweep_id, config_id, config, aggregates)
                 VALUES (?1, ?2, ?3, ?4)",
                params![sweep_id, id, config.to_string(), aggregates.to_string()],
            )
            .map_err(|e| map_err(&path, "inserting a sweep config", e))?;
        }
        tx.commit()
            .map_err(|e| map_err(&path, "committing sweep configs", e))?;
        self.committed();
        Ok(())
    }
}

/// SQLite failures as the errors users can act on (also for call sites that hold a
/// borrow of the connection).
fn map_err(path: &Path, context: &'static str, e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Locked {
                    path: path.to_path_buf(),
                    waited_ms: BUSY_TIMEOUT.as_millis() as u64,
                };
            }
            ErrorCode::ReadOnly => {
                return StoreError::ReadOnly {
                    path: path.to_path_buf(),
                };
            }
            ErrorCode::DiskFull => {
                return StoreError::DiskFull {
                    path: path.to_path_buf(),
                };
            }
            ErrorCode::NotADatabase => {
                return StoreError::NotADatabase {
                    path: path.to_path_buf(),
                };
            }
            ErrorCode::CannotOpen => {
                return StoreError::CannotOpen {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                };
            }
            _ => {}
        }
    }
    StoreError::Sqlite {
        path: path.to_path_buf(),
        context,
        source: e,
    }
}

/// Wall-clock time as RFC 3339 UTC, without a date library: days since the epoch to a
/// civil date (Howard Hinnant's algorithm).
pub fn rfc3339_utc(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parse `YYYY-MM-DDTHH:MM:SSZ` (or a bare date) to Unix milliseconds.
pub fn parse_rfc3339_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, t.trim_end_matches('Z')),
        None => (s, "00:00:00"),
    };
    let mut dp = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, d) = (dp.next()??, dp.next()??, dp.next()??);
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut tp = time.split(':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (tp.next()??, tp.next()??, tp.next().unwrap_or(Some(0))?);
    if !(0..24).contains(&hh) || !(0..60).contains(&mm) || !(0..61).contains(&ss) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000)
}
