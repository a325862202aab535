//! `scalelab sweep` and `scalelab merge`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::{AnyValue, DataFrame, IntoLazy, SortMultipleOptions};
use scalelab_backtest::exec::{self, RunResult};
use scalelab_backtest::frame;
use scalelab_backtest::shard::{self, Journal, ShardFile, ShardId};
use scalelab_backtest::spec::{Plan, SweepSpec};
use scalelab_engine::PolicyConfig;
use scalelab_sim::human;
use scalelab_store::{Store, SweepRunRow, rfc3339_utc};

use crate::files::{now_unix_ms, read};

pub struct Options<'a> {
    pub spec: &'a Path,
    pub out: Option<&'a Path>,
    pub threads: usize,
    pub resume: bool,
    pub shard: Option<(u32, u32)>,
    /// Print the estimated work of each of this many shards instead of running.
    pub plan_shards: Option<u32>,
    pub max_runs: usize,
    pub db: &'a Path,
    pub baselines: bool,
    pub limits: bool,
}

/// A sweep's estimated wall-clock time above which it is refused (split it with
/// `--shard`, or pass `--no-resource-limits`).
const SWEEP_MAX_SECONDS: f64 = 24.0 * 3600.0;

/// Refuse a sweep that would exhaust the machine, before any run starts: every
/// scenario within the single-run limits, the runs in flight together within memory,
/// and the whole sweep within a day of wall-clock time.
fn check_resources(
    scenarios: &[exec::LoadedScenario],
    jobs: &[exec::Job],
    threads: usize,
) -> Result<()> {
    let limits = scalelab_sim::scenario::ResourceLimits::default();
    let mut est = Vec::new();
    for s in scenarios {
        est.push(
            s.scenario
                .check_resources(&limits)
                .with_context(|| s.path.display().to_string())?,
        );
    }
    let threads = threads.max(1).min(jobs.len().max(1));
    let peak = est.iter().map(|e| e.memory_bytes).fold(0.0, f64::max) * threads as f64;
    let gib = |b: f64| b / (1024.0 * 1024.0 * 1024.0);
    if peak > limits.max_memory_bytes {
        bail!(
            "{threads} runs in parallel need an estimated {:.1} GiB, above the limit of {:.1} GiB; \
             use fewer --threads or pass --no-resource-limits",
            gib(peak),
            gib(limits.max_memory_bytes)
        );
    }
    let total: f64 = jobs.iter().map(|j| est[j.scenario].seconds).sum::<f64>() / threads as f64;
    if total > SWEEP_MAX_SECONDS {
        bail!(
            "{} runs need an estimated {:.1} h on {threads} threads, above the limit of {:.0} h; \
             split the sweep with --shard K/N or pass --no-resource-limits",
            jobs.len(),
            total / 3600.0,
            SWEEP_MAX_SECONDS / 3600.0
        );
    }
    Ok(())
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

fn result_to_row(plan: &Plan, r: &RunResult) -> SweepRunRow {
    SweepRunRow {
        run_key: r.key.clone(),
        config_id: r.config_id,
        scenario: r.scenario.clone(),
        seed: r.seed,
        config: plan.configs[r.config_id as usize].to_json(),
        metrics: serde_json::to_value(&r.metrics).unwrap_or_default(),
    }
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

/// The sweep's scenarios, parsed once, with their traces loaded.
fn load_scenarios(plan: &Plan) -> Result<Vec<exec::LoadedScenario>> {
    let mut scenarios = exec::load(&plan.scenarios).map_err(|e| anyhow!(e))?;
    for s in &mut scenarios {
        crate::trace_cmd::load_traces(&mut s.scenario, &s.path)?;
    }
    Ok(scenarios)
}

pub fn sweep(o: &Options<'_>) -> Result<()> {
    let (text, mut plan) = load_plan(o.spec, o.max_runs)?;
    if o.baselines {
        plan.add_baselines();
    }
    let scenarios = load_scenarios(&plan)?;
    if let Some(n) = o.plan_shards {
        return print_shard_plan(&plan, &scenarios, n, o.threads);
    }
    let out = o
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("sweep-{}", plan.spec.name)));
    let spec_hash = scalelab_sim::scenario::content_hash(&text);
    let shard_id = o
        .shard
        .map(|(k, n)| ShardId::for_spec(&plan.spec.name, &spec_hash, k, n, o.baselines));
    // The runs this invocation covers: the whole sweep, or this shard's slice.
    let mut jobs = exec::jobs(&plan, &scenarios);
    if let Some((k, n)) = o.shard {
        jobs = exec::shard(jobs, k, n);
    }
    if let Some(id) = &shard_id
        && shard_complete(id, &out, &jobs)?
    {
        println!(
            "shard {}/{} is already complete in {}: nothing to do",
            id.k,
            id.n,
            id.parquet_path(&out).display()
        );
        return Ok(());
    }
    if o.limits {
        // Before anything is stored: a refused sweep leaves no trace in the database.
        let t = if o.threads == 0 {
            rayon_threads()
        } else {
            o.threads
        };
        check_resources(&scenarios, &jobs, t)?;
    }
    let mut store = Store::open(o.db)?;
    let (sweep_id, _) = store.sweep(
        &plan.spec.name,
        &text,
        &spec_hash,
        &rfc3339_utc(now_unix_ms()),
    )?;

    // A shard resumes from its journal beside its output, whatever the database
    // (local to the task, so usually new) holds; --resume also skips what is stored.
    let mut done: HashSet<String> = HashSet::new();
    let journal = match &shard_id {
        Some(id) => {
            std::fs::create_dir_all(&out)
                .with_context(|| format!("{}: cannot create", out.display()))?;
            let (j, prior) = Journal::open(&id.journal_path(&out), id)?;
            if !prior.is_empty() {
                println!(
                    "shard {}/{}: resuming with {} finished runs from {}",
                    id.k,
                    id.n,
                    prior.len(),
                    j.path().display()
                );
                let rows: Vec<SweepRunRow> =
                    prior.iter().map(|r| result_to_row(&plan, r)).collect();
                store.insert_sweep_runs(sweep_id, &rows)?;
            }
            done.extend(prior.into_iter().map(|r| r.key));
            Some(j)
        }
        None => None,
    };
    if o.resume {
        done.extend(store.sweep_runs(sweep_id)?.into_iter().map(|r| r.run_key));
    }
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
    let writer = Mutex::new((store, journal, None::<anyhow::Error>));
    let on_done = |r: &RunResult| {
        let row = result_to_row(&plan, r);
        let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
        let (store, journal, err) = &mut *w;
        if err.is_none() {
            let stored = store
                .insert_sweep_runs(sweep_id, &[row])
                .map_err(anyhow::Error::from)
                .and_then(|()| match journal {
                    Some(j) => j.append(r).map_err(anyhow::Error::from),
                    None => Ok(()),
                });
            if let Err(e) = stored {
                *err = Some(e);
                stop.store(true, Ordering::SeqCst);
            }
        }
        bar.inc(1);
    };
    let threads = o.threads;
    exec::execute(&plan, &scenarios, &jobs, &done, threads, &stop, &on_done)
        .map_err(|e| anyhow!(e))?;
    bar.finish_and_clear();
    let (mut store, journal, err) = writer.into_inner().unwrap_or_else(|p| p.into_inner());
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
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut runs = frame::runs_frame(&plan, &results)?;
    if let Some(id) = &shard_id {
        let (k, n) = (id.k, id.n);
        let path = id.parquet_path(&out);
        frame::write_parquet_atomic(&mut runs, &path, id.to_metadata())
            .with_context(|| path.display().to_string())?;
        // The shard file is the record now; the journal has done its job.
        if let Some(j) = journal {
            let p = j.path().to_path_buf();
            drop(j);
            std::fs::remove_file(&p).with_context(|| p.display().to_string())?;
        }
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
    let meta = scalelab_report::SweepMeta {
        format: scalelab_report::sweep::META_FORMAT.into(),
        version: scalelab_report::sweep::META_VERSION,
        name: plan.spec.name.clone(),
        parameters: plan.spec.parameters.keys().cloned().collect(),
        weights: plan.weights.clone(),
        constraints: plan
            .constraints
            .iter()
            .map(|(k, c)| (k.clone(), [c.min, c.max]))
            .collect(),
    };
    let meta_path = out.join(scalelab_report::sweep::META_FILE);
    crate::files::write_json_atomic(&meta_path, &meta)?;
    if let Some((store, sweep_id)) = store {
        let rows = configs_rows(plan, &configs)?;
        store.insert_sweep_configs(sweep_id, &rows)?;
    }
    let board = frame::leaderboard(plan, &configs, 15)?;
    print!("{}", frame::to_text(&board));
    println!(
        "config 0 is the scenarios' own policy; results in {}/{{runs,configs,scenarios}}.{{csv,parquet}} \
         and {}; `scalelab report {} --out FILE.html` plots them",
        out.display(),
        meta_path.display(),
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

/// The run keys of a runs frame.
fn run_keys(df: &DataFrame) -> Result<Vec<String>> {
    let col = df
        .column("run_key")
        .context("no run_key column: not a runs file")?;
    let keys = col.str().context("run_key is not text")?;
    Ok(keys.iter().flatten().map(str::to_string).collect())
}

/// A shard file as `merge` and a resubmitted shard read it: its metadata, its run
/// keys and its rows.
fn read_shard(path: &Path) -> Result<(ShardFile, DataFrame)> {
    let cannot = || format!("{}: cannot read as Parquet", path.display());
    let meta = frame::read_parquet_metadata(path).with_context(cannot)?;
    let df = frame::read_parquet(path).with_context(cannot)?;
    let file = ShardFile {
        path: path.to_path_buf(),
        id: ShardId::from_metadata(&meta),
        run_keys: run_keys(&df).with_context(|| path.display().to_string())?,
    };
    Ok((file, df))
}

/// Whether `id`'s shard file is already in `out`, whole and holding exactly `jobs`
/// (the shard's runs), so a resubmitted task that had finished does nothing.
fn shard_complete(id: &ShardId, out: &Path, jobs: &[exec::Job]) -> Result<bool> {
    let path = id.parquet_path(out);
    if !path.exists() {
        return Ok(false);
    }
    let (file, _) = read_shard(&path)?;
    match &file.id {
        Some(Ok(theirs)) if theirs == id => {}
        _ => bail!(
            "{}: exists but is not shard {}/{} of this sweep; move it away or use another --out",
            path.display(),
            id.k,
            id.n
        ),
    }
    let have: HashSet<&str> = file.run_keys.iter().map(String::as_str).collect();
    let want: HashSet<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
    Ok(have.len() == file.run_keys.len() && have == want)
}

/// `--plan-shards N`: each shard's runs and estimated time, from the same estimator
/// the resource limits use, so a user can choose N and the job array's time limit.
fn print_shard_plan(
    plan: &Plan,
    scenarios: &[exec::LoadedScenario],
    n: u32,
    threads: usize,
) -> Result<()> {
    if n == 0 {
        bail!("--plan-shards: must be at least 1");
    }
    let jobs = exec::jobs(plan, scenarios);
    let est: Vec<f64> = scenarios
        .iter()
        .map(|s| s.scenario.estimate().seconds)
        .collect();
    let threads = if threads == 0 {
        rayon_threads()
    } else {
        threads
    };
    let plans = shard::plan_shards(&jobs, n, |j| est[j.scenario]);
    println!(
        "sweep {}: {} runs in {n} shards, estimated at {threads} threads per task",
        plan.spec.name,
        jobs.len()
    );
    println!(
        "{:>7} {:>7} {:>12} {:>12}",
        "shard", "runs", "cpu time", "wall time"
    );
    let mut longest: f64 = 0.0;
    for p in &plans {
        // A shard cannot run faster than its longest run, nor use more threads than runs.
        let t = threads.min(p.runs.max(1));
        let wall = p.cpu_s / t as f64;
        longest = longest.max(wall);
        println!(
            "{:>7} {:>7} {:>12} {:>12}",
            format!("{}/{n}", p.k),
            p.runs,
            fmt_duration(p.cpu_s),
            fmt_duration(wall)
        );
    }
    // The estimate is pessimistic already; a margin covers slow nodes and start-up.
    let limit_min = ((longest * 1.5) / 60.0).ceil().max(1.0) as u64;
    println!(
        "suggested time limit per task: {limit_min} min (sbatch --time={:02}:{:02}:00)",
        limit_min / 60,
        limit_min % 60
    );
    Ok(())
}

fn fmt_duration(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// `scalelab merge SPEC SHARDS... [--out DIR]`: combine shard outputs into the result
/// the unsharded sweep gives.
pub fn merge(
    spec: &Path,
    shards: &[PathBuf],
    out: Option<&Path>,
    max_runs: usize,
    baselines: bool,
) -> Result<()> {
    let (text, mut plan) = load_plan(spec, max_runs)?;
    if baselines {
        plan.add_baselines();
    }
    // Check the whole set before anything is written.
    let scenarios = exec::load(&plan.scenarios).map_err(|e| anyhow!(e))?;
    let jobs = exec::jobs(&plan, &scenarios);
    let spec_hash = scalelab_sim::scenario::content_hash(&text);
    let expected = ShardId::for_spec(&plan.spec.name, &spec_hash, 0, 0, baselines);
    let mut frames = Vec::new();
    let mut files = Vec::new();
    for s in shards {
        let (file, df) = read_shard(s)?;
        files.push(file);
        frames.push(df);
    }
    shard::check_set(&expected, &jobs, &files)?;
    let mut all: Option<DataFrame> = None;
    for (s, df) in shards.iter().zip(frames) {
        all = Some(match all {
            None => df,
            Some(a) => a.vstack(&df).with_context(|| {
                format!("{}: columns differ from the other shards", s.display())
            })?,
        });
    }
    // The set was checked: the shards are disjoint and together hold every run once.
    let runs = all
        .unwrap_or_default()
        .lazy()
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

/// `scalelab tune SPEC`: the best feasible config as a ready-to-use policy TOML, and
/// how it compares with the defaults and every baseline on each scenario, including
/// the expected-vs-actual error under both estimators.
pub fn tune(spec: &Path, threads: usize, max_runs: usize, limits: bool) -> Result<()> {
    use scalelab_backtest::spec::Config;
    use scalelab_engine::policy::Estimator;
    let (_, mut plan) = load_plan(spec, max_runs)?;
    let grid = plan.configs.len();
    plan.add_baselines();
    let scenarios = load_scenarios(&plan)?;
    if limits {
        let t = if threads == 0 {
            rayon_threads()
        } else {
            threads
        };
        check_resources(&scenarios, &exec::jobs(&plan, &scenarios), t)?;
    }
    let stop = AtomicBool::new(false);
    let bar = ProgressBar::new(0);
    let run = |plan: &Plan, jobs: &[exec::Job], label: &str| -> Result<Vec<RunResult>> {
        bar.set_length(jobs.len() as u64);
        bar.set_position(0);
        bar.set_message(label.to_string());
        exec::execute(
            plan,
            &scenarios,
            jobs,
            &HashSet::new(),
            threads,
            &stop,
            &|_| bar.inc(1),
        )
        .map_err(|e| anyhow!(e))
    };
    let results = run(&plan, &exec::jobs(&plan, &scenarios), "sweep")?;
    let runs = frame::runs_frame(&plan, &results)?;
    let configs = frame::configs_frame(&plan, &runs)?;
    let ids = configs.column("config_id")?.u32()?.to_vec();
    let ranks = configs.column("rank")?.u32()?.to_vec();
    let best = ids
        .iter()
        .zip(&ranks)
        .filter(|(id, _)| (id.unwrap_or(0) as usize) < grid)
        .filter_map(|(id, r)| Some(((*r)?, (*id)?)))
        .min()
        .map(|(_, id)| id)
        .ok_or_else(|| {
            anyhow!(
                "{}: no engine config satisfies the constraints",
                spec.display()
            )
        })?;
    let best_cfg = plan.configs[best as usize].clone();
    // Phase 2: the best and the defaults under both estimators.
    let mut variants = Vec::new();
    for (base, tag) in [
        (&best_cfg, "recommended"),
        (&plan.configs[0].clone(), "defaults"),
    ] {
        for est in [Estimator::FixedFactor, Estimator::ModelBased] {
            let mut overrides = base.overrides.clone();
            overrides.insert("estimator".into(), serde_json::to_value(est)?);
            let id = plan.configs.len() as u32;
            plan.configs.push(Config {
                id,
                overrides,
                baseline: None,
            });
            variants.push((id, tag, est));
        }
    }
    let jobs: Vec<_> = exec::jobs(&plan, &scenarios)
        .into_iter()
        .filter(|j| variants.iter().any(|v| v.0 == j.config_id))
        .collect();
    let extra = run(&plan, &jobs, "variants")?;
    bar.finish_and_clear();
    let policy = best_cfg
        .apply(&PolicyConfig::default())
        .with_context(|| spec.display().to_string())?;
    println!(
        "# recommended policy: config {best} of sweep {} (rank 1 of the feasible engine configs)",
        plan.spec.name
    );
    for (k, v) in &best_cfg.overrides {
        println!("# tuned: {k} = {v}");
    }
    println!("{}", policy.to_toml_string());
    // Comparison per scenario: means over seeds.
    let mean = |rs: &[&RunResult], m: &str| -> Option<f64> {
        let xs: Vec<f64> = rs
            .iter()
            .filter_map(|r| r.metrics.get(m).copied().flatten())
            .collect();
        (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
    };
    // (column, metric, header): values shown for a person, units in the headers.
    const COLS: [(&str, &str); 9] = [
        ("overload_time_frac", "overload (%)"),
        ("migrations", "migrations"),
        ("rollback_rate", "rollback (%)"),
        ("total_downtime_ms", "downtime"),
        ("data_loss_events", "data loss"),
        ("energy_kwh", "energy (kWh)"),
        ("esv", "ESV"),
        ("expected_vs_actual_mae", "eva MAE fixed"),
        ("expected_vs_actual_mae", "eva MAE model"),
    ];
    const MAIN: usize = 7;
    let f = |x: Option<f64>, m: &str| x.map_or("-".to_string(), |v| human::metric(m, v));
    let mut headers = vec!["scenario".to_string(), "policy".to_string()];
    headers.extend(COLS.iter().map(|(_, h)| h.to_string()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let all: Vec<&RunResult> = results.iter().chain(&extra).collect();
    let mut names: Vec<&str> = all.iter().map(|r| r.scenario.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for sc in names {
        let of = |id: u32| -> Vec<&RunResult> {
            all.iter()
                .filter(|r| r.config_id == id && r.scenario == sc)
                .copied()
                .collect()
        };
        let variant = |tag: &str, est: Estimator| {
            variants
                .iter()
                .find(|v| v.1 == tag && v.2 == est)
                .map(|v| v.0)
                .unwrap_or(0)
        };
        // The run metrics of `main` (energy and ESV "-" without power models), then
        // the target-utilization error under each estimator.
        let row = |label: &str,
                   main: &[&RunResult],
                   fixed: Option<&[&RunResult]>,
                   model: &[&RunResult]| {
            let mut r = vec![sc.to_string(), label.to_string()];
            for (m, _) in &COLS[..MAIN] {
                r.push(f(mean(main, m), m));
            }
            let mae = "expected_vs_actual_mae";
            r.push(fixed.map_or("-".into(), |rs| f(mean(rs, mae), mae)));
            r.push(f(mean(model, mae), mae));
            r
        };
        for tag in ["recommended", "defaults"] {
            let main = of(if tag == "recommended" { best } else { 0 });
            let fixed = of(variant(tag, Estimator::FixedFactor));
            let model = of(variant(tag, Estimator::ModelBased));
            rows.push(row(tag, &main, Some(&fixed), &model));
        }
        for c in plan.configs.iter().filter(|c| c.baseline.is_some()) {
            let rs = of(c.id);
            rows.push(row(&c.label(), &rs, None, &rs));
        }
    }
    print!("{}", human::text_table(&headers, &rows, 2));
    Ok(())
}
