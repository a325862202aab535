//! The report of a sweep's output directory: leaderboard, Pareto front, the objective
//! against each swept parameter, and per-scenario spread across seeds.
//!
//! The directory's tables come in as plain columns ([`Frame`]) so that this crate needs
//! no DataFrame library; the binary reads the Parquet files and hands them over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use scalelab_sim::human;

use crate::ReportError;
use crate::html::{Figure, Page, Table};
use crate::plot::{self, HeatChart, Line, LineChart, ScatterChart, ScatterGroup};

pub const META_FORMAT: &str = "scalelab-sweep";
pub const META_VERSION: u32 = 1;
/// The file a sweep writes beside its tables, saying what was swept and how runs are
/// scored, so the report can score single runs as the sweep scored configs.
pub const META_FILE: &str = "sweep.json";

/// What a sweep was: its parameters and the objective and constraints it ranked by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepMeta {
    pub format: String,
    pub version: u32,
    pub name: String,
    /// Swept parameters, as the tables' `p:NAME` columns name them.
    pub parameters: Vec<String>,
    /// Objective = sum of weight x metric (lower is better).
    pub weights: BTreeMap<String, f64>,
    /// metric -> [min, max] (either may be absent).
    #[serde(default)]
    pub constraints: BTreeMap<String, [Option<f64>; 2]>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Text(String),
    Null,
}

/// A table as named columns of equal length.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub names: Vec<String>,
    pub columns: Vec<Vec<Value>>,
}

impl Frame {
    pub fn height(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    pub fn col(&self, name: &str) -> Option<&[Value]> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(&self.columns[i])
    }

    pub fn num(&self, name: &str, row: usize) -> Option<f64> {
        match self.col(name)?.get(row)? {
            Value::Num(x) if x.is_finite() => Some(*x),
            Value::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn text(&self, name: &str, row: usize) -> Option<String> {
        match self.col(name)?.get(row)? {
            Value::Text(s) => Some(s.clone()),
            Value::Num(x) => Some(format!("{x}")),
            Value::Null => None,
        }
    }

    /// Whether a column exists and every row has a value the check accepts.
    fn require(&self, file: &str, names: &[&str]) -> Result<(), ReportError> {
        for n in names {
            if self.col(n).is_none() {
                return Err(ReportError::Input(format!("{file}: no column {n:?}")));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct SweepData {
    pub meta: SweepMeta,
    /// `configs.parquet`: one row per config (aggregates, objective, rank, pareto).
    pub configs: Frame,
    /// `runs.parquet`: one row per (config, scenario, seed).
    pub runs: Frame,
}

impl SweepData {
    /// The columns the report reads, present in both tables.
    pub fn check(&self) -> Result<(), ReportError> {
        self.configs.require(
            "configs",
            &[
                "config_id",
                "policy",
                "objective",
                "feasible",
                "rank",
                "pareto",
            ],
        )?;
        self.runs
            .require("runs", &["config_id", "scenario", "seed"])?;
        for p in &self.meta.parameters {
            self.configs.require("configs", &[&format!("p:{p}")])?;
        }
        Ok(())
    }

    /// A run's objective, as the sweep scores a config's means: weight x metric summed,
    /// a missing metric counting 0.
    pub fn run_objective(&self, row: usize) -> f64 {
        self.meta
            .weights
            .iter()
            .map(|(m, w)| w * self.runs.num(m, row).unwrap_or(0.0))
            .sum()
    }

    /// Per (config, seed): the mean over scenarios of the run objective.
    pub fn seed_objectives(&self) -> BTreeMap<u32, BTreeMap<u64, f64>> {
        let mut acc: BTreeMap<u32, BTreeMap<u64, (f64, u32)>> = BTreeMap::new();
        for i in 0..self.runs.height() {
            let (Some(c), Some(s)) = (self.runs.num("config_id", i), self.runs.num("seed", i))
            else {
                continue;
            };
            let e = acc
                .entry(c as u32)
                .or_default()
                .entry(s as u64)
                .or_default();
            e.0 += self.run_objective(i);
            e.1 += 1;
        }
        acc.into_iter()
            .map(|(c, m)| {
                (
                    c,
                    m.into_iter()
                        .map(|(s, (sum, n))| (s, sum / f64::from(n)))
                        .collect(),
                )
            })
            .collect()
    }
}

/// The objective against one parameter: for each of its values, the best config with
/// that value and its spread across seeds, and every config's objective.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamCurve {
    /// Value labels when the parameter is not numeric (x = 0, 1, ...).
    pub categories: Vec<String>,
    /// (x, objective of the best config with that value).
    pub best: Vec<(f64, f64)>,
    /// (x, lowest, highest seed objective of that config).
    pub band: Vec<(f64, f64, f64)>,
    /// (x, objective) of every config with the value.
    pub all: Vec<(f64, f64)>,
}

pub fn param_curve(d: &SweepData, param: &str) -> ParamCurve {
    let col = format!("p:{param}");
    let rows: Vec<(usize, String, f64)> = (0..d.configs.height())
        .filter_map(|i| {
            let v = d.configs.text(&col, i)?;
            Some((i, v, d.configs.num("objective", i)?))
        })
        .collect();
    let numeric = rows.iter().all(|(_, v, _)| v.parse::<f64>().is_ok());
    let mut values: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    if numeric {
        values.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap_or(0.0)
                .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
        });
    } else {
        values.sort();
    }
    values.dedup();
    let x_of = |v: &str| -> f64 {
        if numeric {
            v.parse().unwrap_or(0.0)
        } else {
            values.iter().position(|x| x == v).unwrap_or(0) as f64
        }
    };
    let seeds = d.seed_objectives();
    let mut curve = ParamCurve {
        categories: if numeric { vec![] } else { values.clone() },
        best: vec![],
        band: vec![],
        all: rows.iter().map(|(_, v, o)| (x_of(v), *o)).collect(),
    };
    for v in &values {
        let best = rows
            .iter()
            .filter(|r| &r.1 == v)
            .min_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
        let Some(&(i, _, obj)) = best else { continue };
        let x = x_of(v);
        curve.best.push((x, obj));
        let id = d.configs.num("config_id", i).unwrap_or(-1.0) as u32;
        if let Some(per_seed) = seeds.get(&id) {
            let (lo, hi) = plot::extent(per_seed.values().copied());
            if lo.is_finite() {
                curve.band.push((x, lo, hi));
            }
        }
    }
    curve
}

/// Best objective on the grid of two parameters' values: (row values, column values,
/// cells[row][col], NaN where no config has the pair).
pub fn param_grid(d: &SweepData, a: &str, b: &str) -> (Vec<String>, Vec<String>, Vec<Vec<f64>>) {
    let (ca, cb) = (format!("p:{a}"), format!("p:{b}"));
    let sorted = |col: &str| {
        let mut v: Vec<String> = (0..d.configs.height())
            .filter_map(|i| d.configs.text(col, i))
            .collect();
        v.sort_by(|x, y| match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.total_cmp(&q),
            _ => x.cmp(y),
        });
        v.dedup();
        v
    };
    let (ra, rb) = (sorted(&ca), sorted(&cb));
    let mut cells = vec![vec![f64::NAN; rb.len()]; ra.len()];
    for i in 0..d.configs.height() {
        let (Some(x), Some(y), Some(o)) = (
            d.configs.text(&ca, i),
            d.configs.text(&cb, i),
            d.configs.num("objective", i),
        ) else {
            continue;
        };
        let (r, c) = (
            ra.iter().position(|v| *v == x),
            rb.iter().position(|v| *v == y),
        );
        if let (Some(r), Some(c)) = (r, c) {
            let cell = &mut cells[r][c];
            if cell.is_nan() || o < *cell {
                *cell = o;
            }
        }
    }
    (ra, rb, cells)
}

/// Leaderboard columns: (configs column, header metric name for units).
const BOARD: [(&str, &str); 6] = [
    ("overload_time_frac_mean", "overload_time_frac"),
    ("migrations_mean", "migrations"),
    ("rollback_rate_mean", "rollback_rate"),
    ("total_downtime_ms_mean", "downtime"),
    ("data_loss_events_mean", "data_loss_events"),
    ("expected_vs_actual_mae_mean", "expected_vs_actual_mae"),
];

/// Config rows in leaderboard order: feasible by rank, then the rest by objective.
fn board_order(d: &SweepData) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..d.configs.height()).collect();
    let key = |i: usize| {
        let rank = d.configs.num("rank", i);
        (
            rank.is_none(),
            rank.unwrap_or(0.0),
            d.configs.num("objective", i).unwrap_or(f64::INFINITY),
        )
    };
    idx.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(a.cmp(&b))
    });
    idx
}

fn yes(d: &SweepData, col: &str, i: usize) -> bool {
    matches!(
        d.configs.text(col, i).as_deref(),
        Some("true" | "yes" | "1")
    ) || d.configs.num(col, i) == Some(1.0)
}

fn leaderboard(d: &SweepData, top: usize) -> Table {
    let mut headers = vec!["rank".to_string(), "config".into(), "policy".into()];
    headers.extend(d.meta.parameters.iter().cloned());
    headers.extend(["objective".into(), "feasible".into(), "Pareto".into()]);
    headers.extend(BOARD.iter().map(|(_, m)| human::header(m)));
    let mut rows = vec![];
    let mut marked = vec![];
    for &i in board_order(d).iter().take(top) {
        let mut r = vec![
            d.configs.num("rank", i).map_or("-".into(), human::count_f),
            d.configs.text("config_id", i).unwrap_or_default(),
            d.configs.text("policy", i).unwrap_or_default(),
        ];
        for p in &d.meta.parameters {
            r.push(
                d.configs
                    .text(&format!("p:{p}"), i)
                    .unwrap_or_else(|| "-".into()),
            );
        }
        r.push(
            d.configs
                .num("objective", i)
                .map_or("-".into(), human::number),
        );
        r.push(if yes(d, "feasible", i) { "yes" } else { "no" }.into());
        r.push(if yes(d, "pareto", i) { "yes" } else { "no" }.into());
        for (c, m) in BOARD {
            r.push(
                d.configs
                    .num(c, i)
                    .map_or("-".into(), |v| human::metric(m, v)),
            );
        }
        marked.push(yes(d, "pareto", i));
        rows.push(r);
    }
    Table {
        caption: format!(
            "Leaderboard: the {} best configs (means over scenarios and seeds; lower \
             objective is better; highlighted rows are on the Pareto front of overload, \
             migrations and expected-vs-actual error).",
            rows.len()
        ),
        headers,
        rows,
        left: 3 + d.meta.parameters.len(),
        marked,
    }
}

/// The three 2-D projections of the Pareto front the sweep computes.
const PARETO_AXES: [(&str, &str, &str, &str); 3] = [
    (
        "overload_time_frac_mean",
        "overload time (%)",
        "migrations_mean",
        "migrations (mean count)",
    ),
    (
        "overload_time_frac_mean",
        "overload time (%)",
        "expected_vs_actual_mae_mean",
        "expected vs actual utilization MAE",
    ),
    (
        "migrations_mean",
        "migrations (mean count)",
        "expected_vs_actual_mae_mean",
        "expected vs actual utilization MAE",
    ),
];

pub type Points = Vec<(f64, f64)>;

/// (x, y) of every config and of those on the front, for one projection; fractions
/// as percentages.
pub fn pareto_points(d: &SweepData, x: &str, y: &str) -> (Points, Points) {
    let scale = |c: &str| if c.contains("_frac") { 100.0 } else { 1.0 };
    let (mut all, mut front) = (vec![], vec![]);
    for i in 0..d.configs.height() {
        let (Some(a), Some(b)) = (d.configs.num(x, i), d.configs.num(y, i)) else {
            continue;
        };
        let p = (a * scale(x), b * scale(y));
        if yes(d, "pareto", i) {
            front.push(p);
        } else {
            all.push(p);
        }
    }
    (all, front)
}

pub fn sweep_report(d: &SweepData) -> Result<Page, ReportError> {
    d.check()?;
    let scenarios: Vec<String> = {
        let mut s: Vec<String> = (0..d.runs.height())
            .filter_map(|i| d.runs.text("scenario", i))
            .collect();
        s.sort();
        s.dedup();
        s
    };
    let mut page = Page::new(
        &format!("Sweep report: {}", d.meta.name),
        &format!(
            "{} configs x {} scenarios, {} runs; swept: {}; objective = {}",
            d.configs.height(),
            scenarios.len(),
            human::count(d.runs.height() as u64),
            if d.meta.parameters.is_empty() {
                "nothing".into()
            } else {
                d.meta.parameters.join(", ")
            },
            d.meta
                .weights
                .iter()
                .map(|(m, w)| format!("{w} x {m}"))
                .collect::<Vec<_>>()
                .join(" + ")
        ),
    );
    page.section("Leaderboard");
    page.table(&leaderboard(d, 15));

    page.section("Pareto front");
    for (k, (x, xd, y, yd)) in PARETO_AXES.iter().enumerate() {
        let (all, front) = pareto_points(d, x, y);
        if all.is_empty() && front.is_empty() {
            continue;
        }
        let svg = plot::scatter(&ScatterChart {
            size: plot::SQUARE,
            x_desc: xd.to_string(),
            y_desc: yd.to_string(),
            groups: vec![
                ScatterGroup {
                    name: "dominated".into(),
                    points: all,
                    emphasis: false,
                },
                ScatterGroup {
                    name: "on the Pareto front".into(),
                    points: front,
                    emphasis: true,
                },
            ],
            diagonal: false,
            note: String::new(),
        })?;
        page.figure(Figure {
            id: format!("fig-pareto-{k}"),
            title: format!("Pareto front: {xd} against {yd}"),
            svg,
            caption: "One dot per config (means over runs); lower is better on both axes. \
                      Orange configs are not beaten on all three of overload, migrations and \
                      expected-vs-actual error by any other; in this 2-D projection a front \
                      config can look dominated because the third axis is hidden."
                .into(),
        });
    }

    if !d.meta.parameters.is_empty() {
        page.section("Objective against each parameter");
    }
    for (k, p) in d.meta.parameters.iter().enumerate() {
        let c = param_curve(d, p);
        if c.best.is_empty() {
            continue;
        }
        let svg = plot::lines(&LineChart {
            size: plot::WIDE,
            x_desc: p.clone(),
            y_desc: "objective (lower is better)".into(),
            lines: vec![
                Line {
                    name: "best config with this value (shaded: its seeds)".into(),
                    points: c.best.clone(),
                    band: c.band.clone(),
                    dots: true,
                    ..Line::default()
                },
                Line {
                    name: "every config with this value".into(),
                    points: c.all.clone(),
                    dots: true,
                    dashed: true,
                    ..Line::default()
                },
            ],
            marks: vec![],
            categories: c.categories.clone(),
            y_from_zero: false,
        })?;
        page.figure(Figure {
            id: format!("fig-param-{k}"),
            title: format!("Objective against {p}"),
            svg,
            caption: format!(
                "For each value of {p}: the objective of the best config that has it \
                 (solid), the range of that config's objective across seeds (shaded: each \
                 seed's mean over scenarios), and every config with the value (dots on \
                 the dashed path). A flat line means {p} barely matters at its best."
            ),
        });
    }
    if d.meta.parameters.len() >= 2 {
        let (a, b) = (&d.meta.parameters[0], &d.meta.parameters[1]);
        let (ra, rb, cells) = param_grid(d, a, b);
        let (lo, hi) = plot::extent(cells.iter().flatten().copied());
        // Colour from the best (light) to the worst (dark) on the grid.
        let shifted: Vec<Vec<f64>> = cells
            .iter()
            .map(|r| r.iter().map(|v| v - lo).collect())
            .collect();
        let svg = plot::heatmap(&HeatChart {
            size: (900, (120 + ra.len() * 40).clamp(260, 700) as u32),
            x_desc: b.clone(),
            y_desc: a.clone(),
            x_edges: (0..=rb.len()).map(|i| i as f64).collect(),
            row_labels: ra.clone(),
            col_labels: rb.clone(),
            cells: shifted,
            max: (hi - lo).max(1e-9),
            marks: vec![],
            annotate: true,
        })?;
        page.figure(Figure {
            id: "fig-param-grid".into(),
            title: format!("Objective over {a} and {b}"),
            svg,
            caption: format!(
                "Each cell: the best objective among configs with that pair of values, \
                 minus the best on the grid ({}), so 0 is the best cell; darker is worse. \
                 Grey: no config has the pair.",
                human::number(lo)
            ),
        });
    }

    page.section("Per scenario, across seeds");
    let order = board_order(d);
    let top: Vec<usize> = order.iter().copied().take(8).collect();
    let cats: Vec<String> = top
        .iter()
        .map(|&i| {
            format!(
                "config {}",
                d.configs.text("config_id", i).unwrap_or_default()
            )
        })
        .collect();
    for (k, sc) in scenarios.iter().take(8).enumerate() {
        let mut mean_pts = vec![];
        let mut band = vec![];
        for (x, &i) in top.iter().enumerate() {
            let id = d.configs.num("config_id", i);
            let objs: Vec<f64> = (0..d.runs.height())
                .filter(|&r| {
                    d.runs.num("config_id", r) == id
                        && d.runs.text("scenario", r).as_deref() == Some(sc)
                })
                .map(|r| d.run_objective(r))
                .collect();
            if objs.is_empty() {
                continue;
            }
            let (lo, hi) = plot::extent(objs.iter().copied());
            mean_pts.push((x as f64, objs.iter().sum::<f64>() / objs.len() as f64));
            band.push((x as f64, lo, hi));
        }
        if mean_pts.is_empty() {
            continue;
        }
        let svg = plot::lines(&LineChart {
            size: plot::WIDE,
            x_desc: "config (leaderboard order)".into(),
            y_desc: "run objective".into(),
            lines: vec![Line {
                name: String::new(),
                points: mean_pts,
                band,
                dots: true,
                dashed: true,
            }],
            marks: vec![],
            categories: cats.clone(),
            y_from_zero: false,
        })?;
        page.figure(Figure {
            id: format!("fig-scenario-{k}"),
            title: format!("{sc}: objective of the leading configs across seeds"),
            svg,
            caption: "Dots: the mean over seeds of each run's objective on this scenario; \
                      shaded: lowest to highest seed. A wide band means the ranking on \
                      this scenario depends on the seed."
                .into(),
        });
    }
    Ok(page)
}
