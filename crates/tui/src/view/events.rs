//! The event log, filtered, up to the replay clock.

use super::*;

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

pub(super) fn serde_json_kind(k: scalelab_sim::record::EventKind) -> String {
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
