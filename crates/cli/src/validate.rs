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
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use scalelab_sim::baselines::{Baseline, VmSelection};
use scalelab_sim::record::RunMetrics;
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
    baseline: Baseline,
    #[serde(default)]
    parameter: Option<f64>,
    #[serde(default)]
    selection: VmSelection,
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

/// One compared number.
#[derive(Debug, Clone)]
pub struct Row {
    pub run: String,
    pub metric: String,
    pub scalelab: f64,
    pub reference: f64,
    pub tolerance: Option<String>,
    pub ok: bool,
}

fn show(metric: &str, v: f64) -> String {
    match metric {
        "migrations" | "host_shutdowns" => crate::run::thousands(v.round() as u64),
        "slatah" | "pdm" => format!("{:.2} %", v * 100.0),
        "slav" => format!("{:.5} %", v * 100.0),
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

/// Run the suite; the rows in run order, then metric order.
pub fn validate(path: &Path, records: Option<&Path>) -> Result<(String, Vec<Row>)> {
    let suite = parse_suite(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let sc_path = base.join(&suite.scenario);
    let text = read(&sc_path)?;
    let mut parsed = ParsedScenario::parse(&text).with_context(|| sc_path.display().to_string())?;
    crate::trace_cmd::load_traces(&mut parsed.scenario, &sc_path)?;
    let jobs: Vec<_> = suite
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut sc = parsed.scenario.clone();
            sc.sim.baseline = Some(r.baseline);
            sc.sim.baseline_parameter = r.parameter;
            sc.sim.vm_selection = r.selection;
            sc.validate()
                .with_context(|| format!("{}: runs[{i}] ({})", path.display(), r.label))?;
            Ok((r, sc))
        })
        .collect::<Result<_>>()?;
    // One thread per run: the runs are independent and each is single-threaded.
    let results: Vec<Result<scalelab_sim::RunRecord>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(r, sc)| {
                let hash = parsed.content_hash.clone();
                let sc_path = &sc_path;
                s.spawn(move || {
                    run_scenario(sc.clone(), hash, RunOptions::default(), &mut |_, _| {})
                        .map_err(|e| anyhow!("{}: {}: {e}", sc_path.display(), r.label))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a run panicked"))))
            .collect()
    });
    let mut rows = Vec::new();
    for ((r, _), rec) in jobs.iter().zip(results) {
        let rec = rec?;
        if let Some(dir) = records {
            let out = dir.join(format!("{}-{}.run.json", suite.name, r.label));
            crate::run::write_record(&rec, &out)?;
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
    Ok((head, rows))
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
