//! Expected against actual: the measured migrations so far, their error and bias.

use super::*;

/// Expected vs actual of migrations finished by `t`, with MAE and bias.
pub(super) fn measured_until(run: &RunView, t: u64) -> Vec<&MigrationRecord> {
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
