//! `scalelab history`, `scalelab runs`: reading the store.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use scalelab_engine::{ResourceType, ScalingAction, ScalingDecision};
use scalelab_sim::human;
use scalelab_store::{HistoryQuery, Store, parse_rfc3339_utc, rfc3339_utc};

/// Readers open the database read-only when it exists, so they never create an empty
/// database by accident and never wait for a writer.
fn open_for_reading(db: &Path) -> Result<Store> {
    if !db.exists() {
        bail!(
            "{}: no such database (run `scalelab run` or `scalelab decide --record` first, or pass --db)",
            db.display()
        );
    }
    Ok(Store::open_read_only(db)?)
}

fn parse_since(s: &str) -> Result<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    parse_rfc3339_utc(s).with_context(|| {
        format!("--since: {s:?} is neither Unix milliseconds nor YYYY-MM-DD[THH:MM:SSZ]")
    })
}

fn parse_action(s: &str) -> Result<ScalingAction> {
    s.parse().map_err(|e| anyhow::anyhow!("--action: {e}"))
}

pub fn history(
    db: &Path,
    vm: Option<String>,
    action: Option<String>,
    since: Option<String>,
    limit: u32,
    json: bool,
) -> Result<()> {
    let q = HistoryQuery {
        vm_id: vm,
        action: action.as_deref().map(parse_action).transpose()?,
        since_ms: since.as_deref().map(parse_since).transpose()?,
        limit: Some(limit),
    };
    let store = open_for_reading(db)?;
    let rows = store.history(&q)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        for r in &rows {
            writeln!(out, "{}", serde_json::to_string(&r.decision)?)?;
        }
    } else {
        writeln!(
            out,
            "{:>6}  {:<20}  {:<12}  {:<7}  {:<10}  {:>7}  {:>7}  {:>5}  TARGET NODE",
            "ID", "TIME (UTC)", "VM", "RES", "ACTION", "CURRENT", "TARGET", "CONF"
        )?;
        for r in &rows {
            let d: &ScalingDecision = &r.decision;
            writeln!(
                out,
                "{:>6}  {:<20}  {:<12}  {:<7}  {:<10}  {:>7.3}  {:>7.3}  {:>5.2}  {}",
                r.id,
                rfc3339_utc(d.timestamp_ms),
                d.vm_id,
                d.resource_type.as_str(),
                d.action.as_str(),
                d.current_value,
                d.target_value,
                d.confidence,
                d.target_node_id.as_deref().unwrap_or("-")
            )?;
        }
        if rows.is_empty() {
            writeln!(out, "(no decisions match)")?;
        }
    }
    out.flush()?;
    Ok(())
}

pub fn runs_list(db: &Path, limit: u32, json: bool) -> Result<()> {
    let store = open_for_reading(db)?;
    let runs = store.list_runs(Some(limit))?;
    if json {
        for r in &runs {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(());
    }
    println!(
        "{:>4}  {:<20}  {:<24}  {:>6}  {:>6}  {:>6}  {:>8}  {:>7}  {:>9}  {:>9}",
        "ID",
        "STARTED (UTC)",
        "SCENARIO",
        "SEED",
        "MIGR",
        "DONE",
        "ROLLBACK",
        "MAE",
        "OVERLOAD",
        "DATA LOSS"
    );
    for r in &runs {
        let m = &r.metrics;
        let done = m
            .migrations_by_outcome
            .get(&scalelab_sim::record::Outcome::Completed)
            .copied()
            .unwrap_or(0);
        println!(
            "{:>4}  {:<20}  {:<24}  {:>6}  {:>6}  {:>6}  {:>8}  {:>7}  {:>9}  {:>9}",
            r.id,
            r.started_at,
            r.scenario_name,
            r.seed,
            human::count(m.migrations.into()),
            human::count(done.into()),
            human::percent(m.rollback_rate),
            m.expected_vs_actual_mae
                .map(|x| format!("{x:.3}"))
                .unwrap_or_else(|| "-".into()),
            human::percent(m.overload_time_frac),
            human::count(m.data_loss_events.into())
        );
    }
    if runs.is_empty() {
        println!("(no runs stored)");
    }
    Ok(())
}

pub fn runs_show(db: &Path, id: i64, json: bool) -> Result<()> {
    let store = open_for_reading(db)?;
    let run = store.run_summary(id)?;
    let migrations = store.run_migrations(id)?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "run": run, "migrations": migrations })
        );
        return Ok(());
    }
    let header = format!(
        "run {} started {}: scenario {} (hash {}), seed {}, scalelab {}\n",
        run.id,
        run.started_at,
        run.scenario_name,
        run.scenario_hash,
        run.seed,
        run.scalelab_version
    );
    print!("{}", crate::run::metrics_summary(&header, &run.metrics));
    if let Some(p) = &run.record_path {
        println!("run record: {p}");
    }
    if migrations.is_empty() {
        println!("no migrations");
        return Ok(());
    }
    println!(
        "\n{:>4}  {:<14}  {:<22}  {:<24}  {:>8}  {:>8}  {:>7}  {:>8}  CRITERIA / REASON",
        "ID", "VM", "SOURCE -> TARGET", "OUTCOME", "EXPECTED", "ACTUAL", "ERROR", "PAUSE"
    );
    for m in &migrations {
        let passed = m
            .criteria
            .as_array()
            .map(|cs| {
                let ok = cs.iter().filter(|c| c["passed"] == true).count();
                format!("{ok}/{} criteria passed", cs.len())
            })
            .unwrap_or_default();
        let why = m
            .rollback_reason
            .as_deref()
            .map(|r| format!("; {r}"))
            .unwrap_or_default();
        println!(
            "{:>4}  {:<14}  {:<22}  {:<24}  {:>8.3}  {:>8}  {:>7}  {:>8}  {passed}{why}",
            m.migration_id,
            m.vm_id,
            format!("{} -> {}", m.source_node, m.target_node),
            m.outcome,
            m.expected_utilization,
            m.actual_utilization
                .map(|a| format!("{a:.3}"))
                .unwrap_or_else(|| "-".into()),
            m.actual_utilization
                .map(|a| format!("{:+.3}", a - m.expected_utilization))
                .unwrap_or_else(|| "-".into()),
            human::duration_ms(m.downtime_ms as f64),
        );
    }
    Ok(())
}

/// See the hidden `debug-insert-batches` command.
pub fn debug_insert_batches(db: &Path, batches: u32, batch_size: u32) -> Result<()> {
    let mut store = Store::open(db)?;
    let plan: scalelab_engine::plan::MigrationPlan =
        serde_json::from_str(include_str!("../../engine/tests/fixtures/seed_plan.json"))?;
    let stdout = std::io::stdout();
    for b in 0..batches {
        let batch: Vec<ScalingDecision> = (0..batch_size)
            .map(|i| ScalingDecision {
                vm_id: format!("batch-{b}"),
                resource_type: ResourceType::Cpu,
                action: ScalingAction::Migrate,
                current_value: 0.8,
                target_value: 0.56,
                confidence: 0.9,
                reasoning: format!("row {i} of batch {b}"),
                timestamp_ms: i64::from(b) * 1_000_000 + i64::from(i),
                target_node_id: Some("node-02".into()),
                migration_plan: Some(plan.clone()),
            })
            .collect();
        store.insert_decisions(&batch)?;
        let mut out = stdout.lock();
        writeln!(out, "committed batch {b}")?;
        out.flush()?;
    }
    Ok(())
}
