//! Simulation runs: a run's summary, its migrations as rows, and its record (inline
//! when small enough, else by path).

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use scalelab_sim::record::RunRecord;

use crate::{Result, Store, StoreError, map_err};

/// Run records larger than this are stored by path only.
pub const MAX_INLINE_RECORD_BYTES: usize = 32 * 1024 * 1024;

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

impl Store {
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
    pub(crate) fn runs_where(&self, tail: &str, param: i64) -> Result<Vec<RunSummary>> {
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
}
