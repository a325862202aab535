//! The scaling history (`scaling_history`): decisions inserted in batches (plans
//! serialized on a second thread, rows grouped per statement) and queried back.

use scalelab_engine::plan::MigrationPlan;
use scalelab_engine::{ResourceType, ScalingAction, ScalingDecision};

use crate::{Result, Store, StoreError, map_err};

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

impl Store {
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
    pub(crate) fn committed(&self) {
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
}
