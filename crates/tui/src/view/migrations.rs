//! The migrations panel: each migration's step, progress against its timeout, outcome.

use super::*;
use scalelab_sim::record::RecordDetail;

/// The step a migration is in at `t`, with elapsed ms and timeout s.
pub(super) fn step_at(m: &MigrationRecord, t: u64) -> Option<(&'static str, u64, u64)> {
    m.steps.iter().rev().find_map(|s| {
        (s.start_ms <= t && s.end_ms.is_none_or(|e| t < e))
            .then(|| (s.action.as_str(), t - s.start_ms, s.timeout_s))
    })
}

pub(super) fn outcome_label(m: &MigrationRecord, t: u64) -> (String, Color) {
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

pub(super) fn gauge_text(frac: f64, width: usize) -> String {
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
        if run.record.detail == RecordDetail::Summary {
            // A summary record has the counts, not the migrations themselves.
            format!(
                " migrations: {} started, not in this summary record ",
                run.record.metrics.migrations
            )
        } else {
            format!(
                " migrations: {} of {} (Enter: details) ",
                migs.len(),
                run.record.migrations.len()
            )
        },
        model.focus == Focus::Migrations,
    ));
    f.render_widget(table, area);
}
