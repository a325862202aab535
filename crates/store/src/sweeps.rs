//! Backtest sweeps: the spec, every finished run (so a killed sweep resumes), and each
//! configuration's aggregates.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::{Result, Store, StoreError, map_err};

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

impl Store {
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
