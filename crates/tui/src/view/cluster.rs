//! The cluster panel: one cell per node, coloured by state, with the selected
//! migration's source and target marked.

use super::*;

/// Role of every node at time `t`: source or target of a migration in flight. One
/// pass over the migrations, not one per node: 10,000 nodes x 1,700 migrations would
/// cost a frame.
pub(super) fn node_roles(run: &RunView, t: u64) -> Vec<Option<Color>> {
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

pub(super) fn node_color(
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
        node_state::OFF => OFF,
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
        Span::styled("· off ", Style::new().fg(OFF)),
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
                _ if color == OFF => "·",
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
