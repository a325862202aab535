//! The report of a validation suite: scalelab's numbers beside the peer's, and the
//! studies that repeat the peer's experiment under another model.

use serde::{Deserialize, Serialize};

use scalelab_sim::human;
use scalelab_sim::record::{Outcome, RunMetrics};

use crate::ReportError;
use crate::html::{Figure, Page, Table};
use crate::plot::{self, BarChart};

pub const FORMAT: &str = "scalelab-validation";
pub const VERSION: u32 = 1;

/// What `scalelab validate --json` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationResult {
    pub format: String,
    pub version: u32,
    pub suite: String,
    /// Where the peer's numbers come from.
    pub reference: String,
    pub rows: Vec<ValidationRow>,
    #[serde(default)]
    pub studies: Vec<Study>,
}

/// One compared number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRow {
    pub run: String,
    pub metric: String,
    pub scalelab: f64,
    pub reference: f64,
    /// The tolerance as the suite states it (`5 %`, `0.02 pp`); none: reported only.
    pub tolerance: Option<String>,
    pub ok: bool,
}

/// The suite's runs under one model: the peer's (the first) or a study's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    pub label: String,
    pub runs: Vec<StudyRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRun {
    pub run: String,
    pub metrics: RunMetrics,
}

impl ValidationResult {
    pub fn check(&self) -> Result<(), ReportError> {
        if self.format != FORMAT {
            return Err(ReportError::Record(format!(
                "format is {:?}, expected {FORMAT:?}",
                self.format
            )));
        }
        if self.version > VERSION {
            return Err(ReportError::Record(format!(
                "validation result version {} is newer than this scalelab reads ({VERSION})",
                self.version
            )));
        }
        Ok(())
    }
}

/// A compared metric's value for a person (the validation's own metric names; SLATAH,
/// PDM and SLAV are fractions).
fn show(metric: &str, v: f64) -> String {
    match metric {
        "slatah" | "pdm" | "slav" => human::percent(v),
        m => human::with_unit(m, v),
    }
}

/// Runs in the order the suite lists them, metrics likewise.
fn ordered(rows: &[ValidationRow], f: impl Fn(&ValidationRow) -> &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for r in rows {
        let v = f(r).to_string();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

pub fn validation_report(v: &ValidationResult) -> Result<Page, ReportError> {
    v.check()?;
    let bad = v.rows.iter().filter(|r| !r.ok).count();
    let mut page = Page::new(
        &format!("Validation report: {}", v.suite),
        &format!(
            "reference: {}; {} of {} numbers within tolerance",
            v.reference,
            v.rows.len() - bad,
            v.rows.len()
        ),
    );
    page.section("scalelab beside the reference");
    page.table(&Table {
        caption: "Every compared number; highlighted rows are outside tolerance.".into(),
        headers: [
            "run",
            "metric",
            "scalelab",
            "reference",
            "difference",
            "tolerance",
            "within",
        ]
        .map(String::from)
        .to_vec(),
        rows: v
            .rows
            .iter()
            .map(|r| {
                let rel = if r.reference.abs() > 1e-12 {
                    format!(
                        "{:+.2} %",
                        (r.scalelab - r.reference) / r.reference.abs() * 100.0
                    )
                } else {
                    "-".into()
                };
                vec![
                    r.run.clone(),
                    r.metric.clone(),
                    show(&r.metric, r.scalelab),
                    show(&r.metric, r.reference),
                    rel,
                    r.tolerance.clone().unwrap_or_else(|| "reported".into()),
                    if r.ok { "yes" } else { "NO" }.into(),
                ]
            })
            .collect(),
        left: 2,
        marked: v.rows.iter().map(|r| !r.ok).collect(),
    });
    let runs = ordered(&v.rows, |r| &r.run);
    for (k, metric) in ordered(&v.rows, |r| &r.metric).iter().enumerate() {
        let pick = |f: fn(&ValidationRow) -> f64| -> Vec<f64> {
            runs.iter()
                .map(|run| {
                    v.rows
                        .iter()
                        .find(|r| &r.run == run && &r.metric == metric)
                        .map_or(f64::NAN, f)
                })
                .collect()
        };
        let pct = matches!(metric.as_str(), "slatah" | "pdm" | "slav");
        let scale = |xs: Vec<f64>| -> Vec<f64> {
            xs.into_iter()
                .map(|x| if pct { x * 100.0 } else { x })
                .collect()
        };
        let svg = plot::bars(&BarChart {
            size: (700, 320),
            y_desc: if pct {
                format!("{metric} (%)")
            } else {
                human::header(metric)
            },
            categories: runs.clone(),
            groups: vec![
                ("scalelab".into(), scale(pick(|r| r.scalelab))),
                ("reference".into(), scale(pick(|r| r.reference))),
            ],
        })?;
        page.figure(Figure {
            id: format!("fig-validation-{k}"),
            title: format!("{metric}: scalelab and the reference"),
            svg,
            caption: format!(
                "Per policy, scalelab's {metric} (left bar) beside the reference's (right \
                 bar); bars of equal height agree."
            ),
        });
    }
    if !v.studies.is_empty() {
        page.section("The same runs under other models");
        for s in &v.studies {
            page.table(&study_table(s));
        }
        let runs: Vec<String> = v.studies[0].runs.iter().map(|r| r.run.clone()).collect();
        let svg = plot::bars(&BarChart {
            size: (900, 340),
            y_desc: "ESV (energy x SLAV)".into(),
            categories: runs.clone(),
            groups: v
                .studies
                .iter()
                .map(|s| {
                    (
                        s.label.clone(),
                        runs.iter()
                            .map(|r| {
                                s.runs
                                    .iter()
                                    .find(|x| &x.run == r)
                                    .and_then(|x| x.metrics.esv)
                                    .unwrap_or(f64::NAN)
                            })
                            .collect(),
                    )
                })
                .collect(),
        })?;
        page.figure(Figure {
            id: "fig-studies-esv".into(),
            title: "ESV by policy under each model".into(),
            svg,
            caption: "Lower is better. Where the order of a policy's bars changes between \
                      models, the literature's ranking depends on how migrations are modelled."
                .into(),
        });
    }
    Ok(page)
}

fn study_table(s: &Study) -> Table {
    let by = |m: &RunMetrics, o: Outcome| {
        u64::from(m.migrations_by_outcome.get(&o).copied().unwrap_or(0))
    };
    Table {
        caption: s.label.clone(),
        headers: [
            "run",
            "energy (kWh)",
            "migrations",
            "rolled back",
            "SLATAH (%)",
            "PDM (%)",
            "SLAV (%)",
            "ESV",
            "host shutdowns",
            "migration downtime",
        ]
        .map(String::from)
        .to_vec(),
        rows: s
            .runs
            .iter()
            .map(|r| {
                let m = &r.metrics;
                vec![
                    r.run.clone(),
                    m.energy_kwh.map_or("-".into(), human::number),
                    human::count(m.migrations.into()),
                    human::count(by(m, Outcome::RolledBack)),
                    human::percent_number(m.overload_time_frac),
                    human::percent_number(m.pdm),
                    human::percent_number(m.slav),
                    m.esv.map_or("-".into(), human::number),
                    human::count(m.host_shutdowns.into()),
                    human::duration_ms(m.migration_downtime_ms as f64),
                ]
            })
            .collect(),
        left: 1,
        marked: vec![],
    }
}
