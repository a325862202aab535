//! The view: renders the model, one function per panel. Reads nothing but the model.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Wrap,
};

use scalelab_sim::record::{MigrationRecord, Outcome, StepOutcome, node_state};

use crate::model::{Focus, Model, RunView};

/// Below this the layout cannot show its panels; a message is shown instead.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

const HEALTHY: Color = Color::Green;
const OVERLOADED: Color = Color::Red;
const DOWN: Color = Color::DarkGray;
const SOURCE: Color = Color::Yellow;
const TARGET: Color = Color::Cyan;

pub fn fmt_time(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn fmt_speed(x: f64) -> String {
    if x >= 60.0 {
        format!("{:.0} min/s", x / 60.0)
    } else {
        format!("{x:.0}x")
    }
}

/// Areas the last frame used, so the event loop can map mouse clicks to panels.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub cluster: Rect,
    pub migrations: Rect,
    pub events: Rect,
}

/// Render the whole screen; returns the panel areas for mouse handling.
pub fn view(model: &Model, f: &mut Frame) -> Areas {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(f, area);
        return Areas::default();
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(10),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(model, f, header);
    let areas = if model.runs.len() > 1 {
        render_compare(model, f, body)
    } else {
        render_replay(model, f, body)
    };
    render_footer(model, f, footer);
    if model.detail_open {
        render_migration_detail(model, f, area);
    }
    if model.help_open {
        render_help(f, area);
    }
    areas
}

fn render_replay(model: &Model, f: &mut Frame, body: Rect) -> Areas {
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Percentage(38),
        Constraint::Percentage(34),
        Constraint::Percentage(28),
    ])
    .areas(body);
    let [cluster, chart] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(top);
    let [migrations, eva] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(middle);
    let run = model.primary();
    render_cluster(model, run, f, cluster);
    render_chart(model, run, f, chart);
    render_migrations(model, run, f, migrations);
    render_expected_vs_actual(model, run, f, eva);
    render_events(model, run, f, bottom);
    Areas {
        cluster,
        migrations,
        events: bottom,
    }
}

fn render_compare(model: &Model, f: &mut Frame, body: Rect) -> Areas {
    let [top, diff] =
        Layout::vertical([Constraint::Percentage(68), Constraint::Percentage(32)]).areas(body);
    let cols =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).split(top);
    let mut areas = Areas::default();
    for (i, run) in model.runs.iter().take(2).enumerate() {
        let [c, m] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(cols[i]);
        render_cluster(model, run, f, c);
        render_migrations(model, run, f, m);
        if i == 0 {
            areas.cluster = c;
            areas.migrations = m;
        }
    }
    render_metric_diff(model, f, diff);
    areas
}

pub fn render_too_small(f: &mut Frame, area: Rect) {
    let msg = format!(
        "Terminal too small: {}x{}, scalelab needs at least {MIN_WIDTH}x{MIN_HEIGHT}. \
         Enlarge the window or press q to quit.",
        area.width, area.height
    );
    f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
}

pub fn render_header(model: &Model, f: &mut Frame, area: Rect) {
    let run = &model.primary().record;
    let state = if model.playing {
        Span::styled(
            "▶ playing",
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::styled(
            "⏸ paused",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )
    };
    let scenario = if model.runs.len() > 1 {
        format!("compare {} | {}", model.runs[0].label, model.runs[1].label)
    } else {
        format!("{} (seed {})", run.scenario.name, run.scenario.seed)
    };
    let line = Line::from(vec![
        Span::styled(scenario, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw("   t = "),
        Span::styled(
            format!(
                "{} / {}",
                fmt_time(model.time_ms),
                fmt_time(model.duration_ms())
            ),
            Style::new().fg(Color::Cyan),
        ),
        Span::raw(format!("   speed {}   ", fmt_speed(model.speed))),
        state,
        Span::raw(format!("   log filter: {}", model.filter.label())),
    ]);
    f.render_widget(
        Paragraph::new(line).block(Block::bordered().title(" scalelab replay ")),
        area,
    );
}

fn panel(title: String, focused: bool) -> Block<'static> {
    let b = Block::bordered().title(title);
    if focused {
        b.border_style(Style::new().fg(Color::Cyan))
    } else {
        b
    }
}

/// Role of every node at time `t`: source or target of a migration in flight. One
/// pass over the migrations, not one per node: 10,000 nodes x 1,700 migrations would
/// cost a frame.
fn node_roles(run: &RunView, t: u64) -> Vec<Option<Color>> {
    let mut roles = vec![None; run.record.nodes.len()];
    for m in run.migrations_until(t) {
        if RunView::in_flight(m, t) {
            if let Some(r) = roles.get_mut(m.target as usize) {
                r.get_or_insert(TARGET);
            }
            if let Some(r) = roles.get_mut(m.source as usize) {
                *r = Some(SOURCE);
            }
        }
    }
    roles
}

fn node_color(
    run: &RunView,
    sample: Option<usize>,
    roles: &[Option<Color>],
    node: usize,
) -> (f32, Color) {
    let s = &run.record.series;
    let (u, st) = match sample {
        Some(i) => (
            s.node_util
                .get(i)
                .and_then(|r| r.get(node))
                .copied()
                .unwrap_or(0.0),
            s.node_state
                .get(i)
                .and_then(|r| r.get(node))
                .copied()
                .unwrap_or(node_state::HEALTHY),
        ),
        None => (0.0, node_state::HEALTHY),
    };
    let color = match st {
        node_state::DOWN => DOWN,
        node_state::OVERLOADED => OVERLOADED,
        _ => roles.get(node).copied().flatten().unwrap_or(HEALTHY),
    };
    (u, color)
}

pub fn render_cluster(model: &Model, run: &RunView, f: &mut Frame, area: Rect) {
    let t = model.time_ms.min(run.duration_ms());
    let nodes = &run.record.nodes;
    let sample = run.sample_at(t);
    let roles = node_roles(run, t);
    let block = panel(
        format!(" cluster: {} nodes ", nodes.len()),
        model.focus == Focus::Cluster,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width < 10 {
        return;
    }
    let legend = Line::from(vec![
        Span::styled("■ ok ", Style::new().fg(HEALTHY)),
        Span::styled("■ overloaded ", Style::new().fg(OVERLOADED)),
        Span::styled("■ down ", Style::new().fg(DOWN)),
        Span::styled("■ source ", Style::new().fg(SOURCE)),
        Span::styled("■ target", Style::new().fg(TARGET)),
    ]);
    let rows = inner.height.saturating_sub(1) as usize;
    let mut lines = Vec::new();
    if nodes.len() <= rows {
        // One bar per node.
        let name_w = nodes.iter().map(|n| n.id.len()).max().unwrap_or(4).min(14);
        let bar_w = (inner.width as usize).saturating_sub(name_w + 8).max(4);
        for (i, n) in nodes.iter().enumerate() {
            let (u, color) = node_color(run, sample, &roles, i);
            let filled = ((u.min(1.0) as f64) * bar_w as f64).round() as usize;
            let mut name = Style::new();
            if i == model.selected_node {
                name = name.add_modifier(Modifier::REVERSED);
            }
            lines.push(Line::from(vec![
                Span::styled(format!("{:<name_w$.name_w$}", n.id), name),
                Span::raw(" "),
                Span::styled("█".repeat(filled), Style::new().fg(color)),
                Span::styled("░".repeat(bar_w - filled), Style::new().fg(Color::DarkGray)),
                Span::styled(format!(" {u:>4.2}"), Style::new().fg(color)),
            ]));
        }
    } else {
        // Heat grid: one cell per node, shade by utilization, colour by state.
        let w = inner.width as usize;
        let mut spans = Vec::new();
        for i in 0..nodes.len() {
            let (u, color) = node_color(run, sample, &roles, i);
            let glyph = match u {
                x if x < 0.25 => "░",
                x if x < 0.5 => "▒",
                x if x < 0.75 => "▓",
                _ => "█",
            };
            let mut st = Style::new().fg(color);
            if i == model.selected_node {
                st = st.add_modifier(Modifier::REVERSED);
            }
            spans.push(Span::styled(glyph, st));
            if spans.len() == w {
                lines.push(Line::from(std::mem::take(&mut spans)));
                if lines.len() == rows {
                    break;
                }
            }
        }
        if !spans.is_empty() && lines.len() < rows {
            lines.push(Line::from(spans));
        }
    }
    lines.truncate(rows);
    lines.push(legend);
    f.render_widget(Paragraph::new(lines), inner);
}

/// The utilization series of a node as chart points (time in hours).
fn node_points(run: &RunView, node: usize) -> Vec<(f64, f64)> {
    let s = &run.record.series;
    s.times_ms
        .iter()
        .zip(&s.node_util)
        .map(|(&t, row)| {
            (
                t as f64 / 3_600_000.0,
                row.get(node).copied().unwrap_or(0.0) as f64,
            )
        })
        .collect()
}

/// The utilization of whatever host a VM was on, over time.
fn vm_host_points(run: &RunView, vm: u32) -> Vec<(f64, f64)> {
    let placements: Vec<_> = run
        .record
        .placements
        .iter()
        .filter(|p| p.vm == vm)
        .collect();
    let s = &run.record.series;
    s.times_ms
        .iter()
        .zip(&s.node_util)
        .filter_map(|(&t, row)| {
            let i = placements.partition_point(|p| p.t_ms <= t);
            let node = placements.get(i.checked_sub(1)?)?.node?;
            Some((
                t as f64 / 3_600_000.0,
                row.get(node as usize).copied()? as f64,
            ))
        })
        .collect()
}

pub fn render_chart(model: &Model, run: &RunView, f: &mut Frame, area: Rect) {
    let t = model.time_ms;
    let node = model
        .selected_node
        .min(run.record.nodes.len().saturating_sub(1));
    let node_id = run.record.nodes.get(node).map_or("-", |n| n.id.as_str());
    let mig = run.migrations_until(t).get(model.selected_migration);
    let node_pts = node_points(run, node);
    let vm_pts = mig.map(|m| vm_host_points(run, m.vm)).unwrap_or_default();
    let hours = run.duration_ms() as f64 / 3_600_000.0;
    let now = t as f64 / 3_600_000.0;
    let ymax = node_pts
        .iter()
        .chain(&vm_pts)
        .map(|p| p.1)
        .fold(1.0f64, f64::max)
        .ceil();
    let cursor = vec![(now, 0.0), (now, ymax)];
    // Decision markers: migrations touching the node (start times), and the windows
    // they ran for, drawn along the top.
    let mut starts = Vec::new();
    let mut windows = Vec::new();
    for m in &run.record.migrations {
        if m.source as usize == node || m.target as usize == node {
            let s = m.started_ms as f64 / 3_600_000.0;
            let e = m.ended_ms.unwrap_or(m.started_ms) as f64 / 3_600_000.0;
            starts.push((s, ymax * 0.95));
            let steps = 8;
            for k in 0..=steps {
                windows.push((s + (e - s) * k as f64 / steps as f64, ymax * 0.9));
            }
        }
    }
    let mut datasets = vec![
        Dataset::default()
            .name(format!("{node_id} util"))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Green))
            .data(&node_pts),
    ];
    let vm_name = mig.map(|m| format!("{} host", m.vm_id)).unwrap_or_default();
    if !vm_pts.is_empty() {
        datasets.push(
            Dataset::default()
                .name(vm_name)
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(Color::Magenta))
                .data(&vm_pts),
        );
    }
    datasets.push(
        Dataset::default()
            .name("migrations")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(Style::new().fg(SOURCE))
            .data(&windows),
    );
    datasets.push(
        Dataset::default()
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(Style::new().fg(Color::Red))
            .data(&starts),
    );
    datasets.push(
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::White))
            .data(&cursor),
    );
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(format!(
            " utilization: {node_id} and the selected VM's host "
        )))
        .x_axis(
            Axis::default()
                .bounds([0.0, hours.max(1e-9)])
                .labels([Line::from("0 h"), Line::from(format!("{hours:.1} h"))]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, ymax])
                .labels([Line::from("0"), Line::from(format!("{ymax:.0}"))]),
        );
    f.render_widget(chart, area);
}

/// The step a migration is in at `t`, with elapsed ms and timeout s.
fn step_at(m: &MigrationRecord, t: u64) -> Option<(&'static str, u64, u64)> {
    m.steps.iter().rev().find_map(|s| {
        (s.start_ms <= t && s.end_ms.is_none_or(|e| t < e))
            .then(|| (s.action.as_str(), t - s.start_ms, s.timeout_s))
    })
}

fn outcome_label(m: &MigrationRecord, t: u64) -> (String, Color) {
    if RunView::in_flight(m, t) {
        return ("running".into(), Color::Cyan);
    }
    match m.outcome {
        Some(Outcome::Completed) => ("completed".into(), Color::Green),
        Some(Outcome::RolledBack) => ("rolled back".into(), Color::Yellow),
        Some(Outcome::FailedAfterSwitchover) => ("failed".into(), Color::Red),
        Some(Outcome::DataLoss) => ("DATA LOSS".into(), Color::Red),
        Some(Outcome::InProgressAtEnd) => ("unfinished".into(), Color::Gray),
        None => ("?".into(), Color::Gray),
    }
}

fn gauge_text(frac: f64, width: usize) -> String {
    let filled = (frac.clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "▰".repeat(filled), "▱".repeat(width - filled))
}

pub fn render_migrations(model: &Model, run: &RunView, f: &mut Frame, area: Rect) {
    let t = model.time_ms.min(run.duration_ms());
    let migs = run.migrations_until(t);
    let nodes = &run.record.nodes;
    let node = |i: u32| nodes.get(i as usize).map_or("?", |n| n.id.as_str());
    let visible = area.height.saturating_sub(3) as usize;
    let sel = model.selected_migration.min(migs.len().saturating_sub(1));
    let first = sel.saturating_sub(visible.saturating_sub(1));
    let rows: Vec<Row> = migs
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, m)| {
            let (step, elapsed_ms, timeout_s) = step_at(m, t).unwrap_or(("-", 0, 0));
            let frac = if timeout_s > 0 {
                elapsed_ms as f64 / (timeout_s as f64 * 1000.0)
            } else {
                0.0
            };
            let (label, color) = outcome_label(m, t);
            let mut style = Style::new();
            if i == sel {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Row::new(vec![
                Cell::from(m.vm_id.clone()),
                Cell::from(format!("{} → {}", node(m.source), node(m.target))),
                Cell::from(step),
                Cell::from(gauge_text(frac, 8)),
                Cell::from(m.precopy_rounds.to_string()),
                Cell::from(if timeout_s > 0 {
                    format!("{:.0}/{}s", elapsed_ms as f64 / 1000.0, timeout_s)
                } else {
                    "-".into()
                }),
                Cell::from(Span::styled(label, Style::new().fg(color))),
            ])
            .style(style)
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Min(17),
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(11),
        ],
    )
    .header(
        Row::new([
            "VM",
            "source → target",
            "step",
            "progress",
            "rounds",
            "t/timeout",
            "outcome",
        ])
        .style(Style::new().add_modifier(Modifier::BOLD)),
    )
    .block(panel(
        format!(
            " migrations: {} of {} (Enter: details) ",
            migs.len(),
            run.record.migrations.len()
        ),
        model.focus == Focus::Migrations,
    ));
    f.render_widget(table, area);
}

/// Expected vs actual of migrations finished by `t`, with MAE and bias.
fn measured_until(run: &RunView, t: u64) -> Vec<&MigrationRecord> {
    run.migrations_until(t)
        .iter()
        .filter(|m| m.actual_utilization.is_some() && m.ended_ms.is_some_and(|e| e <= t))
        .collect()
}

pub fn render_expected_vs_actual(model: &Model, run: &RunView, f: &mut Frame, area: Rect) {
    let t = model.time_ms;
    let done = measured_until(run, t);
    let errors: Vec<f64> = done.iter().filter_map(|m| m.error()).collect();
    let (mae, bias) = if errors.is_empty() {
        ("-".to_string(), "-".to_string())
    } else {
        let n = errors.len() as f64;
        (
            format!("{:.3}", errors.iter().map(|e| e.abs()).sum::<f64>() / n),
            format!("{:+.3}", errors.iter().sum::<f64>() / n),
        )
    };
    let block = Block::bordered().title(format!(
        " expected vs actual: MAE {mae}, bias {bias}, n={} ",
        errors.len()
    ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [chart_area, table_area] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(inner);
    let pts: Vec<(f64, f64)> = done
        .iter()
        .filter_map(|m| Some((m.expected_utilization, m.actual_utilization?)))
        .collect();
    let diag = [(0.0, 0.0), (1.0, 1.0)];
    let chart = Chart::new(vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::DarkGray))
            .data(&diag),
        Dataset::default()
            .name("migration")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(Style::new().fg(Color::Cyan))
            .data(&pts),
    ])
    .x_axis(
        Axis::default()
            .title("expected")
            .bounds([0.0, 1.0])
            .labels([Line::from("0"), Line::from("1")]),
    )
    .y_axis(
        Axis::default()
            .title("actual")
            .bounds([0.0, 1.0])
            .labels([Line::from("0"), Line::from("1")]),
    );
    f.render_widget(chart, chart_area);
    let rows: Vec<Row> = done
        .iter()
        .rev()
        .take(table_area.height.saturating_sub(1) as usize)
        .map(|m| {
            let a = m.actual_utilization.unwrap_or(0.0);
            let err = a - m.expected_utilization;
            Row::new(vec![
                Cell::from(m.vm_id.clone()),
                Cell::from(format!("{:.3}", m.expected_utilization)),
                Cell::from(format!("{a:.3}")),
                Cell::from(Span::styled(
                    format!("{err:+.3}"),
                    Style::new().fg(if err.abs() > 0.1 {
                        Color::Red
                    } else {
                        Color::Green
                    }),
                )),
            ])
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(12),
                Constraint::Length(9),
                Constraint::Length(9),
                Constraint::Length(8),
            ],
        )
        .header(
            Row::new(["VM", "expected", "actual", "error"])
                .style(Style::new().add_modifier(Modifier::BOLD)),
        ),
        table_area,
    );
}

pub fn render_events(model: &Model, run: &RunView, f: &mut Frame, area: Rect) {
    let t = model.time_ms;
    let filtered: Vec<_> = run
        .events_until(t)
        .iter()
        .filter(|e| model.filter.accepts(e.kind))
        .collect();
    let rows = area.height.saturating_sub(2) as usize;
    let end = filtered.len().saturating_sub(model.log_scroll);
    let start = end.saturating_sub(rows);
    let nodes = &run.record.nodes;
    let vms = &run.record.vms;
    let lines: Vec<Line> = filtered[start..end]
        .iter()
        .map(|e| {
            let style = if e.kind.is_failure() {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            };
            let kind = serde_json_kind(e.kind);
            let subject = match (e.vm, e.node) {
                (Some(v), _) => vms.get(v as usize).map_or("?", |v| v.id.as_str()),
                (None, Some(n)) => nodes.get(n as usize).map_or("?", |n| n.id.as_str()),
                _ => "",
            };
            Line::from(vec![
                Span::styled(
                    format!("{}  ", fmt_time(e.t_ms)),
                    Style::new().fg(Color::DarkGray),
                ),
                Span::styled(format!("{kind:<22}"), style.add_modifier(Modifier::BOLD)),
                Span::styled(format!("{subject:<14} {}", e.detail), style),
            ])
        })
        .collect();
    let title = format!(
        " events: {} shown of {} ({} filter, f to change) ",
        filtered.len(),
        run.events_until(t).len(),
        model.filter.label()
    );
    f.render_widget(
        Paragraph::new(lines).block(panel(title, model.focus == Focus::Events)),
        area,
    );
}

fn serde_json_kind(k: scalelab_sim::record::EventKind) -> String {
    // The snake_case name used in run records, so the log and the files agree.
    format!("{k:?}")
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            if c.is_uppercase() && i > 0 {
                vec!['_', c.to_ascii_lowercase()]
            } else {
                vec![c.to_ascii_lowercase()]
            }
        })
        .collect()
}

pub fn render_metric_diff(model: &Model, f: &mut Frame, area: Rect) {
    let (a, b) = (&model.runs[0].record.metrics, &model.runs[1].record.metrics);
    let by = |m: &scalelab_sim::record::RunMetrics, o: Outcome| {
        m.migrations_by_outcome.get(&o).copied().unwrap_or(0) as f64
    };
    // (metric, a, b, lower is better)
    let rows = [
        ("migrations", a.migrations as f64, b.migrations as f64, true),
        (
            "completed",
            by(a, Outcome::Completed),
            by(b, Outcome::Completed),
            false,
        ),
        (
            "rollback rate %",
            a.rollback_rate * 100.0,
            b.rollback_rate * 100.0,
            true,
        ),
        (
            "data loss events",
            a.data_loss_events as f64,
            b.data_loss_events as f64,
            true,
        ),
        (
            "expected-vs-actual MAE",
            a.expected_vs_actual_mae.unwrap_or(f64::NAN),
            b.expected_vs_actual_mae.unwrap_or(f64::NAN),
            true,
        ),
        (
            "overload time %",
            a.overload_time_frac * 100.0,
            b.overload_time_frac * 100.0,
            true,
        ),
        (
            "downtime s",
            a.total_downtime_ms as f64 / 1000.0,
            b.total_downtime_ms as f64 / 1000.0,
            true,
        ),
        ("PDM %", a.pdm * 100.0, b.pdm * 100.0, true),
    ];
    let table_rows: Vec<Row> = rows
        .iter()
        .map(|&(name, x, y, lower_better)| {
            let d = y - x;
            let better = if lower_better { d < 0.0 } else { d > 0.0 };
            let color = if d == 0.0 || d.is_nan() {
                Color::Gray
            } else if better {
                Color::Green
            } else {
                Color::Red
            };
            Row::new(vec![
                Cell::from(name),
                Cell::from(format!("{x:.3}")),
                Cell::from(format!("{y:.3}")),
                Cell::from(Span::styled(format!("{d:+.3}"), Style::new().fg(color))),
            ])
        })
        .collect();
    f.render_widget(
        Table::new(
            table_rows,
            [
                Constraint::Length(24),
                Constraint::Length(14),
                Constraint::Length(14),
                Constraint::Length(12),
            ],
        )
        .header(
            Row::new(vec![
                "metric".to_string(),
                format!("A: {}", model.runs[0].label),
                format!("B: {}", model.runs[1].label),
                "B - A".to_string(),
            ])
            .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .block(Block::bordered().title(" metrics (whole runs; green = B better) ")),
        area,
    );
}

fn centered(area: Rect, w_pct: u16, h_pct: u16) -> Rect {
    let [_, v, _] = Layout::vertical([
        Constraint::Percentage((100 - h_pct) / 2),
        Constraint::Percentage(h_pct),
        Constraint::Percentage((100 - h_pct) / 2),
    ])
    .areas(area);
    let [_, h, _] = Layout::horizontal([
        Constraint::Percentage((100 - w_pct) / 2),
        Constraint::Percentage(w_pct),
        Constraint::Percentage((100 - w_pct) / 2),
    ])
    .areas(v);
    h
}

pub fn render_migration_detail(model: &Model, f: &mut Frame, area: Rect) {
    let run = model.primary();
    let Some(m) = run
        .migrations_until(model.time_ms)
        .get(model.selected_migration)
    else {
        return;
    };
    let nodes = &run.record.nodes;
    let node = |i: u32| nodes.get(i as usize).map_or("?", |n| n.id.as_str());
    let mut lines = vec![
        Line::from(Span::styled(
            format!("{}: {} → {}", m.vm_id, node(m.source), node(m.target)),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!(
            "outcome: {}   pre-copy rounds: {}   data sent: {:.0} MiB   pause: {} ms",
            m.outcome.map_or("-", |o| o.as_str()),
            m.precopy_rounds,
            m.data_sent_mib,
            m.downtime_ms
        )),
        Line::from(format!(
            "expected utilization after migration {:.3}, actual {}, source {:.3} before, {} after",
            m.expected_utilization,
            m.actual_utilization
                .map_or("-".into(), |a| format!("{a:.3}")),
            m.source_before,
            m.source_after.map_or("-".into(), |a| format!("{a:.3}")),
        )),
        Line::from(""),
        Line::from(Span::styled(
            "steps (timeout vs actual):",
            Style::new().add_modifier(Modifier::BOLD),
        )),
    ];
    for s in &m.steps {
        let dur = s
            .end_ms
            .map(|e| format!("{:.1} s", (e - s.start_ms) as f64 / 1000.0));
        let (txt, color) = match s.outcome {
            Some(StepOutcome::Ok) => ("ok", Color::Green),
            Some(StepOutcome::TimedOut) => ("TIMED OUT", Color::Red),
            Some(StepOutcome::Failed) => ("FAILED", Color::Red),
            Some(StepOutcome::Aborted) => ("aborted", Color::Yellow),
            None => ("running", Color::Cyan),
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "  {:<28} timeout {:>5} s   took {:>9}   ",
                s.action.as_str(),
                s.timeout_s,
                dur.unwrap_or_else(|| "-".into())
            )),
            Span::styled(txt, Style::new().fg(color)),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "success criteria:",
        Style::new().add_modifier(Modifier::BOLD),
    )));
    if m.criteria.is_empty() {
        lines.push(Line::from("  (evaluated when the migration ends)"));
    }
    for c in &m.criteria {
        let (mark, color) = if c.passed {
            ("PASS", Color::Green)
        } else {
            ("FAIL", Color::Red)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {mark} "), Style::new().fg(color)),
            Span::raw(format!("{} (measured: {})", c.criterion, c.measured)),
        ]));
    }
    if let Some(r) = &m.rollback_reason {
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled(
                "rollback reason: ",
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw(r.clone()),
        ]));
    }
    let popup = centered(area, 90, 80);
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" migration detail (Esc to close) ")),
        popup,
    );
}

pub const HELP: &[(&str, &str)] = &[
    ("space", "play / pause"),
    ("← →", "step one event back / forward"),
    (", .", "step one control interval back / forward"),
    ("+ -", "faster / slower playback"),
    ("g G", "go to start / end"),
    ("/", "jump to a time (5400, 90m, 1:30:00), Enter to go"),
    ("Tab", "move focus: cluster, migrations, events"),
    ("↑ ↓", "select a node / migration, scroll the log"),
    ("Enter", "migration details"),
    (
        "f",
        "cycle the event filter (all, failures, migrations, scaling)",
    ),
    ("mouse", "wheel scrolls the panel under it, click selects"),
    ("?", "this help"),
    ("Esc", "close a popup"),
    ("q, Ctrl-C", "quit"),
];

pub fn render_help(f: &mut Frame, area: Rect) {
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(
                    format!("  {k:<10}"),
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::raw(*v),
            ])
        })
        .collect();
    let popup = centered(area, 70, 70);
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (? or Esc to close) ")),
        popup,
    );
}

pub fn render_footer(model: &Model, f: &mut Frame, area: Rect) {
    let line = if let Some(j) = &model.jump {
        Line::from(vec![
            Span::styled(" jump to time: ", Style::new().fg(Color::Cyan)),
            Span::raw(format!("{j}▏")),
            Span::styled(
                "  (Enter to go, Esc to cancel)",
                Style::new().fg(Color::DarkGray),
            ),
        ])
    } else if let Some(s) = &model.status {
        Line::from(Span::styled(
            format!(" {s}"),
            Style::new().fg(Color::Yellow),
        ))
    } else {
        Line::from(Span::styled(
            " space play/pause  ←/→ event  ,/. interval  +/- speed  g/G start/end  / jump  Tab focus  Enter details  f filter  ? help  q quit",
            Style::new().fg(Color::DarkGray),
        ))
    };
    f.render_widget(Paragraph::new(line), area);
}
