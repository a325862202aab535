//! The comparison table: every run metric of the two runs side by side.

use super::*;

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
        (
            "energy kWh",
            a.energy_kwh.unwrap_or(f64::NAN),
            b.energy_kwh.unwrap_or(f64::NAN),
            true,
        ),
        (
            "host shutdowns",
            a.host_shutdowns as f64,
            b.host_shutdowns as f64,
            true,
        ),
        (
            "VM departures",
            a.vm_departures as f64,
            b.vm_departures as f64,
            false,
        ),
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
