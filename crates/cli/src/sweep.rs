//! `scalelab sweep` and `scalelab merge`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::{
    AnyValue, DataFrame, IntoLazy, SortMultipleOptions, UniqueKeepStrategy, cols,
};
use scalelab_backtest::exec::{self, RunResult};
use scalelab_backtest::frame;
use scalelab_backtest::spec::{Plan, SweepSpec};
use scalelab_engine::PolicyConfig;
use scalelab_store::{Store, SweepRunRow, rfc3339_utc};

use crate::files::{now_unix_ms, read};

pub struct Options<'a> {
    pub spec: &'a Path,
    pub out: Option<&'a Path>,
    pub threads: usize,
    pub resume: bool,
    pub shard: Option<(u32, u32)>,
    pub max_runs: usize,
    pub db: &'a Path,
}

pub fn parse_shard(s: &str) -> Result<(u32, u32)> {
    let bad = || anyhow!("--shard: {s:?} is not K/N with 1 <= K <= N");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

fn load_plan(spec_path: &Path, max_runs: usize) -> Result<(String, Plan)> {
    let text = read(spec_path)?;
    let spec = SweepSpec::from_toml_str(&text).with_context(|| spec_path.display().to_string())?;
    let dir = spec_path.parent().unwrap_or(Path::new("."));
    let plan = spec
        .plan(dir, &PolicyConfig::default(), max_runs)
        .with_context(|| spec_path.display().to_string())?;
    Ok((text, plan))
}

fn row_to_result(r: &SweepRunRow) -> RunResult {
    RunResult {
        key: r.run_key.clone(),
        config_id: r.config_id,
        scenario: r.scenario.clone(),
        seed: r.seed,
        metrics: r
            .metrics
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_f64())).collect())
            .unwrap_or_default(),
    }
}

pub fn sweep(o: &Options<'_>) -> Result<()> {
    let (text, plan) = load_plan(o.spec, o.max_runs)?;
    let scenarios = exec::load(&plan.scenarios).map_err(|e| anyhow!(e))?;
    let mut store = Store::open(o.db)?;
    let spec_hash = scalelab_sim::scenario::content_hash(&text);
    let (sweep_id, _) = store.sweep(
        &plan.spec.name,
        &text,
        &spec_hash,
        &rfc3339_utc(now_unix_ms()),
    )?;
    let mut jobs = exec::jobs(&plan, &scenarios);
    if let Some((k, n)) = o.shard {
        jobs = exec::shard(jobs, k, n);
    }
    let stored: Vec<SweepRunRow> = store.sweep_runs(sweep_id)?;
    let done: HashSet<String> = if o.resume {
        stored.iter().map(|r| r.run_key.clone()).collect()
    } else {
        HashSet::new()
    };
    let todo = jobs.iter().filter(|j| !done.contains(&j.key)).count();
    println!(
        "sweep {}: {} configs x {} scenarios -> {} runs{}, {} to do ({} threads)",
        plan.spec.name,
        plan.configs.len(),
        scenarios.len(),
        jobs.len(),
        o.shard
            .map(|(k, n)| format!(" in shard {k}/{n}"))
            .unwrap_or_default(),
        todo,
        if o.threads == 0 {
            rayon_threads()
        } else {
            o.threads
        }
    );
    let bar = ProgressBar::new(todo as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed} elapsed, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C is not handled: the default action then ends the process,
        // and the stored runs are still there.
        let _ = ctrlc::set_handler(move || {
            eprintln!("\nstopping: runs in progress finish and are stored; resume with --resume");
            stop.store(true, Ordering::SeqCst);
        });
    }
    let writer = Mutex::new((store, None::<anyhow::Error>));
    let on_done = |r: &RunResult| {
        let row = SweepRunRow {
            run_key: r.key.clone(),
            config_id: r.config_id,
            scenario: r.scenario.clone(),
            seed: r.seed,
            config: plan.configs[r.config_id as usize].to_json(),
            metrics: serde_json::to_value(&r.metrics).unwrap_or_default(),
        };
        let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
        if w.1.is_none()
            && let Err(e) = w.0.insert_sweep_runs(sweep_id, &[row])
        {
            w.1 = Some(e.into());
            stop.store(true, Ordering::SeqCst);
        }
        bar.inc(1);
    };
    let threads = o.threads;
    exec::execute(&plan, &scenarios, &jobs, &done, threads, &stop, &on_done)
        .map_err(|e| anyhow!(e))?;
    bar.finish_and_clear();
    let (mut store, err) = writer.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = err {
        return Err(e.context("storing sweep results"));
    }
    // Everything this plan covers, from the store: finished now or before.
    let keys: HashSet<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
    let mut results: Vec<RunResult> = store
        .sweep_runs(sweep_id)?
        .iter()
        .filter(|r| keys.contains(r.run_key.as_str()))
        .map(row_to_result)
        .collect();
    results.sort_by(|a, b| {
        (a.config_id, &a.scenario, a.seed).cmp(&(b.config_id, &b.scenario, b.seed))
    });
    if results.len() < jobs.len() {
        bail!(
            "interrupted: {} of {} runs done and stored in {}; run again with --resume to finish",
            results.len(),
            jobs.len(),
            o.db.display()
        );
    }
    let out = o
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("sweep-{}", plan.spec.name)));
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut runs = frame::runs_frame(&plan, &results)?;
    if let Some((k, n)) = o.shard {
        let path = out.join(format!("runs-shard-{k}-of-{n}.parquet"));
        frame::write_parquet(&mut runs, &path).with_context(|| path.display().to_string())?;
        println!(
            "shard {k}/{n}: {} runs written to {}",
            results.len(),
            path.display()
        );
        println!(
            "combine the shards with: scalelab merge {} {}/runs-shard-*-of-{n}.parquet",
            o.spec.display(),
            out.display()
        );
        return Ok(());
    }
    finish(&plan, runs, &out, Some((&mut store, sweep_id)))
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Aggregate, rank, write every file, store the per-config rows, print the leaderboard.
fn finish(
    plan: &Plan,
    mut runs: DataFrame,
    out: &Path,
    store: Option<(&mut Store, i64)>,
) -> Result<()> {
    let mut configs = frame::configs_frame(plan, &runs)?;
    let mut by_scenario = frame::scenarios_frame(&runs)?;
    for (name, df) in [
        ("runs", &mut runs),
        ("configs", &mut configs),
        ("scenarios", &mut by_scenario),
    ] {
        let csv = out.join(format!("{name}.csv"));
        frame::write_csv(df, &csv).with_context(|| csv.display().to_string())?;
        let pq = out.join(format!("{name}.parquet"));
        frame::write_parquet(df, &pq).with_context(|| pq.display().to_string())?;
    }
    if let Some((store, sweep_id)) = store {
        let rows = configs_rows(plan, &configs)?;
        store.insert_sweep_configs(sweep_id, &rows)?;
    }
    let board = frame::leaderboard(plan, &configs, 15)?;
    print!("{}", frame::to_text(&board));
    println!(
        "config 0 is the scenarios' own policy; results in {}/{{runs,configs,scenarios}}.{{csv,parquet}}",
        out.display()
    );
    Ok(())
}

fn configs_rows(
    plan: &Plan,
    configs: &DataFrame,
) -> Result<Vec<(u32, serde_json::Value, serde_json::Value)>> {
    let mut out = Vec::new();
    let names: Vec<String> = configs
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for i in 0..configs.height() {
        let row = configs.get_row(i)?;
        let mut agg = serde_json::Map::new();
        let mut id = 0u32;
        for (name, v) in names.iter().zip(row.0.iter()) {
            if name == "config_id" {
                id = v.extract::<u32>().unwrap_or(0);
            }
            let j = match v {
                AnyValue::Null => serde_json::Value::Null,
                AnyValue::Boolean(b) => (*b).into(),
                AnyValue::String(s) => (*s).into(),
                other => other
                    .extract::<f64>()
                    .map(Into::into)
                    .unwrap_or(serde_json::Value::Null),
            };
            agg.insert(name.clone(), j);
        }
        out.push((
            id,
            plan.configs[id as usize].to_json(),
            serde_json::Value::Object(agg),
        ));
    }
    Ok(out)
}

/// `scalelab merge SPEC SHARDS... [--out DIR]`: combine shard outputs into the result
/// the unsharded sweep gives.
pub fn merge(spec: &Path, shards: &[PathBuf], out: Option<&Path>, max_runs: usize) -> Result<()> {
    let (_, plan) = load_plan(spec, max_runs)?;
    if shards.is_empty() {
        bail!("merge: no shard files given");
    }
    let mut all: Option<DataFrame> = None;
    for s in shards {
        let df = frame::read_parquet(s)
            .with_context(|| format!("{}: cannot read as Parquet", s.display()))?;
        all = Some(match all {
            None => df,
            Some(a) => a.vstack(&df).with_context(|| {
                format!("{}: columns differ from the other shards", s.display())
            })?,
        });
    }
    let runs = all
        .unwrap_or_default()
        .lazy()
        .unique_stable(Some(cols(["run_key"])), UniqueKeepStrategy::First)
        .sort(
            ["config_id", "scenario", "seed"],
            SortMultipleOptions::default(),
        )
        .collect()?;
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("sweep-{}", plan.spec.name)));
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    println!("merged {} shards: {} runs", shards.len(), runs.height());
    finish(&plan, runs, &out, None)
}
