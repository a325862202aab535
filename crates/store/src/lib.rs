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

mod checkpoint;
mod fs_kind;
mod history;
mod runs;
mod schema;
mod sweeps;
mod time;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

use checkpoint::Checkpointer;
pub use history::{HistoryQuery, StoredDecision};
pub use runs::{MAX_INLINE_RECORD_BYTES, RunSummary, StoredMigration};
pub use schema::{LEGACY_DDL, SCHEMA_VERSION};
pub use sweeps::SweepRunRow;
pub use time::{parse_rfc3339_utc, rfc3339_utc};

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
    #[error(
        "{path}: on a network file system ({fs}), where SQLite's WAL mode can corrupt the \
         database; put --db on local disk (on a cluster, node-local storage such as $TMPDIR)"
    )]
    NetworkFileSystem { path: PathBuf, fs: &'static str },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How long a writer waits for another writer's lock.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// The store: one connection, the file it is on, and the thread that checkpoints it.
/// Its methods are grouped by what they touch: [`schema`] (opening, upgrades),
/// [`history`] (the scaling history), [`runs`], [`sweeps`].
#[derive(Debug)]
pub struct Store {
    // Dropped before `conn`: the checkpoint thread finishes first, then closing the
    // last connection folds the rest of the WAL into the database.
    checkpointer: Option<Checkpointer>,
    conn: Connection,
    path: PathBuf,
}

/// SQLite failures as the errors users can act on (also for call sites that hold a
/// borrow of the connection).
pub(crate) fn map_err(path: &Path, context: &'static str, e: rusqlite::Error) -> StoreError {
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
