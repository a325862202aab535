//! Opening a database and upgrading its schema: the versions, their DDL, and the
//! pragmas every connection gets.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use crate::checkpoint::Checkpointer;
use crate::{BUSY_TIMEOUT, Result, Store, StoreError, map_err};

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

impl Store {
    /// Open (creating if needed) and upgrade the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, false)
    }

    /// Open an existing database for reading only: no upgrade, no writes.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        Self::open_with(path, true)
    }

    pub(crate) fn open_with(path: &Path, read_only: bool) -> Result<Self> {
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        if !read_only && let Some(fs) = crate::fs_kind::network_fs_of(path) {
            return Err(StoreError::NetworkFileSystem {
                path: path.to_path_buf(),
                fs,
            });
        }
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
    pub(crate) fn enable_wal(&self) -> Result<()> {
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
    pub(crate) fn err(&self, context: &'static str, e: rusqlite::Error) -> StoreError {
        map_err(&self.path, context, e)
    }

    pub fn user_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err("reading the schema version", e))
    }

    pub(crate) fn has_table(&self, name: &str) -> Result<bool> {
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

    pub(crate) fn has_column(&self, table: &str, column: &str) -> Result<bool> {
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
    pub(crate) fn effective_version(&self) -> Result<i64> {
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
    pub(crate) fn migrate(&self) -> Result<()> {
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
}
