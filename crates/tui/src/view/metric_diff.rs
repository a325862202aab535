//! The comparison table: every run metric of the two runs side by side.

use super::*;
use scalelab_sim::human;

pub fn render_metric_diff(model: &Model, f: &mut Frame, area: Rect) {
    let (a, b) = (&model.runs[0].record.metrics, &model.runs[1].record.metrics);
    let by = |m: &scalelab_sim::record::RunMetrics, o: Outcome| {
        m.migrations_by_outcome.get(&o).copied().unwrap_or(0) as f64
    };
    // (label, metric name for its unit, a, b, lower is better); values as the record
    // holds them, formatted for a person by `human`.
    let rows = [
        (
            "migrations",
            "migrations",
            a.migrations as f64,
            b.migrations as f64,
            true,
        ),
        (
            "completed",
            "migrations",
            by(a, Outcome::Completed),
            by(b, Outcome::Completed),
            false,
        ),
        (
            "rollback rate %",
            "rollback_rate",
            a.rollback_rate,
            b.rollback_rate,
            true,
        ),
        (
            "data loss events",
            "data_loss_events",
            a.data_loss_events as f64,
            b.data_loss_events as f64,
            true,
        ),
        (
            "expected-vs-actual MAE",
            "expected_vs_actual_mae",
            a.expected_vs_actual_mae.unwrap_or(f64::NAN),
            b.expected_vs_actual_mae.unwrap_or(f64::NAN),
            true,
        ),
        (
            "overload time %",
            "overload_time_frac",
            a.overload_time_frac,
            b.overload_time_frac,
            true,
        ),
        (
            "VM downtime",
            "total_downtime_ms",
            a.total_downtime_ms as f64,
            b.total_downtime_ms as f64,
            true,
        ),
        ("PDM %", "pdm", a.pdm, b.pdm, true),
        (
            "energy kWh",
            "energy_kwh",
            a.energy_kwh.unwrap_or(f64::NAN),
            b.energy_kwh.unwrap_or(f64::NAN),
            true,
        ),
        (
            "host shutdowns",
            "host_shutdowns",
            a.host_shutdowns as f64,
            b.host_shutdowns as f64,
            true,
        ),
        (
            "VM departures",
            "vm_departures",
            a.vm_departures as f64,
            b.vm_departures as f64,
            false,
        ),
    ];
    let table_rows: Vec<Row> = rows
        .iter()
        .map(|&(name, key, x, y, lower_better)| {
            let d = y - x;
            let better = if lower_better { d < 0.0 } else { d > 0.0 };
            let color = if d == 0.0 || d.is_nan() {
                Color::Gray
            } else if better {
                Color::Green
            } else {
                Color::Red
            };
            let diff = human::metric(key, d);
            let diff = if d > 0.0 { format!("+{diff}") } else { diff };
            Row::new(vec![
                Cell::from(name),
                Cell::from(human::metric(key, x)),
                Cell::from(human::metric(key, y)),
                Cell::from(Span::styled(diff, Style::new().fg(color))),
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
