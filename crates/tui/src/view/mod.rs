//! The view: renders the model, one file per panel (as trippy's frontend does). Reads
//! nothing but the model; this module lays the panels out and holds what they share.

mod chart;
mod cluster;
mod detail;
mod events;
mod expected;
mod footer;
mod header;
mod help;
mod metric_diff;
mod migrations;

use chart::render_chart;
use cluster::render_cluster;
use detail::render_migration_detail;
use events::render_events;
use expected::render_expected_vs_actual;
use footer::render_footer;
use header::render_header;
pub use help::HELP;
use help::render_help;
use metric_diff::render_metric_diff;
use migrations::render_migrations;

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
/// Switched off by the policy (draws nothing), unlike a crashed node.
const OFF: Color = Color::Blue;
const SOURCE: Color = Color::Yellow;
const TARGET: Color = Color::Cyan;
/// Areas the last frame used, so the event loop can map mouse clicks to panels.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub cluster: Rect,
    pub migrations: Rect,
    pub events: Rect,
}

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

fn panel(title: String, focused: bool) -> Block<'static> {
    let b = Block::bordered().title(title);
    if focused {
        b.border_style(Style::new().fg(Color::Cyan))
    } else {
        b
    }
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
