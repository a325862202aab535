//! `scalelab check`: a policy regression gate for users' CI.
//!
//! A suite lists scenarios and seeds and, optionally, the policy under test. Each run's
//! metrics are compared with a stored baseline under per-metric tolerances; anything
//! worse than its tolerance is a regression and the command exits non-zero. Reports:
//! a table on stdout, JUnit XML (one test case per scenario, seed and metric) and a
//! Markdown summary for a pull-request comment.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use scalelab_engine::PolicyConfig;
use scalelab_engine::input::{InputError, check_non_negative, ensure, from_toml_str};
use scalelab_sim::human;
use scalelab_sim::record::RunMetrics;
use scalelab_sim::{ParsedScenario, RunOptions, run_scenario};

use crate::files::{read, write_atomic_with, write_json_atomic};

/// The metrics a suite guards. All are "lower is better".
pub const METRICS: [&str; 11] = [
    "overload_time_frac",
    "migrations",
    "rollback_rate",
    "total_downtime_ms",
    "data_loss_events",
    "expected_vs_actual_mae",
    // How far each of the plan's other estimates is from what happened.
    "downtime_error_ms_mae",
    "completion_error_s_mae",
    "data_sent_error_mib_mae",
    "precopy_rounds_error_mae",
    "source_utilization_error_mae",
];

/// One of [`METRICS`] of a run, by name (the same mapping sweeps use).
fn metric(m: &RunMetrics, name: &str) -> Option<f64> {
    scalelab_backtest::exec::metrics_map(m)
        .get(name)
        .copied()
        .flatten()
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Allowed increase in the metric's own unit.
    #[serde(default)]
    pub abs: f64,
    /// Allowed increase as a fraction of the baseline value.
    #[serde(default)]
    pub rel: f64,
}

impl Tolerance {
    /// The larger of the two allowances.
    pub fn allowed(&self, baseline: f64) -> f64 {
        self.abs.max(self.rel * baseline.abs())
    }
}

fn default_tolerances() -> BTreeMap<String, Tolerance> {
    [
        ("overload_time_frac", 0.005, 0.0),
        ("migrations", 1.0, 0.10),
        ("rollback_rate", 0.05, 0.0),
        ("total_downtime_ms", 100.0, 0.10),
        ("data_loss_events", 0.0, 0.0),
        ("expected_vs_actual_mae", 0.01, 0.0),
        ("downtime_error_ms_mae", 100.0, 0.10),
        ("completion_error_s_mae", 5.0, 0.10),
        ("data_sent_error_mib_mae", 100.0, 0.10),
        ("precopy_rounds_error_mae", 1.0, 0.10),
        ("source_utilization_error_mae", 0.01, 0.0),
    ]
    .into_iter()
    .map(|(k, abs, rel)| (k.to_string(), Tolerance { abs, rel }))
    .collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteRun {
    /// Scenario path, relative to the suite file.
    pub scenario: PathBuf,
    /// Seeds to run; empty = the scenario's own seed.
    #[serde(default)]
    pub seeds: Vec<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    /// Policy file under test, relative to the suite; absent = each scenario's own.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// Baseline file, relative to the suite (default `NAME.baseline.json`).
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    pub runs: Vec<SuiteRun>,
    /// Per-metric tolerances, merged over the defaults.
    #[serde(default)]
    pub tolerances: BTreeMap<String, Tolerance>,
}

impl Suite {
    fn validate(&self) -> Result<(), InputError> {
        ensure(!self.runs.is_empty(), "runs", || {
            "at least one run is needed".into()
        })?;
        for (name, t) in &self.tolerances {
            let at = format!("tolerances.{name}");
            ensure(METRICS.contains(&name.as_str()), &at, || {
                format!("unknown metric (one of {})", METRICS.join(", "))
            })?;
            check_non_negative(&format!("{at}.abs"), t.abs)?;
            check_non_negative(&format!("{at}.rel"), t.rel)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub scenario: String,
    pub seed: u64,
    pub metrics: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub suite: String,
    pub scalelab_version: String,
    pub entries: Vec<BaselineEntry>,
}

/// One comparison of one metric of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub scenario: String,
    pub seed: u64,
    pub metric: String,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub allowed: f64,
    pub status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Same,
    Better,
    /// Worse, but within the tolerance.
    WithinTolerance,
    Regression,
    /// No baseline entry for this run (new scenario or seed).
    New,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Same => "same",
            Self::Better => "better",
            Self::WithinTolerance => "worse (within tolerance)",
            Self::Regression => "REGRESSION",
            Self::New => "new (no baseline)",
        }
    }
}

/// Compare one value with its baseline (lower is better).
pub fn judge(baseline: Option<f64>, current: Option<f64>, tol: Tolerance) -> (Status, f64) {
    match (baseline, current) {
        (Some(b), Some(c)) => {
            let allowed = tol.allowed(b);
            let status = if c == b {
                Status::Same
            } else if c < b {
                Status::Better
            } else if c - b <= allowed + 1e-12 {
                Status::WithinTolerance
            } else {
                Status::Regression
            };
            (status, allowed)
        }
        // A metric that disappeared (nothing measured now) is not a regression by
        // itself; one that appeared is compared from now on.
        (None, _) | (_, None) => (Status::Same, 0.0),
    }
}

pub struct Options<'a> {
    pub suite: &'a Path,
    pub baseline: Option<&'a Path>,
    pub junit: Option<&'a Path>,
    pub markdown: Option<&'a Path>,
    pub update_baseline: bool,
}

pub fn check(o: &Options<'_>) -> Result<()> {
    let text = read(o.suite)?;
    let suite: Suite = from_toml_str(&text).with_context(|| o.suite.display().to_string())?;
    suite
        .validate()
        .with_context(|| o.suite.display().to_string())?;
    let dir = o.suite.parent().unwrap_or(Path::new("."));
    let baseline_path = o.baseline.map(Path::to_path_buf).unwrap_or_else(|| {
        dir.join(
            suite
                .baseline
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("{}.baseline.json", suite.name))),
        )
    });
    let policy = match &suite.policy {
        Some(p) => {
            let path = dir.join(p);
            let src = read(&path)?;
            Some(PolicyConfig::from_toml_str(&src).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let mut tolerances = default_tolerances();
    tolerances.extend(suite.tolerances.clone());

    // Run everything first: a broken scenario fails before any report is written.
    let mut results: Vec<(String, u64, RunMetrics)> = Vec::new();
    for (i, r) in suite.runs.iter().enumerate() {
        let path = dir.join(&r.scenario);
        let src = read(&path).with_context(|| format!("{}: runs[{i}]", o.suite.display()))?;
        let ParsedScenario {
            scenario: mut sc,
            content_hash,
        } = ParsedScenario::parse(&src).with_context(|| path.display().to_string())?;
        crate::trace_cmd::load_traces(&mut sc, &path)?;
        if let Some(p) = &policy {
            sc.policy = p.clone();
        }
        let seeds = if r.seeds.is_empty() {
            vec![sc.seed]
        } else {
            r.seeds.clone()
        };
        for seed in seeds {
            let opts = RunOptions {
                seed: Some(seed),
                check_limits: false,
                reject_violations: true,
            };
            let rec = run_scenario(sc.clone(), content_hash.clone(), opts, &mut |_, _| {})
                .with_context(|| path.display().to_string())?;
            results.push((rec.scenario.name.clone(), seed, rec.metrics));
        }
    }

    if o.update_baseline {
        let b = Baseline {
            suite: suite.name.clone(),
            scalelab_version: env!("CARGO_PKG_VERSION").to_string(),
            entries: results
                .iter()
                .map(|(name, seed, m)| BaselineEntry {
                    scenario: name.clone(),
                    seed: *seed,
                    metrics: METRICS
                        .iter()
                        .map(|k| (k.to_string(), metric(m, k)))
                        .collect(),
                })
                .collect(),
        };
        write_json_atomic(&baseline_path, &b)?;
        println!(
            "baseline for suite {} written to {} ({} runs)",
            suite.name,
            baseline_path.display(),
            b.entries.len()
        );
        return Ok(());
    }

    let btext = std::fs::read_to_string(&baseline_path).with_context(|| {
        format!(
            "{}: cannot read the baseline (create it with --update-baseline)",
            baseline_path.display()
        )
    })?;
    let baseline: Baseline = scalelab_engine::input::from_json_str(&btext)
        .with_context(|| baseline_path.display().to_string())?;
    let mut verdicts = Vec::new();
    for (name, seed, m) in &results {
        let entry = baseline
            .entries
            .iter()
            .find(|e| &e.scenario == name && e.seed == *seed);
        for k in METRICS {
            let current = metric(m, k);
            let (status, allowed, base) = match entry {
                None => (Status::New, 0.0, None),
                Some(e) => {
                    let b = e.metrics.get(k).copied().flatten();
                    let (s, a) = judge(b, current, tolerances.get(k).copied().unwrap_or_default());
                    (s, a, b)
                }
            };
            verdicts.push(Verdict {
                scenario: name.clone(),
                seed: *seed,
                metric: k.to_string(),
                baseline: base,
                current,
                allowed,
                status,
            });
        }
    }
    print!("{}", table(&suite.name, &verdicts));
    if let Some(p) = o.junit {
        let xml = junit(&suite.name, &verdicts);
        write_atomic_with(p, |w| w.write_all(xml.as_bytes()))?;
    }
    if let Some(p) = o.markdown {
        let md = markdown(&suite.name, &verdicts);
        write_atomic_with(p, |w| w.write_all(md.as_bytes()))?;
    }
    let regressions = verdicts
        .iter()
        .filter(|v| v.status == Status::Regression)
        .count();
    if regressions > 0 {
        bail!(
            "suite {}: {regressions} regression(s) against {}",
            suite.name,
            baseline_path.display()
        );
    }
    Ok(())
}

/// A metric's value for a person, with its unit (`-` when absent).
fn fmt_opt(metric: &str, v: Option<f64>) -> String {
    v.map_or("-".into(), |x| human::with_unit(metric, x))
}

pub fn table(suite: &str, vs: &[Verdict]) -> String {
    let mut s = format!("suite {suite}\n");
    let _ = writeln!(
        s,
        "{:<26} {:>6}  {:<24} {:>12} {:>12} {:>10}  status",
        "scenario", "seed", "metric", "baseline", "current", "allowed"
    );
    for v in vs {
        let _ = writeln!(
            s,
            "{:<26} {:>6}  {:<24} {:>12} {:>12} {:>10}  {}",
            v.scenario,
            v.seed,
            v.metric,
            fmt_opt(&v.metric, v.baseline),
            fmt_opt(&v.metric, v.current),
            format!("+{}", fmt_opt(&v.metric, Some(v.allowed))),
            v.status.label()
        );
    }
    let count = |st: Status| vs.iter().filter(|v| v.status == st).count();
    let _ = writeln!(
        s,
        "{} checks: {} better, {} same, {} worse within tolerance, {} regressions, {} new",
        vs.len(),
        count(Status::Better),
        count(Status::Same),
        count(Status::WithinTolerance),
        count(Status::Regression),
        count(Status::New)
    );
    s
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// JUnit XML: one `<testcase>` per scenario, seed and metric; regressions fail.
pub fn junit(suite: &str, vs: &[Verdict]) -> String {
    let failures = vs.iter().filter(|v| v.status == Status::Regression).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"scalelab check\" tests=\"{}\" failures=\"{failures}\">",
        vs.len()
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        xml_escape(suite),
        vs.len()
    );
    for v in vs {
        let _ = write!(
            s,
            "    <testcase classname=\"{}.seed{}\" name=\"{}\"",
            xml_escape(&v.scenario),
            v.seed,
            xml_escape(&v.metric)
        );
        let detail = format!(
            "baseline {}, current {}, allowed +{}: {}",
            fmt_opt(&v.metric, v.baseline),
            fmt_opt(&v.metric, v.current),
            fmt_opt(&v.metric, Some(v.allowed)),
            v.status.label()
        );
        if v.status == Status::Regression {
            let _ = writeln!(
                s,
                ">\n      <failure message=\"{}\" type=\"regression\">{}</failure>\n    </testcase>",
                xml_escape(&detail),
                xml_escape(&detail)
            );
        } else {
            let _ = writeln!(
                s,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                xml_escape(&detail)
            );
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// A Markdown summary for a pull-request comment: totals, then only what changed.
pub fn markdown(suite: &str, vs: &[Verdict]) -> String {
    let regressions = vs.iter().filter(|v| v.status == Status::Regression).count();
    let mut s = format!(
        "### scalelab check: {suite} {}\n\n",
        if regressions > 0 {
            format!("❌ {regressions} regression(s)")
        } else {
            "✅ no regressions".to_string()
        }
    );
    let changed: Vec<_> = vs.iter().filter(|v| v.status != Status::Same).collect();
    let _ = writeln!(
        s,
        "{} checks over {} runs; {} changed.\n",
        vs.len(),
        vs.len() / METRICS.len().max(1),
        changed.len()
    );
    if !changed.is_empty() {
        s.push_str("| scenario | seed | metric | baseline | current | allowed | |\n");
        s.push_str("|---|---:|---|---:|---:|---:|---|\n");
        for v in changed {
            let icon = match v.status {
                Status::Regression => "❌",
                Status::Better => "✅",
                Status::WithinTolerance => "⚠️",
                _ => "🆕",
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | +{} | {icon} {} |",
                v.scenario,
                v.seed,
                v.metric,
                fmt_opt(&v.metric, v.baseline),
                fmt_opt(&v.metric, v.current),
                fmt_opt(&v.metric, Some(v.allowed)),
                v.status.label()
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_edges() {
        let t = Tolerance { abs: 1.0, rel: 0.1 };
        // allowed = max(1, 10 % of 20) = 2
        assert_eq!(judge(Some(20.0), Some(22.0), t).0, Status::WithinTolerance);
        assert_eq!(judge(Some(20.0), Some(22.0001), t).0, Status::Regression);
        assert_eq!(judge(Some(20.0), Some(19.0), t).0, Status::Better);
        assert_eq!(judge(Some(20.0), Some(20.0), t).0, Status::Same);
        // Small baselines fall back to the absolute allowance.
        assert_eq!(judge(Some(2.0), Some(3.0), t).0, Status::WithinTolerance);
        assert_eq!(judge(Some(2.0), Some(3.01), t).0, Status::Regression);
        // Zero tolerance: any increase regresses.
        let z = Tolerance::default();
        assert_eq!(judge(Some(0.0), Some(1.0), z).0, Status::Regression);
        assert_eq!(judge(Some(0.0), Some(0.0), z).0, Status::Same);
        assert_eq!(judge(None, Some(1.0), z).0, Status::Same);
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(
            xml_escape("a<b & \"c\"'"),
            "a&lt;b &amp; &quot;c&quot;&apos;"
        );
    }
}
