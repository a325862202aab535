//! The footer: the keys that work in the current mode.

use super::*;

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
