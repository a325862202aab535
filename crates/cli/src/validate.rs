//! `scalelab validate`: run a validation suite (a scenario, policies, and a peer
//! simulator's published numbers with tolerances) and fail when scalelab disagrees.
//!
//! A suite file (see `validation/cloudsim-planetlab-20110303.toml`):
//!
//! ```toml
//! name = "..."
//! reference = "where the numbers come from"
//! scenario = "../scenarios/validation/cloudsim-planetlab-20110303.toml"
//! [tolerances]                      # relative, except pdm (absolute, a fraction)
//! energy_kwh = 0.05
//! [[runs]]
//! label = "THR-MMT-0.8"
//! baseline = "beloglazov_thr"
//! parameter = 0.8
//! selection = "mmt"
//! reference = { energy_kwh = 198.08, migrations = 27728, ... }
//! [[runs]]                          # no baseline: the engine, reported, not judged
//! label = "engine"
//! policy = { consolidation = { enabled = true } }    # merged into the policy
//! [[studies]]                       # the same runs again, changed; reported, not judged
//! label = "scalelab's migration model"
//! overlay = { compat = { migrations = "precopy" } }   # merged into the scenario
//! vms = { dirty_rate_mib_s = 20 }                     # merged into every [[vms]] group
//! ```
//!
//! A study answers "what would the peer's experiment show under another model": each
//! run of the suite is repeated on the changed scenario, and the runs are ranked by
//! ESV under the peer's model and under each study's, so that a change of ranking is
//! printed rather than inferred.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use scalelab_engine::ScalingAction;
use scalelab_sim::baselines::{Baseline, VmSelection};
use scalelab_sim::human;
use scalelab_sim::record::{Outcome, RunMetrics};
use scalelab_sim::{ParsedScenario, RunOptions, run_scenario};

use crate::files::read;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    name: String,
    #[serde(default)]
    reference: String,
    scenario: PathBuf,
    tolerances: BTreeMap<String, Tolerance>,
    runs: Vec<SuiteRun>,
    #[serde(default)]
    studies: Vec<Study>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Study {
    label: String,
    /// Merged into the scenario's TOML (tables merge key by key, values replace).
    #[serde(default)]
    overlay: toml::Table,
    /// Merged into every `[[vms]]` group.
    #[serde(default)]
    vms: toml::Table,
}

/// The suite's runs under one model (the peer's, or a study's): the type
/// `validate --json` writes, so the tables and the report read the same thing.
pub use scalelab_report::validation::{Study as StudyTable, StudyRun as StudyRow};

/// Everything `validate` found: the printed heading, and the result `--json` writes.
#[derive(Debug)]
pub struct Report {
    pub head: String,
    pub result: scalelab_report::ValidationResult,
}

/// `0.05` (relative) or `{ abs = 0.0002 }`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum Tolerance {
    Rel(f64),
    Abs { abs: f64 },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteRun {
    label: String,
    /// The literature policy; absent = the engine, with `policy` merged over the
    /// scenario's policy.
    #[serde(default)]
    baseline: Option<Baseline>,
    #[serde(default)]
    parameter: Option<f64>,
    #[serde(default)]
    selection: VmSelection,
    #[serde(default)]
    policy: toml::Table,
    /// The peer's numbers; absent (the engine, which the peer never ran) = reported
    /// in the tables, not judged.
    #[serde(default)]
    reference: BTreeMap<String, f64>,
}

/// The metrics a suite can compare, by the names suites use.
pub const METRICS: [&str; 7] = [
    "energy_kwh",
    "migrations",
    "slatah",
    "pdm",
    "slav",
    "esv",
    "host_shutdowns",
];

fn metric(m: &RunMetrics, name: &str) -> Option<f64> {
    Some(match name {
        "energy_kwh" => m.energy_kwh?,
        "migrations" => m.migrations as f64,
        "slatah" => m.overload_time_frac,
        "pdm" => m.pdm,
        "slav" => m.slav,
        "esv" => m.esv?,
        "host_shutdowns" => m.host_shutdowns as f64,
        _ => return None,
    })
}

/// One compared number (the type `validate --json` writes).
pub use scalelab_report::validation::ValidationRow as Row;

fn show(metric: &str, v: f64) -> String {
    match metric {
        "migrations" | "host_shutdowns" => human::count(v.round() as u64),
        // Fixed decimals where the literature's policies land, significant digits below
        // (the engine's SLAV is orders of magnitude smaller).
        "slatah" | "pdm" if v != 0.0 && v < 5e-5 => format!("{:.2e} %", v * 100.0),
        "slatah" | "pdm" => format!("{:.2} %", v * 100.0),
        "slav" if v != 0.0 && v < 1e-7 => format!("{:.2e} %", v * 100.0),
        "slav" => format!("{:.5} %", v * 100.0),
        "esv" if v != 0.0 && v < 1e-3 => format!("{v:.2e}"),
        "esv" => format!("{v:.6}"),
        _ => format!("{v:.2}"),
    }
}

fn parse_suite(path: &Path) -> Result<Suite> {
    let text = read(path)?;
    let s: Suite = toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e))?;
    for k in s.tolerances.keys() {
        if !METRICS.contains(&k.as_str()) {
            bail!(
                "{}: tolerances.{k}: unknown metric (known: {})",
                path.display(),
                METRICS.join(", ")
            );
        }
    }
    for (i, r) in s.runs.iter().enumerate() {
        for k in r.reference.keys() {
            if !METRICS.contains(&k.as_str()) {
                bail!(
                    "{}: runs[{i}].reference.{k}: unknown metric (known: {})",
                    path.display(),
                    METRICS.join(", ")
                );
            }
        }
    }
    if s.runs.is_empty() {
        bail!("{}: runs: at least one run is needed", path.display());
    }
    Ok(s)
}

/// Merge `over` into `base`: tables key by key, anything else replaced.
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The scenario with its traces loaded, as the suite's runs use it.
fn load(text: &str, sc_path: &Path) -> Result<ParsedScenario> {
    let mut parsed = ParsedScenario::parse(text).with_context(|| sc_path.display().to_string())?;
    crate::trace_cmd::load_traces(&mut parsed.scenario, sc_path)?;
    Ok(parsed)
}

/// Every run of the suite on `parsed`, one thread per run (each is single-threaded).
fn run_all(
    path: &Path,
    sc_path: &Path,
    what: &str,
    suite: &Suite,
    parsed: &ParsedScenario,
) -> Result<Vec<scalelab_sim::RunRecord>> {
    let jobs: Vec<_> = suite
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut sc = parsed.scenario.clone();
            let at = || format!("{}: {what}runs[{i}] ({})", path.display(), r.label);
            sc.sim.baseline = r.baseline;
            sc.sim.baseline_parameter = r.parameter;
            sc.sim.vm_selection = r.selection;
            if !r.policy.is_empty() {
                let mut p = toml::Table::try_from(&sc.policy).with_context(at)?;
                merge(&mut p, &r.policy);
                sc.policy = toml::Value::Table(p)
                    .try_into()
                    .map_err(|e| anyhow!("{}: policy: {e}", at()))?;
            }
            sc.validate().with_context(at)?;
            Ok((r, sc))
        })
        .collect::<Result<_>>()?;
    let results: Vec<Result<scalelab_sim::RunRecord>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(r, sc)| {
                let hash = parsed.content_hash.clone();
                s.spawn(move || {
                    run_scenario(sc.clone(), hash, RunOptions::default(), &mut |_, _| {})
                        .map_err(|e| anyhow!("{}: {what}{}: {e}", sc_path.display(), r.label))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a run panicked"))))
            .collect()
    });
    results.into_iter().collect()
}

/// Run the suite and its studies; the rows in run order, then metric order.
pub fn validate(path: &Path, records: Option<&Path>) -> Result<Report> {
    let suite = parse_suite(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let sc_path = base.join(&suite.scenario);
    let text = read(&sc_path)?;
    let parsed = load(&text, &sc_path)?;
    let recs = run_all(path, &sc_path, "", &suite, &parsed)?;
    let mut rows = Vec::new();
    for (r, rec) in suite.runs.iter().zip(&recs) {
        if let Some(dir) = records {
            let out = dir.join(format!("{}-{}.run.json", suite.name, r.label));
            crate::run::write_record(rec, &out)?;
        }
        for name in METRICS {
            let Some(&reference) = r.reference.get(name) else {
                continue;
            };
            let got = metric(&rec.metrics, name)
                .ok_or_else(|| anyhow!("{}: the run has no {name}", r.label))?;
            let (tolerance, ok) = match suite.tolerances.get(name) {
                Some(Tolerance::Rel(t)) => (
                    Some(format!("{:.0} %", t * 100.0)),
                    (got - reference).abs() <= t * reference.abs(),
                ),
                Some(Tolerance::Abs { abs }) => (
                    Some(format!("± {}", show(name, *abs))),
                    (got - reference).abs() <= *abs,
                ),
                None => (None, true),
            };
            rows.push(Row {
                run: r.label.clone(),
                metric: name.to_string(),
                scalelab: got,
                reference,
                tolerance,
                ok,
            });
        }
    }
    let table_of = |label: &str, recs: &[scalelab_sim::RunRecord]| StudyTable {
        label: label.to_string(),
        runs: suite
            .runs
            .iter()
            .zip(recs)
            .map(|(r, rec)| StudyRow {
                run: r.label.clone(),
                metrics: rec.metrics.clone(),
            })
            .collect(),
    };
    let mut studies = Vec::new();
    // A run without reference numbers (the engine) shows only in the tables.
    if !suite.studies.is_empty() || suite.runs.iter().any(|r| r.reference.is_empty()) {
        studies.push(table_of("the peer's model", &recs));
        let doc: toml::Table =
            toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", sc_path.display()))?;
        for (i, st) in suite.studies.iter().enumerate() {
            let mut changed = doc.clone();
            merge(&mut changed, &st.overlay);
            if !st.vms.is_empty() {
                if let Some(toml::Value::Array(groups)) = changed.get_mut("vms") {
                    for g in groups.iter_mut() {
                        if let toml::Value::Table(t) = g {
                            merge(t, &st.vms);
                        }
                    }
                }
            }
            let what = format!("studies[{i}] ({}): ", st.label);
            let changed_text =
                toml::to_string(&changed).map_err(|e| anyhow!("{}: {what}{e}", path.display()))?;
            let parsed = load(&changed_text, &sc_path)
                .with_context(|| format!("{}: {what}the changed scenario", path.display()))?;
            let recs = run_all(path, &sc_path, &what, &suite, &parsed)?;
            if let Some(dir) = records {
                for (r, rec) in suite.runs.iter().zip(&recs) {
                    let out = dir.join(format!("{}-{}-study{i}.run.json", suite.name, r.label));
                    crate::run::write_record(rec, &out)?;
                }
            }
            studies.push(table_of(&st.label, &recs));
        }
    }
    let head = format!(
        "{}: {} against {}\n",
        suite.name,
        sc_path.display(),
        if suite.reference.is_empty() {
            "the reference".to_string()
        } else {
            suite.reference.clone()
        }
    );
    Ok(Report {
        head,
        result: scalelab_report::ValidationResult {
            format: scalelab_report::validation::FORMAT.into(),
            version: scalelab_report::validation::VERSION,
            suite: suite.name.clone(),
            reference: suite.reference.clone(),
            rows,
            studies,
        },
    })
}

/// A study table: the runs' outcomes under one model, ranked by ESV.
pub fn study_table(t: &StudyTable) -> String {
    let mut out = format!(
        "{}:\n\n| run | energy (kWh) | migrations | completed | rolled back | not started | \
         SLATAH | PDM | SLAV | ESV | host shutdowns | downtime (VM-s) | mean pause |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        t.label
    );
    for r in &t.runs {
        let m = &r.metrics;
        let by = |o: Outcome| m.migrations_by_outcome.get(&o).copied().unwrap_or(0);
        let completed = by(Outcome::Completed);
        let not_started = m
            .unapplied_decisions_by_action
            .get(&ScalingAction::Migrate)
            .copied()
            .unwrap_or(0);
        let pause = if completed > 0 && m.migration_downtime_ms > 0 {
            format!(
                "{:.0} ms",
                m.migration_downtime_ms as f64 / completed as f64
            )
        } else {
            "0 ms".into()
        };
        let _ = writeln!(
            out,
            "| {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.run,
            m.energy_kwh.unwrap_or(0.0),
            human::count(m.migrations as u64),
            human::count(completed as u64),
            human::count(by(Outcome::RolledBack) as u64),
            human::count(not_started),
            show("slatah", m.overload_time_frac),
            show("pdm", m.pdm),
            show("slav", m.slav),
            match m.esv {
                Some(e) if e != 0.0 && e < 1e-3 => format!("{e:.2e}"),
                Some(e) => format!("{e:.5}"),
                None => "-".into(),
            },
            human::count(m.host_shutdowns as u64),
            human::count((m.migration_downtime_ms as f64 / 1000.0).round() as u64),
            pause,
        );
    }
    let _ = writeln!(
        out,
        "\nranked by ESV (best first): {}",
        ranking(t).join(", ")
    );
    out
}

/// The runs by ESV, lowest first (ties by label).
pub fn ranking(t: &StudyTable) -> Vec<String> {
    let mut v: Vec<(f64, &str)> = t
        .runs
        .iter()
        .map(|r| (r.metrics.esv.unwrap_or(f64::INFINITY), r.run.as_str()))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
    v.into_iter().map(|(_, l)| l.to_string()).collect()
}

/// The comparison as a Markdown table (also what the terminal shows).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| run | metric | scalelab | reference | difference | tolerance | |\n\
         | --- | --- | ---: | ---: | ---: | ---: | --- |\n",
    );
    for r in rows {
        let diff = if r.reference != 0.0 {
            format!(
                "{:+.2} %",
                (r.scalelab - r.reference) / r.reference.abs() * 100.0
            )
        } else {
            format!("{:+}", r.scalelab - r.reference)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.run,
            r.metric,
            show(&r.metric, r.scalelab),
            show(&r.metric, r.reference),
            diff,
            r.tolerance.as_deref().unwrap_or("-"),
            if r.ok { "ok" } else { "**outside**" }
        );
    }
    out
}
