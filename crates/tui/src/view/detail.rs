//! The migration detail overlay: the plan's steps against what the executor did.

use super::*;

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
    ];
    if let Some(e) = &m.expected {
        // Expected | actual for every estimate the plan made.
        let took = m.ended_ms.map_or("-".into(), |end| {
            format!("{:.1} s", (end - m.started_ms) as f64 / 1000.0)
        });
        lines.push(Line::from(Span::styled(
            "estimates (expected -> actual):",
            Style::new().add_modifier(Modifier::BOLD),
        )));
        lines.push(Line::from(format!(
            "  downtime {:.0} -> {} ms   completion {:.1} s -> {}   data {:.0} -> {:.0} MiB   \
             rounds {} -> {}   source after {:.3} -> {}",
            e.downtime_ms,
            m.downtime_ms,
            e.completion_s,
            took,
            e.data_sent_mib,
            m.data_sent_mib,
            e.precopy_rounds,
            m.precopy_rounds,
            e.source_utilization,
            m.source_after.map_or("-".into(), |a| format!("{a:.3}")),
        )));
        lines.push(Line::from(""));
    }
    lines.extend([Line::from(Span::styled(
        "steps (timeout vs actual):",
        Style::new().add_modifier(Modifier::BOLD),
    ))]);
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
