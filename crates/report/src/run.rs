//! The report of one run, and of two runs compared.

use scalelab_sim::human::{self, count, duration_ms, number, percent};
use scalelab_sim::record::{Outcome, RunMetrics, RunRecord};

use crate::ReportError;
use crate::data::{self, Heat};
use crate::html::{Figure, Page, Table};
use crate::plot::{self, HeatChart, Line, LineChart, ScatterChart, ScatterGroup, TimelineChart};

/// Heat map grid: rows x columns at most (more nodes or samples are averaged).
pub const HEAT_ROWS: usize = 60;
pub const HEAT_COLS: usize = 240;
/// Points per line: a plot is about this many pixels wide.
pub const LINE_POINTS: usize = 1000;
/// Bars on the migration timeline and dots per scatter plot.
pub const TIMELINE_BARS: usize = 150;
pub const SCATTER_POINTS: usize = 2000;
/// Node lines drawn when none are chosen.
pub const DEFAULT_NODES: usize = 5;

/// What the run report shows beyond its defaults.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Nodes (indices into `record.nodes`) to draw as lines; the busiest when empty.
    pub nodes: Vec<usize>,
}

/// A number with its sign: `+0.18`, `-0.05`, `0`.
fn signed(v: f64) -> String {
    let s = number(v);
    if v > 0.0 && s != "0" {
        format!("+{s}")
    } else {
        s
    }
}

fn subtitle(r: &RunRecord) -> String {
    format!(
        "scenario {} (seed {}): {} simulated, {} VMs on {} nodes; scalelab {}",
        r.scenario.name,
        r.scenario.seed,
        duration_ms(r.scenario.duration_ms as f64),
        count(r.vms.len() as u64),
        count(r.nodes.len() as u64),
        r.scalelab_version
    )
}

/// The run's headline numbers as (metric, value for a person).
pub fn metric_rows(m: &RunMetrics) -> Vec<(String, String)> {
    let by = |o: Outcome| u64::from(m.migrations_by_outcome.get(&o).copied().unwrap_or(0));
    let mut rows = vec![
        ("migrations started".to_string(), count(m.migrations.into())),
        ("completed".into(), count(by(Outcome::Completed))),
        ("rolled back".into(), count(by(Outcome::RolledBack))),
        (
            "failed after switchover".into(),
            count(by(Outcome::FailedAfterSwitchover)),
        ),
        ("data loss".into(), count(by(Outcome::DataLoss))),
        ("rollback rate".into(), percent(m.rollback_rate)),
        (
            "overload time (SLATAH)".into(),
            percent(m.overload_time_frac),
        ),
        ("performance degradation (PDM)".into(), percent(m.pdm)),
        ("SLAV".into(), number(m.slav)),
        (
            "unmet demand".into(),
            format!("{} core-s", number(m.unmet_demand_core_s)),
        ),
        (
            "VM downtime".into(),
            duration_ms(m.total_downtime_ms as f64),
        ),
        (
            "of which migration pauses".into(),
            duration_ms(m.migration_downtime_ms as f64),
        ),
        ("data-loss events".into(), count(m.data_loss_events.into())),
    ];
    if let Some(e) = m.energy_kwh {
        rows.push(("energy".into(), format!("{} kWh", number(e))));
    }
    if let Some(a) = m.active_host_s {
        rows.push(("active host time".into(), duration_ms(a * 1000.0)));
        rows.push(("host shutdowns".into(), count(m.host_shutdowns.into())));
        rows.push(("host power-ons".into(), count(m.host_power_ons.into())));
    }
    if let Some(esv) = m.esv {
        rows.push(("ESV (energy x SLAV)".into(), number(esv)));
    }
    if let (Some(mae), Some(bias)) = (m.expected_vs_actual_mae, m.expected_vs_actual_bias) {
        rows.push((
            "target utilization, expected vs actual".into(),
            format!(
                "MAE {}, bias {} ({} measured)",
                number(mae),
                signed(bias),
                count(m.measured_migrations.into())
            ),
        ));
    }
    rows
}

fn metrics_table(m: &RunMetrics) -> Table {
    Table {
        caption: "Run metrics (fractions as percentages, times in the unit shown).".into(),
        headers: vec!["metric".into(), "value".into()],
        rows: metric_rows(m)
            .into_iter()
            .map(|(a, b)| vec![a, b])
            .collect(),
        left: 1,
        marked: vec![],
    }
}

fn heat_figure(r: &RunRecord) -> Result<Figure, ReportError> {
    let ids: Vec<String> = r.nodes.iter().map(|n| n.id.clone()).collect();
    let h: Heat = data::heat(&r.series, &ids, HEAT_ROWS, HEAT_COLS);
    let (fails, migs) = data::marks(r);
    let (mig_shown, _) = data::thin(&migs, 400);
    let mut marks: Vec<(f64, usize, u8)> = fails
        .iter()
        .map(|&(t, n)| (t, n / h.nodes_per_row, 0))
        .collect();
    marks.extend(mig_shown.iter().map(|&(t, n)| (t, n / h.nodes_per_row, 1)));
    let max = h
        .cells
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max)
        .min(2.0);
    let rows = h.cells.len();
    let svg = plot::heatmap(&HeatChart {
        size: (1000, (140 + rows * 12).clamp(260, 820) as u32),
        x_desc: "time (h)".into(),
        y_desc: "node".into(),
        x_edges: h.x_edges_h.clone(),
        row_labels: if rows <= 60 {
            h.row_labels.clone()
        } else {
            vec![]
        },
        col_labels: vec![],
        cells: h.cells.clone(),
        max,
        marks,
        annotate: false,
    })?;
    let mut how = format!(
        "Each row is a node, each column a stretch of time; colour is CPU utilization (1 = \
         100 % of the node's cores, darker is busier, the scale is on the right); grey: the \
         node was off or down. Red crosses: node crashes; triangles: migrations leaving \
         that node ({} shown of {}).",
        count(mig_shown.len() as u64),
        count(migs.len() as u64)
    );
    let mut agg = vec![];
    if h.nodes_per_row > 1 {
        agg.push(format!(
            "each row averages {} consecutive nodes",
            h.nodes_per_row
        ));
    }
    if h.samples_per_col > 1 {
        agg.push(format!("each column {} samples", h.samples_per_col));
    }
    if !agg.is_empty() {
        how.push_str(&format!(
            " Aggregated for the eye: {} (mean over the nodes that were on).",
            agg.join(" and ")
        ));
    }
    Ok(Figure {
        id: "fig-heatmap".into(),
        title: "Node utilization over time".into(),
        svg,
        caption: how,
    })
}

/// (name, points, dashed).
type NamedLine = (String, Vec<(f64, f64)>, bool);

/// A time line figure from (name, points) lines, downsampled for width.
fn time_figure(
    id: &str,
    title: &str,
    y_desc: &str,
    lines: Vec<NamedLine>,
    marks: Vec<(f64, u8)>,
    caption: &str,
) -> Result<Figure, ReportError> {
    let mut per = 1;
    let lines = lines
        .into_iter()
        .map(|(name, pts, dashed)| {
            let (pts, p) = data::downsample(&pts, LINE_POINTS);
            per = per.max(p);
            Line {
                name,
                points: pts,
                dashed,
                ..Line::default()
            }
        })
        .collect();
    let svg = plot::lines(&LineChart {
        size: plot::WIDE,
        x_desc: "time (h)".into(),
        y_desc: y_desc.into(),
        lines,
        marks,
        categories: vec![],
        y_from_zero: true,
    })?;
    let mut caption = caption.to_string();
    if per > 1 {
        caption.push_str(&format!(" Each point is the mean of {per} samples."));
    }
    Ok(Figure {
        id: id.into(),
        title: title.into(),
        svg,
        caption,
    })
}

fn pct_line(pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.into_iter().map(|(t, v)| (t, v * 100.0)).collect()
}

fn failure_marks(r: &RunRecord) -> Vec<(f64, u8)> {
    let (fails, _) = data::marks(r);
    fails.iter().map(|&(t, _)| (t, 0)).collect()
}

fn timeline_figure(r: &RunRecord) -> Result<Option<Figure>, ReportError> {
    let (bars, total) = data::migration_bars(r, TIMELINE_BARS);
    if bars.is_empty() {
        return Ok(None);
    }
    let step_names = r
        .migrations
        .first()
        .map(|m| {
            m.steps
                .iter()
                .map(|s| {
                    serde_json::to_value(s.action)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let svg = plot::timeline(&TimelineChart {
        size: (1000, (120 + bars.len() * 9).clamp(260, 1100) as u32),
        x_desc: "seconds since the migration started".into(),
        step_names,
        bars: bars.clone(),
    })?;
    let mut caption = "One bar per migration, top to bottom in order of start (labelled with \
        the hour it started when there is room), drawn from its own start so that steps of \
        seconds show in a day-long run. Its steps are coloured in order; the grey outline \
        behind a step reaches that step's timeout, so a step close to its outline nearly \
        timed out. Red: a step that timed out or failed; a black cross ends a rollback, a \
        red cross a data loss."
        .to_string();
    if bars.len() < total {
        caption.push_str(&format!(
            " {} of {} migrations shown: every one that did not complete, then completed \
             ones evenly spaced over the run.",
            count(bars.len() as u64),
            count(total as u64)
        ));
    }
    Ok(Some(Figure {
        id: "fig-timeline".into(),
        title: "Migration timeline".into(),
        svg,
        caption,
    }))
}

fn estimate_figures(r: &RunRecord) -> Result<Vec<Figure>, ReportError> {
    let mut out = Vec::new();
    for (k, est) in data::estimates(r).into_iter().enumerate() {
        let Some(stat) = est.stat else { continue };
        let (pts, per) = data::thin(&est.points, SCATTER_POINTS);
        let svg = plot::scatter(&ScatterChart {
            size: plot::SQUARE,
            x_desc: format!("expected ({})", est.unit),
            y_desc: format!("actual ({})", est.unit),
            groups: vec![ScatterGroup {
                name: String::new(),
                points: pts,
                emphasis: false,
            }],
            diagonal: true,
            note: format!(
                "MAE {}, bias {}{} (n = {})",
                number(stat.mae),
                signed(stat.bias),
                if est.unit.starts_with("fraction") {
                    String::new()
                } else {
                    format!(" {}", est.unit)
                },
                count(stat.n.into())
            ),
        })?;
        let mut caption = format!(
            "One dot per migration: the plan's estimate against what happened. On the \
             dashed diagonal the estimate was exact; above it, the actual was larger. \
             MAE {}, bias {} (actual - expected) over {} migrations.",
            number(stat.mae),
            signed(stat.bias),
            count(stat.n.into())
        );
        if per > 1 {
            caption.push_str(&format!(
                " Every {per}th migration drawn; MAE and bias use all."
            ));
        }
        out.push(Figure {
            id: format!("fig-estimate-{k}"),
            title: format!("Expected vs actual: {}", est.name),
            svg,
            caption,
        });
    }
    Ok(out)
}

/// The report of one run.
pub fn run_report(r: &RunRecord, opts: &RunOptions) -> Result<Page, ReportError> {
    r.validate().map_err(ReportError::Record)?;
    let mut page = Page::new(&format!("Run report: {}", r.scenario.name), &subtitle(r));
    if !r.scenario.description.is_empty() {
        page.paragraph(&r.scenario.description);
    }
    if !r.invariant_violations.is_empty() {
        page.paragraph(&format!(
            "INVARIANT VIOLATIONS ({}): {}",
            r.invariant_violations.len(),
            r.invariant_violations.join("; ")
        ));
    }
    page.section("Summary");
    page.table(&metrics_table(&r.metrics));

    page.section("Utilization");
    if r.series.times_ms.is_empty() {
        page.paragraph("The record has no series (recording was off): no time plots.");
    } else {
        page.figure(heat_figure(r)?);
        // Crashes as vertical marks on every time plot, found once.
        let crashes = failure_marks(r);
        let nodes = if opts.nodes.is_empty() {
            data::busiest_nodes(&r.series, DEFAULT_NODES)
        } else {
            opts.nodes.clone()
        };
        let lines = nodes
            .iter()
            .map(|&n| {
                (
                    r.nodes[n].id.clone(),
                    pct_line(data::node_line(&r.series, n)),
                    false,
                )
            })
            .collect();
        let chosen = if opts.nodes.is_empty() {
            format!("the {} nodes with the highest peak", nodes.len())
        } else {
            "the nodes chosen with --nodes".to_string()
        };
        page.figure(time_figure(
            "fig-nodes",
            "Selected nodes' utilization",
            "CPU utilization (%)",
            lines,
            crashes.clone(),
            &format!(
                "CPU utilization of {chosen}; above 100 % the node is overloaded (demand \
                 beyond its cores). Red vertical lines: node crashes."
            ),
        )?);

        page.section("Hosts, power and SLA");
        page.figure(time_figure(
            "fig-active-hosts",
            "Active hosts",
            "hosts on (count)",
            vec![("hosts on".into(), data::active_hosts(&r.series), false)],
            crashes.clone(),
            "Hosts that are on (neither switched off by the policy nor crashed). \
             Consolidation shows as the line falling; red vertical lines: node crashes.",
        )?);
        if !r.series.power_w.is_empty() {
            page.figure(time_figure(
                "fig-power",
                "Cluster power",
                "power (kW)",
                vec![("power".into(), data::power_kw(&r.series), false)],
                vec![],
                "Power drawn by the nodes with a power model at each sample; the area \
                 under the line is the run's energy.",
            )?);
        }
        page.figure(time_figure(
            "fig-sla",
            "Overload and utilization over time",
            "share (%)",
            vec![
                (
                    "hosts overloaded (% of hosts on)".into(),
                    pct_line(data::overloaded_frac(&r.series)),
                    false,
                ),
                (
                    "mean utilization of hosts on (%)".into(),
                    pct_line(data::mean_utilization(&r.series)),
                    true,
                ),
            ],
            crashes,
            "Solid: the share of the hosts that are on whose demand exceeds their \
             capacity (SLATAH, moment by moment); dashed: their mean CPU utilization.",
        )?);
    }

    page.section("Migrations");
    match timeline_figure(r)? {
        Some(f) => page.figure(f),
        None => page.paragraph("No migrations in this run."),
    }
    let figs = estimate_figures(r)?;
    if !figs.is_empty() {
        page.section("Estimates against outcomes");
        for f in figs {
            page.figure(f);
        }
    }
    let failed: Vec<Vec<String>> = r
        .migrations
        .iter()
        .filter(|m| m.outcome != Some(Outcome::Completed))
        .take(50)
        .map(|m| {
            vec![
                format!("#{}", m.id),
                m.vm_id.clone(),
                format!(
                    "{} -> {}",
                    r.nodes[m.source as usize].id, r.nodes[m.target as usize].id
                ),
                m.outcome.map_or("-", Outcome::as_str).to_string(),
                format!("{:.2} h", data::hours(m.started_ms)),
                duration_ms(m.downtime_ms as f64),
                m.rollback_reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if !failed.is_empty() {
        let n = r
            .migrations
            .iter()
            .filter(|m| m.outcome != Some(Outcome::Completed))
            .count();
        page.table(&Table {
            caption: format!(
                "Migrations that did not complete ({} of {}{}).",
                count(failed.len() as u64),
                count(n as u64),
                if failed.len() < n {
                    ", the first ones"
                } else {
                    ""
                }
            ),
            headers: [
                "id",
                "VM",
                "source -> target",
                "outcome",
                "start",
                "pause",
                "reason",
            ]
            .map(String::from)
            .to_vec(),
            rows: failed,
            left: 4,
            marked: vec![],
        });
    }
    Ok(page)
}

/// Metrics of two runs side by side: (metric, A, B, B - A for a person).
pub fn metric_diff(a: &RunMetrics, b: &RunMetrics) -> Vec<[String; 4]> {
    let va = serde_json::to_value(a).unwrap_or_default();
    let vb = serde_json::to_value(b).unwrap_or_default();
    let mut out = Vec::new();
    for name in [
        "migrations",
        "rollback_rate",
        "overload_time_frac",
        "pdm",
        "slav",
        "unmet_demand_core_s",
        "total_downtime_ms",
        "migration_downtime_ms",
        "data_loss_events",
        "energy_kwh",
        "esv",
        "host_shutdowns",
        "active_host_s",
        "expected_vs_actual_mae",
    ] {
        let x = va.get(name).and_then(|v| v.as_f64());
        let y = vb.get(name).and_then(|v| v.as_f64());
        if x.is_none() && y.is_none() {
            continue;
        }
        let show = |v: Option<f64>| v.map_or("-".into(), |v| human::with_unit(name, v));
        let diff = match (x, y) {
            (Some(x), Some(y)) => {
                let d = human::with_unit(name, y - x);
                let d = if y > x && !d.starts_with('-') {
                    format!("+{d}")
                } else {
                    d
                };
                if x.abs() > 1e-12 {
                    format!("{d} ({:+.1} %)", (y - x) / x.abs() * 100.0)
                } else {
                    d
                }
            }
            _ => "-".into(),
        };
        out.push([name.to_string(), show(x), show(y), diff]);
    }
    out
}

/// Two runs compared: their metrics side by side and their time lines overlaid.
pub fn compare_report(a: &RunRecord, b: &RunRecord) -> Result<Page, ReportError> {
    a.validate().map_err(ReportError::Record)?;
    b.validate().map_err(ReportError::Record)?;
    let name = |r: &RunRecord| format!("{} (seed {})", r.scenario.name, r.scenario.seed);
    let (na, nb) = (format!("A: {}", name(a)), format!("B: {}", name(b)));
    let mut page = Page::new(
        &format!("Comparison: {} vs {}", name(a), name(b)),
        &format!("A = {}; B = {}", subtitle(a), subtitle(b)),
    );
    page.section("Metrics");
    page.table(&Table {
        caption: "B - A: positive means B has more (for every metric here, less is better \
                  except host shutdowns)."
            .into(),
        headers: ["metric", "A", "B", "B - A"].map(String::from).to_vec(),
        rows: metric_diff(&a.metrics, &b.metrics)
            .into_iter()
            .map(Vec::from)
            .collect(),
        left: 1,
        marked: vec![],
    });
    page.section("Over time");
    let both = |f: fn(&scalelab_sim::record::Series) -> Vec<(f64, f64)>, pct: bool| {
        let g = |r: &RunRecord| {
            if pct {
                pct_line(f(&r.series))
            } else {
                f(&r.series)
            }
        };
        vec![(na.clone(), g(a), false), (nb.clone(), g(b), true)]
    };
    page.figure(time_figure(
        "fig-cmp-active",
        "Active hosts",
        "hosts on (count)",
        both(data::active_hosts, false),
        vec![],
        "Hosts on in each run; A solid, B dashed.",
    )?);
    if !a.series.power_w.is_empty() || !b.series.power_w.is_empty() {
        page.figure(time_figure(
            "fig-cmp-power",
            "Cluster power",
            "power (kW)",
            both(data::power_kw, false),
            vec![],
            "Power drawn in each run; A solid, B dashed. The area between the lines is the \
             energy one saves over the other.",
        )?);
    }
    page.figure(time_figure(
        "fig-cmp-overload",
        "Hosts overloaded",
        "hosts overloaded (% of hosts on)",
        both(data::overloaded_frac, true),
        vec![],
        "Share of the hosts on whose demand exceeds capacity; A solid, B dashed.",
    )?);
    page.figure(time_figure(
        "fig-cmp-util",
        "Mean utilization",
        "mean utilization of hosts on (%)",
        both(data::mean_utilization, true),
        vec![],
        "Mean CPU utilization of the hosts that are on; A solid, B dashed.",
    )?);
    Ok(page)
}
